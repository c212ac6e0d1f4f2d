// Query helpers shared by several dashboards. Measurements and fields are those written by
// activities/dispatch.ts (telemetryPoints: measurement = object kind, tag `id`, one field per tag name).
import type { NetworkConfig } from '../../network/schema.js';
import { INTERVAL, TIME_FILTER, agg, ident, num, select, tagIn, timeBucket, type Fill } from './influxql.js';
import { groupBy } from './network.js';

export const Measurement = {
  station: 'station',
  tank: 'tank',
  plant: 'plant',
  interconnection: 'interconnection',
  analyser: 'analyser',
  tagStatus: 'tag_status',
  rainForecast: 'rain_forecast',
  inflowForecast: 'inflow_forecast',
  localInflow: 'local_inflow',
  rainEnsemble: 'rain_ensemble',
  sensorFlag: 'sensor_flag',
  ingestGap: 'ingest_gap',
  planSetpoint: 'plan_setpoint',
  planEvent: 'plan_event',
  setpointWrite: 'setpoint_write',
  floodStatus: 'flood_status',
  baseline: 'baseline',
} as const;

/** mean(field) per id over Grafana's interval: one series per object. */
export function meanPerId(measurement: string, field: string, where: readonly string[] = [], fill: Fill = 'null'): string {
  return select({ select: [agg('mean', field)], from: { measurement }, where: [...where, TIME_FILTER], groupBy: [timeBucket(INTERVAL), '"id"'], fill });
}

/** Several fields of one object (or a filtered set) as mean over Grafana's interval, one series. */
export function meanFields(measurement: string, fields: readonly string[], where: readonly string[], fill: Fill = 'null'): string {
  return select({ select: fields.map((f) => agg('mean', f)), from: { measurement }, where: [...where, TIME_FILTER], groupBy: [timeBucket(INTERVAL)], fill });
}

/** Sum over objects of each object's latest value (e.g. pumps running in the network now). */
export function sumOfLatest(measurement: string, field: string, alias: string, where: readonly string[] = []): string {
  const inner = select({ select: [`last(${ident(field)}) AS "v"`], from: { measurement }, where: [...where, TIME_FILTER], groupBy: ['"id"'] });
  return select({ select: [`sum("v") AS ${ident(alias)}`], from: { subqueries: [inner] }, where: [TIME_FILTER] });
}

/** Number of objects that reported the field within the time range (and `where`, e.g. a recent window). */
export function countReporting(measurement: string, field: string, alias: string, where: readonly string[] = []): string {
  const inner = select({ select: [`last(${ident(field)}) AS "v"`], from: { measurement }, where: [...where, TIME_FILTER], groupBy: ['"id"'] });
  return select({ select: [`count("v") AS ${ident(alias)}`], from: { subqueries: [inner] }, where: [TIME_FILTER] });
}

/**
 * One subquery per group of objects (stations, plants, tanks) that share the values `keyOf` returns, so per-station constants from
 * the network file (levels, capacities) can enter the arithmetic. The subqueries read the same measurement
 * and group by "id", so InfluxQL merges them back into one series per object.
 */
export function perGroup<T extends { id: string }>(objects: readonly T[], keyOf: (o: T) => unknown, build: (idCondition: string, sample: T) => string): string[] {
  return groupBy(objects, keyOf).map((g) => build(tagIn('id', g.members.map((o) => o.id)), g.members[0]!));
}

/**
 * 1 when a station's level is above its high-alarm level, else 0, without conditionals (InfluxQL has none):
 * (level − highAlarm) / 1000 m lies in (−1, 1) for any real wet well, so CEIL gives 1 above the alarm and
 * −0 or 0 at or below it; ABS turns −0 into 0.
 */
function aboveIndicator(levelExpr: string, highAlarmM: number): string {
  return `ABS(CEIL((${levelExpr} - ${num(highAlarmM)}) / 1000))`;
}

/**
 * Number of stations whose level is above their high alarm (stations at risk): with `latest`, the current
 * count over the time range; otherwise per Grafana interval (a station counts when its highest level in the
 * interval was above).
 */
