// Water leaves a wet well (as an overflow, or as spill into its in-line combined-sewer tank) only when the well
// is full (domain.md: "Overflow happens only when full"). The LP's overflow and spill columns are not tied to
// the volume, so the plan must not overflow early from a well with room, nor spill into a tank from a well
// below its overflow level (a zero-energy bypass of the pumps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { exampleNetwork } from '../../planner/examples.js';
import { catchmentInflow, rdiiFromRain, type InflowForecast } from '../../planner/inflow.js';
import { planWithOptimiser, type PlannerState } from '../../planner/mpc.js';
import type { Plan } from '../../planner/types.js';

const t0 = Date.UTC(2026, 6, 1, 6, 0);

/** Plan steps (here each one an LP step) that end below the overflow level while the station overflows (m³/h > 0.5). */
function overflowsBelowFull(plan: Plan, overflowLevelM: (id: string) => number): string[] {
  const bad: string[] = [];
  for (const s of plan.predicted!.stations) {
    s.overflowM3h.forEach((q, i) => {
      if (q > 0.5 && s.levelM[i]! < overflowLevelM(s.stationId) - 0.001) bad.push(`${s.stationId} step ${i}: ${q.toFixed(0)} m³/h at ${s.levelM[i]!.toFixed(2)} m`);
    });
  }
  return bad;
}

test('an overflow that cannot be avoided happens once the well is full, not from an empty well ahead of it', async () => {
  // One 100 m² well (stop 1 m, overflow 4 m: 300 m³), 2 duty + 1 standby pumps of 100 m³/h, 100 m³/h base and
  // 700 m³/h for 3 h from 02:00: 3 × 400 m³ above the pumps, 300 m³ of it fits in the well, 900 m³ overflow
  // — from the hour the well is full, not from the start of the storm while the well is drawn down.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 2000 }] });
  const state: PlannerState = { readAtUtcMs: t0, stations: [{ stationId: 'S1', levelM: 1, pumpsAvailable: 3, mode: 'remote' }] };
  const series = [{ nodeId: 'S1', flowM3h: Array.from({ length: 14 }, (_, h) => (h >= 2 && h < 5 ? 700 : 100)) }];
  const plan = await planWithOptimiser({ planId: 'ovt', network, state, inflow: { startUtcMs: t0, stepMin: 60, series }, nowUtcMs: t0, options: { horizonH: 12, fineHorizonH: 12, fineStepMin: 60 } });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  assert.ok(Math.abs(plan.predicted!.overflowM3 - 900) < 2, `overflow ${plan.predicted!.overflowM3}`);
  assert.deepEqual(overflowsBelowFull(plan, () => 4), []);
  const s1 = plan.predicted!.stations[0]!;
  const firstOverflow = s1.overflowM3h.findIndex((q) => q > 0.5);
  // The well fills during the first storm hour (400 m³/h above the pumps, 300 m³ of room): overflow from then on.
  assert.equal(firstOverflow, 2, `first overflow at step ${firstOverflow}: ${s1.overflowM3h.map((q) => q.toFixed(0)).join(' ')}`);
});

test('reference network, 60 mm storm: every overflowing station is at its overflow level while it overflows', async () => {
  const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
  const start = t0;
  const steps = 26 * 4;
  // 60 mm over 3 h from 4 h after now on every catchment, as `sewer-dispatch example --rain-mm 60` builds it.
  const rain = Array.from({ length: steps }, (_, k) => (k >= 16 && k < 28 ? 5 : 0));
  const rdii = Object.fromEntries(network.catchments.map((c) => [c.id, rdiiFromRain(c, rain, 15)]));
  const inflow: InflowForecast = { startUtcMs: start, stepMin: 15, series: catchmentInflow(network, { startUtcMs: start, stepMin: 15, steps, rdiiM3hByCatchment: rdii }), source: 'test storm' };
  const state: PlannerState = { readAtUtcMs: t0, stations: network.stations.map((s) => ({ stationId: s.id, levelM: 2, pumpsAvailable: s.pumps.length, mode: 'remote', outflowM3h: 0 })), tanks: [{ tankId: 'T1', volumeM3: 0 }] };
  const plan = await planWithOptimiser({ planId: 'ref-storm', network, state, inflow, nowUtcMs: t0, options: { horizonH: 24, fineHorizonH: 24 } });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  assert.ok(plan.predicted!.overflowM3 > 100, `the storm overflows somewhere: ${plan.predicted!.overflowM3}`);
  const level = new Map(network.stations.map((s) => [s.id, s.levels.overflowM]));
  const bad = overflowsBelowFull(plan, (id) => level.get(id)!);
  assert.deepEqual(bad.slice(0, 5), [], `${bad.length} overflowing steps below the overflow level`);
});

