// Inflow forecast per station over the planning horizon: dry-weather flow (learned profile, which
// holds the dry-weather groundwater) + RDII of each catchment (RTK from the rain forecast, starting
// from the initial-abstraction state and the RDII still draining from observed past rain).
// Deterministic from the deterministic rain; P10/P50/P90 from the ensemble members, each pushed
// through the RTK model, widened by the dry-weather flow's own spread (and an RDII model error).
// Pure: rain, past rain and models come in, series go out.
//
// Uncertainty. Every member gives a flow series; around each, the dry-weather deviation is taken as
// normal with sd = residualSdFraction × DWF (learned from dry days) and the RDII model error as normal
// with sd = rdiiErrorFraction × RDII. Quantiles are taken over members × `normalPoints` equally likely
// normal scores. Without ensemble members the band holds only those two errors, and says so.
import type { NetworkConfig } from '../network/schema.js';
import { createCalendar, MS_PER_H, MS_PER_MIN, type LocalCalendar } from './calendar.js';
import { dwfSeries, type DwfProfile } from './dwf.js';
import { forecastRdii, rdiiState, DEFAULT_IA_RECOVERY_MM_PER_DAY, type RtkParams } from './rtk.js';
import { checkGrid, normalQuantile, quantileSorted, shifted, type Grid, type Series } from './series.js';
import type { PlantRoute } from './routing.js';
import type { RainQuality } from './rain-source.js';

export interface CatchmentRdiiModel {
  catchmentId: string;
  areaHa: number;
  rtk: RtkParams;
  /** sd of the RDII model error as a share of RDII, e.g. the calibration's relativeRmse (default: the forecast's rdiiErrorFraction). */
  rdiiErrorFraction?: number;
}

export interface StationInflowModel {
  stationId: string;
  dwf: DwfProfile;
  /** The groundwater part of the dry-weather profile (reported as its own component). */
  groundwaterM3h: number;
  catchments: CatchmentRdiiModel[];
}

/** The rain the forecast runs on; PlanningRain from rain-source.ts fits. */
export interface InflowRainInput {
  startUtcMs: number;
  stepMin: number;
  steps: number;
  quality: RainQuality;
  reason: string | null;
  source: string;
  issuedAtUtcMs: number | null;
  ageMin: number | null;
  ensemble?: { quality: RainQuality; reason: string | null; membersDropped?: number };
  /** null = unknown (a gap, or beyond the end of the forecast): filled here by `gapFillMm`, flagged. */
  catchments: { catchmentId: string; precipitationMm: (number | null)[]; members: (number | null)[][] }[];
  /** Forecast-level remarks of the rain source (PlanningRain.notes), copied into the forecast's flags. */
  notes?: readonly string[];
  /** Per-catchment remarks (PlanningRain.catchmentNotes), copied into the flags of the catchment's station. */
  catchmentNotes?: readonly { catchmentId: string; text: string }[];
}

export interface InflowForecastInput {
  models: readonly StationInflowModel[];
  timeZone: string;
  /** The forecast's issue time (tags what is written, for comparing with what happened). */
  issuedAtUtcMs: number;
  rain: InflowRainInput;
  /** Observed rain per catchment before the start (any start, same step, ending at the start); sets the RDII state. */
  pastRain?: Record<string, Series>;
  /** Initial abstraction still available at the start of pastRain (default full). */
  iaAtPastStartMm?: Record<string, number>;
  /** Depth used for a rain gap (default 0); every fill is flagged. */
  gapFillMm?: (catchmentId: string, stepStartUtcMs: number, stepMin: number) => number;
  gapFillLabel?: string;
  /** Quantiles to report (default 0.1, 0.5, 0.9). */
  quantiles?: readonly number[];
  /** sd of the RDII model error as a share of RDII for catchments without their own (default 0.1). */
  rdiiErrorFraction?: number;
  /** Normal scores per member for the DWF and model error (default 9). */
  normalPoints?: number;
  /** Keep every member's total flow per station (needed to aggregate quantiles downstream). */
  includeMembers?: boolean;
  /**
   * Each station's measured local inflow (its own catchments: inflow less upstream arrivals, routing.ts
   * localInflow) over the recent past, on any step, ending at the start. Where the station is dry (no
   * rain-derived inflow now), its deviation from the dry-weather profile over the last
   * `correctionWindowMin` is carried forward with the profile's hourly autocorrelation (error correction).
   * None: no correction.
   */
  recentLocalInflowM3h?: Record<string, Series>;
  /** Window of measurements the deviation is the mean of (default 60 min). */
  correctionWindowMin?: number;
}

