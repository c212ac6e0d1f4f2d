// Independent systems: plants are balanced only within the system that joins them, and the solver splits a
// model into its independent parts, solves them one after another and merges them into the same answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkConfig } from '../../network/schema.js';
import { exampleNetwork, type ExampleNetworkOptions } from '../../planner/examples.js';
import { buildTimeGrid, formulate, type Formulation } from '../../planner/formulation.js';
import { rowActivities } from '../../planner/lp.js';
import { closeSolverWorkers, solveLexicographic } from '../../planner/solver.js';
import { hourlyDayModel } from '../support/planner-model.js';

const noon = Date.UTC(2026, 6, 1, 12, 0);

/** Two systems side by side: A1 → A2 → plant PA (200 m³/h) and B1 → B2 → plant PB (2,000 m³/h). */
function twoSystems(interconnection: boolean): NetworkConfig {
  const options: ExampleNetworkOptions = {
    stations: [
      { id: 'A1', areaM2: 40, pumpCount: 2, pumpM3h: 80, to: 'A2', travelMin: 30 },
      { id: 'A2', areaM2: 60, pumpCount: 2, pumpM3h: 150, to: 'PA', travelMin: 20 },
      { id: 'B1', areaM2: 40, pumpCount: 2, pumpM3h: 80, to: 'B2', travelMin: 30 },
      { id: 'B2', areaM2: 60, pumpCount: 2, pumpM3h: 150, to: 'PB', travelMin: 20 },
    ],
    plants: [
      { id: 'PA', capacityM3h: 200 },
      { id: 'PB', capacityM3h: 2000 },
    ],
    // A transfer of at most 1 m³/h joins the systems without moving any real load.
    ...(interconnection ? { interconnections: [{ id: 'X1', a: 'A2', b: 'B2', capacityM3h: 1, travelMin: 10 }] } : {}),
  };
  return exampleNetwork(options);
}

/** The planner's model over 24 hourly steps from noon; `inflow` gives each station's m³/h at step k. */
const model = (network: NetworkConfig, inflow: (stationId: string, k: number) => number): Formulation => hourlyDayModel(network, noon, inflow);

const steady = (id: string) => (id === 'A1' ? 150 : id === 'B1' ? 50 : 0);
const plantOptimum = (result: Awaited<ReturnType<typeof solveLexicographic>>) => result.stats.priorities.find((p) => p.name === 'plant')?.objective;

test('plant balance within a system: separate systems are not balanced against each other, joined ones are', async () => {
  // 150 m³/h reaches PA (75 % of its capacity), 50 m³/h PB (2.5 %): 0.725 apart, far beyond the 0.1 band.
  const separate = model(twoSystems(false), steady);
  const joined = model(twoSystems(true), steady);
  assert.equal(separate.problem.colNames.filter((n) => n.startsWith('loadRatio.')).length, 0, 'one plant per system: nothing to balance');
  assert.equal(joined.problem.colNames.filter((n) => n.startsWith('loadRatio.')).length, 24, 'one common load ratio per step for the joined system');
  const a = await solveLexicographic(separate.problem, { timeLimitS: 20 });
  const b = await solveLexicographic(joined.problem, { timeLimitS: 20 });
  assert.equal(a.status, 'optimal', a.error);
  assert.equal(b.status, 'optimal', b.error);
  // Steady inflow, steady plants: nothing left to penalise when each system is balanced on its own.
  assert.ok(Math.abs(plantOptimum(a) ?? Number.NaN) < 1e-6, `separate systems: plant optimum ${plantOptimum(a)}`);
  // Joined by 1 m³/h, the plants must be balanced and cannot be: about 0.725 − 2 × 0.1 beyond the band per
  // hour, 12.6 over the day, less what the wells' ~250 m³ of storage shifts (a couple of hours at most).
  assert.ok((plantOptimum(b) ?? 0) > 8, `joined systems: plant optimum ${plantOptimum(b)}`);
  await closeSolverWorkers();
});

