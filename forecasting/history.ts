// History for learning and calibration, from InfluxDB through connectors/influx.ts (InfluxQL reads,
// line-protocol writes). Thin I/O: queries in, Series out; the maths is elsewhere.
//
// Measurements read:
//   station          tag id = station id; fields inflowM3h, outflowM3h — SCADA telemetry as the dispatch
//                    activity writes it (activities/dispatch.ts telemetryPoints): instantaneous values
//                    at read times; read back as means per step.
//   tank             tag id; field outletM3h (returns into a station).
//   interconnection  tag id; field transferM3h (signed a → b).
//   sensor_flag      ingest's quality flags (ingest/quality.ts, service.ts): tags object, tag, kind; field
//                    active (true raised, false cleared). A step of a flow field overlapping a flatline,
//                    out_of_range, bad_status or uncertain_status flag is missing for learning (a flat line
//                    is raised after its window: the window before the raise, named in the detail, is too).
// Measurement defined here:
//   rain_observed    tag catchment = catchment id; fields precipitationMm (depth over the interval) and
//                    durationMin (its length). Time = the START of the interval, UTC, so InfluxQL's
//                    GROUP BY time() buckets sum whole intervals. Write explicit zeros for dry
//                    intervals: a missing interval is a gap (read back as null), never "no rain". A
//                    bucket whose intervals do not add up to the whole step is a gap too.
// Forecasts are written and read back by write.ts (measurement inflow_forecast).
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import type { OutflowHistory } from '../planner/formulation.js';
import { MS_PER_MIN } from './calendar.js';
import { bilingualText, maskFaultyFlow } from './dwf.js';
import { quoteIdent, quoteString, writeInChunks } from './influxql.js';
import { localInflow, localInflowWithNotes, longestUpstreamTravelMin } from './routing.js';
import { checkGrid, stepMeansOfLastMinutes, type Grid, type Series } from './series.js';

export const STATION_MEASUREMENT = 'station';
export const INTERCONNECTION_MEASUREMENT = 'interconnection';
export const RAIN_OBSERVED_MEASUREMENT = 'rain_observed';
export const SENSOR_FLAG_MEASUREMENT = 'sensor_flag';
/** Ingest flag kinds under which a stored value is not a measurement to learn from (clock_skew values are). */
export const UNUSABLE_FLAG_KINDS: readonly string[] = ['flatline', 'out_of_range', 'bad_status', 'uncertain_status'];

export interface HistoryRange {
  fromUtcMs: number;
  /** Exclusive. */
  toUtcMs: number;
  stepMin: number;
}

function gridOf(range: HistoryRange, what: string): Grid {
  const stepMs = range.stepMin * MS_PER_MIN;
  const steps = (range.toUtcMs - range.fromUtcMs) / stepMs;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`${what}: [from, to) must be a whole number (≥ 1) of ${range.stepMin}-min steps`);
  const grid = { startUtcMs: range.fromUtcMs, stepMin: range.stepMin, steps };
  checkGrid(grid, what);
  return grid;
}

/**
 * Per-step aggregates of fields by tag value: Record<tagValue, Record<field, values>>, null where a
 * bucket is empty. InfluxQL buckets align to the epoch, which the grid check guarantees.
 */