/** The correction of one station's dry-weather flow from its recent measurements, or why there is none. */
export interface ErrorCorrection {
  /** Measured less profile over the window, m³/h, after the limit; 0 when not applied. */
  deviationM3h: number;
  applied: boolean;
  /** Why not applied, or that the limit cut it (null: applied as measured). */
  note: string | null;
}

/** Measurements the deviation is the mean of: an hour, long enough to average out a noisy flow estimate. */
export const ERROR_CORRECTION_WINDOW_MIN = 60;
/** A measured deviation beyond this many sd of the profile's residual is taken as a telemetry fault, and limited. */
export const ERROR_CORRECTION_LIMIT_SD = 3;
/** Rain-derived inflow now above this share of the dry-weather flow: the deviation is no longer the profile's error. */
export const ERROR_CORRECTION_MAX_RDII_SHARE = 0.02;

/**
 * The mean deviation of measured local inflow from the dry-weather profile over the `windowMin` ending at
 * `endUtcMs`, limited to ±ERROR_CORRECTION_LIMIT_SD sd of the profile's residual (a flow meter reading zero
 * must not empty the forecast). Not applied with fewer than half the window's steps measured, or where
 * rain-derived inflow is under way (`rdiiNowM3h`).
 */
export function dwfErrorCorrection(
  profile: DwfProfile,
  calendar: LocalCalendar,
  measured: Series | undefined,
  endUtcMs: number,
  windowMin: number,
  rdiiNowM3h: number,
): ErrorCorrection {
  const none = (note: string): ErrorCorrection => ({ deviationM3h: 0, applied: false, note });
  if (!measured) return none('no recent measurement');
  const stepMs = measured.stepMin * MS_PER_MIN;
  const steps = Math.max(1, Math.round(windowMin / measured.stepMin));
  const firstIndex = Math.round((endUtcMs - measured.startUtcMs) / stepMs) - steps;
  const windowStartUtcMs = measured.startUtcMs + firstIndex * stepMs;
  const profileM3h = dwfSeries(profile, calendar, { startUtcMs: windowStartUtcMs, stepMin: measured.stepMin, steps });
  let sum = 0;
  let count = 0;
  for (let k = 0; k < steps; k++) {
    const v = measured.values[firstIndex + k];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    sum += v - profileM3h[k]!;
    count++;
  }
  if (count * 2 < steps) return none(`${count} of ${steps} recent step(s) measured`);
  const profileMeanM3h = profileM3h.reduce((a, v) => a + v, 0) / steps;
  if (rdiiNowM3h > ERROR_CORRECTION_MAX_RDII_SHARE * profileMeanM3h) return none('rain-derived inflow under way');
  const measuredM3h = sum / count;
  const limitM3h = ERROR_CORRECTION_LIMIT_SD * profile.residualSdFraction * profileMeanM3h;
  if (Math.abs(measuredM3h) <= limitM3h) return { deviationM3h: measuredM3h, applied: true, note: null };
  const sign = measuredM3h > 0 ? '+' : '−';
  return {
    deviationM3h: Math.sign(measuredM3h) * limitM3h,
    applied: true,
    note: `measured ${sign}${Math.abs(measuredM3h).toFixed(0)} m³/h off the profile, beyond ${ERROR_CORRECTION_LIMIT_SD} sd: limited to ${sign}${limitM3h.toFixed(0)} m³/h`,
  };
}

export interface StationInflowForecast {
  stationId: string;
  /** From the deterministic rain, m³/h per step. */
  deterministicM3h: number[];
  /** Keys "p10", "p50", "p90" (from `quantiles`), m³/h per step, ordered low to high. */
  quantilesM3h: Record<string, number[]>;
  dwfM3h: number[];
  groundwaterM3h: number[];
  rdiiM3h: number[];
  /** sd of the dry-weather deviation per step (for aggregating bands). */
  dwfSdM3h: number[];
  /** RDII model error share used (area-weighted over the station's catchments). */
  rdiiErrorFraction: number;
  /** Measured less profile dry-weather flow carried into the forecast (decaying from this value), m³/h; 0: none. */
  errorCorrectionM3h: number;
  /** Total flow per ensemble member (includeMembers). */
  membersM3h?: number[][];
  /** RDII per member (includeMembers), for the model-error part of aggregated bands. */
  membersRdiiM3h?: number[][];
  /** Initial abstraction left at the start, per catchment (mm). */
  iaAtStartMm: Record<string, number>;
  flags: string[];
}

