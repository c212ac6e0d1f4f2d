// The optimisation problem built from the network, the state and the inflow: a pure function, no I/O.
//
// A linear program over a time grid with finer steps near now and coarser later. Per scenario (the
// deterministic inflow and each ensemble member) it keeps a storage balance for every wet well and tank and
// a flow balance for every plant; flows along mains, the interconnection and tank outlets arrive after their
// travel time (interpolated over the steps they overlap). The decisions of the first steps are shared by all
// scenarios (they are what SCADA receives now); later decisions may differ per scenario (recourse).
//
// Objectives are ordered priorities (lexicographic goal programming, as in rtc-tools), solved one after the
// other with each optimum kept within a small tolerance:
//   relaxation      (relaxed formulation only) violations of dispatcher bands and of the pump-stop level
//   local-control   stations under local control keep their level inside the local start band
//   overflow        SSO and tank weir overflow (expected over scenarios, or worst case then expected)
//   spill-timing    (with in-line tanks) spill into them as late as possible: only from a full well
//   bypass          plant inflow above hydraulic capacity
//   reserve         storage kept free ahead of forecast rain (room for the expected wet-weather excess)
//   standby         volume pumped by standby pumps (used only when needed)
//   plant           steady, balanced plant inflow: ramps beyond an allowance, load ratios apart beyond a band
//   energy          electricity cost under the time-of-use tariff, plus the value of water left in storage
//                   (and VFD pump starts at their price, when priced: vfdStartRows)
//   smooth          changes of pumped, transferred and tank flows (the LP's proxy for few pump starts)
import { DEFAULT_VFD_MIN_SPEED_FRACTION, VFD_DESTAGE_FRACTION, type Interconnection, type NetworkConfig, type PumpStation, type StorageTank, type TreatmentPlant } from '../network/schema.js';
import { dailyMeanTariffPrice, meanTariffPrice } from './calendar.js';
import { dryWeatherByNode } from './inflow.js';
import { LpBuilder, type LinearProblem } from './lp.js';
import { normalCeilingM, volumeAtLevel } from './wet-well.js';

const HOUR_MS = 3_600_000;

export interface TimeGrid {
  /** K+1 step boundaries, UTC ms; the first is the planning instant. */
  boundariesUtcMs: number[];
  /** K step lengths in hours. */
  durationH: number[];
  /** Hours from the first boundary to each boundary (K+1). */
  offsetH: number[];
  fineStepMin: number;
  coarseStepMin: number;
}

export interface GridOptions {
  fineStepMin: number;
  fineHorizonH: number;
  coarseStepMin: number;
  horizonH: number;
}

/**
 * Fine steps from now for `fineHorizonH`, then coarse steps to the horizon. The first step runs from now
 * to the next fine boundary (merged with the next step when shorter than a third of a step) so that later
 * steps sit on round clock times; the switch to coarse steps waits for a coarse boundary.
 */
export function buildTimeGrid(nowUtcMs: number, options: GridOptions): TimeGrid {
  const fineMs = Math.max(1, Math.round(options.fineStepMin)) * 60_000;
  const coarseMs = Math.max(fineMs, Math.round(options.coarseStepMin / options.fineStepMin) * fineMs);
  const fineEnd = nowUtcMs + Math.min(options.fineHorizonH, options.horizonH) * HOUR_MS;
  const end = nowUtcMs + options.horizonH * HOUR_MS;
  let t = Math.ceil(nowUtcMs / fineMs) * fineMs;
  if (t - nowUtcMs < fineMs / 3) t += fineMs;
  const boundaries = [nowUtcMs, t];
  while (t < end && (t < fineEnd || t % coarseMs !== 0)) boundaries.push((t += fineMs));
  while (t < end) boundaries.push((t += coarseMs));
  const durationH = boundaries.slice(1).map((b, k) => (b - boundaries[k]!) / HOUR_MS);
  const offsetH = boundaries.map((b) => (b - nowUtcMs) / HOUR_MS);
  return { boundariesUtcMs: boundaries, durationH, offsetH, fineStepMin: fineMs / 60_000, coarseStepMin: coarseMs / 60_000 };
}

/** Inflow of one scenario: m³/h per node per grid step. */
export interface Scenario {
  id: string;
  weight: number;
  inflowM3h: Map<string, number[]>;
}

/** A station's pumped flow over the recent past: equal steps, oldest first, the last one ending now. */
export interface OutflowHistory {
  stepMin: number;
  valuesM3h: readonly number[];
}

/**
 * Volume (m³) that left a station during [fromH, toH) hours from now (both ≤ 0): from its recent outflow where
 * the history covers it, before that its oldest value; without a history, the flow now held through the past.
 */
export function volumeLeftM3(flowNowM3h: number, history: OutflowHistory | undefined, fromH: number, toH: number): number {
  const to = Math.min(0, toH);
  if (!(to > fromH)) return 0;
  const values = history?.valuesM3h ?? [];
  if (!history || values.length === 0 || !(history.stepMin > 0)) return flowNowM3h * (to - fromH);
  const stepH = history.stepMin / 60;
  const startH = -values.length * stepH;
  let volume = 0;
  if (fromH < startH) volume += values[0]! * (Math.min(to, startH) - fromH);
  const first = Math.max(0, Math.floor((fromH - startH) / stepH));
  for (let i = first; i < values.length; i++) {
    const a = startH + i * stepH;
    if (a >= to) break;
    const h = Math.min(to, a + stepH) - Math.max(fromH, a);
    if (h > 0) volume += values[i]! * h;
  }
  return volume;
}

export interface InitialStation {
  levelM: number;
  pumpsAvailable: number;
  /** Pumped flow now: where smoothing starts, and what is in the discharge main when no history says otherwise. */
  outflowM3h: number;
  /**
   * Pumped flow over the recent past (at least the discharge main's travel time): what is in the main now and
   * arrives downstream during the first steps. Without it the flow now is taken as having run that long, which
   * misplaces every pump started or stopped within the travel time.
   */
  recentOutflowM3h?: OutflowHistory;
  /** Flow setpoint in force, for the ramp limit of flow-controlled stations (null when unknown). */
  flowSetpointM3h: number | null;
  locked: boolean;
  /** Pumps running now, where a VFD station's starts count from (default: as many as the flow now needs). */
  pumpsRunning?: number;
}

export interface InitialState {
  stations: Map<string, InitialStation>;
  tanks: Map<string, { volumeM3: number; inletM3h: number; outletM3h: number }>;
  /** Transfer in force per interconnection, positive a→b. */
  transfers: Map<string, number>;
  /**
   * Transfer over the recent past per interconnection, positive a→b, oldest first, the last step ending now: what
   * is travelling across now. Without it the transfer now is taken as having run for the whole travel time, which
   * misplaces every change made within it (a reversal's water arrives unplanned).
   */
  transferHistory?: Map<string, OutflowHistory>;
}

export interface StationBand {
  stationId: string;
  minLevelM?: number;
  maxLevelM?: number;
}

/** Dispatcher modifications of a plan. */
export interface DispatcherConstraints {
  /** Keep a station's level within a band (flood-season levels, works in the well, ...). */
  stationBands?: StationBand[];
  /** Stations to leave under their own local level control. */
  lockedStations?: string[];
  /** Cap the magnitude of an interconnection transfer. */
  transferCaps?: { interconnectionId: string; maxAbsM3h: number }[];
}

/** The plant steadiness band's level is chosen per this many hours of the horizon (formulation, plant priority). */
export const PLANT_LEVEL_DAY_H = 24;

/** Share of the lowest energy cost the smoothness priority may spend, when not set: a solver tolerance only. */
export const DEFAULT_SMOOTHING_ENERGY_SHARE = 1e-5;

/** Flow-controlled stations plan this far above their stop (cut-out) level unless told otherwise, m. */
export const DEFAULT_CUTOUT_MARGIN_M = 0.3;

/** A station's margin below the high alarm in normal operation (FormulationOptions). */
export function alarmMarginOf(station: PumpStation, options: { alarmMarginFraction: number; fixedSpeedAlarmMarginFraction?: number | null }): number {
  const fixedSpeed = station.pumps.every((p) => p.kind === 'fixed');
  return fixedSpeed && options.fixedSpeedAlarmMarginFraction !== undefined && options.fixedSpeedAlarmMarginFraction !== null ? options.fixedSpeedAlarmMarginFraction : options.alarmMarginFraction;
}

