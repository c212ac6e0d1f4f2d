// What the dashboards take from the network file: ids, names, configured levels and capacities, and the
// local-time arithmetic behind tariff periods and daily buckets.
import type { NetworkConfig, PumpStation, QualityParameter, TreatmentPlant } from '../../network/schema.js';

/** "W1 新埭一号泵站" — id first so it stays recognisable in narrow dropdowns. */
export const stationLabel = (s: PumpStation) => `${s.id} ${s.name.zh}`;

export interface IdGroup<T> {
  /** The shared value, as a JSON key. */
  key: string;
  /** Objects in network order. */
  members: T[];
}

/**
 * Objects grouped by a value they share (e.g. the high-alarm level), in order of first appearance. Per-object
 * constants enter InfluxQL as one subquery per group, so a network where all stations share their levels
 * needs one subquery and a network with individual levels still gets exact ones.
 */
export function groupBy<T>(objects: readonly T[], keyOf: (o: T) => unknown): IdGroup<T>[] {
  const groups = new Map<string, IdGroup<T>>();
  for (const o of objects) {
    const key = JSON.stringify(keyOf(o));
    let g = groups.get(key);
    if (!g) {
      g = { key, members: [] };
      groups.set(key, g);
    }
    g.members.push(o);
  }
  return [...groups.values()];
}

/** The single value every object shares, or undefined when they differ (then no common threshold line is drawn). */
export function commonValue<T>(objects: readonly T[], valueOf: (o: T) => number | undefined): number | undefined {
  const values = new Set(objects.map(valueOf));
  if (values.size !== 1) return undefined;
  return [...values][0];
}

/** Quality analysers at a plant's inlet (analysers whose node is the plant), with the parameters they measure. */
export function plantAnalysers(network: NetworkConfig, plant: TreatmentPlant): { id: string; parameters: QualityParameter[] }[] {
  return network.analysers.filter((a) => a.node === plant.id).map((a) => ({ id: a.id, parameters: [...a.parameters] }));
}

// --- Local time -----------------------------------------------------------------------------------

const MIN_PER_DAY = 1440;

/** UTC offset of a time zone at an instant, in minutes (east positive). */
export function utcOffsetMin(timeZone: string, atUtcMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(atUtcMs));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value);
  const wallAsUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return Math.round((wallAsUtc - atUtcMs) / 60_000);
}

export interface ZoneOffsets {
  /** Standard-time offset (the smaller of January's and July's), used for all local-time buckets. */
  standardMin: number;
  /** True when the zone observes daylight saving: buckets then lag one hour during summer time. */
  daylightSaving: boolean;
}

/** Offsets of the network's time zone. InfluxQL buckets have fixed offsets, so one offset is chosen. */
export function zoneOffsets(network: NetworkConfig): ZoneOffsets {
  const january = utcOffsetMin(network.timezone, Date.UTC(2025, 0, 15));
  const july = utcOffsetMin(network.timezone, Date.UTC(2025, 6, 15));
  return { standardMin: Math.min(january, july), daylightSaving: january !== july };
}

/** Local wall-clock minutes → UTC minutes of day (the offset of a daily bucket), in [0, 1440). */
export function localToUtcMinuteOfDay(localMin: number, offsetMin: number): number {
  return (((localMin - offsetMin) % MIN_PER_DAY) + MIN_PER_DAY) % MIN_PER_DAY;
}

/** Offset (minutes after 00:00 UTC) of daily buckets that start at local midnight. */
export function localMidnightUtcMin(network: NetworkConfig): number {
  return localToUtcMinuteOfDay(0, zoneOffsets(network).standardMin);
}

/** "HH:MM" → minutes after local midnight (24:00 → 1440). */
export function clockMinutes(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new Error(`not a clock time HH:MM: "${hhmm}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

export interface TariffRange {
  /** Local wall-clock start and end as written in the network file. */
  from: string;
  to: string;
  /** Length in minutes, in (0, 1440]; a range whose end is not after its start wraps over midnight. */
  lengthMin: number;
  /** Offsets of daily buckets starting at the range's start and end (minutes after 00:00 UTC). */
  startUtcMin: number;
  endUtcMin: number;
}

export interface TariffPeriodRanges {
  name: 'valley' | 'flat' | 'peak';
  priceCnyPerKwh: number;
  ranges: TariffRange[];
}

export const tariffNames = {
  valley: { zh: '谷', en: 'valley' },
  flat: { zh: '平', en: 'flat' },
  peak: { zh: '峰', en: 'peak' },
} as const;

/** Tariff periods of the network with their ranges resolved to UTC bucket offsets. */
export function tariffPeriods(network: NetworkConfig): TariffPeriodRanges[] {
  const { standardMin } = zoneOffsets(network);
  return network.tariff.periods.map((p) => ({
    name: p.name,
    priceCnyPerKwh: p.priceCnyPerKwh,
    ranges: p.ranges.map((r) => {
      const fromMin = clockMinutes(r.from);
      const toMin = clockMinutes(r.to);
      const lengthMin = toMin > fromMin ? toMin - fromMin : toMin + MIN_PER_DAY - fromMin;
      return {
        from: r.from,
        to: r.to,
        lengthMin,
        startUtcMin: localToUtcMinuteOfDay(fromMin, standardMin),
        endUtcMin: localToUtcMinuteOfDay(toMin, standardMin),
      };
    }),
  }));
}

/** "UTC+8", "UTC+5:30" */
export function offsetLabel(offsetMin: number): string {
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `UTC${sign}${Math.floor(abs / 60)}${abs % 60 === 0 ? '' : `:${String(abs % 60).padStart(2, '0')}`}`;
}
