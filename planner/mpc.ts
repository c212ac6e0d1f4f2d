// The optimising planner (model predictive control): state + inflow forecast → LP → schedule → SCADA
// setpoints, re-planned every cycle. The schedule is translated into what the PLCs take (level band or flow
// setpoint, pumps allowed, transfer, tank inlet/outlet) per step and clamped to every setpoint's envelope.
// It never returns "no plan": the fallbacks are the relaxed LP, the previous plan shifted, the rule-based plan.
import type { NetworkSnapshot, RainForecast } from '../activities/types.js';
import { DEFAULT_VFD_MIN_SPEED_FRACTION, VFD_DESTAGE_FRACTION, type Envelope, type NetworkConfig, type PumpStation } from '../network/schema.js';
import { clampLevelBand, clampToEnvelope } from './envelope.js';
import { explainPlan } from './explain.js';
import {
  alarmMarginOf,
  buildTimeGrid,
  DEFAULT_CUTOUT_MARGIN_M,
  DEFAULT_SMOOTHING_ENERGY_SHARE,
  formulate,
  noRainAhead,
  readSolution,
  fullStoreTrajectories,
  type DispatcherConstraints,
  type Formulation,
  type InitialState,
  type OutflowHistory,
  type Scenario,
  type ScenarioResult,
  type TimeGrid,
} from './formulation.js';
import { dryWeatherByNode, meanOverWindow, type InflowForecast, type InflowSeries } from './inflow.js';
import { scheduleFixedSpeedStations, type FixedSpeedSchedule } from './pump-schedule.js';
import { ruleBasedPlan } from './rule-based.js';
import { defaultAlgorithm, optimiseWithFallbacks, type SolverAlgorithm } from './solver.js';
import type { LocalisedText, OverflowRisk, Plan, PlanFallback, PlanPrediction, PlanStep, SolverStats, StationSetpoint } from './types.js';
import { areaAtLevel, levelAtVolume, normalCeilingM, volumeAtLevel } from './wet-well.js';

export interface PlannerStationState {
  stationId: string;
  levelM: number | null;
  pumpsAvailable: number | null;
  mode: 'local' | 'remote' | null;
  /** Pumped flow now (what is already travelling in the main). */
  outflowM3h?: number | null;
  /** Pumps running now (a VFD station's pump limit keeps them allowed while the flow still uses them). */
  pumpsRunning?: number | null;
  /**
   * Pumped flow over the recent past, oldest first, the last step ending at the read time: what is in the
   * discharge main now and arrives downstream within its travel time. Without it the flow now is assumed to have
   * run for the whole travel time.
   */
  recentOutflowM3h?: OutflowHistory | null;
  /** Setpoints in force, for the envelope's rate-of-change limit. */
  startLevelSpM?: number | null;
  stopLevelSpM?: number | null;
  flowSpM3h?: number | null;
}

export interface PlannerTankState {
  tankId: string;
  volumeM3: number | null;
  inletSpM3h?: number | null;
  outletSpM3h?: number | null;
}

export interface PlannerTransferState {
  interconnectionId: string;
  transferM3h: number | null;
  /**
   * Transfer over the recent past, positive a→b, oldest first, the last step ending at the read time: what is
   * travelling across now. Without it the transfer now is assumed to have run for the whole travel time.
   */
  recentTransferM3h?: OutflowHistory | null;
}

/** What the planner needs of the network's state; a NetworkSnapshot (activities/types.ts) fits. */
export interface PlannerState {
  readAtUtcMs: number;
  stations: PlannerStationState[];
  tanks?: PlannerTankState[];
  transfers?: PlannerTransferState[];
}

export interface MpcOptions {
  /** Step length near now (default: the network's planning step). */
  fineStepMin: number;
  /** How long the fine steps last. */
  fineHorizonH: number;
  coarseStepMin: number;
  /** Planning horizon (default: the network's). */
  horizonH: number;
  /** Decisions within this time from now are shared by all inflow scenarios (what is sent now). */
  sharedHorizonMin: number;
  robustness: 'expected' | 'worst-case';
  /**
   * Storage is kept for the wet-weather excess forecast within this window (default 12 h: measured against
   * 6 h in the closed loop, less overflow over the five storm scenarios, see planner/README.md).
   */
  reserveLookAheadH: number;
  /**
   * In dry weather a storage tank is empty again this many hours from now, as far as its outlet allows
   * (formulation.ts tankTurnoverRow); 0 or null: not required. Default: the network's
   * planning.tankTurnoverH, else 24. Without it a dry 24 h plan filled
   * T1 to 35,389 m³ by its horizon's end (stored water is valued there at the day's mean price), and the
   * fewest-starts setting kept 20,000–29,000 m³ standing in T1 for days of the dry week: room its outlet needs
   * more than a day to free when a storm comes into the forecast (planner/README.md, "Results").
   */
  tankTurnoverH: number | null;
  /** Normal operation keeps the level this share of the working depth below the high alarm (default: the network's planning.wellMargins, else 0.1). */
  alarmMarginFraction: number;
  /**
   * The same margin at stations whose pumps are all fixed-speed (default: the network's planning.wellMargins);
   * null: alarmMarginFraction. Their small wells make a start for every fill, so each 0.1 m of well they may
   * use saves starts; the transfer stations keep the wider margin (planner/README.md, "The dry-week targets").
   * In dry weather only: a station with rain ahead keeps alarmMarginFraction (formulation.ts).
   */
  fixedSpeedAlarmMarginFraction: number | null;
  /** Plant steadiness (formulation.ts); defaults: the network's planning.plantSteadiness, else DEFAULT_PLANT_STEADINESS. */
  plantRampFractionPerH: number;
  plantBalanceBand: number;
  /** Plant inflow within this share of capacity of a steady level counts as steady (formulation.ts); < 0: not counted. */
  plantDeviationBand: number;
  overflowHarm: Record<string, number>;
  algorithm: SolverAlgorithm;
  /** Total solver time budget (strict and relaxed attempts together). */
  timeLimitS: number;
  /** Scenarios optimised together (deterministic + members); larger ensembles are reduced by inflow volume. */
  maxScenarios: number;
  /** Economy priorities on the nominal (deterministic) scenario only, or expected over all scenarios. */
  economy: 'nominal' | 'all';
  /** Overflow below this volume over the horizon does not count as an overflow in the risk figures. */
  riskThresholdM3: number;
  /**
   * Fixed-speed stations with no rain ahead get a whole-pump schedule (pump-schedule.ts), sent as a pump
   * count; false leaves them to the widest level band and the PLC's staging.
   */
  wholePumpSchedules: boolean;
  /** Cost of one pump start in whole-pump schedules, CNY (default: the network's planning.pumpStartCostCny, else 20). */
  pumpStartCostCny: number;
  /**
   * A whole-pump schedule's first step (what is sent now) is chosen for the mean cost over the forecast inflow
   * and this share either side of it; 0: the forecast's optimum. Default 0.03, about the dry-weather flow's
   * hourly error: the dry week 448 → 442 starts for +¥41; with a start priced at ¥1,000, 323 → 316
   * (planner/README.md, "Results").
   */
  wholePumpInflowSpread: number;
  /** Share of the optimal energy cost the smoothness priority may spend on fewer flow changes (formulation.ts; default: the network's planning.smoothingEnergyShare, else 1e-5). */
  energyRelTolerance: number;
  /**
   * Whole-pump schedules price a station's pumping with this share of the energy its water meets at the
   * stations downstream, at the tariff of its arrival there (0: the station's own energy only). Default 1:
   * water pumped in the dear hours makes the stations below it pump in the dear hours too, unless their
   * storage can wait (the dry week at a ¥20 start: ¥93,567 against ¥94,340 with own energy only; README).
   */
  downstreamEnergyWeight: number;
  /**
   * Cost of one pump start at a VFD station, CNY, counted in the LP's energy priority by the relaxation of the
   * PLC's pump staging (formulation.ts vfdStartRows); 0 leaves VFD starts uncounted. Default: the network's
   * planning.vfdStartCostCny, else pumpStartCostCny.
   */
  vfdStartCostCny: number;
  /**
   * A VFD station's flow setpoint is moved onto the running pumps' threshold (all of them at full speed, or
   * one fewer's destaging flow) when the plan is within this share of one pump's capacity beyond it, the
   * well has room and no rain is ahead of the station (holdVfdFlow); 0: the planned flow as it is. Default
   * 0.1: the dry week 477 starts for ¥93,914 against 495 for ¥93,839 (0.2 costs more for no fewer on 48 h;
   * planner/README.md).
   */
  vfdHoldShare: number;
}

