// Planner scale: solve time and peak memory of the optimising planner's LP on networks of growing size.
//
//   npm run bench -- scale [--json] [--sizes 16,100,500] [--runs 3] [--horizon-h 48] [--rain-mm 60]
//                          [--members 0] [--time-limit 300] [--seed 1] [--variants default,ipm,optimal-face]
//
// Workload per size: the reference network for 16 stations, a generated network (network/generate.ts,
// `--seed`) otherwise; the planner's grid (15-min steps for 6 h, then hourly) over a 48 h horizon; a storm of
// `--rain-mm` over +4…+10 h through each catchment's RTK response on top of dry-weather flow (the
// deterministic inflow, plus `--members` ensemble members scaled 0.4…1.6 when asked); every station in
// remote control, wells at 1.8 m. The model is built by formulation.ts exactly as the planner does and
// solved by solver.ts (all priorities, lexicographically).
//
// Each size runs in its own child process so that its peak memory is its own: `peak_mb` is the child's
// peak resident set size, which includes the solver worker thread and its WebAssembly heap (also reported
// alone as `wasm_peak_mb`). In the child: one untimed warm-up solve of a small model (worker started,
// HiGHS loaded, V8's optimised WebAssembly code ready), then `--runs` rounds, each solving the model once per
// variant in turn so that machine load hits all variants alike; medians reported. Variants, side by side:
//   default        the planner's setting: simplex (dual, then primal warm starts), optima held by tolerance rows
//   ipm            interior point for every priority (HiGHS 'ipm'), optima held by tolerance rows
//   optimal-face   simplex, and each optimum also held by fixing the columns with nonzero reduced cost
//   cold-worker    (only when asked) the default on a fresh worker thread that loads HiGHS again
//   one-by-one     (only when asked) the default without the combined first solve of the leading penalties
//   whole          (only when asked) the default with the model solved whole, not split into its independent parts
//   perturbed      (only when asked) the default with HiGHS's bound perturbation in the primal simplex stages
// `solve_ms` is the default variant's median wall time of solveLexicographic (worker round trip included;
// model building excluded: `build_ms` is formulation.ts alone, the inflow is made before). A solve that hits
// `--time-limit` is reported with its status. `solve_cpu_ms`: CPU time of the process during the solve (the
// worker thread included), less disturbed by other work on the machine than wall time.
// Per variant, `stages` lists each priority's HiGHS iterations and time (the combined first solve as
// 'leading'), and `parts` the independent parts the model was solved in (solver-worker.js).
// Growth: log-log least-squares slope of the default solve time against stations × steps (1 = linear).
// Targets (issue 5): reference network ≤ 1 s per plan, 100 stations ≤ 10 s, growth close to linear.
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateNetwork } from '../network/generate.js';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { buildTimeGrid, formulate, type Formulation, type Scenario, type TimeGrid } from '../planner/formulation.js';
import { defaultMpcOptions } from '../planner/mpc.js';
import { catchmentInflow, dryWeatherByNode, meanOverWindow, rdiiFromRain } from '../planner/inflow.js';
import { closeSolverWorkers, solveLexicographic, type HoldOptimum, type SolverAlgorithm } from '../planner/solver.js';

export const TARGETS = { referencePlanS: 1, stations100S: 10 };

const VARIANTS: Record<string, { algorithm: SolverAlgorithm; holdOptimum: HoldOptimum; combineLeading?: boolean; decompose?: boolean; perturbPrimalBounds?: boolean; coldWorker?: boolean }> = {
  default: { algorithm: 'simplex', holdOptimum: 'tolerance' },
  'cold-worker': { algorithm: 'simplex', holdOptimum: 'tolerance', coldWorker: true },
  'one-by-one': { algorithm: 'simplex', holdOptimum: 'tolerance', combineLeading: false },
  whole: { algorithm: 'simplex', holdOptimum: 'tolerance', decompose: false },
  perturbed: { algorithm: 'simplex', holdOptimum: 'tolerance', perturbPrimalBounds: true },
  ipm: { algorithm: 'ipm', holdOptimum: 'tolerance' },
  'optimal-face': { algorithm: 'simplex', holdOptimum: 'optimal-face' },
};