/** The CLI test's network: E1 (VFD 2×150 m³/h, 60 m²) with an in-line combined-sewer tank whose outlet main runs to EP by gravity. */
const csNetwork = exampleNetwork({
  stations: [{ id: 'E1', areaM2: 60, pumpCount: 2, pumpM3h: 150, kind: 'vfd', to: 'EP', travelMin: 20 }],
  plants: [{ id: 'EP', capacityM3h: 400 }],
  tanks: [{ id: 'CS1', kind: 'combined-sewer', node: 'E1', capacityM3: 1500, inletMaxM3h: 100, outletMaxM3h: 80, outletSpecificEnergyKwhM3: 0, overflowTo: 'EP', outletMain: { to: 'EP', travelMin: 10 } }],
  planning: { stepMin: 60, horizonH: 12, cycleMin: 15 },
});

/** Spill into the tank per step, from the tank's balance: what its volume gained beyond its gate inlet, less its outlet and weir. */
function spillM3h(plan: Plan): number[] {
  const t = plan.predicted!.tanks[0]!;
  return t.volumeM3.map((v, i) => Math.max(0, v - (i === 0 ? 0 : t.volumeM3[i - 1]!) - t.inletM3h[i]! + t.outletM3h[i]! + t.overflowM3h[i]!));
}

test('a combined-sewer tank takes spill only from a full well: in dry weather none, in a storm only at the overflow level', async () => {
  const state: PlannerState = { readAtUtcMs: t0, stations: [{ stationId: 'E1', levelM: 2, pumpsAvailable: 2, mode: 'remote' }], tanks: [{ tankId: 'CS1', volumeM3: 0 }] };
  const run = async (flowM3h: number[]) => {
    const plan = await planWithOptimiser({ planId: 'cs', network: csNetwork, state, inflow: { startUtcMs: t0, stepMin: 60, series: [{ nodeId: 'E1', flowM3h }] }, nowUtcMs: t0, options: { fineStepMin: 60, fineHorizonH: 12 } });
    assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
    assert.equal(plan.stepMin, 60);
    return plan;
  };
  // Dry weather, 120 m³/h: the pumps carry it; the well never reaches its overflow level, so nothing spills.
  const dry = await run(new Array<number>(14).fill(120));
  const e1 = dry.predicted!.stations[0]!;
  assert.ok(Math.max(...e1.levelM) < 4 - 0.01, `E1 peak ${Math.max(...e1.levelM)}`);
  assert.deepEqual(spillM3h(dry).map((q) => Math.round(q)), new Array<number>(dry.steps.length).fill(0), 'no spill from a well below its overflow level');
  // What the tank's reason says matches its volume: a tank that never holds water neither shaves a peak nor empties.
  const tank = dry.predicted!.tanks[0]!;
  const reason = dry.reasons.find((r) => r.objectId === 'CS1')!.reason.en;
  if (Math.max(...tank.volumeM3) < 1) assert.doesNotMatch(reason, /empties|shave the peak/, reason);

  // A storm: 300 m³/h of pumps, 600 m³/h for 3 h from 02:00: 900 m³ above the pumps, 180 m³ of room in the
  // well (1 m → 4 m of 60 m²) plus the gate's 100 m³/h: the rest spills, and only while the well is full
  // (2 cm: the spill-timing optimum is held within its tolerance, 1e-6 of it, which the next priorities may use).
  const storm = await run(Array.from({ length: 14 }, (_, h) => (h >= 2 && h < 5 ? 600 : 100)));
  const spill = spillM3h(storm);
  const level = storm.predicted!.stations[0]!.levelM;
  assert.ok(spill.reduce((a, q) => a + q, 0) > 100, `the storm spills into the tank: ${spill.map((q) => q.toFixed(0)).join(' ')}`);
  spill.forEach((q, i) => assert.ok(q < 1 || level[i]! >= 4 - 0.02, `spill ${q.toFixed(0)} m³/h at step ${i} with E1 at ${level[i]!.toFixed(2)} m`));
  assert.ok(storm.predicted!.overflowM3 < 1, `no overflow: the tank takes it (${storm.predicted!.overflowM3})`);
  assert.match(storm.reasons.find((r) => r.objectId === 'CS1')!.reason.en, /spilling from the full well at E1/);
});