export interface FormulationOptions {
  /** Steps whose decisions are shared by all scenarios (at least 1). */
  sharedSteps: number;
  robustness: 'expected' | 'worst-case';
  /** Window of forecast wet-weather excess that reserve storage is kept for. */
  reserveLookAheadH: number;
  /**
   * A storage tank (not a combined-sewer one, which is kept empty) is empty again this many hours from now,
   * as far as its outlet allows, when no wet-weather excess is forecast upstream of it over the horizon
   * (reserve priority, soft; tankTurnoverRow): no standing volume. Absent or null: not required.
   */
  tankTurnoverH?: number | null;
  /** Normal operation keeps the level this share of the working depth (stop..overflow) below the high alarm. */
  alarmMarginFraction: number;
  /**
   * The margin at stations whose pumps are all fixed-speed, when it differs (absent or null: alarmMarginFraction),
   * while the station has no rain ahead (no reserve limit over the horizon); with rain ahead, alarmMarginFraction.
   */
  fixedSpeedAlarmMarginFraction?: number | null;
  /** Plant inflow may change this share of capacity per hour before the change counts against steadiness. */
  plantRampFractionPerH: number;
  /** Plants' load ratios (inflow / capacity) may differ from their common ratio by this much for free. */
  plantBalanceBand: number;
  /**
   * Each plant's inflow may stray this share of its capacity from a steady level (one per plant, scenario and
   * day of the horizon, the LP's choice) before the excess counts against steadiness; absent or negative:
   * not counted.
   * Only when no station has rain ahead (a reserve limit) over the horizon.
   */
  plantDeviationBand?: number;
  /** Relative harm of an overflow at a station or tank (default 1). */
  overflowHarm: Record<string, number>;
  /** Relaxed formulation: dispatcher bands and the pump-stop level become soft (first priority). */
  relaxed: boolean;
  /**
   * Scenarios the economy priorities (plant steadiness, energy, smoothness) are computed on: 'nominal' = the
   * first scenario only (robust safety, nominal economy: members then need no steadiness or smoothing rows,
   * which keeps ensemble plans fast), 'all' = expected over every scenario.
   */
  economy: 'nominal' | 'all';
  /** Flow-controlled stations plan no lower than this above their stop (cut-out) level, m; default DEFAULT_CUTOUT_MARGIN_M. */
  cutoutMarginM?: number;
  /**
   * Share of the optimal energy cost the smoothness priority may spend to change flows less often (fewer
   * pump starts); default 1e-5 (the optimum kept, up to solver precision).
   */
  energyRelTolerance?: number;
  /**
   * Cost of one pump start at a VFD station, CNY, counted in the energy priority by the starts' relaxation
   * (vfdStartRows) over the fine steps of the scenarios energy is counted on; 0 or absent: not counted.
   */
  vfdStartCostCny?: number;
  /** At most this many VFD pump starts (by the same relaxation) in each scenario over the horizon. */
  vfdStartBudget?: number;
}

export interface FormulationInput {
  network: NetworkConfig;
  grid: TimeGrid;
  scenarios: Scenario[];
  initial: InitialState;
  constraints: DispatcherConstraints;
  options: FormulationOptions;
  /**
   * Fixed-speed stations whose pumping is already scheduled in whole pumps (pump-schedule.ts): pumped flow
   * per step, m³/h. Their flow is fixed; their level follows from it (the schedule keeps it in its band).
   */
  wholePumpM3h?: ReadonlyMap<string, readonly number[]>;
}

/** Inputs that contradict each other before any solving (strict formulation only). */
export class InfeasibleInputError extends Error {
  override readonly name = 'InfeasibleInputError';
  constructor(readonly reasons: string[]) {
    super(reasons.join('; '));
  }
}

/** Column indices per scenario m and step k (shared decisions repeat the same index); −1 when absent. */
type Cols = number[][];

export interface StationModel {
  station: PumpStation;
  dutyCapM3h: number;
  standbyCapM3h: number;
  pumpEachM3h: number;
  /** All pumps VFD: the station takes a flow setpoint. */
  flowControlled: boolean;
  locked: boolean;
  initialVolumeM3: number;
  volumeMinM3: number;
  volumeMaxM3: number;
  /** Volume the level may not exceed at the end of each step to keep room for rain (null = no rain expected). */
  reserveMaxVolumeM3: (number | null)[];
  /**
   * Stations upstream (along discharge mains, any distance) with wet-weather excess over the horizon: their
   * rain reaches this station although its own catchment shows none (a transfer station fed only from above).
   */
  rainUpstreamOf: string[];
  /** False when the station has no dry-weather baseline (no catchment): rain cannot be told from dry weather in its inflow. */
  dryBaseline: boolean;
  /**
   * Without a baseline: the first step at which some scenario's own inflow exceeds what the duty pumps carry
   * (the station is then planned as in rain), else −1. Always −1 with a baseline.
   */
  aboveDutyFromK: number;
  /** Volume at the normal ceiling (a margin below the high alarm): kept free in normal operation (reserve priority). */
  headroomVolumeM3: number;
  band: { minVolumeM3: number; maxVolumeM3: number } | null;
  /** Energy to lift one m³ from here to a plant, for the terminal storage value. */
  pathEnergyKwhM3: number;
  V: Cols;
  Qd: Cols;
  Qs: Cols;
  O: Cols;
  spill: { tankId: string; cols: Cols }[];
  /** A VFD station's pump starts per step (relaxed, see vfdStartRows) when they are counted; else null. */
  vfdStarts: Cols | null;
}

export interface TankModel {
  tank: StorageTank;
  initialVolumeM3: number;
  /**
   * Volume the tank should not exceed at the end of each step (reserve priority): a combined-sewer tank is
   * kept empty for the next storm; any tank keeps room for the wet-weather excess expected upstream of it.
   */
  reserveMaxVolumeM3: (number | null)[];
  VT: Cols;
  Gin: Cols;
  Gout: Cols;
  /** The outlet's largest flow (pump, envelope, outlet main), m³/h. */
  outletMaxM3h: number;
  OT: Cols;
  /** Dry-weather turnover (tankTurnoverRow): at most leftM3 at the end of step lastStep; null when not asked. */
  turnover: { lastStep: number; leftM3: number } | null;
  /** Node the outlet discharges to. */
  outletTo: string;
}

export interface TransferModel {
  interconnection: Interconnection;
  maxAbM3h: number;
  maxBaM3h: number;
  /** The dispatcher's cap on either direction (constraints.transferCaps), +∞ when none: for explanations. */
  dispatcherCapM3h: number;
  AB: Cols;
  BA: Cols;
}

export interface PlantModel {
  plant: TreatmentPlant;
  P: Cols;
  B: Cols;
  /** The dry-weather band around a steady level this model holds the plant to (share of capacity); null: none. */
  steadyBandShare: number | null;
}

export interface Formulation {
  problem: LinearProblem;
  grid: TimeGrid;
  scenarios: Scenario[];
  sharedSteps: number;
  stations: StationModel[];
  tanks: TankModel[];
  transfers: TransferModel[];
  plants: PlantModel[];
  /** Price per step (time-weighted over the step). */
  priceCnyPerKwh: number[];
  /** Wet-weather excess per station per step (scenario mean), m³/h: inflow above dry weather. */
  wetExcessM3h: Map<string, number[]>;
  /** Dry-weather baseline per node per step, m³/h. */
  dryWeatherM3h: Map<string, number[]>;
}

/** The first step at which some scenario's inflow at `nodeId` exceeds `limitM3h`, else −1. */
function firstStepAbove(scenarios: readonly Scenario[], nodeId: string, limitM3h: number): number {
  let first = -1;
  for (const sc of scenarios) {
    const k = sc.inflowM3h.get(nodeId)?.findIndex((q) => q > limitM3h + 1e-6) ?? -1;
    if (k >= 0 && (first < 0 || k < first)) first = k;
  }
  return first;
}

/**
 * No reserve limit anywhere over the horizon: no wet-weather excess is expected at the station (or upstream of
 * the tank); for a station also none upstream of it, and a dry-weather baseline to tell rain by (a station
 * without one is taken as dry only while its own inflow stays within what its duty pumps carry).
 */
export function noRainAhead(s: { readonly reserveMaxVolumeM3: readonly (number | null)[]; readonly rainUpstreamOf?: readonly string[]; readonly aboveDutyFromK?: number }): boolean {
  return s.reserveMaxVolumeM3.every((v) => v === null) && (s.rainUpstreamOf?.length ?? 0) === 0 && (s.aboveDutyFromK ?? -1) < 0;
}

/** Pump capacity from the pumps available: the largest pumps are assumed to be the failed ones. */
export function pumpCapacity(station: PumpStation, pumpsAvailable: number): { dutyM3h: number; standbyM3h: number; pumpEachM3h: number } {
  const n = station.pumps.length;
  const available = Math.min(n, Math.max(0, Math.round(pumpsAvailable)));
  const caps = station.pumps
    .map((p) => p.capacityM3h)
    .sort((a, b) => a - b)
    .slice(0, available);
  const dutyCount = Math.min(available, n - station.standbyPumps);
  // Duty pumps are the larger of those available; standby covers the rest.
  const duty = caps.slice(caps.length - dutyCount).reduce((a, b) => a + b, 0);
  const standby = caps.slice(0, caps.length - dutyCount).reduce((a, b) => a + b, 0);
  const pumpEachM3h = station.pumps.reduce((a, p) => a + p.capacityM3h, 0) / n;
  return { dutyM3h: duty, standbyM3h: standby, pumpEachM3h };
}

