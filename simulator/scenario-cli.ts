// Rain scenarios run from the command line, as fast as possible, writing a results file.
//   npx tsx simulator/scenario-cli.ts --scenario typhoon --out results/typhoon.json \
//     [--network config/reference-network.json] [--seed 1] [--controller baseline]
//   npx tsx simulator/scenario-cli.ts --scenario all --out results/
//
// A run is: a spin-up day of dry weather (not measured: the network settles from its arbitrary initial
// state), then the measured window — the scenario from its start to its end — plus a drain period, long
// enough for the slowest RDII unit hydrograph to finish and the network to pump down. Every metric in the
// results file covers the measured window only, and the file holds nothing that depends on the wall clock,
// so the same seed gives a byte-identical file.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { ConfigError } from '../network/validate.js';
import { createRainScenario, isScenarioName, SCENARIO_NAMES } from '../scenarios/rain.js';
import type { RainScenario, ScenarioName } from '../scenarios/rain.js';
import { CONTROLLERS, controllerSimulationOptions } from './controllers.js';
import type { ControllerName } from './controllers.js';
import { createSimulation } from './model.js';
import type { MassBalance, SimulationSummary } from './model.js';
import { rainFromScenario } from './rain-adapter.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;

export const RESULTS_FORMAT = 'sewer-dispatch/scenario-results@1';
export const DEFAULT_NETWORK_FILE = 'config/reference-network.json';
/** 2026-07-01 00:00 Asia/Shanghai: flood season, a Wednesday. The spin-up day starts here. */
export const DEFAULT_START = '2026-06-30T16:00:00Z';
export const DEFAULT_SPIN_UP_H = 24;
/** After the last RDII of the slowest unit hydrograph has entered the network: time to pump down. */
export const PUMP_DOWN_H = 12;

export { CONTROLLERS, controllerSimulationOptions };
export type { ControllerName };

export interface ScenarioRunOptions {
  network: NetworkConfig;
  /** Shown in the results (a path relative to the repository, or a description). */
  networkSource: string;
  scenario: ScenarioName;
  seed: number;
  controller: ControllerName;
  /** Start of the spin-up day (UTC ms); the measured window starts spinUpH later. */
  startUtcMs: number;
  stepS: number;
  spinUpH: number;
  /** Hours simulated after the scenario end; 'auto' = until the slowest RDII has passed plus PUMP_DOWN_H. */
  drainH: number | 'auto';
}

export interface StationResult {
  overflowM3: number;
  overflowEvents: number;
  overflowMin: number;
  pumpStarts: number;
  peakLevelM: number;
  highAlarmM: number;
  overflowLevelM: number;
  inflowM3: number;
  pumpedM3: number;
  energyKwh: number;
  costCny: number;
}

export interface PlantResult {
  inflowM3: number;
  treatedM3: number;
  bypassM3: number;
  bypassEvents: number;
  capacityM3h: number;
  meanInflowM3h: number;
  /** Largest inflow of one simulation step. */
  peakInflowM3h: number;
  /** Coefficient of variation (population standard deviation / mean) of the inflow over planning steps. */
  inflowCv: number;
}

export interface EnergyByPeriod {
  energyKwh: number;
  costCny: number;
}

export interface WindowMassBalance extends MassBalance {
  /** |errorM3| / inflowM3. */
  relativeError: number;
}

export interface ScenarioResults {
  format: typeof RESULTS_FORMAT;
  scenario: {
    name: ScenarioName;
    description: string;
    rainOnsetUtc: string | null;
    rainEndUtc: string | null;
    endUtc: string;
  };
  network: { id: string; source: string; stations: number };
  controller: ControllerName;
  seed: number;
  stepS: number;
  run: {
    startUtc: string;
    measuredFromUtc: string;
    endUtc: string;
    spinUpH: number;
    drainH: number;
    measuredH: number;
    steps: number;
    /** Planning step the plant inflow variation is measured on. */
    cvStepMin: number;
  };
  rain: { meanDepthMm: number; maxDepthMm: number };
  inflow: { dwfM3: number; groundwaterM3: number; rdiiM3: number; totalM3: number };
  totals: {
    overflowM3: number;
    overflowEvents: number;
    stationsOverflowing: number;
    bypassM3: number;
    energyKwh: number;
    costCny: number;
    pumpStarts: number;
  };
  energyByPeriod: Record<string, EnergyByPeriod>;
  stations: Record<string, StationResult>;
  plants: Record<string, PlantResult>;
  tanks: Record<string, { inletM3: number; outletM3: number; overflowM3: number; peakVolumeM3: number; energyKwh: number; costCny: number }>;
  interconnections: Record<string, { aToBM3: number; bToAM3: number; energyKwh: number; costCny: number }>;
  massBalance: {
    /** Over the measured window (storage change and in-transit change between its start and end). */
    window: WindowMassBalance;
    /** Over the whole run including spin-up, as the simulator keeps it. */
    run: WindowMassBalance;
  };
}

