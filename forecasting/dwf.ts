// Dry-weather flow learned from telemetry: base flow and hourly weekday/weekend profiles per station,
// from the station's local inflow (its own catchment: inflow minus what arrives from upstream, see
// routing.ts) on dry days chosen from the rain history. Pure functions.
//
// Method.
//   0. Faulty flow is missing, not a sample: a value unchanged for FLATLINE_MIN_MIN or longer — a stuck or
//      failed transmitter, a station not in service yet reading 0 (maskFaultyFlow; readStationHistory also
//      takes any zero measured inflow and ingest's sensor flags as missing).
//   1. Local hours: samples are bucketed by (local date, local hour); an hour needs at least
//      `minHourShare` of its samples, a day at least `minDayHours` valid hours. Day type: weekday, or
//      weekend — which includes statutory holidays, while make-up working days (调休) count as weekdays
//      when the network file has a `dayCalendar` (calendar.ts usesWeekendProfile).
//   2. Dry days: the day's rain and that of the `antecedentDryDays` days before are all known and at
//      most `dryDayMaxRainMm` (missing rain is not "dry": such days are left out and listed).
//   3. Day outliers: a day whose mean lies more than `outlierK` robust standard deviations
//      (1.4826·MAD) from the median of its day type is left out (holidays, stuck meters).
//   4. Profile: for each day type and local hour, the mean of the values within `outlierK` robust
//      standard deviations of their median. A day type with too few dry days borrows the other's
//      profile scaled by the ratio of their means, with a warning.
//   5. Monthly (seasonal) factors, when the kept days cover at least `minMonths` local months with
//      `minDryDaysPerMonth` days each: per month, the mean of (day mean / its day type's profile mean),
//      scaled so the kept days average 1; months without enough days (and all months with less
//      history) get 1.
//   6. Spread: the robust standard deviation of hourly (value / (profile × month factor) − 1) on the
//      kept days, and the lag-1 autocorrelation of those residuals; the forecast uses them for its band.
// The learned flow is everything that flows in dry weather, groundwater infiltration included; the
// split into DWF and groundwater needs outside knowledge (the network file's groundwaterM3h).
//
// Whether a learned profile may replace the configured one is judgeLearnedDwf's call (enough dry days of
// each day type, a level near the configured one); the inflow cycle falls back to the network file's
// pattern with its reason otherwise.
import type { DayCalendar } from '../network/day-calendar.js';
import { createCalendar, dayCalendarCovers, MS_PER_MIN, usesWeekendProfile, type LocalCalendar } from './calendar.js';
import { median, robustMean, robustSd, type Grid, type Series } from './series.js';

export interface DwfLearningOptions {
  antecedentDryDays?: number;
  dryDayMaxRainMm?: number;
  minHourShare?: number;
  minDayHours?: number;
  outlierK?: number;
  minDryDaysPerType?: number;
  /** Local months needed before monthly factors are learned (default 3). */
  minMonths?: number;
  /** Kept dry days a month needs for its own factor (default 4). */
  minDryDaysPerMonth?: number;
  /** judgeLearnedDwf: kept dry days each day type needs for the profile to be used (default MIN_ACCEPTED_DRY_DAYS_PER_TYPE). */
  minAcceptedDryDaysPerType?: number;
  /** judgeLearnedDwf: largest accepted |learned / configured − 1| of the weekly mean (default MAX_LEVEL_DEVIATION_FRACTION). */
  maxLevelDeviationFraction?: number;
}

export interface DwfLearningInput {
  stationId: string;
  /** Local inflow of the station's catchment(s), m³/h per step; null = no data. */
  flow: Series;
  /** Rain over the catchment (mm per step, any step); null = unknown. Several series: the wettest counts. */
  rain: Series | readonly Series[];
  timeZone: string;
  /** Holidays (weekend profile) and make-up working days (weekday profile); absent: Saturday/Sunday only. */
  dayCalendar?: DayCalendar;
  options?: DwfLearningOptions;
}

