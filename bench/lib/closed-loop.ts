// Closed-loop helpers for the planner benchmark (bench/plan.ts): read the simulator as the dispatch cycle
// reads SCADA, apply a plan step as SCADA writes (checking every value against its envelope), build the
// inflow forecast through the forecasting chain from a rain forecast with error, and score a run.
// Pure functions of the simulation and the network; no I/O.
import type { Envelope, NetworkConfig } from '../../network/schema.js';
import { RemoteControl, StationMode } from '../../network/tags.js';
import { forecastInflow, toPlannerInflow, type StationInflowModel } from '../../forecasting/inflow.js';
import { stepMeansOfLastMinutes, type Series } from '../../forecasting/series.js';
import { localInflow, longestUpstreamTravelMin } from '../../forecasting/routing.js';
import { dailyMeanTariffPrice } from '../../planner/calendar.js';
import { pathEnergyToPlant, type OutflowHistory } from '../../planner/formulation.js';
import type { PlannerState } from '../../planner/mpc.js';
import type { InflowForecast } from '../../planner/inflow.js';
import type { PlanStep } from '../../planner/types.js';
import { perturbForecast, type RainScenario } from '../../scenarios/rain.js';
import type { Simulation } from '../../simulator/model.js';
import { volumeAtLevel } from '../../planner/wet-well.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;

// --- Reading the state ------------------------------------------------------------------------------

const num = (sim: Simulation, objectId: string, tag: string): number | null => {
  const r = sim.readTag(objectId, tag);
  return r.quality === 'bad' || typeof r.value !== 'number' ? null : r.value;
};

/**
 * What the historian holds of the last minutes, per minute, as the dispatch cycle reads it back: every
 * station's pumped flow (`history`, for the planner's state) and measured inflow, every interconnection's
 * transfer (signed, positive a→b) and every tank's return flow. `record` after each simulated minute. Given
 * the simulation at its start, the time before it holds the values at the start (the state the run starts
 * from: pumps off and mains empty) — otherwise the first pumped minute would be taken as having run before
 * the start, water in the mains that is not there.
 *
 * `minutes` is the planner's window of pumped flow; with `localInflowWindowMin`, enough more is kept for
 * `recentLocalInflow`: each station's own catchments' inflow (its inflow less upstream arrivals,
 * forecasting/routing.ts) over that window, as the service reads it for the forecast's error correction.
 */
export function telemetryRecorder(network: NetworkConfig, minutes: number, atStart?: Simulation, options: { localInflowWindowMin?: number } = {}) {
  const inflowWindowMin = options.localInflowWindowMin ?? 0;
  const kept = Math.max(minutes, inflowWindowMin > 0 ? inflowWindowMin + longestUpstreamTravelMin(network) : 0);
  // Ids are unique across the network's objects (network/validate.ts); each (object, tag) has its own series.
  const channels: { id: string; tag: string; read: (sim: Simulation) => number }[] = [
    ...network.stations.map((s) => ({ id: s.id, tag: 'outflowM3h', read: (sim: Simulation) => Math.max(0, num(sim, s.id, 'outflowM3h') ?? 0) })),
    ...network.interconnections.map((x) => ({ id: x.id, tag: 'transferM3h', read: (sim: Simulation) => num(sim, x.id, 'transferM3h') ?? 0 })),
    ...(inflowWindowMin > 0
      ? [
          ...network.stations.map((s) => ({ id: s.id, tag: 'inflowM3h', read: (sim: Simulation) => Math.max(0, num(sim, s.id, 'inflowM3h') ?? 0) })),
          ...network.tanks.map((t) => ({ id: t.id, tag: 'outletM3h', read: (sim: Simulation) => Math.max(0, num(sim, t.id, 'outletM3h') ?? 0) })),
        ]
      : []),
  ];
  const key = (id: string, tag: string) => `${id}\u0000${tag}`;
  const series = new Map(channels.map((c) => [key(c.id, c.tag), { ...c, values: atStart ? new Array<number>(kept).fill(c.read(atStart)) : ([] as number[]) }]));
  const pumped = [...series.values()].filter((c) => c.tag === 'outflowM3h' || c.tag === 'transferM3h');
  return {
    record(sim: Simulation): void {
      for (const c of series.values()) {
        c.values.push(c.read(sim));
        if (c.values.length > kept) c.values.shift();
      }
    },
    /** Stations' pumped flow and interconnections' transfer over the last `minutes`, under their ids. */
    history(): Map<string, OutflowHistory> {
      return new Map(pumped.filter((c) => c.values.length > 0).map((c) => [c.id, { stepMin: 1, valuesM3h: c.values.slice(-minutes) }]));
    },
    /**
     * Each station's local inflow as means over `stepMin` steps of the window ending at `endUtcMs` (the last
     * minute recorded), null where the minutes are not all known.
     */
    recentLocalInflow(endUtcMs: number, stepMin: number): Record<string, Series> {
      if (inflowWindowMin < stepMin) return {};
      const lookup = (id: string, tag: string) => series.get(key(id, tag))?.values;
      const perMinute = localInflow(network, lookup, 1, { missingUpstream: 'zero', upstreamBeforeStart: 'null' });
      return Object.fromEntries(Object.entries(perMinute).map(([id, values]) => [id, stepMeansOfLastMinutes(values, endUtcMs, stepMin, inflowWindowMin)]));
    },
  };
}

