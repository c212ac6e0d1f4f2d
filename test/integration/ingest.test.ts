// Telemetry ingest end to end: the OPC UA simulator of the reference network → ingest service → a real
// InfluxDB 1.8. Values arrive through subscriptions; the simulator's server is closed and restarted on the
// same port and the subscription comes back; InfluxDB is stopped for a while and started again on the same
// data folder and port, and a count shows every value the subscriber handed over is in InfluxDB; faulty
// sensors are flagged.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { ensureInfluxdBinary, startInfluxd, type RunningInfluxd } from '../../infra/servers.js';
import { consoleLogger, silentLogger } from '../../ingest/log.js';
import { startIngest, type IngestHandle } from '../../ingest/service.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createSimulation, type Simulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { until as untilTrue } from '../support/until.js';

const verbose = process.env['INGEST_TEST_VERBOSE'] === '1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let tmp: string;
let network: NetworkConfig;
let simulation: Simulation;
let simulator: SimulatorServerHandle | undefined;
let simulatorPort: number;
let influxd: RunningInfluxd | undefined;
let influxBinary: string;
let influxPort: number;
let influx: InfluxConnector;
let ingest: IngestHandle;
let stepper: NodeJS.Timeout | undefined;

/** Poll until `check` returns a truthy value, or fail naming `what` and the subscriber's counters. */
const until = <T>(what: string, timeoutMs: number, check: () => T | Promise<T>) =>
  untilTrue(what, timeoutMs, check, { context: () => `ingest stats: ${JSON.stringify(ingest?.stats().subscriber)}` });

function startSimulator(port: number): Promise<SimulatorServerHandle> {
  return startSimulatorServer({ network, simulation, port, host: '127.0.0.1', clock: { mode: 'manual' }, publishIntervalMs: 50, pkiFolder: path.join(tmp, 'pki') });
}

/** The simulation advances one minute every 100 ms of wall time while the test runs. */
function startStepping(): void {
  stepper = setInterval(() => simulator?.advance(1), 100);
}

async function fieldValuesInInflux(): Promise<number> {
  let n = 0;
  for (const s of await influx.query('SELECT COUNT(*) FROM "station", "tank", "plant", "interconnection", "analyser"')) {
    for (const row of s.values) for (const v of row.slice(1)) n += Number(v ?? 0);
  }
  return n;
}

async function statusPointsInInflux(): Promise<number> {
  let n = 0;
  for (const s of await influx.query('SELECT COUNT("statusCode") FROM "tag_status"')) for (const row of s.values) n += Number(row[1] ?? 0);
  return n;
}

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-ingest-'));
  network = await loadNetworkFile(referenceNetworkPath);
  process.env['SERVERS_QUIET'] ??= '1';
  influxBinary = await ensureInfluxdBinary();
  const startUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  simulation = createSimulation({ network, startUtcMs });
  const [server, db] = await Promise.all([startSimulator(0), startInfluxd({ dataDir: path.join(tmp, 'influxdb'), port: 0, binary: influxBinary, database: 'sewer' })]);
  simulator = server;
  simulatorPort = server.port;
  influxd = db;
  influxPort = Number(new URL(db.url).port);
  simulator.advance(5);
  influx = createInfluxConnector({ url: db.url, token: db.token, org: '-', bucket: 'sewer', database: 'sewer' });
  ingest = await startIngest({
    network,
    endpointUrl: simulator.endpointUrl,
    influx: { url: db.url, token: db.token, org: '-', bucket: 'sewer', database: 'sewer', timeoutMs: 3000 },
    spoolDir: path.join(tmp, 'spool'),
    samplingIntervalMs: 100,
    publishingIntervalMs: 200,
    reconnect: { initialDelayMs: 250, maxDelayMs: 2000 },
    // A subscription lifetime of 200 ms × 15 = 3 s (the server may grant more), so re-creating after 6 s
    // without a Publish response never throws away a subscription the server still holds.
    keepAliveCount: 5,
    lifetimeCount: 15,
    staleAfterMs: 6000,
    batchSize: 2000,
    flushIntervalMs: 250,
    quality: {
      analyserFlatLineMs: 10 * 60_000,
      // The stuck level of W2 is caught within 20 simulated minutes; the others keep the 3 h default.
      flatLine: { 'W2/levelM': { windowMs: 20 * 60_000, epsilon: 1e-4 } },
      // A deliberately tight plausible range, so an ordinary level reads as out of range.
      ranges: { 'W1/levelM': { min: 0, max: 0.5 } },
    },
    qualityTickMs: 200,
    logger: verbose ? consoleLogger('test', 'debug') : silentLogger,
  });
  await ingest.waitUntilSubscribed(30_000);
  startStepping();
});

after(async () => {
  if (stepper) clearInterval(stepper);
  await ingest?.stop().catch(() => undefined);
  await simulator?.close();
  await influxd?.stop();
  await fsp.rm(tmp, { recursive: true, force: true });
});

