// The day-type calendar of a network file (`dayCalendar`): statutory holidays (法定节假日: 春节, 国庆, …), which
// take the weekend dry-weather profile, and make-up working days (调休上班日, a Saturday or Sunday worked in
// exchange), which take the weekday profile. China publishes the dates yearly (State Council notice, usually in
// November for the next year), so they are data, listed per year with the years they cover; a date in a year
// not covered falls back to plain Saturday/Sunday weekends.
//
// The schema is part of the network schema (schema.ts); `dayCalendarIssues` holds the checks a schema cannot
// express (real dates, order, overlaps, make-up days on weekends), called from validate.ts's cross-check.
import Type from 'typebox';

const IsoDate = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Local date YYYY-MM-DD' });
const Name = Type.Object({ zh: Type.String({ minLength: 1 }), en: Type.String({ minLength: 1 }) }, { additionalProperties: false });

export const DayCalendar = Type.Object(
  {
    /** Years the lists are complete for: outside them only Saturdays and Sundays are rest days. */
    coversYears: Type.Array(Type.Integer({ minimum: 1970, maximum: 2200 }), { minItems: 1, description: 'Years whose holidays and make-up working days are all listed' }),
    source: Type.Optional(Type.String({ minLength: 1, description: 'Where the dates come from (e.g. the State Council notice)' })),
    holidays: Type.Array(
      Type.Object(
        {
          name: Name,
          from: IsoDate,
          to: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'Last day off, inclusive' }),
        },
        { additionalProperties: false },
      ),
      { description: 'Holiday periods (放假): every day from..to takes the weekend dry-weather profile' },
    ),
    makeUpWorkdays: Type.Array(
      Type.Object({ date: IsoDate, name: Name }, { additionalProperties: false }),
      { description: 'Saturdays or Sundays worked in exchange for a holiday (调休上班): they take the weekday profile' },
    ),
  },
  { additionalProperties: false },
);

export type DayCalendar = Type.Static<typeof DayCalendar>;

/** A holiday period longer than this is almost certainly a typo (the longest statutory break is 9 days). */
export const MAX_HOLIDAY_PERIOD_DAYS = 31;

const MS_PER_DAY = 86_400_000;

/** Day number (days since 1970-01-01) of a "YYYY-MM-DD" date, or null when it is not a real date. */
export function dayNumberOfDate(date: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / MS_PER_DAY;
}

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Checks beyond the schema, as { path, value, reason } under `base` (e.g. "/dayCalendar"). */
export function dayCalendarIssues(calendar: DayCalendar, base: string): { path: string; value: unknown; reason: string }[] {
  const issues: { path: string; value: unknown; reason: string }[] = [];
  const push = (path: string, value: unknown, reason: string) => issues.push({ path: `${base}${path}`, value, reason });
  const years = new Set<number>();
  calendar.coversYears.forEach((y, i) => {
    if (years.has(y)) push(`/coversYears/${i}`, y, 'year listed twice');
    years.add(y);
  });
  const covered = (day: number) => years.has(new Date(day * MS_PER_DAY).getUTCFullYear());
  /** Day number → where it is listed as a holiday. */
  const holidayAt = new Map<number, string>();
  calendar.holidays.forEach((h, i) => {
    const p = `/holidays/${i}`;
    const from = dayNumberOfDate(h.from);
    const to = dayNumberOfDate(h.to);
    if (from === null) push(`${p}/from`, h.from, 'not a real date (YYYY-MM-DD)');
    if (to === null) push(`${p}/to`, h.to, 'not a real date (YYYY-MM-DD)');
    if (from === null || to === null) return;
    if (to < from) {
      push(`${p}/to`, h.to, `ends before it starts (${h.from})`);
      return;
    }
    if (to - from + 1 > MAX_HOLIDAY_PERIOD_DAYS) {
      push(`${p}/to`, h.to, `a ${to - from + 1}-day holiday from ${h.from}: more than ${MAX_HOLIDAY_PERIOD_DAYS} days, probably a typo`);
      return;
    }
    if (!covered(from) || !covered(to)) push(p, `${h.from}..${h.to}`, `year not in coversYears (${calendar.coversYears.join(', ')}): list it there once all its dates are in`);
    for (let d = from; d <= to; d++) {
      const other = holidayAt.get(d);
      if (other) push(p, `${h.from}..${h.to}`, `overlaps ${other} on ${new Date(d * MS_PER_DAY).toISOString().slice(0, 10)}`);
      else holidayAt.set(d, `${base}${p}`);
    }
  });
  const workdays = new Set<number>();
  calendar.makeUpWorkdays.forEach((w, i) => {
    const p = `/makeUpWorkdays/${i}/date`;
    const day = dayNumberOfDate(w.date);
    if (day === null) {
      push(p, w.date, 'not a real date (YYYY-MM-DD)');
      return;
    }
    const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
    if (weekday !== 0 && weekday !== 6) push(p, w.date, `a ${WEEKDAY_NAMES[weekday]} is a working day anyway: a make-up working day (调休上班) is a Saturday or Sunday`);
    if (holidayAt.has(day)) push(p, w.date, `also a holiday (${holidayAt.get(day)})`);
    if (workdays.has(day)) push(p, w.date, 'listed twice');
    if (!covered(day)) push(p, w.date, `year not in coversYears (${calendar.coversYears.join(', ')})`);
    workdays.add(day);
  });
  return issues;
}
