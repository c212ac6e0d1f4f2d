// The optimising planner end to end: plans on the reference network respect every envelope and the
// dispatcher's modifications, explain every station in both languages, fall back with a reason on bad or
// contradictory input, report overflow risk that grows with rain, and handle combined-sewer tanks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { parseNetwork } from '../../network/validate.js';
import { meanTariffPrice } from '../../planner/calendar.js';
import { exampleNetwork } from '../../planner/examples.js';
import { catchmentInflow, type InflowForecast } from '../../planner/inflow.js';
import { holdVfdFlow, planWithOptimiser, vfdPumpsFor, type OptimiserInput, type PlannerState } from '../../planner/mpc.js';
import type { Plan } from '../../planner/types.js';
import { assertInsideEnvelopes } from '../support/plan-envelopes.js';

const HOUR = 3_600_000;
const reference = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const cjk = /[\u4e00-\u9fff]/;


function assertReasonsForEveryObject(network: NetworkConfig, plan: Plan) {
  for (const id of [...network.stations.map((s) => s.id), ...network.interconnections.map((x) => x.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id)]) {
    const reason = plan.reasons.find((r) => r.objectId === id)?.reason;
    assert.ok(reason, `no reason for ${id}`);
    assert.ok(cjk.test(reason.zh) && reason.zh.length > 5, `${id} zh: ${reason.zh}`);
    assert.ok(/[A-Za-z]{3}/.test(reason.en) && !cjk.test(reason.en), `${id} en: ${reason.en}`);
  }
}