test('values arrive through the subscription and land in InfluxDB in the dispatch layout', async () => {
  const stats = await until('values from the subscription', 15_000, () => {
    const s = ingest.stats();
    return s.values.stored > 2000 && s.subscriber.notifications > 5 ? s : undefined;
  });
  assert.equal(stats.subscriber.monitoredItems, stats.tags, 'every tag is monitored');
  assert.deepEqual(stats.subscriber.monitorErrors, {});
  assert.equal(stats.subscriber.revisedSamplingIntervalMs, 100);
  await ingest.flush();
  // The query /api/state runs: last value of every field per object.
  const series = await until('station rows in InfluxDB', 10_000, async () => {
    const rows = await influx.query('SELECT last(*) FROM "station" WHERE time > now() - 1d GROUP BY "id"');
    return rows.length === network.stations.length ? rows : undefined;
  });
  const w1 = series.find((s) => s.tags['id'] === 'W1')!;
  assert.ok(w1.columns.includes('last_levelM') && w1.columns.includes('last_pumpsRunning') && w1.columns.includes('last_startLevelSpM'), `W1 fields: ${w1.columns.join(', ')}`);
  const analysers = await influx.query('SELECT last("codMgL") FROM "analyser" GROUP BY "id"');
  assert.equal(analysers.length, network.analysers.length);
});

test('an OPC UA server restart on the same port is survived: session and subscription come back', async () => {
  /** Close the simulator's server, run `whileDown`, restart it on the same port, and wait for fresh values. */
  const restart = async (whileDown: () => Promise<void>) => {
    clearInterval(stepper);
    await simulator!.close();
    simulator = undefined;
    await until('the subscriber to notice the lost connection', 15_000, () => ingest.stats().subscriber.state !== 'subscribed');
    await whileDown();
    simulator = await startSimulator(simulatorPort);
    assert.equal(simulator.port, simulatorPort);
    startStepping();
    const restartedAtUtcMs = simulation.timeUtcMs;
    await until('a restored subscription', 30_000, () => ingest.stats().subscriber.state === 'subscribed');
    const stored = ingest.stats().values.stored;
    await until('new values after the restart', 15_000, () => ingest.stats().values.stored > stored + 300);
    await ingest.flush();
    const fresh = await influx.query(`SELECT COUNT("levelM") FROM "station" WHERE time > ${restartedAtUtcMs}ms`);
    assert.ok(Number(fresh[0]?.values[0]?.[1] ?? 0) > 0, 'levels simulated after the restart are in InfluxDB');
  };

  // A short outage: node-opcua's reconnection (or, if it is slower than staleAfterMs, our re-create) restores it.
  const s0 = ingest.stats().subscriber;
  await restart(() => sleep(1000));
  const s1 = ingest.stats().subscriber;
  assert.ok(s1.connectionsLost > s0.connectionsLost || s1.recreated > s0.recreated, 'the loss was seen');
  assert.ok(s1.sessionsRestored + s1.recreated > s0.sessionsRestored + s0.recreated, 'restored by the client reconnection or re-created');
  assert.ok(s1.subscriptionsCreated > s0.subscriptionsCreated, 'the subscription was re-created on the new server');

  // A long outage: no publish for staleAfterMs, so the subscriber tears the client down and builds a new
  // client, session and subscription, retrying until the server is back.
  await restart(async () => {
    await until('our own re-create after staleAfterMs without publish', 20_000, () => ingest.stats().subscriber.recreated > s1.recreated);
  });
  const s2 = ingest.stats().subscriber;
  assert.ok(s2.subscriptionsCreated > s1.subscriptionsCreated);
  assert.equal(s2.monitoredItems, ingest.stats().tags, 'every tag monitored again');

  // Both outages are in InfluxDB as ingest_gap points, next to the readings; the long one lost its subscription.
  await until('both gaps counted', 10_000, () => {
    const g = ingest.stats().subscriber.gaps;
    return g['connection-lost'] + g['subscription-recreated'] >= 2;
  });
  await ingest.flush();
  const gaps = await until('ingest_gap points in InfluxDB', 10_000, async () => {
    const rows = await influx.query('SELECT "endUtcMs", "items", "tags", "open" FROM "ingest_gap" GROUP BY "reason"');
    const n = rows.reduce((a, r) => a + r.values.length, 0);
    return n >= 2 ? rows : undefined;
  });
  const recreated = gaps.find((r) => r.tags['reason'] === 'subscription-recreated');
  assert.ok(recreated, `reasons: ${gaps.map((r) => r.tags['reason']).join(', ')}`);
  const [time, endUtcMs, items, tagList, open] = recreated.values.at(-1)!;
  assert.ok(Number(endUtcMs) >= Number(time), 'ends after it starts (network time)');
  assert.deepEqual([items, tagList, open], [ingest.stats().tags, '*', false]);
});

