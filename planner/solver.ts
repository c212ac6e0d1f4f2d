// HiGHS behind a small adapter: the solve runs in a worker thread (the WASM solve blocks its thread), under
// HiGHS's own time limit and a hard kill of the worker; every status is checked and reported with
// statistics. One worker is kept warm between solves (no thread start or HiGHS load per plan, and V8 keeps
// its optimised WebAssembly code). `optimiseWithFallbacks` chains the strict LP, the relaxed LP, the
// previous plan shifted and the rule-based plan, so a caller always gets a plan and the reason it is not the
// first choice.
//
// Algorithm choice, measured side by side with `npm run bench -- scale` (bench/scale.ts; numbers and load
// averages in planner/README.md, "Solver and measurements"): on the reference network (48 h, 60 mm storm)
// interior point took 2.7–3.0× the simplex time, and did not finish within 240 s at 100 and 500 stations
// where simplex did (100) or did not either (500). Simplex wins because after the first priority each later
// one only changes costs and adds a row the current optimum satisfies, so primal simplex continues from the
// previous basis (warm start); interior point starts over every time. 'simplex' = dual simplex for the first
// (cold) solve, primal simplex for the rest (a 4-scenario storm: 13k iterations / 4.3 s against 36k / 12.5 s
// with dual simplex for every priority). Default: 'simplex'. The first solve minimises the leading
// non-negative penalties together (solver-worker.js): the reference dry day then needs 4,462 iterations
// instead of 6,516 (0.53 s against 0.87 s CPU), with the same optima. A model made of independent parts
// (separate systems) is solved part by part on the same worker (`decompose`): 500 stations in 7 parts.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LinearProblem } from './lp.js';
import type { SolverPriorityStats, SolverStats } from './types.js';

export type SolverAlgorithm = 'simplex' | 'ipm' | 'choose';

export const defaultAlgorithm: SolverAlgorithm = 'simplex';

export interface SolveOptions {
  algorithm?: SolverAlgorithm;
  /** HiGHS time limit over all priorities (seconds). */
  timeLimitS?: number;
  /** The worker is terminated this long after the time limit if HiGHS has not returned. */
  hardKillGraceMs?: number;
  /**
   * How an optimum is kept while lower priorities are solved: 'tolerance' (default) adds the row
   * "priority ≤ optimum + max(absTol, relTol·|optimum|)"; 'optimal-face' also fixes every column with a
   * nonzero reduced cost, which gives up that tolerance for lower priorities and solves several times
   * faster on large models (measured in bench/scale.ts).
   */
  holdOptimum?: HoldOptimum;
  /**
   * Solve the leading zero-bounded penalties together first (default true): the same answer, and on a dry
   * day one solve instead of one per safety priority. False solves them one by one (for comparison).
   */
  combineLeading?: boolean;
  /**
   * Solve the independent parts of the model (columns no row joins: separate systems of the network) as
   * separate LPs, one after the other on the same worker (default true). False solves the model whole.
   */
  decompose?: boolean;
  /**
   * Let HiGHS perturb bounds in the warm-started primal simplex stages (its default; false here): measured
   * slower for the planner's models with the same optima (bench/scale.ts variant 'perturbed').
   */
  perturbPrimalBounds?: boolean;
}

export type HoldOptimum = 'tolerance' | 'optimal-face';

export interface LexicographicResult {
  /** 'optimal' when every priority was solved; otherwise the status that stopped the sequence ('killed', 'error', ...). */
  status: string;
  /** Priorities solved to optimality, in order. */
  completed: number;
  /** Solution after the last completed priority (feasible for all constraints); null when none completed. */
  colValue: Float64Array | null;
  stats: Omit<SolverStats, 'formulation'>;
  /** Where the time went (absent when the worker did not reply). */
  timings?: SolveTimings;
  error?: string;
}

interface WorkerReply {
  id: number;
  ok: boolean;
  status?: string;
  completed?: number;
  priorities?: SolverPriorityStats[];
  colValue?: Float64Array | null;
  timings?: WorkerTimings;
  /** The first solve of the leading non-negative penalties together (see solver-worker.js). */
  combined?: { iterations: number; solveMs: number };
  /** Independent parts the model was solved in (1: whole). */
  parts?: number;
  error?: string;
}

interface WorkerTimings {
  /** The worker loaded HiGHS for this job (its first). */
  firstJob: boolean;
  loadMs: number;
  /** Handing the model to HiGHS (createModel). */
  modelMs: number;
  /** Inside HiGHS's run() over all priorities. */
  stagesMs: number;
  /** Costs, bounds and rows changed between priorities, solutions read back. */
  betweenStagesMs: number;
  /** HiGHS's WebAssembly memory after the job: it only grows, so this is the worker's peak heap. */
  wasmMemoryBytes: number;
}