test('reference network, dry day: an optimal plan inside every envelope, honouring LOCAL mode, bands, caps and failed pumps', async () => {
  const nowUtcMs = Date.UTC(2026, 6, 1, 2, 7); // 10:07 in Pinghu: peak tariff
  const start = Math.floor(nowUtcMs / HOUR) * HOUR;
  const state: PlannerState = {
    readAtUtcMs: nowUtcMs,
    stations: reference.stations.map((s) => ({
      stationId: s.id,
      levelM: 1.8,
      pumpsAvailable: s.id === 'E5' ? 1 : s.pumps.length,
      mode: s.id === 'E9' ? 'local' : 'remote',
      outflowM3h: 100,
      startLevelSpM: s.levels.pumpStartM,
      stopLevelSpM: s.levels.pumpStopM,
      flowSpM3h: 0,
    })),
    tanks: [{ tankId: 'T1', volumeM3: 0 }],
  };
  const inflow: InflowForecast = { startUtcMs: start, stepMin: 15, series: catchmentInflow(reference, { startUtcMs: start, stepMin: 15, steps: 26 * 4 }), source: 'test dwf' };
  const plan = await planWithOptimiser({
    planId: 'dry',
    network: reference,
    state,
    inflow,
    nowUtcMs,
    constraints: { stationBands: [{ stationId: 'W1', minLevelM: 1.2, maxLevelM: 2.5 }], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 0 }] },
  });
  assert.equal(plan.planner, 'mpc');
  assert.equal(plan.fallback, undefined, JSON.stringify(plan.fallback));
  assert.equal(plan.solver?.status, 'optimal');
  assert.equal(plan.operatingMode, 'normal');
  assert.equal(plan.steps[0]!.startUtcMs, nowUtcMs);
  const horizonEnd = plan.steps[plan.steps.length - 1]!.startUtcMs + (plan.steps[plan.steps.length - 1]!.durationMin ?? plan.stepMin) * 60_000;
  assert.ok(horizonEnd >= nowUtcMs + 24 * HOUR, 'the plan covers 24 h');
  assertInsideEnvelopes(reference, plan, state);
  assertReasonsForEveryObject(reference, plan);

  const wholePumpStations = new Set(['W2', 'W4', 'W5', 'W7', 'E1', 'E2', 'E3', 'E7']);
  for (const step of plan.steps) {
    const w1 = step.stations.find((s) => s.stationId === 'W1')!;
    assert.ok(w1.stopLevelM >= 1.2 - 1e-9 && w1.startLevelM <= 2.5 + 1e-9, `W1 band ${w1.stopLevelM}–${w1.startLevelM}`);
    const e9 = step.stations.find((s) => s.stationId === 'E9')!;
    assert.deepEqual([e9.startLevelM, e9.stopLevelM], [2, 1], 'E9 (LOCAL) keeps the setpoints in force');
    assert.ok(step.stations.find((s) => s.stationId === 'E5')!.pumpsAllowed <= 1, 'E5 has one pump left');
    assert.equal(step.transfers[0]!.transferM3h, 0, 'X1 capped at 0');
    for (const s of step.stations) {
      const station = reference.stations.find((x) => x.id === s.stationId)!;
      if (station.pumps.every((p) => p.kind === 'vfd')) {
        assert.equal(s.remoteControl, 'flow', s.stationId);
      } else if (wholePumpStations.has(s.stationId)) {
        // Fixed-speed, remote, no band, no rain, fed only by such stations: a whole-pump count as a flow setpoint.
        assert.equal(s.remoteControl, 'flow', s.stationId);
        const pumps = s.flowM3h / station.pumps[0]!.capacityM3h;
        assert.ok(Math.abs(pumps - Math.round(pumps)) < 1e-9 && s.pumpsAllowed >= Math.round(pumps), `${s.stationId}: ${s.flowM3h} m³/h, ${s.pumpsAllowed} allowed`);
      } else {
        // W1 has a dispatcher band, E9 is LOCAL, E5 cannot keep its band with one pump, E6 is fed by E5.
        assert.equal(s.remoteControl, 'levelBand', s.stationId);
      }
    }
  }
  assert.match(plan.reasons.find((r) => r.objectId === 'W2')!.reason.en, /scheduled as whole pumps .*: \d+ starts? in the next \d+ h.*now: \d pumps? running/);
  assert.match(plan.reasons.find((r) => r.objectId === 'W2')!.reason.zh, /定速泵按整台排程/);
  // W2 → W3 → W6: its water is pumped twice more on the way to the West plant; E7 pumps straight to the East plant.
  assert.match(plan.reasons.find((r) => r.objectId === 'W2')!.reason.en, /priced with what W3 and W6 downstream pay to pump this water on/);
  assert.match(plan.reasons.find((r) => r.objectId === 'W2')!.reason.zh, /电价计入下游W3、W6泵站送这些水的电费/);
  assert.doesNotMatch(plan.reasons.find((r) => r.objectId === 'E7')!.reason.en, /downstream pay/);
  // The LP follows the whole-pump schedules: their predicted levels stay in the schedule's band (0.15 m above
  // the stop level to the normal ceiling, up to the LP's coarser steps) and the flow is whole pumps.
  for (const id of wholePumpStations) {
    const predicted = plan.predicted!.stations.find((s) => s.stationId === id)!;
    assert.ok(Math.min(...predicted.levelM) >= 1.1 && Math.max(...predicted.levelM) <= 3.25, `${id} levels ${Math.min(...predicted.levelM)}–${Math.max(...predicted.levelM)}`);
    assert.ok(predicted.standbyM3h.every((q) => q === 0), `${id}: no standby pumps in a dry whole-pump schedule`);
  }
  const w1Levels = plan.predicted!.stations.find((s) => s.stationId === 'W1')!.levelM;
  assert.ok(Math.max(...w1Levels) <= 2.5 + 1e-6 && Math.min(...w1Levels) >= 1.2 - 1e-6, 'W1 predicted within its band');
  assert.match(plan.reasons.find((r) => r.objectId === 'E9')!.reason.en, /LOCAL/);
  // Each plant's reason gives the planned range of its inflow, the same as the predicted trajectory.
  for (const plantId of ['WP', 'EP']) {
    const inflow = plan.predicted!.plants.find((p) => p.plantId === plantId)!.inflowM3h;
    const [low, high] = [Math.min(...inflow), Math.max(...inflow)].map((v) => (v >= 1000 ? Math.round(v / 10) * 10 : Math.round(v)).toLocaleString('en-US'));
    assert.ok(plan.reasons.find((r) => r.objectId === plantId)!.reason.en.startsWith(`Inflow between ${low} and ${high} m³/h`), plan.reasons.find((r) => r.objectId === plantId)!.reason.en);
    assert.match(plan.reasons.find((r) => r.objectId === plantId)!.reason.zh, /^进厂流量[\d,]+–[\d,]+立方米\/时/);
  }
  assert.match(plan.reasons.find((r) => r.objectId === 'W1')!.reason.zh, /调度员液位区间/);

  const p = plan.predicted!;
  // Dry weather: a fixed-speed station without a dispatcher band gets the widest normal band, pump-stop level
  // to the normal ceiling (3.5 − 0.1 × 3 m), so each start moves the most water; flow-controlled stations plan
  // at least 0.3 m clear of their cut-out level, where the pumps would cycle.
  for (const step of plan.steps) {
    const w2 = step.stations.find((s) => s.stationId === 'W2')!;
    assert.deepEqual([w2.stopLevelM, w2.startLevelM].map((v) => Number(v.toFixed(6))), [1, 3.2], 'W2 widest band');
  }
  for (const id of ['W3', 'W6', 'E4', 'E8']) {
    const levels = p.stations.find((s) => s.stationId === id)!.levelM;
    assert.ok(Math.min(...levels) >= 1.3 - 1e-6, `${id} planned down to ${Math.min(...levels)} m`);
  }
  assert.equal(p.stations.length, reference.stations.length);
  for (const s of p.stations) assert.equal(s.levelM.length, plan.steps.length);
  assert.equal(p.energyKwhByStep.length, plan.steps.length);
  assert.ok(Math.abs(p.costCnyByStep.reduce((a, b) => a + b, 0) - p.costCny) < 1e-6, 'cost by step adds up');
  // With one 110 m³/h pump left, E5 cannot keep up with its ~200 m³/h morning peak: the only overflow, explained.
  assert.ok(p.bypassM3 < 1, `dry weather: bypass ${p.bypassM3}`);
  assert.deepEqual(p.risk.filter((r) => r.probability > 0).map((r) => r.objectId), ['E5']);
  assert.ok(p.overflowM3 > 100, `E5 overflows: ${p.overflowM3}`);
  assert.match(plan.reasons.find((r) => r.objectId === 'E5')!.reason.en, /overflow of about [\d,]+ m³ cannot be avoided/);
  assert.match(plan.reasons.find((r) => r.objectId === 'E5')!.reason.zh, /无法避免溢流/);
  // At the peak tariff, storage postpones pumping: the predicted mean price paid is below the price of the
  // inflow as it arrives (catchment inflow × tariff per step, about 0.69 CNY/kWh here; the day's mean is
  // 0.635, but dry-weather flow peaks in the dear hours). How far below is bounded by the plants' steadiness,
  // which ranks above cost, and by T1 emptying again within the day (tankTurnoverH), so the shift is paid for
  // inside the horizon rather than left in the tank at its end.
  const meanPaid = p.costCny / p.energyKwh;
  let inflowM3 = 0;
  let inflowCny = 0;
  for (let k = 0; k < 96; k++) {
    const stepStartMs = start + k * 15 * 60_000;
    const flowM3h = inflow.series.reduce((sum, s) => sum + s.flowM3h[k]!, 0);
    inflowM3 += flowM3h;
    inflowCny += flowM3h * meanTariffPrice(reference, stepStartMs, stepStartMs + 15 * 60_000);
  }
  const inflowPrice = inflowCny / inflowM3;
  assert.ok(meanPaid < inflowPrice - 0.02, `mean price paid ${meanPaid.toFixed(3)} CNY/kWh, inflow as it arrives ${inflowPrice.toFixed(3)}`);
  assert.ok(plan.reasons.some((r) => /低谷/.test(r.reason.zh) && /valley/.test(r.reason.en)), 'a valley-tariff shift is explained');
  assert.ok(plan.solver.columns > 1000 && plan.solver.priorities.length >= 5, 'solver statistics reported');
});