// --- Rounding: results are for people and diffs; mass-balance errors are kept exact. ----------------

const round = (value: number, decimals: number): number => {
  const f = 10 ** decimals;
  const r = Math.round(value * f) / f;
  return Object.is(r, -0) ? 0 : r;
};
const m3 = (v: number) => round(v, 3);

const iso = (utcMs: number) => new Date(utcMs).toISOString();

/** UTC offset (ms) of a time zone at an instant. */
function utcOffsetMs(format: Intl.DateTimeFormat, utcMs: number): number {
  const fields: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(utcMs))) fields[part.type] = Number(part.value);
  const asUtc = Date.UTC(fields['year'] ?? 1970, (fields['month'] ?? 1) - 1, fields['day'] ?? 1, fields['hour'] ?? 0, fields['minute'] ?? 0, fields['second'] ?? 0);
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / MS_PER_MIN) * MS_PER_MIN;
}

/** Tariff period of each local minute of the day, as the simulator prices energy. */
function tariffPeriods(network: NetworkConfig): { names: string[]; ofMinute: Int32Array } {
  const names: string[] = [];
  const ofMinute = new Int32Array(24 * 60).fill(-1);
  for (const period of network.tariff.periods) {
    let index = names.indexOf(period.name);
    if (index < 0) index = names.push(period.name) - 1;
    for (const range of period.ranges) {
      const [fh, fm] = range.from.split(':').map(Number);
      const [th, tm] = range.to.split(':').map(Number);
      const from = (fh ?? 0) * 60 + (fm ?? 0);
      const to = Math.min((th ?? 0) * 60 + (tm ?? 0), 24 * 60);
      for (let m = from; m < to; m++) ofMinute[m] = index;
    }
  }
  return { names, ofMinute };
}

/** Longest RDII unit hydrograph of the network (h): rain keeps entering the sewers this long after it stops. */
export function longestRdiiBaseH(network: NetworkConfig): number {
  let longest = 0;
  for (const c of network.catchments) for (const tri of c.rdii.triangles) longest = Math.max(longest, tri.tH * (1 + tri.k));
  return longest;
}

export interface RunWindow {
  scenario: RainScenario;
  startUtcMs: number;
  measuredFromUtcMs: number;
  endUtcMs: number;
  drainH: number;
}

/** When a run starts, is measured from and ends. */
export function runWindow(options: Pick<ScenarioRunOptions, 'network' | 'scenario' | 'startUtcMs' | 'spinUpH' | 'drainH'>): RunWindow {
  const measuredFromUtcMs = options.startUtcMs + options.spinUpH * MS_PER_H;
  const scenario = createRainScenario(options.scenario, { startUtcMs: measuredFromUtcMs });
  const scenarioEndUtcMs = measuredFromUtcMs + scenario.durationMs;
  let drainH: number;
  if (options.drainH !== 'auto') {
    drainH = options.drainH;
  } else if (scenario.rainWindowUtcMs.endUtcMs <= scenario.rainWindowUtcMs.startUtcMs) {
    drainH = 0; // no rain: nothing to drain
  } else {
    const drainedUtcMs = scenario.rainWindowUtcMs.endUtcMs + (longestRdiiBaseH(options.network) + PUMP_DOWN_H) * MS_PER_H;
    drainH = Math.max(0, Math.ceil((drainedUtcMs - scenarioEndUtcMs) / MS_PER_H));
  }
  return { scenario, startUtcMs: options.startUtcMs, measuredFromUtcMs, endUtcMs: scenarioEndUtcMs + drainH * MS_PER_H, drainH };
}

function windowBalance(end: MassBalance, start: MassBalance | null): WindowMassBalance {
  const d = (key: keyof MassBalance) => end[key] - (start?.[key] ?? 0);
  const balance: MassBalance = {
    inflowM3: d('inflowM3'),
    treatedM3: d('treatedM3'),
    bypassM3: d('bypassM3'),
    overflowM3: d('overflowM3'),
    storageChangeM3: d('storageChangeM3'),
    inTransitM3: d('inTransitM3'),
    errorM3: d('errorM3'),
  };
  return { ...balance, relativeError: balance.inflowM3 > 0 ? Math.abs(balance.errorM3) / balance.inflowM3 : 0 };
}

