// The solver adapter's worker handling (one worker kept warm, replaced after a kill, extra workers for
// concurrent solves, never keeping the process alive) and how it holds optima between priorities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { logLogSlope } from '../../bench/scale.js';
import { exampleNetwork } from '../../planner/examples.js';
import { buildTimeGrid, formulate } from '../../planner/formulation.js';
import { LpBuilder, type LinearProblem } from '../../planner/lp.js';
import { closeSolverWorkers, solveLexicographic } from '../../planner/solver.js';

/**
 * Priority 1: minimise x (x ≥ 1, so its optimum is 1, not zero), kept within 0.5.
 * Priority 2: minimise y subject to x + y ≥ 10.
 */
function twoPriorities(): LinearProblem {
  const lp = new LpBuilder();
  const x = lp.addCol('x', 1, 100);
  const y = lp.addCol('y', 0, 100);
  lp.addRow('sum', [[x, 1], [y, 1]], 10, Number.POSITIVE_INFINITY);
  lp.addObjective('first', 0.5, 0)(x, 1);
  lp.addObjective('second', 0, 0)(y, 1);
  return lp.build();
}

/** A model too large to solve in 50 ms: a chain of 200 stations over 48 hourly steps. */
function largeProblem(): LinearProblem {
  const stations = Array.from({ length: 200 }, (_, i) => ({ id: `S${i}`, areaM2: 50, pumpCount: 2, pumpM3h: 100, to: i === 199 ? 'P1' : `S${i + 1}`, travelMin: 20 }));
  const network = exampleNetwork({ stations, plants: [{ id: 'P1', capacityM3h: 500 }] });
  const grid = buildTimeGrid(Date.UTC(2026, 6, 1, 12), { fineStepMin: 60, fineHorizonH: 48, coarseStepMin: 60, horizonH: 48 });
  return formulate({
    network,
    grid,
    scenarios: [{ id: 'd', weight: 1, inflowM3h: new Map(stations.map((s) => [s.id, grid.durationH.map(() => 30)])) }],
    initial: { stations: new Map(), tanks: new Map(), transfers: new Map() },
    constraints: {},
    options: { sharedSteps: 1, robustness: 'expected', reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 0.15, plantBalanceBand: 0.1, overflowHarm: {}, relaxed: false, economy: 'nominal' },
  }).problem;
}

test('one worker is kept warm: the second solve reuses it (HiGHS not loaded again) and gives the same answer', async () => {
  await closeSolverWorkers();
  const first = await solveLexicographic(twoPriorities(), { timeLimitS: 10 });
  const second = await solveLexicographic(twoPriorities(), { timeLimitS: 10 });
  assert.equal(first.status, 'optimal', first.error);
  assert.equal(second.status, 'optimal', second.error);
  assert.equal(first.timings?.warmWorker, false);
  assert.equal(first.timings?.firstJob, true);
  assert.equal(second.timings?.warmWorker, true);
  assert.equal(second.timings?.firstJob, false, 'the warm worker loaded HiGHS once, for its first job');
  assert.deepEqual(
    second.stats.priorities.map((p) => p.objective),
    first.stats.priorities.map((p) => p.objective),
  );
  assert.ok((second.timings?.wasmMemoryBytes ?? 0) > 0, 'the worker reports its WebAssembly heap');
  await closeSolverWorkers();
});

test('a killed worker is not reused: the next solve starts a fresh one and succeeds', async () => {
  await closeSolverWorkers();
  await solveLexicographic(twoPriorities(), { timeLimitS: 10 }); // leaves a warm worker
  const stopped = await solveLexicographic(largeProblem(), { timeLimitS: 0.05, hardKillGraceMs: 0 });
  assert.ok(['killed', 'time-limit'].includes(stopped.status), stopped.status);
  const after = await solveLexicographic(twoPriorities(), { timeLimitS: 10 });
  assert.equal(after.status, 'optimal', after.error);
  if (stopped.status === 'killed') assert.equal(after.timings?.warmWorker, false, 'the killed worker was replaced');
  await closeSolverWorkers();
});

test('concurrent solves each get a worker and their own answer', async () => {
  await closeSolverWorkers();
  const lp = new LpBuilder();
  const z = lp.addCol('z', 3, 50);
  lp.addObjective('only', 0, 0)(z, 2);
  const other = lp.build();
  const [a, b, c] = await Promise.all([solveLexicographic(twoPriorities()), solveLexicographic(other), solveLexicographic(twoPriorities())]);
  assert.deepEqual(a.stats.priorities.map((p) => p.objective), [1, 8.5]);
  assert.deepEqual(b.stats.priorities.map((p) => p.objective), [6]);
  assert.deepEqual(c.stats.priorities.map((p) => p.objective), [1, 8.5]);
  await closeSolverWorkers();
});

