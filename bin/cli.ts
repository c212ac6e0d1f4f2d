// sewer-dispatch: command-line access to the optimising planner.
//   sewer-dispatch plan --network N --state S --inflow F --out P [--constraints C] [--previous P]
//                       [--now ISO] [--algorithm simplex|ipm|choose] [--time-limit S] [--horizon-h H]
//   sewer-dispatch schema state|inflow|constraints            JSON Schema of an input file
//   sewer-dispatch example --network N --state S --inflow F [--now ISO] [--rain-mm R] [--members M]
// Exit codes: 0 plan written (a fallback plan too: its reason is printed), 2 bad input, 1 other failure.
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile } from '../network/load.js';
import { ConfigError } from '../network/validate.js';
import { ConstraintsFile, InflowFile, StateFile, parseConstraintsFile, parseInflowFile, parseStateFile, toInflowFile, toStateFile } from '../planner/files.js';
import { catchmentInflow, rdiiFromRain } from '../planner/inflow.js';
import { planWithOptimiser } from '../planner/mpc.js';
import type { SolverAlgorithm } from '../planner/solver.js';
import type { Plan } from '../planner/types.js';

class UsageError extends Error {}

/** Where the CLI writes: the process streams, or a test's buffers. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const processIo: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [{ path: '', value: path, reason: `cannot read file: ${(error as Error).message}` }]);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(path, [{ path: '', value: undefined, reason: `not valid JSON: ${(error as Error).message}` }]);
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`--${name} is required`);
  return v;
}

function timeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!Number.isFinite(t)) throw new UsageError(`--${name} must be an ISO 8601 time with a zone, got ${value}`);
  return t;
}

function numberOption(value: string | undefined, name: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new UsageError(`--${name} must be a number ≥ ${min}, got ${value}`);
  return n;
}

async function writeJson(io: CliIo, path: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (path === '-') io.stdout(text);
  else await writeFile(path, text);
}

function summary(plan: Plan): string {
  const lines = [`plan ${plan.planId}: planner ${plan.planner}, ${plan.steps.length} steps of ${plan.stepMin} min, mode ${plan.operatingMode}`];
  if (plan.solver) lines.push(`solver: ${plan.solver.algorithm} ${plan.solver.status} (${plan.solver.formulation}), ${plan.solver.iterations} iterations, ${plan.solver.solveMs.toFixed(0)} ms solve, ${plan.solver.wallMs.toFixed(0)} ms wall`);
  if (plan.predicted) {
    const p = plan.predicted;
    lines.push(`predicted: overflow ${p.overflowM3.toFixed(0)} m3, bypass ${p.bypassM3.toFixed(0)} m3, energy ${p.energyKwh.toFixed(0)} kWh, cost ${p.costCny.toFixed(0)} CNY`);
    for (const r of p.risk.filter((x) => x.probability > 0)) lines.push(`  overflow risk ${r.objectId}: ${(r.probability * 100).toFixed(0)}% of ${r.scenarioCount} scenarios, expected ${r.expectedVolumeM3.toFixed(0)} m3`);
  }
  if (plan.fallback) lines.push(`FALLBACK ${plan.fallback.kind}: ${plan.fallback.reason.en}`);
  for (const a of plan.assumptions ?? []) lines.push(`assumed: ${a.en}`);
  if (plan.clamped.length > 0) lines.push(`${plan.clamped.length} setpoints clamped to their envelopes`);
  return lines.join('\n');
}

async function plan(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      network: { type: 'string' },
      state: { type: 'string' },
      inflow: { type: 'string' },
      out: { type: 'string' },
      constraints: { type: 'string' },
      previous: { type: 'string' },
      now: { type: 'string' },
      algorithm: { type: 'string' },
      'time-limit': { type: 'string' },
      'horizon-h': { type: 'string' },
      'plan-id': { type: 'string' },
    },
    strict: true,
  });
  const network = await loadNetworkFile(required(values, 'network'));
  const statePath = required(values, 'state');
  const inflowPath = required(values, 'inflow');
  const out = required(values, 'out');
  const state = parseStateFile(await readJson(statePath), network, statePath);
  const inflow = parseInflowFile(await readJson(inflowPath), network, inflowPath);
  const constraints = values.constraints ? parseConstraintsFile(await readJson(values.constraints), network, values.constraints) : undefined;
  const previousPlan = values.previous ? ((await readJson(values.previous)) as Plan) : null;
  if (values.algorithm !== undefined && !['simplex', 'ipm', 'choose'].includes(values.algorithm)) throw new UsageError(`--algorithm must be simplex, ipm or choose`);
  const nowUtcMs = timeOption(values.now, 'now') ?? state.readAtUtcMs;
  const timeLimitS = numberOption(values['time-limit'], 'time-limit', 1);
  const horizonH = numberOption(values['horizon-h'], 'horizon-h', 1);
  const result = await planWithOptimiser({
    planId: values['plan-id'] ?? `plan-${network.id}-${new Date(nowUtcMs).toISOString()}`,
    network,
    state,
    inflow,
    nowUtcMs,
    previousPlan,
    ...(constraints ? { constraints } : {}),
    options: {
      ...(values.algorithm ? { algorithm: values.algorithm as SolverAlgorithm } : {}),
      ...(timeLimitS === undefined ? {} : { timeLimitS }),
      ...(horizonH === undefined ? {} : { horizonH }),
    },
  });
  await writeJson(io, out, result);
  io.stderr(`${summary(result)}\n`);
}

async function schema(args: string[], io: CliIo): Promise<void> {
  const which = args[0];
  const schemas: Record<string, unknown> = { state: StateFile, inflow: InflowFile, constraints: ConstraintsFile };
  if (which === undefined || !(which in schemas)) throw new UsageError('schema needs one of: state, inflow, constraints');
  io.stdout(`${JSON.stringify(schemas[which], null, 2)}\n`);
}

/** Example input files from the network's catchments: dry weather, optionally uniform rain and an ensemble. */
async function example(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { network: { type: 'string' }, state: { type: 'string' }, inflow: { type: 'string' }, now: { type: 'string' }, 'rain-mm': { type: 'string' }, members: { type: 'string' } },
    strict: true,
  });
  const network = await loadNetworkFile(required(values, 'network'));
  const nowUtcMs = timeOption(values.now, 'now') ?? Math.floor(Date.now() / 60_000) * 60_000;
  const rainMm = numberOption(values['rain-mm'], 'rain-mm', 0) ?? 0;
  const members = numberOption(values.members, 'members', 0) ?? 0;
  const stepMin = network.planning.stepMin;
  const startUtcMs = Math.floor(nowUtcMs / (stepMin * 60_000)) * stepMin * 60_000;
  const steps = Math.ceil(((network.planning.horizonH + 2) * 60) / stepMin);
  // Rain over 6 h starting 3 h from now, the same on every catchment; members scale it 0.5×…1.5×.
  const series = (scale: number) => {
    const rain = Array.from({ length: steps }, (_, i) => (i * stepMin >= 180 && i * stepMin < 540 ? (rainMm * scale * stepMin) / 360 : 0));
    const rdii = Object.fromEntries(network.catchments.map((c) => [c.id, rdiiFromRain(c, rain, stepMin)]));
    return catchmentInflow(network, { startUtcMs, stepMin, steps, rdiiM3hByCatchment: rdii });
  };
  const state = toStateFile({
    readAtUtcMs: nowUtcMs,
    stations: network.stations.map((s) => ({ stationId: s.id, levelM: s.levels.pumpStartM, pumpsAvailable: s.pumps.length, mode: 'remote', outflowM3h: 0 })),
    tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: 0 })),
    transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferM3h: 0 })),
  });
  const inflow = toInflowFile({
    startUtcMs,
    stepMin,
    source: `example: catchment DWF${rainMm > 0 ? ` + RDII of ${rainMm} mm rain` : ''}`,
    series: series(1),
    ...(members > 0 ? { members: Array.from({ length: members }, (_, m) => ({ id: `m${m + 1}`, series: series(0.5 + m / Math.max(1, members - 1)) })) } : {}),
  });
  await writeJson(io, required(values, 'state'), state);
  await writeJson(io, required(values, 'inflow'), inflow);
}

const usage = `usage:
  sewer-dispatch plan --network N --state S --inflow F --out P [--constraints C] [--previous P] [--now ISO] [--algorithm simplex|ipm|choose] [--time-limit S] [--horizon-h H]
  sewer-dispatch schema state|inflow|constraints
  sewer-dispatch example --network N --state S --inflow F [--now ISO] [--rain-mm R] [--members M]`;

/** Run one command; resolves to the exit code (0 done, 2 bad input or usage, 1 other failure). */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === '--help' || command === '-h' || command === 'help') {
      io.stdout(`${usage}\n`);
      return 0;
    }
    if (command === 'plan') await plan(rest, io);
    else if (command === 'schema') await schema(rest, io);
    else if (command === 'example') await example(rest, io);
    else throw new UsageError(command ? `unknown command ${command}` : 'no command');
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr(`${error.message}\n`);
      return 2;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`${(error as Error).message}\n${usage}\n`);
      return 2;
    }
    io.stderr(`sewer-dispatch: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}

// Run when started as a program (bin/sewer-dispatch.js), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