export interface InflowForecast {
  issuedAtUtcMs: number;
  startUtcMs: number;
  stepMin: number;
  steps: number;
  timeZone: string;
  rain: { quality: RainQuality; reason: string | null; source: string; issuedAtUtcMs: number | null; ageMin: number | null; members: number; ensembleQuality: RainQuality | null };
  quantiles: number[];
  rdiiErrorFraction: number;
  stations: StationInflowForecast[];
  flags: string[];
}

export const quantileKey = (q: number): string => `p${Math.round(q * 100)}`;

/** Models from the network file alone (configured DWF pattern and RTK), before anything is learned. */
export function modelsFromNetwork(network: NetworkConfig, options: { residualSdFraction?: number; iaRecoveryMmPerDay?: number } = {}): StationInflowModel[] {
  const patterns = new Map(network.dwfPatterns.map((p) => [p.id, p]));
  const byStation = new Map<string, StationInflowModel>();
  const monthly = new Map<string, { sum: number[]; weight: number }>();
  /** Flow of catchments without monthly factors seen before the first with them (factor 1). */
  const unseasonal = new Map<string, number>();
  for (const c of network.catchments) {
    const pattern = patterns.get(c.dwf.pattern);
    if (!pattern) throw new RangeError(`catchment ${c.id}: unknown DWF pattern ${c.dwf.pattern}`);
    const meanM3h = c.dwf.meanM3d / 24;
    let model = byStation.get(c.node);
    if (!model) {
      model = {
        stationId: c.node,
        dwf: { weekdayM3h: new Array<number>(24).fill(0), weekendM3h: new Array<number>(24).fill(0), residualSdFraction: options.residualSdFraction ?? 0.05, residualLag1: 0.8 },
        groundwaterM3h: 0,
        catchments: [],
      };
      byStation.set(c.node, model);
    }
    for (let h = 0; h < 24; h++) {
      model.dwf.weekdayM3h[h] = model.dwf.weekdayM3h[h]! + meanM3h * pattern.weekdayHourly[h]! * pattern.weekdayFactor + c.groundwaterM3h;
      model.dwf.weekendM3h[h] = model.dwf.weekendM3h[h]! + meanM3h * pattern.weekendHourly[h]! * pattern.weekendFactor + c.groundwaterM3h;
    }
    model.groundwaterM3h += c.groundwaterM3h;
    if (pattern.monthly) {
      // Several catchments with their own seasons: the station's factor weighted by their dry-weather flow.
      const m = (monthly.get(model.stationId) ?? { sum: new Array<number>(12).fill(0), weight: 0 });
      for (let k = 0; k < 12; k++) m.sum[k] = m.sum[k]! + (pattern.monthly[k] ?? 1) * meanM3h;
      m.weight += meanM3h;
      monthly.set(model.stationId, m);
    } else {
      const m = monthly.get(model.stationId);
      if (m) {
        for (let k = 0; k < 12; k++) m.sum[k] = m.sum[k]! + meanM3h;
        m.weight += meanM3h;
      } else unseasonal.set(model.stationId, (unseasonal.get(model.stationId) ?? 0) + meanM3h);
    }
    model.catchments.push({
      catchmentId: c.id,
      areaHa: c.areaHa,
      rtk: {
        initialAbstractionMm: c.rdii.initialAbstractionMm,
        iaRecoveryMmPerDay: options.iaRecoveryMmPerDay ?? DEFAULT_IA_RECOVERY_MM_PER_DAY,
        triangles: [...c.rdii.triangles].sort((a, b) => a.tH - b.tH),
      },
    });
  }
  for (const [stationId, m] of monthly) {
    const flat = unseasonal.get(stationId) ?? 0;
    const weight = m.weight + flat;
    if (weight > 0) byStation.get(stationId)!.dwf.monthlyFactors = m.sum.map((v) => (v + flat) / weight);
  }
  return [...byStation.values()];
}