/**
 * Wear and inrush of one start of a sewage pump, as a cost, when the network file does not give one. With
 * pumping priced along the water's path, ¥20 keeps the dry week's starts below local control's (¥5: 661
 * starts for −0.7 % cost; planner/README.md).
 */
export const DEFAULT_PUMP_START_COST_CNY = 20;

/** Normal operation's margin below the high alarm, a share of the working depth, when the network file gives none. */
export const DEFAULT_ALARM_MARGIN_FRACTION = 0.1;

/** Hours within which a storage tank is empty again in dry weather, when the network file gives none (MpcOptions.tankTurnoverH). */
export const DEFAULT_TANK_TURNOVER_H = 24;

/**
 * Plant steadiness when the network file's planning.plantSteadiness leaves it out. In the dry week these keep
 * both reference plants steadier than local control (CV 0.128 / 0.281 against 0.267 / 0.289) for ¥93,705
 * against ¥93,914 with the balance at 0.1 and no band (planner/README.md).
 */
export const DEFAULT_PLANT_STEADINESS = { rampFractionPerH: 0.15, balanceBand: 0.2, deviationBand: 0.15 } as const;

export function defaultMpcOptions(network: NetworkConfig): MpcOptions {
  const steadiness = network.planning.plantSteadiness;
  return {
    fineStepMin: network.planning.stepMin,
    fineHorizonH: 6,
    coarseStepMin: 60,
    horizonH: network.planning.horizonH,
    sharedHorizonMin: 60,
    robustness: 'expected',
    reserveLookAheadH: 12,
    tankTurnoverH: network.planning.tankTurnoverH ?? DEFAULT_TANK_TURNOVER_H,
    alarmMarginFraction: network.planning.wellMargins?.alarmMarginFraction ?? DEFAULT_ALARM_MARGIN_FRACTION,
    fixedSpeedAlarmMarginFraction: network.planning.wellMargins?.fixedSpeedAlarmMarginFraction ?? null,
    plantRampFractionPerH: steadiness?.rampFractionPerH ?? DEFAULT_PLANT_STEADINESS.rampFractionPerH,
    plantBalanceBand: steadiness?.balanceBand ?? DEFAULT_PLANT_STEADINESS.balanceBand,
    plantDeviationBand: steadiness?.deviationBand ?? DEFAULT_PLANT_STEADINESS.deviationBand,
    overflowHarm: {},
    algorithm: defaultAlgorithm,
    timeLimitS: 60,
    maxScenarios: 6,
    riskThresholdM3: 1,
    economy: 'nominal',
    wholePumpSchedules: true,
    wholePumpInflowSpread: 0.03,
    energyRelTolerance: network.planning.smoothingEnergyShare ?? DEFAULT_SMOOTHING_ENERGY_SHARE,
    downstreamEnergyWeight: 1,
    pumpStartCostCny: network.planning.pumpStartCostCny ?? DEFAULT_PUMP_START_COST_CNY,
    vfdStartCostCny: network.planning.vfdStartCostCny ?? network.planning.pumpStartCostCny ?? DEFAULT_PUMP_START_COST_CNY,
    vfdHoldShare: 0.1,
  };
}

export interface OptimiserInput {
  planId: string;
  network: NetworkConfig;
  state: PlannerState;
  inflow: InflowForecast;
  nowUtcMs: number;
  previousPlan?: Plan | null;
  constraints?: DispatcherConstraints;
  /** The rain behind the inflow forecast, for explanations and for the rule-based fallback. */
  rainForecast?: RainForecast | null;
  options?: Partial<MpcOptions>;
}

const text = (en: string, zh: string): LocalisedText => ({ en, zh });

/** Build the optimiser's plan; never rejects (falls back to simpler plans, with the reason in `fallback`). */
export async function planWithOptimiser(input: OptimiserInput): Promise<Plan> {
  const { network, nowUtcMs } = input;
  const options: MpcOptions = { ...defaultMpcOptions(network), ...input.options };
  const assumptions: LocalisedText[] = [];
  /** When the inputs cannot even be turned into a model: the previous plan shifted, else the rule-based plan. */
  const withoutModel = (reason: string): Plan => {
    const previous = input.previousPlan ? shiftPreviousPlan(input.previousPlan, network, input.state, input.planId, nowUtcMs) : null;
    if (previous) return { ...previous, fallback: { kind: 'previous-plan', reason: text(`Optimiser failed (${reason}); previous plan shifted to now.`, `优化失败（${reason}），沿用上一方案并顺延。`) } };
    const plan = ruleBasedPlan({ planId: input.planId, network, snapshot: snapshotOf(input.state, network), forecast: input.rainForecast ?? null, nowUtcMs });
    return { ...plan, fallback: { kind: 'rule-based', reason: text(`Optimiser failed (${reason}); rule-based plan.`, `优化失败（${reason}），采用规则调度方案。`) } };
  };
  try {
    const grid = buildTimeGrid(nowUtcMs, options);
    const scenarios = buildScenarios(network, grid, input.inflow, options.maxScenarios, assumptions);
    const initial = initialState(network, input.state, nowUtcMs, assumptions);
    const constraints = input.constraints ?? {};
    const K = grid.durationH.length;
    const sharedSteps = Math.max(1, grid.offsetH.slice(0, K).filter((h) => h * 60 < options.sharedHorizonMin).length);
    const formulationOptions = (relaxed: boolean) => ({
      sharedSteps,
      robustness: options.robustness,
      reserveLookAheadH: options.reserveLookAheadH,
      tankTurnoverH: options.tankTurnoverH,
      alarmMarginFraction: options.alarmMarginFraction,
      fixedSpeedAlarmMarginFraction: options.fixedSpeedAlarmMarginFraction,
      plantRampFractionPerH: options.plantRampFractionPerH,
      plantBalanceBand: options.plantBalanceBand,
      plantDeviationBand: options.plantDeviationBand,
      overflowHarm: options.overflowHarm,
      relaxed,
      economy: options.economy,
      energyRelTolerance: options.energyRelTolerance,
      vfdStartCostCny: options.vfdStartCostCny,
    });
    const wholePump = options.wholePumpSchedules
      ? scheduleFixedSpeedStations({
          network,
          grid,
          steps: outputSteps(grid),
          scenarios,
          initial,
          constraints,
          alarmMarginFraction: options.fixedSpeedAlarmMarginFraction ?? options.alarmMarginFraction,
          floorMarginM: WHOLE_PUMP_FLOOR_MARGIN_M,
          startCostCny: options.pumpStartCostCny,
          downstreamEnergyWeight: options.downstreamEnergyWeight,
          inflowSpread: options.wholePumpInflowSpread,
        })
      : new Map<string, FixedSpeedSchedule>();
    const wholePumpM3h = new Map([...wholePump].map(([id, sc]) => [id, sc.flowByGridStepM3h]));
    const attempt = (relaxed: boolean) => () => {
      const f = formulate({ network, grid, scenarios, initial, constraints, options: formulationOptions(relaxed), wholePumpM3h });
      return { problem: f.problem, context: f };
    };
    const outcome = await optimiseWithFallbacks<Formulation, Plan>(
      [
        { formulation: 'strict', build: attempt(false) },
        { formulation: 'relaxed', build: attempt(true) },
      ],
      [
        { kind: 'previous-plan', make: () => (input.previousPlan ? shiftPreviousPlan(input.previousPlan, network, input.state, input.planId, nowUtcMs) : null) },
        { kind: 'rule-based', make: () => ruleBasedPlan({ planId: input.planId, network, snapshot: snapshotOf(input.state, network), forecast: input.rainForecast ?? null, nowUtcMs }) },
      ],
      { algorithm: options.algorithm, timeLimitS: options.timeLimitS },
    );
    const why = outcome.failures.join('; ');
    if (outcome.kind !== 'solved') {
      const fallback: PlanFallback =
        outcome.kind === 'previous-plan'
          ? { kind: 'previous-plan', reason: text(`Optimiser failed (${why}); previous plan shifted to now.`, `优化失败（${why}），沿用上一方案并顺延。`) }
          : { kind: 'rule-based', reason: text(`Optimiser failed (${why}); rule-based plan.`, `优化失败（${why}），采用规则调度方案。`) };
      return { ...outcome.plan, fallback, ...(assumptions.length > 0 ? { assumptions } : {}) };
    }
    const f = outcome.context;
    const results = readSolution(f, outcome.result.colValue!);
    const solver: SolverStats = { ...outcome.result.stats, formulation: outcome.formulation };
    let fallback: PlanFallback | undefined;
    if (outcome.formulation === 'relaxed') {
      fallback = { kind: 'relaxed', reason: text(`Strict model could not be solved (${why}); dispatcher bands and the pump-stop level were made soft.`, `严格模型无解（${why}），调度员液位区间和停泵液位改为软约束。`) };
    } else if (outcome.result.status !== 'optimal') {
      const done = outcome.result.stats.priorities.filter((p) => p.status === 'optimal').map((p) => p.name);
      fallback = { kind: 'partial', reason: text(`Solver stopped early (${why}); priorities solved: ${done.join(', ')}.`, `求解提前终止（${why}），已完成的优先级：${done.join('、')}。`) };
    }
    return buildPlan({ input, options, f, results, solver, fallback, assumptions, wholePump });
  } catch (error) {
    try {
      return { ...withoutModel((error as Error).message), ...(assumptions.length > 0 ? { assumptions } : {}) };
    } catch (fallbackError) {
      // Even shifting failed (a malformed previous plan): the rule-based plan needs only the network.
      const plan = ruleBasedPlan({ planId: input.planId, network, snapshot: snapshotOf(input.state, network), forecast: null, nowUtcMs });
      const why = `${(error as Error).message}; ${(fallbackError as Error).message}`;
      return { ...plan, fallback: { kind: 'rule-based', reason: text(`Optimiser failed (${why}); rule-based plan.`, `优化失败（${why}），采用规则调度方案。`) } };
    }
  }
}

