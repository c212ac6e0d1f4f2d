// The MPC planner as the dispatch activities' Planner (activities/mpc-planner.ts): it plans on the inflow
// forecast the cycle's forecast named (members as scenarios), and without one it still plans on dry-weather
// flow and says why in the plan. The inflow lookup is a stand-in here; the real one is exercised on the
// servers in test/integration/planner-in-cycle.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMpcPlanner, plannerByName } from '../../activities/mpc-planner.js';
import { ruleBasedPlanner, type PlannerRequest } from '../../activities/planner.js';
import type { CycleRainForecast } from '../../activities/rain-forecast.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { PlannerInflow } from '../../forecasting/cycle.js';
import { exampleNetwork } from '../../planner/examples.js';

const t0 = Date.UTC(2026, 6, 1, 0, 0);
const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 2000 }] });
const snapshot: NetworkSnapshot = {
  networkId: network.id,
  readAtUtcMs: t0,
  stations: [{ stationId: 'S1', levelM: 1, inflowM3h: 100, outflowM3h: 0, pumpsRunning: 0, pumpsAvailable: 3, mode: 'remote', remoteActive: true, startLevelSpM: 2, stopLevelSpM: 1, flowSpM3h: 0 }],
  readings: [],
  badTagCount: 0,
};
const ISSUED = t0 - 2 * 60_000;
const rain = (withInflow: boolean): CycleRainForecast => ({
  issuedAtUtcMs: t0 - 3 * 60_000,
  source: 'open-meteo:test;quality=fresh',
  stepMin: 15,
  locations: [],
  ...(withInflow ? { inflowIssuedAtUtcMs: ISSUED, ensembleMembers: 3 } : {}),
});
/** 100 m³/h base, a storm of `peakM3h` more from hour 2 to 5. */
const storm = (peakM3h: number) => [{ nodeId: 'S1', flowM3h: Array.from({ length: 12 }, (_, h) => 100 + (h >= 2 && h < 5 ? peakM3h : 0)) }];
const issuedInflow: PlannerInflow = {
  startUtcMs: t0,
  stepMin: 60,
  series: storm(600),
  // Each member differs from the deterministic series (a member repeating it would be planned once).
  members: [0.5, 1.25, 1.5].map((f, i) => ({ id: `m${i}`, series: storm(600 * f) })),
  source: 'inflow-forecast;rain=open-meteo:test;quality=fresh',
  issuedAtUtcMs: ISSUED,
};
const request = (forecast: CycleRainForecast | null): PlannerRequest => ({ planId: 'p', network, snapshot, forecast, nowUtcMs: t0 });
const options = { horizonH: 12, fineHorizonH: 12 };

test('plans on the inflow forecast the cycle issued, its members as scenarios', async () => {
  const asked: number[] = [];
  const planner = createMpcPlanner({
    inflow: { plannerInflow: (issuedAtUtcMs) => (asked.push(issuedAtUtcMs), Promise.resolve({ inflow: issuedInflow, from: 'memory' as const })) },
    options,
  });
  const plan = await planner.plan(request(rain(true)));
  assert.deepEqual(asked, [ISSUED]);
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  assert.equal(plan.basis.forecastIssuedAtUtcMs, ISSUED);
  assert.equal(plan.basis.forecastSource, issuedInflow.source);
  assert.equal(plan.predicted?.scenarioCount, 4);
  assert.ok(!(plan.assumptions ?? []).some((a) => /not in this plan/.test(a.en)), JSON.stringify(plan.assumptions));
  // The storm reached the optimiser: 600 m³/h over 300 m³/h of duty pumps overflows in some scenarios.
  const risk = plan.predicted?.risk.find((r) => r.objectId === 'S1');
  assert.ok(risk && risk.probability > 0 && risk.worstVolumeM3 > 0, JSON.stringify(risk));
});

test('without an inflow forecast it plans on dry-weather flow and says why, in both languages', async () => {
  const cases: [string, Parameters<typeof createMpcPlanner>[0], CycleRainForecast | null, RegExp][] = [
    ['no reference', { inflow: { plannerInflow: () => assert.fail('not asked') }, options }, rain(false), /came without an inflow forecast/],
    ['no forecast', { options }, null, /^No rain forecast for this plan/],
    ['not found', { inflow: { plannerInflow: () => Promise.resolve(null) }, options }, rain(true), /not found/],
    ['lookup fails', { inflow: { plannerInflow: () => Promise.reject(new Error('InfluxDB unreachable')) }, options }, rain(true), /could not be read \(InfluxDB unreachable\)/],
  ];
  for (const [name, deps, forecast, why] of cases) {
    const plan = await createMpcPlanner(deps).plan(request(forecast));
    assert.equal(plan.planner, 'mpc', `${name}: ${JSON.stringify(plan.fallback)}`);
    const note = plan.assumptions?.[0];
    assert.ok(note && why.test(note.en) && /rain-induced inflow is not in this plan/.test(note.en), `${name}: ${JSON.stringify(note)}`);
    assert.match(note.zh, /本方案未计入降雨引起的来水/);
    assert.equal(plan.basis.forecastIssuedAtUtcMs, forecast?.issuedAtUtcMs ?? null, `${name}: the rain it knew of`);
    assert.match(plan.basis.forecastSource, /^dry-weather flow only;rain=/, name);
    assert.equal(plan.predicted?.scenarioCount, 1, name);
  }
});