/** One 100 m² well (stop 1 m, overflow 4 m), 2 duty pumps + 1 standby of 100 m³/h, inflow 100 m³/h plus a 3-hour storm. */
const single = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 2000 }] });
const t0 = Date.UTC(2026, 6, 1, 0, 0);
const singleState: PlannerState = { readAtUtcMs: t0, stations: [{ stationId: 'S1', levelM: 1, pumpsAvailable: 3, mode: 'remote' }] };
const storm = (peakM3h: number) => [{ nodeId: 'S1', flowM3h: Array.from({ length: 14 }, (_, h) => 100 + (h >= 2 && h < 5 ? peakM3h : 0)) }];
const singleInput = (overrides: Partial<OptimiserInput>): OptimiserInput => ({
  planId: 'single',
  network: single,
  state: singleState,
  inflow: { startUtcMs: t0, stepMin: 60, series: storm(0) },
  nowUtcMs: t0,
  options: { horizonH: 12, fineHorizonH: 12 },
  ...overrides,
});

test('overflow risk over an ensemble is the share of members that overflow, and grows with the rain', async () => {
  const ensemble = (scale: number): InflowForecast => ({
    startUtcMs: t0,
    stepMin: 60,
    series: storm(300 * scale),
    members: [0.5, 1.5, 2, 2.5].map((f, i) => ({ id: `m${i + 1}`, series: storm(300 * scale * f) })),
  });
  const riskAt = async (scale: number) => {
    const plan = await planWithOptimiser(singleInput({ inflow: ensemble(scale) }));
    assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
    return plan.predicted!.risk.find((r) => r.objectId === 'S1')!;
  };
  const light = await riskAt(1);
  const heavy = await riskAt(1.6);
  // By hand, scale 1: peaks 150/300/450/600/750 m³/h for 3 h above 100 m³/h base, 300 m³/h of pumps and
  // 300 m³ of storage: overflows of 0, 0, 450, 900, 1350 m³ (the deterministic storm just fills the well).
  assert.equal(light.scenarioCount, 5);
  assert.ok(Math.abs(light.probability - 3 / 5) < 1e-9, `light probability ${light.probability}`);
  assert.ok(Math.abs(light.expectedVolumeM3 - (450 + 900 + 1350) / 5) < 5, `light expected ${light.expectedVolumeM3}`);
  assert.ok(Math.abs(light.worstVolumeM3 - 1350) < 5, `light worst ${light.worstVolumeM3}`);
  assert.ok(heavy.probability >= light.probability && heavy.expectedVolumeM3 > light.expectedVolumeM3 && heavy.worstVolumeM3 > light.worstVolumeM3, JSON.stringify({ light, heavy }));
  assert.ok(heavy.probability > light.probability, 'the deterministic storm overflows too at 1.6×');
});

