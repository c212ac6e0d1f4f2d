// A whole typhoon in accelerated time (2 simulated hours per wall second): the flood-season workflow with
// its real activities against the OPC UA simulator, the local forecast server (forecast and observed rain)
// and InfluxDB, from the first blue signal to stand-down. Emergency plans are approved through the API by
// the role each level demands (a dispatcher is refused a level II plan), dispatched to the simulator, and
// the post-event report is produced: as the workflow's result, by query, through the API and in InfluxDB.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { FastifyInstance } from 'fastify';
import type { FloodStatusBody } from '../../api/routes/flood.js';
import { archiveObservedRain } from '../../activities/flood.js';
import { openMeteoRainSource } from '../../activities/rain-forecast.js';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { createOpcUaConnector } from '../../connectors/opcua.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import { dispatchStateQuery, floodReportQuery, floodSeasonWorkflowId, taskQueue as defaultQueue, type DomainClock, type FloodSeasonInput } from '../../contract/index.js';
import { startForecastServer } from '../../forecast-server/server.js';
import { floodConfig, warningRank, type FloodReport } from '../../flood/types.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createNotifier, createWebhookChannel } from '../../notify/index.js';
import { createRainScenario, rainMmInMinute } from '../../scenarios/rain.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { floodSeason } from '../../workflows/index.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { logIn, startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SPEED = 7200; // 2 simulated hours per wall second
const taskQueue = `${defaultQueue}-typhoon`;
const passwords = { wang: 'dispatcher-password-1', zhao: 'supervisor-password-1' };
const localStation = 'E9';

let servers: TestServers;
let network: NetworkConfig;
let simulator: SimulatorServerHandle;
let forecast: Awaited<ReturnType<typeof startForecastServer>>;
let influx: InfluxConnector;
let stack: ServiceStack;
let client: Client;
let app: FastifyInstance;
let webhook: WebhookReceiver;
let clock: DomainClock;
let ticker: NodeJS.Timeout | undefined;
let tmp: string;

const domainNow = () => clock.originUtcMs + (Date.now() - clock.wallOriginUtcMs) * clock.speed;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-typhoon-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const scenarioStartUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const scenario = createRainScenario('typhoon', { startUtcMs: scenarioStartUtcMs, rainOnsetOffsetMin: 18 * 60 }); // onset beyond the first checks' 12-h look-ahead, even when a loaded machine makes them late
  const [testServers, bundle] = await Promise.all([startTestServers(), bundleWorkflows(), startWebhookReceiver().then((w) => (webhook = w))]);
  servers = testServers;
  const simulation = createSimulation({
    network,
    startUtcMs: scenarioStartUtcMs,
    rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs),
    initialModes: Object.fromEntries(network.stations.map((s) => [s.id, s.id === localStation ? 'local' : 'remote'])),
  });
  // Driven by the test's domain clock (started with the test), the watchdog scaled like a paced clock's.
  simulation.setWatchdogTimeoutS(network.opcua.watchdogTimeoutS * SPEED);
  simulator = await startSimulatorServer({ network, simulation, port: 0, clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') });
  forecast = await startForecastServer({ port: 0, scenario, scenarioStartUtcMs, seed: 7, nowUtcMs: domainNow });
  const openMeteo = createOpenMeteoConnector({ forecastUrl: `${forecast.url}/v1/forecast`, ensembleUrl: `${forecast.url}/v1/ensemble`, archiveUrl: `${forecast.url}/v1/archive`, nowUtcMs: domainNow, timeoutMs: 10_000, retries: 1 });
  const opcua = createOpcUaConnector({ endpointUrl: simulator.endpointUrl, securityMode: 'None' });
  influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
  const notifier = createNotifier([createWebhookChannel({ defaultUrl: `${webhook.baseUrl}/cgi-bin/webhook/send?key=test` })]);

  const started = await startServiceStack({
    temporalAddress: servers.temporal.address,
    workflowBundle: bundle,
    worker: { taskQueue, dependencies: { network, opcua, influx, forecast: openMeteoRainSource(openMeteo), observed: archiveObservedRain(openMeteo), notifier, now: domainNow } },
    closeAfterWorker: [opcua],
    api: {
      network,
      influx,
      storeDir: tmp,
      users: [
        { userName: 'wang', displayName: '王调度', role: 'dispatcher', password: passwords.wang },
        { userName: 'zhao', displayName: '赵主管', role: 'supervisor', password: passwords.zhao },
      ],
    },
  });
  stack = started;
  ({ client, app } = started);
});

