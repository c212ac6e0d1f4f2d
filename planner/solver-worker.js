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

/** Parts smaller than this are solved together (one HiGHS model each would cost more than it saves). */
const minPartColumns = 200;

/**
 * Independent parts of the LP: columns joined through any row belong to one part. Objectives do not join
 * parts (each is a sum over them). Returns null when there is one part worth solving alone; otherwise the
 * parts' column and row indices, small parts merged into one.
 */
function splitProblem(problem) {
  const n = problem.numCols;
  const parent = new Int32Array(n);
  for (let col = 0; col < n; col++) parent[col] = col;
  const find = (col) => {
    while (parent[col] !== col) col = parent[col] = parent[parent[col]];
    return col;
  };
  for (let row = 0; row < problem.numRows; row++) {
    const from = problem.starts[row];
    if (from === problem.starts[row + 1]) continue;
    const root = find(problem.indices[from]);
    for (let p = from + 1; p < problem.starts[row + 1]; p++) {
      const other = find(problem.indices[p]);
      if (other !== root) parent[other] = root;
    }
  }
  const partOfRoot = new Map();
  const sizes = [];
  const partOfCol = new Int32Array(n);
  for (let col = 0; col < n; col++) {
    const root = find(col);
    let part = partOfRoot.get(root);
    if (part === undefined) partOfRoot.set(root, (part = sizes.push(0) - 1));
    sizes[part]++;
    partOfCol[col] = part;
  }
  // Small parts (isolated columns, ...) go together into the first small one.
  const merged = new Int32Array(sizes.length);
  let small = -1;
  let count = 0;
  sizes.forEach((size, part) => {
    if (size >= minPartColumns) merged[part] = count++;
    else merged[part] = small >= 0 ? small : (small = count++);
  });
  if (count <= 1) return null;
  const cols = Array.from({ length: count }, () => []);
  for (let col = 0; col < n; col++) cols[merged[partOfCol[col]]].push(col);
  const rows = Array.from({ length: count }, () => []);
  for (let row = 0; row < problem.numRows; row++) {
    const from = problem.starts[row];
    // A row without entries constrains nothing that a part could change: it goes with the first part.
    rows[from === problem.starts[row + 1] ? 0 : merged[partOfCol[problem.indices[from]]]].push(row);
  }
  return cols.map((c, i) => ({ cols: Int32Array.from(c), rows: rows[i] }));
}

/** The part's own LP: its columns renumbered from 0, its rows, and each objective's terms on its columns. */
function subProblem(problem, part, local) {
  part.cols.forEach((col, i) => (local[col] = i));
  const starts = new Int32Array(part.rows.length + 1);
  let nz = 0;
  part.rows.forEach((row, i) => (starts[i + 1] = nz += problem.starts[row + 1] - problem.starts[row]));
  const indices = new Int32Array(nz);
  const values = new Float64Array(nz);
  part.rows.forEach((row, i) => {
    for (let p = problem.starts[row], q = starts[i]; p < problem.starts[row + 1]; p++, q++) {
      indices[q] = local[problem.indices[p]];
      values[q] = problem.values[p];
    }
  });
  const inPart = new Uint8Array(problem.numCols);
  for (const col of part.cols) inPart[col] = 1;
  return {
    numCols: part.cols.length,
    numRows: part.rows.length,
    colLower: Float64Array.from(part.cols, (col) => problem.colLower[col]),
    colUpper: Float64Array.from(part.cols, (col) => problem.colUpper[col]),
    rowLower: Float64Array.from(part.rows, (row) => problem.rowLower[row]),
    rowUpper: Float64Array.from(part.rows, (row) => problem.rowUpper[row]),
    starts,
    indices,
    values,
    objectives: problem.objectives.map((o) => {
      const keep = [];
      o.coefficients.indices.forEach((col, i) => inPart[col] && keep.push(i));
      return {
        ...o,
        coefficients: { indices: Int32Array.from(keep, (i) => local[o.coefficients.indices[i]]), values: Float64Array.from(keep, (i) => o.coefficients.values[i]) },
      };
    }),
  };
}