/** The planner's state from the simulator's tags, as the dispatch cycle reads it over OPC UA (and the recent outflow from the historian). */
export function readPlannerState(sim: Simulation, network: NetworkConfig, recentOutflowM3h?: ReadonlyMap<string, OutflowHistory>): PlannerState {
  return {
    readAtUtcMs: sim.timeUtcMs,
    stations: network.stations.map((s) => ({
      stationId: s.id,
      ...(recentOutflowM3h?.has(s.id) ? { recentOutflowM3h: recentOutflowM3h.get(s.id)! } : {}),
      levelM: num(sim, s.id, 'levelM'),
      pumpsAvailable: num(sim, s.id, 'pumpsAvailable'),
      mode: num(sim, s.id, 'mode') === StationMode.remote ? 'remote' : 'local',
      outflowM3h: num(sim, s.id, 'outflowM3h'),
      pumpsRunning: num(sim, s.id, 'pumpsRunning'),
      startLevelSpM: num(sim, s.id, 'startLevelSpM'),
      stopLevelSpM: num(sim, s.id, 'stopLevelSpM'),
      flowSpM3h: num(sim, s.id, 'flowSpM3h'),
    })),
    tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: num(sim, t.id, 'volumeM3'), inletSpM3h: num(sim, t.id, 'inletSpM3h'), outletSpM3h: num(sim, t.id, 'outletSpM3h') })),
    transfers: network.interconnections.map((x) => ({
      interconnectionId: x.id,
      transferM3h: num(sim, x.id, 'transferSpM3h'),
      ...(recentOutflowM3h?.has(x.id) ? { recentTransferM3h: recentOutflowM3h.get(x.id)! } : {}),
    })),
  };
}

// --- Applying setpoints -----------------------------------------------------------------------------

/** A setpoint written outside its envelope (range, or faster than its rate-of-change limit). */
export interface EnvelopeViolation {
  objectId: string;
  setpoint: string;
  value: number;
  previous: number | null;
  atUtcMs: number;
  reason: 'range' | 'rate';
}

/** Last value written per object/setpoint and when, for the rate-of-change check. */
export type WriteLog = Map<string, { value: number; atUtcMs: number }>;

/**
 * Check one setpoint against its envelope: inside [min, max], and changed no faster than maxChangePerMin
 * since the last value written (the first write is checked for range only).
 */
export function checkEnvelope(objectId: string, setpoint: string, value: number, envelope: Envelope, log: WriteLog, atUtcMs: number): EnvelopeViolation | null {
  const key = `${objectId}.${setpoint}`;
  const last = log.get(key) ?? null;
  log.set(key, { value, atUtcMs });
  const tol = 1e-6 * Math.max(1, Math.abs(envelope.max - envelope.min));
  if (!(Number.isFinite(value) && value >= envelope.min - tol && value <= envelope.max + tol)) return { objectId, setpoint, value, previous: last?.value ?? null, atUtcMs, reason: 'range' };
  if (last !== null) {
    const minutes = (atUtcMs - last.atUtcMs) / MS_PER_MIN;
    if (Math.abs(value - last.value) > envelope.maxChangePerMin * minutes + tol) return { objectId, setpoint, value, previous: last.value, atUtcMs, reason: 'rate' };
  }
  return null;
}

/**
 * Write one plan step to the simulator as SCADA would: per station the control kind, band, flow setpoint
 * and pumps allowed; transfers; tank inlet/outlet. Every value is checked against its envelope first;
 * values the PLC refuses (outside its accepted range) count as violations and are not written.
 */