export async function readAggregated(
  influx: InfluxConnector,
  query: { measurement: string; tagKey: string; tagValues?: readonly string[]; fields: readonly string[]; fn: 'mean' | 'sum' | 'last' },
  range: HistoryRange,
): Promise<Record<string, Record<string, (number | null)[]>>> {
  const grid = gridOf(range, `read ${query.measurement}`);
  const select = query.fields.map((f) => `${query.fn}(${quoteIdent(f)}) AS ${quoteIdent(f)}`).join(', ');
  const tagFilter =
    query.tagValues && query.tagValues.length > 0 ? ` AND (${query.tagValues.map((v) => `${quoteIdent(query.tagKey)} = ${quoteString(v)}`).join(' OR ')})` : '';
  const influxql =
    `SELECT ${select} FROM ${quoteIdent(query.measurement)} WHERE time >= ${range.fromUtcMs}ms AND time < ${range.toUtcMs}ms${tagFilter}` +
    ` GROUP BY time(${range.stepMin}m), ${quoteIdent(query.tagKey)} fill(null)`;
  const series = await influx.query(influxql);
  const stepMs = range.stepMin * MS_PER_MIN;
  const out: Record<string, Record<string, (number | null)[]>> = {};
  for (const s of series) {
    const id = s.tags[query.tagKey];
    if (id === undefined) continue;
    const timeCol = s.columns.indexOf('time');
    const fields: Record<string, (number | null)[]> = {};
    for (const f of query.fields) fields[f] = new Array<number | null>(grid.steps).fill(null);
    for (const row of s.values) {
      const i = Math.round((Number(row[timeCol]) - range.fromUtcMs) / stepMs);
      if (i < 0 || i >= grid.steps) continue;
      for (const f of query.fields) {
        const v = row[s.columns.indexOf(f)];
        fields[f]![i] = typeof v === 'number' && Number.isFinite(v) ? v : null;
      }
    }
    out[id] = fields;
  }
  return out;
}

/** A stretch in which ingest flagged a tag as unusable, [fromUtcMs, toUtcMs). */
export interface FlaggedInterval {
  fromUtcMs: number;
  toUtcMs: number;
  kind: string;
}

/**
 * Ingest's sensor flags (UNUSABLE_FLAG_KINDS) on the given tags over [from, to), as intervals per
 * "objectId/tag": from a raise (active=true; a flat line from the start of its window, "for N min" in the
 * detail) to the clear, or to `toUtcMs` when still raised; a flag raised before `fromUtcMs` and not cleared
 * counts from `fromUtcMs`.
 */
export async function readSensorFlagIntervals(influx: InfluxConnector, tags: readonly string[], range: { fromUtcMs: number; toUtcMs: number }): Promise<Map<string, FlaggedInterval[]>> {
  const tagFilter = tags.map((t) => `${quoteIdent('tag')} = ${quoteString(t)}`).join(' OR ');
  const select = `SELECT ${quoteIdent('active')}, ${quoteIdent('detail')} FROM ${quoteIdent(SENSOR_FLAG_MEASUREMENT)}`;
  const group = ` GROUP BY ${quoteIdent('object')}, ${quoteIdent('tag')}, ${quoteIdent('kind')}`;
  const [before, inWindow] = await Promise.all([
    influx.query(`${select} WHERE time < ${range.fromUtcMs}ms AND (${tagFilter})${group} ORDER BY time DESC LIMIT 1`),
    influx.query(`${select} WHERE time >= ${range.fromUtcMs}ms AND time < ${range.toUtcMs}ms AND (${tagFilter})${group}`),
  ]);
  const rows = (series: typeof before) =>
    series.flatMap((s) => {
      const { object, tag, kind } = s.tags;
      if (object === undefined || tag === undefined || kind === undefined || !UNUSABLE_FLAG_KINDS.includes(kind)) return [];
      const [t, a, d] = ['time', 'active', 'detail'].map((c) => s.columns.indexOf(c));
      return s.values.map((row) => ({ key: `${object}/${tag}/${kind}`, timeUtcMs: Number(row[t!]), active: row[a!] === true, detail: typeof row[d!] === 'string' ? (row[d!] as string) : '' }));
    });
  const raisedAt = new Map<string, number>();
  for (const r of rows(before)) if (r.active) raisedAt.set(r.key, range.fromUtcMs);
  const out = new Map<string, FlaggedInterval[]>();
  const close = (key: string, toUtcMs: number) => {
    const from = raisedAt.get(key);
    if (from === undefined) return;
    raisedAt.delete(key);
    const [object, tag, kind] = key.split('/') as [string, string, string];
    const list = out.get(`${object}/${tag}`) ?? [];
    list.push({ fromUtcMs: from, toUtcMs, kind });
    out.set(`${object}/${tag}`, list);
  };
  for (const r of rows(inWindow).sort((a, b) => a.timeUtcMs - b.timeUtcMs)) {
    if (r.active && !raisedAt.has(r.key)) {
      const flatForMin = r.key.endsWith('/flatline') ? Number(/for (\d+) min/.exec(r.detail)?.[1] ?? 0) : 0;
      raisedAt.set(r.key, Math.max(range.fromUtcMs, r.timeUtcMs - flatForMin * MS_PER_MIN));
    } else if (!r.active) close(r.key, r.timeUtcMs);
  }
  for (const key of [...raisedAt.keys()]) close(key, range.toUtcMs);
  return out;
}