test('ensemble members repeating a kept scenario are planned once, and the plan says so', async () => {
  const inflow: InflowForecast = {
    startUtcMs: t0,
    stepMin: 60,
    series: storm(300),
    // m1 and m3 repeat the deterministic storm, m4 repeats m2: two scenarios remain.
    members: [1, 2, 1, 2].map((f, i) => ({ id: `m${i + 1}`, series: storm(300 * f) })),
  };
  const plan = await planWithOptimiser(singleInput({ inflow }));
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  assert.equal(plan.predicted!.scenarioCount, 2);
  assert.ok(plan.assumptions?.some((a) => /3 ensemble members repeating another scenario's inflow planned once/.test(a.en) && cjk.test(a.zh)), JSON.stringify(plan.assumptions));
  // The same risk as planning the two distinct scenarios alone.
  const alone = await planWithOptimiser(singleInput({ inflow: { ...inflow, members: [{ id: 'm2', series: storm(600) }] } }));
  assert.deepEqual(plan.predicted!.risk, alone.predicted!.risk);
});

test('contradictory and infeasible dispatcher bands fall back to the relaxed model, with the reason', async () => {
  const contradictory = await planWithOptimiser(singleInput({ constraints: { stationBands: [{ stationId: 'S1', minLevelM: 3, maxLevelM: 2 }] } }));
  assert.equal(contradictory.planner, 'mpc');
  assert.equal(contradictory.fallback?.kind, 'relaxed');
  assert.match(contradictory.fallback.reason.en, /band minimum 3 m is above its maximum 2 m/);
  assert.ok(cjk.test(contradictory.fallback.reason.zh), contradictory.fallback.reason.zh);
  assert.equal(contradictory.solver?.formulation, 'relaxed');
  assertInsideEnvelopes(single, contradictory, singleState);

  // A band the well cannot reach in time (from 1 m to ≥ 3.5 m within the first hour at 100 m³/h) is infeasible for HiGHS.
  const unreachable = await planWithOptimiser(singleInput({ constraints: { stationBands: [{ stationId: 'S1', minLevelM: 3.5 }] } }));
  assert.equal(unreachable.fallback?.kind, 'relaxed', JSON.stringify(unreachable.fallback));
  assert.match(unreachable.fallback.reason.en, /strict model: .*infeasible/);
  assertInsideEnvelopes(single, unreachable, singleState);
  assertReasonsForEveryObject(single, unreachable);
});

test('inputs the model cannot use give the previous plan shifted, or the rule-based plan, never no plan', async () => {
  const good = await planWithOptimiser(singleInput({}));
  assert.equal(good.planner, 'mpc');
  const broken: InflowForecast = { startUtcMs: t0, stepMin: 60, series: [{ nodeId: 'S1', flowM3h: [100, 100, Number.NaN] }] };
  const later = t0 + 2.5 * HOUR;
  const shifted = await planWithOptimiser(singleInput({ planId: 'again', inflow: broken, nowUtcMs: later, previousPlan: good, state: { ...singleState, readAtUtcMs: later } }));
  assert.equal(shifted.fallback?.kind, 'previous-plan');
  assert.match(shifted.fallback.reason.en, /not a finite number/);
  assert.equal(shifted.planId, 'again');
  assert.ok(shifted.steps[0]!.startUtcMs <= later && shifted.steps[1]!.startUtcMs > later, 'the step in force now comes first');
  assert.ok(shifted.steps[shifted.steps.length - 1]!.startUtcMs + HOUR >= later + single.planning.horizonH * HOUR, 'extended to the horizon');
  assert.deepEqual(shifted.steps[1]!.stations, good.steps[3]!.stations);

  const ruleBased = await planWithOptimiser(singleInput({ inflow: broken }));
  assert.equal(ruleBased.planner, 'rule-based');
  assert.equal(ruleBased.fallback?.kind, 'rule-based');
  assert.ok(cjk.test(ruleBased.fallback.reason.zh), ruleBased.fallback.reason.zh);
  assert.ok(ruleBased.steps.length > 0, 'the rule-based plan has steps');
});

test('a combined-sewer tank takes the spill of a full well and is emptied through its gate afterwards', async () => {
  const network = exampleNetwork({
    stations: [{ id: 'S1', areaM2: 50, pumpCount: 2, pumpM3h: 100, to: 'P1' }],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
    tanks: [{ id: 'CS1', kind: 'combined-sewer', node: 'S1', capacityM3: 2000, inletMaxM3h: 50, outletMaxM3h: 150, outletSpecificEnergyKwhM3: 0, overflowTo: 'P1' }],
  });
  const state: PlannerState = { readAtUtcMs: t0, stations: [{ stationId: 'S1', levelM: 1, pumpsAvailable: 2, mode: 'remote' }], tanks: [{ tankId: 'CS1', volumeM3: 0 }] };
  const series = [{ nodeId: 'S1', flowM3h: Array.from({ length: 26 }, (_, h) => (h >= 1 && h < 4 ? 500 : 50)) }];
  const plan = await planWithOptimiser({ planId: 'cs', network, state, inflow: { startUtcMs: t0, stepMin: 60, series }, nowUtcMs: t0 });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  const p = plan.predicted!;
  const tank = p.tanks.find((t) => t.tankId === 'CS1')!;
  assert.ok(p.overflowM3 < 1, `no overflow: ${p.overflowM3}`);
  // 3 h × (500 − 200) m³/h = 900 m³ above the pumps; the well holds 150 m³: at least 750 m³ go to the tank.
  assert.ok(Math.max(...tank.volumeM3) >= 750 - 1, `tank peak ${Math.max(...tank.volumeM3)}`);
  const peakIndex = tank.volumeM3.indexOf(Math.max(...tank.volumeM3));
  assert.ok(tank.outletM3h.slice(peakIndex).some((q) => q > 1), 'the gate opens after the storm');
  assert.ok(tank.volumeM3[tank.volumeM3.length - 1]! < Math.max(...tank.volumeM3) - 500, 'and empties the tank');
  assertInsideEnvelopes(network, plan, state);
  assertReasonsForEveryObject(network, plan);
});

test('the network file sets how steady the plant must be: the band holds the valley-pumping swing and the plant\'s reason names it, 1 leaves it free', async () => {
  // A 100 m² VFD well (one duty pump of 100 m³/h) feeding a 200 m³/h plant, 50 m³/h coming in, from noon: cheap
  // valley pumping swings the plant's inflow unless the dry-weather band (a share of its capacity) holds it.
  const noon = Date.UTC(2026, 6, 1, 12, 0); // the example network's tariff: valley 00–08 (UTC)
  const plan = (deviationBand: number) =>
    planWithOptimiser({
      planId: `band-${deviationBand}`,
      network: exampleNetwork({
        stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 100, standbyPumps: 1, kind: 'vfd', to: 'P1' }],
        plants: [{ id: 'P1', capacityM3h: 200 }],
        planning: { stepMin: 60, horizonH: 24, cycleMin: 60, plantSteadiness: { deviationBand } },
      }),
      state: { readAtUtcMs: noon, stations: [{ stationId: 'S1', levelM: 2, pumpsAvailable: 2, mode: 'remote' }] },
      inflow: { startUtcMs: noon, stepMin: 60, series: [{ nodeId: 'S1', flowM3h: Array.from({ length: 26 }, () => 50) }] },
      nowUtcMs: noon,
    });
  const swingM3h = (p: Plan) => {
    const inflow = p.predicted!.plants.find((x) => x.plantId === 'P1')!.inflowM3h;
    return Math.max(...inflow) - Math.min(...inflow);
  };
  const free = await plan(1);
  const banded = await plan(0.1);
  assert.equal(banded.planner, 'mpc', JSON.stringify(banded.fallback));
  assert.ok(swingM3h(free) > 70, `with the band at 1 the valley pumping swings the plant by ${swingM3h(free)} m³/h`);
  assert.ok(swingM3h(banded) <= 2 * 0.1 * 200 + 1e-6, `within ±10 % of capacity the swing is ${swingM3h(banded)} m³/h`);
  // The plant's reason says which band held it; a free plant's says nothing of one.
  const plantReason = (p: Plan) => p.reasons.find((r) => r.objectId === 'P1')!.reason;
  assert.match(plantReason(banded).en, /dry weather: held within ±10% of capacity of a steady level/);
  assert.match(plantReason(banded).zh, /旱天按稳定水平±10%能力控制/);
  assert.doesNotMatch(plantReason(free).en, /held within/);
});