/**
 * Inflow series resampled to the grid; nodes without a series get their catchments' dry-weather flow. Every
 * default is said in `assumptions`, per scenario: a station with neither (zero inflow), a series that starts
 * after now (its first value held back to now) or ends before the horizon (its last value held). A forecast
 * that does not overlap the horizon at all throws (the fallbacks follow, with the reason). With members but
 * no deterministic series, the first member takes the deterministic scenario's place (shown and economised on).
 */
function buildScenarios(network: NetworkConfig, grid: TimeGrid, inflow: InflowForecast, maxScenarios: number, assumptions: LocalisedText[]): Scenario[] {
  const K = grid.durationH.length;
  const nodes = [...network.stations.map((s) => s.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id)];
  const stationIds = new Set(network.stations.map((s) => s.id));
  const dryWeather = dryWeatherByNode(network, grid.boundariesUtcMs);
  const horizonStart = grid.boundariesUtcMs[0]!;
  const horizonEnd = grid.boundariesUtcMs[K]!;
  const stepMs = inflow.stepMin * 60_000;
  const iso = (ms: number) => new Date(ms).toISOString().replace(/:00\.000Z$/, 'Z');
  const allSeries = [...inflow.series, ...(inflow.members ?? []).flatMap((m) => m.series)].filter((s) => s.flowM3h.length > 0);
  if (allSeries.length > 0) {
    const lastEnd = inflow.startUtcMs + Math.max(...allSeries.map((s) => s.flowM3h.length)) * stepMs;
    if (lastEnd <= horizonStart || inflow.startUtcMs >= horizonEnd) {
      throw new RangeError(`inflow forecast ${iso(inflow.startUtcMs)}–${iso(lastEnd)} does not overlap the planning horizon ${iso(horizonStart)}–${iso(horizonEnd)}`);
    }
  }
  // What was defaulted, per kind: scenario id → nodes.
  const notes = { dwf: new Map<string, string[]>(), zero: new Map<string, string[]>(), held: new Map<string, string[]>(), backFilled: new Map<string, string[]>() };
  const note = (kind: keyof typeof notes, scenario: string, node: string) => notes[kind].set(scenario, [...(notes[kind].get(scenario) ?? []), node]);
  const resample = (series: readonly InflowSeries[], id: string): Map<string, number[]> => {
    const byNode = new Map(series.map((s) => [s.nodeId, s.flowM3h]));
    const out = new Map<string, number[]>();
    for (const node of nodes) {
      const values = byNode.get(node);
      if (values && values.length > 0) {
        out.set(
          node,
          Array.from({ length: K }, (_, k) => {
            const v = meanOverWindow(values, inflow.startUtcMs, inflow.stepMin, grid.boundariesUtcMs[k]!, grid.boundariesUtcMs[k + 1]!);
            if (!Number.isFinite(v)) throw new RangeError(`inflow ${id}/${node} is not a finite number`);
            return Math.max(0, v);
          }),
        );
        if (inflow.startUtcMs > horizonStart + 1) note('backFilled', id, node);
        if (inflow.startUtcMs + values.length * stepMs < horizonEnd - 1) note('held', id, node);
      } else if (dryWeather.has(node)) {
        out.set(node, dryWeather.get(node)!);
        note('dwf', id, node);
      } else if (stationIds.has(node)) {
        // Tanks and plants take no inflow of their own unless a series names them; a station without one is a gap.
        note('zero', id, node);
      }
    }
    return out;
  };
  const given = inflow.series.length > 0 || (inflow.members ?? []).length === 0;
  const first = given ? { id: 'deterministic', series: inflow.series } : inflow.members![0]!;
  const scenarios: Scenario[] = [{ id: first.id, weight: 1, inflowM3h: resample(first.series, first.id) }];
  if (!given) {
    assumptions.push(text(`No deterministic inflow series: ensemble member ${first.id} is shown and the economy priorities are planned on it.`, `无确定性进水预测：展示集合预报成员${first.id}，经济性目标按其计算。`));
  }
  let members = (inflow.members ?? []).filter((m) => m !== first).map((m) => ({ id: m.id, inflowM3h: resample(m.series, m.id) }));
  const listed = (byScenario: Map<string, string[]>, sep: { zh: string; en: string }) => {
    const entries = [...byScenario.entries()];
    const only = entries.length === 1 && entries[0]![0] === first.id;
    return {
      en: entries.map(([id, n]) => (only ? n.join(', ') : `${n.join(', ')} (${id})`)).join(sep.en),
      zh: entries.map(([id, n]) => (only ? n.join('、') : `${n.join('、')}（${id}）`)).join(sep.zh),
    };
  };
  const sep = { zh: '；', en: '; ' };
  if (notes.dwf.size > 0) {
    const l = listed(notes.dwf, sep);
    assumptions.push(text(`No inflow series for ${l.en}: dry-weather flow of their catchments assumed.`, `${l.zh}无进水预测，按其汇水区旱季流量计。`));
  }
  if (notes.zero.size > 0) {
    const l = listed(notes.zero, sep);
    assumptions.push(text(`No inflow series and no catchment for ${l.en}: zero inflow assumed.`, `${l.zh}无进水预测且无汇水区，按零进水计。`));
  }
  if (notes.backFilled.size > 0) {
    const l = listed(notes.backFilled, sep);
    const h = ((inflow.startUtcMs - horizonStart) / 3_600_000).toFixed(1);
    assumptions.push(text(`Inflow forecast starts ${h} h after the plan (${l.en}): its first values are held back to now.`, `进水预测晚于方案起点${h}小时开始（${l.zh}），首值前推至当前。`));
  }
  if (notes.held.size > 0) {
    const l = listed(notes.held, sep);
    assumptions.push(text(`Inflow forecast ends before the horizon (${l.en}); its last values are held.`, `进水预测短于计划时域（${l.zh}），末值延续。`));
  }
  // A member that repeats a scenario already kept (a dry ensemble: every member is the dry-weather flow)
  // only enlarges the LP: plan it once.
  const distinct: typeof members = [];
  for (const m of members) if (![scenarios[0]!, ...distinct].some((k) => sameInflow(k.inflowM3h, m.inflowM3h))) distinct.push(m);
  const merged = members.length - distinct.length;
  if (merged > 0) assumptions.push(text(`${merged} ensemble member${merged === 1 ? '' : 's'} repeating another scenario's inflow planned once.`, `${merged}个集合预报成员与其他情景进水相同，合并计算。`));
  members = distinct;
  if (members.length > maxScenarios - 1) {
    // Scenario reduction: keep members spread evenly over the ranking by total inflow volume (driest to wettest).
    const volume = (s: { inflowM3h: Map<string, number[]> }) => [...s.inflowM3h.values()].reduce((a, v) => a + v.reduce((x, y, k) => x + y * grid.durationH[k]!, 0), 0);
    const ranked = [...members].sort((a, b) => volume(a) - volume(b));
    const keep = Math.max(1, maxScenarios - 1);
    const picked = new Set<number>();
    for (let i = 0; i < keep; i++) picked.add(Math.round((i * (ranked.length - 1)) / Math.max(1, keep - 1)));
    assumptions.push(text(`${members.length} ensemble members reduced to ${picked.size} spread over inflow volume.`, `集合预报${members.length}个成员按进水量缩减为${picked.size}个。`));
    members = [...picked].map((i) => ranked[i]!);
  }
  for (const m of members) scenarios.push({ id: m.id, weight: 1, inflowM3h: m.inflowM3h });
  return scenarios.map((s) => ({ ...s, weight: 1 / scenarios.length }));
}