const NOW_UTC_MS = Date.UTC(2026, 6, 1, 2, 7); // 10:07 local on a Wednesday, as bin/bench-planner.ts
const INFLOW_STEP_MIN = 15;

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, decimals: number) => Number(value.toFixed(decimals));
const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

function positiveNumber(name: string, raw: string, integer: boolean, allowZero = false): number {
  const value = Number(raw);
  if (!(Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} ${integer ? 'whole number' : 'number'}, got "${raw}"`);
  }
  return value;
}

interface SizeOptions {
  stations: number;
  runs: number;
  horizonH: number;
  rainMm: number;
  members: number;
  timeLimitS: number;
  seed: number;
  variants: string[];
}

export interface ScaleWorkload {
  network: NetworkConfig;
  grid: TimeGrid;
  scenarios: Scenario[];
}

/** The planner's grid and a storm inflow (plus members) on it: the planner's input, made before timing. */
export function scaleWorkload(network: NetworkConfig, horizonH: number, rainMm: number, members: number): ScaleWorkload {
  const grid = buildTimeGrid(NOW_UTC_MS, { fineStepMin: network.planning.stepMin, fineHorizonH: 6, coarseStepMin: 60, horizonH });
  const K = grid.durationH.length;
  const startUtcMs = Math.floor(NOW_UTC_MS / 3_600_000) * 3_600_000;
  const steps = Math.ceil(((grid.boundariesUtcMs[K]! - startUtcMs) / 60_000 / INFLOW_STEP_MIN) + 1);
  const dryWeather = dryWeatherByNode(network, grid.boundariesUtcMs);
  const nodes = [...network.stations.map((s) => s.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id)];
  const scenario = (id: string, totalMm: number): Scenario => {
    // Rain from +4 h to +10 h, heavier in the west (×1.2) than in the east (×0.8).
    const rdii = Object.fromEntries(
      network.catchments.map((c) => {
        const side = c.location.lonDeg < 121 ? 1.2 : 0.8;
        const rain = Array.from({ length: steps }, (_, i) => (i >= 16 && i < 40 ? (totalMm * side) / 24 : 0));
        return [c.id, rdiiFromRain(c, rain, INFLOW_STEP_MIN)];
      }),
    );
    const byNode = new Map(catchmentInflow(network, { startUtcMs, stepMin: INFLOW_STEP_MIN, steps, rdiiM3hByCatchment: rdii }).map((s) => [s.nodeId, s.flowM3h]));
    const inflowM3h = new Map<string, number[]>();
    for (const node of nodes) {
      const series = byNode.get(node);
      if (series) inflowM3h.set(node, Array.from({ length: K }, (_, k) => Math.max(0, meanOverWindow(series, startUtcMs, INFLOW_STEP_MIN, grid.boundariesUtcMs[k]!, grid.boundariesUtcMs[k + 1]!))));
      else if (dryWeather.has(node)) inflowM3h.set(node, dryWeather.get(node)!);
    }
    return { id, weight: 1, inflowM3h };
  };
  const all = [scenario('deterministic', rainMm), ...Array.from({ length: members }, (_, m) => scenario(`m${m + 1}`, rainMm * (0.4 + (1.2 * m) / Math.max(1, members - 1))))];
  return { network, grid, scenarios: all.map((s) => ({ ...s, weight: 1 / all.length })) };
}

/** The planner's LP for a workload (formulation.ts as the planner calls it), all stations remote at 1.8 m. */
export function buildScaleModel({ network, grid, scenarios }: ScaleWorkload): Formulation {
  const K = grid.durationH.length;
  const sharedSteps = Math.max(1, grid.offsetH.slice(0, K).filter((h) => h * 60 < 60).length);
  // The planner's steadiness and start pricing, as it plans (planner/mpc.ts defaults).
  const defaults = defaultMpcOptions(network);
  return formulate({
    network,
    grid,
    scenarios,
    initial: {
      stations: new Map(network.stations.map((s) => [s.id, { levelM: 1.8, pumpsAvailable: s.pumps.length, outflowM3h: 100, flowSetpointM3h: null, locked: false }])),
      tanks: new Map(),
      transfers: new Map(),
    },
    constraints: {},
    options: {
      sharedSteps,
      robustness: 'expected',
      reserveLookAheadH: 6,
      tankTurnoverH: defaults.tankTurnoverH,
      alarmMarginFraction: defaults.alarmMarginFraction,
      plantRampFractionPerH: defaults.plantRampFractionPerH,
      plantBalanceBand: defaults.plantBalanceBand,
      plantDeviationBand: defaults.plantDeviationBand,
      overflowHarm: {},
      relaxed: false,
      economy: 'nominal',
      vfdStartCostCny: defaults.vfdStartCostCny,
    },
  });
}

interface VariantRun {
  wallMs: number;
  /** CPU time of the whole process (the solver worker's thread included) during the solve. */
  cpuMs: number;
  solveMs: number;
  status: string;
  iterations: number;
  objectives: (number | null)[];
  /** Per priority: HiGHS iterations and time inside HiGHS (the combined first solve listed as 'leading'). */
  stages: { name: string; iterations: number; solveMs: number }[];
  /** Independent parts the model was solved in. */
  parts: number;
}

/** One size, measured in this process (the child side). */
async function measureSize(o: SizeOptions): Promise<Record<string, unknown>> {
  const network = o.stations === 16 ? await loadNetworkFile(referenceNetworkPath) : generateNetwork({ stations: o.stations, seed: o.seed });
  const loadBefore = os.loadavg()[0]!;
  // Warm-up on a small model: thread started, HiGHS loaded, optimised WebAssembly code in place.
  const small = buildScaleModel(scaleWorkload(await loadNetworkFile(referenceNetworkPath), 6, o.rainMm, 0));
  await solveLexicographic(small.problem, { timeLimitS: o.timeLimitS });

  const workload = scaleWorkload(network, o.horizonH, o.rainMm, o.members);
  const buildStart = performance.now();
  const f = buildScaleModel(workload);
  const buildMs = performance.now() - buildStart;
  const steps = f.grid.durationH.length;
  const runs = new Map<string, VariantRun[]>(o.variants.map((v) => [v, []]));
  let wasmPeakBytes = 0;
  for (let r = 0; r < o.runs; r++) {
    for (const name of o.variants) {
      const { coldWorker, ...variant } = VARIANTS[name]!;
      if (coldWorker) await closeSolverWorkers();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const result = await solveLexicographic(f.problem, { ...variant, timeLimitS: o.timeLimitS });
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      wasmPeakBytes = Math.max(wasmPeakBytes, result.timings?.wasmMemoryBytes ?? 0);
      runs.get(name)!.push({
        wallMs,
        cpuMs: (cpu.user + cpu.system) / 1000,
        solveMs: result.stats.solveMs,
        status: result.status,
        iterations: result.stats.iterations,
        objectives: result.stats.priorities.map((p) => p.objective),
        parts: result.timings?.parts ?? 1,
        stages: [
          ...(result.timings?.combined ? [{ name: 'leading', ...result.timings.combined }] : []),
          ...result.stats.priorities.map((p) => ({ name: p.name, iterations: p.iterations, solveMs: p.solveMs })),
        ].map((p) => ({ name: p.name, iterations: p.iterations, solveMs: round(p.solveMs, 0) })),
      });
      process.stderr.write(`scale: ${o.stations} stations, ${name} run ${r + 1}/${o.runs}: ${result.status} in ${(wallMs / 1000).toFixed(2)} s (load ${os.loadavg()[0]!.toFixed(1)})\n`);
    }
  }
  await closeSolverWorkers();
  const byVariant: Record<string, unknown> = {};
  for (const [name, rs] of runs) {
    byVariant[name] = {
      wall_ms_median: round(median(rs.map((x) => x.wallMs)), 0),
      cpu_ms_median: round(median(rs.map((x) => x.cpuMs)), 0),
      highs_run_ms_median: round(median(rs.map((x) => x.solveMs)), 0),
      runs_wall_ms: rs.map((x) => round(x.wallMs, 0)),
      statuses: [...new Set(rs.map((x) => x.status))],
      iterations: rs[0]?.iterations ?? null,
      objectives: rs[0]?.objectives.map((v) => (v === null ? null : Number(v.toPrecision(8)))) ?? [],
      stages: rs[0]?.stages ?? [],
      parts: rs[0]?.parts ?? null,
    };
  }
  const allOptimal = (name: string) => runs.get(name)?.every((x) => x.status === 'optimal') === true;
  const medianWall = (name: string) => (runs.has(name) ? median(runs.get(name)!.map((x) => x.wallMs)) : null);
  const base = medianWall('default');
  // A ratio only between variants that both solved every run (a time-limited run has no real time).
  const ratio = (name: string) => {
    const m = medianWall(name);
    return m !== null && base !== null && allOptimal(name) && allOptimal('default') ? round(m / base, 2) : null;
  };
  const baseRuns = runs.get('default') ?? [];
  return {
    stations: o.stations,
    steps,
    scenarios: f.scenarios.length,
    columns: f.problem.numCols,
    rows: f.problem.numRows,
    nonzeros: f.problem.indices.length,
    solve_ms: base === null ? null : round(base, 0),
    solve_cpu_ms: baseRuns.length === 0 ? null : round(median(baseRuns.map((x) => x.cpuMs)), 0),
    status: baseRuns.every((x) => x.status === 'optimal') ? 'optimal' : [...new Set(baseRuns.map((x) => x.status))].join(','),
    peak_mb: mb(process.resourceUsage().maxRSS * 1024),
    wasm_peak_mb: mb(wasmPeakBytes),
    build_ms: round(buildMs, 0),
    ipm_over_simplex: ratio('ipm'),
    optimal_face_over_default: ratio('optimal-face'),
    ...(runs.has('cold-worker') ? { cold_worker_over_default: ratio('cold-worker') } : {}),
    ...(runs.has('one-by-one') ? { one_by_one_over_default: ratio('one-by-one') } : {}),
    ...(runs.has('whole') ? { whole_over_default: ratio('whole') } : {}),
    ...(runs.has('perturbed') ? { perturbed_over_default: ratio('perturbed') } : {}),
    variants: byVariant,
    loadavg_1m_before: round(loadBefore, 2),
    loadavg_1m_after: round(os.loadavg()[0]!, 2),
  };
}

/** Runs one size in a child process and returns its JSON (the child's last stdout line). */
function runChild(o: SizeOptions): Promise<Record<string, unknown>> {
  const self = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', self, '--child', '--stations', String(o.stations), '--runs', String(o.runs), '--horizon-h', String(o.horizonH), '--rain-mm', String(o.rainMm), '--members', String(o.members), '--time-limit', String(o.timeLimitS), '--seed', String(o.seed), '--variants', o.variants.join(',')];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) return reject(new Error(`scale: the ${o.stations}-station child exited with code ${code}`));
      try {
        resolve(JSON.parse(last) as Record<string, unknown>);
      } catch {
        reject(new Error(`scale: the ${o.stations}-station child printed no JSON: ${last.slice(0, 200)}`));
      }
    });
  });
}

/** Least-squares slope of log(y) against log(x): the exponent b of y ≈ a·x^b. */
export function logLogSlope(points: { x: number; y: number }[]): number | null {
  const p = points.filter((q) => q.x > 0 && q.y > 0);
  if (p.length < 2) return null;
  const lx = p.map((q) => Math.log(q.x));
  const ly = p.map((q) => Math.log(q.y));
  const mx = lx.reduce((a, b) => a + b, 0) / p.length;
  const my = ly.reduce((a, b) => a + b, 0) / p.length;
  let sxy = 0;
  let sxx = 0;
  lx.forEach((x, i) => {
    sxy += (x - mx) * (ly[i]! - my);
    sxx += (x - mx) ** 2;
  });
  return sxx > 0 ? sxy / sxx : null;
}

function parseOptions(args: string[]): SizeOptions & { sizes: number[]; child: boolean } {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      sizes: { type: 'string', default: '16,100,500' },
      stations: { type: 'string', default: '16' },
      runs: { type: 'string', default: '3' },
      'horizon-h': { type: 'string', default: '48' },
      'rain-mm': { type: 'string', default: '60' },
      members: { type: 'string', default: '0' },
      'time-limit': { type: 'string', default: '300' },
      seed: { type: 'string', default: '1' },
      variants: { type: 'string', default: 'default,ipm,optimal-face' },
      child: { type: 'boolean', default: false },
    },
  });
  const sizes = values.sizes.split(',').map((s) => positiveNumber('sizes', s.trim(), true));
  const variants = values.variants.split(',').map((v) => v.trim());
  for (const v of variants) if (!(v in VARIANTS)) throw new RangeError(`--variants: unknown variant "${v}" (known: ${Object.keys(VARIANTS).join(', ')})`);
  if (!variants.includes('default')) throw new RangeError('--variants must include "default" (solve_ms and the ratios are measured against it)');
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got "${values.seed}"`);
  return {
    sizes,
    child: values.child,
    stations: positiveNumber('stations', values.stations, true),
    runs: positiveNumber('runs', values.runs, true),
    horizonH: positiveNumber('horizon-h', values['horizon-h'], false),
    rainMm: positiveNumber('rain-mm', values['rain-mm'], false, true),
    members: positiveNumber('members', values.members, true, true),
    timeLimitS: positiveNumber('time-limit', values['time-limit'], false),
    seed,
    variants,
  };
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o = parseOptions(args);
  const benchStart = performance.now();
  const sizes: Record<string, unknown>[] = [];
  for (const stations of o.sizes) sizes.push(await runChild({ ...o, stations }));
  const growth = logLogSlope(sizes.filter((s) => s['status'] === 'optimal').map((s) => ({ x: (s['stations'] as number) * (s['steps'] as number), y: s['solve_ms'] as number })));
  const at = (n: number) => sizes.find((s) => s['stations'] === n);
  const within = (n: number, limitS: number) => {
    const s = at(n);
    return s === undefined ? null : s['status'] === 'optimal' && (s['solve_ms'] as number) <= limitS * 1000;
  };
  const growthCpu = logLogSlope(sizes.filter((s) => s['status'] === 'optimal').map((s) => ({ x: (s['stations'] as number) * (s['steps'] as number), y: s['solve_cpu_ms'] as number })));
  const ipmFaster = sizes.filter((s) => (s['ipm_over_simplex'] as number | null) !== null && (s['ipm_over_simplex'] as number) < 1).map((s) => s['stations']);
  return {
    sizes,
    growth_exponent_vs_stations_x_steps: growth === null ? null : round(growth, 2),
    growth_exponent_cpu: growthCpu === null ? null : round(growthCpu, 2),
    meets_reference_target: within(16, TARGETS.referencePlanS),
    meets_100_station_target: within(100, TARGETS.stations100S),
    algorithm_choice: ipmFaster.length === 0 ? 'simplex (interior point slower, or not finished within the limit, at every size)' : `interior point faster at ${ipmFaster.join(', ')} stations`,
    horizon_h: o.horizonH,
    rain_mm: o.rainMm,
    members: o.members,
    runs: o.runs,
    time_limit_s: o.timeLimitS,
    seed: o.seed,
    timing: 'wall clock of solveLexicographic (worker round trip, all priorities); model building excluded (build_ms); medians over runs after a warm-up solve',
    memory: 'peak_mb: peak RSS of the per-size child process, solver worker thread included; wasm_peak_mb: HiGHS WebAssembly heap',
    node_version: process.version,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    bench_wall_s: round((performance.now() - benchStart) / 1000, 1),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const o = parseOptions(process.argv.slice(2));
  if (!o.child) {
    console.error('bench/scale.ts: run it as `npm run bench -- scale [--json]`');
    process.exit(2);
  }
  measureSize(o).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (error: unknown) => {
      console.error(`scale: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