test('fixed-speed stations may use their wells closer to the high alarm than the transfer stations when set so', async () => {
  const nowUtcMs = Date.UTC(2026, 6, 1, 14, 0); // 22:00 in Pinghu: the valley begins
  const state: PlannerState = {
    readAtUtcMs: nowUtcMs,
    stations: reference.stations.map((s) => ({ stationId: s.id, levelM: 2, pumpsAvailable: s.pumps.length, mode: 'remote', outflowM3h: 0, startLevelSpM: 3, stopLevelSpM: 1.2, flowSpM3h: 0 })),
    tanks: [{ tankId: 'T1', volumeM3: 0 }],
  };
  const inflow: InflowForecast = { startUtcMs: nowUtcMs, stepMin: 15, series: catchmentInflow(reference, { startUtcMs: nowUtcMs, stepMin: 15, steps: 26 * 4 }), source: 'test dwf' };
  const plan = (options: OptimiserInput['options']) => planWithOptimiser({ planId: 'margin', network: reference, state, inflow, nowUtcMs, ...(options ? { options } : {}) });
  const standard = await plan(undefined);
  const closer = await plan({ fixedSpeedAlarmMarginFraction: 0.04 });
  // The same from the network file, where a utility sets it.
  const fromFile = await planWithOptimiser({ planId: 'margin-file', network: { ...reference, planning: { ...reference.planning, wellMargins: { fixedSpeedAlarmMarginFraction: 0.04 } } }, state, inflow, nowUtcMs });
  assert.equal(closer.fallback, undefined, JSON.stringify(closer.fallback));
  // High alarm 3.5 m, working depth 3 m (stop 1 m, overflow 4 m): the normal ceiling 3.2 m, or 3.38 m.
  const lastStart = (p: Plan, id: string) => p.steps.at(-1)!.stations.find((s) => s.stationId === id)!.startLevelM;
  assert.ok(Math.abs(lastStart(standard, 'W2') - 3.2) < 1e-9, `W2 start level ${lastStart(standard, 'W2')}`);
  assert.ok(Math.abs(lastStart(closer, 'W2') - 3.38) < 1e-9, `W2 start level ${lastStart(closer, 'W2')}`);
  assert.ok(Math.abs(lastStart(fromFile, 'W2') - 3.38) < 1e-9, `W2 start level from the file ${lastStart(fromFile, 'W2')}`);
  const highest = (p: Plan, id: string) => Math.max(...p.predicted!.stations.find((s) => s.stationId === id)!.levelM);
  for (const id of ['W3', 'W6', 'E4', 'E8']) assert.ok(highest(closer, id) <= 3.2 + 1e-6, `${id} (VFD) keeps the standard margin: ${highest(closer, id)} m`);
  assert.ok(['W1', 'W2', 'W4', 'E1', 'E2', 'E3'].some((id) => highest(closer, id) > 3.2 + 1e-3), 'some fixed-speed well uses the room above 3.2 m');
  assertInsideEnvelopes(reference, closer, state);
});