function createModel(highs, problem) {
  const n = problem.numCols;
  return highs.createModel({
    numCols: n,
    numRows: problem.numRows,
    colCost: new Float64Array(n),
    colLower: problem.colLower,
    colUpper: problem.colUpper,
    rowLower: problem.rowLower,
    rowUpper: problem.rowUpper,
    matrix: { format: 'csr', numRows: problem.numRows, numCols: n, starts: problem.starts, indices: problem.indices, values: problem.values },
  });
}

function setCost(model, n, objectives, weights = []) {
  const cost = new Float64Array(n);
  objectives.forEach((o, j) => o.coefficients.indices.forEach((col, i) => (cost[col] += (weights[j] ?? 1) * o.coefficients.values[i])));
  model.changeColsCost({ kind: 'range', from: 0, to: n - 1 }, cost);
}

let highsPromise = null;

/**
 * The lexicographic sequence over every independent part of the model (one HiGHS model per part, see
 * splitProblem): each priority is solved in every part before the next priority, so a time limit leaves
 * every part solved to the same priorities (a feasible solution). The sum over parts of a priority's
 * optima is the whole model's optimum; the tolerance the whole model would allow a kept optimum,
 * max(absTol, relTol·|optimum|), is shared among the parts in proportion to their optima.
 */
