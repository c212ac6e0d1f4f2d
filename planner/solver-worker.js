// HiGHS (WASM) in a worker thread: solves prioritised LPs lexicographically and posts the results.
// Plain JavaScript so it starts without a TypeScript loader; the typed side is planner/solver.ts.
// Protocol: the worker stays up and takes jobs one at a time: receives { id, problem, options, wasmModule? },
// posts { id, ok: true, ... } or { id, ok: false, error }. HiGHS is loaded once, on the first job.
import { parentPort } from 'node:worker_threads';
import loadHighs from 'highs';

const statusNames = {
  0: 'not-set',
  1: 'load-error',
  2: 'model-error',
  3: 'presolve-error',
  4: 'solve-error',
  5: 'postsolve-error',
  6: 'empty',
  7: 'optimal',
  8: 'infeasible',
  9: 'unbounded-or-infeasible',
  10: 'unbounded',
  11: 'objective-bound',
  12: 'objective-target',
  13: 'time-limit',
  14: 'iteration-limit',
  15: 'unknown',
  16: 'solution-limit',
  17: 'interrupted',
};

function iterationCount(model) {
  return count(model, 'simplex_iteration_count') + count(model, 'ipm_iteration_count') + count(model, 'crossover_iteration_count');
}

/** Number of leading priorities that are non-negative penalties (zero is their lower bound). */
function leadingZeroCandidates(problem) {
  let k = 0;
  while (k < problem.objectives.length && problem.objectives[k].nonNegative) k++;
  return k;
}

function count(model, name) {
  try {
    const v = model.info.get(name);
    return typeof v === 'bigint' ? Number(v) : Math.max(0, Number(v));
  } catch {
    return 0;
  }
}

/**
 * A penalty that reached zero: pin its variables at their (zero) values. Bounds keep the model sparse and
 * let presolve remove them; a dense objective row would slow every later solve.
 */
function pinAtZero(model, objective, problem, solution) {
  const { indices } = objective.coefficients;
  const lower = Float64Array.from(indices, (col) => problem.colLower[col]);
  const upper = Float64Array.from(indices, (col, i) => Math.max(lower[i], solution[col]));
  model.changeColsBounds({ kind: 'set', indices }, lower, upper);
}

/**
 * Columns with a nonzero reduced cost are fixed where they are: every solution that keeps them there is
 * exactly optimal for this priority (the optimal face), and the later, smaller problems solve several
 * times faster. Stricter than the tolerance row: lower priorities may not trade any of this optimum.
 */
function fixOnOptimalFace(model, solved, n) {
  const indices = [];
  for (let col = 0; col < n; col++) if (Math.abs(solved.colDual[col]) > 1e-9) indices.push(col);
  if (indices.length === 0) return;
  const at = Float64Array.from(indices, (col) => solved.colValue[col]);
  model.changeColsBounds({ kind: 'set', indices: Int32Array.from(indices) }, at, at);
}

let highsPromise = null;