/** What the forecast needs from a dry-weather profile. */
export interface DwfProfile {
  /** Local hours 0..23, m³/h (groundwater in dry weather included). */
  weekdayM3h: number[];
  weekendM3h: number[];
  /** Robust standard deviation of hourly flow around the profile, as a fraction of it. */
  residualSdFraction: number;
  /** Lag-1 (hourly) autocorrelation of those deviations. */
  residualLag1: number;
  /** Factor per local month (index 0 = January) on the hourly profiles; absent = 1 for every month. */
  monthlyFactors?: number[];
  /** Which days take the weekend profile (holidays) and which the weekday one (make-up working days); absent: Sat/Sun. */
  dayCalendar?: DayCalendar;
}

export interface LearnedDwf extends DwfProfile {
  stationId: string;
  timeZone: string;
  /** Mean over a week (5 weekdays, 2 weekend days), m³/h. */
  meanM3h: number;
  weekdayPattern: number[];
  weekendPattern: number[];
  /** Day mean over the weekly mean (a week of factors averages 1). */
  weekdayFactor: number;
  weekendFactor: number;
  /** Always 12 entries; 1 where not learned. */
  monthlyFactors: number[];
  dryDays: { weekday: string[]; weekend: string[] };
  leftOut: { date: string; reason: string }[];
  warnings: string[];
}

/**
 * Kept dry days each day type needs before its learned profile replaces the configured pattern: a week's worth.
 * Fewer days leave a profile decided by a handful of days (a commissioning flush, a half-stuck meter, one odd
 * Sunday) and an hourly spread that cannot be estimated; the design pattern is the better guess until then.
 */
export const MIN_ACCEPTED_DRY_DAYS_PER_TYPE = 7;
/**
 * Largest accepted deviation of the learned weekly mean from the configured one (±50 %). The configured
 * pattern is the design estimate; telemetry twice or half of it points to a fault — an upstream station
 * counted as local flow, a meter reading low or scaled wrong — more often than to a design that far off, and
 * such a profile would mislead the planner silently. A real change of that size should go into the network file.
 */
export const MAX_LEVEL_DEVIATION_FRACTION = 0.5;
/**
 * Flow unchanged (within FLATLINE_EPSILON_M3H) this long is a stuck transmitter, not sewage: in 6 h dry-weather
 * flow goes through its night minimum or a morning rise. Longer than ingest's 3 h flat-line flag on raw samples
 * (ingest/quality.ts; its flags are read separately, history.ts): these are step means, and a small station's
 * coarsely quantised meter can repeat a night-time mean for a few hours.
 */
export const FLATLINE_MIN_MIN = 360;
export const FLATLINE_EPSILON_M3H = 1e-3;

const DEFAULTS: Required<DwfLearningOptions> = {
  antecedentDryDays: 2,
  dryDayMaxRainMm: 0.2,
  minHourShare: 0.5,
  minDayHours: 20,
  outlierK: 3.5,
  minDryDaysPerType: 2,
  minMonths: 3,
  minDryDaysPerMonth: 4,
  minAcceptedDryDaysPerType: MIN_ACCEPTED_DRY_DAYS_PER_TYPE,
  maxLevelDeviationFraction: MAX_LEVEL_DEVIATION_FRACTION,
};

/**
 * Faulty flow as missing: zero or negative values (no sewage flow is zero for a whole step: the meter or the
 * station is not working; `nonPositive` false leaves them) and runs of a value unchanged within
 * FLATLINE_EPSILON_M3H for FLATLINE_MIN_MIN or longer (a stuck transmitter repeats its last reading, 0
 * included). Pure; counts what it took out.
 */
export function maskFaultyFlow(
  values: readonly (number | null)[],
  stepMin: number,
  options: { nonPositive?: boolean } = {},
): { values: (number | null)[]; zeroSteps: number; flatSteps: number } {
  const out: (number | null)[] = values.map((v) => (v === null || v === undefined || !Number.isFinite(v) ? null : v));
  let zeroSteps = 0;
  for (let i = 0; i < out.length && options.nonPositive !== false; i++) {
    if (out[i] !== null && out[i]! <= 0) {
      out[i] = null;
      zeroSteps++;
    }
  }
  const minSteps = Math.max(2, Math.ceil(FLATLINE_MIN_MIN / stepMin));
  let flatSteps = 0;
  let start = 0;
  for (let i = 1; i <= out.length; i++) {
    const same = i < out.length && out[i] !== null && out[start] !== null && Math.abs(out[i]! - out[start]!) <= FLATLINE_EPSILON_M3H;
    if (same) continue;
    if (out[start] !== null && i - start >= minSteps) {
      for (let k = start; k < i; k++) out[k] = null;
      flatSteps += i - start;
    }
    start = i;
  }
  return { values: out, zeroSteps, flatSteps };
}