/** Run one scenario as fast as possible and collect its results. Deterministic for the options. */
export function runScenario(options: ScenarioRunOptions): ScenarioResults {
  const { network, stepS } = options;
  const stepMs = stepS * 1000;
  const win = runWindow(options);
  const { scenario } = win;
  if ((win.measuredFromUtcMs - win.startUtcMs) % stepMs !== 0 || (win.endUtcMs - win.measuredFromUtcMs) % stepMs !== 0) {
    throw new RangeError('spin-up and run length must be whole steps');
  }
  const simulation = createSimulation({
    network,
    startUtcMs: options.startUtcMs,
    stepS,
    seed: options.seed,
    rainMmPerMin: rainFromScenario(scenario),
    ...controllerSimulationOptions(options.controller),
  });

  // Spin-up: not measured.
  simulation.advance((win.measuredFromUtcMs - win.startUtcMs) / stepMs);
  const start = simulation.summary();

  const stationIds = network.stations.map((s) => s.id);
  const plantIds = network.plants.map((p) => p.id);
  const peakLevel = Float64Array.from(stationIds, (id) => simulation.trueLevelM(id));
  const peakPlantM3h = new Float64Array(plantIds.length);
  const cvStepMin = network.planning.stepMin;
  const binMs = cvStepMin * MS_PER_MIN;
  const windowSteps = (win.endUtcMs - win.measuredFromUtcMs) / stepMs;
  const bins = Math.ceil((win.endUtcMs - win.measuredFromUtcMs) / binMs);
  const plantBins = plantIds.map(() => new Float64Array(bins));

  // Energy by tariff period: totals are read whenever the period changes.
  const tariff = tariffPeriods(network);
  const byPeriod = tariff.names.map(() => ({ energyKwh: 0, costCny: 0 }));
  const zone = new Intl.DateTimeFormat('en-US', { timeZone: network.timezone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  let offsetHour = Number.NaN;
  let offsetMs = 0;
  let period = -1;
  let last = { energyKwh: start.totals.energyKwh, costCny: start.totals.costCny };
  const closePeriod = (totals: SimulationSummary['totals']) => {
    if (period >= 0) {
      byPeriod[period]!.energyKwh += totals.energyKwh - last.energyKwh;
      byPeriod[period]!.costCny += totals.costCny - last.costCny;
    }
    last = { energyKwh: totals.energyKwh, costCny: totals.costCny };
  };

  for (let i = 0; i < windowSteps; i++) {
    const t = simulation.timeUtcMs;
    const hour = Math.floor(t / MS_PER_H);
    if (hour !== offsetHour) {
      offsetHour = hour;
      offsetMs = utcOffsetMs(zone, t);
    }
    const localMin = (((Math.floor((t + offsetMs) / MS_PER_MIN) % 1440) + 1440) % 1440) | 0;
    const p = tariff.ofMinute[localMin]!;
    if (p !== period) {
      closePeriod(simulation.summary().totals);
      period = p;
    }
    simulation.step();
    for (let s = 0; s < stationIds.length; s++) {
      const level = simulation.trueLevelM(stationIds[s]!);
      if (level > peakLevel[s]!) peakLevel[s] = level;
    }
    const bin = Math.floor((t - win.measuredFromUtcMs) / binMs);
    for (let k = 0; k < plantIds.length; k++) {
      const q = simulation.readTag(plantIds[k]!, 'inflowM3h').value as number;
      if (q > peakPlantM3h[k]!) peakPlantM3h[k] = q;
      plantBins[k]![bin] = plantBins[k]![bin]! + (q * stepS) / 3600;
    }
  }
  const end = simulation.summary();
  closePeriod(end.totals);

  const measuredH = (win.endUtcMs - win.measuredFromUtcMs) / MS_PER_H;
  const stations: Record<string, StationResult> = {};
  network.stations.forEach((st, s) => {
    const a = start.stations[st.id]!;
    const b = end.stations[st.id]!;
    stations[st.id] = {
      overflowM3: m3(b.overflowM3 - a.overflowM3),
      overflowEvents: b.overflowEvents - a.overflowEvents,
      overflowMin: round(b.overflowMin - a.overflowMin, 3),
      pumpStarts: b.pumpStarts - a.pumpStarts,
      peakLevelM: round(peakLevel[s]!, 4),
      highAlarmM: st.levels.highAlarmM,
      overflowLevelM: st.levels.overflowM,
      inflowM3: m3(b.inflowM3 - a.inflowM3),
      pumpedM3: m3(b.pumpedM3 - a.pumpedM3),
      energyKwh: round(b.energyKwh - a.energyKwh, 3),
      costCny: round(b.costCny - a.costCny, 3),
    };
  });
  const plants: Record<string, PlantResult> = {};
  network.plants.forEach((pl, k) => {
    const a = start.plants[pl.id]!;
    const b = end.plants[pl.id]!;
    const flows = Array.from(plantBins[k]!, (v) => v / (binMs / MS_PER_H));
    const mean = flows.reduce((x, y) => x + y, 0) / flows.length;
    const variance = flows.reduce((x, y) => x + (y - mean) ** 2, 0) / flows.length;
    plants[pl.id] = {
      inflowM3: m3(b.inflowM3 - a.inflowM3),
      treatedM3: m3(b.treatedM3 - a.treatedM3),
      bypassM3: m3(b.bypassM3 - a.bypassM3),
      bypassEvents: b.bypassEvents - a.bypassEvents,
      capacityM3h: pl.capacityM3h,
      meanInflowM3h: round((b.inflowM3 - a.inflowM3) / measuredH, 3),
      peakInflowM3h: round(peakPlantM3h[k]!, 3),
      inflowCv: round(mean > 0 ? Math.sqrt(variance) / mean : 0, 5),
    };
  });
  const tanks: ScenarioResults['tanks'] = {};
  for (const t of network.tanks) {
    const a = start.tanks[t.id]!;
    const b = end.tanks[t.id]!;
    tanks[t.id] = {
      inletM3: m3(b.inletM3 - a.inletM3),
      outletM3: m3(b.outletM3 - a.outletM3),
      overflowM3: m3(b.overflowM3 - a.overflowM3),
      peakVolumeM3: m3(b.peakVolumeM3),
      energyKwh: round(b.energyKwh - a.energyKwh, 3),
      costCny: round(b.costCny - a.costCny, 3),
    };
  }
  const interconnections: ScenarioResults['interconnections'] = {};
  for (const x of network.interconnections) {
    const a = start.interconnections[x.id]!;
    const b = end.interconnections[x.id]!;
    interconnections[x.id] = { aToBM3: m3(b.aToBM3 - a.aToBM3), bToAM3: m3(b.bToAM3 - a.bToAM3), energyKwh: round(b.energyKwh - a.energyKwh, 3), costCny: round(b.costCny - a.costCny, 3) };
  }
  const energyByPeriod: Record<string, EnergyByPeriod> = {};
  tariff.names.forEach((name, i) => (energyByPeriod[name] = { energyKwh: round(byPeriod[i]!.energyKwh, 3), costCny: round(byPeriod[i]!.costCny, 3) }));

  // Rain: area-weighted mean and largest depth over the catchments.
  let areaHa = 0;
  let rainM3 = 0;
  let maxDepthMm = 0;
  for (const c of network.catchments) {
    const depth = end.rainDepthMm[c.id] ?? 0;
    areaHa += c.areaHa;
    rainM3 += depth * c.areaHa;
    maxDepthMm = Math.max(maxDepthMm, depth);
  }
  const hasRain = scenario.rainWindowUtcMs.endUtcMs > scenario.rainWindowUtcMs.startUtcMs;
  const d = (a: number, b: number) => b - a;
  return {
    format: RESULTS_FORMAT,
    scenario: {
      name: options.scenario,
      description: scenario.description,
      rainOnsetUtc: hasRain ? iso(scenario.rainOnsetUtcMs) : null,
      rainEndUtc: hasRain ? iso(scenario.rainWindowUtcMs.endUtcMs) : null,
      endUtc: iso(win.measuredFromUtcMs + scenario.durationMs),
    },
    network: { id: network.id, source: options.networkSource, stations: network.stations.length },
    controller: options.controller,
    seed: options.seed,
    stepS,
    run: {
      startUtc: iso(win.startUtcMs),
      measuredFromUtc: iso(win.measuredFromUtcMs),
      endUtc: iso(win.endUtcMs),
      spinUpH: options.spinUpH,
      drainH: win.drainH,
      measuredH,
      steps: end.steps,
      cvStepMin,
    },
    rain: { meanDepthMm: round(areaHa > 0 ? rainM3 / areaHa : 0, 3), maxDepthMm: round(maxDepthMm, 3) },
    inflow: {
      dwfM3: m3(d(start.inflow.dwfM3, end.inflow.dwfM3)),
      groundwaterM3: m3(d(start.inflow.groundwaterM3, end.inflow.groundwaterM3)),
      rdiiM3: m3(d(start.inflow.rdiiM3, end.inflow.rdiiM3)),
      totalM3: m3(d(start.inflow.totalM3, end.inflow.totalM3)),
    },
    totals: {
      overflowM3: m3(d(start.totals.overflowM3, end.totals.overflowM3)),
      overflowEvents: d(start.totals.overflowEvents, end.totals.overflowEvents),
      stationsOverflowing: Object.values(stations).filter((s) => s.overflowM3 > 0).length,
      bypassM3: m3(d(start.totals.bypassM3, end.totals.bypassM3)),
      energyKwh: round(d(start.totals.energyKwh, end.totals.energyKwh), 3),
      costCny: round(d(start.totals.costCny, end.totals.costCny), 3),
      pumpStarts: d(start.totals.pumpStarts, end.totals.pumpStarts),
    },
    energyByPeriod,
    stations,
    plants,
    tanks,
    interconnections,
    massBalance: { window: windowBalance(end.massBalance, start.massBalance), run: windowBalance(end.massBalance, null) },
  };
}

// --- Command line ------------------------------------------------------------------------------------

export const usage = `Usage: npx tsx simulator/scenario-cli.ts --scenario <name|all> [options]
  --scenario <name|all>   ${SCENARIO_NAMES.join(', ')}, or all of them
  --out <path>            results file (default results/<scenario>.json); with --scenario all, a folder
                          (default results/) that gets one <scenario>.json per scenario
  --network <file>        network description (default ${DEFAULT_NETWORK_FILE})
  --seed <n>              integer seed of the simulation's random components (default 1)
  --controller <name>     ${CONTROLLERS.join(', ')} (default baseline)
  --start <ISO time>      start of the spin-up day, with a zone (default ${DEFAULT_START})
  --step <s>              simulation step in seconds, dividing 60 (default 60)
  --spin-up-h <h>         unmeasured dry spin-up before the scenario, whole hours (default ${DEFAULT_SPIN_UP_H})
  --drain-h <h|auto>      hours simulated after the scenario end (default auto: until the slowest RDII
                          unit hydrograph has passed, plus ${PUMP_DOWN_H} h to pump down)
  -h, --help              this text`;

/** A bad command-line argument; the message starts with the argument's name. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
  constructor(
    readonly argument: string,
    reason: string,
  ) {
    super(`${argument}: ${reason}`);
  }
}

export interface CliOptions {
  scenarios: ScenarioName[];
  all: boolean;
  out: string;
  networkFile: string;
  seed: number;
  controller: ControllerName;
  startUtcMs: number;
  stepS: number;
  spinUpH: number;
  drainH: number | 'auto';
}

const integerArg = (name: string, raw: string, min: number, max: number): number => {
  if (!/^-?\d+$/.test(raw.trim())) throw new ArgumentError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ArgumentError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
};

/** Parse and check the command line; throws ArgumentError naming the argument. `cwd` resolves relative paths. */
export function parseCli(argv: string[], cwd: string = process.cwd()): CliOptions | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        out: { type: 'string' },
        network: { type: 'string', default: DEFAULT_NETWORK_FILE },
        seed: { type: 'string', default: '1' },
        controller: { type: 'string', default: 'baseline' },
        start: { type: 'string', default: DEFAULT_START },
        step: { type: 'string', default: '60' },
        'spin-up-h': { type: 'string', default: String(DEFAULT_SPIN_UP_H) },
        'drain-h': { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    // node:util names the option in its message, e.g. "Unknown option '--sed'" or "Option '--seed <value>' argument missing".
    const message = (error as Error).message;
    const option = /'(-{1,2}[\w-]+)/.exec(message)?.[1] ?? 'arguments';
    throw new ArgumentError(option, message);
  }
  if (values.help) return 'help';

  if (values.scenario === undefined) throw new ArgumentError('--scenario', `is required: one of ${SCENARIO_NAMES.join(', ')}, or all`);
  const all = values.scenario === 'all';
  if (!all && !isScenarioName(values.scenario)) {
    throw new ArgumentError('--scenario', `unknown scenario "${values.scenario}"; known: ${SCENARIO_NAMES.join(', ')}, or all`);
  }
  const scenarios: ScenarioName[] = all ? [...SCENARIO_NAMES] : [values.scenario as ScenarioName];

  const seed = integerArg('--seed', values.seed, -2_147_483_648, 2_147_483_647);
  if (!(CONTROLLERS as readonly string[]).includes(values.controller)) {
    throw new ArgumentError('--controller', `unknown controller "${values.controller}"; known: ${CONTROLLERS.join(', ')}`);
  }
  const stepS = integerArg('--step', values.step, 1, 60);
  if (60 % stepS !== 0) throw new ArgumentError('--step', `must divide 60 seconds (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60), got ${stepS}`);
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(values.start)) {
    throw new ArgumentError('--start', `must be an ISO 8601 time with a zone, e.g. ${DEFAULT_START}, got "${values.start}"`);
  }
  const startUtcMs = Date.parse(values.start);
  if (!Number.isFinite(startUtcMs)) throw new ArgumentError('--start', `is not a valid time: "${values.start}"`);
  if (startUtcMs % (stepS * 1000) !== 0) throw new ArgumentError('--start', `must fall on a whole ${stepS}-s step`);
  const spinUpH = integerArg('--spin-up-h', values['spin-up-h'], 0, 24 * 30);
  const drainRaw = values['drain-h'];
  const drainH = drainRaw === 'auto' ? 'auto' : integerArg('--drain-h', drainRaw, 0, 24 * 30);

  let out = values.out ?? (all ? 'results' : path.join('results', `${scenarios[0]!}.json`));
  if (out.trim() === '') throw new ArgumentError('--out', 'must not be empty');
  if (all && out.endsWith('.json')) throw new ArgumentError('--out', `with --scenario all names a folder (one <scenario>.json per scenario), got "${out}"`);
  if (!all && !out.endsWith('.json')) throw new ArgumentError('--out', `must name a .json results file, got "${out}"`);
  out = path.resolve(cwd, out);

  return {
    scenarios,
    all,
    out,
    networkFile: path.resolve(cwd, values.network),
    seed,
    controller: values.controller as ControllerName,
    startUtcMs,
    stepS,
    spinUpH,
    drainH,
  };
}

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  cwd: string;
}

