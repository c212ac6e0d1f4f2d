// The hourly baseline run on real servers: Temporal, InfluxDB and the local Open-Meteo-compatible forecast
// server (its archive endpoint serves the rainstorm scenario's truth as observed rain). A run just after 01:00
// local time closes the previous day and writes the new day's first hour; the counter continues across the
// boundary, measured levels are used, and a second run leaves every point as it was. The recorded history
// (test/histories/baseline-run-test.json, RECORD_HISTORIES=1) must replay on the current workflow code.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createBaselineActivities } from '../../activities/baseline.js';
import { archiveObservedRain } from '../../activities/flood.js';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import type { DomainClock } from '../../contract/index.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { baselineScheduleId, ensureDispatchSchedule } from '../../worker/schedule.js';
import { bundleWorkflows } from '../../worker/worker.js';
import type { BaselineRunInput, BaselineRunResult, baselineRun } from '../../workflows/baseline.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { historiesDir, portableHistory } from '../support/histories.js';

const H = 3_600_000;
const DAY = 24 * H;
/** 2025-07-01 00:00 Asia/Shanghai. */
const DAY_START = Date.UTC(2025, 5, 30, 16);
const taskQueue = 'baseline-test';

let servers: TestServers;
let network: NetworkConfig;
let forecast: ForecastServer;
let influx: InfluxConnector;
let bundle: WorkflowBundleWithSourceMap;
let stack: ServiceStack;
let client: Client;

before(async () => {
  [servers, network, bundle] = await Promise.all([startTestServers(), loadNetworkFile(referenceNetworkPath), bundleWorkflows()]);
  // Everything up to 02:00 of the day has been observed.
  forecast = await startForecastServer({ port: 0, scenario: 'rainstorm', scenarioStartUtcMs: DAY_START - 12 * H, nowUtcMs: () => DAY_START + 2 * H });
  influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
  const observed = archiveObservedRain(createOpenMeteoConnector({ archiveUrl: `${forecast.url}/v1/archive`, timeoutMs: 10_000, retries: 1 }));
  stack = await startServiceStack({ temporalAddress: servers.temporal.address, workflowBundle: bundle, worker: { taskQueue, activities: createBaselineActivities({ network, influx, observed }) } });
  client = stack.client;
});

after(async () => {
  await stack?.close();
  await forecast?.close();
  await servers?.stop();
});

/** Domain time 01:05 local when the workflow starts (its clock maps wall time onto the test day). */
const clockAt = (domainUtcMs: number): DomainClock => ({ originUtcMs: domainUtcMs, wallOriginUtcMs: Date.now(), speed: 1 });

async function baselinePoints(): Promise<Map<string, number[]>> {
  const series = await influx.query(`SELECT "energyKwh", "costCny" FROM "baseline" WHERE time >= ${DAY_START - DAY}ms AND time <= ${DAY_START + DAY}ms GROUP BY "id"`);
  return new Map(series.map((s) => [s.tags['id']!, s.values.flatMap((row) => [row[0] as number, row[1] as number, row[2] as number])]));
}

test('a run after 01:00 closes the previous day and continues the counter into the new day; a second run changes nothing', { timeout: 180_000 }, async () => {
  // Telemetry at the two simulation starts (spin-ups of the two periods): W1 measured, the others not.
  await influx.write([
    { measurement: 'station', tags: { id: 'W1' }, fields: { levelM: 2.1 }, timeUtcMs: DAY_START - 2 * DAY - 60_000 },
    { measurement: 'station', tags: { id: 'W1' }, fields: { levelM: 1.7 }, timeUtcMs: DAY_START - DAY - 60_000 },
  ]);
  const input: BaselineRunInput = { networkId: network.id, utcOffsetMin: 480, clock: clockAt(DAY_START + H + 5 * 60_000) };
  const first: BaselineRunResult = await client.workflow.execute<typeof baselineRun>('baselineRun', { workflowId: 'baseline-run-test', taskQueue, args: [input] });
  assert.equal(first.periods.length, 2);
  const [previous, current] = first.periods as [BaselineRunResult['periods'][number], BaselineRunResult['periods'][number]];
  assert.deepEqual([previous.fromUtcMs, previous.toUtcMs, previous.writtenUntilUtcMs], [DAY_START - DAY, DAY_START, DAY_START]);
  assert.deepEqual([current.fromUtcMs, current.toUtcMs, current.writtenUntilUtcMs], [DAY_START, DAY_START + H, DAY_START + H]);
  assert.equal(previous.rainSource, 'open-meteo-archive');
  assert.equal(previous.rainGap, null);
  assert.deepEqual(previous.levels.measured, ['W1']);
  assert.deepEqual(current.levels.measured, ['W1']);
  assert.equal(previous.countersContinued, 0);
  assert.equal(current.countersContinued, network.stations.length, 'the new day continues the previous day’s counters');
  assert.equal(previous.points, network.stations.length * 289);
  assert.equal(current.points, network.stations.length * 13);
  assert.ok(previous.energyKwh > 10_000 && current.energyKwh > 0, `energy ${previous.energyKwh} / ${current.energyKwh} kWh`);

  const stored = await baselinePoints();
  assert.equal(stored.size, network.stations.length);
  for (const [id, flat] of stored) {
    const times = flat.filter((_, i) => i % 3 === 0);
    const kwh = flat.filter((_, i) => i % 3 === 1);
    assert.equal(times.length, 289 + 12, `${id}: one point every 5 min, the boundary shared`);
    assert.equal(kwh[0], 0, `${id} opens at 0`);
    assert.ok(kwh.every((e, i) => i === 0 || e >= kwh[i - 1]!), `${id}: the counter never falls, across midnight too`);
  }
  const totalAt = (t: number) => [...stored.values()].reduce((sum, flat) => sum + flat[flat.findIndex((_, i) => i % 3 === 0 && flat[i] === t) + 1]!, 0);
  assert.ok(Math.abs(totalAt(DAY_START) - previous.energyKwh) < 1e-6 * previous.energyKwh, 'the day closes at its simulated energy');
  assert.ok(Math.abs(totalAt(DAY_START + H) - totalAt(DAY_START) - current.energyKwh) < 1e-6 * previous.energyKwh, 'the new day adds its own');

  // Same domain time again: the same periods, the same points.
  const second: BaselineRunResult = await client.workflow.execute<typeof baselineRun>('baselineRun', { workflowId: 'baseline-run-test-again', taskQueue, args: [{ ...input, clock: clockAt(DAY_START + H + 5 * 60_000) }] });
  assert.deepEqual(
    second.periods.map((p) => [p.fromUtcMs, p.toUtcMs, p.points, p.energyKwh, p.costCny]),
    first.periods.map((p) => [p.fromUtcMs, p.toUtcMs, p.points, p.energyKwh, p.costCny]),
  );
  assert.deepEqual(await baselinePoints(), stored);

  if (process.env['RECORD_HISTORIES'] === '1') {
    writeFileSync(path.join(historiesDir, 'baseline-run-test.json'), portableHistory(await client.workflow.getHandle('baseline-run-test').fetchHistory()));
  }
});

