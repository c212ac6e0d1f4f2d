// The forecasts route's reading of a real InfluxDB 1.8: the rain a dispatch cycle used (written by the
// activity, activities/dispatch.ts → forecasting/rain-store.ts writeCycleRain) per catchment, and the rain
// ensemble written by the rain store (hourly from quarter-hour members) as P10/P50/P90 per catchment and step
// from the newest issue only, gaps stay null, and with no ensemble stored the answer says so. Every time is
// the START of its step, as the schema says and the console draws it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { MS_PER_H } from '../../forecasting/calendar.js';
import { saveGoodRain, writeCycleRain } from '../../forecasting/rain-store.js';
import type { StoredRain } from '../../forecasting/rain-source.js';
import { readForecasts } from '../../api/routes/forecasts.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 6, 1, 2);
const HOURS = 4;
const MEMBERS = 5;

/** Member m's rain in hour i of catchment C-W1: m + i mm; member 2 misses a quarter of hour 1, all miss hour 3. */
function memberQuarters(catchmentId: string, m: number, offsetMm: number): (number | null)[] {
  return Array.from({ length: HOURS * 4 }, (_, q) => {
    const hour = Math.floor(q / 4);
    if (catchmentId === 'C-W1' && (hour === 3 || (m === 2 && hour === 1 && q % 4 === 2))) return null;
    return (m + hour + offsetMm) / 4;
  });
}

function ensemble(issuedAtUtcMs: number, offsetMm: number): StoredRain {
  return {
    issuedAtUtcMs,
    source: 'open-meteo-ensemble:test',
    startUtcMs: START_UTC_MS,
    stepMin: 15,
    sourceStepMin: 60,
    deterministic: {},
    members: Object.fromEntries(['C-W1', 'C-W2'].map((id) => [id, Array.from({ length: MEMBERS }, (_, m) => memberQuarters(id, m, offsetMm))])),
  };
}

void describe('forecasts route on a real InfluxDB', () => {
  let servers: TestServers;
  let influx: InfluxConnector;

  before(async () => {
    servers = await startTestServers({ temporal: false });
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
    // The cycle's rain as the activity's RainForecast labels it: each depth at the END of its hour.
    const rain = { 'C-W1': [1, 2, null, 4], 'C-W2': [0, 0, 0, 0], 'C-W3': [1, 1, 1, 1] };
    await writeCycleRain(
      influx,
      {
        issuedAtUtcMs: START_UTC_MS,
        source: 'open-meteo:test;quality=fresh;60min',
        stepMin: 60,
        locations: Object.entries(rain).map(([catchmentId, mm]) => ({ catchmentId, timeUtcMs: mm.map((_, i) => START_UTC_MS + (i + 1) * MS_PER_H), precipitationMm: mm })),
      },
      START_UTC_MS,
    );
  });
  after(async () => {
    await servers?.stop();
  });

  void it('with no ensemble stored: the deterministic rain and no band, said so', async () => {
    const body = await readForecasts(influx, network);
    assert.equal(body.rain.issuedAtUtcMs, START_UTC_MS);
    assert.equal(body.rain.ensemble, null);
    assert.deepEqual(body.rain.catchments.map((c) => c.catchmentId), ['C-W1', 'C-W2', 'C-W3']);
    for (const c of body.rain.catchments) assert.equal(c.ensemble, null, c.catchmentId);
  });

  void it('the newest ensemble issue as P10/P50/P90 per catchment and hour, gaps null', async () => {
    // An older issue with other values: it must not be mixed in.
    await saveGoodRain(influx, 'ensemble', ensemble(START_UTC_MS - MS_PER_H, 100));
    await saveGoodRain(influx, 'ensemble', ensemble(START_UTC_MS, 0));
    const body = await readForecasts(influx, network);
    assert.deepEqual(body.rain.ensemble, { issuedAtUtcMs: START_UTC_MS, source: 'open-meteo-ensemble:test', members: MEMBERS });
    const w1 = body.rain.catchments.find((c) => c.catchmentId === 'C-W1')!;
    assert.deepEqual(w1.mm, [1, 2, null, 4]);
    assert.ok(w1.ensemble);
    // Both series carry the START of each step: the rain of [START, START + 1 h) at START, where it fell.
    assert.deepEqual(w1.timeUtcMs, [0, 1, 2, 3].map((i) => START_UTC_MS + i * MS_PER_H));
    assert.deepEqual(w1.ensemble.timeUtcMs, w1.timeUtcMs);
    assert.equal(w1.ensemble.stepMin, 60);
    // Hour 0: members 0..4 → type-7 quantiles 0.4, 2, 3.6; hour 1 without member 2 (one quarter missing):
    // 1, 2, 4, 5 → 1.3, 3, 4.7; hour 3: every member missing → null, not 0.
    assert.deepEqual(w1.ensemble.members, [5, 4, 5, 0]);
    assert.deepEqual(w1.ensemble.p10Mm, [0.4, 1.3, 2.4, null]);
    assert.deepEqual(w1.ensemble.p50Mm, [2, 3, 4, null]);
    assert.deepEqual(w1.ensemble.p90Mm, [3.6, 4.7, 5.6, null]);
    const w2 = body.rain.catchments.find((c) => c.catchmentId === 'C-W2')!;
    assert.deepEqual(w2.ensemble?.p50Mm, [2, 3, 4, 5]);
    // C-W3 has a deterministic forecast but no members in the ensemble.
    assert.equal(body.rain.catchments.find((c) => c.catchmentId === 'C-W3')!.ensemble, null);

    const one = await readForecasts(influx, network, 'W2');
    assert.deepEqual(one.rain.catchments.map((c) => [c.catchmentId, c.ensemble?.p10Mm]), [['C-W2', [0.4, 1.4, 2.4, 3.4]]]);
  });
});
