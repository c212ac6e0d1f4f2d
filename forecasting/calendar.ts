// Local wall-clock time of the utility (Asia/Shanghai for the reference network) for dry-weather
// patterns: times are UTC inside; the local hour, day and day type are derived here and only here.
// Day type: a statutory holiday (春节, 国庆, …) takes the weekend profile and a make-up working day (调休上班,
// a Saturday or Sunday worked) the weekday profile, from the network file's `dayCalendar`
// (network/day-calendar.ts); without one, or in a year it does not cover, Saturday and Sunday are the weekend.
import { dayNumberOfDate, type DayCalendar } from '../network/day-calendar.js';

export const MS_PER_MIN = 60_000;
export const MS_PER_H = 3_600_000;
export const MS_PER_DAY = 86_400_000;

export interface LocalCalendar {
  readonly timeZone: string;
  /** UTC offset at an instant, ms (Asia/Shanghai: +8 h). */
  offsetMs(utcMs: number): number;
  /** Local hour of day 0..23. */
  hour(utcMs: number): number;
  /** Local day number (days since 1970-01-01 local); equal for instants on the same local date. */
  dayNumber(utcMs: number): number;
  /** Local date "YYYY-MM-DD". */
  dateKey(utcMs: number): string;
  /** Local weekday, 0 = Sunday. */
  weekday(utcMs: number): number;
  isWeekend(utcMs: number): boolean;
  /** UTC instant of local midnight starting the local day `dayNumber`. */
  dayStartUtcMs(dayNumber: number): number;
}

/** A calendar for an IANA time zone; offsets are looked up with Intl once per UTC hour and cached. */
export function createCalendar(timeZone: string): LocalCalendar {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
  } catch (error) {
    throw new RangeError(`unknown time zone "${timeZone}": ${(error as Error).message}`);
  }
  const cache = new Map<number, number>();
  const offsetMs = (utcMs: number): number => {
    const hourKey = Math.floor(utcMs / MS_PER_H);
    const cached = cache.get(hourKey);
    if (cached !== undefined) return cached;
    const fields: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(hourKey * MS_PER_H))) fields[part.type] = Number(part.value);
    const asUtc = Date.UTC(fields['year'] ?? 1970, (fields['month'] ?? 1) - 1, fields['day'] ?? 1, fields['hour'] ?? 0, fields['minute'] ?? 0);
    const offset = Math.round((asUtc - hourKey * MS_PER_H) / MS_PER_MIN) * MS_PER_MIN;
    if (cache.size > 100_000) cache.clear();
    cache.set(hourKey, offset);
    return offset;
  };
  const local = (utcMs: number) => utcMs + offsetMs(utcMs);
  const dayNumber = (utcMs: number) => Math.floor(local(utcMs) / MS_PER_DAY);
  const weekday = (utcMs: number) => (((dayNumber(utcMs) + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
  return {
    timeZone,
    offsetMs,
    hour: (utcMs) => Math.floor((((local(utcMs) % MS_PER_DAY) + MS_PER_DAY) % MS_PER_DAY) / MS_PER_H),
    dayNumber,
    dateKey: (utcMs) => new Date(dayNumber(utcMs) * MS_PER_DAY).toISOString().slice(0, 10),
    weekday,
    isWeekend: (utcMs) => {
      const d = weekday(utcMs);
      return d === 0 || d === 6;
    },
    dayStartUtcMs(day) {
      // The offset at local midnight; evaluate twice to settle across a DST change.
      let guess = day * MS_PER_DAY - offsetMs(day * MS_PER_DAY);
      guess = day * MS_PER_DAY - offsetMs(guess);
      return guess;
    },
  };
}

export type DayKind = 'weekday' | 'weekend' | 'holiday' | 'makeUpWorkday';

interface CompiledDays {
  years: ReadonlySet<number>;
  holidays: ReadonlySet<number>;
  workdays: ReadonlySet<number>;
}

const compiled = new WeakMap<DayCalendar, CompiledDays>();

/** The calendar's dates as local day numbers (as LocalCalendar.dayNumber counts), compiled once per object. */
function compile(days: DayCalendar): CompiledDays {
  let c = compiled.get(days);
  if (!c) {
    const holidays = new Set<number>();
    for (const h of days.holidays) {
      const from = dayNumberOfDate(h.from);
      const to = dayNumberOfDate(h.to);
      if (from === null || to === null) throw new RangeError(`day calendar: holiday ${h.name.en} ${h.from}..${h.to} is not a pair of real dates`);
      for (let d = from; d <= to; d++) holidays.add(d);
    }
    const workdays = new Set<number>();
    for (const w of days.makeUpWorkdays) {
      const d = dayNumberOfDate(w.date);
      if (d === null) throw new RangeError(`day calendar: make-up working day ${w.date} is not a real date`);
      workdays.add(d);
    }
    c = { years: new Set(days.coversYears), holidays, workdays };
    compiled.set(days, c);
  }
  return c;
}

/** The kind of the local day at `utcMs`: a listed holiday or make-up working day, else by the day of the week. */
export function dayKind(calendar: LocalCalendar, utcMs: number, days?: DayCalendar): DayKind {
  const plain = calendar.isWeekend(utcMs) ? 'weekend' : 'weekday';
  if (!days) return plain;
  const c = compile(days);
  const day = calendar.dayNumber(utcMs);
  if (c.holidays.has(day)) return 'holiday';
  if (c.workdays.has(day)) return 'makeUpWorkday';
  return plain;
}

/** Whether the local day at `utcMs` takes the weekend dry-weather profile (a weekend not worked, or a holiday). */
export function usesWeekendProfile(calendar: LocalCalendar, utcMs: number, days?: DayCalendar): boolean {
  const kind = dayKind(calendar, utcMs, days);
  return kind === 'weekend' || kind === 'holiday';
}

/** Whether the calendar lists the holidays of the local year of `utcMs` (false without a calendar). */
export function dayCalendarCovers(calendar: LocalCalendar, utcMs: number, days?: DayCalendar): boolean {
  return days !== undefined && compile(days).years.has(Number(calendar.dateKey(utcMs).slice(0, 4)));
}

/**
 * Parse a timestamp that must say which zone it is in ("…Z" or "…+08:00"). A bare local time is the
 * classic UTC-vs-UTC+8 mistake, so it is rejected with a message saying so instead of guessed.
 */
export function parseZonedTimestamp(text: string, what = 'timestamp'): number {
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  if (!zoned.test(text)) {
    const bare = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text);
    throw new RangeError(
      bare
        ? `${what} "${text}" has no time zone: say "Z" for UTC or "+08:00" for China Standard Time (a bare local time read as UTC is 8 h off)`
        : `${what} "${text}" is not an ISO 8601 timestamp with a zone (e.g. 2026-07-01T08:00:00+08:00)`,
    );
  }
  const utcMs = Date.parse(text);
  if (!Number.isFinite(utcMs)) throw new RangeError(`${what} "${text}" is not a valid date`);
  return utcMs;
}
