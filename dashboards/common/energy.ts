// Energy per tariff period from cumulative energy counters, in InfluxQL alone.
//
// InfluxQL has no hour-of-day function, but GROUP BY time(1d, <offset>) buckets can start at any minute of the
// day. For one tariff range [a, b) (local wall clock) and the counters C of the stations, per day d:
//
//   x  = first(C) in the daily bucket starting at a        ≈ C at a (first reading at or after a)
//   y1 = first(C) in the daily bucket starting at b        ≈ C at b (first reading at or after b)
//   y2 = last(C)  in the daily bucket starting at a        = the latest reading (while the range is running)
//
//   ended   = Σ y1 − Σ x   (kept only when every station that has x also has y1)
//   running = Σ y2 − Σ x
//   energy  = min(ended, running)   — `ended` once the range is over (y1 ≤ y2), `running` until then
//
// x, y1, y2 are computed per station (GROUP BY "id") and summed per daily bucket, over all stations or per
// station. Readings at the boundaries make consecutive ranges telescope: summed over all periods, the energy
// equals the counter increase over the day, whatever the telemetry interval. Ranges that begin before the
// time range count from its first reading; ranges that begin after its end yield nothing.
//
// Two InfluxDB 1.x/2.x subquery behaviours shape the text (test/integration/dashboards-influx.test.ts runs it):
// a level that aggregates per "id" over a union of subqueries loses that grouping when an outer level does not
// group by "id" too — hence sums instead of per-station minima; and an aggregate over subqueries with a WHERE
// time condition but no GROUP BY time() returns nothing — hence totals without an outer time condition.
import { TIME_FILTER, ident, num, select, timeBucket } from './influxql.js';
import type { TariffPeriodRanges, TariffRange } from './network.js';

const DAY = '1d';
const MIN_PER_DAY = 1440;

export interface CounterSource {
  /** Measurement holding the counter, per object tag `id`: `station` (telemetry) or `baseline`. */
  measurement: string;
  /** Cumulative energy counter field. */
  field: string;
  /** Extra WHERE conditions (e.g. one station). */
  where?: readonly string[];
}

/** Energy (field "e", kWh) per day for one tariff range, summed over stations or per station, timestamped at the range's daily start. */
export function rangeEnergyQuery(source: CounterSource, range: TariffRange, byId = false): string {
  const where = [...(source.where ?? []), TIME_FILTER];
  const f = ident(source.field);
  const m = { measurement: source.measurement };
  const perId = byId ? ['"id"'] : [];
  const startBucket = timeBucket(DAY, range.startUtcMin);
  const x = select({ select: [`first(${f}) AS "x"`], from: m, where, groupBy: [startBucket, '"id"'] });
  const latest = select({ select: [`last(${f}) AS "y"`], from: m, where, groupBy: [startBucket, '"id"'] });
  const running = select({ select: ['sum("y") - sum("x") AS "s"'], from: { subqueries: [x, latest] }, where: [TIME_FILTER], groupBy: [startBucket, ...perId] });
  const candidates = [running];
  // A range covering the whole day ends where the next day's starts: its latest reading is its end reading.
  if (range.lengthMin < MIN_PER_DAY) {
    const end = select({ select: [`first(${f}) AS "y"`], from: m, where, groupBy: [timeBucket(DAY, range.endUtcMin), '"id"'] });
    const ended = select({
      select: ['sum("y") - sum("x") AS "s"', 'count("y") - count("x") AS "missing"'],
      from: { subqueries: [x, end] },
      where: [TIME_FILTER],
      groupBy: [startBucket, ...perId],
    });
    candidates.unshift(select({ select: ['"s"'], from: { subqueries: [ended] }, where: ['"missing" = 0', TIME_FILTER], groupBy: perId }));
  }
  return select({ select: ['min("s") AS "e"'], from: { subqueries: candidates }, where: [TIME_FILTER], groupBy: [startBucket, ...perId] });
}

export interface PeriodEnergyOptions {
  /** Daily buckets starting at local midnight (minutes after 00:00 UTC); omit for one total over the time range. */
  dailyOffsetUtcMin?: number;
  /** Keep one series per id (station); otherwise the sum over all ids. */
  byId?: boolean;
  /** Output columns: energy (kWh) and/or cost (CNY, energy × the period's price). */
  columns: readonly ('energyKwh' | 'costCny')[];
  /** Column names other than energyKwh / costCny (e.g. the period's name, to merge periods into one table). */
  aliases?: Partial<Record<'energyKwh' | 'costCny', string>>;
}

/** Energy and cost of one tariff period (all its ranges), per local day or over the whole time range. */
export function periodEnergyQuery(source: CounterSource, period: TariffPeriodRanges, options: PeriodEnergyOptions): string {
  const columns = options.columns.map((c) => {
    const alias = ident(options.aliases?.[c] ?? c);
    return c === 'energyKwh' ? `sum("e") AS ${alias}` : `sum("e") * ${num(period.priceCnyPerKwh)} AS ${alias}`;
  });
  const offset = options.dailyOffsetUtcMin;
  const daily = offset !== undefined;
  const groupBy: string[] = [];
  if (daily) groupBy.push(timeBucket(DAY, offset));
  if (options.byId) groupBy.push('"id"');
  return select({
    select: columns,
    from: { subqueries: period.ranges.map((r) => rangeEnergyQuery(source, r, options.byId)) },
    where: daily ? [TIME_FILTER] : [],
    groupBy,
  });
}

/** Cost over all periods (CNY, field "costCny"), per local day or over the whole time range. */
export function totalCostQuery(source: CounterSource, periods: readonly TariffPeriodRanges[], dailyOffsetUtcMin?: number): string {
  // Each range's energy at its own price, then summed: no level groups per period, so one sum suffices.
  const priced = periods.flatMap((p) =>
    p.ranges.map((r) => select({ select: [`"e" * ${num(p.priceCnyPerKwh)} AS "c"`], from: { subqueries: [rangeEnergyQuery(source, r)] }, where: [TIME_FILTER] })),
  );
  const daily = dailyOffsetUtcMin !== undefined;
  return select({
    select: ['sum("c") AS "costCny"'],
    from: { subqueries: priced },
    where: daily ? [TIME_FILTER] : [],
    groupBy: daily ? [timeBucket(DAY, dailyOffsetUtcMin)] : [],
  });
}

/** Energy over the time range from counter increments (robust to counter resets), per id or summed. */
export function counterIncreaseQuery(source: CounterSource, alias: string, byId: boolean): string {
  const inner = select({
    select: [`non_negative_difference(${ident(source.field)}) AS "d"`],
    from: { measurement: source.measurement },
    where: [...(source.where ?? []), TIME_FILTER],
    groupBy: ['"id"'],
  });
  return select({ select: [`sum("d") AS ${ident(alias)}`], from: { subqueries: [inner] }, where: [TIME_FILTER], groupBy: byId ? ['"id"'] : [] });
}

/** Counter increase per bucket (e.g. energy per hour, pump starts per hour), per id or summed. */
export function counterIncreasePerBucketQuery(source: CounterSource, interval: string, alias: string, byId: boolean): string {
  const inner = select({
    select: [`non_negative_difference(last(${ident(source.field)})) AS "d"`],
    from: { measurement: source.measurement },
    where: [...(source.where ?? []), TIME_FILTER],
    groupBy: [timeBucket(interval), '"id"'],
  });
  return select({
    select: [`sum("d") AS ${ident(alias)}`],
    from: { subqueries: [inner] },
    where: [TIME_FILTER],
    groupBy: [timeBucket(interval), ...(byId ? ['"id"'] : [])],
  });
}