/** Equally likely standard normal scores (midpoints of n equal-probability bins). */
export function normalScores(n: number): number[] {
  return Array.from({ length: n }, (_, j) => normalQuantile((j + 0.5) / n));
}

/**
 * Quantiles per step over members × normal scores: sample = memberTotal + z · sd(member, step).
 * Sorted per step, so the quantiles are ordered by construction.
 */
export function bandQuantiles(
  memberTotals: readonly ArrayLike<number>[],
  sd: (member: number, step: number) => number,
  quantiles: readonly number[],
  scores: readonly number[],
): number[][] {
  const steps = memberTotals[0]?.length ?? 0;
  const out = quantiles.map(() => new Array<number>(steps).fill(0));
  const samples = new Float64Array(memberTotals.length * scores.length);
  for (let i = 0; i < steps; i++) {
    let n = 0;
    for (let m = 0; m < memberTotals.length; m++) {
      const centre = memberTotals[m]![i]!;
      const s = sd(m, i);
      for (const z of scores) samples[n++] = Math.max(0, centre + z * s);
    }
    samples.sort();
    quantiles.forEach((q, k) => (out[k]![i] = quantileSorted(samples, q)));
  }
  return out;
}

/** The forecast; see the file header. */
export function forecastInflow(input: InflowForecastInput): InflowForecast {
  const { rain, models } = input;
  const grid: Grid = { startUtcMs: rain.startUtcMs, stepMin: rain.stepMin, steps: rain.steps };
  checkGrid(grid, 'forecastInflow');
  const quantiles = [...(input.quantiles ?? [0.1, 0.5, 0.9])].sort((a, b) => a - b);
  const rdiiErrorFraction = input.rdiiErrorFraction ?? 0.1;
  const scores = normalScores(input.normalPoints ?? 9);
  const calendar = createCalendar(input.timeZone);
  const gapFill = input.gapFillMm ?? (() => 0);
  const gapLabel = input.gapFillLabel ?? (input.gapFillMm ? 'the fallback rule' : '0 mm');
  const stepMs = grid.stepMin * MS_PER_MIN;
  const rainById = new Map(rain.catchments.map((c) => [c.catchmentId, c]));
  const windowMin = input.correctionWindowMin ?? ERROR_CORRECTION_WINDOW_MIN;
  const flags: string[] = [];
  if (rain.quality !== 'fresh') flags.push(`rain ${rain.quality}: ${rain.reason ?? ''}`.trim());
  const memberCount = Math.max(0, ...rain.catchments.map((c) => c.members.length));
  if (memberCount === 0) flags.push(`no ensemble members${rain.ensemble?.reason ? ` (${rain.ensemble.reason})` : ''}: P10–P90 hold only the dry-weather and RDII model spread`);
  else if (rain.ensemble && rain.ensemble.quality !== 'fresh') flags.push(`ensemble ${rain.ensemble.quality}: ${rain.ensemble.reason ?? ''}`.trim());
  flags.push(...(rain.notes ?? []));
  const when = (utcMs: number) => new Date(utcMs).toISOString().replace(':00.000Z', 'Z');

  const stations = models.map((model): StationInflowForecast => {
    const stationFlags: string[] = [];
    const dwfTotal = dwfSeries(model.dwf, calendar, grid);
    const gw = Math.min(model.groundwaterM3h, Math.min(...dwfTotal));
    const dwfOnly = dwfTotal.map((v) => v - gw);
    const rdiiDet = new Float64Array(grid.steps);
    const memberRdii: Float64Array[] = Array.from({ length: memberCount }, () => new Float64Array(grid.steps));
    const iaAtStartMm: Record<string, number> = {};
    for (const c of model.catchments) {
      for (const note of rain.catchmentNotes ?? []) if (note.catchmentId === c.catchmentId) stationFlags.push(note.text);
      const r = rainById.get(c.catchmentId);
      if (!r) {
        stationFlags.push(`no rain for catchment ${c.catchmentId}: RDII from past rain only`);
      }
      const past = input.pastRain?.[c.catchmentId];
      let pastValues: (number | null)[] = [];
      if (past) {
        if (past.stepMin !== grid.stepMin) throw new RangeError(`forecastInflow: past rain of ${c.catchmentId} has ${past.stepMin}-min steps, the forecast ${grid.stepMin}`);
        const endUtcMs = past.startUtcMs + past.values.length * stepMs;
        if (endUtcMs !== grid.startUtcMs) throw new RangeError(`forecastInflow: past rain of ${c.catchmentId} ends at ${new Date(endUtcMs).toISOString()}, not at the forecast start ${new Date(grid.startUtcMs).toISOString()}`);
        pastValues = past.values;
        const pastGaps = pastValues.filter((v) => v === null).length;
        if (pastGaps > 0) stationFlags.push(`${pastGaps} step(s) of observed rain missing at ${c.catchmentId}: taken as dry for the RDII state`);
      } else stationFlags.push(`no observed rain before the start at ${c.catchmentId}: RDII state taken as dry`);
      const state = rdiiState(pastValues, c.rtk, c.areaHa, grid.stepMin, grid.steps, input.iaAtPastStartMm?.[c.catchmentId]);
      iaAtStartMm[c.catchmentId] = state.iaMm;

      // Unknown rain (a gap, or beyond the end of the forecast) is filled here only, and said with its times.
      const unknown = { steps: 0, series: [] as number[], firstUtcMs: Number.POSITIVE_INFINITY, lastUtcMs: Number.NEGATIVE_INFINITY };
      const fill = (values: (number | null)[] | undefined, member: number | null): number[] => {
        if (!values) return new Array<number>(grid.steps).fill(0);
        let gaps = 0;
        const out = Array.from({ length: grid.steps }, (_, i) => {
          const v = values[i];
          if (v === null || v === undefined || !Number.isFinite(v)) {
            gaps++;
            const t = grid.startUtcMs + i * stepMs;
            unknown.firstUtcMs = Math.min(unknown.firstUtcMs, t);
            unknown.lastUtcMs = Math.max(unknown.lastUtcMs, t + stepMs);
            return gapFill(c.catchmentId, t, grid.stepMin);
          }
          return v;
        });
        if (gaps > 0 && member === null) {
          stationFlags.push(`rain gap: ${gaps} of ${grid.steps} step(s) of the deterministic forecast at ${c.catchmentId} unknown (${when(unknown.firstUtcMs)}–${when(unknown.lastUtcMs)}): filled with ${gapLabel}`);
          unknown.firstUtcMs = Number.POSITIVE_INFINITY;
          unknown.lastUtcMs = Number.NEGATIVE_INFINITY;
        } else if (gaps > 0 && member !== null) {
          unknown.steps += gaps;
          unknown.series.push(member);
        }
        return out;
      };
      const det = forecastRdii(fill(r?.precipitationMm, null), c.rtk, c.areaHa, grid.stepMin, state);
      for (let i = 0; i < grid.steps; i++) rdiiDet[i] = rdiiDet[i]! + det[i]!;
      for (let m = 0; m < memberCount; m++) {
        const values = r?.members[m];
        const rdii = values ? forecastRdii(fill(values, m), c.rtk, c.areaHa, grid.stepMin, state) : det;
        const acc = memberRdii[m]!;
        for (let i = 0; i < grid.steps; i++) acc[i] = acc[i]! + rdii[i]!;
      }
      if (unknown.series.length > 0) {
        const list = unknown.series.length > 8 ? `${unknown.series.slice(0, 8).join(', ')}, …` : unknown.series.join(', ');
        stationFlags.push(
          `rain gap: ${unknown.steps} step(s) over ${unknown.series.length} of ${memberCount} ensemble member(s) (member ${list}) at ${c.catchmentId} unknown (${when(unknown.firstUtcMs)}–${when(unknown.lastUtcMs)}): filled with ${gapLabel}`,
        );
      }
      if (r && memberCount > 0 && r.members.length < memberCount) stationFlags.push(`${memberCount - r.members.length} ensemble member(s) missing at ${c.catchmentId}: the deterministic rain stands in for them`);
    }

    // Error correction: the recent deviation decays with the learned hourly autocorrelation, from the middle
    // of the window it was measured over.
    const correctionResult = input.recentLocalInflowM3h
      ? dwfErrorCorrection(model.dwf, calendar, input.recentLocalInflowM3h[model.stationId], grid.startUtcMs, windowMin, rdiiDet[0] ?? 0)
      : null;
    if (correctionResult?.note) stationFlags.push(`error correction${correctionResult.applied ? '' : ' not applied'}: ${correctionResult.note}`);
    const deviation = correctionResult?.applied ? correctionResult.deviationM3h : 0;
    const rhoPerH = Math.max(0, Math.min(0.999, model.dwf.residualLag1));
    const leadH = (i: number) => ((i + 1) * grid.stepMin) / 60 + windowMin / 120;
    const correction = dwfTotal.map((_, i) => (deviation !== 0 ? deviation * Math.pow(rhoPerH, leadH(i)) : 0));
    const dwfSdM3h = dwfTotal.map((v, i) => {
      const sd = model.dwf.residualSdFraction * v;
      // A known recent deviation narrows the first steps' spread (AR(1)).
      return correctionResult?.applied ? sd * Math.sqrt(1 - Math.pow(rhoPerH, 2 * leadH(i))) : sd;
    });

    const areaHa = model.catchments.reduce((a, c) => a + c.areaHa, 0);
    const errorFraction =
      areaHa > 0 ? model.catchments.reduce((a, c) => a + (c.rdiiErrorFraction ?? rdiiErrorFraction) * c.areaHa, 0) / areaHa : rdiiErrorFraction;
    const base = dwfTotal.map((v, i) => Math.max(0, v + correction[i]!));
    const deterministicM3h = base.map((v, i) => v + rdiiDet[i]!);
    const rdiiSets = memberCount > 0 ? memberRdii : [rdiiDet];
    const totals = rdiiSets.map((rdii) => base.map((v, i) => v + rdii[i]!));
    const bands = bandQuantiles(totals, (m, i) => Math.hypot(dwfSdM3h[i]!, errorFraction * rdiiSets[m]![i]!), quantiles, scores);
    const quantilesM3h: Record<string, number[]> = {};
    quantiles.forEach((q, k) => (quantilesM3h[quantileKey(q)] = bands[k]!));
    const result: StationInflowForecast = {
      stationId: model.stationId,
      deterministicM3h,
      quantilesM3h,
      dwfM3h: dwfOnly.map((v, i) => Math.max(0, v + correction[i]!)),
      groundwaterM3h: new Array<number>(grid.steps).fill(gw),
      rdiiM3h: Array.from(rdiiDet),
      dwfSdM3h,
      rdiiErrorFraction: errorFraction,
      errorCorrectionM3h: deviation,
      iaAtStartMm,
      flags: stationFlags,
    };
    if (input.includeMembers) {
      result.membersM3h = totals;
      result.membersRdiiM3h = rdiiSets.map((r) => Array.from(r));
    }
    return result;
  });

  return {
    issuedAtUtcMs: input.issuedAtUtcMs,
    startUtcMs: grid.startUtcMs,
    stepMin: grid.stepMin,
    steps: grid.steps,
    timeZone: input.timeZone,
    rain: {
      quality: rain.quality,
      reason: rain.reason,
      source: rain.source,
      issuedAtUtcMs: rain.issuedAtUtcMs,
      ageMin: rain.ageMin,
      members: memberCount,
      ensembleQuality: rain.ensemble?.quality ?? null,
    },
    quantiles,
    rdiiErrorFraction,
    stations,
    flags,
  };
}

