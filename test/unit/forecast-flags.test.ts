// The inflow forecast's flags reach the plan (activities/mpc-planner.ts): what the forecast says of itself
// (stale rain, gaps filled, missing past rain, configured dry-weather flow) becomes the plan's assumptions in
// both languages; and the flags survive storage (forecasting/write.ts encodeFlags / decodeFlags), cut with a
// note when they would exceed InfluxDB's string limit. The InfluxDB round trip is in
// test/integration/forecast-storage.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMpcPlanner, forecastFlagNotes } from '../../activities/mpc-planner.js';
import type { CycleRainForecast } from '../../activities/rain-forecast.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { PlannerInflow } from '../../forecasting/cycle.js';
import { decodeFlags, encodeFlags, type ForecastFlags } from '../../forecasting/write.js';
import { exampleNetwork } from '../../planner/examples.js';

const t0 = Date.UTC(2026, 6, 1, 0, 0);
const ISSUED = t0 - 2 * 60_000;
const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 2000 }] });
const snapshot: NetworkSnapshot = {
  networkId: network.id,
  readAtUtcMs: t0,
  stations: [{ stationId: 'S1', levelM: 1, inflowM3h: 100, outflowM3h: 0, pumpsRunning: 0, pumpsAvailable: 3, mode: 'remote', remoteActive: true, startLevelSpM: 2, stopLevelSpM: 1, flowSpM3h: 0 }],
  readings: [],
  badTagCount: 0,
};
const forecast: CycleRainForecast = { issuedAtUtcMs: t0 - 50 * 60_000, source: 'open-meteo:test;quality=stale,age=45min', stepMin: 15, locations: [], inflowIssuedAtUtcMs: ISSUED, ensembleMembers: 0 };
const inflow: PlannerInflow = {
  startUtcMs: t0,
  stepMin: 60,
  series: [{ nodeId: 'S1', flowM3h: new Array<number>(12).fill(100) }],
  source: 'inflow-forecast;rain=open-meteo:test;quality=stale',
  issuedAtUtcMs: ISSUED,
};
const flags: ForecastFlags = {
  forecast: ['rain stale: deterministic forecast unavailable (HTTP 503); using the last good one, 45 min old'],
  stations: { S1: ['2 step(s) of rain missing at C-S1, filled by the fallback rule', 'no observed rain before the start at C-S1: RDII state taken as dry'] },
};

test('the forecast flags are the plan’s assumptions, in Chinese and English', async () => {
  const plan = await createMpcPlanner({
    inflow: { plannerInflow: () => Promise.resolve({ inflow, from: 'influxdb' as const, flags }) },
    options: { horizonH: 12, fineHorizonH: 12 },
  }).plan({ planId: 'p', network, snapshot, forecast, nowUtcMs: t0 });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  const all = plan.assumptions ?? [];
  const whole = all.find((a) => a.en.startsWith('Inflow forecast: rain stale'));
  assert.ok(whole, JSON.stringify(all));
  assert.match(whole.zh, /^来水预测说明：rain stale: deterministic forecast unavailable/);
  const s1 = all.find((a) => a.en.startsWith('Inflow forecast at S1: '));
  assert.ok(s1 && /filled by the fallback rule; no observed rain before the start/.test(s1.en), JSON.stringify(all));
  assert.match(s1.zh, /^S1来水预测说明：2 step\(s\) of rain missing.*；no observed rain/);
});

test('no flags, no notes; a flag that comes localised is used in each language', () => {
  assert.deepEqual(forecastFlagNotes(undefined), []);
  assert.deepEqual(forecastFlagNotes({ forecast: [], stations: { S1: [] } }), []);
  assert.deepEqual(forecastFlagNotes({ forecast: [{ zh: '降雨预报过期', en: 'rain stale' }], stations: {} }), [{ en: 'Inflow forecast: rain stale', zh: '来水预测说明：降雨预报过期' }]);
});

test('flags survive storage; too many are cut with a note, never refused by InfluxDB', () => {
  assert.deepEqual(decodeFlags(encodeFlags(flags)), flags);
  assert.deepEqual(decodeFlags(undefined), { forecast: [], stations: {} });
  assert.match(decodeFlags('{not json').forecast[0] as string, /^stored flags unreadable/);
  const long = 'x'.repeat(500);
  const many: ForecastFlags = { forecast: ['rain fresh'], stations: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`S${i}`, new Array<string>(5).fill(long)])) };
  const json = encodeFlags(many);
  assert.ok(json.length <= 60_000, `${json.length} characters`);
  const back = decodeFlags(json);
  assert.deepEqual(back.forecast, ['rain fresh', '160 more station flag(s) not stored (too long)']);
  assert.equal(Object.keys(back.stations).length, 40);
});