test('vfdPumpsFor: more pumps when the running ones cannot give the flow at full speed, fewer when one fewer could', () => {
  assert.equal(vfdPumpsFor(0, 2, 800), 0);
  assert.equal(vfdPumpsFor(900, 0, 800), 2);
  assert.equal(vfdPumpsFor(1650, 2, 800), 3);
  assert.equal(vfdPumpsFor(1000, 3, 800), 2, 'one fewer than 3 carries 1,000 m³/h: 2');
  assert.equal(vfdPumpsFor(1700, 3, 800), 3, 'two pumps cannot give 1,700 m³/h: 3 keep running');
  assert.equal(vfdPumpsFor(300, 4, 800), 1);
});

test('holdVfdFlow: a small excursion past the running pumps\' thresholds is held on them, as far as the well allows', () => {
  // 400 m³/h pumps, two running: full at 800 m³/h, the PLC stops one below 0.9 × 400 = 360 m³/h.
  assert.equal(holdVfdFlow(830, 2, 400, 0.1, 1000, 1000), 800, '30 m³/h over two pumps: no third');
  assert.equal(holdVfdFlow(850, 2, 400, 0.1, 1000, 1000), 850, '50 m³/h over is more than a tenth of a pump');
  assert.equal(holdVfdFlow(830, 2, 400, 0.1, 20, 1000), 830, 'the well cannot keep 30 m³/h more');
  const held = holdVfdFlow(330, 2, 400, 0.1, 1000, 1000);
  assert.ok(held >= 360 && held < 360.01, `30 m³/h under the destaging flow: held at ${held}`);
  assert.equal(holdVfdFlow(330, 2, 400, 0.1, 1000, 10), 330, 'the well cannot give 30 m³/h more');
  assert.equal(holdVfdFlow(330, 1, 400, 0.1, 1000, 1000), 330, 'one pump: nothing to stop but the station');
  assert.equal(holdVfdFlow(830, 2, 400, 0, 1000, 1000), 830, 'off');
  assert.equal(holdVfdFlow(500, 2, 400, 0.1, 1000, 1000), 500, 'within the thresholds: as planned');
});

