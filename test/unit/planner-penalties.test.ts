// The steadiness penalties as the LP states them (a change split into a free part and penalised up/down
// parts) give the values their definitions give: recomputed here from the solved trajectories alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleNetwork } from '../../planner/examples.js';
import { readSolution } from '../../planner/formulation.js';
import { closeSolverWorkers, solveLexicographic } from '../../planner/solver.js';
import { hourlyDayModel } from '../support/planner-model.js';

test('plant steadiness and smoothing optima equal |changes| beyond their allowances, recomputed from the plan', async () => {
  // Two plants in one system (joined by an interconnection), a storm at A1: ramps, imbalance and changes.
  const network = exampleNetwork({
    stations: [
      { id: 'A1', areaM2: 40, pumpCount: 2, pumpM3h: 120, to: 'A2', travelMin: 30 },
      { id: 'A2', areaM2: 60, pumpCount: 2, pumpM3h: 200, to: 'PA', travelMin: 20 },
      { id: 'B1', areaM2: 40, pumpCount: 2, pumpM3h: 80, to: 'B2', travelMin: 30 },
      { id: 'B2', areaM2: 60, pumpCount: 2, pumpM3h: 150, to: 'PB', travelMin: 20 },
    ],
    plants: [
      { id: 'PA', capacityM3h: 300 },
      { id: 'PB', capacityM3h: 1000 },
    ],
    interconnections: [{ id: 'X1', a: 'A2', b: 'B2', capacityM3h: 40, travelMin: 10 }],
  });
  const inflow = (id: string, k: number) => (id === 'A1' ? (k >= 3 && k < 8 ? 220 : 40) : id === 'B1' ? 60 : 10);
  const f = hourlyDayModel(network, Date.UTC(2026, 6, 1, 12), inflow, { plantDeviationBand: 0.05 });
  const grid = f.grid;
  const K = grid.durationH.length;
  const result = await solveLexicographic(f.problem, { timeLimitS: 30 });
  assert.equal(result.status, 'optimal', result.error);
  const r = readSolution(f, result.colValue!)[0]!;
  const optimum = (name: string) => result.stats.priorities.find((p) => p.name === name)!.objective!;

  // Plant: ramps beyond 15 % of capacity per hour, per unit of capacity; with two plants the best common
  // ratio leaves max(0, |ratio A − ratio B| − 2 × band) apart, per hour.
  const dt = grid.durationH;
  let plant = 0;
  for (const p of network.plants) {
    const q = r.plants.get(p.id)!.inflowM3h;
    for (let k = 1; k < K; k++) plant += Math.max(0, Math.abs(q[k]! - q[k - 1]!) - 0.15 * p.capacityM3h * 0.5 * (dt[k - 1]! + dt[k]!)) / p.capacityM3h;
  }
  const pa = r.plants.get('PA')!.inflowM3h;
  const pb = r.plants.get('PB')!.inflowM3h;
  for (let k = 0; k < K; k++) plant += dt[k]! * Math.max(0, Math.abs(pa[k]! / 300 - pb[k]! / 1000) - 0.2);
  // Deviation: per plant, inflow beyond ±5 % of capacity around the best steady level, per unit of capacity
  // and hour. The sum is convex and piecewise linear in the level: its least value is at a breakpoint.
  let deviation = 0;
  for (const p of network.plants) {
    const q = r.plants.get(p.id)!.inflowM3h;
    const band = 0.05 * p.capacityM3h;
    const beyond = (level: number) => q.reduce((a, v, k) => a + (dt[k]! * Math.max(0, Math.abs(v - level) - band)) / p.capacityM3h, 0);
    const candidates = [0, p.capacityM3h, ...q.flatMap((v) => [v - band, v + band])].filter((l) => l >= 0 && l <= p.capacityM3h);
    deviation += Math.min(...candidates.map(beyond));
  }
  assert.ok(deviation > 0.1, `the storm moves the plant inflow beyond the band (${deviation})`);
  plant += deviation;
  assert.ok(optimum('plant') > 0.1, `the storm makes the plants unsteady (${optimum('plant')})`);
  // The final plan may use the plant optimum's tolerance (1e-3 + 1e-4 relative) for lower priorities.
  assert.ok(Math.abs(plant - optimum('plant')) <= 1e-3 + 1e-4 * optimum('plant') + 1e-6, `plant: from the plan ${plant}, optimum ${optimum('plant')}`);

  // Smoothing (the last priority, so the plan is its optimum): |changes| of pumped and transferred flows
  // per unit of capacity; pumped flows from the flow in the mains now (50 m³/h), transfers from step 1.
  let smooth = 0;
  for (const s of f.stations) {
    const q = r.stations.get(s.station.id)!.pumpedM3h;
    for (let k = 0; k < K; k++) smooth += Math.abs(q[k]! - (k === 0 ? 50 : q[k - 1]!)) / (s.dutyCapM3h + s.standbyCapM3h);
  }
  const x = r.transfers.get('X1')!;
  for (let k = 1; k < K; k++) smooth += Math.abs(x[k]! - x[k - 1]!) / 40;
  assert.ok(Math.abs(smooth - optimum('smooth')) <= 1e-6 * Math.max(1, smooth), `smooth: from the plan ${smooth}, optimum ${optimum('smooth')}`);
  await closeSolverWorkers();
});