/** Where a solve's wall time went, for benchmarks and profiling. */
export interface SolveTimings extends WorkerTimings {
  /** The job ran on a worker kept warm from an earlier solve (no thread start, HiGHS already loaded). */
  warmWorker: boolean;
  /** The combined first solve of the leading zero-bounded penalties (its iterations and time are in the totals). */
  combined: { iterations: number; solveMs: number } | null;
  /** Call to reply, minus the worker's own load, model and solve time: thread start, messaging, copies. */
  overheadMs: number;
  /** Independent parts the model was solved in (1: whole; see SolveOptions.decompose). */
  parts: number;
}

const workerUrl = new URL('./solver-worker.js', import.meta.url);

/** A compiled WebAssembly module: opaque here, handed to workers as is (the project's libs omit WebAssembly types). */
type CompiledWasm = object;
declare const WebAssembly: { compile(bytes: Uint8Array): Promise<CompiledWasm> };

let compiledHighs: Promise<CompiledWasm | null> | null = null;

/** HiGHS compiled once per process and handed to every worker (compiling it costs ~0.1 s per solve otherwise). */
function highsModule(): Promise<CompiledWasm | null> {
  compiledHighs ??= readFile(fileURLToPath(import.meta.resolve('highs/runtime')))
    .then((bytes) => WebAssembly.compile(bytes))
    // The worker can still load and compile HiGHS itself.
    .catch(() => null);
  return compiledHighs;
}

type ThreadEvent = { kind: 'reply'; reply: WorkerReply } | { kind: 'failed'; message: string };

/**
 * A solver worker that outlives one solve: starting a thread and loading HiGHS into it costs more than a
 * small solve, and V8's optimised WebAssembly code is kept with it.
 */
class SolverThread {
  readonly worker = new Worker(workerUrl, { execArgv: [] }); // plain JS: no loader flags needed, starts faster
  /** HiGHS module already sent (the worker keeps it). */
  loaded = false;
  alive = true;
  jobs = 0;
  private listener: ((event: ThreadEvent) => void) | null = null;

  constructor() {
    this.worker.on('message', (reply: WorkerReply) => this.listener?.({ kind: 'reply', reply }));
    this.worker.on('error', (error) => this.fail(`solver worker crashed: ${error.message}`));
    this.worker.on('exit', (code) => this.fail(`solver worker exited with code ${code}`));
  }

  private fail(message: string): void {
    this.alive = false;
    if (warmThread === this) warmThread = null;
    this.listener?.({ kind: 'failed', message });
  }

  /** Runs one job; `listener` gets its reply or the thread's failure. */
  start(job: Record<string, unknown>, listener: (event: ThreadEvent) => void): void {
    this.listener = listener;
    this.jobs += 1;
    this.worker.ref(); // keep the process alive while a caller waits for this solve
    this.worker.postMessage(job);
  }

  /** Back to idle: an idle worker does not keep the process alive. */
  release(): void {
    this.listener = null;
    this.worker.unref();
  }

  kill(): void {
    this.alive = false;
    this.listener = null;
    if (warmThread === this) warmThread = null;
    void this.worker.terminate();
  }
}

/** At most one idle worker is kept; concurrent solves get extra workers that end after their job. */
let warmThread: SolverThread | null = null;
let nextJobId = 1;

/** A worker whose HiGHS heap grew beyond this (large models) ends after its job instead of holding the memory. */
export const keepWarmMaxWasmBytes = 512 * 1024 * 1024;

/** Ends the idle solver worker, if any (it never keeps the process alive; this frees its memory now). */
export async function closeSolverWorkers(): Promise<void> {
  const thread = warmThread;
  warmThread = null;
  if (thread) {
    thread.alive = false;
    await thread.worker.terminate();
  }
}

