// CMA rainstorm warning and emergency response levels from rain, per catchment and source.
// Pure: rolling accumulations over 3/6/12-h windows, thresholds from configuration, and the rule that
// when sources disagree the higher level applies (就高不就低).
import {
  responseOfWarning,
  warningLevels,
  warningRank,
  type CatchmentRain,
  type HourlyRain,
  type RainSource,
  type ResponseLevel,
  type WarningEvidence,
  type WarningLevel,
  type WarningThreshold,
} from './types.js';

const MS_PER_H = 3_600_000;

export function highestWarning(levels: Iterable<WarningLevel>): WarningLevel {
  let best: WarningLevel = 'none';
  for (const level of levels) if (warningRank(level) > warningRank(best)) best = level;
  return best;
}

export function responseLevelOf(warning: WarningLevel): ResponseLevel | null {
  return warning === 'none' ? null : responseOfWarning[warning];
}

export function isWarningLevel(value: unknown): value is WarningLevel {
  return typeof value === 'string' && (warningLevels as readonly string[]).includes(value);
}

export interface WindowMax {
  mm: number;
  /** End of the wettest window (null when no window had data). */
  endUtcMs: number | null;
  /** Windows with a missing hour (not counted: a gap is never zero rain). */
  gaps: number;
}

/**
 * Largest rain over any `windowH` consecutive hours whose window ends in (fromUtcMs, toUtcMs]. A window with
 * a missing hour counts its known hours only and is reported in `gaps` (it can raise, never hide, a level).
 * `counts`, when given, decides which windows are considered at all (by their end).
 */
export function rollingMaxMm(
  series: HourlyRain,
  windowH: number,
  fromUtcMs = Number.NEGATIVE_INFINITY,
  toUtcMs = Number.POSITIVE_INFINITY,
  counts?: (windowEndUtcMs: number, windowH: number) => boolean,
): WindowMax {
  if (!(Number.isInteger(windowH) && windowH >= 1)) throw new RangeError(`windowH must be a whole number of hours ≥ 1, got ${windowH}`);
  const byHour = new Map<number, number | null>();
  series.timeUtcMs.forEach((t, i) => byHour.set(t, series.mm[i] ?? null));
  let best: WindowMax = { mm: 0, endUtcMs: null, gaps: 0 };
  for (const end of series.timeUtcMs) {
    if (end <= fromUtcMs || end > toUtcMs) continue;
    if (counts && !counts(end, windowH)) continue;
    let sum = 0;
    let missing = 0;
    for (let h = 0; h < windowH; h++) {
      const mm = byHour.get(end - h * MS_PER_H);
      if (mm === null || mm === undefined) missing++;
      else sum += mm;
    }
    if (missing > 0) best = { ...best, gaps: best.gaps + 1 };
    if (best.endUtcMs === null || sum > best.mm) best = { mm: sum, endUtcMs: end, gaps: best.gaps };
  }
  return best;
}

/** The highest warning whose threshold is met by some window ending in (fromUtcMs, toUtcMs]. */
export function warningOfSeries(
  series: HourlyRain,
  thresholds: readonly WarningThreshold[],
  fromUtcMs: number,
  toUtcMs: number,
  catchmentId: string,
  source: RainSource,
  counts?: (windowEndUtcMs: number, windowH: number) => boolean,
): WarningEvidence {
  let evidence: WarningEvidence = { catchmentId, source, level: 'none', windowH: 0, mm: 0, windowEndUtcMs: null };
  for (const threshold of thresholds) {
    const max = rollingMaxMm(series, threshold.windowH, fromUtcMs, toUtcMs, counts);
    if (max.mm >= threshold.mm && warningRank(threshold.level) > warningRank(evidence.level)) {
      evidence = { catchmentId, source, level: threshold.level, windowH: threshold.windowH, mm: round1(max.mm), windowEndUtcMs: max.endUtcMs };
    }
  }
  return evidence;
}