/** Same inflow at every node and step, to 0.01 m³/h. */
function sameInflow(a: ReadonlyMap<string, readonly number[]>, b: ReadonlyMap<string, readonly number[]>): boolean {
  if (a.size !== b.size) return false;
  for (const [node, x] of a) {
    const y = b.get(node);
    if (!y || y.length !== x.length) return false;
    for (let k = 0; k < x.length; k++) if (Math.abs(x[k]! - y[k]!) > 0.01) return false;
  }
  return true;
}

/** Minutes of recent pumped flow the planner's state should carry: the longest main's travel time, and a step more. */
export function recentOutflowWindowMin(network: NetworkConfig): number {
  const longest = Math.max(0, ...network.mains.map((m) => m.travelMin), ...network.interconnections.map((x) => x.travelMin));
  return Math.ceil(longest) + network.planning.stepMin;
}

/** A recent history the model can use: a positive step and finite flows, non-negative unless signed (a transfer). */
function usableHistory(history: OutflowHistory | null | undefined, values: 'non-negative' | 'signed' = 'non-negative'): boolean {
  return !!history && history.stepMin > 0 && history.valuesM3h.length > 0 && history.valuesM3h.every((v) => Number.isFinite(v) && (values === 'signed' || v >= 0));
}

function initialState(network: NetworkConfig, state: PlannerState, nowUtcMs: number, assumptions: LocalisedText[]): InitialState {
  const byId = new Map(state.stations.map((s) => [s.stationId, s]));
  const unknownLevel: string[] = [];
  const unknownPumps: string[] = [];
  const unknownMode: string[] = [];
  const stations = new Map(
    network.stations.map((s) => {
      const st = byId.get(s.id);
      const level = st?.levelM;
      if (level === null || level === undefined || !Number.isFinite(level)) unknownLevel.push(s.id);
      if (st?.pumpsAvailable === null || st?.pumpsAvailable === undefined || !Number.isFinite(st.pumpsAvailable)) unknownPumps.push(s.id);
      if (st?.mode !== 'local' && st?.mode !== 'remote') unknownMode.push(s.id);
      return [
        s.id,
        {
          levelM: level !== null && level !== undefined && Number.isFinite(level) ? level : s.levels.pumpStartM,
          pumpsAvailable: st?.pumpsAvailable !== null && st?.pumpsAvailable !== undefined && Number.isFinite(st.pumpsAvailable) ? st.pumpsAvailable : s.pumps.length,
          outflowM3h: Math.max(0, st?.outflowM3h ?? 0),
          ...(usableHistory(st?.recentOutflowM3h) ? { recentOutflowM3h: st!.recentOutflowM3h! } : {}),
          flowSetpointM3h: st?.flowSpM3h ?? null,
          locked: st?.mode === 'local',
          ...(st?.pumpsRunning === undefined || st.pumpsRunning === null ? {} : { pumpsRunning: st.pumpsRunning }),
        },
      ];
    }),
  );
  if (unknownLevel.length > 0) assumptions.push(text(`Level unknown at ${unknownLevel.join(', ')}: pump-start level assumed.`, `${unknownLevel.join('、')}液位未知，按启泵液位计。`));
  if (unknownPumps.length > 0) assumptions.push(text(`Pumps available unknown at ${unknownPumps.join(', ')}: all installed pumps assumed available.`, `${unknownPumps.join('、')}可用泵数未知，按全部泵可用计。`));
  if (unknownMode.length > 0) assumptions.push(text(`Control mode unknown at ${unknownMode.join(', ')}: remote control assumed.`, `${unknownMode.join('、')}控制方式未知，按远程控制计。`));
  if (nowUtcMs - state.readAtUtcMs > 30 * 60_000) {
    assumptions.push(text(`Telemetry is ${Math.round((nowUtcMs - state.readAtUtcMs) / 60_000)} min old.`, `遥测数据已过去${Math.round((nowUtcMs - state.readAtUtcMs) / 60_000)}分钟。`));
  }
  const tankById = new Map((state.tanks ?? []).map((t) => [t.tankId, t]));
  const unknownVolume: string[] = [];
  const tanks = new Map(
    network.tanks.map((t) => {
      const tk = tankById.get(t.id);
      const known = tk?.volumeM3 !== null && tk?.volumeM3 !== undefined && Number.isFinite(tk.volumeM3);
      if (!known) unknownVolume.push(t.id);
      // Unknown volume: full, the pessimistic choice for overflow — the plan counts on no room the tank may
      // not have (an empty tank assumed would promise its whole capacity). What this costs is an outlet opened
      // for water that may not be there, which an empty tank simply does not deliver.
      return [t.id, { volumeM3: known ? Math.min(t.capacityM3, Math.max(0, tk.volumeM3!)) : t.capacityM3, inletM3h: tk?.inletSpM3h ?? 0, outletM3h: tk?.outletSpM3h ?? 0 }];
    }),
  );
  if (unknownVolume.length > 0) assumptions.push(text(`Tank volume unknown at ${unknownVolume.join(', ')}: assumed full (no storage counted on).`, `${unknownVolume.join('、')}池容未知，按满池计（不计入可用调蓄容积）。`));
  const transferById = new Map((state.transfers ?? []).map((x) => [x.interconnectionId, x]));
  const unknownTransfer: string[] = [];
  const transfers = new Map(
    network.interconnections.map((x) => {
      const q = transferById.get(x.id)?.transferM3h;
      if (q === null || q === undefined || !Number.isFinite(q)) {
        unknownTransfer.push(x.id);
        return [x.id, 0];
      }
      return [x.id, q];
    }),
  );
  if (unknownTransfer.length > 0) assumptions.push(text(`Transfer unknown at ${unknownTransfer.join(', ')}: none assumed under way.`, `${unknownTransfer.join('、')}调水流量未知，按无调水计。`));
  const transferHistory = new Map<string, OutflowHistory>();
  for (const x of network.interconnections) {
    const history = transferById.get(x.id)?.recentTransferM3h;
    // Signed (positive a→b); each direction's part is taken in formulation.ts.
    if (usableHistory(history, 'signed')) transferHistory.set(x.id, history!);
  }
  return { stations, tanks, transfers, ...(transferHistory.size > 0 ? { transferHistory } : {}) };
}

interface OutputStep {
  k: number;
  startUtcMs: number;
  durationMin: number;
  /** Share of grid step k elapsed at the start and at the end of this output step. */
  fromFraction: number;
  toFraction: number;
}

/** The plan's steps: grid steps longer than the fine step are split, so every step lasts the fine step (the first may differ). */
function outputSteps(grid: TimeGrid): OutputStep[] {
  const out: OutputStep[] = [];
  grid.durationH.forEach((h, k) => {
    const minutes = h * 60;
    const n = minutes > grid.fineStepMin + 1e-6 ? Math.round(minutes / grid.fineStepMin) : 1;
    for (let i = 0; i < n; i++) {
      out.push({ k, startUtcMs: grid.boundariesUtcMs[k]! + Math.round((i * minutes * 60_000) / n), durationMin: minutes / n, fromFraction: i / n, toFraction: (i + 1) / n });
    }
  });
  return out;
}