test('the dispatch Schedule brings the hourly baseline Schedule; its run on today’s rain, not yet observed, writes nothing and names the gap', { timeout: 120_000 }, async () => {
  await ensureDispatchSchedule(client, network, { paused: true, taskQueueName: taskQueue });
  const schedule = client.schedule.getHandle(baselineScheduleId(network.id));
  const described = await schedule.describe();
  assert.equal(described.action.type, 'startWorkflow');
  assert.equal(described.action.workflowType, 'baselineRun');
  assert.deepEqual(described.action.args, [{ networkId: network.id, utcOffsetMin: 480 }]);
  assert.equal(described.policies.overlap, ScheduleOverlapPolicy.SKIP);
  assert.deepEqual(described.spec.intervals, [{ every: 3_600_000, offset: 300_000 }]);
  assert.equal(described.state.paused, true, 'paused with the dispatch Schedule');

  const pointsBefore = await baselinePoints();
  await schedule.trigger();
  let runId: string | undefined;
  for (let i = 0; i < 100 && !runId; i++) {
    runId = (await schedule.describe()).info.recentActions.at(-1)?.action.workflow.workflowId;
    if (!runId) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(runId, 'the triggered Schedule started a run');
  const result = (await client.workflow.getHandle(runId).result()) as BaselineRunResult;
  // The forecast server's archive ends on the test day: the run's real-time period has no observed rain yet.
  for (const period of result.periods) {
    assert.equal(period.points, 0);
    assert.equal(period.writtenUntilUtcMs, null);
    assert.equal(period.rainGap?.hourEndUtcMs, period.simulatedFromUtcMs + H, 'the first hour of the spin-up is missing');
  }
  assert.deepEqual(await baselinePoints(), pointsBefore);
});

test('a bad offset fails the run at once, naming the input', { timeout: 60_000 }, async () => {
  await assert.rejects(client.workflow.execute('baselineRun', { workflowId: 'baseline-run-bad', taskQueue, args: [{ networkId: network.id, utcOffsetMin: Number.NaN }] }), (error: Error) => {
    assert.match(String((error.cause as Error | undefined)?.message), /utcOffsetMin must be a number of minutes within ±840, got null/);
    return true;
  });
});

test('recorded baseline histories replay on the current workflow code, and a changed one does not', { timeout: 60_000 }, async () => {
  const files = readdirSync(historiesDir).filter((f) => f.startsWith('baseline-') && f.endsWith('.json'));
  assert.ok(files.includes('baseline-run-test.json'), 'missing recorded history baseline-run-test.json (record with RECORD_HISTORIES=1)');
  for (const file of files) {
    await Worker.runReplayHistory({ workflowBundle: bundle }, JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8')), file.replace(/\.json$/, ''));
  }
  // The guard works: with its activity renamed the history no longer matches the code.
  const tampered = JSON.parse(readFileSync(path.join(historiesDir, 'baseline-run-test.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
  tampered.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'writeBaseline')!.activityTaskScheduledEventAttributes!.activityType!.name = 'writeBaselineV0';
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, tampered, 'baseline-run-test'), (error: Error) => {
    assert.match(`${error.name} ${error.message}`, /Determinism|nondetermin/i);
    return true;
  });
});