export interface PlantInflowForecast {
  plantId: string;
  deterministicM3h: number[];
  quantilesM3h: Record<string, number[]>;
}

/**
 * Plant inflow from a station forecast (made with includeMembers): members summed over the stations
 * on each plant's routes, delayed by travel time (the first steps from `pastM3h`, observed local
 * inflow before the start), with the stations' dry-weather deviations taken as independent and the
 * RDII model error as common to all catchments.
 */
export function plantInflowForecast(
  forecast: InflowForecast,
  routes: Record<string, PlantRoute[]>,
  pastM3h: Record<string, readonly number[]> = {},
  options: { normalPoints?: number } = {},
): PlantInflowForecast[] {
  const scores = normalScores(options.normalPoints ?? 9);
  const byStation = new Map(forecast.stations.map((s) => [s.stationId, s]));
  const lagOf = (travelMin: number) => travelMin / forecast.stepMin;
  return Object.entries(routes).map(([plantId, list]) => {
    const steps = forecast.steps;
    const det = new Array<number>(steps).fill(0);
    const variance = new Array<number>(steps).fill(0);
    let memberTotals: number[][] | null = null;
    /** Σ over stations of RDII model-error sd per member (errors taken as common to all catchments). */
    let memberRdii: number[][] | null = null;
    for (const { stationId, travelMin } of list) {
      const s = byStation.get(stationId);
      if (!s) continue;
      if (!s.membersM3h || !s.membersRdiiM3h) throw new RangeError('plantInflowForecast: make the station forecast with includeMembers');
      const past = pastM3h[stationId] ?? [];
      const before = (series: readonly number[]) => (i: number) => (i < 0 ? (past[past.length + i] ?? series[0] ?? 0) : (series[series.length - 1] ?? 0));
      const lag = lagOf(travelMin);
      shifted(s.deterministicM3h, lag, before(s.deterministicM3h)).forEach((v, i) => (det[i] = det[i]! + v));
      shifted(s.dwfSdM3h, lag, (i) => (i < 0 ? 0 : (s.dwfSdM3h[s.dwfSdM3h.length - 1] ?? 0))).forEach((v, i) => (variance[i] = variance[i]! + v * v));
      const members = s.membersM3h.map((m) => shifted(m, lag, before(m)));
      const rdii = s.membersRdiiM3h.map((m) => shifted(m, lag, (i) => (i < 0 ? 0 : (m[m.length - 1] ?? 0))).map((v) => v * s.rdiiErrorFraction));
      memberTotals = memberTotals ? memberTotals.map((acc, k) => acc.map((v, i) => v + members[k]![i]!)) : members;
      memberRdii = memberRdii ? memberRdii.map((acc, k) => acc.map((v, i) => v + rdii[k]![i]!)) : rdii;
    }
    const totals = memberTotals ?? [det];
    const rdiiTotals = memberRdii ?? [new Array<number>(steps).fill(0)];
    const bands = bandQuantiles(totals, (m, i) => Math.sqrt(variance[i]! + rdiiTotals[m]![i]! ** 2), forecast.quantiles, scores);
    const quantilesM3h: Record<string, number[]> = {};
    forecast.quantiles.forEach((q, k) => (quantilesM3h[quantileKey(q)] = bands[k]!));
    return { plantId, deterministicM3h: det, quantilesM3h };
  });
}