interface BuildContext {
  input: OptimiserInput;
  options: MpcOptions;
  f: Formulation;
  results: ScenarioResult[];
  solver: SolverStats;
  fallback: PlanFallback | undefined;
  assumptions: LocalisedText[];
  /** Whole-pump schedules of fixed-speed stations (sent as pump counts). */
  wholePump: ReadonlyMap<string, FixedSpeedSchedule>;
}

function riskOf(f: Formulation, results: ScenarioResult[], thresholdM3: number): OverflowRisk[] {
  const dt = f.grid.durationH;
  const per = (values: (r: ScenarioResult) => number[] | undefined, objectId: string): OverflowRisk => {
    const volumes = results.map((r) => (values(r) ?? []).reduce((a, q, k) => a + q * dt[k]!, 0));
    return {
      objectId,
      probability: volumes.filter((v) => v > thresholdM3).length / volumes.length,
      expectedVolumeM3: volumes.reduce((a, v, m) => a + v * f.scenarios[m]!.weight, 0),
      worstVolumeM3: Math.max(...volumes),
      scenarioCount: volumes.length,
    };
  };
  return [
    ...f.stations.map((s) => per((r) => r.stations.get(s.station.id)?.overflowM3h, s.station.id)),
    ...f.tanks.map((t) => per((r) => r.tanks.get(t.tank.id)?.overflowM3h, t.tank.id)),
  ];
}

/** Whole-pump schedules keep the level this far above the pump-stop level (the PLC's cut-out in flow control), m. */
export const WHOLE_PUMP_FLOOR_MARGIN_M = 0.15;

/**
 * The widest start/stop band of normal operation: from the pump-stop level to the normal ceiling (high alarm
 * less `alarmMarginFraction` of the working depth), inside the envelope and the dispatcher's band.
 */
export function widestBand(station: PumpStation, band: { minLevelM: number; maxLevelM: number }, alarmMarginFraction: number): { startLevelM: number; stopLevelM: number } {
  const env = station.envelope;
  const { pumpStopM } = station.levels;
  const ceilingM = normalCeilingM(station.levels, alarmMarginFraction);
  const stop = Math.min(Math.max(pumpStopM, env.stopLevelM.min, band.minLevelM), env.stopLevelM.max);
  const start = Math.max(Math.min(ceilingM, env.startLevelM.max, band.maxLevelM), env.startLevelM.min, stop + 0.2);
  return { startLevelM: start, stopLevelM: Math.min(stop, start - 0.05) };
}

/** Start/stop band that keeps the level near `targetLevelM`, wide enough to respect the starts-per-hour limit. */
function levelBand(station: PumpStation, targetLevelM: number, pumpEachM3h: number, band: { minLevelM: number; maxLevelM: number }): { startLevelM: number; stopLevelM: number } {
  const area = areaAtLevel(station.wetWell, targetLevelM);
  // A fixed-speed pump cycles fastest when inflow is half its capacity: cycle = 4·V/Q, so V ≥ Q / (4·starts).
  const widthM = Math.max(0.2, pumpEachM3h / (4 * station.maxStartsPerHour) / area);
  const env = station.envelope;
  const lowest = Math.max(station.levels.pumpStopM, env.stopLevelM.min, band.minLevelM);
  const highest = Math.min(env.startLevelM.max, band.maxLevelM);
  let stop = Math.max(lowest, targetLevelM - widthM / 2);
  let start = Math.max(env.startLevelM.min, stop + widthM);
  if (start > highest) {
    start = Math.max(highest, env.startLevelM.min);
    stop = Math.max(lowest, start - widthM);
  }
  stop = Math.min(stop, env.stopLevelM.max, start - 0.05);
  return { startLevelM: start, stopLevelM: stop };
}

/**
 * The flow to send a VFD station for a planned flow, holding the pumps running through a small excursion:
 * the PLC starts a pump for a flow just above what the running pumps give, and stops one for a flow just
 * below its destaging threshold, and the next plan often asks for the opposite. Within `holdShare` of one
 * pump's capacity of either threshold the flow is moved onto it, as far as the well allows (`lessM3h`: how much
 * less may be pumped over the step, `moreM3h`: how much more, as mean flows).
 */
export function holdVfdFlow(plannedM3h: number, running: number, pumpEachM3h: number, holdShare: number, lessM3h: number, moreM3h: number): number {
  if (holdShare <= 0 || running <= 0 || plannedM3h <= 0) return plannedM3h;
  const full = running * pumpEachM3h;
  if (plannedM3h > full && plannedM3h - full <= holdShare * pumpEachM3h && plannedM3h - full <= lessM3h) return full;
  const destage = (running - 1) * pumpEachM3h * VFD_DESTAGE_FRACTION;
  if (running >= 2 && plannedM3h < destage && destage - plannedM3h <= holdShare * pumpEachM3h && destage - plannedM3h <= moreM3h) return destage + 1e-6 * pumpEachM3h;
  return plannedM3h;
}

/**
 * Pumps a VFD station runs for a flow, given how many run now: more when the running ones cannot give it at
 * full speed, fewer when one fewer could, otherwise the same.
 */
export function vfdPumpsFor(flowM3h: number, runningNow: number, pumpEachM3h: number): number {
  if (flowM3h <= 0) return 0;
  const fewest = Math.ceil(flowM3h / pumpEachM3h - 1e-9);
  // Keep the running pumps while one fewer could not give the flow at full speed (no margin: this may count
  // fewer pumps than the PLC keeps, which only ever leaves a start unsaved).
  return runningNow > fewest && flowM3h >= (runningNow - 1) * pumpEachM3h ? runningNow : fewest;
}