/** Observed hours up to now followed by forecast hours after it: one series, so windows can straddle now. */
export function combineRain(observed: HourlyRain, forecast: HourlyRain, nowUtcMs: number): HourlyRain {
  const byHour = new Map<number, number | null>();
  forecast.timeUtcMs.forEach((t, i) => {
    if (t > nowUtcMs) byHour.set(t, forecast.mm[i] ?? null);
  });
  observed.timeUtcMs.forEach((t, i) => {
    if (t <= nowUtcMs) byHour.set(t, observed.mm[i] ?? null);
  });
  const times = [...byHour.keys()].sort((a, b) => a - b);
  return { timeUtcMs: times, mm: times.map((t) => byHour.get(t) ?? null) };
}

export interface CatchmentRainInput {
  catchmentId: string;
  stationId: string;
  observed: HourlyRain;
  forecast: HourlyRain;
}

export interface RainAssessmentOptions {
  thresholds: readonly WarningThreshold[];
  nowUtcMs: number;
  lookAheadH: number;
  observedRecentH: number;
  wetHourMm: number;
}

export interface RainAssessment {
  warning: WarningLevel;
  response: ResponseLevel | null;
  bySource: Record<RainSource, WarningLevel>;
  evidence: WarningEvidence[];
  catchments: CatchmentRain[];
  onsetUtcMs: number | null;
  endUtcMs: number | null;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

function sumKnown(series: HourlyRain, fromUtcMs: number, toUtcMs: number): { mm: number; gaps: number } {
  let mm = 0;
  let gaps = 0;
  series.timeUtcMs.forEach((t, i) => {
    if (t <= fromUtcMs || t > toUtcMs) return;
    const v = series.mm[i];
    if (v === null || v === undefined) gaps++;
    else mm += v;
  });
  return { mm, gaps };
}

/**
 * Warning per catchment and source, and the network level: the highest of all (就高不就低).
 * Observed: windows ending within `observedRecentH` before now, while the rain may continue (CMA: "已达…以上且降雨
 * 可能持续"): the last observed hour is wet, or rain is forecast within the threshold's window. Once the rain has
 * stopped and none is forecast, an observed-only warning is lifted. Missing data is never read as dry: an
 * unknown last hour, or forecast hours missing from that window, keep the warning.
 * Forecast: windows ending after now up to the look-ahead, over observed-then-forecast rain (so 30 mm fallen +
 * 25 mm coming in 3 h is 55 mm in 3 h), counted only when their forecast hours carry rain (or are missing): a
 * window of past rain and a dry forecast is not forecast evidence. The forecast maxima follow the same rule.
 */
export function assessRain(catchments: readonly CatchmentRainInput[], options: RainAssessmentOptions): RainAssessment {
  const { nowUtcMs, thresholds } = options;
  const evidence: WarningEvidence[] = [];
  const out: CatchmentRain[] = [];
  for (const c of catchments) {
    const combined = combineRain(c.observed, c.forecast, nowUtcMs);
    const forecastHour = new Map<number, number | null>();
    c.forecast.timeUtcMs.forEach((t, i) => {
      if (t > nowUtcMs) forecastHour.set(t, c.forecast.mm[i] ?? null);
    });
    /** Forecast hours ending in (fromUtcMs, toUtcMs] carry rain, or some are missing (a gap is never dry). */
    const forecastMayRain = (fromUtcMs: number, toUtcMs: number) => {
      for (let t = Math.floor(fromUtcMs / MS_PER_H) * MS_PER_H + MS_PER_H; t <= toUtcMs; t += MS_PER_H) {
        const mm = forecastHour.get(t);
        if (mm === null || mm === undefined || mm >= options.wetHourMm) return true;
      }
      return false;
    };
    const forecastWindow = (end: number, windowH: number) => forecastMayRain(Math.max(nowUtcMs, end - windowH * MS_PER_H), end);
    // The last observed hour of the recent period; unknown (absent or null) counts as possibly raining.
    const recent = c.observed.timeUtcMs.map((t, i) => ({ t, mm: c.observed.mm[i] ?? null })).filter((x) => x.t > nowUtcMs - options.observedRecentH * MS_PER_H && x.t <= nowUtcMs);
    const last = recent.sort((a, b) => a.t - b.t).at(-1);
    const rainingNow = last === undefined || last.mm === null || last.mm >= options.wetHourMm;
    const observedContinues = (_end: number, windowH: number) => rainingNow || forecastMayRain(nowUtcMs, nowUtcMs + windowH * MS_PER_H);
    const observedEvidence = warningOfSeries(c.observed, thresholds, nowUtcMs - options.observedRecentH * MS_PER_H, nowUtcMs, c.catchmentId, 'observed', observedContinues);
    const forecastEvidence = warningOfSeries(combined, thresholds, nowUtcMs, nowUtcMs + options.lookAheadH * MS_PER_H, c.catchmentId, 'forecast', forecastWindow);
    evidence.push(observedEvidence, forecastEvidence);
    const obs = (h: number) => sumKnown(c.observed, nowUtcMs - h * MS_PER_H, nowUtcMs);
    const fcMax = (h: number) => rollingMaxMm(combined, h, nowUtcMs, nowUtcMs + options.lookAheadH * MS_PER_H, forecastWindow).mm;
    const fcFuture = sumKnown(c.forecast, nowUtcMs, nowUtcMs + options.lookAheadH * MS_PER_H);
    // Onset: the start of the wet spell in progress, or the first wet forecast hour.
    let onsetUtcMs: number | null = null;
    let endUtcMs: number | null = null;
    const wet = combined.timeUtcMs.map((t, i) => ({ t, mm: combined.mm[i] ?? 0 })).filter((x) => x.t <= nowUtcMs + options.lookAheadH * MS_PER_H);
    const lastHour = wet.filter((x) => x.t <= nowUtcMs).at(-1);
    if (lastHour && lastHour.mm >= options.wetHourMm) {
      // Raining now: walk back to the first wet hour of this spell.
      let i = wet.indexOf(lastHour);
      while (i > 0 && wet[i - 1]!.mm >= options.wetHourMm) i--;
      onsetUtcMs = wet[i]!.t - MS_PER_H;
    } else {
      const first = wet.find((x) => x.t > nowUtcMs && x.mm >= options.wetHourMm);
      onsetUtcMs = first ? first.t - MS_PER_H : null;
    }
    const lastWet = [...wet].reverse().find((x) => x.mm >= options.wetHourMm && x.t > nowUtcMs - options.observedRecentH * MS_PER_H);
    endUtcMs = onsetUtcMs !== null && lastWet ? lastWet.t : null;
    const o3 = obs(3);
    out.push({
      catchmentId: c.catchmentId,
      stationId: c.stationId,
      observed: { mm3h: round1(o3.mm), mm6h: round1(obs(6).mm), mm12h: round1(obs(12).mm), lastHourMm: round1(lastHour?.mm ?? 0), gaps: obs(12).gaps },
      forecast: { max3hMm: round1(fcMax(3)), max6hMm: round1(fcMax(6)), max12hMm: round1(fcMax(12)), totalMm: round1(fcFuture.mm), gaps: fcFuture.gaps },
      onsetUtcMs,
      endUtcMs,
      level: highestWarning([observedEvidence.level, forecastEvidence.level]),
    });
  }
  const bySource: Record<RainSource, WarningLevel> = {
    observed: highestWarning(evidence.filter((e) => e.source === 'observed').map((e) => e.level)),
    forecast: highestWarning(evidence.filter((e) => e.source === 'forecast').map((e) => e.level)),
  };
  const warning = highestWarning(Object.values(bySource));
  const rainy = out.filter((c) => c.onsetUtcMs !== null);
  const onsets = rainy.map((c) => c.onsetUtcMs!);
  const ends = rainy.flatMap((c) => (c.endUtcMs === null ? [] : [c.endUtcMs]));
  return {
    warning,
    response: responseLevelOf(warning),
    bySource,
    evidence: evidence.filter((e) => e.level !== 'none').sort((a, b) => warningRank(b.level) - warningRank(a.level) || b.mm - a.mm),
    catchments: out,
    onsetUtcMs: onsets.length > 0 ? Math.min(...onsets) : null,
    endUtcMs: ends.length > 0 ? Math.max(...ends) : null,
  };
}