/** Sets to null every step of `values` (grid from `startUtcMs`) overlapping an interval; returns how many were known. */
function maskIntervals(values: (number | null)[], startUtcMs: number, stepMin: number, intervals: readonly FlaggedInterval[] | undefined): number {
  if (!intervals) return 0;
  const stepMs = stepMin * MS_PER_MIN;
  let masked = 0;
  for (const iv of intervals) {
    const first = Math.max(0, Math.floor((iv.fromUtcMs - startUtcMs) / stepMs));
    const last = Math.min(values.length - 1, Math.ceil((iv.toUtcMs - startUtcMs) / stepMs) - 1);
    for (let i = first; i <= last; i++) {
      if (values[i] !== null) masked++;
      values[i] = null;
    }
  }
  return masked;
}

export interface StationHistory {
  grid: Grid;
  /** Measured station inflow (local + from upstream); faulty steps (see `faultySteps`) are null. */
  inflowM3h: Record<string, (number | null)[]>;
  /** Each station's own catchments: inflow minus upstream arrivals (routing.ts). */
  localInflowM3h: Record<string, (number | null)[]>;
  /** Steps of each station's inflow taken as missing: zero or flat-lined (dwf.ts maskFaultyFlow), or flagged by ingest (any flow field used). */
  faultySteps: Record<string, { zero: number; flat: number; flagged: number }>;
  /** Why a station's local inflow is unknown throughout (an upstream station without outflow telemetry), "zh / en". */
  localInflowNotes: Record<string, string>;
}

/**
 * Station telemetry as per-step means, and the local inflow derived from it. Faulty flow is missing, not a
 * sample: a station inflow reading zero or flat-lined, and any flow field ingest flagged (sensor_flag).
 * Tanks and interconnections without any telemetry count as idle; an upstream station without outflow
 * telemetry leaves the downstream station's local inflow null, with a note (routing.ts localInflow).
 */
export async function readStationHistory(influx: InfluxConnector, network: NetworkConfig, range: HistoryRange): Promise<StationHistory> {
  const grid = gridOf(range, 'readStationHistory');
  const [stations, tanks, links, flags] = await Promise.all([
    readAggregated(influx, { measurement: STATION_MEASUREMENT, tagKey: 'id', tagValues: network.stations.map((s) => s.id), fields: ['inflowM3h', 'outflowM3h'], fn: 'mean' }, range),
    network.tanks.length > 0
      ? readAggregated(influx, { measurement: 'tank', tagKey: 'id', tagValues: network.tanks.map((t) => t.id), fields: ['outletM3h'], fn: 'mean' }, range)
      : Promise.resolve({} as Record<string, Record<string, (number | null)[]>>),
    network.interconnections.length > 0
      ? readAggregated(influx, { measurement: INTERCONNECTION_MEASUREMENT, tagKey: 'id', tagValues: network.interconnections.map((x) => x.id), fields: ['transferM3h'], fn: 'mean' }, range)
      : Promise.resolve({} as Record<string, Record<string, (number | null)[]>>),
    readSensorFlagIntervals(influx, ['inflowM3h', 'outflowM3h', 'outletM3h', 'transferM3h'], range),
  ]);
  const all = { ...stations, ...tanks, ...links };
  const faultySteps: StationHistory['faultySteps'] = {};
  for (const [objectId, fields] of Object.entries(all)) {
    for (const [field, values] of Object.entries(fields)) {
      const flagged = maskIntervals(values, range.fromUtcMs, range.stepMin, flags.get(`${objectId}/${field}`));
      if (field === 'inflowM3h' && network.stations.some((s) => s.id === objectId)) {
        const { values: masked, zeroSteps, flatSteps } = maskFaultyFlow(values, range.stepMin);
        fields[field] = masked;
        faultySteps[objectId] = { zero: zeroSteps, flat: flatSteps, flagged };
      }
    }
  }
  const lookup = (objectId: string, tag: string) => all[objectId]?.[tag];
  const inflowM3h: Record<string, (number | null)[]> = {};
  for (const s of network.stations) inflowM3h[s.id] = stations[s.id]?.['inflowM3h'] ?? new Array<number | null>(grid.steps).fill(null);
  // Tanks and links without any telemetry are taken as idle; a station's own missing data stays null.
  const local = localInflowWithNotes(network, lookup, range.stepMin, { missingUpstream: 'zero', upstreamBeforeStart: 'null' });
  const localInflowM3h: Record<string, (number | null)[]> = {};
  for (const s of network.stations) localInflowM3h[s.id] = local.flows[s.id] ?? new Array<number | null>(grid.steps).fill(null);
  const localInflowNotes = Object.fromEntries(Object.entries(local.notes).map(([id, note]) => [id, bilingualText(note)]));
  return { grid, inflowM3h, localInflowM3h, faultySteps, localInflowNotes };
}

