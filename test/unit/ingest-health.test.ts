// The API's ingest probe (ingest/state.ts ingestHealth) over the heartbeat ingest writes: down without one, when it
// is stale, when ingest is not subscribed or SCADA is silent; up with what is worth knowing otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QuerySeries } from '../../connectors/influx.js';
import { INGEST_HEARTBEAT_STALE_MS, ingestHealth } from '../../ingest/state.js';

const NOW = Date.UTC(2026, 6, 1, 8, 0);
const beat = (fields: Record<string, unknown>, atUtcMs = NOW - 5_000): { query: () => Promise<QuerySeries[]> } => {
  const columns = ['time', ...Object.keys(fields)];
  return { query: async () => [{ name: 'ingest_heartbeat', tags: {}, columns, values: [[atUtcMs, ...Object.values(fields)]] }] };
};
const healthy = { state: 'subscribed', mode: 'direct', lastPublishAgeMs: 900, dropped: 0, spoolPending: 0, lastError: '' };

test('a fresh heartbeat of a subscribed ingest is up, and says what is worth knowing', async () => {
  assert.deepEqual(await ingestHealth(beat(healthy), NOW), { detail: 'mode direct' });
  const lossy = await ingestHealth(beat({ ...healthy, mode: 'spooling', dropped: 12, spoolPending: 3000, lastError: 'InfluxDB: connect ECONNREFUSED' }), NOW);
  assert.equal(lossy.detail, 'mode spooling; 12 points lost since start (InfluxDB: connect ECONNREFUSED); 3000 points waiting in the spool');
});

test('no heartbeat, a stale one, not subscribed or SCADA silent: down, saying which', async () => {
  await assert.rejects(ingestHealth({ query: async () => [] }, NOW), /no ingest heartbeat/);
  await assert.rejects(ingestHealth(beat(healthy, NOW - INGEST_HEARTBEAT_STALE_MS - 1_000), NOW), /31 s ago: ingest is not running/);
  await assert.rejects(ingestHealth(beat({ ...healthy, state: 'reconnecting', lastError: 'BadSessionClosed' }), NOW), /ingest is reconnecting, not subscribed to SCADA \(BadSessionClosed\)/);
  await assert.rejects(ingestHealth(beat({ ...healthy, lastPublishAgeMs: 95_000 }), NOW), /no answer from SCADA for 95 s/);
});