test('InfluxDB stopped for a while during ingest: points are spooled, replayed in order, none lost', async () => {
  await ingest.flush();
  const before = ingest.stats();
  await influxd!.stop();
  influxd = undefined;
  // Ingest carries on for several seconds with InfluxDB down.
  await until('points spooled to disk', 15_000, () => ingest.stats().pipeline.spooled > before.pipeline.spooled + 500);
  await sleep(2000);
  const during = ingest.stats();
  assert.equal(during.pipeline.mode, 'spooling');
  assert.ok(during.pipeline.spoolPending > 0);
  influxd = await startInfluxd({ dataDir: path.join(tmp, 'influxdb'), port: influxPort, binary: influxBinary, database: 'sewer' });
  await until('the spool to be replayed', 30_000, () => {
    const p = ingest.stats().pipeline;
    return p.mode === 'direct' && p.spoolPending === 0 && p.replayed > before.pipeline.replayed;
  });
  // Stop the changes, let the last notifications in, and write everything out.
  clearInterval(stepper);
  stepper = undefined;
  await sleep(800);
  assert.ok(await ingest.drain(20_000), 'everything received is in InfluxDB');
  const s = ingest.stats();
  const inInflux = await fieldValuesInInflux();
  const statusInInflux = await statusPointsInInflux();
  if (verbose) console.log({ stored: s.values.stored, inInflux, statusPoints: s.values.statusPoints, statusInInflux, pipeline: s.pipeline });
  assert.equal(s.pipeline.dropped, 0, 'no point dropped');
  assert.equal(s.pipeline.rejected, 0, 'no point refused');
  assert.equal(s.pipeline.written, s.pipeline.received, 'every point received was written');
  assert.ok(s.pipeline.replayed > 0 && s.pipeline.replayed === s.pipeline.spooled, `replayed ${s.pipeline.replayed} = spooled ${s.pipeline.spooled}`);
  assert.equal(inInflux, s.values.stored, 'InfluxDB holds every value the subscriber handed over');
  assert.equal(statusInInflux, s.values.statusPoints, 'and every non-Good status');
  startStepping();
});

test('faulty sensors are flagged: Bad status, Uncertain status, flat line, out of range', async () => {
  simulation.setCommunicationLoss('E3', true);
  simulation.setAnalyserFlatLine('Q-WP', true, 'uncertain');
  simulation.setLevelSensorStuck('W2', true, 'good');
  const has = (objectId: string, tag: string, kind: string) => ingest.flags().some((f) => f.objectId === objectId && f.tag === tag && f.kind === kind);
  await until('flags for the faults', 20_000, () => has('E3', 'levelM', 'bad_status') && has('Q-WP', 'codMgL', 'uncertain_status') && has('Q-WP', 'codMgL', 'flatline') && has('W2', 'levelM', 'flatline') && has('W1', 'levelM', 'out_of_range'));
  const flags = ingest.flags();
  const e3 = flags.find((f) => f.objectId === 'E3' && f.tag === 'levelM' && f.kind === 'bad_status')!;
  assert.match(e3.detail, /BadNoCommunication/);
  assert.ok(!has('W3', 'levelM', 'flatline'), 'a healthy level is not flagged');
  // The values of E3 were recorded as status, not as values.
  await ingest.flush();
  const status = await influx.query(`SELECT last("statusCode") FROM "tag_status" WHERE "object" = 'E3' AND "tag" = 'levelM'`);
  assert.equal(status[0]?.values[0]?.[1], 'BadNoCommunication');
  // The flat-lined analyser's readings are Uncertain: kept in tag_status with their value.
  const uncertain = await influx.query(`SELECT last("statusCode"), last("value") FROM "tag_status" WHERE "object" = 'Q-WP' AND "tag" = 'codMgL'`);
  assert.equal(uncertain[0]?.values[0]?.[1], 'UncertainSensorNotAccurate');
  assert.equal(typeof uncertain[0]?.values[0]?.[2], 'number', `an Uncertain reading keeps its value: ${JSON.stringify(uncertain)}`);
  assert.ok(ingest.stats().values.uncertainValues > 0);

  const stored = await influx.query(`SELECT last("active") FROM "sensor_flag" GROUP BY "object", "tag", "kind"`);
  const active = (o: string, t: string, k: string) => stored.find((s) => s.tags['object'] === o && s.tags['tag'] === t && s.tags['kind'] === k)?.values[0]?.[1];
  assert.equal(active('E3', 'levelM', 'bad_status'), true);
  assert.equal(active('W2', 'levelM', 'flatline'), true);
  // Communication back: the Bad flags clear.
  simulation.setCommunicationLoss('E3', false);
  await until('the E3 flags to clear', 10_000, () => !has('E3', 'levelM', 'bad_status'));
  simulation.setAnalyserFlatLine('Q-WP', false);
  simulation.setLevelSensorStuck('W2', false);
});