/**
 * Wet-weather excess of an inflow over its dry-weather baseline, m³/h per step: what is above 1.1 × the
 * baseline plus 2 % of its mean (forecast noise on a dry day is not rain).
 */
export function wetExcess(inflowM3h: readonly number[], dryWeatherM3h: readonly number[]): number[] {
  const K = dryWeatherM3h.length;
  const meanBase = dryWeatherM3h.reduce((a, b) => a + b, 0) / Math.max(1, K);
  return Array.from({ length: K }, (_, k) => Math.max(0, (inflowM3h[k] ?? 0) - 1.1 * dryWeatherM3h[k]! - 0.02 * meanBase));
}

interface LagWeights {
  /** For downstream step j: upstream steps k and the hours of k's flow arriving in j. */
  byArrival: { k: number; h: number }[][];
  /** For downstream step j: hours of pre-horizon flow (in transit now) arriving in j. */
  preH: number[];
}

function lagWeights(grid: TimeGrid, lagH: number): LagWeights {
  const K = grid.durationH.length;
  const o = grid.offsetH;
  const byArrival: { k: number; h: number }[][] = Array.from({ length: K }, () => []);
  const preH = new Array<number>(K).fill(0);
  for (let j = 0; j < K; j++) {
    // Flow that left during [o_j − lag, o_{j+1} − lag) arrives in step j.
    const from = o[j]! - lagH;
    const to = o[j + 1]! - lagH;
    if (from < 0) preH[j] = Math.min(to, 0) - from;
    for (let k = 0; k < K; k++) {
      const h = Math.min(to, o[k + 1]!) - Math.max(from, o[k]!);
      if (h > 1e-9) byArrival[j]!.push({ k, h });
    }
  }
  return { byArrival, preH };
}

interface Link {
  from: string;
  /** null: leaves the network (overflow) or is treated (plant outflow). */
  to: string | null;
  lagH: number;
  cols: Cols;
  /** Flow in transit now (it left before now), held over the travel time unless `preHistory` gives it. */
  preFlowM3h: number;
  preHistory?: OutflowHistory;
}