/**
 * Each station's local inflow (its own catchments: measured inflow less upstream arrivals, routing.ts) as
 * means over `stepMin` steps of the `windowMin` before `endUtcMs`, for the inflow forecast's error
 * correction. Read per minute with values held between the points telemetry stores (as the recent pumping),
 * reaching back by the longest upstream travel time more, so every arrival in the window is known and
 * lagged to the minute. A station without its own inflow telemetry is left out; a tank or interconnection
 * upstream without any counts as idle, an upstream station without outflow telemetry makes it null (routing.ts).
 */
export async function readRecentLocalInflow(influx: InfluxConnector, network: NetworkConfig, endUtcMs: number, stepMin: number, windowMin: number): Promise<Record<string, Series>> {
  const minutes = windowMin + longestUpstreamTravelMin(network);
  const stationIds = network.stations.map((s) => s.id);
  const read = (measurement: string, ids: string[], field: string, clamp: (v: number) => number) =>
    readRecentPerMinute(influx, { measurement, ids, field, clamp }, endUtcMs, minutes, 6, 'readRecentLocalInflow');
  const nonNegative = (v: number) => Math.max(0, v);
  const [inflow, outflow, outlet, transfer] = await Promise.all([
    read(STATION_MEASUREMENT, stationIds, 'inflowM3h', nonNegative),
    read(STATION_MEASUREMENT, stationIds, 'outflowM3h', nonNegative),
    read('tank', network.tanks.map((t) => t.id), 'outletM3h', nonNegative),
    read(INTERCONNECTION_MEASUREMENT, network.interconnections.map((x) => x.id), 'transferM3h', (v) => v),
  ]);
  const byTag: Record<string, Map<string, OutflowHistory>> = { inflowM3h: inflow, outflowM3h: outflow, outletM3h: outlet, transferM3h: transfer };
  const perMinute = localInflow(network, (id, tag) => byTag[tag]?.get(id)?.valuesM3h, 1, { missingUpstream: 'zero', upstreamBeforeStart: 'null' });
  const windowEndUtcMs = Math.floor(endUtcMs / MS_PER_MIN) * MS_PER_MIN;
  return Object.fromEntries(Object.entries(perMinute).map(([id, values]) => [id, stepMeansOfLastMinutes(values, windowEndUtcMs, stepMin, windowMin)]));
}