test('optima are held within their tolerance by default; optimal-face holds them exactly', async () => {
  // Tolerance: x may rise to 1.5 while y is minimised, so y = 8.5. Optimal face: x stays at 1, so y = 9.
  const tolerance = await solveLexicographic(twoPriorities(), { timeLimitS: 10 });
  const face = await solveLexicographic(twoPriorities(), { timeLimitS: 10, holdOptimum: 'optimal-face' });
  assert.equal(tolerance.status, 'optimal', tolerance.error);
  assert.equal(face.status, 'optimal', face.error);
  assert.ok(Math.abs(tolerance.colValue![0]! - 1.5) < 1e-6 && Math.abs(tolerance.colValue![1]! - 8.5) < 1e-6, `tolerance: ${String(tolerance.colValue)}`);
  assert.ok(Math.abs(face.colValue![0]! - 1) < 1e-6 && Math.abs(face.colValue![1]! - 9) < 1e-6, `optimal face: ${String(face.colValue)}`);
  await closeSolverWorkers();
});

test('leading penalties solved together first give exactly the one-by-one answer, zero or not', async () => {
  // min x, then min 2y, with x + y ≥ 1: together (x + 2y) the optimum is x = 1, y = 0, yet one by one
  // x = 0 first, so y = 1. Then a case where both penalties are zero: settled by the combined solve alone.
  const lp = new LpBuilder();
  const x = lp.addCol('x', 0, 10);
  const y = lp.addCol('y', 0, 10);
  const z = lp.addCol('z', 0, 10);
  lp.addRow('cover', [[x, 1], [y, 1]], 1, Number.POSITIVE_INFINITY);
  lp.addObjective('first', 0, 0)(x, 1);
  lp.addObjective('second', 0, 0)(y, 2);
  lp.addObjective('last', 0, 0)(z, -1); // not a zero-bounded penalty: solved on its own
  const traded = await solveLexicographic(lp.build(), { timeLimitS: 10 });
  assert.equal(traded.status, 'optimal', traded.error);
  // (+ 0 turns a -0 from the solver into 0)
  assert.deepEqual(traded.stats.priorities.map((p) => (p.objective === null ? null : p.objective + 0)), [0, 2, -10]);
  assert.ok(traded.timings?.combined, 'the leading penalties were first solved together');

  const free = new LpBuilder();
  const a = free.addCol('a', 0, 10);
  const b = free.addCol('b', 0, 10);
  free.addRow('room', [[a, 1], [b, 1]], Number.NEGATIVE_INFINITY, 5);
  free.addObjective('first', 0, 0)(a, 1);
  free.addObjective('second', 0, 0)(b, 1);
  free.addObjective('last', 0, 0)(a, -1);
  const zero = await solveLexicographic(free.build(), { timeLimitS: 10 });
  assert.equal(zero.status, 'optimal', zero.error);
  assert.deepEqual(
    // A priority settled without a solve of its own is reported with 0 iterations in 0 ms.
    zero.stats.priorities.slice(0, 2).map((p) => [p.name, p.objective === null ? null : p.objective + 0, p.iterations, p.solveMs]),
    [
      ['first', 0, 0, 0],
      ['second', 0, 0, 0],
    ],
    'both penalties were zero at the combined solution: no solve of their own',
  );
  assert.ok(zero.timings?.combined, 'settled by the combined solve');
  assert.ok(Math.abs(zero.stats.priorities[2]!.objective!) < 1e-9, 'a is pinned at zero for the last priority');
  await closeSolverWorkers();
});

test('the warm worker does not keep the process alive', () => {
  const solver = fileURLToPath(new URL('../../planner/solver.ts', import.meta.url));
  const script = `
    import { LpBuilder } from ${JSON.stringify(fileURLToPath(new URL('../../planner/lp.ts', import.meta.url)))};
    import { solveLexicographic } from ${JSON.stringify(solver)};
    const lp = new LpBuilder();
    lp.addObjective('only', 0, 0)(lp.addCol('x', 2, 5), 1);
    const r = await solveLexicographic(lp.build());
    console.log(r.status);`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.error, undefined, 'the process ended on its own (no timeout)');
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'optimal');
});

test('scale bench growth fit: the log-log slope recovers the exponent of a power law', () => {
  assert.equal(logLogSlope([{ x: 10, y: 1 }]), null, 'one point fits nothing');
  const linear = logLogSlope([1e3, 1e4, 1e5].map((x) => ({ x, y: 0.02 * x })));
  const quadratic = logLogSlope([1e3, 1e4, 1e5].map((x) => ({ x, y: 3e-6 * x * x })));
  assert.ok(Math.abs(linear! - 1) < 1e-9, `${linear}`);
  assert.ok(Math.abs(quadratic! - 2) < 1e-9, `${quadratic}`);
});