/** Solve the priorities of `problem` one after the other in a worker thread. Never throws. */
export async function solveLexicographic(problem: LinearProblem, options: SolveOptions = {}): Promise<LexicographicResult> {
  const algorithm = options.algorithm ?? defaultAlgorithm;
  const timeLimitS = Math.max(0.1, options.timeLimitS ?? 30);
  const graceMs = options.hardKillGraceMs ?? 3000;
  const started = performance.now();
  const base = {
    engine: 'highs' as const,
    algorithm,
    columns: problem.numCols,
    rows: problem.numRows,
    nonzeros: problem.indices.length,
  };
  const finish = (reply: WorkerReply | null, status: string, error?: string, warmWorker = false): LexicographicResult => {
    const priorities = reply?.priorities ?? [];
    const completed = reply?.completed ?? 0;
    const solved = priorities.filter((p) => p.status === 'optimal');
    const wallMs = performance.now() - started;
    const t = reply?.timings;
    return {
      status,
      completed,
      colValue: reply?.colValue ?? null,
      stats: {
        ...base,
        status,
        objective: solved.length > 0 ? solved[solved.length - 1]!.objective : null,
        iterations: priorities.reduce((a, p) => a + p.iterations, reply?.combined?.iterations ?? 0),
        solveMs: priorities.reduce((a, p) => a + p.solveMs, reply?.combined?.solveMs ?? 0),
        wallMs,
        priorities,
      },
      ...(t ? { timings: { ...t, warmWorker, combined: reply?.combined ?? null, parts: reply?.parts ?? 1, overheadMs: wallMs - t.loadMs - t.modelMs - t.stagesMs - t.betweenStagesMs } } : {}),
      ...(error === undefined ? {} : { error }),
    };
  };
  if (problem.objectives.length === 0) return finish({ id: 0, ok: true, completed: 0, priorities: [], colValue: null }, 'error', 'the problem has no objective');

  const wasmModule = await highsModule();
  const warm = warmThread?.alive === true ? warmThread : null;
  warmThread = null;
  const thread = warm ?? new SolverThread();
  const id = nextJobId++;
  return new Promise<LexicographicResult>((resolve) => {
    let settled = false;
    const settle = (result: LexicographicResult, reusable: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(killer);
      // Keep one worker warm; a worker killed, failed, grown large, or beside a warm one ends here.
      if (reusable && thread.alive && warmThread === null) {
        thread.release();
        warmThread = thread;
      } else {
        thread.kill();
      }
      resolve(result);
    };
    const killer = setTimeout(() => settle(finish(null, 'killed', `solver did not return within ${timeLimitS} s + ${graceMs} ms; worker terminated`), false), timeLimitS * 1000 + graceMs);
    thread.start(
      {
        id,
        problem: {
          numCols: problem.numCols,
          numRows: problem.numRows,
          colLower: problem.colLower,
          colUpper: problem.colUpper,
          rowLower: problem.rowLower,
          rowUpper: problem.rowUpper,
          starts: problem.starts,
          indices: problem.indices,
          values: problem.values,
          objectives: problem.objectives,
        },
        options: { algorithm, timeLimitS, holdOptimum: options.holdOptimum ?? 'tolerance', combineLeading: options.combineLeading ?? true, decompose: options.decompose ?? true, perturbPrimalBounds: options.perturbPrimalBounds ?? false },
        ...(thread.loaded ? {} : { wasmModule }),
      },
      (event) => {
        if (event.kind === 'failed') return settle(finish(null, 'error', event.message), false);
        const reply = event.reply;
        if (reply.id !== id) return; // a reply to a job this thread gave up on cannot arrive (killed threads are not reused)
        thread.loaded = true;
        const reusable = (reply.timings?.wasmMemoryBytes ?? Number.POSITIVE_INFINITY) <= keepWarmMaxWasmBytes;
        if (!reply.ok) settle(finish(null, 'error', reply.error ?? 'solver worker failed'), reusable);
        else settle(finish(reply, reply.status ?? 'error', reply.status === 'optimal' ? undefined : `solver stopped with status ${reply.status}`, warm !== null), reusable);
      },
    );
  });
}

/** One formulation to try; `build` may throw (e.g. inputs that contradict each other) to skip to the next. */
export interface LpAttempt<T> {
  formulation: 'strict' | 'relaxed';
  build: () => { problem: LinearProblem; context: T };
}

/** A plan that does not need the solver; `make` returns null when it cannot be made (no previous plan). */
export interface PlanFallbackStep<P> {
  kind: 'previous-plan' | 'rule-based';
  make: () => P | null;
}

export type FallbackOutcome<T, P> =
  | { kind: 'solved'; formulation: 'strict' | 'relaxed'; problem: LinearProblem; context: T; result: LexicographicResult; failures: string[] }
  | { kind: 'previous-plan' | 'rule-based'; plan: P; failures: string[] };

/**
 * Try the LP formulations in order, then the plan fallbacks. An LP attempt counts when at least its first
 * priority was solved (the solution is then feasible). A time-out stops the LP attempts: a relaxed model is
 * larger and would not finish either. The last plan fallback must always produce a plan.
 */
export async function optimiseWithFallbacks<T, P>(attempts: LpAttempt<T>[], fallbacks: PlanFallbackStep<P>[], options: SolveOptions): Promise<FallbackOutcome<T, P>> {
  const failures: string[] = [];
  const deadline = performance.now() + (options.timeLimitS ?? 30) * 1000;
  for (const attempt of attempts) {
    let built: { problem: LinearProblem; context: T };
    try {
      built = attempt.build();
    } catch (error) {
      failures.push(`${attempt.formulation} model: ${(error as Error).message}`);
      continue;
    }
    const remainingS = Math.max(1, (deadline - performance.now()) / 1000);
    const result = await solveLexicographic(built.problem, { ...options, timeLimitS: remainingS });
    if (result.colValue && result.completed > 0) {
      if (result.status !== 'optimal') failures.push(`${attempt.formulation} model: ${result.error ?? result.status} after ${result.completed} of ${built.problem.objectives.length} priorities`);
      return { kind: 'solved', formulation: attempt.formulation, problem: built.problem, context: built.context, result, failures };
    }
    failures.push(`${attempt.formulation} model: ${result.error ?? result.status}`);
    if (result.status === 'time-limit' || result.status === 'killed') break;
  }
  for (const fallback of fallbacks) {
    try {
      const plan = fallback.make();
      if (plan) return { kind: fallback.kind, plan, failures };
      failures.push(`${fallback.kind}: not available`);
    } catch (error) {
      failures.push(`${fallback.kind}: ${(error as Error).message}`);
    }
  }
  throw new Error(`no plan could be made: ${failures.join('; ')}`);
}
