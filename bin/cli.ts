// sewer-dispatch: command-line access to the optimising planner.
//   sewer-dispatch plan --network N --state S --inflow F --out P [--constraints C] [--previous P]
//                       [--now ISO] [--algorithm simplex|ipm|choose] [--time-limit S] [--horizon-h H] [--plan-id ID]
//   sewer-dispatch schema network|state|inflow|constraints    JSON Schema of an input file
//   sewer-dispatch example --network N --state S --inflow F [--now ISO] [--rain-mm R] [--members M]
// Exit codes: 0 plan written (a fallback plan too: its reason is printed), 2 bad input, 1 other failure.
// Output files are written whole or not at all (a temporary file in the same directory, then a rename).
import { constants } from 'node:fs';
import { access, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile } from '../network/load.js';
import { NetworkConfig } from '../network/schema.js';
import { ConfigError } from '../network/validate.js';
import {
  ConstraintsFile,
  InflowFile,
  IsoTimePattern,
  StateFile,
  parseConstraintsFile,
  parseInflowFile,
  parsePreviousPlan,
  parseStateFile,
  stateNotes,
  toInflowFile,
  toStateFile,
} from '../planner/files.js';
import { catchmentInflow, rdiiFromRain } from '../planner/inflow.js';
import { planWithOptimiser } from '../planner/mpc.js';
import type { SolverAlgorithm } from '../planner/solver.js';
import type { Plan } from '../planner/types.js';

class UsageError extends Error {}
/** An output file that cannot be written: one line, no stack. Exit 2 when found before solving (a bad --out), 1 when a write fails. */
class OutputError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

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

/** A time with its zone, as in the files: without one, Date.parse would take the machine's zone. */
function timeOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = new RegExp(IsoTimePattern).test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(t)) throw new UsageError(`--${name} must be an ISO 8601 time with a zone (e.g. 2026-07-01T06:00:00+08:00 or …Z), got ${value}`);
  return t;
}