export function formulate(input: FormulationInput): Formulation {
  const { network, grid, scenarios, initial, constraints, options } = input;
  const K = grid.durationH.length;
  const M = scenarios.length;
  const dt = grid.durationH;
  const shared = Math.min(K, Math.max(1, options.sharedSteps));
  const lp = new LpBuilder();
  const problems: string[] = [];
  const mainsById = new Map(network.mains.map((m) => [m.id, m]));
  const stationById = new Map(network.stations.map((s) => [s.id, s]));
  const locked = new Set(constraints.lockedStations ?? []);
  const harm = (id: string) => options.overflowHarm[id] ?? 1;
  const w = scenarios.map((s) => s.weight);

  const priceCnyPerKwh = dt.map((_, k) => meanTariffPrice(network, grid.boundariesUtcMs[k]!, grid.boundariesUtcMs[k + 1]!));
  const meanPrice = dailyMeanTariffPrice(network);

  /** Decision columns: one per step for the shared steps, one per scenario and step afterwards. */
  const decision = (name: string, lower: number, upper: number): Cols => {
    const cols: Cols = Array.from({ length: M }, () => new Array<number>(K).fill(-1));
    for (let k = 0; k < K; k++) {
      if (k < shared) {
        const c = lp.addCol(`${name}.s.${k}`, lower, upper);
        for (let m = 0; m < M; m++) cols[m]![k] = c;
      } else {
        for (let m = 0; m < M; m++) cols[m]![k] = lp.addCol(`${name}.${m}.${k}`, lower, upper);
      }
    }
    return cols;
  };
  /** State or slack columns: one per scenario and step. */
  const perScenario = (name: string, lower: number, upper: number): Cols =>
    Array.from({ length: M }, (_, m) => Array.from({ length: K }, (__, k) => lp.addCol(`${name}.${m}.${k}`, lower, upper)));

  // Energy from a node to a plant along discharge mains, for the value of water left in storage.
  const pathEnergyOf = pathEnergyToPlant(network);

  // Dry-weather baseline and forecast wet-weather excess, for the reserve goal and for explanations.
  const dryWeatherM3h = dryWeatherByNode(network, grid.boundariesUtcMs);
  const wetExcessM3h = new Map<string, number[]>();
  for (const s of network.stations) {
    const base = dryWeatherM3h.get(s.id);
    const excess = new Array<number>(K).fill(0);
    if (base) {
      scenarios.forEach((sc, m) => {
        const inflow = sc.inflowM3h.get(s.id);
        if (inflow) wetExcess(inflow, base).forEach((e, k) => (excess[k] = excess[k]! + w[m]! * e));
      });
    }
    wetExcessM3h.set(s.id, excess);
  }

  const links: Link[] = [];
  /** Stations that drain to a station along discharge mains, any distance upstream (itself excluded). */
  const upstreamOf = (id: string): string[] => {
    const found: string[] = [];
    const queue = [id];
    while (queue.length > 0) {
      const node = queue.shift()!;
      for (const s of network.stations) {
        if (s.id === id || found.includes(s.id) || mainsById.get(s.dischargeMainId)?.to !== node) continue;
        found.push(s.id);
        queue.push(s.id);
      }
    }
    return found;
  };
  /** Nodes downstream of a station along its discharge mains (itself included). */
  const pathOf = (id: string): Set<string> => {
    const seen = new Set<string>([id]);
    let current = stationById.get(id);
    while (current) {
      const to = mainsById.get(current.dischargeMainId)?.to;
      if (!to || seen.has(to)) break;
      seen.add(to);
      current = stationById.get(to);
    }
    return seen;
  };

  // Stations.
  const stations: StationModel[] = network.stations.map((station) => {
    const st = initial.stations.get(station.id);
    const main = mainsById.get(station.dischargeMainId)!;
    const cap = pumpCapacity(station, st?.pumpsAvailable ?? station.pumps.length);
    const flowControlled = station.pumps.every((p) => p.kind === 'vfd');
    // The main and (for flow setpoints) the setpoint envelope limit what the pumps can deliver.
    const totalLimit = Math.min(main.capacityM3h, flowControlled ? station.envelope.flowSetpointM3h.max : Number.POSITIVE_INFINITY);
    const dutyCapM3h = Math.min(cap.dutyM3h, totalLimit);
    const standbyCapM3h = Math.max(0, Math.min(cap.standbyM3h, totalLimit - dutyCapM3h));
    const volumeMaxM3 = volumeAtLevel(station.wetWell, station.levels.overflowM);
    const initialVolumeM3 = Math.min(volumeMaxM3, volumeAtLevel(station.wetWell, st?.levelM ?? station.levels.pumpStartM));
    const stopVolumeM3 = volumeAtLevel(station.wetWell, station.levels.pumpStopM);
    const volumeMinM3 = Math.min(stopVolumeM3, initialVolumeM3);
    const isLocked = (st?.locked ?? false) || locked.has(station.id);

    let band: StationModel['band'] = null;
    const bandInput = constraints.stationBands?.filter((b) => b.stationId === station.id) ?? [];
    if (bandInput.length > 0) {
      const minLevel = Math.max(...bandInput.map((b) => b.minLevelM ?? Number.NEGATIVE_INFINITY));
      const maxLevel = Math.min(...bandInput.map((b) => b.maxLevelM ?? Number.POSITIVE_INFINITY));
      const minVolumeM3 = Number.isFinite(minLevel) ? volumeAtLevel(station.wetWell, minLevel) : 0;
      const maxVolumeM3 = Number.isFinite(maxLevel) ? volumeAtLevel(station.wetWell, maxLevel) : volumeMaxM3;
      band = { minVolumeM3, maxVolumeM3 };
      if (minLevel > maxLevel) problems.push(`station ${station.id}: dispatcher band minimum ${minLevel} m is above its maximum ${maxLevel} m`);
      else if (maxVolumeM3 < volumeMinM3 - 1e-6 || minVolumeM3 > volumeMaxM3 + 1e-6) problems.push(`station ${station.id}: dispatcher band [${minLevel}, ${maxLevel}] m lies outside the well's working range`);
    }

    // Reserve: room for the wet-weather excess expected within the look-ahead, not below the flood-season level.
    const excess = wetExcessM3h.get(station.id)!;
    const floorVolumeM3 = Math.max(volumeMinM3, volumeAtLevel(station.wetWell, station.levels.floodSeasonStartM ?? station.levels.pumpStartM));
    const reserveMaxVolumeM3 = dt.map((_, k) => {
      let roomM3 = 0;
      for (let j = k + 1; j < K && grid.offsetH[j]! < grid.offsetH[k + 1]! + options.reserveLookAheadH; j++) roomM3 += excess[j]! * dt[j]!;
      if (roomM3 < 1) return null;
      return Math.max(floorVolumeM3, volumeMaxM3 - roomM3);
    });
    // Normal operation stays clear of the high alarm (a margin below it): the alarm band is the last reserve.
    // The fixed-speed wells' own margin is for dry weather, where room near the alarm saves starts; with rain
    // ahead a well kept near the alarm cycles its pumps on the narrow bands storms are run with.
    const ceilingM = normalCeilingM(station.levels, noRainAhead({ reserveMaxVolumeM3 }) ? alarmMarginOf(station, options) : options.alarmMarginFraction);
    const headroomVolumeM3 = Math.max(volumeMinM3, volumeAtLevel(station.wetWell, ceilingM));

    // A flow-controlled station cuts out at its stop level and restarts only some way above it: a plan that
    // runs the well down to the stop level makes the pumps cycle there. Keep a margin (unless already below it).
    const cutoutMarginM = options.cutoutMarginM ?? DEFAULT_CUTOUT_MARGIN_M;
    const plannedFloorM3 =
      flowControlled && cutoutMarginM > 0 ? Math.max(volumeMinM3, Math.min(initialVolumeM3, volumeAtLevel(station.wetWell, station.levels.pumpStopM + cutoutMarginM))) : volumeMinM3;
    const scheduled = input.wholePumpM3h?.get(station.id);
    const V = perScenario(`V.${station.id}`, options.relaxed || scheduled ? 0 : plannedFloorM3, volumeMaxM3);
    const Qd = decision(`Qd.${station.id}`, 0, dutyCapM3h);
    const Qs = decision(`Qs.${station.id}`, 0, scheduled ? 0 : standbyCapM3h);
    if (scheduled) {
      for (let k = 0; k < K; k++) {
        const q = Math.min(dutyCapM3h, Math.max(0, scheduled[k] ?? 0));
        for (let m = 0; m < M; m++) lp.setColBounds(Qd[m]![k]!, q, q);
      }
    }
    const O = perScenario(`O.${station.id}`, 0, Number.POSITIVE_INFINITY);
    links.push({ from: station.id, to: main.to, lagH: main.travelMin / 60, cols: Qd, preFlowM3h: Math.max(0, st?.outflowM3h ?? 0), ...(st?.recentOutflowM3h ? { preHistory: st.recentOutflowM3h } : {}) });
    links.push({ from: station.id, to: main.to, lagH: main.travelMin / 60, cols: Qs, preFlowM3h: 0 });
    links.push({ from: station.id, to: null, lagH: 0, cols: O, preFlowM3h: 0 });
    // In-line (combined-sewer) tanks take what spills from a full well before it becomes an overflow.
    const spill = network.tanks
      .filter((t) => t.kind === 'combined-sewer' && t.node === station.id)
      .map((t) => {
        const cols = perScenario(`spill.${station.id}.${t.id}`, 0, Number.POSITIVE_INFINITY);
        links.push({ from: station.id, to: t.id, lagH: 0, cols, preFlowM3h: 0 });
        return { tankId: t.id, cols };
      });
    return {
      station,
      dutyCapM3h,
      standbyCapM3h,
      pumpEachM3h: cap.pumpEachM3h,
      flowControlled,
      locked: isLocked,
      initialVolumeM3,
      volumeMinM3,
      volumeMaxM3,
      reserveMaxVolumeM3,
      rainUpstreamOf: upstreamOf(station.id).filter((id) => (wetExcessM3h.get(id) ?? []).reduce((a, e, k) => a + e * dt[k]!, 0) >= 1),
      dryBaseline: dryWeatherM3h.has(station.id),
      aboveDutyFromK: dryWeatherM3h.has(station.id) ? -1 : firstStepAbove(scenarios, station.id, dutyCapM3h),
      headroomVolumeM3,
      band,
      pathEnergyKwhM3: pathEnergyOf(station.id),
      V,
      Qd,
      Qs,
      O,
      spill,
      vfdStarts: null,
    };
  });
  const countVfdStarts = (options.vfdStartCostCny ?? 0) > 0 || options.vfdStartBudget !== undefined;
  if (countVfdStarts) {
    // Priced only, they are counted on the scenarios energy is counted on, over the fine steps: those are what
    // the next cycles send, the hourly ones are planned again long before they come due (counting them too
    // gave the same 48 h dry week, ¥27,455 / 159 starts against ¥27,460 / 160, for 1.2× the solve time at 100
    // stations). Under a budget, every step of every scenario.
    const counted = options.vfdStartBudget !== undefined ? { scenarios: M, steps: K } : { scenarios: options.economy === 'all' ? M : 1, steps: fineSteps(grid) };
    for (const s of stations) if (s.flowControlled && !s.locked) s.vfdStarts = vfdStartRows(lp, s, counted.scenarios, counted.steps, M, K, initial.stations.get(s.station.id));
  }
  if (options.vfdStartBudget !== undefined) {
    for (let m = 0; m < M; m++) {
      const terms = stations.flatMap((s) => (s.vfdStarts ? s.vfdStarts[m]!.filter((u) => u >= 0).map((u) => [u, 1] as [number, number]) : []));
      if (terms.length > 0) lp.addRow(`vfdStartBudget.${m}`, terms, Number.NEGATIVE_INFINITY, options.vfdStartBudget);
    }
  }

  // Interconnections: one column per direction; the energy objective keeps them from running both ways.
  const transfers: TransferModel[] = network.interconnections.map((x) => {
    const capInput = constraints.transferCaps?.filter((c) => c.interconnectionId === x.id) ?? [];
    const dispatcherCap = Math.min(...capInput.map((c) => Math.max(0, c.maxAbsM3h)), Number.POSITIVE_INFINITY);
    const maxAbM3h = Math.max(0, Math.min(x.capacityM3h, x.envelope.transferM3h.max, dispatcherCap));
    const maxBaM3h = Math.max(0, Math.min(x.capacityM3h, -x.envelope.transferM3h.min, dispatcherCap));
    const now = initial.transfers.get(x.id) ?? 0;
    const AB = decision(`XAB.${x.id}`, 0, maxAbM3h);
    const BA = decision(`XBA.${x.id}`, 0, maxBaM3h);
    const history = initial.transferHistory?.get(x.id);
    const oneWay = (sign: 1 | -1): { preHistory?: OutflowHistory } => (history ? { preHistory: { stepMin: history.stepMin, valuesM3h: history.valuesM3h.map((v) => Math.max(0, sign * v)) } } : {});
    links.push({ from: x.a, to: x.b, lagH: x.travelMin / 60, cols: AB, preFlowM3h: Math.max(0, now), ...oneWay(1) });
    links.push({ from: x.b, to: x.a, lagH: x.travelMin / 60, cols: BA, preFlowM3h: Math.max(0, -now), ...oneWay(-1) });
    for (let k = 0; k < K; k++) for (let m = 0; m < (k < shared ? 1 : M); m++) lp.addRow(`oneway.${x.id}.${m}.${k}`, [[AB[m]![k]!, 1], [BA[m]![k]!, 1]], 0, x.capacityM3h);
    return { interconnection: x, maxAbM3h, maxBaM3h, dispatcherCapM3h: dispatcherCap, AB, BA };
  });

  // Tanks.
  const tanks: TankModel[] = network.tanks.map((tank) => {
    const tk = initial.tanks.get(tank.id);
    const outMain = network.mains.find((m) => m.from === tank.id);
    const initialVolumeM3 = Math.min(tank.capacityM3, Math.max(0, tk?.volumeM3 ?? 0));
    const VT = perScenario(`VT.${tank.id}`, 0, tank.capacityM3);
    const Gin = decision(`Gin.${tank.id}`, 0, Math.max(0, Math.min(tank.inletMaxM3h, tank.envelope.inletM3h.max)));
    const outletMaxM3h = Math.max(0, Math.min(tank.outletMaxM3h, tank.envelope.outletM3h.max, outMain?.capacityM3h ?? Number.POSITIVE_INFINITY));
    const Gout = decision(`Gout.${tank.id}`, 0, outletMaxM3h);
    const OT = perScenario(`OT.${tank.id}`, 0, Number.POSITIVE_INFINITY);
    const outletTo = outMain ? outMain.to : tank.node;
    const upstream = network.stations.filter((st) => pathOf(st.id).has(tank.node) || pathOf(st.id).has(tank.id));
    const reserveMaxVolumeM3 = dt.map((_, k) => {
      let roomM3 = 0;
      for (const st of upstream) {
        const excess = wetExcessM3h.get(st.id)!;
        for (let j = k + 1; j < K && grid.offsetH[j]! < grid.offsetH[k + 1]! + options.reserveLookAheadH; j++) roomM3 += excess[j]! * dt[j]!;
      }
      if (tank.kind === 'combined-sewer') return 0;
      return roomM3 < 1 ? null : Math.max(0, tank.capacityM3 - roomM3);
    });
    links.push({ from: tank.node, to: tank.id, lagH: 0, cols: Gin, preFlowM3h: 0 });
    links.push({ from: tank.id, to: outletTo, lagH: outMain ? outMain.travelMin / 60 : 0, cols: Gout, preFlowM3h: outMain ? Math.max(0, tk?.outletM3h ?? 0) : 0 });
    links.push({ from: tank.id, to: tank.overflowTo ?? null, lagH: 0, cols: OT, preFlowM3h: 0 });
    return { tank, initialVolumeM3, reserveMaxVolumeM3, VT, Gin, Gout, outletMaxM3h, OT, turnover: null, outletTo };
  });

  // Plants: what arrives is treated up to capacity; the rest is bypass.
  const plants: PlantModel[] = network.plants.map((plant) => {
    const P = perScenario(`P.${plant.id}`, 0, Number.POSITIVE_INFINITY);
    const B = perScenario(`B.${plant.id}`, 0, Number.POSITIVE_INFINITY);
    links.push({ from: plant.id, to: null, lagH: 0, cols: P, preFlowM3h: 0 });
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) lp.addRow(`bypass.${plant.id}.${m}.${k}`, [[P[m]![k]!, 1], [B[m]![k]!, -1]], Number.NEGATIVE_INFINITY, plant.capacityM3h);
    return { plant, P, B, steadyBandShare: null };
  });

  // Node balances: storage change + outflows − lagged arrivals = inflow (volumes over each step).
  const nodeIds = [...network.stations.map((s) => s.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id)];
  const terms = new Map<string, [number, number][][][]>();
  const rhs = new Map<string, number[][]>();
  for (const id of nodeIds) {
    terms.set(
      id,
      Array.from({ length: M }, () => Array.from({ length: K }, () => [])),
    );
    rhs.set(
      id,
      scenarios.map((sc) => dt.map((h, k) => h * Math.max(0, sc.inflowM3h.get(id)?.[k] ?? 0))),
    );
  }
  const lagCache = new Map<number, LagWeights>();
  for (const link of links) {
    const from = terms.get(link.from);
    if (!from) continue;
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) from[m]![k]!.push([link.cols[m]![k]!, dt[k]!]);
    if (link.to === null) continue;
    const to = terms.get(link.to);
    const toRhs = rhs.get(link.to);
    if (!to || !toRhs) continue;
    let lag = lagCache.get(link.lagH);
    if (!lag) lagCache.set(link.lagH, (lag = lagWeights(grid, link.lagH)));
    for (let m = 0; m < M; m++) {
      for (let j = 0; j < K; j++) {
        for (const { k, h } of lag.byArrival[j]!) to[m]![j]!.push([link.cols[m]![k]!, -h]);
        if (lag.preH[j]! <= 0) continue;
        const fromH = grid.offsetH[j]! - link.lagH;
        toRhs[m]![j] = toRhs[m]![j]! + volumeLeftM3(link.preFlowM3h, link.preHistory, fromH, fromH + grid.durationH[j]!);
      }
    }
  }
  const storage = (id: string): { V: Cols; v0: number } | null => {
    const s = stations.find((x) => x.station.id === id);
    if (s) return { V: s.V, v0: s.initialVolumeM3 };
    const t = tanks.find((x) => x.tank.id === id);
    if (t) return { V: t.VT, v0: t.initialVolumeM3 };
    return null;
  };
  for (const id of nodeIds) {
    const store = storage(id);
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const row = terms.get(id)![m]![k]!;
        let b = rhs.get(id)![m]![k]!;
        if (store) {
          row.push([store.V[m]![k]!, 1]);
          if (k === 0) b += store.v0;
          else row.push([store.V[m]![k - 1]!, -1]);
        }
        lp.addRow(`balance.${id}.${m}.${k}`, row, b, b);
      }
    }
  }

  // Flow-setpoint ramp limits: a change between consecutive writes (every fine step, or after a shorter first step).
  const rampRows = (name: string, cols: Cols[], signs: number[], ratePerMin: number, current: number | null) => {
    const limitAfter = (k: number) => ratePerMin * Math.min(grid.fineStepMin, dt[k - 1]! * 60);
    const done = new Set<string>();
    for (let m = 0; m < M; m++) {
      for (let k = 0; k < K; k++) {
        const key = k < shared ? `s${k}` : `${m}.${k}`;
        if (done.has(key)) continue;
        done.add(key);
        const t: [number, number][] = cols.map((c, i) => [c[m]![k]!, signs[i]!]);
        if (k === 0) {
          // The first change is measured from the value in force; relaxed plans drop it rather than fail.
          // The value in force was written one planning cycle ago.
          const limit = ratePerMin * network.planning.cycleMin;
          if (current !== null && !options.relaxed) lp.addRow(`ramp.${name}.${key}`, t, current - limit, current + limit);
          continue;
        }
        const prev: [number, number][] = cols.map((c, i) => [c[m]![k - 1]!, -signs[i]!]);
        lp.addRow(`ramp.${name}.${key}`, [...t, ...prev], -limitAfter(k), limitAfter(k));
      }
    }
  };
  for (const s of stations) {
    if (s.flowControlled && !s.locked) {
      const st = initial.stations.get(s.station.id);
      rampRows(s.station.id, [s.Qd, s.Qs], [1, 1], s.station.envelope.flowSetpointM3h.maxChangePerMin, st?.flowSetpointM3h ?? null);
    }
  }
  for (const x of transfers) rampRows(x.interconnection.id, [x.AB, x.BA], [1, -1], x.interconnection.envelope.transferM3h.maxChangePerMin, initial.transfers.get(x.interconnection.id) ?? null);
  for (const t of tanks) {
    const tk = initial.tanks.get(t.tank.id);
    rampRows(`${t.tank.id}.in`, [t.Gin], [1], t.tank.envelope.inletM3h.maxChangePerMin, tk?.inletM3h ?? null);
    rampRows(`${t.tank.id}.out`, [t.Gout], [1], t.tank.envelope.outletM3h.maxChangePerMin, tk?.outletM3h ?? null);
  }

  if (problems.length > 0 && !options.relaxed) throw new InfeasibleInputError(problems);

  // ---- Priorities, in the order of domain.md. ----
  // Overflow and bypass optima are held tight: a looser tolerance lets lower priorities buy "free" overflow.
  const tol = { volume: 1e-3, rel: 1e-6 };
  const economyScenarios = options.economy === 'all' ? M : 1;
  const we = (m: number) => (options.economy === 'all' ? w[m]! : 1);

  if (options.relaxed) {
    const add = lp.addObjective('relaxation', tol.volume, tol.rel);
    for (const s of stations) {
      const stopVolumeM3 = s.volumeMinM3;
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < K; k++) {
          const v = s.V[m]![k]!;
          const low = lp.addCol(`low.${s.station.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          lp.addRow(`low.${s.station.id}.${m}.${k}`, [[v, 1], [low, 1]], stopVolumeM3, Number.POSITIVE_INFINITY);
          add(low, w[m]! * dt[k]!);
          if (s.band) {
            const up = lp.addCol(`bandUp.${s.station.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            const lo = lp.addCol(`bandLo.${s.station.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            lp.addRow(`bandUp.${s.station.id}.${m}.${k}`, [[v, 1], [up, -1]], Number.NEGATIVE_INFINITY, s.band.maxVolumeM3);
            lp.addRow(`bandLo.${s.station.id}.${m}.${k}`, [[v, 1], [lo, 1]], s.band.minVolumeM3, Number.POSITIVE_INFINITY);
            add(up, w[m]! * dt[k]!);
            add(lo, w[m]! * dt[k]!);
          }
        }
      }
    }
  } else {
    for (const s of stations) {
      if (!s.band) continue;
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < K; k++) {
          const [lo, up] = lp.colBounds(s.V[m]![k]!);
          lp.setColBounds(s.V[m]![k]!, Math.max(lo, s.band.minVolumeM3), Math.min(up, s.band.maxVolumeM3));
        }
      }
    }
  }

  {
    // Local control keeps the level between stop and start: the plan may not count on storage above start.
    const add = lp.addObjective('local-control', 1e-3, 1e-6);
    for (const s of stations) {
      if (!s.locked) continue;
      const startVolumeM3 = volumeAtLevel(s.station.wetWell, s.station.levels.pumpStartM);
      const usable = Math.max(1, s.volumeMaxM3 - s.volumeMinM3);
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < K; k++) {
          const over = lp.addCol(`local.${s.station.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          lp.addRow(`local.${s.station.id}.${m}.${k}`, [[s.V[m]![k]!, 1], [over, -1]], Number.NEGATIVE_INFINITY, startVolumeM3);
          add(over, (w[m]! * dt[k]!) / usable);
        }
      }
    }
  }

  const overflowTerms = (m: number): [number, number][] => {
    const t: [number, number][] = [];
    for (const s of stations) for (let k = 0; k < K; k++) t.push([s.O[m]![k]!, harm(s.station.id) * dt[k]!]);
    for (const tk of tanks) for (let k = 0; k < K; k++) t.push([tk.OT[m]![k]!, harm(tk.tank.id) * dt[k]!]);
    return t;
  };
  if (options.robustness === 'worst-case' && M > 1) {
    const z = lp.addCol('overflow.worst', 0, Number.POSITIVE_INFINITY);
    for (let m = 0; m < M; m++) lp.addRow(`overflow.worst.${m}`, [...overflowTerms(m), [z, -1]], Number.NEGATIVE_INFINITY, 0);
    lp.addObjective('overflow-worst', tol.volume, tol.rel)(z, 1);
  }
  {
    const add = lp.addObjective('overflow', tol.volume, tol.rel);
    for (let m = 0; m < M; m++) for (const [c, v] of overflowTerms(m)) add(c, w[m]! * v);
  }
  if (stations.some((s) => s.spill.length > 0)) {
    // Spill into an in-line (combined-sewer) tank happens only from a full well (the weir between them sits at
    // the overflow level; simulator/model.ts fills the tank from what would overflow). Nothing in the rows ties
    // the spill columns to the volume, and they cost nothing: the well sent water into the tank at any level,
    // and the tank's gravity outlet carried it on, a zero-energy bypass of the pumps in dry weather (E1 told to
    // pump 0 of 120 m³/h, its gate opened on an empty tank; in reality E1 fills to its overflow level). With the
    // overflow total held, every m³ of spill, and of the tank's weir overflow, is weighted by the time left to
    // the horizon (from when that water would reach its plant, so water spilling upstream now and downstream a
    // travel time later weigh the same): spill that could wait in a well with room costs more than spill one
    // step later, so at this optimum it leaves only a full well; in dry weather none. Station overflow itself
    // is not timed here (the prediction and the explanations re-run its trajectory with overflow only from a full well,
    // fullStoreTrajectories): timed
    // in the LP, the reference network's closed-loop rainstorm overflowed 275 m³ more (17,778 against 17,503).
    const toPlantH = (nodeId: string): number => {
      let h = 0;
      const seen = new Set<string>();
      for (let id = nodeId; stationById.has(id) && !seen.has(id); ) {
        seen.add(id);
        const main = mainsById.get(stationById.get(id)!.dischargeMainId);
        if (!main) break;
        h += main.travelMin / 60;
        id = main.to;
      }
      return h;
    };
    const H = grid.offsetH[K]! + Math.max(0, ...network.stations.map((st) => toPlantH(st.id)));
    const late = (k: number, nodeId: string) => (H - grid.offsetH[k]! - toPlantH(nodeId)) / H;
    const add = lp.addObjective('spill-timing', tol.volume, tol.rel);
    for (const s of stations) for (const sp of s.spill) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) add(sp.cols[m]![k]!, w[m]! * dt[k]! * late(k, s.station.id));
    for (const t of tanks) {
      if (t.tank.kind !== 'combined-sewer') continue;
      for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) add(t.OT[m]![k]!, w[m]! * dt[k]! * late(k, t.tank.node));
    }
  }
  {
    const add = lp.addObjective('bypass', tol.volume, tol.rel);
    for (const p of plants) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) add(p.B[m]![k]!, w[m]! * dt[k]!);
  }
  {
    const add = lp.addObjective('reserve', 1e-3, 1e-4);
    for (const s of stations) {
      const usable = Math.max(1, s.volumeMaxM3 - s.volumeMinM3);
      for (let k = 0; k < K; k++) {
        const target = Math.min(s.headroomVolumeM3, s.reserveMaxVolumeM3[k] ?? Number.POSITIVE_INFINITY);
        for (let m = 0; m < M; m++) {
          const short = lp.addCol(`reserve.${s.station.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          lp.addRow(`reserve.${s.station.id}.${m}.${k}`, [[s.V[m]![k]!, 1], [short, -1]], Number.NEGATIVE_INFINITY, target);
          add(short, (w[m]! * dt[k]!) / usable);
        }
      }
    }
    for (const t of tanks) {
      for (let k = 0; k < K; k++) {
        const target = t.reserveMaxVolumeM3[k];
        if (target === null || target === undefined) continue;
        for (let m = 0; m < M; m++) {
          const short = lp.addCol(`reserve.${t.tank.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          lp.addRow(`reserve.${t.tank.id}.${m}.${k}`, [[t.VT[m]![k]!, 1], [short, -1]], Number.NEGATIVE_INFINITY, target);
          add(short, (w[m]! * dt[k]!) / t.tank.capacityM3);
        }
      }
    }
    if (options.tankTurnoverH !== undefined && options.tankTurnoverH !== null && options.tankTurnoverH > 0) {
      for (const t of tanks) t.turnover = tankTurnoverRow(lp, add, t, grid, options.tankTurnoverH, w);
    }
  }
  {
    const add = lp.addObjective('standby', 1, 1e-4);
    for (const s of stations) for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) add(s.Qs[m]![k]!, w[m]! * dt[k]!);
  }
  {
    const add = lp.addObjective('plant', 1e-3, 1e-4);
    for (const p of plants) {
      const cap = p.plant.capacityM3h;
      for (let m = 0; m < economyScenarios; m++) {
        for (let k = 1; k < K; k++) {
          const allowance = options.plantRampFractionPerH * cap * 0.5 * (dt[k - 1]! + dt[k]!);
          // change = free part (within the allowance) + up − down: up + down is the ramp beyond the allowance.
          const free = lp.addCol(`plantRampFree.${p.plant.id}.${m}.${k}`, -allowance, allowance);
          const up = lp.addCol(`plantRampUp.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          const down = lp.addCol(`plantRampDn.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          lp.addRow(`plantRamp.${p.plant.id}.${m}.${k}`, [[p.P[m]![k]!, 1], [p.P[m]![k - 1]!, -1], [free, -1], [up, -1], [down, 1]], 0, 0);
          add(up, we(m) / cap);
          add(down, we(m) / cap);
        }
      }
    }
    // The ramp rows alone let a plant's inflow swing by a whole day's cycle as long as it does so slowly; the
    // band around a steady level holds the swing itself (what the plant's operators see as unsteady load).
    // Dry weather only (no reserve limit at any station over the horizon): with rain ahead the plants should
    // take what the network sends them, not hold it back to a level (and the storm LP stays as fast as it was).
    const bandShare = options.plantDeviationBand ?? -1;
    // Own excess only, as before: a network without catchments keeps the band in dry weather.
    if (bandShare >= 0 && stations.every((s) => noRainAhead({ reserveMaxVolumeM3: s.reserveMaxVolumeM3 }))) {
      for (const p of plants) {
        const cap = p.plant.capacityM3h;
        p.steadyBandShare = bandShare;
        for (let m = 0; m < economyScenarios; m++) {
          // One steady level per day of the horizon: dry-weather flow differs from day to day (weekends), so
          // a plan over several days (the benchmark's whole-run floor) is not held to one level for all.
          const levels: number[] = [];
          for (let k = 0; k < K; k++) {
            const day = Math.floor(grid.offsetH[k]! / PLANT_LEVEL_DAY_H + 1e-9);
            const level = (levels[day] ??= lp.addCol(`plantLevel.${p.plant.id}.${m}.${day}`, 0, cap));
            // inflow − level = free part (within the band) + above − below.
            const free = lp.addCol(`plantDevFree.${p.plant.id}.${m}.${k}`, -bandShare * cap, bandShare * cap);
            const above = lp.addCol(`plantDevUp.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            const below = lp.addCol(`plantDevDn.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            lp.addRow(`plantDev.${p.plant.id}.${m}.${k}`, [[p.P[m]![k]!, 1], [level, -1], [free, -1], [above, -1], [below, 1]], 0, 0);
            add(above, (we(m) * dt[k]!) / cap);
            add(below, (we(m) * dt[k]!) / cap);
          }
        }
      }
    }
    // Plants are balanced within a connected system only: no main, tank or interconnection can move water
    // between systems, so a common load ratio across them would only couple independent LPs.
    for (const [g, group] of plantSystems(network.plants.map((p) => p.id), links).entries()) {
      if (group.length < 2) continue;
      const groupPlants = plants.filter((p) => group.includes(p.plant.id));
      for (let m = 0; m < economyScenarios; m++) {
        for (let k = 0; k < K; k++) {
          const ratio = lp.addCol(`loadRatio.${g}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
          for (const p of groupPlants) {
            const cap = p.plant.capacityM3h;
            // Load ratio − common ratio = free part (within the band) + above − below.
            const free = lp.addCol(`balanceFree.${p.plant.id}.${m}.${k}`, -options.plantBalanceBand, options.plantBalanceBand);
            const above = lp.addCol(`balanceUp.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            const below = lp.addCol(`balanceDn.${p.plant.id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
            lp.addRow(`balance.${p.plant.id}.${m}.${k}`, [[p.P[m]![k]!, 1 / cap], [ratio, -1], [free, -1], [above, -1], [below, 1]], 0, 0);
            add(above, we(m) * dt[k]!);
            add(below, we(m) * dt[k]!);
          }
        }
      }
    }
  }
  {
    const add = lp.addObjective('energy', 0.01, options.energyRelTolerance ?? DEFAULT_SMOOTHING_ENERGY_SHARE);
    for (let m = 0; m < economyScenarios; m++) {
      for (let k = 0; k < K; k++) {
        const cny = we(m) * dt[k]! * priceCnyPerKwh[k]!;
        for (const s of stations) {
          add(s.Qd[m]![k]!, cny * s.station.specificEnergyKwhM3);
          add(s.Qs[m]![k]!, cny * s.station.specificEnergyKwhM3);
        }
        for (const x of transfers) {
          add(x.AB[m]![k]!, cny * x.interconnection.specificEnergyKwhM3);
          add(x.BA[m]![k]!, cny * x.interconnection.specificEnergyKwhM3);
        }
        for (const t of tanks) add(t.Gout[m]![k]!, cny * t.tank.outletSpecificEnergyKwhM3);
        for (const s of stations) if ((s.vfdStarts?.[m]?.[k] ?? -1) >= 0) add(s.vfdStarts![m]![k]!, we(m) * (options.vfdStartCostCny ?? 0));
      }
      // Water left in storage still has to be pumped: value it at the day's mean price along its path.
      for (const s of stations) add(s.V[m]![K - 1]!, we(m) * meanPrice * s.pathEnergyKwhM3);
      for (const t of tanks) add(t.VT[m]![K - 1]!, we(m) * meanPrice * pathEnergyOf(t.tank.id));
    }
  }
  {
    const add = lp.addObjective('smooth', 1e-3, 1e-4);
    const smooth = (name: string, cols: Cols[], signs: number[], scale: number, current: number | null) => {
      if (scale <= 0) return;
      const done = new Set<string>();
      for (let m = 0; m < economyScenarios; m++) {
        for (let k = 0; k < K; k++) {
          const key = k < shared ? `s${k}` : `${m}.${k}`;
          if (done.has(key)) continue;
          done.add(key);
          if (k === 0 && current === null) continue;
          // change = up − down, both non-negative and both penalised: at the optimum one is zero and their sum
          // is |change|. One equality row per change instead of two inequalities around one |change| column.
          const up = lp.addCol(`dUp.${name}.${key}`, 0, Number.POSITIVE_INFINITY);
          const down = lp.addCol(`dDn.${name}.${key}`, 0, Number.POSITIVE_INFINITY);
          const t: [number, number][] = cols.map((c, i) => [c[m]![k]!, signs[i]!]);
          const prev: [number, number][] = k === 0 ? [] : cols.map((c, i) => [c[m]![k - 1]!, -signs[i]!]);
          const base = k === 0 ? current! : 0;
          lp.addRow(`d.${name}.${key}`, [...t, ...prev, [up, -1], [down, 1]], base, base);
          // A shared change counts once, with the full weight of all scenarios.
          add(up, (k < shared ? 1 : we(m)) / scale);
          add(down, (k < shared ? 1 : we(m)) / scale);
        }
      }
    };
    for (const s of stations) smooth(s.station.id, [s.Qd, s.Qs], [1, 1], s.dutyCapM3h + s.standbyCapM3h, initial.stations.get(s.station.id)?.outflowM3h ?? null);
    for (const x of transfers) smooth(x.interconnection.id, [x.AB, x.BA], [1, -1], x.interconnection.capacityM3h, initial.transfers.get(x.interconnection.id) ?? null);
    for (const t of tanks) {
      smooth(`${t.tank.id}.in`, [t.Gin], [1], t.tank.inletMaxM3h, initial.tanks.get(t.tank.id)?.inletM3h ?? null);
      smooth(`${t.tank.id}.out`, [t.Gout], [1], t.tank.outletMaxM3h, initial.tanks.get(t.tank.id)?.outletM3h ?? null);
    }
  }

  return {
    problem: lp.build(),
    grid,
    scenarios,
    sharedSteps: shared,
    stations,
    tanks,
    transfers,
    plants,
    priceCnyPerKwh,
    wetExcessM3h,
    dryWeatherM3h,
  };
}

/**
 * Energy (kWh/m³) to bring an m³ from a node (station or tank) to its plant along discharge mains and tank
 * outlets: what water left in storage still costs to pump. 0 for plants and unknown nodes.
 */
export function pathEnergyToPlant(network: NetworkConfig): (nodeId: string) => number {
  const stationById = new Map(network.stations.map((s) => [s.id, s]));
  const tankById = new Map(network.tanks.map((t) => [t.id, t]));
  const mainsById = new Map(network.mains.map((m) => [m.id, m]));
  const cache = new Map<string, number>();
  const of = (nodeId: string, depth: number): number => {
    if (depth > 64) return 0; // a cycle of mains (invalid network): stop rather than recurse forever
    const cached = cache.get(nodeId);
    if (cached !== undefined) return cached;
    let value = 0;
    const station = stationById.get(nodeId);
    const tank = tankById.get(nodeId);
    if (station) {
      const main = mainsById.get(station.dischargeMainId);
      value = station.specificEnergyKwhM3 + (main ? of(main.to, depth + 1) : 0);
    } else if (tank) {
      const outMain = network.mains.find((m) => m.from === tank.id);
      value = tank.outletSpecificEnergyKwhM3 + of(outMain ? outMain.to : tank.node, depth + 1);
    }
    cache.set(nodeId, value);
    return value;
  };
  return (nodeId) => of(nodeId, 0);
}

/** Plants grouped by connected system: nodes joined by any link (main, tank, interconnection, spill). */
function plantSystems(plantIds: string[], links: Link[]): string[][] {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let root = id;
    while (parent.has(root) && parent.get(root) !== root) root = parent.get(root)!;
    parent.set(id, root);
    return root;
  };
  for (const link of links) if (link.to !== null) parent.set(find(link.from), find(link.to));
  const groups = new Map<string, string[]>();
  for (const id of plantIds) {
    const root = find(id);
    groups.set(root, [...(groups.get(root) ?? []), id]);
  }
  return [...groups.values()];
}

/** Trajectories of one scenario read from a solution (per grid step; volumes at the end of each step). */
export interface ScenarioResult {
  scenarioId: string;
  stations: Map<string, { volumeM3: number[]; inflowM3h: number[]; pumpedM3h: number[]; standbyM3h: number[]; overflowM3h: number[]; spillM3h: number[] }>;
  tanks: Map<string, { volumeM3: number[]; inletM3h: number[]; outletM3h: number[]; overflowM3h: number[] }>;
  transfers: Map<string, number[]>;
  plants: Map<string, { inflowM3h: number[]; bypassM3h: number[] }>;
  energyKwhByStep: number[];
  costCnyByStep: number[];
}

export function readSolution(f: Formulation, x: ArrayLike<number>): ScenarioResult[] {
  const K = f.grid.durationH.length;
  const at = (cols: Cols, m: number) => Array.from({ length: K }, (_, k) => Math.max(0, x[cols[m]![k]!] ?? 0));
  return f.scenarios.map((sc, m) => {
    const stations = new Map<string, { volumeM3: number[]; inflowM3h: number[]; pumpedM3h: number[]; standbyM3h: number[]; overflowM3h: number[]; spillM3h: number[] }>();
    const energy = new Array<number>(K).fill(0);
    for (const s of f.stations) {
      const qd = at(s.Qd, m);
      const qs = at(s.Qs, m);
      const pumped = qd.map((v, k) => v + qs[k]!);
      const spillM3h = new Array<number>(K).fill(0);
      for (const sp of s.spill) at(sp.cols, m).forEach((v, k) => (spillM3h[k] = spillM3h[k]! + v));
      stations.set(s.station.id, {
        volumeM3: at(s.V, m),
        inflowM3h: Array.from({ length: K }, (_, k) => sc.inflowM3h.get(s.station.id)?.[k] ?? 0),
        pumpedM3h: pumped,
        standbyM3h: qs,
        overflowM3h: at(s.O, m),
        spillM3h,
      });
      pumped.forEach((q, k) => (energy[k] = energy[k]! + q * f.grid.durationH[k]! * s.station.specificEnergyKwhM3));
    }
    const transfers = new Map<string, number[]>();
    for (const t of f.transfers) {
      const ab = at(t.AB, m);
      const ba = at(t.BA, m);
      transfers.set(t.interconnection.id, ab.map((v, k) => v - ba[k]!));
      ab.forEach((v, k) => (energy[k] = energy[k]! + (v + ba[k]!) * f.grid.durationH[k]! * t.interconnection.specificEnergyKwhM3));
    }
    const tanks = new Map<string, { volumeM3: number[]; inletM3h: number[]; outletM3h: number[]; overflowM3h: number[] }>();
    for (const t of f.tanks) {
      const outlet = at(t.Gout, m);
      tanks.set(t.tank.id, { volumeM3: at(t.VT, m), inletM3h: at(t.Gin, m), outletM3h: outlet, overflowM3h: at(t.OT, m) });
      outlet.forEach((v, k) => (energy[k] = energy[k]! + v * f.grid.durationH[k]! * t.tank.outletSpecificEnergyKwhM3));
    }
    const plants = new Map<string, { inflowM3h: number[]; bypassM3h: number[] }>();
    for (const p of f.plants) plants.set(p.plant.id, { inflowM3h: at(p.P, m), bypassM3h: at(p.B, m) });
    return {
      scenarioId: sc.id,
      stations,
      tanks,
      transfers,
      plants,
      energyKwhByStep: energy,
      costCnyByStep: energy.map((e, k) => e * f.priceCnyPerKwh[k]!),
    };
  });
}

/**
 * The same decisions with water leaving a well or a tank only when it is full (domain.md: "Overflow happens
 * only when full"). The LP's overflow columns are not tied to the volume, and among plans with the least
 * overflow the reserve priority picks one that overflows early from a well with room (that keeps its level
 * low): in 60 mm on the reference network all 13,581 m³ were planned below the overflow level, W1 from 10:45
 * at 1.00 m, 7 h before it fills. Re-run per store, each step's net inflow as the LP has it (inflow, arrivals,
 * pumping, transfers, gates, spill: everything but overflow): V'ₖ = min(ceiling, V'ₖ₋₁ + net), overflow the
 * rest. V' ≥ V at every step (by induction), so the re-run is feasible for the LP too and overflows no more:
 * at the overflow optimum each store's total is the LP's, only its timing and the levels change. For the
 * prediction and the explanations; the setpoints follow the LP (a band at a low planned level makes the PLC
 * run every allowed pump, which is the flow the LP plans; timing the overflow inside the LP instead cost the
 * closed-loop rainstorm 275 m³ more overflow).
 */
export function fullStoreTrajectories(f: Formulation, r: ScenarioResult): ScenarioResult {
  const dt = f.grid.durationH;
  const m = Math.max(0, f.scenarios.findIndex((sc) => sc.id === r.scenarioId));
  const rerun = (volumeM3: readonly number[], overflowM3h: readonly number[], v0: number, ceilingM3: number) => {
    const volume: number[] = [];
    const overflow: number[] = [];
    let before = v0;
    let beforeLp = v0;
    for (let k = 0; k < volumeM3.length; k++) {
      const net = volumeM3[k]! - beforeLp + overflowM3h[k]! * dt[k]!;
      const v = Math.min(Math.max(ceilingM3, volumeM3[k]!), before + net);
      overflow.push(Math.max(0, (before + net - v) / dt[k]!));
      volume.push(v);
      before = v;
      beforeLp = volumeM3[k]!;
    }
    return { volume, overflow };
  };
  const upper = (col: number | undefined, fallback: number) => (col !== undefined && col >= 0 ? Math.min(fallback, f.problem.colUpper[col]!) : fallback);
  const stations = new Map(r.stations);
  for (const s of f.stations) {
    const t = r.stations.get(s.station.id);
    if (!t) continue;
    const { volume, overflow } = rerun(t.volumeM3, t.overflowM3h, s.initialVolumeM3, upper(s.V[m]?.[0], s.volumeMaxM3));
    stations.set(s.station.id, { ...t, volumeM3: volume, overflowM3h: overflow });
  }
  const tanks = new Map(r.tanks);
  for (const tk of f.tanks) {
    const t = r.tanks.get(tk.tank.id);
    if (!t) continue;
    const { volume, overflow } = rerun(t.volumeM3, t.overflowM3h, tk.initialVolumeM3, upper(tk.VT[m]?.[0], tk.tank.capacityM3));
    tanks.set(tk.tank.id, { ...t, volumeM3: volume, overflowM3h: overflow });
  }
  return { ...r, stations, tanks };
}

/** Steps of the grid before its first coarse step. */
function fineSteps(grid: TimeGrid): number {
  const coarse = grid.durationH.findIndex((d) => d > grid.fineStepMin / 60 + 1e-9);
  return coarse < 0 ? grid.durationH.length : coarse;
}

/**
 * A tank empties again in dry weather: at the end of the first `turnoverH` hours it holds no more than the
 * part of its volume now that its outlet cannot move in that time, so water stands no longer, and the room it
 * takes is free again before the next storm is in the forecast (an outlet of 800 m³/h needs 50 h to empty
 * 40,000 m³; the reserve rows look 12 h ahead). Equalising within the window (fill at the peak, empty in the
 * valley) is untouched. An excess counts in the reserve priority, per m³ over the tank's capacity, as its
 * reserve rows do. Only where no reserve limit applies over the horizon (no wet-weather excess upstream):
 * in wet weather the reserve and overflow rows decide what the tank holds.
 */
function tankTurnoverRow(lp: LpBuilder, add: (col: number, coefficient: number) => void, t: TankModel, grid: TimeGrid, turnoverH: number, weights: readonly number[]): TankModel['turnover'] {
  if (t.tank.kind === 'combined-sewer' || !noRainAhead(t)) return null;
  // The last step that ends within the window (steps end at offsetH[k + 1], increasing).
  const last = grid.durationH.findLastIndex((_, k) => grid.offsetH[k + 1]! <= turnoverH + 1e-9);
  if (last < 0) return null;
  const leftM3 = Math.max(0, t.initialVolumeM3 - t.outletMaxM3h * grid.offsetH[last + 1]!);
  for (let m = 0; m < t.VT.length; m++) {
    const excess = lp.addCol(`turnover.${t.tank.id}.${m}`, 0, Number.POSITIVE_INFINITY);
    lp.addRow(`turnover.${t.tank.id}.${m}`, [[t.VT[m]![last]!, 1], [excess, -1]], Number.NEGATIVE_INFINITY, leftM3);
    add(excess, weights[m]! / t.tank.capacityM3);
  }
  return { lastStep: last, leftM3 };
}

/**
 * Pump starts at a VFD station as linear rows that every run of its PLC satisfies (a relaxation of the whole
 * pump count). With n pumps running and flow q: q ≤ n·capacity (enough pumps), q ≥ n·minSpeed·capacity (each
 * running pump at least at its lowest speed), and q ≥ (n − 1)·0.9·capacity (below that the PLC stops a pump:
 * VFD_DESTAGE_FRACTION). These hold at every moment, so they hold for the mean count over a step; and a
 * series of step means rises by no more than the series it averages, so Σ max(0, n̄ₖ − n̄ₖ₋₁), from the pumps
 * running now, is at most the starts the PLC makes. Returns the starts' columns per scenario and step (−1 where
 * not counted).
 */
function vfdStartRows(lp: LpBuilder, s: StationModel, countedScenarios: number, countedSteps: number, M: number, K: number, now: InitialStation | undefined): Cols {
  const id = s.station.id;
  const capEach = s.pumpEachM3h;
  const minSpeed = Math.min(...s.station.pumps.map((p) => p.minSpeedFraction ?? DEFAULT_VFD_MIN_SPEED_FRACTION));
  const runningNow = now?.pumpsRunning ?? Math.ceil(Math.max(0, now?.outflowM3h ?? 0) / capEach - 1e-6);
  const starts: Cols = Array.from({ length: M }, () => new Array<number>(K).fill(-1));
  for (let m = 0; m < countedScenarios; m++) {
    const row = starts[m]!;
    let before: number | null = null;
    for (let k = 0; k < countedSteps; k++) {
      const flow: [number, number][] = [[s.Qd[m]![k]!, -1], [s.Qs[m]![k]!, -1]];
      const n = lp.addCol(`vfdPumps.${id}.${m}.${k}`, 0, s.station.pumps.length);
      const u = lp.addCol(`vfdStarts.${id}.${m}.${k}`, 0, Number.POSITIVE_INFINITY);
      lp.addRow(`vfdEnough.${id}.${m}.${k}`, [[n, capEach], ...flow], 0, Number.POSITIVE_INFINITY);
      lp.addRow(`vfdMinSpeed.${id}.${m}.${k}`, [[n, minSpeed * capEach], ...flow], Number.NEGATIVE_INFINITY, 0);
      lp.addRow(`vfdDestage.${id}.${m}.${k}`, [[n, VFD_DESTAGE_FRACTION * capEach], ...flow], Number.NEGATIVE_INFINITY, VFD_DESTAGE_FRACTION * capEach);
      // u ≥ n − (pumps before): from the pumps running now at the first step.
      if (before === null) lp.addRow(`vfdStart.${id}.${m}.${k}`, [[u, 1], [n, -1]], -runningNow, Number.POSITIVE_INFINITY);
      else lp.addRow(`vfdStart.${id}.${m}.${k}`, [[u, 1], [n, -1], [before, 1]], 0, Number.POSITIVE_INFINITY);
      row[k] = u;
      before = n;
    }
  }
  return starts;
}