test('a VFD flow just above the running pumps is held on them, and the explanation says why', async () => {
  // Three 100 m³/h VFD pumps, two running at 205 m³/h with 205 m³/h coming in, one price all day: the plan
  // pumps what comes in, 5 m³/h more than two pumps give. The PLC would start the third for it; the hold
  // sends 200 m³/h and the well keeps the 5.
  const network = exampleNetwork({
    stations: [{ id: 'V1', areaM2: 100, pumpCount: 3, pumpM3h: 100, kind: 'vfd', to: 'P1' }],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
    tariff: { periods: [{ name: 'flat', priceCnyPerKwh: 0.5, ranges: [{ from: '00:00', to: '24:00' }] }] },
  });
  const plan = (vfdHoldShare: number) =>
    planWithOptimiser({
      planId: 'hold',
      network,
      state: { readAtUtcMs: t0, stations: [{ stationId: 'V1', levelM: 1.8, pumpsAvailable: 3, mode: 'remote', outflowM3h: 205, pumpsRunning: 2, flowSpM3h: 205 }] },
      inflow: { startUtcMs: t0, stepMin: 60, series: [{ nodeId: 'V1', flowM3h: Array.from({ length: 8 }, () => 205) }] },
      nowUtcMs: t0,
      options: { horizonH: 6, fineHorizonH: 6, vfdStartCostCny: 0, vfdHoldShare },
    });
  const reasonOf = (p: Plan) => p.reasons.find((r) => r.objectId === 'V1')!.reason;
  const asPlanned = await plan(0);
  assert.equal(asPlanned.planner, 'mpc', JSON.stringify(asPlanned.fallback));
  assert.ok(Math.abs(asPlanned.steps[0]!.stations[0]!.flowM3h - 205) < 0.5, `planned ${asPlanned.steps[0]!.stations[0]!.flowM3h} m³/h`);
  assert.doesNotMatch(reasonOf(asPlanned).en, /keeps/);
  const held = await plan(0.1);
  assert.equal(held.steps[0]!.stations[0]!.flowM3h, 200);
  assert.match(reasonOf(held).en, /keeps 2 pumps running \(planned 205 m³\/h\) rather than starting one for a short change of flow/);
  assert.match(reasonOf(held).zh, /保持2台泵运行（计划205立方米\/时），不为短时流量变化启动一台泵/);
});