after(async () => {
  clearInterval(ticker);
  await stack?.close();
  await simulator?.close();
  await forecast?.close();
  await webhook?.close();
  await servers?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const login = (userName: keyof typeof passwords): Promise<string> => logIn(app, userName, passwords[userName]);

test('typhoon: blue signal → emergency plans approved by the right role → drawdown in SCADA → stand-down → report', async () => {
  const simulation = simulator.simulation;
  clock = { originUtcMs: simulation.timeUtcMs, wallOriginUtcMs: Date.now(), speed: SPEED };
  ticker = setInterval(() => {
    const due = Math.floor((domainNow() - simulation.timeUtcMs) / (simulation.stepS * 1000));
    if (due > 0) simulator.advance(due);
  }, 50);
  const tokens = { wang: await login('wang'), zhao: await login('zhao') };
  const config = floodConfig({
    lookAheadH: 12,
    emergencyStepMin: 120,
    overflowPoints: [{ stationId: 'E7', receivingWater: 'sea-outfall' }, { stationId: 'W7', receivingWater: 'river' }],
    approval: { escalateAfterMin: 24 * 60, approvalTimeoutMin: 48 * 60 },
  });
  const input: FloodSeasonInput = {
    networkId: network.id,
    seasonId: '2026',
    seasonEndUtcMs: clock.originUtcMs + 10 * 86_400_000,
    checkIntervalMin: 120,
    maxIterationsPerRun: 3, // small, so continue-as-new happens even when a loaded machine makes checks late (7 seen)
    config,
    clock,
    stopAfterEvents: 1,
  };
  const handle = await client.workflow.start(floodSeason, { taskQueue, workflowId: floodSeasonWorkflowId(network.id), args: [input] });

  // The control room: approve each emergency plan as it comes, with the role its level demands.
  const approvals: { emergencyPlanId: string; response: string; by: string }[] = [];
  let dispatcherRefused = 0;
  let done = false;
  const result = handle.result().finally(() => (done = true));
  while (!done) {
    const response = await app.inject({ method: 'GET', url: '/api/flood/status', headers: { authorization: `Bearer ${tokens.wang}` } });
    if (response.statusCode === 200) {
      const status = response.json<FloodStatusBody>();
      const pending = status.pending;
      if (pending && !approvals.some((a) => a.emergencyPlanId === pending.emergencyPlanId)) {
        const role = pending.requiredRole;
        if (role !== 'dispatcher') {
          const refused = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: { authorization: `Bearer ${tokens.wang}` }, payload: { emergencyPlanId: pending.emergencyPlanId } });
          assert.equal(refused.statusCode, 403, refused.body);
          assert.match(refused.json<{ message: string }>().message, /needs a supervisor or higher/);
          dispatcherRefused++;
        }
        assert.notEqual(role, 'admin', 'the typhoon should not reach a red signal');
        const approver = role === 'dispatcher' ? 'wang' : 'zhao';
        const approved = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: { authorization: `Bearer ${tokens[approver]}` }, payload: { emergencyPlanId: pending.emergencyPlanId, comment: '同意启动应急预案' } });
        // A re-plan may have replaced it a moment ago: then the next one is approved on the next round.
        if (approved.statusCode === 200) approvals.push({ emergencyPlanId: pending.emergencyPlanId, response: pending.response, by: approver });
        else assert.equal(approved.statusCode, 409, approved.body);
      }
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  const final = await result;

  // The season workflow ends after the event with the report as its result.
  assert.equal(final.status, 'ended');
  assert.equal(final.eventsCompleted, 1);
  assert.ok(final.runs >= 2, `continued as new (${final.runs} runs over ${final.iteration} checks)`);
  const report: FloodReport = final.reports.at(-1)!;
  assert.ok(warningRank(report.peakWarning) >= warningRank('yellow'), `peak ${report.peakWarning}`);
  assert.ok(approvals.length >= 1);
  for (const a of approvals) assert.equal(a.by, a.response === 'II' ? 'zhao' : 'wang', `${a.emergencyPlanId} (${a.response}) approved by ${a.by}`);
  if (report.peakResponse === 'II') assert.ok(dispatcherRefused >= 1, 'a dispatcher was refused the level II plan');

  // Report contents: rain, levels, overflows, actions with times, plan against actual.
  assert.ok(report.rain.networkMaxTotalMm !== null && report.rain.networkMaxTotalMm > 120, `rain ${report.rain.networkMaxTotalMm} mm`);
  assert.equal(report.rain.catchments.length, network.catchments.length);
  assert.ok(report.levels.timeline.length >= 5);
  assert.ok(report.levels.stations.every((s) => s.maxLevelM !== null));
  assert.ok(report.overflows.totalM3 >= 0);
  const kinds = report.actions.map((a) => a.kind);
  for (const kind of ['warning-raised', 'plan-proposed', 'plan-approved', 'dispatch-started', 'crew-task', 'notification', 'stand-down'] as const) assert.ok(kinds.includes(kind), `action ${kind} in the report`);
  assert.ok(report.actions.every((a, i) => i === 0 || a.atUtcMs >= report.actions[i - 1]!.atUtcMs), 'actions in time order');
  assert.ok(report.planAgainstActual.onset.forecastUtcMs !== null && report.planAgainstActual.onset.observedUtcMs !== null);
  assert.equal(report.planAgainstActual.rain.length, network.catchments.length);
  assert.ok(report.planAgainstActual.plans.some((p) => p.outcome === 'approved'));
  assert.ok(report.endedAtUtcMs > report.startedAtUtcMs + 12 * 3_600_000, `event lasted ${report.durationH} h`);

  // The same report by query, through the API, and in InfluxDB with the status series.
  assert.equal((await handle.query(floodReportQuery))?.reportId, report.reportId);
  const viaApi = await app.inject({ method: 'GET', url: `/api/flood/report?eventId=${report.eventId}`, headers: { authorization: `Bearer ${tokens.wang}` } });
  assert.equal(viaApi.statusCode, 200, viaApi.body);
  assert.equal(viaApi.json<FloodReport>().reportId, report.reportId);
  const [status] = await influx.query(`SELECT count("warningLevel"), max("warningLevel"), first("warningLevel") FROM "flood_status" WHERE "network" = '${network.id}'`);
  assert.ok(Number(status?.values[0]?.[1]) >= final.iteration, 'a status point per check');
  assert.equal(Number(status?.values[0]?.[2]), warningRank(report.peakWarning));
  assert.equal(Number(status?.values[0]?.[3]), 0, 'the season was quiet before the first signal');
  assert.ok(report.startedAtUtcMs > clock.originUtcMs);
  const [stored] = await influx.query(`SELECT last("json") FROM "flood_report" WHERE "event" = '${report.eventId}'`);
  assert.equal((JSON.parse(String(stored?.values[0]?.[1])) as FloodReport).reportId, report.reportId);

  // SCADA saw the drawdown (flood-season start level, standby pumps) and, after stand-down, normal bands.
  const standDownId = `plan-flood-${report.eventId}-standdown`; // ids carry the season run
  const standDown = client.workflow.getHandle(standDownId);
  for (let i = 0; i < 100 && (await standDown.query(dispatchStateQuery)).status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 100));
  const remote = network.stations.filter((s) => s.id !== localStation);
  const writes = (id: string, tag: string) => simulator.writeLog.filter((w) => w.objectId === id && w.tag === tag).map((w) => Number(w.value));
  for (const s of remote) {
    assert.ok(writes(s.id, 'startLevelSpM').includes(s.levels.floodSeasonStartM!), `${s.id} drawn down to ${s.levels.floodSeasonStartM} m`);
    assert.ok(writes(s.id, 'pumpsAllowedSp').includes(s.pumps.length), `${s.id} standby pumps allowed`);
    assert.equal(writes(s.id, 'startLevelSpM').at(-1), s.levels.pumpStartM, `${s.id} back on its normal band`);
  }
  assert.ok(!simulator.writeLog.some((w) => w.objectId === localStation), 'nothing written to the LOCAL station');

  if (process.env['RECORD_HISTORIES'] === '1') {
    // Replayed by dispatch-workflow.test.ts: the season's last run and the first emergency plan's dispatch.
    const historiesDir = fileURLToPath(new URL('../histories/', import.meta.url));
    for (const id of [handle.workflowId, approvals[0]!.emergencyPlanId]) {
      await writeFile(path.join(historiesDir, `${id}.json`), historyToJSON(await client.workflow.getHandle(id).fetchHistory()));
    }
  }

  // Notifications went out as WeCom markdown.
  const webhookBodies = webhook.received.map((m) => m.body);
  assert.ok(webhookBodies.length >= 3);
  assert.ok(webhookBodies.every((b) => b.msgtype === 'markdown' && typeof b.markdown.content === 'string'));
  assert.ok(webhookBodies.some((b) => b.markdown.content?.includes('应急预案') === true));
  assert.ok(webhookBodies.some((b) => b.markdown.content?.includes('汛情解除') === true));
});