export function applyPlanStep(sim: Simulation, network: NetworkConfig, step: PlanStep, log: WriteLog): EnvelopeViolation[] {
  const t = sim.timeUtcMs;
  const violations: EnvelopeViolation[] = [];
  const write = (objectId: string, tag: string, setpoint: string, value: number, envelope: Envelope | null) => {
    if (envelope) {
      const v = checkEnvelope(objectId, setpoint, value, envelope, log, t);
      if (v) violations.push(v);
    }
    try {
      sim.writeSetpoint(objectId, tag, value);
    } catch {
      // A refusal the envelope check did not already count is a violation too (e.g. pumps allowed > installed).
      if (!violations.some((v) => v.objectId === objectId && v.setpoint === setpoint)) {
        violations.push({ objectId, setpoint, value, previous: log.get(`${objectId}.${setpoint}`)?.value ?? null, atUtcMs: t, reason: 'range' });
      }
    }
  };
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  for (const sp of step.stations) {
    const station = stations.get(sp.stationId);
    if (!station) throw new RangeError(`plan step ${new Date(step.startUtcMs).toISOString()}: unknown station ${sp.stationId}`);
    const env = station.envelope;
    const pumps: Envelope = { min: 0, max: station.pumps.length, maxChangePerMin: Number.POSITIVE_INFINITY };
    // Stop before start when lowering the band, start before stop when raising it: the PLC keeps start > stop.
    write(sp.stationId, 'remoteControlSp', 'remoteControl', sp.remoteControl === 'flow' ? RemoteControl.flow : RemoteControl.levelBand, null);
    if (sp.stopLevelM <= (num(sim, sp.stationId, 'stopLevelSpM') ?? 0)) {
      write(sp.stationId, 'stopLevelSpM', 'stopLevelM', sp.stopLevelM, env.stopLevelM);
      write(sp.stationId, 'startLevelSpM', 'startLevelM', sp.startLevelM, env.startLevelM);
    } else {
      write(sp.stationId, 'startLevelSpM', 'startLevelM', sp.startLevelM, env.startLevelM);
      write(sp.stationId, 'stopLevelSpM', 'stopLevelM', sp.stopLevelM, env.stopLevelM);
    }
    write(sp.stationId, 'flowSpM3h', 'flowM3h', sp.flowM3h, env.flowSetpointM3h);
    write(sp.stationId, 'pumpsAllowedSp', 'pumpsAllowed', sp.pumpsAllowed, pumps);
  }
  const links = new Map(network.interconnections.map((x) => [x.id, x]));
  for (const x of step.transfers) {
    const link = links.get(x.interconnectionId);
    if (!link) throw new RangeError(`plan step: unknown interconnection ${x.interconnectionId}`);
    const env = link.envelope.transferM3h;
    write(x.interconnectionId, 'transferSpM3h', 'transferM3h', x.transferM3h, { ...env, min: Math.max(env.min, -link.capacityM3h), max: Math.min(env.max, link.capacityM3h) });
  }
  const tanks = new Map(network.tanks.map((k) => [k.id, k]));
  for (const k of step.tanks) {
    const tank = tanks.get(k.tankId);
    if (!tank) throw new RangeError(`plan step: unknown tank ${k.tankId}`);
    write(k.tankId, 'inletSpM3h', 'inletM3h', k.inletM3h, tank.envelope.inletM3h);
    write(k.tankId, 'outletSpM3h', 'outletM3h', k.outletM3h, tank.envelope.outletM3h);
  }
  return violations;
}

/** Keep every station's PLC watchdog fresh (the dispatch worker's heartbeat): a new value each call. */
export function writeHeartbeats(sim: Simulation, network: NetworkConfig, counter: number): void {
  for (const s of network.stations) sim.writeSetpoint(s.id, 'heartbeat', counter % 4_294_967_295);
}

// --- Forecasts --------------------------------------------------------------------------------------

/** Rain per catchment, mm per step, over [startUtcMs, startUtcMs + steps·stepMin). */
export function catchmentRain(network: NetworkConfig, scenario: RainScenario, startUtcMs: number, stepMin: number, steps: number): Record<string, number[]> {
  const stepMs = stepMin * MS_PER_MIN;
  const { startUtcMs: wetFrom, endUtcMs: wetTo } = scenario.rainWindowUtcMs;
  const out: Record<string, number[]> = {};
  for (const c of network.catchments) {
    out[c.id] = Array.from({ length: steps }, (_, i) => {
      const from = startUtcMs + i * stepMs;
      return from + stepMs <= wetFrom || from >= wetTo ? 0 : scenario.rainMmBetween(c.location.latDeg, c.location.lonDeg, from, from + stepMs);
    });
  }
  return out;
}