/**
 * Each station's pumped flow over the `minutes` whole minutes before `untilUtcMs`, per minute, oldest first:
 * what is in its discharge main at `untilUtcMs` (the planner's in-transit flow). Telemetry is stored when it changes and when
 * the cycle reads it, so a minute without a point holds the value before it; minutes before the first point
 * in the window hold the last value before the window (looked for up to `lookBackH` further back), or, when
 * there is none, the first value in it. A station with no value in all that time is left out (the planner
 * then holds its flow now over the main's travel time).
 */
export async function readRecentOutflow(
  influx: InfluxConnector,
  network: NetworkConfig,
  untilUtcMs: number,
  minutes: number,
  lookBackH = 6,
): Promise<Map<string, OutflowHistory>> {
  const ids = network.stations.map((s) => s.id);
  return readRecentPerMinute(influx, { measurement: STATION_MEASUREMENT, ids, field: 'outflowM3h', clamp: (v) => Math.max(0, v) }, untilUtcMs, minutes, lookBackH, 'readRecentOutflow');
}

/**
 * Each interconnection's transfer (signed, positive a → b) over the `minutes` whole minutes before `untilUtcMs`,
 * per minute, oldest first: what is travelling across at `untilUtcMs`. Read as readRecentOutflow reads pumping.
 */
export async function readRecentTransfer(
  influx: InfluxConnector,
  network: NetworkConfig,
  untilUtcMs: number,
  minutes: number,
  lookBackH = 6,
): Promise<Map<string, OutflowHistory>> {
  const ids = network.interconnections.map((x) => x.id);
  return readRecentPerMinute(influx, { measurement: INTERCONNECTION_MEASUREMENT, ids, field: 'transferM3h', clamp: (v) => v }, untilUtcMs, minutes, lookBackH, 'readRecentTransfer');
}

async function readRecentPerMinute(
  influx: InfluxConnector,
  what: { measurement: string; ids: string[]; field: string; clamp: (v: number) => number },
  untilUtcMs: number,
  minutes: number,
  lookBackH: number,
  caller: string,
): Promise<Map<string, OutflowHistory>> {
  // No objects of the kind (a network without tanks or interconnections): nothing to read.
  if (what.ids.length === 0) return new Map();
  if (!Number.isInteger(minutes) || minutes < 1) throw new RangeError(`${caller}: minutes must be a whole number ≥ 1, got ${minutes}`);
  // Whole minutes on the epoch grid: the minute under way at `untilUtcMs` is left out (the history ends < 1 min early).
  const toUtcMs = Math.floor(untilUtcMs / MS_PER_MIN) * MS_PER_MIN;
  const fromUtcMs = toUtcMs - minutes * MS_PER_MIN;
  const { ids, clamp } = what;
  const field = quoteIdent(what.field);
  const [inWindow, before] = await Promise.all([
    readAggregated(influx, { measurement: what.measurement, tagKey: 'id', tagValues: ids, fields: [what.field], fn: 'last' }, { fromUtcMs, toUtcMs, stepMin: 1 }),
    influx.query(
      `SELECT last(${field}) AS ${field} FROM ${quoteIdent(what.measurement)} WHERE time >= ${fromUtcMs - lookBackH * 3_600_000}ms AND time < ${fromUtcMs}ms` +
        ` AND (${ids.map((id) => `"id" = ${quoteString(id)}`).join(' OR ')}) GROUP BY "id"`,
    ),
  ]);
  const lastBefore = new Map<string, number>();
  for (const series of before) {
    const id = series.tags['id'];
    const v = series.values.at(-1)?.[series.columns.indexOf(what.field)];
    if (id !== undefined && typeof v === 'number' && Number.isFinite(v)) lastBefore.set(id, clamp(v));
  }
  const out = new Map<string, OutflowHistory>();
  for (const id of ids) {
    const values = inWindow[id]?.[what.field] ?? new Array<number | null>(minutes).fill(null);
    // Before the first value known: the last one before the window, else the first in it (the same assumption
    // the planner makes without a history).
    let held = lastBefore.get(id) ?? values.find((v) => v !== null) ?? null;
    if (held === null) continue;
    out.set(id, { stepMin: 1, valuesM3h: values.map((v) => (held = v === null ? held! : clamp(v))) });
  }
  return out;
}