async function solve({ problem, options, wasmModule }) {
  const loadStart = performance.now();
  const firstJob = highsPromise === null;
  highsPromise ??= loadHighs(wasmModule ? { wasmModule } : undefined);
  const highs = await highsPromise;
  const loadMs = performance.now() - loadStart;
  const modelStart = performance.now();
  const split = options.decompose ? splitProblem(problem) : null;
  const local = split ? new Int32Array(problem.numCols) : null;
  const parts = (split ?? [null]).map((part) => {
    const sub = part ? subProblem(problem, part, local) : problem;
    return { cols: part?.cols ?? null, problem: sub, model: createModel(highs, sub), solution: null };
  });
  const modelMs = performance.now() - modelStart;
  try {
    for (const part of parts) part.model.options.set({ output_flag: false, solver: options.algorithm });
    const deadline = performance.now() + options.timeLimitS * 1000;
    const priorities = [];
    let combined = null;
    let status = 'optimal';
    let stagesMs = 0;
    /** One HiGHS run of a part within what is left of the time limit: [status name, ms, iterations]. */
    const run = (part) => {
      // HiGHS's run clock adds up over a model's runs: restart it with the time left.
      part.model.zeroAllClocks();
      part.model.options.set({ time_limit: Math.max(1e-3, (deadline - performance.now()) / 1000) });
      const t0 = performance.now();
      const { modelStatus } = part.model.run();
      const ms = performance.now() - t0;
      stagesMs += ms;
      return [statusNames[modelStatus] ?? `status-${modelStatus}`, ms, iterationCount(part.model)];
    };
    const solveStart = performance.now();
    const leading = leadingZeroCandidates(problem);
    if (leading > 1 && options.combineLeading) {
      // One solve of the sum of the leading non-negative penalties. Every penalty that is zero there has
      // optimum zero, and so does each next one given the ones before are pinned at zero: the first penalties
      // that are zero at this solution are exactly what solving them one by one gives. On a dry day all
      // safety priorities are zero and are settled by this one solve; otherwise its basis starts the next.
      // Weighted 10× per priority (earlier ones heavier, at most 10⁴): any positive weights give the same
      // zero penalties, and these leave a solution close to the first optima, so the next solves start near
      // them (100 stations: the overflow solve after this one takes 0 iterations instead of ~4,300).
      const weights = Array.from({ length: leading }, (_, j) => 10 ** Math.min(4, leading - 1 - j));
      combined = { iterations: 0, solveMs: 0 };
      for (const part of parts) {
        setCost(part.model, part.problem.numCols, part.problem.objectives.slice(0, leading), weights);
        const [name, ms, iterations] = run(part);
        combined.iterations += iterations;
        combined.solveMs += ms;
        if (name === 'optimal') part.solution = part.model.getSolution().colValue;
        else {
          // Infeasible, time limit, ...: the model's answer, reported on the first priority.
          status = name;
          priorities.push({ name: problem.objectives[0].name, status, objective: null, iterations: combined.iterations, solveMs: combined.solveMs });
          combined = null; // counted on that priority
          break;
        }
      }
    }
    for (const [index, objective] of problem.objectives.entries()) {
      if (status !== 'optimal') break;
      const stage = { name: objective.name, status: 'optimal', objective: 0, iterations: 0, solveMs: 0 };
      const values = [];
      for (const part of parts) {
        // Later priorities change only costs and add a row the current optimum satisfies: the basis stays
        // primal feasible, so primal simplex continues from it (measured ~3× fewer iterations than dual).
        // Without HiGHS's random bound perturbation: from a feasible basis it only added work (shifted
        // bounds to clean up afterwards): 100 stations, smoothing 3,485 → 857 iterations, the same optima.
        if (part.solution && options.algorithm === 'simplex') {
          part.model.options.set({ simplex_strategy: 4, primal_simplex_bound_perturbation_multiplier: options.perturbPrimalBounds ? 1 : 0 });
        }
        const own = part.problem.objectives[index];
        const solution = part.solution;
        if (own.coefficients.indices.length === 0 && solution) {
          values.push(null); // nothing of this priority in this part: every solution is optimal for it
          continue;
        }
        setCost(part.model, part.problem.numCols, [own]);
        if (solution && own.nonNegative) {
          let atCurrent = 0;
          own.coefficients.indices.forEach((col, i) => (atCurrent += own.coefficients.values[i] * solution[col]));
          if (atCurrent <= 1e-9) {
            // Zero is a lower bound of a non-negative penalty: the current solution is already optimal.
            stage.objective += atCurrent;
            values.push(0);
            continue;
          }
        }
        const [name, ms, iterations] = run(part);
        stage.iterations += iterations;
        stage.solveMs += ms;
        if (name !== 'optimal') {
          stage.status = name;
          stage.objective = null;
          break;
        }
        const value = part.model.getObjectiveValue();
        stage.objective += value;
        values.push(value);
        part.solved = part.model.getSolution();
        part.solution = part.solved.colValue;
      }
      priorities.push(stage);
      if (stage.status !== 'optimal') {
        status = stage.status;
        break;
      }
      // Keep this optimum in every part (within the whole model's tolerance, shared among the parts).
      const slack = Math.max(objective.absTol, objective.relTol * Math.abs(stage.objective));
      const sumAbs = values.reduce((a, v) => a + Math.abs(v ?? 0), 0);
      const withTerms = values.filter((v) => v !== null).length;
      parts.forEach((part, p) => {
        const value = values[p];
        const own = part.problem.objectives[index];
        if (value === null || own.coefficients.indices.length === 0) return;
        if (own.nonNegative && Math.abs(value) <= 1e-7) return pinAtZero(part.model, own, part.problem, part.solution);
        if (options.holdOptimum === 'optimal-face' && part.solved) fixOnOptimalFace(part.model, part.solved, part.problem.numCols);
        const share = sumAbs > 0 ? Math.abs(value) / sumAbs : 1 / withTerms;
        part.model.addRow(-highs.infinity, value + slack * share, own.coefficients);
      });
      for (const part of parts) part.solved = null;
    }
    const loopMs = performance.now() - solveStart;
    let colValue = null;
    if (parts.every((part) => part.solution)) {
      if (split) {
        colValue = new Float64Array(problem.numCols);
        for (const part of parts) part.cols.forEach((col, i) => (colValue[col] = part.solution[i]));
      } else colValue = parts[0].solution;
    }
    return {
      ok: true,
      status,
      completed: priorities.filter((p) => p.status === 'optimal').length,
      priorities,
      parts: parts.length,
      version: highs.version.string,
      colValue,
      ...(combined ? { combined } : {}),
      timings: { firstJob, loadMs, modelMs, stagesMs, betweenStagesMs: loopMs - stagesMs, wasmMemoryBytes: highs.memoryBytes },
    };
  } finally {
    for (const part of parts) part.model.dispose();
  }
}

parentPort.on('message', (job) => {
  const id = job.id;
  solve(job).then(
    (result) => parentPort.postMessage({ id, ...result }, result.colValue ? [result.colValue.buffer] : []),
    (error) => parentPort.postMessage({ id, ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }),
  );
});