interface DayRecord {
  day: number;
  /** "YYYY-MM-DD", local. */
  date: string;
  /** Takes the weekend profile: Saturday or Sunday not worked, or a statutory holiday. */
  weekend: boolean;
  hourly: (number | null)[];
  /** Steps of the day taken out by maskFaultyFlow. */
  faultySteps: number;
}

/** Rain per local day; null when any step of the day is unknown or the day is not fully covered. */
function dailyRain(rain: readonly Series[], calendar: LocalCalendar): Map<number, number | null> {
  const totals = new Map<number, { mm: number; minutes: number; unknown: boolean }>();
  for (const s of rain) {
    const stepMs = s.stepMin * MS_PER_MIN;
    const perSeries = new Map<number, { mm: number; minutes: number; unknown: boolean }>();
    s.values.forEach((v, i) => {
      const day = calendar.dayNumber(s.startUtcMs + i * stepMs);
      const d = perSeries.get(day) ?? { mm: 0, minutes: 0, unknown: false };
      if (v === null || !Number.isFinite(v) || v < 0) d.unknown = true;
      else d.mm += v;
      d.minutes += s.stepMin;
      perSeries.set(day, d);
    });
    for (const [day, d] of perSeries) {
      const prev = totals.get(day);
      if (!prev) totals.set(day, { ...d });
      else {
        // Several rain series (gauges): the wettest decides; unknown anywhere is unknown.
        prev.mm = Math.max(prev.mm, d.mm);
        prev.unknown ||= d.unknown;
        prev.minutes = Math.min(prev.minutes, d.minutes);
      }
    }
  }
  const out = new Map<number, number | null>();
  for (const [day, d] of totals) {
    // A day at a DST change has 23/25 h; 1380 minutes is enough coverage.
    out.set(day, d.unknown || d.minutes < 1380 ? null : d.mm);
  }
  return out;
}

function hourlyByDay(flow: Series, calendar: LocalCalendar, minHourShare: number, dayCalendar: DayCalendar | undefined): DayRecord[] {
  const stepMs = flow.stepMin * MS_PER_MIN;
  if (flow.stepMin > 60 || 60 % flow.stepMin !== 0) throw new RangeError(`learnDwf: flow step must divide 60 min, got ${flow.stepMin}`);
  const perHour = 60 / flow.stepMin;
  const buckets = new Map<number, { sum: number; n: number }>();
  // Local inflow is a difference (inflow less upstream arrivals) and scatters around zero where the station's own
  // catchment is small: single values ≤ 0 are noise to average, not faults. A meter reading zero is caught on the
  // measured inflow (history.ts) and, here, as a flat run.
  const masked = maskFaultyFlow(flow.values, flow.stepMin, { nonPositive: false });
  const faultyByDay = new Map<number, number>();
  masked.values.forEach((v, i) => {
    const t = flow.startUtcMs + i * stepMs;
    if (v === null) {
      const raw = flow.values[i];
      if (raw !== null && raw !== undefined && Number.isFinite(raw)) faultyByDay.set(calendar.dayNumber(t), (faultyByDay.get(calendar.dayNumber(t)) ?? 0) + 1);
      return;
    }
    const key = calendar.dayNumber(t) * 24 + calendar.hour(t);
    const b = buckets.get(key) ?? { sum: 0, n: 0 };
    b.sum += v;
    b.n++;
    buckets.set(key, b);
  });
  const days = new Map<number, DayRecord>();
  const firstDay = calendar.dayNumber(flow.startUtcMs);
  const lastDay = calendar.dayNumber(flow.startUtcMs + Math.max(0, flow.values.length - 1) * stepMs);
  for (let day = firstDay; day <= lastDay; day++) {
    const start = calendar.dayStartUtcMs(day);
    days.set(day, {
      day,
      date: calendar.dateKey(start),
      weekend: usesWeekendProfile(calendar, start, dayCalendar),
      faultySteps: faultyByDay.get(day) ?? 0,
      hourly: Array.from({ length: 24 }, (_, h) => {
        const b = buckets.get(day * 24 + h);
        return b && b.n >= minHourShare * perHour ? b.sum / b.n : null;
      }),
    });
  }
  return [...days.values()];
}