export function stationsAboveHighAlarmQuery(network: NetworkConfig, mode: 'latest' | 'max-in-range' | 'per-interval', where: readonly string[] = []): string {
  const fn = mode === 'latest' ? 'last' : 'max';
  const bucket = mode === 'per-interval' ? [timeBucket(INTERVAL)] : [];
  const subqueries = perGroup(
    network.stations,
    (s) => s.levels.highAlarmM,
    (idCondition, s) =>
      select({
        select: [`${aboveIndicator(`${fn}("levelM")`, s.levels.highAlarmM)} AS "above"`],
        from: { measurement: Measurement.station },
        where: [idCondition, ...where, TIME_FILTER],
        groupBy: [...bucket, '"id"'],
      }),
  );
  return select({ select: ['sum("above") AS "stationsAboveHighAlarm"'], from: { subqueries }, where: [TIME_FILTER], groupBy: bucket });
}

/** Level above the station's high alarm (m; negative = margin left), per station over Grafana's interval. */
export function levelAboveHighAlarmQuery(network: NetworkConfig): string {
  const subqueries = perGroup(
    network.stations,
    (s) => s.levels.highAlarmM,
    (idCondition, s) =>
      select({
        select: [`max("levelM") - ${num(s.levels.highAlarmM)} AS "aboveHighAlarmM"`],
        from: { measurement: Measurement.station },
        where: [idCondition, TIME_FILTER],
        groupBy: [timeBucket(INTERVAL), '"id"'],
      }),
  );
  return select({ select: ['"aboveHighAlarmM"'], from: { subqueries }, where: [TIME_FILTER], groupBy: ['"id"'] });
}

/** Per station over the time range: latest and highest level, the high alarm, and how far the highest level rose above it. */
export function stationRiskTableQuery(network: NetworkConfig): string {
  const subqueries = perGroup(
    network.stations,
    (s) => [s.levels.highAlarmM, s.levels.overflowM],
    (idCondition, s) =>
      select({
        select: [
          'last("levelM") AS "levelM"',
          'max("levelM") AS "maxLevelM"',
          `max("levelM") * 0 + ${num(s.levels.highAlarmM)} AS "highAlarmM"`,
          `max("levelM") * 0 + ${num(s.levels.overflowM)} AS "overflowM"`,
          `max("levelM") - ${num(s.levels.highAlarmM)} AS "maxAboveHighAlarmM"`,
        ],
        from: { measurement: Measurement.station },
        where: [idCondition, TIME_FILTER],
        groupBy: ['"id"'],
      }),
  );
  return select({
    select: ['"levelM"', '"maxLevelM"', '"highAlarmM"', '"overflowM"', '"maxAboveHighAlarmM"'],
    from: { subqueries },
    where: [TIME_FILTER],
    groupBy: ['"id"'],
  });
}

/** Volume (m³) from a flow in m³/h over the time range: integral over hours, per id or summed. */
export function volumeQuery(measurement: string, flowField: string, alias: string, byId: boolean, where: readonly string[] = []): string {
  const inner = select({ select: [`integral(${ident(flowField)}, 1h) AS "v"`], from: { measurement }, where: [...where, TIME_FILTER], groupBy: ['"id"'] });
  // integral() over a whole range is timestamped at epoch 0, so the outer level has no time condition.
  return select({ select: [`sum("v") AS ${ident(alias)}`], from: { subqueries: [inner] }, groupBy: byId ? ['"id"'] : [] });
}

/** A field as a percentage of each object's capacity from the network file (e.g. plant inflow / capacity), per id. */
export function percentOfCapacityQuery<T extends { id: string }>(
  measurement: string,
  field: string,
  objects: readonly T[],
  capacityOf: (o: T) => number,
  alias: string,
): string {
  const subqueries = perGroup(objects, capacityOf, (idCondition, o) =>
    select({
      select: [`mean(${ident(field)}) / ${num(capacityOf(o))} * 100 AS ${ident(alias)}`],
      from: { measurement },
      where: [idCondition, TIME_FILTER],
      groupBy: [timeBucket(INTERVAL), '"id"'],
    }),
  );
  return select({ select: [ident(alias)], from: { subqueries }, where: [TIME_FILTER], groupBy: ['"id"'] });
}
