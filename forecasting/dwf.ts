// Dry-weather flow learned from telemetry: base flow and hourly weekday/weekend profiles per station,
// from the station's local inflow (its own catchment: inflow minus what arrives from upstream, see
// routing.ts) on dry days chosen from the rain history. Pure functions.
//
// Method.
//   1. Local hours: samples are bucketed by (local date, local hour); an hour needs at least
//      `minHourShare` of its samples, a day at least `minDayHours` valid hours.
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
import { createCalendar, MS_PER_MIN, type LocalCalendar } from './calendar.js';
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
}

export interface DwfLearningInput {
  stationId: string;
  /** Local inflow of the station's catchment(s), m³/h per step; null = no data. */
  flow: Series;
  /** Rain over the catchment (mm per step, any step); null = unknown. Several series: the wettest counts. */
  rain: Series | readonly Series[];
  timeZone: string;
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

const DEFAULTS: Required<DwfLearningOptions> = {
  antecedentDryDays: 2,
  dryDayMaxRainMm: 0.2,
  minHourShare: 0.5,
  minDayHours: 20,
  outlierK: 3.5,
  minDryDaysPerType: 2,
  minMonths: 3,
  minDryDaysPerMonth: 4,
};

interface DayRecord {
  day: number;
  /** "YYYY-MM-DD", local. */
  date: string;
  weekend: boolean;
  hourly: (number | null)[];
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

function hourlyByDay(flow: Series, calendar: LocalCalendar, minHourShare: number): DayRecord[] {
  const stepMs = flow.stepMin * MS_PER_MIN;
  if (flow.stepMin > 60 || 60 % flow.stepMin !== 0) throw new RangeError(`learnDwf: flow step must divide 60 min, got ${flow.stepMin}`);
  const perHour = 60 / flow.stepMin;
  const buckets = new Map<number, { sum: number; n: number }>();
  flow.values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) return;
    const t = flow.startUtcMs + i * stepMs;
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
      weekend: calendar.isWeekend(start),
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
  for (const rec of hourlyByDay(input.flow, calendar, o.minHourShare)) {
    const validHours = rec.hourly.filter((v) => v !== null).length;
    if (validHours < o.minDayHours) {
      leftOut.push({ date: rec.date, reason: `only ${validHours} of 24 hours with flow data` });
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

/** Dry-weather flow (m³/h) at an instant: the profile value of the local hour and day type, × the month's factor. */
export function dwfAt(profile: DwfProfile, calendar: LocalCalendar, utcMs: number): number {
  const h = calendar.hour(utcMs);
  const value = (calendar.isWeekend(utcMs) ? profile.weekendM3h[h] : profile.weekdayM3h[h]) ?? 0;
  if (!profile.monthlyFactors) return value;
  const month = Number(calendar.dateKey(utcMs).slice(5, 7)) - 1;
  return value * (profile.monthlyFactors[month] ?? 1);
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