function buildPlan(ctx: BuildContext): Plan {
  const { input, options, f, results, solver, fallback, assumptions, wholePump } = ctx;
  const { network, nowUtcMs, state } = input;
  const shown = results[0]!;
  // Levels and overflow as they would be with water leaving a store only when it is full: what the dispatcher
  // is shown and told (prediction, reasons). The setpoints follow the LP's own trajectory (see the function).
  const physical = fullStoreTrajectories(f, shown);
  const grid = f.grid;
  const steps = outputSteps(grid);
  const stateById = new Map(state.stations.map((s) => [s.stationId, s]));
  const clamped: Plan['clamped'] = [];
  const bandsById = new Map<string, { minLevelM: number; maxLevelM: number }>();
  for (const b of input.constraints?.stationBands ?? []) {
    const prev = bandsById.get(b.stationId) ?? { minLevelM: Number.NEGATIVE_INFINITY, maxLevelM: Number.POSITIVE_INFINITY };
    bandsById.set(b.stationId, { minLevelM: Math.max(prev.minLevelM, b.minLevelM ?? Number.NEGATIVE_INFINITY), maxLevelM: Math.min(prev.maxLevelM, b.maxLevelM ?? Number.POSITIVE_INFINITY) });
  }

  /** Clamp a chain of setpoints: range, then rate of change from the previous value sent. */
  const chain = (objectId: string, setpoint: string, envelope: Envelope, inForce: number | null | undefined) => {
    let previous: number | null = inForce ?? null;
    return (wanted: number, minutesSince: number, startUtcMs: number, record = true): number => {
      const r = clampToEnvelope(wanted, envelope, previous, minutesSince);
      if (r.clamped && record) clamped.push({ objectId, setpoint, wanted, sent: r.value, startUtcMs });
      previous = r.value;
      return r.value;
    };
  };

  /** Clamp a chain of start/stop bands together (clampLevelBand): ranges, rates, and start above stop. */
  const bandChain = (objectId: string, envelopes: { startLevelM: Envelope; stopLevelM: Envelope }, inForce: { startLevelSpM?: number | null; stopLevelSpM?: number | null } | undefined) => {
    let previous: { startLevelM: number | null; stopLevelM: number | null } = { startLevelM: inForce?.startLevelSpM ?? null, stopLevelM: inForce?.stopLevelSpM ?? null };
    return (wantedStartM: number, wantedStopM: number, minutesSince: number, startUtcMs: number, record = true): { startLevelM: number; stopLevelM: number } => {
      const r = clampLevelBand({ startLevelM: wantedStartM, stopLevelM: wantedStopM }, envelopes, previous, minutesSince);
      if (r.startLevelM.clamped && record) clamped.push({ objectId, setpoint: 'startLevelM', wanted: wantedStartM, sent: r.startLevelM.value, startUtcMs });
      if (r.stopLevelM.clamped && record) clamped.push({ objectId, setpoint: 'stopLevelM', wanted: wantedStopM, sent: r.stopLevelM.value, startUtcMs });
      const sent = { startLevelM: r.startLevelM.value, stopLevelM: r.stopLevelM.value };
      previous = sent;
      return sent;
    };
  };

  const volumeAt = (V: number[], v0: number, step: OutputStep) => {
    const from = step.k === 0 ? v0 : V[step.k - 1]!;
    return from + (V[step.k]! - from) * step.toFraction;
  };

  const stationChains = f.stations.map((s) => {
    const st = stateById.get(s.station.id);
    const env = s.station.envelope;
    return {
      s,
      band: bandChain(s.station.id, env, st),
      flow: chain(s.station.id, 'flowM3h', env.flowSetpointM3h, st?.flowSpM3h),
      inForce: st,
    };
  });
  const transferChains = f.transfers.map((x) => {
    const now = input.state.transfers?.find((t) => t.interconnectionId === x.interconnection.id)?.transferM3h;
    return { x, set: chain(x.interconnection.id, 'transferM3h', x.interconnection.envelope.transferM3h, now) };
  });
  const tankChains = f.tanks.map((t) => {
    const tk = input.state.tanks?.find((s) => s.tankId === t.tank.id);
    return { t, inlet: chain(t.tank.id, 'inletM3h', t.tank.envelope.inletM3h, tk?.inletSpM3h), outlet: chain(t.tank.id, 'outletM3h', t.tank.envelope.outletM3h, tk?.outletSpM3h) };
  });

  // Pumps running at each VFD station as the plan goes on (from now: the state's count, else its outflow).
  const vfdRunning = new Map<string, number>();
  for (const s of f.stations) {
    if (!s.flowControlled) continue;
    const st = stateById.get(s.station.id);
    const fromFlow = Math.ceil((st?.outflowM3h ?? 0) / s.pumpEachM3h - 1e-6);
    vfdRunning.set(s.station.id, Math.max(0, Math.round(st?.pumpsRunning ?? fromFlow)));
  }

  const heldVfd = new Map<string, { plannedM3h: number; sentM3h: number; running: number }>();
  const planSteps: PlanStep[] = steps.map((step, i) => {
    // The first write replaces values written one cycle ago; later ones follow the step before.
    const minutesSince = i === 0 ? network.planning.cycleMin : steps[i - 1]!.durationMin;
    const stations: StationSetpoint[] = stationChains.map(({ s, band: clampBand, flow, inForce }) => {
      const station = s.station;
      const traj = shown.stations.get(station.id)!;
      const band = bandsById.get(station.id) ?? { minLevelM: Number.NEGATIVE_INFINITY, maxLevelM: Number.POSITIVE_INFINITY };
      const dutyCount = station.pumps.length - station.standbyPumps;
      const available = Math.min(station.pumps.length, Math.max(0, Math.round(inForce?.pumpsAvailable ?? station.pumps.length)));
      if (s.locked) {
        // Local control ignores remote setpoints: repeat what is in force so nothing changes on handover.
        const { startLevelM, stopLevelM } = clampBand(inForce?.startLevelSpM ?? station.levels.pumpStartM, inForce?.stopLevelSpM ?? station.levels.pumpStopM, minutesSince, step.startUtcMs, false);
        return { stationId: station.id, remoteControl: 'levelBand', startLevelM, stopLevelM, flowM3h: flow(inForce?.flowSpM3h ?? 0, minutesSince, step.startUtcMs, false), pumpsAllowed: Math.max(0, Math.min(dutyCount, available)) };
      }
      const scheduled = wholePump.get(station.id);
      if (scheduled) {
        // A whole-pump schedule: the pump count goes as a flow setpoint of whole pumps (the PLC runs the nearest
        // number of pumps); the band's stop level stays the PLC's dry-run cut-out.
        const pumps = scheduled.pumps[i]!;
        const wanted = widestBand(station, band, alarmMarginOf(station, options));
        const { startLevelM, stopLevelM } = clampBand(wanted.startLevelM, wanted.stopLevelM, minutesSince, step.startUtcMs);
        const flowM3h = flow(pumps * scheduled.pumpM3h, minutesSince, step.startUtcMs);
        return { stationId: station.id, remoteControl: 'flow', startLevelM, stopLevelM, flowM3h, pumpsAllowed: Math.min(available, Math.max(1, pumps)) };
      }
      const pumped = traj.pumpedM3h[step.k]!;
      const standby = traj.standbyM3h[step.k]!;
      const targetLevelM = levelAtVolume(station.wetWell, volumeAt(traj.volumeM3, s.initialVolumeM3, step));
      const needed = Math.ceil(pumped / s.pumpEachM3h - 0.05);
      // Near the high alarm every duty pump may run, whatever the forecast said.
      const nearAlarm = targetLevelM >= station.levels.highAlarmM - 0.3;
      // Never more than the pumps available: with none available, none are allowed (the reason says they are out).
      const pumpsAllowed = Math.min(available, Math.max(1, standby > 1 ? needed : Math.max(needed, nearAlarm ? dutyCount : 1)));
      if (s.flowControlled) {
        // A VFD runs no slower than its minimum speed: a smaller planned flow would be pumped at that speed and
        // cycle on the cut-out, so below half of it nothing is pumped (the LP's small flow waits in the well).
        const minFlowM3h = Math.min(...station.pumps.map((p) => p.capacityM3h * (p.minSpeedFraction ?? DEFAULT_VFD_MIN_SPEED_FRACTION)));
        // The PLC stages VFD pumps by the flow. A limit of the pumps the planned flow needs would stop a pump the
        // PLC keeps through a small dip of the flow, and start it again when the flow recovers: allow at least
        // the pumps that run before this step.
        const running = vfdRunning.get(station.id) ?? 0;
        const stepH = step.durationMin / 60;
        const volumeEndM3 = volumeAt(traj.volumeM3, s.initialVolumeM3, step);
        const floorM3 = volumeAtLevel(station.wetWell, station.levels.pumpStopM + DEFAULT_CUTOUT_MARGIN_M);
        const ceilingM3 = volumeAtLevel(station.wetWell, normalCeilingM(station.levels, alarmMarginOf(station, options)));
        // Only with no rain ahead (as the whole-pump schedules): in a storm the flows move with the forecast, and
        // holding them added starts (typhoon seed 3: 293 against 267 without; planner/README.md).
        const holdShare = noRainAhead(s) ? options.vfdHoldShare : 0;
        const sent = holdVfdFlow(pumped, running, s.pumpEachM3h, holdShare, Math.max(0, (ceilingM3 - volumeEndM3) / stepH), Math.max(0, (volumeEndM3 - floorM3) / stepH));
        if (i === 0 && sent !== pumped) heldVfd.set(station.id, { plannedM3h: pumped, sentM3h: sent, running });
        const flowM3h = flow(sent < 0.5 * minFlowM3h ? 0 : sent, minutesSince, step.startUtcMs);
        vfdRunning.set(station.id, vfdPumpsFor(flowM3h, running, s.pumpEachM3h));
        const vfdAllowed = flowM3h > 0 ? Math.max(pumpsAllowed, Math.min(available, running)) : pumpsAllowed;
        const cutout = Math.max(station.levels.pumpStopM, Number.isFinite(band.minLevelM) ? band.minLevelM : 0);
        const { startLevelM, stopLevelM } = clampBand(Math.max(station.levels.pumpStartM, cutout + 0.2), cutout, minutesSince, step.startUtcMs);
        return { stationId: station.id, remoteControl: 'flow', startLevelM, stopLevelM, flowM3h, pumpsAllowed: vfdAllowed };
      }
      // Rain ahead of this station: a narrow band around the planned level holds the drawdown. None: the widest
      // band of the normal range (stop level to the normal ceiling), so each start moves the most water — fewer
      // starts than local control; the small well's timing is left to the PLC (it shifts little energy).
      const dry = noRainAhead(s);
      const wanted = dry ? widestBand(station, band, alarmMarginOf(station, options)) : levelBand(station, targetLevelM, s.pumpEachM3h, band);
      const { startLevelM, stopLevelM } = clampBand(wanted.startLevelM, wanted.stopLevelM, minutesSince, step.startUtcMs);
      // Fixed-speed stations follow the band; the flow is what the band should deliver (shown, not followed).
      const flowM3h = flow(pumped, minutesSince, step.startUtcMs, false);
      return { stationId: station.id, remoteControl: 'levelBand', startLevelM, stopLevelM, flowM3h, pumpsAllowed: dry ? Math.min(available, Math.max(1, dutyCount, needed)) : pumpsAllowed };
    });
    return {
      startUtcMs: step.startUtcMs,
      durationMin: step.durationMin,
      stations,
      transfers: transferChains.map(({ x, set }) => ({ interconnectionId: x.interconnection.id, transferM3h: set(shown.transfers.get(x.interconnection.id)![step.k]!, minutesSince, step.startUtcMs) })),
      tanks: tankChains.map(({ t, inlet, outlet }) => {
        const tr = shown.tanks.get(t.tank.id)!;
        return { tankId: t.tank.id, inletM3h: inlet(tr.inletM3h[step.k]!, minutesSince, step.startUtcMs), outletM3h: outlet(tr.outletM3h[step.k]!, minutesSince, step.startUtcMs) };
      }),
    };
  });

  const risk = riskOf(f, results, options.riskThresholdM3);
  const share = (step: OutputStep) => (step.durationMin / 60) / grid.durationH[step.k]!;
  const energyKwhByStep = steps.map((step) => shown.energyKwhByStep[step.k]! * share(step));
  const costCnyByStep = steps.map((step) => shown.costCnyByStep[step.k]! * share(step));
  const dtH = grid.durationH;
  const predicted: PlanPrediction = {
    scenarioId: shown.scenarioId,
    scenarioCount: results.length,
    stations: f.stations.map((s) => {
      const traj = physical.stations.get(s.station.id)!;
      return {
        stationId: s.station.id,
        levelM: steps.map((step) => levelAtVolume(s.station.wetWell, volumeAt(traj.volumeM3, s.initialVolumeM3, step))),
        inflowM3h: steps.map((step) => traj.inflowM3h[step.k]!),
        pumpedM3h: steps.map((step) => traj.pumpedM3h[step.k]!),
        standbyM3h: steps.map((step) => traj.standbyM3h[step.k]!),
        overflowM3h: steps.map((step) => traj.overflowM3h[step.k]!),
      };
    }),
    plants: f.plants.map((p) => {
      const traj = shown.plants.get(p.plant.id)!;
      return { plantId: p.plant.id, inflowM3h: steps.map((step) => traj.inflowM3h[step.k]!), bypassM3h: steps.map((step) => traj.bypassM3h[step.k]!) };
    }),
    tanks: f.tanks.map((t) => {
      const traj = physical.tanks.get(t.tank.id)!;
      return {
        tankId: t.tank.id,
        volumeM3: steps.map((step) => volumeAt(traj.volumeM3, t.initialVolumeM3, step)),
        inletM3h: steps.map((step) => traj.inletM3h[step.k]!),
        outletM3h: steps.map((step) => traj.outletM3h[step.k]!),
        overflowM3h: steps.map((step) => traj.overflowM3h[step.k]!),
      };
    }),
    transfers: f.transfers.map((x) => ({ interconnectionId: x.interconnection.id, transferM3h: steps.map((step) => shown.transfers.get(x.interconnection.id)![step.k]!) })),
    energyKwh: energyKwhByStep.reduce((a, b) => a + b, 0),
    costCny: costCnyByStep.reduce((a, b) => a + b, 0),
    overflowM3:
      [...physical.stations.values()].reduce((a, s) => a + s.overflowM3h.reduce((x, q, k) => x + q * dtH[k]!, 0), 0) +
      [...physical.tanks.values()].reduce((a, t) => a + t.overflowM3h.reduce((x, q, k) => x + q * dtH[k]!, 0), 0),
    bypassM3: [...shown.plants.values()].reduce((a, p) => a + p.bypassM3h.reduce((x, q, k) => x + q * dtH[k]!, 0), 0),
    energyKwhByStep,
    costCnyByStep,
    risk,
  };

  // Rain ahead: wet-weather excess at a station or upstream of it (without a baseline: inflow beyond the duty
  // pumps), or standby pumps planned, whatever the cause.
  const rainAhead = !f.stations.every(noRainAhead) || [...shown.stations.values()].some((t) => t.standbyM3h.some((q) => q >= 1));
  const pumpsAvailable = new Map(network.stations.map((s) => [s.id, Math.min(s.pumps.length, Math.max(0, Math.round(stateById.get(s.id)?.pumpsAvailable ?? s.pumps.length)))]));
  const reasons = explainPlan({ network, formulation: f, shown: physical, risk, nowUtcMs, rainForecast: input.rainForecast ?? null, bands: bandsById, firstStep: planSteps[0]!, wholePump, heldVfd, pumpsAvailable });
  return {
    planId: input.planId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: 'mpc',
    operatingMode: rainAhead ? 'flood-drawdown' : 'normal',
    stepMin: grid.fineStepMin,
    basis: {
      telemetryAtUtcMs: state.readAtUtcMs,
      forecastIssuedAtUtcMs: input.inflow.issuedAtUtcMs ?? input.rainForecast?.issuedAtUtcMs ?? null,
      forecastSource: input.inflow.source ?? input.rainForecast?.source ?? 'inflow input',
    },
    steps: planSteps,
    reasons,
    clamped,
    predicted,
    solver,
    ...(fallback ? { fallback } : {}),
    ...(assumptions.length > 0 ? { assumptions } : {}),
  };
}