function numberOption(value: string | undefined, name: string, min: number, max = Infinity, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${integer ? 'a whole number' : 'a number'} ${max === Infinity ? `≥ ${min}` : `from ${min} to ${max}`}, got ${value}`);
  }
  return n;
}

/** Fail before any work when an output file cannot be written: its directory missing or read-only, or it is a directory. */
async function checkWritable(file: string): Promise<void> {
  if (file === '-') return;
  const dir = path.dirname(path.resolve(file));
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    throw new OutputError(`cannot write ${file}: directory ${dir} ${(error as { code?: string }).code === 'ENOENT' ? 'does not exist' : 'is not writable'}`, 2);
  }
  const existing = await stat(file).catch(() => null);
  if (existing?.isDirectory()) throw new OutputError(`cannot write ${file}: it is a directory`, 2);
}

/**
 * Write JSON to a temporary file beside the target, flushed to disk, then rename it over the target: a full
 * disk or a crash leaves the previous file whole. Returns the commit (the rename), so callers writing two
 * files can write both before renaming either.
 */
async function stageJson(io: CliIo, file: string, value: unknown): Promise<() => Promise<void>> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  if (file === '-') return async () => io.stdout(text);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await rm(tmp, { force: true });
    throw new OutputError(`cannot write ${file}: ${(error as Error).message} (the previous file, if any, is unchanged)`);
  }
  return async () => {
    try {
      await rename(tmp, file);
    } catch (error) {
      await rm(tmp, { force: true });
      throw new OutputError(`cannot write ${file}: ${(error as Error).message}`);
    }
  };
}

async function writeJson(io: CliIo, file: string, value: unknown): Promise<void> {
  await (await stageJson(io, file, value))();
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
  const networkPath = required(values, 'network');
  const statePath = required(values, 'state');
  const inflowPath = required(values, 'inflow');
  const out = required(values, 'out');
  // Options first: a usage mistake is reported before any file is read or anything is solved.
  if (values.algorithm !== undefined && !['simplex', 'ipm', 'choose'].includes(values.algorithm)) throw new UsageError(`--algorithm must be simplex, ipm or choose`);
  const nowOption = timeOption(values.now, 'now');
  const timeLimitS = numberOption(values['time-limit'], 'time-limit', 1);
  // The network schema's range for planning.horizonH.
  const horizonH = numberOption(values['horizon-h'], 'horizon-h', 1, 168, true);
  await checkWritable(out);
  const network = await loadNetworkFile(networkPath);
  const state = parseStateFile(await readJson(statePath), network, statePath);
  const nowUtcMs = nowOption ?? state.readAtUtcMs;
  const horizon = { startUtcMs: nowUtcMs, endUtcMs: nowUtcMs + (horizonH ?? network.planning.horizonH) * 3_600_000 };
  const inflow = parseInflowFile(await readJson(inflowPath), network, inflowPath, horizon);
  const constraints = values.constraints ? parseConstraintsFile(await readJson(values.constraints), network, values.constraints) : undefined;
  const previousPlan = values.previous ? parsePreviousPlan(await readJson(values.previous), network, values.previous) : null;
  const planned = await planWithOptimiser({
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
  // What the state file makes the planner assume that the planner itself does not say (a level above overflow).
  const notes = stateNotes(state, network);
  const result: Plan = notes.length > 0 ? { ...planned, assumptions: [...(planned.assumptions ?? []), ...notes] } : planned;
  await writeJson(io, out, result);
  io.stderr(`${summary(result)}\n`);
}

async function schema(args: string[], io: CliIo): Promise<void> {
  const which = args[0];
  const schemas: Record<string, unknown> = { network: NetworkConfig, state: StateFile, inflow: InflowFile, constraints: ConstraintsFile };
  if (which === undefined || !(which in schemas)) throw new UsageError('schema needs one of: network, state, inflow, constraints');
  io.stdout(`${JSON.stringify(schemas[which], null, 2)}\n`);
}

/** Example input files from the network's catchments: dry weather, optionally uniform rain and an ensemble. */
async function example(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { network: { type: 'string' }, state: { type: 'string' }, inflow: { type: 'string' }, now: { type: 'string' }, 'rain-mm': { type: 'string' }, members: { type: 'string' } },
    strict: true,
  });
  const networkPath = required(values, 'network');
  const statePath = required(values, 'state');
  const inflowPath = required(values, 'inflow');
  const nowUtcMs = timeOption(values.now, 'now') ?? Math.floor(Date.now() / 60_000) * 60_000;
  const rainMm = numberOption(values['rain-mm'], 'rain-mm', 0) ?? 0;
  const members = numberOption(values.members, 'members', 0, 100, true) ?? 0;
  await checkWritable(statePath);
  await checkWritable(inflowPath);
  const network = await loadNetworkFile(networkPath);
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
  // Both staged before either is renamed: a failure leaves neither new file, not a state without its inflow.
  const commitState = await stageJson(io, statePath, state);
  let commitInflow: () => Promise<void>;
  try {
    commitInflow = await stageJson(io, inflowPath, inflow);
  } catch (error) {
    await rm(`${statePath}.tmp-${process.pid}`, { force: true });
    throw error;
  }
  await commitState();
  await commitInflow();
}

const usage = `usage:
  sewer-dispatch plan --network N --state S --inflow F --out P [--constraints C] [--previous P] [--now ISO] [--algorithm simplex|ipm|choose] [--time-limit S] [--horizon-h H] [--plan-id ID]
  sewer-dispatch schema network|state|inflow|constraints
  sewer-dispatch example --network N --state S --inflow F [--now ISO] [--rain-mm R] [--members M]
  --now: ISO 8601 with a zone (default: the state's readAtUtc); --horizon-h: 1..168 (default: the network's);
  --plan-id: the plan's id (default plan-<network>-<now>); --out -: the plan to stdout`;

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
    if (error instanceof OutputError) {
      io.stderr(`sewer-dispatch: ${error.message}\n`);
      return error.exitCode;
    }
    // One line for the user; the stack only when asked for (SEWER_DISPATCH_DEBUG=1).
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    io.stderr(`sewer-dispatch: ${process.env['SEWER_DISPATCH_DEBUG'] ? ((error as Error).stack ?? message) : message}\n`);
    return 1;
  }
}

// Run when started as a program (bin/sewer-dispatch.js), not when imported by tests.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runCli(process.argv.slice(2));
}