const defaultIo: CliIo = {
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  cwd: process.cwd(),
};

/** The command: returns the exit code (0 ok, 1 run failed, 2 bad arguments or network file). */
export async function main(argv: string[], io: CliIo = defaultIo): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(argv, io.cwd);
  } catch (error) {
    if (!(error instanceof ArgumentError)) throw error;
    io.stderr(`scenario-cli: ${error.message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    io.stdout(usage);
    return 0;
  }
  let network: NetworkConfig;
  try {
    network = await loadNetworkFile(options.networkFile);
  } catch (error) {
    io.stderr(`scenario-cli: --network: ${error instanceof ConfigError ? error.message : (error as Error).message}`);
    return 2;
  }
  const relative = path.relative(repoRoot, options.networkFile);
  const networkSource = relative.startsWith('..') ? options.networkFile : relative.split(path.sep).join('/');

  for (const scenario of options.scenarios) {
    const file = options.all ? path.join(options.out, `${scenario}.json`) : options.out;
    const wallStart = performance.now();
    const results = runScenario({
      network,
      networkSource,
      scenario,
      seed: options.seed,
      controller: options.controller,
      startUtcMs: options.startUtcMs,
      stepS: options.stepS,
      spinUpH: options.spinUpH,
      drainH: options.drainH,
    });
    const wallS = (performance.now() - wallStart) / 1000;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
    const t = results.totals;
    io.stdout(
      `${scenario}: ${(results.run.measuredH / 24).toFixed(2)} d measured (+${results.run.spinUpH} h spin-up) in ${wallS.toFixed(2)} s — ` +
        `overflow ${t.overflowM3.toFixed(0)} m3 (${t.overflowEvents} events, ${t.stationsOverflowing} stations), bypass ${t.bypassM3.toFixed(0)} m3, ` +
        `energy ${t.energyKwh.toFixed(0)} kWh, cost ${t.costCny.toFixed(0)} CNY, ${t.pumpStarts} pump starts, ` +
        `mass error ${results.massBalance.window.relativeError.toExponential(1)} → ${path.relative(io.cwd, file)}`,
    );
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`scenario-cli: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