/**
 * The previous plan moved to now: steps already over are dropped, the last step is repeated to fill the
 * horizon, stations now in LOCAL mode keep what is in force, and every step's station, tank and transfer
 * setpoints are clamped to their envelopes as a chain (clampLevelBand / clampToEnvelope; the first step from
 * the setpoints in force one cycle ago, each later one from the step before): the previous plan may have been
 * made under older, wider envelopes, or edited. Null when the plan is for another network or has no step
 * left; throws (the caller falls back to the rule-based plan) when a step length is not a positive number of
 * minutes, a value is not finite, or a setpoint names an object the network does not have.
 */
export function shiftPreviousPlan(previous: Plan, network: NetworkConfig, state: PlannerState, planId: string, nowUtcMs: number): Plan | null {
  if (previous.networkId !== network.id || previous.steps.length === 0) return null;
  // A step of no length would repeat the last step for ever (the horizon is filled step by step).
  if (!Number.isFinite(previous.stepMin) || previous.stepMin < 1) throw new RangeError(`previous plan ${previous.planId}: stepMin is not a positive number of minutes (at least 1): ${previous.stepMin}`);
  previous.steps.forEach((step, i) => {
    if (!Number.isFinite(step.startUtcMs)) throw new RangeError(`previous plan ${previous.planId}: steps[${i}].startUtcMs is not a finite time: ${step.startUtcMs}`);
    if (step.durationMin !== undefined && !(Number.isFinite(step.durationMin) && step.durationMin > 0)) {
      throw new RangeError(`previous plan ${previous.planId}: steps[${i}].durationMin is not a positive number of minutes: ${step.durationMin}`);
    }
  });
  const endOf = (i: number) => previous.steps[i + 1]?.startUtcMs ?? previous.steps[i]!.startUtcMs + (previous.steps[i]!.durationMin ?? previous.stepMin) * 60_000;
  const kept = previous.steps.filter((_, i) => endOf(i) > nowUtcMs).map((s) => structuredClone(s));
  if (kept.length === 0) return null;
  const horizonEnd = nowUtcMs + network.planning.horizonH * 3_600_000;
  let last = kept[kept.length - 1]!;
  while (last.startUtcMs + (last.durationMin ?? previous.stepMin) * 60_000 < horizonEnd) {
    last = { ...structuredClone(last), startUtcMs: last.startUtcMs + (last.durationMin ?? previous.stepMin) * 60_000, durationMin: previous.stepMin };
    kept.push(last);
  }
  const stationById = new Map(network.stations.map((s) => [s.id, s]));
  const tankById = new Map(network.tanks.map((t) => [t.id, t]));
  const transferById = new Map(network.interconnections.map((x) => [x.id, x]));
  const stateById = new Map(state.stations.map((s) => [s.stationId, s]));
  const tankStateById = new Map((state.tanks ?? []).map((t) => [t.tankId, t]));
  const transferStateById = new Map((state.transfers ?? []).map((x) => [x.interconnectionId, x]));
  const clamped: Plan['clamped'] = [];
  // The value each setpoint was last sent (in force now, then the step before), per object and setpoint.
  const sentBefore = new Map<string, number | null>();
  const bandBefore = new Map<string, { startLevelM: number | null; stopLevelM: number | null }>();
  const unknown = (kind: string, id: string) => new RangeError(`previous plan ${previous.planId}: ${kind} ${id} is not in network ${network.id}`);
  const clampChained = (objectId: string, setpoint: string, wanted: number, envelope: Envelope, inForce: number | null | undefined, minutesSince: number, startUtcMs: number, record = true): number => {
    const key = `${objectId}/${setpoint}`;
    const before = sentBefore.has(key) ? sentBefore.get(key)! : (inForce ?? null);
    const r = clampToEnvelope(wanted, envelope, before, minutesSince);
    if (r.clamped && record) clamped.push({ objectId, setpoint, wanted, sent: r.value, startUtcMs });
    sentBefore.set(key, r.value);
    return r.value;
  };
  kept.forEach((step, i) => {
    // The first write replaces values written one cycle ago; later ones follow the step before.
    const minutesSince = i === 0 ? network.planning.cycleMin : (kept[i - 1]!.durationMin ?? previous.stepMin);
    step.stations = step.stations.map((sp) => {
      const station = stationById.get(sp.stationId);
      if (!station) throw unknown('station', sp.stationId);
      const st = stateById.get(sp.stationId);
      const local = st?.mode === 'local';
      // LOCAL mode: repeat what is in force (the PLC ignores remote setpoints), still inside the envelope.
      const wanted = local
        ? { remoteControl: 'levelBand' as const, startLevelM: st.startLevelSpM ?? station.levels.pumpStartM, stopLevelM: st.stopLevelSpM ?? station.levels.pumpStopM, flowM3h: st.flowSpM3h ?? 0 }
        : sp;
      const before = bandBefore.get(sp.stationId) ?? { startLevelM: st?.startLevelSpM ?? null, stopLevelM: st?.stopLevelSpM ?? null };
      const band = clampLevelBand({ startLevelM: wanted.startLevelM, stopLevelM: wanted.stopLevelM }, station.envelope, before, minutesSince);
      bandBefore.set(sp.stationId, { startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value });
      if (band.startLevelM.clamped && !local) clamped.push({ objectId: sp.stationId, setpoint: 'startLevelM', wanted: sp.startLevelM, sent: band.startLevelM.value, startUtcMs: step.startUtcMs });
      if (band.stopLevelM.clamped && !local) clamped.push({ objectId: sp.stationId, setpoint: 'stopLevelM', wanted: sp.stopLevelM, sent: band.stopLevelM.value, startUtcMs: step.startUtcMs });
      const flowM3h = clampChained(sp.stationId, 'flowM3h', wanted.flowM3h, station.envelope.flowSetpointM3h, st?.flowSpM3h, minutesSince, step.startUtcMs, !local && wanted.remoteControl === 'flow');
      const available = Math.min(station.pumps.length, Math.max(0, Math.round(st?.pumpsAvailable ?? station.pumps.length)));
      if (!Number.isFinite(sp.pumpsAllowed)) throw new RangeError(`previous plan ${previous.planId}: ${sp.stationId} pumpsAllowed is not a finite number: ${sp.pumpsAllowed}`);
      const pumpsAllowed = Math.max(0, Math.min(available, Math.round(sp.pumpsAllowed)));
      return { ...sp, remoteControl: wanted.remoteControl, startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value, flowM3h, pumpsAllowed };
    });
    step.tanks = step.tanks.map((sp) => {
      const tank = tankById.get(sp.tankId);
      if (!tank) throw unknown('tank', sp.tankId);
      const tk = tankStateById.get(sp.tankId);
      return {
        ...sp,
        inletM3h: clampChained(sp.tankId, 'inletM3h', sp.inletM3h, tank.envelope.inletM3h, tk?.inletSpM3h, minutesSince, step.startUtcMs),
        outletM3h: clampChained(sp.tankId, 'outletM3h', sp.outletM3h, tank.envelope.outletM3h, tk?.outletSpM3h, minutesSince, step.startUtcMs),
      };
    });
    step.transfers = step.transfers.map((sp) => {
      const link = transferById.get(sp.interconnectionId);
      if (!link) throw unknown('interconnection', sp.interconnectionId);
      const now = transferStateById.get(sp.interconnectionId)?.transferM3h;
      return { ...sp, transferM3h: clampChained(sp.interconnectionId, 'transferM3h', sp.transferM3h, link.envelope.transferM3h, now, minutesSince, step.startUtcMs) };
    });
  });
  return {
    planId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: previous.planner,
    operatingMode: previous.operatingMode,
    stepMin: previous.stepMin,
    basis: { ...previous.basis, telemetryAtUtcMs: state.readAtUtcMs },
    steps: kept,
    reasons: previous.reasons.map((r) => ({ objectId: r.objectId, reason: { en: `[previous plan ${previous.planId}] ${r.reason.en}`, zh: `［沿用方案${previous.planId}］${r.reason.zh}` } })),
    clamped,
  };
}