export interface ForecastIssue {
  /** Forecast run seed: one NWP-like run per issue cycle, its error drawn by the forecast server's generator. */
  seed: number;
  issuedAtUtcMs: number;
}

/** Which forecast run is current at `nowUtcMs`: a new run every `cycleH` hours, its seed derived from the bench seed. */
export function forecastIssueAt(nowUtcMs: number, baseSeed: number, cycleH: number): ForecastIssue {
  const cycle = Math.floor(nowUtcMs / (cycleH * MS_PER_H));
  // Knuth's multiplicative hash keeps neighbouring cycles' seeds unrelated.
  return { seed: (Math.imul(baseSeed + 1, 0x9e3779b1) ^ Math.imul(cycle, 0x85ebca77)) | 0, issuedAtUtcMs: cycle * cycleH * MS_PER_H };
}

export interface RainForecastInput {
  network: NetworkConfig;
  models: readonly StationInflowModel[];
  /** The rain that falls (the simulator's). */
  truth: RainScenario;
  /** Where observed rain starts (the simulation start). */
  historyStartUtcMs: number;
  nowUtcMs: number;
  stepMin: number;
  horizonH: number;
  /** null: the true rain (the oracle); otherwise the forecast run whose error applies. */
  issue: ForecastIssue | null;
  /** Ensemble members besides the deterministic run (0: deterministic only). */
  members: number;
  /** Each station's measured local inflow just before now, for the forecast's error correction (none: no correction). */
  recentLocalInflowM3h?: Record<string, Series>;
}

/**
 * The planner's inflow forecast at `nowUtcMs` through the forecasting chain (forecasting/inflow.ts): observed
 * (true) rain before now sets the RDII state, the forecast run's rain (truth perturbed in timing, amount and
 * location by the forecast server's error generator) drives the future, DWF from the network's profiles,
 * corrected by the recent measured inflow where given (as the service's forecast cycle does).
 */
export function plannerInflowFromRain(input: RainForecastInput): InflowForecast {
  const { network, truth, nowUtcMs, stepMin, issue } = input;
  const stepMs = stepMin * MS_PER_MIN;
  const steps = Math.ceil((input.horizonH * MS_PER_H) / stepMs) + 4;
  const pastSteps = Math.max(0, Math.round((nowUtcMs - input.historyStartUtcMs) / stepMs));
  const pastStart = nowUtcMs - pastSteps * stepMs;
  const past = catchmentRain(network, truth, pastStart, stepMin, pastSteps);
  const runs = issue === null ? [truth] : Array.from({ length: 1 + input.members }, (_, m) => perturbForecast(truth, { seed: issue.seed, member: m }));
  const rains = runs.map((r) => catchmentRain(network, r, nowUtcMs, stepMin, steps));
  const pastRain: Record<string, Series> = {};
  for (const c of network.catchments) pastRain[c.id] = { startUtcMs: pastStart, stepMin, values: past[c.id]! };
  const forecast = forecastInflow({
    models: input.models,
    timeZone: network.timezone,
    issuedAtUtcMs: issue?.issuedAtUtcMs ?? nowUtcMs,
    rain: {
      startUtcMs: nowUtcMs,
      stepMin,
      steps,
      quality: 'fresh',
      reason: null,
      source: issue === null ? 'truth' : `scenario-forecast(seed=${issue.seed})`,
      issuedAtUtcMs: issue?.issuedAtUtcMs ?? nowUtcMs,
      ageMin: issue === null ? 0 : (nowUtcMs - issue.issuedAtUtcMs) / MS_PER_MIN,
      catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: rains[0]![c.id]!, members: rains.slice(1).map((r) => r[c.id]!) })),
    },
    pastRain,
    includeMembers: input.members > 0,
    ...(input.recentLocalInflowM3h ? { recentLocalInflowM3h: input.recentLocalInflowM3h } : {}),
  });
  return toPlannerInflow(forecast);
}