test('recent pumping read at the snapshot time reaches the model as water in the mains; a failed read is said', async () => {
  // U1 pumped 300 m³/h until 5 minutes ago and is stopped now. Its 60-minute main still carries
  // 55 minutes of that flow (275 m³) into S1's 100 m² well: S1 is predicted fuller (or pumping more) with it.
  const chain = exampleNetwork({
    stations: [
      { id: 'U1', areaM2: 100, pumpCount: 2, pumpM3h: 300, standbyPumps: 1, to: 'S1', travelMin: 60 },
      { id: 'S1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' },
    ],
    plants: [{ id: 'P1', capacityM3h: 2000 }],
  });
  const station = (stationId: string) => ({ ...snapshot.stations[0]!, stationId, levelM: 1.5, inflowM3h: 0 });
  const chainRequest: PlannerRequest = { ...request(null), network: chain, snapshot: { ...snapshot, networkId: chain.id, stations: [station('U1'), station('S1')] } };
  const asked: number[] = [];
  const history = { stepMin: 1, valuesM3h: Array.from({ length: 75 }, (_, i) => (i < 70 ? 300 : 0)) };
  const withHistory = await createMpcPlanner({ options, recentOutflow: (until) => (asked.push(until), Promise.resolve(new Map([['U1', history]]))) }).plan(chainRequest);
  assert.deepEqual(asked, [snapshot.readAtUtcMs]);
  const unknown = withHistory.assumptions?.find((a) => /No recent pumping on record/.test(a.en));
  assert.ok(unknown && /for S1:/.test(unknown.en) && /S1无近期泵送记录/.test(unknown.zh), JSON.stringify(withHistory.assumptions));
  const without = await createMpcPlanner({ options, recentOutflow: () => Promise.reject(new Error('InfluxDB unreachable')) }).plan(chainRequest);
  const arrivedM3 = (plan: typeof without) => {
    // The example network plans in 60-min steps: what S1 pumped in the first plus what it gained is what arrived.
    assert.equal(plan.steps[0]!.durationMin, 60);
    const s1 = plan.predicted!.stations.find((x) => x.stationId === 'S1')!;
    return s1.pumpedM3h[0]! + (s1.levelM[0]! - 1.5) * 100 - s1.inflowM3h[0]!;
  };
  assert.ok(Math.abs(arrivedM3(withHistory) - 275) < 5, `with the history 275 m³ arrive in the first hour, got ${arrivedM3(withHistory).toFixed(1)}`);
  assert.ok(Math.abs(arrivedM3(without)) < 5, `without it nothing does (the flow now is 0), got ${arrivedM3(without).toFixed(1)}`);
  const note = without.assumptions?.find((a) => /Recent pumping could not be read/.test(a.en));
  assert.ok(note && /InfluxDB unreachable/.test(note.en) && /近期泵送流量读取失败/.test(note.zh), JSON.stringify(without.assumptions));
});

test('recent transfers read at the snapshot time reach the model as water crossing the link; a failed read is said', async () => {
  // B sent 300 m³/h across to A (b→a, negative) until 5 minutes ago and sends nothing now. The 60-minute link
  // still carries 55 minutes of it (275 m³) into A's 100 m² well in the first hour.
  const linked = exampleNetwork({
    stations: [
      { id: 'A', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'PA' },
      { id: 'B', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'PB' },
    ],
    plants: [
      { id: 'PA', capacityM3h: 2000 },
      { id: 'PB', capacityM3h: 2000 },
    ],
    interconnections: [{ id: 'X', a: 'A', b: 'B', capacityM3h: 300, travelMin: 60 }],
  });
  const station = (stationId: string) => ({ ...snapshot.stations[0]!, stationId, levelM: 1.5, inflowM3h: 0 });
  const linkedRequest: PlannerRequest = { ...request(null), network: linked, snapshot: { ...snapshot, networkId: linked.id, stations: [station('A'), station('B')] } };
  const asked: number[] = [];
  const history = { stepMin: 1, valuesM3h: Array.from({ length: 75 }, (_, i) => (i < 70 ? -300 : 0)) };
  const withHistory = await createMpcPlanner({ options, recentTransfer: (until) => (asked.push(until), Promise.resolve(new Map([['X', history]]))) }).plan(linkedRequest);
  assert.deepEqual(asked, [snapshot.readAtUtcMs]);
  const without = await createMpcPlanner({ options, recentTransfer: () => Promise.reject(new Error('InfluxDB unreachable')) }).plan(linkedRequest);
  const arrivedAtAM3 = (plan: typeof without) => {
    assert.equal(plan.steps[0]!.durationMin, 60);
    const a = plan.predicted!.stations.find((x) => x.stationId === 'A')!;
    const sentAcross = plan.predicted!.transfers.find((x) => x.interconnectionId === 'X')!.transferM3h[0]!;
    return a.pumpedM3h[0]! + Math.max(0, sentAcross) + (a.levelM[0]! - 1.5) * 100 - a.inflowM3h[0]!;
  };
  assert.ok(Math.abs(arrivedAtAM3(withHistory) - 275) < 5, `with the history 275 m³ arrive at A in the first hour, got ${arrivedAtAM3(withHistory).toFixed(1)}`);
  assert.ok(Math.abs(arrivedAtAM3(without)) < 5, `without it nothing does (the transfer now is 0), got ${arrivedAtAM3(without).toFixed(1)}`);
  const note = without.assumptions?.find((a) => /Recent transfers could not be read/.test(a.en));
  assert.ok(note && /InfluxDB unreachable/.test(note.en) && /近期调水流量读取失败/.test(note.zh), JSON.stringify(without.assumptions));
});

test('the PLANNER setting picks the planner', () => {
  assert.equal(plannerByName('mpc').name, 'mpc');
  assert.equal(plannerByName('rule-based'), ruleBasedPlanner);
});
