// Simulator speed: simulated days per wall-clock second, as fast as possible, for the reference network
// and for a generated 500-station network, measured side by side in one process.
//
//   npm run bench -- sim [--json] [--runs 5] [--warmup 2] [--reference-days 30] [--generated-days 4]
//                        [--generated-stations 500] [--scenario typhoon] [--seed 1] [--step 60]
//
// Workload: each run builds a fresh simulation (not timed) and steps it from the scenario start for the
// given number of simulated days (timed), every station on local level control; the rain scenario starts at
// the run start (rain onset 6 h in), so the reference network's 30 days are a typhoon, its recession and
// dry weather (like a wet month of a year's replay), while the generated network's shorter run is mostly
// storm and RDII recession, the expensive part. Warm-up: `--warmup` runs of each network first, discarded
// (the JIT optimises and settles; the large network's at most one simulated day: the JIT needs steps, not
// days); then `--runs` measured runs, alternating the two networks so machine load hits both alike; the
// median is reported, with every run and the CPU-time rate (less disturbed by other processes' load) as
// context. Target (issue 3): ≥ 100 simulated days/s on the reference network.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { generateNetwork } from '../network/generate.js';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { isScenarioName, SCENARIO_NAMES } from '../scenarios/rain.js';
import { createSimulation } from '../simulator/model.js';
import { scenarioRain } from '../simulator/rain-adapter.js';

const DAY_MS = 86_400_000;
const START_UTC_MS = Date.UTC(2026, 6, 1);
export const TARGET_REFERENCE_DAYS_PER_S = 100;

interface RunResult {
  wallS: number;
  cpuS: number;
  relativeMassError: number;
}

function timeRun(network: NetworkConfig, days: number, scenario: string, seed: number, stepS: number): RunResult {
  const { rainMmPerMin } = scenarioRain(scenario, START_UTC_MS);
  const simulation = createSimulation({ network, startUtcMs: START_UTC_MS, stepS, seed, rainMmPerMin, initialModes: 'local' });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  simulation.runUntil(START_UTC_MS + days * DAY_MS);
  const wallS = (performance.now() - wall0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const balance = simulation.massBalance();
  return { wallS, cpuS: (cpu.user + cpu.system) / 1e6, relativeMassError: Math.abs(balance.errorM3) / balance.inflowM3 };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (value: number, decimals: number) => Number(value.toFixed(decimals));

function positiveNumber(name: string, raw: string, integer: boolean): number {
  const value = Number(raw);
  if (!(Number.isFinite(value) && value > 0) || (integer && !Number.isInteger(value))) {
    throw new RangeError(`--${name} must be a positive ${integer ? 'whole number' : 'number'}, got "${raw}"`);
  }
  return value;
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      runs: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      'reference-days': { type: 'string', default: '30' },
      'generated-days': { type: 'string', default: '4' },
      'generated-stations': { type: 'string', default: '500' },
      scenario: { type: 'string', default: 'typhoon' },
      seed: { type: 'string', default: '1' },
      step: { type: 'string', default: '60' },
    },
  });
  const runs = positiveNumber('runs', values.runs, true);
  const warmup = values.warmup === '0' ? 0 : positiveNumber('warmup', values.warmup, true);
  const referenceDays = positiveNumber('reference-days', values['reference-days'], false);
  const generatedDays = positiveNumber('generated-days', values['generated-days'], false);
  const generatedStations = positiveNumber('generated-stations', values['generated-stations'], true);
  if (!isScenarioName(values.scenario)) throw new RangeError(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got "${values.scenario}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new RangeError(`--seed must be an integer, got "${values.seed}"`);
  const stepS = positiveNumber('step', values.step, true);

  const benchStart = performance.now();
  const loadBefore = os.loadavg()[0]!;
  const reference = await loadNetworkFile(referenceNetworkPath);
  const genStart = performance.now();
  const generated = generateNetwork({ stations: generatedStations, seed });
  const generateS = (performance.now() - genStart) / 1000;

  const workloads = [
    { key: 'reference', network: reference, days: referenceDays },
    { key: `generated${generatedStations}`, network: generated, days: generatedDays },
  ];
  // Warm-up: the JIT needs steps, not days, so the large network's warm-up runs are at most a day long.
  for (let i = 0; i < warmup; i++) for (const w of workloads) timeRun(w.network, Math.min(w.days, w.network === reference ? w.days : 1), values.scenario, seed, stepS);
  const measured = workloads.map(() => [] as RunResult[]);
  for (let i = 0; i < runs; i++) workloads.forEach((w, k) => measured[k]!.push(timeRun(w.network, w.days, values.scenario, seed, stepS)));

  const result: Record<string, unknown> = {};
  workloads.forEach((w, k) => {
    const rs = measured[k]!;
    result[`${w.key}_days_per_s`] = round(median(rs.map((r) => w.days / r.wallS)), 1);
  });
  workloads.forEach((w, k) => {
    const rs = measured[k]!;
    result[`${w.key}_days_per_cpu_s`] = round(median(rs.map((r) => w.days / r.cpuS)), 1);
    result[`${w.key}_runs_days_per_s`] = rs.map((r) => round(w.days / r.wallS, 1));
    result[`${w.key}_sim_days_per_run`] = w.days;
    result[`${w.key}_wall_s_median`] = round(median(rs.map((r) => r.wallS)), 4);
    result[`${w.key}_stations`] = w.network.stations.length;
    result[`${w.key}_max_relative_mass_error`] = Math.max(...rs.map((r) => r.relativeMassError));
  });
  const referenceRate = result['reference_days_per_s'] as number;
  return {
    ...result,
    target_reference_days_per_s: TARGET_REFERENCE_DAYS_PER_S,
    meets_target: referenceRate >= TARGET_REFERENCE_DAYS_PER_S,
    scenario: values.scenario,
    step_s: stepS,
    seed,
    control: 'local level control (baseline), no remote writes',
    generated_network: generated.id,
    generate_s: round(generateS, 3),
    warmup_policy: `${warmup} discarded run(s) of each network first (the generated network's at most 1 simulated day), then ${runs} measured runs alternating the two; median reported`,
    timing: 'wall clock (performance.now) around runUntil only; simulation construction not timed',
    node_version: process.version,
    v8_version: process.versions.v8,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    loadavg_1m_before: round(loadBefore, 2),
    loadavg_1m_after: round(os.loadavg()[0]!, 2),
    bench_wall_s: round((performance.now() - benchStart) / 1000, 2),
  };
}