/** The oracle's inflow: the true local inflow per station (from a run of the same seed) over the horizon. */
export function trueInflowWindow(localInflowM3h: Record<string, number[]>, seriesStartUtcMs: number, stepMin: number, nowUtcMs: number, horizonH: number): InflowForecast {
  const stepMs = stepMin * MS_PER_MIN;
  const from = Math.floor((nowUtcMs - seriesStartUtcMs) / stepMs);
  const steps = Math.ceil((horizonH * MS_PER_H) / stepMs) + 4;
  const startUtcMs = seriesStartUtcMs + from * stepMs;
  return {
    startUtcMs,
    stepMin,
    source: 'truth',
    issuedAtUtcMs: nowUtcMs,
    series: Object.entries(localInflowM3h).map(([nodeId, values]) => ({
      nodeId,
      flowM3h: Array.from({ length: steps }, (_, i) => values[Math.min(values.length - 1, from + i)] ?? 0),
    })),
  };
}

// --- Metrics ----------------------------------------------------------------------------------------

export interface ArmMetrics {
  overflow_m3: number;
  overflow_events: number;
  bypass_m3: number;
  energy_kwh: number;
  cost_cny: number;
  pump_starts: number;
  plant_inflow_cv: number;
  /** The same per plant. */
  plant_inflow_cv_by_plant: Record<string, number>;
  /**
   * Per plant, the largest change of inflow within an hour (between 15-min means an hour apart), as a share
   * of the plant's hydraulic capacity: the surge the plant's operators see.
   */
  plant_inflow_max_hourly_change_by_plant: Record<string, number>;
  /**
   * Water in wells and tanks at the end less at the start, priced at the day's mean tariff along its path to
   * the plant: pumping a run leaves still to pay (positive) or took from storage it found (negative).
   */
  storage_change_cny: number;
  /**
   * Station-minutes with the measured level at or above the high alarm, summed over stations: alarms the
   * control room sees, and where the PLC takes over from a remote plan (its high-level override).
   */
  high_alarm_minutes: number;
  /** The same per station (only those that reached the alarm). */
  high_alarm_minutes_by_station: Record<string, number>;
  /**
   * Times a well under a remote flow setpoint fell to its stop level, where the PLC's dry-run protection cuts
   * the pumps out (and starts them again only some way above): a plan that drew the well down too far.
   */
  cutout_trips: number;
  /** The same per station (only those that tripped). */
  cutout_trips_by_station: Record<string, number>;
}

/** What the control room sees minute by minute: high alarms, and wells drawn down to the dry-run cut-out. */
export interface MinuteWatch {
  highAlarmMinutesByStation: Record<string, number>;
  cutoutTripsByStation: Record<string, number>;
  /** Call after every simulated minute. */
  observe(sim: Simulation): void;
}

export function minuteWatch(network: NetworkConfig): MinuteWatch {
  const highAlarmMinutesByStation: Record<string, number> = {};
  const cutoutTripsByStation: Record<string, number> = {};
  const atCutout = new Set<string>();
  return {
    highAlarmMinutesByStation,
    cutoutTripsByStation,
    observe(sim) {
      for (const s of network.stations) {
        const level = Number(sim.readTag(s.id, 'levelM').value);
        if (level >= s.levels.highAlarmM) highAlarmMinutesByStation[s.id] = (highAlarmMinutesByStation[s.id] ?? 0) + 1;
        // The PLC's condition for a cut-out in flow control (simulator/model.ts scan): a flow asked for, the
        // level at or below the stop level. Counted once per fall to it.
        const cut =
          num(sim, s.id, 'remoteControlSp') === RemoteControl.flow &&
          sim.readTag(s.id, 'remoteActive').value === true &&
          (num(sim, s.id, 'flowSpM3h') ?? 0) > 0 &&
          level <= (num(sim, s.id, 'stopLevelSpM') ?? Number.NEGATIVE_INFINITY);
        if (cut && !atCutout.has(s.id)) cutoutTripsByStation[s.id] = (cutoutTripsByStation[s.id] ?? 0) + 1;
        if (cut) atCutout.add(s.id);
        else atCutout.delete(s.id);
      }
    },
  };
}

/** Water in each wet well and tank now, m³, by station or tank id. */
export function storedVolumesM3(sim: Simulation, network: NetworkConfig): Record<string, number> {
  const volumes: Record<string, number> = {};
  for (const s of network.stations) volumes[s.id] = volumeAtLevel(s.wetWell, Number(sim.readTag(s.id, 'levelM').value));
  for (const t of network.tanks) volumes[t.id] = Number(sim.readTag(t.id, 'volumeM3').value);
  return volumes;
}