async function solve({ problem, options, wasmModule }) {
  const loadStart = performance.now();
  const firstJob = highsPromise === null;
  highsPromise ??= loadHighs(wasmModule ? { wasmModule } : undefined);
  const highs = await highsPromise;
  const loadMs = performance.now() - loadStart;
  const modelStart = performance.now();
  const n = problem.numCols;
  const model = highs.createModel({
    numCols: n,
    numRows: problem.numRows,
    colCost: new Float64Array(n),
    colLower: problem.colLower,
    colUpper: problem.colUpper,
    rowLower: problem.rowLower,
    rowUpper: problem.rowUpper,
    matrix: { format: 'csr', numRows: problem.numRows, numCols: n, starts: problem.starts, indices: problem.indices, values: problem.values },
  });
  const modelMs = performance.now() - modelStart;
  try {
    model.options.set({ output_flag: false, solver: options.algorithm, time_limit: options.timeLimitS });
    const priorities = [];
    let solution = null;
    let combined = null;
    let status = 'optimal';
    let stagesMs = 0;
    const solveStart = performance.now();
    const leading = leadingZeroCandidates(problem);
    if (leading > 1 && options.combineLeading) {
      // One solve of the sum of the leading non-negative penalties. Every penalty that is zero there has
      // optimum zero, and so does each next one given the ones before are pinned at zero: the first penalties
      // that are zero at this solution are exactly what solving them one by one gives. On a dry day all
      // safety priorities are zero and are settled by this one solve; otherwise its basis starts the next.
      const cost = new Float64Array(n);
      for (const o of problem.objectives.slice(0, leading)) o.coefficients.indices.forEach((col, i) => (cost[col] += o.coefficients.values[i]));
      model.changeColsCost({ kind: 'range', from: 0, to: n - 1 }, cost);
      const t0 = performance.now();
      const { modelStatus } = model.run();
      const ms = performance.now() - t0;
      stagesMs += ms;
      combined = { iterations: iterationCount(model), solveMs: ms };
      if (modelStatus === 7) solution = model.getSolution().colValue;
      else {
        // Infeasible, time limit, ...: the model's answer, reported on the first priority.
        status = statusNames[modelStatus] ?? `status-${modelStatus}`;
        priorities.push({ name: problem.objectives[0].name, status, objective: null, iterations: combined.iterations, solveMs: ms });
        combined = null; // counted on that priority
      }
      if (options.algorithm === 'simplex') model.options.set({ simplex_strategy: 4 });
    }
    for (const [index, objective] of problem.objectives.entries()) {
      if (status !== 'optimal') break;
      // Later priorities change only costs and add a row the current optimum satisfies: the basis stays
      // primal feasible, so primal simplex continues from it (measured ~3× fewer iterations than dual).
      if (index === 1 && options.algorithm === 'simplex') model.options.set({ simplex_strategy: 4 });
      const cost = new Float64Array(n);
      objective.coefficients.indices.forEach((col, i) => (cost[col] = objective.coefficients.values[i]));
      model.changeColsCost({ kind: 'range', from: 0, to: n - 1 }, cost);
      if (solution && objective.nonNegative) {
        let atCurrent = 0;
        objective.coefficients.indices.forEach((col, i) => (atCurrent += objective.coefficients.values[i] * solution[col]));
        if (atCurrent <= 1e-9) {
          // Zero is a lower bound of a non-negative penalty: the current solution is already optimal.
          priorities.push({ name: objective.name, status: 'optimal', objective: atCurrent, iterations: 0, solveMs: 0 });
          pinAtZero(model, objective, problem, solution);
          continue;
        }
      }
      const t0 = performance.now();
      const { modelStatus } = model.run();
      const solveMs = performance.now() - t0;
      stagesMs += solveMs;
      const name = statusNames[modelStatus] ?? `status-${modelStatus}`;
      const iterations = iterationCount(model);
      if (modelStatus !== 7) {
        priorities.push({ name: objective.name, status: name, objective: null, iterations, solveMs });
        status = name;
        break;
      }
      const value = model.getObjectiveValue();
      priorities.push({ name: objective.name, status: name, objective: value, iterations, solveMs });
      const solved = model.getSolution();
      solution = solved.colValue;
      if (objective.nonNegative && Math.abs(value) <= 1e-7) {
        pinAtZero(model, objective, problem, solution);
      } else {
        if (options.holdOptimum === 'optimal-face') fixOnOptimalFace(model, solved, n);
        // Keep this optimum (within tolerance) while the lower priorities are minimised.
        const slack = Math.max(objective.absTol, objective.relTol * Math.abs(value));
        model.addRow(-highs.infinity, value + slack, objective.coefficients);
      }
    }
    const loopMs = performance.now() - solveStart;
    return {
      ok: true,
      status,
      completed: priorities.filter((p) => p.status === 'optimal').length,
      priorities,
      version: highs.version.string,
      colValue: solution,
      ...(combined ? { combined } : {}),
      timings: { firstJob, loadMs, modelMs, stagesMs, betweenStagesMs: loopMs - stagesMs, wasmMemoryBytes: highs.memoryBytes },
    };
  } finally {
    model.dispose();
  }
}

parentPort.on('message', (job) => {
  const id = job.id;
  solve(job).then(
    (result) => parentPort.postMessage({ id, ...result }, result.colValue ? [result.colValue.buffer] : []),
    (error) => parentPort.postMessage({ id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
});