/** Learn the dry-weather profile of one station; see the file header for the method. */
export function learnDwf(input: DwfLearningInput): LearnedDwf {
  const o = { ...DEFAULTS, ...input.options };
  const calendar = createCalendar(input.timeZone);
  const rain = Array.isArray(input.rain) ? (input.rain as readonly Series[]) : [input.rain as Series];
  const rainByDay = dailyRain(rain, calendar);
  const leftOut: { date: string; reason: string }[] = [];
  const warnings: string[] = [];

  const candidates: DayRecord[] = [];
  const records = hourlyByDay(input.flow, calendar, o.minHourShare, input.dayCalendar);
  for (const rec of records) {
    const validHours = rec.hourly.filter((v) => v !== null).length;
    if (validHours < o.minDayHours) {
      const faulty = rec.faultySteps > 0 ? ` (${((rec.faultySteps * input.flow.stepMin) / 60).toFixed(0)} h of flat-lined flow (stuck, or reading 0) taken as missing)` : '';
      leftOut.push({ date: rec.date, reason: `only ${validHours} of 24 hours with flow data${faulty}` });
      continue;
    }
    let dry = true;
    let reason = '';
    for (let back = 0; back <= o.antecedentDryDays && dry; back++) {
      const mm = rainByDay.get(rec.day - back);
      if (mm === undefined || mm === null) {
        dry = false;
        reason = back === 0 ? 'rain unknown that day' : `rain unknown ${back} day(s) before`;
      } else if (mm > o.dryDayMaxRainMm) {
        dry = false;
        reason = back === 0 ? `wet (${mm.toFixed(1)} mm)` : `wet ${back} day(s) before (${mm.toFixed(1)} mm)`;
      }
    }
    if (!dry) {
      leftOut.push({ date: rec.date, reason });
      continue;
    }
    candidates.push(rec);
  }
  const faultySteps = records.reduce((a, r) => a + r.faultySteps, 0);
  if (faultySteps > 0) warnings.push(`${((faultySteps * input.flow.stepMin) / 60).toFixed(0)} h of flat-lined flow (stuck, or reading 0) taken as missing`);
  if (input.dayCalendar && records.length > 0) {
    const uncovered = [...new Set(records.filter((r) => !dayCalendarCovers(calendar, calendar.dayStartUtcMs(r.day), input.dayCalendar)).map((r) => r.date.slice(0, 4)))];
    if (uncovered.length > 0) warnings.push(`day calendar does not cover ${uncovered.join(', ')}: holidays there learned as ordinary days`);
  }

  // Day-level outliers per day type.
  const kept: DayRecord[] = [];
  for (const weekend of [false, true]) {
    const group = candidates.filter((d) => d.weekend === weekend);
    const dayMean = (d: DayRecord) => {
      const v = d.hourly.filter((x): x is number => x !== null);
      return v.reduce((a, b) => a + b, 0) / v.length;
    };
    const means = group.map(dayMean);
    const centre = median(means);
    const sd = Math.max(robustSd(means, centre), 0.01 * Math.abs(centre));
    group.forEach((d, i) => {
      if (group.length >= 3 && Math.abs(means[i]! - centre) > o.outlierK * sd) {
        leftOut.push({ date: d.date, reason: `outlier: day mean ${means[i]!.toFixed(1)} m³/h vs median ${centre.toFixed(1)}` });
      } else kept.push(d);
    });
  }

  const profileOf = (weekend: boolean): (number | null)[] => {
    const group = kept.filter((d) => d.weekend === weekend);
    if (group.length < o.minDryDaysPerType) return new Array<number | null>(24).fill(null);
    return Array.from({ length: 24 }, (_, h) => {
      const values = group.map((d) => d.hourly[h]).filter((v): v is number => v !== null && v !== undefined);
      return values.length > 0 ? robustMean(values, o.outlierK).mean : null;
    });
  };
  let weekday = fillHours(profileOf(false));
  let weekend = fillHours(profileOf(true));
  const weekdayDays = kept.filter((d) => !d.weekend).map((d) => d.date);
  const weekendDays = kept.filter((d) => d.weekend).map((d) => d.date);
  if (!weekday && !weekend) {
    throw new RangeError(
      `learnDwf ${input.stationId}: no dry days with enough data (need ${o.minDryDaysPerType} of a day type; ${candidates.length} dry candidate day(s), ${leftOut.length} left out)`,
    );
  }
  if (!weekday) {
    warnings.push(`only ${weekdayDays.length} dry weekday(s): weekday profile copied from weekends`);
    weekday = [...weekend!];
  }
  if (!weekend) {
    warnings.push(`only ${weekendDays.length} dry weekend day(s): weekend profile copied from weekdays`);
    weekend = [...weekday];
  }

  const weekdayMean = mean(weekday);
  const weekendMean = mean(weekend);
  const meanM3h = (5 * weekdayMean + 2 * weekendMean) / 7;

  // Seasonal level: each kept day's mean against its day type's profile mean, averaged per month.
  const monthlyFactors = new Array<number>(12).fill(1);
  const ratioByMonth = new Map<number, number[]>();
  for (const d of kept) {
    const values = d.hourly.filter((v): v is number => v !== null);
    const typeMean = d.weekend ? weekendMean : weekdayMean;
    if (values.length === 0 || !(typeMean > 0)) continue;
    const month = Number(d.date.slice(5, 7)) - 1;
    const list = ratioByMonth.get(month) ?? [];
    list.push(mean(values) / typeMean);
    ratioByMonth.set(month, list);
  }
  const learnedMonths = [...ratioByMonth].filter(([, ratios]) => ratios.length >= o.minDryDaysPerMonth);
  if (learnedMonths.length >= o.minMonths) {
    let days = 0;
    let weighted = 0;
    for (const [month, ratios] of learnedMonths) {
      monthlyFactors[month] = mean(ratios);
      days += ratios.length;
      weighted += mean(ratios) * ratios.length;
    }
    // The profile is the average over the kept days: factors average 1 over those days.
    const scale = weighted / days;
    for (const [month] of learnedMonths) monthlyFactors[month] = monthlyFactors[month]! / scale;
  } else if (ratioByMonth.size > 1) {
    warnings.push(`monthly factors not learned: ${learnedMonths.length} month(s) with ≥ ${o.minDryDaysPerMonth} dry days (need ${o.minMonths}); 1 for every month`);
  }

  // Spread of kept days around the profile.
  const residuals: number[] = [];
  const lagPairs: [number, number][] = [];
  for (const d of kept) {
    const profile = d.weekend ? weekend : weekday;
    const factor = monthlyFactors[Number(d.date.slice(5, 7)) - 1] ?? 1;
    let prev: number | null = null;
    d.hourly.forEach((v, h) => {
      const p = profile[h]! * factor;
      if (v === null || !(p > 0)) {
        prev = null;
        return;
      }
      const r = v / p - 1;
      residuals.push(r);
      if (prev !== null) lagPairs.push([prev, r]);
      prev = r;
    });
  }
  const residualSdFraction = residuals.length >= 24 ? robustSd(residuals, 0) : 0.05;
  const residualLag1 = lag1(lagPairs, residualSdFraction);
  if (residuals.length < 24) warnings.push('too few dry hours to estimate the spread; using 5 %');

  return {
    stationId: input.stationId,
    timeZone: input.timeZone,
    ...(input.dayCalendar ? { dayCalendar: input.dayCalendar } : {}),
    weekdayM3h: weekday,
    weekendM3h: weekend,
    meanM3h,
    weekdayPattern: weekday.map((v) => (weekdayMean > 0 ? v / weekdayMean : 1)),
    weekendPattern: weekend.map((v) => (weekendMean > 0 ? v / weekendMean : 1)),
    weekdayFactor: meanM3h > 0 ? weekdayMean / meanM3h : 1,
    weekendFactor: meanM3h > 0 ? weekendMean / meanM3h : 1,
    monthlyFactors,
    residualSdFraction,
    residualLag1,
    dryDays: { weekday: weekdayDays, weekend: weekendDays },
    leftOut,
    warnings,
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** Fill missing hours from their circular neighbours; null when nothing is known. */
function fillHours(hours: (number | null)[]): number[] | null {
  const known = hours.map((v, h) => (v === null ? -1 : h)).filter((h) => h >= 0);
  if (known.length === 0) return null;
  return hours.map((v, h) => {
    if (v !== null) return v;
    let before = h;
    let after = h;
    for (let i = 1; i < 24; i++) {
      if (hours[(h - i + 24) % 24] !== null) {
        before = (h - i + 24) % 24;
        break;
      }
    }
    for (let i = 1; i < 24; i++) {
      if (hours[(h + i) % 24] !== null) {
        after = (h + i) % 24;
        break;
      }
    }
    const db = (h - before + 24) % 24 || 24;
    const da = (after - h + 24) % 24 || 24;
    return (hours[before]! * da + hours[after]! * db) / (da + db);
  });
}

function lag1(pairs: readonly [number, number][], sd: number): number {
  if (pairs.length < 12 || !(sd > 0)) return 0;
  let num = 0;
  let den = 0;
  for (const [a, b] of pairs) {
    // Winsorise so one spike does not decide the correlation.
    const ca = Math.max(-4 * sd, Math.min(4 * sd, a));
    const cb = Math.max(-4 * sd, Math.min(4 * sd, b));
    num += ca * cb;
    den += 0.5 * (ca * ca + cb * cb);
  }
  return den > 0 ? Math.max(0, Math.min(0.99, num / den)) : 0;
}

/**
 * Dry-weather flow (m³/h) at an instant: the profile value of the local hour and day type (holidays take the
 * weekend profile, make-up working days the weekday one: the profile's dayCalendar), × the month's factor.
 */
export function dwfAt(profile: DwfProfile, calendar: LocalCalendar, utcMs: number): number {
  const h = calendar.hour(utcMs);
  const value = (usesWeekendProfile(calendar, utcMs, profile.dayCalendar) ? profile.weekendM3h[h] : profile.weekdayM3h[h]) ?? 0;
  if (!profile.monthlyFactors) return value;
  const month = Number(calendar.dateKey(utcMs).slice(5, 7)) - 1;
  return value * (profile.monthlyFactors[month] ?? 1);
}

/** A reason in both languages, Chinese first (dispatchers read Chinese first). */
export interface Bilingual {
  zh: string;
  en: string;
}

/** "zh / en": how a bilingual reason goes into the forecast's text flags and reports. */
export const bilingualText = (r: Bilingual): string => `${r.zh} / ${r.en}`;

export type DwfVerdict = { accepted: true; reason: null } | { accepted: false; reason: Bilingual };

const weeklyMean = (p: DwfProfile) => (5 * mean(p.weekdayM3h) + 2 * mean(p.weekendM3h)) / 7;

/**
 * Whether a learned profile may replace the configured one (pure): each day type needs at least
 * `minAcceptedDryDaysPerType` kept dry days (MIN_ACCEPTED_DRY_DAYS_PER_TYPE), and its weekly mean must lie
 * within ±`maxLevelDeviationFraction` (MAX_LEVEL_DEVIATION_FRACTION) of the configured pattern's. Refused:
 * the reason, zh and en, for the forecast's station flags.
 */
export function judgeLearnedDwf(learned: LearnedDwf, configured: DwfProfile, options: DwfLearningOptions = {}): DwfVerdict {
  const minDays = options.minAcceptedDryDaysPerType ?? MIN_ACCEPTED_DRY_DAYS_PER_TYPE;
  const maxDev = options.maxLevelDeviationFraction ?? MAX_LEVEL_DEVIATION_FRACTION;
  const refuse = (zh: string, en: string): DwfVerdict => ({
    accepted: false,
    reason: { zh: `${learned.stationId}学习的旱季流量不采用：${zh}，沿用管网文件中的旱季模式`, en: `learned dry-weather flow at ${learned.stationId} not used: ${en}; the network file's pattern is used` },
  });
  const weekdays = learned.dryDays.weekday.length;
  const weekends = learned.dryDays.weekend.length;
  if (weekdays < minDays || weekends < minDays) {
    const parts = [
      ...(weekdays < minDays ? [{ zh: `晴天工作日仅${weekdays}天`, en: `only ${weekdays} dry weekday(s)` }] : []),
      ...(weekends < minDays ? [{ zh: `晴天周末及节假日仅${weekends}天`, en: `only ${weekends} dry weekend/holiday day(s)` }] : []),
    ];
    return refuse(`${parts.map((p) => p.zh).join('，')}（每类至少需${minDays}天）`, `${parts.map((p) => p.en).join(', ')} kept (need ${minDays} of each)`);
  }
  const configuredM3h = weeklyMean(configured);
  const learnedM3h = weeklyMean(learned);
  if (configuredM3h > 0 && Math.abs(learnedM3h / configuredM3h - 1) > maxDev) {
    const pct = ((100 * learnedM3h) / configuredM3h).toFixed(0);
    const lo = (100 * (1 - maxDev)).toFixed(0);
    const hi = (100 * (1 + maxDev)).toFixed(0);
    return refuse(
      `周均${learnedM3h.toFixed(1)} m³/h，为管网文件模式${configuredM3h.toFixed(1)} m³/h的${pct}%（允许${lo}%–${hi}%），更可能是流量计故障或上游流量未扣除；请检查遥测，或修正管网文件`,
      `its weekly mean ${learnedM3h.toFixed(1)} m³/h is ${pct} % of the network file's ${configuredM3h.toFixed(1)} m³/h (accepted ${lo}–${hi} %), more likely a meter fault or upstream flow counted as local than a pattern that far off; check the telemetry, or correct the network file`,
    );
  }
  return { accepted: true, reason: null };
}

/** Models whose dry-weather profiles follow the network's day calendar (the configured ones, from modelsFromNetwork). */
export function withDayCalendar<M extends { dwf: DwfProfile }>(models: readonly M[], dayCalendar: DayCalendar | undefined): M[] {
  return models.map((m) => (dayCalendar ? { ...m, dwf: { ...m.dwf, dayCalendar } } : m));
}

/** Mean dry-weather flow over each step of a grid (sampled every ≤ 5 min within the step). */
export function dwfSeries(profile: DwfProfile, calendar: LocalCalendar, grid: Grid): number[] {
  const stepMs = grid.stepMin * MS_PER_MIN;
  const samples = Math.max(1, Math.ceil(grid.stepMin / 5));
  const dt = stepMs / samples;
  return Array.from({ length: grid.steps }, (_, i) => {
    const from = grid.startUtcMs + i * stepMs;
    let sum = 0;
    for (let j = 0; j < samples; j++) sum += dwfAt(profile, calendar, from + j * dt);
    return sum / samples;
  });
}

/**
 * The learned profile in the network file's terms: catchment dwf.meanM3d (groundwater taken out) and a
 * DwfPattern, so a utility can write learned values back into its network description.
 */
export function toNetworkDwf(learned: LearnedDwf, patternId: string, groundwaterM3h: number) {
  const dwfMeanM3h = Math.max(0, learned.meanM3h - groundwaterM3h);
  const hourly = (profile: readonly number[], dayMean: number) => profile.map((v) => (dayMean - groundwaterM3h > 0 ? Math.max(0, (v - groundwaterM3h) / (dayMean - groundwaterM3h)) : 1));
  const wdMean = mean(learned.weekdayM3h);
  const weMean = mean(learned.weekendM3h);
  return {
    meanM3d: dwfMeanM3h * 24,
    pattern: {
      id: patternId,
      weekdayHourly: hourly(learned.weekdayM3h, wdMean),
      weekendHourly: hourly(learned.weekendM3h, weMean),
      weekdayFactor: dwfMeanM3h > 0 ? (wdMean - groundwaterM3h) / dwfMeanM3h : 1,
      weekendFactor: dwfMeanM3h > 0 ? (weMean - groundwaterM3h) / dwfMeanM3h : 1,
      // Learned on the whole dry-weather flow; the file applies them to the DWF part (groundwater apart).
      ...(learned.monthlyFactors.some((f) => f !== 1) ? { monthly: learned.monthlyFactors } : {}),
    },
  };
}
