// The InfluxDB connector against a real server: large writes are stored before write() returns, bad
// points are refused before anything is sent, and authentication is required.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createInfluxConnector, InfluxError, type InfluxConnector } from '../../connectors/influx.js';
import { startTestServers, type TestServers } from '../support/servers.js';

let servers: TestServers;
let influx: InfluxConnector;

before(async () => {
  servers = await startTestServers({ temporal: false });
  influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
});
after(async () => {
  await servers?.stop();
});

test('a write of several batches is fully readable as soon as write() returns', async () => {
  const start = Date.UTC(2026, 6, 1);
  const points = Array.from({ length: 12_345 }, (_, i) => ({ measurement: 'probe', tags: { id: `S${i % 7}` }, fields: { levelM: i / 1000 }, timeUtcMs: start + i * 1000 }));
  assert.equal(await influx.write(points), points.length);
  const series = await influx.query(`SELECT count("levelM") FROM "probe" WHERE time >= ${start}ms`);
  assert.equal(series[0]?.values[0]?.[1], points.length);
});

test('a non-finite field rejects the whole write before anything is stored', async () => {
  const t = Date.UTC(2026, 6, 2);
  await assert.rejects(
    influx.write([
      { measurement: 'probe2', tags: { id: 'A' }, fields: { levelM: 1 }, timeUtcMs: t },
      { measurement: 'probe2', tags: { id: 'B' }, fields: { levelM: Number.NaN }, timeUtcMs: t },
    ]),
    (error: unknown) => error instanceof InfluxError && /field levelM is not finite/.test(error.message),
  );
  assert.deepEqual(await influx.query('SELECT * FROM "probe2"'), []);
});

test('wrong credentials are refused with a clear error', async () => {
  const intruder = createInfluxConnector({ url: servers.influx.url, token: 'admin:wrong', org: '-', bucket: servers.influx.database, database: servers.influx.database });
  await assert.rejects(intruder.query('SHOW MEASUREMENTS'), /HTTP 401/);
  await assert.rejects(intruder.write([{ measurement: 'x', tags: {}, fields: { v: 1 }, timeUtcMs: Date.now() }]), InfluxError);
});