/** Hours from the forecast's issue time to each step's start (for lead-time analysis). */
export function leadTimesH(forecast: Pick<InflowForecast, 'issuedAtUtcMs' | 'startUtcMs' | 'stepMin' | 'steps'>): number[] {
  return Array.from({ length: forecast.steps }, (_, i) => (forecast.startUtcMs + i * forecast.stepMin * MS_PER_MIN - forecast.issuedAtUtcMs) / MS_PER_H);
}

/**
 * The planner's input shape (planner/inflow.ts InflowForecast: per node m³/h per step, optional
 * members), here as a structural copy so this module does not depend on the planner.
 */
export function toPlannerInflow(forecast: InflowForecast): {
  startUtcMs: number;
  stepMin: number;
  series: { nodeId: string; flowM3h: number[] }[];
  members?: { id: string; series: { nodeId: string; flowM3h: number[] }[] }[];
  source: string;
  issuedAtUtcMs: number;
} {
  const memberCount = Math.min(...forecast.stations.map((s) => s.membersM3h?.length ?? 0));
  return {
    startUtcMs: forecast.startUtcMs,
    stepMin: forecast.stepMin,
    series: forecast.stations.map((s) => ({ nodeId: s.stationId, flowM3h: s.deterministicM3h })),
    ...(memberCount > 0 && Number.isFinite(memberCount)
      ? {
          members: Array.from({ length: memberCount }, (_, m) => ({
            id: `m${m}`,
            series: forecast.stations.map((s) => ({ nodeId: s.stationId, flowM3h: s.membersM3h![m]! })),
          })),
        }
      : {}),
    source: `inflow-forecast;rain=${forecast.rain.source};quality=${forecast.rain.quality}`,
    issuedAtUtcMs: forecast.issuedAtUtcMs,
  };
}