test('a VFD station\'s pump limit does not stop a pump that runs now while the flow still uses it', async () => {
  // One 100 m² well (stop 1, start 2 m), 2 duty VFD pumps of 100 m³/h and a standby, 60 m³/h coming in and the
  // well at 1.5 m: the plan turns the flow down to one pump's worth at once. Its PLC stages the pumps by the
  // flow; a limit of one pump would stop a running pump that the PLC may still keep.
  const network = exampleNetwork({ stations: [{ id: 'V1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, kind: 'vfd', to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }] });
  const plan = async (pumpsRunning: number) =>
    planWithOptimiser({
      planId: 'vfd',
      network,
      state: { readAtUtcMs: t0, stations: [{ stationId: 'V1', levelM: 1.5, pumpsAvailable: 3, mode: 'remote', outflowM3h: 60 * pumpsRunning, pumpsRunning, flowSpM3h: 60 * pumpsRunning }] },
      inflow: { startUtcMs: t0, stepMin: 60, series: [{ nodeId: 'V1', flowM3h: Array.from({ length: 8 }, () => 60) }] },
      nowUtcMs: t0,
      options: { horizonH: 6, fineHorizonH: 6 },
    });
  const two = await plan(2);
  const one = await plan(1);
  assert.equal(two.planner, 'mpc', JSON.stringify(two.fallback));
  const first = (p: Plan) => p.steps[0]!.stations[0]!;
  assert.ok(first(two).flowM3h > 0 && first(two).flowM3h <= 100, `one pump's flow first: ${first(two).flowM3h} m³/h`);
  assert.equal(first(two).pumpsAllowed, 2, 'both running pumps stay allowed for the first step');
  assert.equal(first(one).pumpsAllowed, 1, 'one running pump: one allowed');
  // Later steps follow what the PLC runs for the flow: one pump.
  for (const step of two.steps.slice(1)) assert.ok(step.stations[0]!.pumpsAllowed <= 1 || step.stations[0]!.flowM3h > 100, JSON.stringify(step.stations[0]));
});

test('in dry weather a storage tank empties again within a day: no standing volume takes the next storm\'s room', async () => {
  const nowUtcMs = Date.UTC(2026, 6, 1, 14, 0); // 22:00 in Pinghu
  const state: PlannerState = {
    readAtUtcMs: nowUtcMs,
    stations: reference.stations.map((s) => ({ stationId: s.id, levelM: 1.8, pumpsAvailable: s.pumps.length, mode: 'remote' })),
    tanks: [{ tankId: 'T1', volumeM3: 20_000 }],
  };
  const inflow: InflowForecast = { startUtcMs: nowUtcMs, stepMin: 15, series: catchmentInflow(reference, { startUtcMs: nowUtcMs, stepMin: 15, steps: 26 * 4 }), source: 'test dwf' };
  const t1 = reference.tanks.find((t) => t.id === 'T1')!;
  const volumeAfterADay = (plan: Plan) => {
    const tank = plan.predicted!.tanks.find((t) => t.tankId === 'T1')!;
    let endMs = nowUtcMs;
    let volume = Number.NaN;
    for (let i = 0; i < plan.steps.length && endMs < nowUtcMs + 24 * HOUR; i++) {
      endMs = plan.steps[i]!.startUtcMs + (plan.steps[i]!.durationMin ?? plan.stepMin) * 60_000;
      volume = tank.volumeM3[i]!;
    }
    assert.equal(endMs, nowUtcMs + 24 * HOUR);
    return volume;
  };
  const plan = await planWithOptimiser({ planId: 'turnover', network: reference, state, inflow, nowUtcMs });
  assert.equal(plan.fallback, undefined, JSON.stringify(plan.fallback));
  assertInsideEnvelopes(reference, plan, state);
  // The outlet can move 800 m³/h × 24 h of the 20,000 m³: at most the rest is left after a day.
  const leftM3 = 20_000 - t1.outletMaxM3h * 24;
  assert.ok(volumeAfterADay(plan) <= leftM3 + 1, `T1 after 24 h: ${volumeAfterADay(plan)} m³`);
  // The tank's reason says what the solved plan leaves after a day (800 m³ the outlet cannot move), not the target.
  const reason = plan.reasons.find((r) => r.objectId === 'T1')!.reason;
  assert.match(reason.en, /drawn down as fast as its outlet allows \(800 m³\/h\): about 800 m³ still stands at 22:00 \(\+1d\), so some sewage stands longer than a day/);
  assert.match(reason.zh, /按出水能力（800立方米\/时）尽量放空，次日22:00时仍存约800立方米/);
  // Without the rule the valley-to-peak shift keeps the tank's water and adds to it.
  const holding = await planWithOptimiser({ planId: 'holding', network: reference, state, inflow, nowUtcMs, options: { tankTurnoverH: 0 } });
  assert.ok(volumeAfterADay(holding) > 20_000, `T1 after 24 h without the rule: ${volumeAfterADay(holding)} m³`);
  // The network file sets it: 0 there turns it off too.
  const fromFile = await planWithOptimiser({ planId: 'holding-file', network: { ...reference, planning: { ...reference.planning, tankTurnoverH: 0 } }, state, inflow, nowUtcMs });
  assert.ok(volumeAfterADay(fromFile) > 20_000, `T1 after 24 h with tankTurnoverH 0 in the file: ${volumeAfterADay(fromFile)} m³`);
});

test('the network file prices a VFD start apart from a fixed-speed one; left out, a VFD start costs the same', async () => {
  const { defaultMpcOptions } = await import('../../planner/mpc.js');
  // Three 100 m³/h VFD pumps, one running, 400 m² well at 2 m, 50 m³/h coming in, 06:00 UTC in the example
  // tariff's valley (until 08:00, then dear): emptying the well before the dear hours takes a second pump.
  const sixAm = Date.UTC(2026, 6, 1, 6, 0);
  const network = (prices: { pumpStartCostCny: number; vfdStartCostCny?: number }) =>
    exampleNetwork({
      stations: [{ id: 'S1', areaM2: 400, pumpCount: 3, pumpM3h: 100, kind: 'vfd', to: 'P1' }],
      plants: [{ id: 'P1', capacityM3h: 1000 }],
      planning: { stepMin: 15, horizonH: 24, cycleMin: 15, plantSteadiness: { rampFractionPerH: 10, balanceBand: 1 }, ...prices },
    });
  const dear = network({ pumpStartCostCny: 10_000 });
  const soft = network({ pumpStartCostCny: 10_000, vfdStartCostCny: 0 });
  assert.deepEqual([defaultMpcOptions(dear).pumpStartCostCny, defaultMpcOptions(dear).vfdStartCostCny], [10_000, 10_000]);
  assert.deepEqual([defaultMpcOptions(soft).pumpStartCostCny, defaultMpcOptions(soft).vfdStartCostCny], [10_000, 0]);
  const plan = (n: NetworkConfig) =>
    planWithOptimiser({
      planId: 'vfd-start-price',
      network: n,
      state: { readAtUtcMs: sixAm, stations: [{ stationId: 'S1', levelM: 2, pumpsAvailable: 3, mode: 'remote', outflowM3h: 50, pumpsRunning: 1 }] },
      inflow: { startUtcMs: sixAm, stepMin: 15, series: [{ nodeId: 'S1', flowM3h: Array.from({ length: 26 * 4 }, () => 50) }] },
      nowUtcMs: sixAm,
    });
  const firstTwoHoursMaxM3h = (p: Plan) => Math.max(...p.predicted!.stations.find((s) => s.stationId === 'S1')!.pumpedM3h.slice(0, 8));
  const dearPlan = await plan(dear);
  const softPlan = await plan(soft);
  assert.equal(dearPlan.planner, 'mpc', JSON.stringify(dearPlan.fallback));
  assert.ok(firstTwoHoursMaxM3h(dearPlan) <= 100 + 1e-6, `a dear VFD start: ${firstTwoHoursMaxM3h(dearPlan)} m³/h at most, one pump`);
  assert.ok(firstTwoHoursMaxM3h(softPlan) > 150, `a free VFD start: ${firstTwoHoursMaxM3h(softPlan)} m³/h at most`);
});