test('independent parts are solved separately and merged: the same optima as the whole model, every row holds', async () => {
  // A storm in system A (overflow), dry weather in B: the priorities are nonzero in one part and zero in the other.
  const f = model(twoSystems(false), (id, k) => (id === 'A1' ? (k >= 4 && k < 10 ? 400 : 60) : id === 'B1' ? 40 : 20));
  const parts = await solveLexicographic(f.problem, { timeLimitS: 30 });
  const whole = await solveLexicographic(f.problem, { timeLimitS: 30, decompose: false });
  assert.equal(parts.status, 'optimal', parts.error);
  assert.equal(whole.status, 'optimal', whole.error);
  assert.equal(parts.timings?.parts, 2);
  assert.equal(whole.timings?.parts, 1);
  assert.deepEqual(
    parts.stats.priorities.map((p) => p.name),
    whole.stats.priorities.map((p) => p.name),
  );
  const overflow = parts.stats.priorities.find((p) => p.name === 'overflow')!;
  assert.ok((overflow.objective ?? 0) > 100, `the storm overflows in system A (${overflow.objective})`);
  for (const [i, p] of parts.stats.priorities.entries()) {
    const w = whole.stats.priorities[i]!;
    // Kept optima may move within their tolerance (1e-4 relative at most), differently when split.
    const allowed = 1e-3 + 1e-3 * Math.abs(w.objective ?? 0);
    assert.ok(Math.abs((p.objective ?? Number.NaN) - (w.objective ?? Number.NaN)) <= allowed, `${p.name}: parts ${p.objective}, whole ${w.objective}`);
  }
  const x = parts.colValue!;
  assert.equal(x.length, f.problem.numCols);
  const activity = rowActivities(f.problem, x);
  for (let r = 0; r < f.problem.numRows; r++) {
    const slack = 1e-6 * Math.max(1, Math.abs(activity[r]!));
    assert.ok(activity[r]! >= f.problem.rowLower[r]! - slack && activity[r]! <= f.problem.rowUpper[r]! + slack, `row ${f.problem.rowNames[r]}: ${activity[r]}`);
  }
  for (let c = 0; c < f.problem.numCols; c++) {
    assert.ok(x[c]! >= f.problem.colLower[c]! - 1e-6 && x[c]! <= f.problem.colUpper[c]! + 1e-6, `column ${f.problem.colNames[c]}: ${x[c]}`);
  }
  await closeSolverWorkers();
});

test('a time limit holds across parts: HiGHS stops the part it is in, no part runs on, the next solve works', async () => {
  // Two chains of 150 stations, each to its own plant: two parts, far too large for 0.2 s.
  const chain = (p: string) => Array.from({ length: 150 }, (_, i) => ({ id: `${p}${i}`, areaM2: 50, pumpCount: 2, pumpM3h: 100, to: i === 149 ? `P${p}` : `${p}${i + 1}`, travelMin: 20 }));
  const network = exampleNetwork({ stations: [...chain('A'), ...chain('B')], plants: [{ id: 'PA', capacityM3h: 500 }, { id: 'PB', capacityM3h: 500 }] });
  const grid = buildTimeGrid(noon, { fineStepMin: 60, fineHorizonH: 48, coarseStepMin: 60, horizonH: 48 });
  const f = formulate({
    network,
    grid,
    scenarios: [{ id: 'd', weight: 1, inflowM3h: new Map(network.stations.map((s) => [s.id, grid.durationH.map(() => 30)])) }],
    initial: { stations: new Map(), tanks: new Map(), transfers: new Map() },
    constraints: {},
    options: { sharedSteps: 1, robustness: 'expected', reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 0.15, plantBalanceBand: 0.1, overflowHarm: {}, relaxed: false, economy: 'nominal' },
  });
  // A long grace: the stop must come from HiGHS's own time limit (status 'time-limit'), not the hard kill.
  const stopped = await solveLexicographic(f.problem, { timeLimitS: 0.2, hardKillGraceMs: 60_000 });
  assert.equal(stopped.status, 'time-limit', stopped.error);
  assert.equal(stopped.timings?.parts, 2);
  assert.ok(stopped.colValue === null || stopped.colValue.length === f.problem.numCols);
  const after = await solveLexicographic(model(twoSystems(false), steady).problem, { timeLimitS: 20 });
  assert.equal(after.status, 'optimal', after.error);
  await closeSolverWorkers();
});
