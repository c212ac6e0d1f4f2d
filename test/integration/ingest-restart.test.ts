// Ingest restarted against the simulator and a real InfluxDB 1.8: a flag the first run raised is cleared by
// the second run's first good value, the time ingest was down is an ingest_gap (reason ingest-stopped), and
// the heartbeat (InfluxDB point and state.json) says ingest is alive.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { ensureInfluxdBinary, startInfluxd, type RunningInfluxd } from '../../infra/servers.js';
import { silentLogger } from '../../ingest/log.js';
import { startIngest, type IngestOptions } from '../../ingest/service.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { until } from '../support/until.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
let tmp: string;
let network: NetworkConfig;
let simulator: SimulatorServerHandle | undefined;
let influxd: RunningInfluxd | undefined;
let influx: InfluxConnector;

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-ingest-restart-'));
  network = await loadNetworkFile(referenceNetworkPath);
  process.env['SERVERS_QUIET'] ??= '1';
  const binary = await ensureInfluxdBinary();
  const simulation = createSimulation({ network, startUtcMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 });
  [simulator, influxd] = await Promise.all([
    startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, publishIntervalMs: 50, pkiFolder: path.join(tmp, 'pki') }),
    startInfluxd({ dataDir: path.join(tmp, 'influxdb'), port: 0, binary, database: 'sewer' }),
  ]);
  influx = createInfluxConnector({ url: influxd.url, token: influxd.token, org: '-', bucket: 'sewer', database: 'sewer' });
});

after(async () => {
  await simulator?.close();
  await influxd?.stop();
  await fsp.rm(tmp, { recursive: true, force: true });
});

const options = (extra: Partial<IngestOptions> = {}): IngestOptions => ({
  network,
  endpointUrl: simulator!.endpointUrl,
  influx: { url: influxd!.url, token: influxd!.token, org: '-', bucket: 'sewer', database: 'sewer', timeoutMs: 3000 },
  spoolDir: path.join(tmp, 'spool'),
  samplingIntervalMs: 0,
  publishingIntervalMs: 200,
  flushIntervalMs: 100,
  qualityTickMs: 200,
  heartbeatMs: 300,
  logger: silentLogger,
  ...extra,
});

const lastFlag = async (object: string, tag: string, kind: string) => {
  const [s] = await influx.query(`SELECT "active", "detail", "detailZh" FROM "sensor_flag" WHERE "object" = '${object}' AND "tag" = '${tag}' AND "kind" = '${kind}' ORDER BY time DESC LIMIT 1`);
  return s ? { active: s.values[0]![1], detail: s.values[0]![2], detailZh: s.values[0]![3] } : undefined;
};

test('a restart clears the flags of the first run that no longer apply and records its downtime as an ingest_gap', async () => {
  // Run 1: W1's level reads out of range (a deliberately tight range), and is flagged.
  const first = await startIngest(options({ quality: { ranges: { 'W1/levelM': { min: 0, max: 0.5 } } } }));
  await first.waitUntilSubscribed(30_000);
  for (let i = 0; i < 3; i++) {
    simulator!.advance(1);
    await sleep(300);
  }
  await until('the out_of_range flag in InfluxDB', 10_000, async () => (await lastFlag('W1', 'levelM', 'out_of_range'))?.active === true);
  assert.match(String((await lastFlag('W1', 'levelM', 'out_of_range'))!.detailZh), /超出合理范围/);
  await until('a heartbeat in InfluxDB', 10_000, async () => (await influx.query('SELECT COUNT("state") FROM "ingest_heartbeat"')).length > 0);
  await first.stop({ drainTimeoutMs: 3000 });
  const state = JSON.parse(fs.readFileSync(path.join(tmp, 'spool', 'state.json'), 'utf8')) as { running: boolean; networkUtcMs: number; status: { state: string } };
  assert.equal(state.running, false, 'a clean stop is recorded');
  const lastBefore = state.networkUtcMs;

  // 30 simulated minutes pass while ingest is down; the sensor is "fixed" (the normal range applies again).
  simulator!.advance(30);
  const second = await startIngest(options());
  try {
    await second.waitUntilSubscribed(30_000);
    assert.ok(second.stats().flags.restored >= 1, 'the flags of the first run are taken over');
    await until('the flag cleared in InfluxDB', 10_000, async () => (await lastFlag('W1', 'levelM', 'out_of_range'))?.active === false);
    const gapQuery = 'SELECT "endUtcMs", "detailZh", "tags" FROM "ingest_gap" WHERE "reason" = \'ingest-stopped\'';
    const [gap] = await until('the downtime gap in InfluxDB', 10_000, async () => {
      const found = await influx.query(gapQuery);
      return found.length > 0 ? found : undefined;
    });
    const [timeUtcMs, endUtcMs, detailZh, tagList] = gap!.values[0] as [number, number, string, string];
    assert.equal(timeUtcMs, lastBefore, 'the gap starts at the last value of the first run');
    assert.ok(endUtcMs - timeUtcMs >= 30 * 60_000, `and covers the 30 simulated minutes (${(endUtcMs - timeUtcMs) / 60_000} min)`);
    assert.equal(tagList, '*');
    assert.match(detailZh, /采集服务未运行/);
    const live = JSON.parse(fs.readFileSync(path.join(tmp, 'spool', 'state.json'), 'utf8')) as { running: boolean; wallUtcMs: number; status: { state: string; dropped: number } };
    assert.equal(live.running, true);
    assert.ok(Date.now() - live.wallUtcMs < 5000, 'state.json is fresh while ingest runs');
    assert.equal(live.status.state, 'subscribed');
  } finally {
    await second.stop({ drainTimeoutMs: 3000 });
  }
});
