// Local wall-clock time and the time-of-use tariff. Everything inside the planner is UTC ms; the local
// clock of the network's time zone is only used to look up tariff periods and dry-weather patterns (whose
// day type follows the network file's dayCalendar: holidays weekend, make-up working days weekday).
import { createCalendar, usesWeekendProfile, type LocalCalendar } from '../forecasting/calendar.js';
import type { NetworkConfig } from '../network/schema.js';

export type TariffPeriodName = 'valley' | 'flat' | 'peak';

export interface LocalTime {
  year: number;
  /** 0..11 */
  monthIndex: number;
  day: number;
  hour: number;
  minute: number;
  /** 0 Sunday .. 6 Saturday */
  weekday: number;
  /** Local minus UTC, in minutes. */
  offsetMin: number;
}

const calendars = new Map<string, LocalCalendar>();

/** One calendar per zone: its offset is looked up with Intl once per UTC hour and cached (forecasting/calendar.ts). */
function calendarFor(timeZone: string): LocalCalendar {
  let calendar = calendars.get(timeZone);
  if (!calendar) {
    calendar = createCalendar(timeZone);
    calendars.set(timeZone, calendar);
  }
  return calendar;
}

export function localTime(utcMs: number, timeZone: string): LocalTime {
  const offsetMs = calendarFor(timeZone).offsetMs(utcMs);
  const wall = new Date(utcMs + offsetMs);
  return {
    year: wall.getUTCFullYear(),
    monthIndex: wall.getUTCMonth(),
    day: wall.getUTCDate(),
    hour: wall.getUTCHours(),
    minute: wall.getUTCMinutes(),
    weekday: wall.getUTCDay(),
    offsetMin: offsetMs / 60_000,
  };
}

/**
 * Whether the local day at `utcMs` takes the weekend dry-weather pattern: Saturday or Sunday unless the
 * network's dayCalendar lists it as a make-up working day (调休上班), or a statutory holiday it lists.
 */
export function usesWeekendPattern(network: NetworkConfig, utcMs: number): boolean {
  return usesWeekendProfile(calendarFor(network.timezone), utcMs, network.dayCalendar);
}

/** "HH:MM" in the network's local time, for reasons a dispatcher reads. */
export function localClock(utcMs: number, timeZone: string): string {
  const t = localTime(utcMs, timeZone);
  return `${String(t.hour).padStart(2, '0')}:${String(t.minute).padStart(2, '0')}`;
}

interface TariffTable {
  priceByMinute: Float64Array;
  periodByMinute: TariffPeriodName[];
}

const tariffTables = new WeakMap<NetworkConfig['tariff'], TariffTable>();

function minutesOf(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function tariffTable(network: NetworkConfig): TariffTable {
  let table = tariffTables.get(network.tariff);
  if (!table) {
    const priceByMinute = new Float64Array(1440);
    const periodByMinute = new Array<TariffPeriodName>(1440).fill('flat');
    for (const period of network.tariff.periods) {
      for (const range of period.ranges) {
        for (let m = minutesOf(range.from); m < Math.min(1440, minutesOf(range.to)); m++) {
          priceByMinute[m] = period.priceCnyPerKwh;
          periodByMinute[m] = period.name;
        }
      }
    }
    table = { priceByMinute, periodByMinute };
    tariffTables.set(network.tariff, table);
  }
  return table;
}

function localMinuteOfDay(utcMs: number, offsetMin: number): number {
  const m = Math.floor((utcMs + offsetMin * 60_000) / 60_000) % 1440;
  return m < 0 ? m + 1440 : m;
}

/** Time-weighted mean price over [fromUtcMs, toUtcMs), minute resolution. */
export function meanTariffPrice(network: NetworkConfig, fromUtcMs: number, toUtcMs: number): number {
  const { priceByMinute } = tariffTable(network);
  const minutes = Math.max(1, Math.round((toUtcMs - fromUtcMs) / 60_000));
  // The offset is read once per interval: intervals are at most a few hours, and DST moves tariff hours anyway.
  const { offsetMin } = localTime(fromUtcMs, network.timezone);
  const first = localMinuteOfDay(fromUtcMs, offsetMin);
  let sum = 0;
  for (let i = 0; i < minutes; i++) sum += priceByMinute[(first + i) % 1440]!;
  return sum / minutes;
}

export function tariffPeriodAt(network: NetworkConfig, utcMs: number): TariffPeriodName {
  const { offsetMin } = localTime(utcMs, network.timezone);
  return tariffTable(network).periodByMinute[localMinuteOfDay(utcMs, offsetMin)]!;
}

/** Mean price over the whole day: the value of water left in storage at the end of the horizon. */
export function dailyMeanTariffPrice(network: NetworkConfig): number {
  const { priceByMinute } = tariffTable(network);
  return priceByMinute.reduce((a, b) => a + b, 0) / 1440;
}

/** The cheapest period's local ranges, e.g. "22:00–08:00", for explanations. */
export function cheapestPeriod(network: NetworkConfig): { name: TariffPeriodName; priceCnyPerKwh: number; ranges: string } {
  const cheapest = [...network.tariff.periods].sort((a, b) => a.priceCnyPerKwh - b.priceCnyPerKwh)[0]!;
  // Join ranges that meet at midnight so 22:00–24:00 and 00:00–08:00 read as 22:00–08:00.
  const ranges = [...cheapest.ranges].sort((a, b) => minutesOf(a.from) - minutesOf(b.from));
  const first = ranges[0];
  const last = ranges[ranges.length - 1];
  if (ranges.length >= 2 && first && last && first.from === '00:00' && last.to === '24:00') {
    const middle = ranges.slice(1, -1).map((r) => `${r.from}–${r.to}`);
    return { name: cheapest.name, priceCnyPerKwh: cheapest.priceCnyPerKwh, ranges: [...middle, `${last.from}–${first.to}`].join(', ') };
  }
  return { name: cheapest.name, priceCnyPerKwh: cheapest.priceCnyPerKwh, ranges: ranges.map((r) => `${r.from}–${r.to}`).join(', ') };
}