/** A NetworkSnapshot for the rule-based planner from the planner's state (tank and transfer values as readings, as SCADA gives them). */
function snapshotOf(state: PlannerState, network: NetworkConfig): NetworkSnapshot {
  const byId = new Map(state.stations.map((s) => [s.stationId, s]));
  const readings: NetworkSnapshot['readings'] = [];
  const add = (objectId: string, tag: string, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) readings.push({ objectId, tag, nodeId: '', value, statusCode: 'Good', good: true, sourceTimeUtcMs: state.readAtUtcMs });
  };
  for (const t of state.tanks ?? []) {
    add(t.tankId, 'volumeM3', t.volumeM3);
    add(t.tankId, 'inletSpM3h', t.inletSpM3h);
    add(t.tankId, 'outletSpM3h', t.outletSpM3h);
  }
  for (const x of state.transfers ?? []) add(x.interconnectionId, 'transferM3h', x.transferM3h);
  return {
    networkId: network.id,
    readAtUtcMs: state.readAtUtcMs,
    readings,
    badTagCount: 0,
    stations: network.stations.map((s) => {
      const st = byId.get(s.id);
      return {
        stationId: s.id,
        levelM: st?.levelM ?? null,
        inflowM3h: null,
        outflowM3h: st?.outflowM3h ?? null,
        pumpsRunning: null,
        pumpsAvailable: st?.pumpsAvailable ?? null,
        mode: st?.mode ?? null,
        remoteActive: null,
        startLevelSpM: st?.startLevelSpM ?? null,
        stopLevelSpM: st?.stopLevelSpM ?? null,
        flowSpM3h: st?.flowSpM3h ?? null,
      };
    }),
  };
}

/** The planner's state from a SCADA snapshot: tank volumes and transfers come from the readings. */
export function plannerStateFromSnapshot(snapshot: NetworkSnapshot, network: NetworkConfig): PlannerState {
  const value = (objectId: string, tag: string) => {
    const r = snapshot.readings.find((x) => x.objectId === objectId && x.tag === tag);
    return r?.good && typeof r.value === 'number' ? r.value : null;
  };
  return {
    readAtUtcMs: snapshot.readAtUtcMs,
    stations: snapshot.stations,
    tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: value(t.id, 'volumeM3'), inletSpM3h: value(t.id, 'inletSpM3h'), outletSpM3h: value(t.id, 'outletSpM3h') })),
    transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferM3h: value(x.id, 'transferM3h') })),
  };
}