/** Water in the wells and tanks now, priced at the day's mean tariff along its path to the plant (CNY). */
export function storedWaterCny(sim: Simulation, network: NetworkConfig): number {
  const pathEnergy = pathEnergyToPlant(network);
  let kwh = 0;
  for (const [id, volumeM3] of Object.entries(storedVolumesM3(sim, network))) kwh += volumeM3 * pathEnergy(id);
  return kwh * dailyMeanTariffPrice(network);
}

/** Coefficient of variation (population sd / mean) of a series; 0 for an empty or zero-mean series. */
export function coefficientOfVariation(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (!(mean > 0)) return 0;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length;
  return Math.sqrt(variance) / mean;
}

/** Largest |values[j] − values[i]| over i < j ≤ i + lag (0 for fewer than two values). */
export function maxChangeWithin(values: readonly number[], lag: number): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) for (let j = i + 1; j <= Math.min(values.length - 1, i + lag); j++) largest = Math.max(largest, Math.abs(values[j]! - values[i]!));
  return largest;
}

/** Means of consecutive blocks of `block` values (a shorter last block is dropped). */
export function blockMeans(values: readonly number[], block: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + block <= values.length; i += block) {
    let s = 0;
    for (let j = i; j < i + block; j++) s += values[j]!;
    out.push(s / block);
  }
  return out;
}

/**
 * Overflow events: separate spells of overflow per object (station SSO and tank weir), a spell ending when
 * the object stops spilling for a whole step. Counted from the simulator's event log.
 */
export function countOverflowEvents(events: readonly { kind: string; volumeM3: number }[], minVolumeM3 = 0): number {
  return events.filter((e) => (e.kind === 'station-overflow' || e.kind === 'tank-overflow') && e.volumeM3 > minVolumeM3).length;
}

/**
 * Metrics of a finished run: totals from the simulator's summary, plant inflow CV from 15-min means of
 * per-minute samples, the stored water's change from `storedAtStartCny` (storedWaterCny at the start), and
 * the high-alarm minutes and cut-out trips the run counted (minuteWatch, observed after every minute).
 */
export function armMetrics(sim: Simulation, network: NetworkConfig, plantInflowPerMin: Record<string, number[]>, storedAtStartCny: number, watch: Pick<MinuteWatch, 'highAlarmMinutesByStation' | 'cutoutTripsByStation'>): ArmMetrics {
  const { highAlarmMinutesByStation, cutoutTripsByStation } = watch;
  const summary = sim.summary();
  const cvByPlant = Object.fromEntries(Object.entries(plantInflowPerMin).map(([id, v]) => [id, coefficientOfVariation(blockMeans(v, 15))]));
  const cvs = Object.values(cvByPlant);
  const capacity = new Map(network.plants.map((p) => [p.id, p.capacityM3h]));
  const maxHourlyChange = Object.fromEntries(Object.entries(plantInflowPerMin).map(([id, v]) => [id, maxChangeWithin(blockMeans(v, 15), 4) / (capacity.get(id) ?? Number.NaN)]));
  return {
    overflow_m3: summary.totals.overflowM3,
    overflow_events: countOverflowEvents(sim.overflowEvents()),
    bypass_m3: summary.totals.bypassM3,
    energy_kwh: summary.totals.energyKwh,
    cost_cny: summary.totals.costCny,
    pump_starts: summary.totals.pumpStarts,
    plant_inflow_cv: cvs.length > 0 ? cvs.reduce((a, b) => a + b, 0) / cvs.length : 0,
    plant_inflow_cv_by_plant: cvByPlant,
    plant_inflow_max_hourly_change_by_plant: maxHourlyChange,
    storage_change_cny: storedWaterCny(sim, network) - storedAtStartCny,
    high_alarm_minutes: Object.values(highAlarmMinutesByStation).reduce((a, b) => a + b, 0),
    high_alarm_minutes_by_station: { ...highAlarmMinutesByStation },
    cutout_trips: Object.values(cutoutTripsByStation).reduce((a, b) => a + b, 0),
    cutout_trips_by_station: { ...cutoutTripsByStation },
  };
}

/**
 * Share of the baseline–oracle gap the planner closes: (baseline − planner) / (baseline − oracle). null when
 * the oracle is not better than the baseline (no gap to close).
 */
export function gapClosure(baseline: number, planner: number, oracle: number, minGap = 1e-6): number | null {
  const gap = baseline - oracle;
  if (!(gap > minGap)) return null;
  return (baseline - planner) / gap;
}

/** Nearest-rank percentile of a sample (p in [0, 100]); NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}