/** Observed rain per catchment (mm per step); a step not fully covered by intervals is null. */
export async function readObservedRain(influx: InfluxConnector, catchmentIds: readonly string[], range: HistoryRange): Promise<Record<string, Series>> {
  const grid = gridOf(range, 'readObservedRain');
  const raw = await readAggregated(
    influx,
    { measurement: RAIN_OBSERVED_MEASUREMENT, tagKey: 'catchment', tagValues: catchmentIds, fields: ['precipitationMm', 'durationMin'], fn: 'sum' },
    range,
  );
  const out: Record<string, Series> = {};
  for (const id of catchmentIds) {
    const r = raw[id];
    out[id] = {
      startUtcMs: grid.startUtcMs,
      stepMin: grid.stepMin,
      values: Array.from({ length: grid.steps }, (_, i) => {
        const mm = r?.['precipitationMm']?.[i];
        const covered = r?.['durationMin']?.[i];
        return mm !== null && mm !== undefined && covered !== null && covered !== undefined && covered >= grid.stepMin - 1e-6 ? mm : null;
      }),
    };
  }
  return out;
}

/** Points of observed rain; null values are gaps and get no point. */
export function observedRainPoints(catchmentId: string, series: Series): SeriesPoint[] {
  const stepMs = series.stepMin * MS_PER_MIN;
  const points: SeriesPoint[] = [];
  series.values.forEach((v, i) => {
    if (v === null || v === undefined) return;
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`observed rain ${catchmentId} at step ${i}: ${v} mm is not a depth`);
    points.push({
      measurement: RAIN_OBSERVED_MEASUREMENT,
      tags: { catchment: catchmentId },
      fields: { precipitationMm: v, durationMin: series.stepMin },
      timeUtcMs: series.startUtcMs + i * stepMs,
    });
  });
  return points;
}

export async function writeObservedRain(influx: InfluxConnector, byCatchment: Record<string, Series>): Promise<number> {
  return writeInChunks(influx, Object.entries(byCatchment).flatMap(([id, s]) => observedRainPoints(id, s)));
}

/**
 * Telemetry points in the dispatch activity's shape (measurement = object kind, tag id, one field per
 * tag) from per-step series, e.g. to backfill history or load simulator output; nulls are skipped.
 */
export async function writeTelemetryHistory(influx: InfluxConnector, network: NetworkConfig, history: Parameters<typeof telemetryHistoryPoints>[1]): Promise<number> {
  return writeInChunks(influx, telemetryHistoryPoints(network, history));
}

export function telemetryHistoryPoints(
  network: NetworkConfig,
  history: { startUtcMs: number; stepMin: number; telemetry: Record<string, Record<string, readonly (number | null)[]>> },
): SeriesPoint[] {
  const kinds = new Map<string, string>([
    ...network.stations.map((s) => [s.id, STATION_MEASUREMENT] as const),
    ...network.tanks.map((t) => [t.id, 'tank'] as const),
    ...network.interconnections.map((x) => [x.id, 'interconnection'] as const),
    ...network.plants.map((p) => [p.id, 'plant'] as const),
  ]);
  const stepMs = history.stepMin * MS_PER_MIN;
  const points: SeriesPoint[] = [];
  for (const [objectId, tags] of Object.entries(history.telemetry)) {
    const measurement = kinds.get(objectId);
    if (!measurement) throw new RangeError(`telemetryHistoryPoints: ${objectId} is not an object of network ${network.id}`);
    const n = Math.max(0, ...Object.values(tags).map((v) => v.length));
    for (let i = 0; i < n; i++) {
      const fields: Record<string, number> = {};
      for (const [tag, values] of Object.entries(tags)) {
        const v = values[i];
        if (v !== null && v !== undefined && Number.isFinite(v)) fields[tag] = v;
      }
      if (Object.keys(fields).length > 0) points.push({ measurement, tags: { id: objectId }, fields, timeUtcMs: history.startUtcMs + i * stepMs });
    }
  }
  return points;
}
