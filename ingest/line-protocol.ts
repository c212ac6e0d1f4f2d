// InfluxDB line protocol for the ingest path, with the escaping of the official client (`escape`).
// Series keys and field keys are escaped once per tag and reused, so encoding a value is one concatenation.
// Numbers are written as floats (no `i` suffix) and booleans as booleans, exactly as connectors/influx.ts
// writes them, so the ingest path and the dispatch activities never conflict on a field's type.
import { escape } from '@influxdata/influxdb-client';

export type FieldValue = number | boolean | string;

/** `measurement,k=v,…` with tags sorted by key (InfluxDB's canonical order). */
export function seriesKey(measurement: string, tags: Record<string, string>): string {
  let key = escape.measurement(measurement);
  for (const k of Object.keys(tags).sort()) {
    const v = tags[k]!;
    if (v === '') continue; // an empty tag value is not allowed; InfluxDB treats a missing tag as empty
    key += `,${escape.tag(k)}=${escape.tag(v)}`;
  }
  return key;
}

export function fieldKey(name: string): string {
  return escape.tag(name);
}

/** The value part of a field; throws on a non-finite number (InfluxDB cannot store it). */
export function fieldValue(value: FieldValue): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`field value ${value} is not finite`);
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  // Newlines would split a line in the newline-delimited spool; status texts never need them.
  return escape.quoted(value.replace(/[\r\n]+/g, ' '));
}

/**
 * The times InfluxDB can store (int64 nanoseconds, ±9223372036854775806 ns), in whole ms:
 * 1677-09-21T00:12:43.146Z … 2262-04-11T23:47:16.854Z. 1.8, 2.x and 3.x refuse a line outside it (HTTP 400).
 */
export const INFLUX_MIN_TIME_MS = -9_223_372_036_854;
export const INFLUX_MAX_TIME_MS = 9_223_372_036_854;

/** OPC UA DateTime 0 (1601-01-01T00:00:00Z, "no time"), as node-opcua decodes it, in Unix ms. */
export const OPCUA_DATETIME_ZERO_MS = -11_644_473_600_000;

const isoOrRaw = (ms: number) => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** Why InfluxDB cannot store a point at this time, or undefined when it can. */
function timeRangeProblem(timeUtcMs: number): string | undefined {
  if (timeUtcMs >= INFLUX_MIN_TIME_MS && timeUtcMs <= INFLUX_MAX_TIME_MS) return undefined;
  const zero = timeUtcMs === OPCUA_DATETIME_ZERO_MS ? ' — OPC UA DateTime 0: the source sent no timestamp' : '';
  return `time ${isoOrRaw(timeUtcMs)} (${timeUtcMs} ms) is outside InfluxDB's range ${isoOrRaw(INFLUX_MIN_TIME_MS)} … ${isoOrRaw(INFLUX_MAX_TIME_MS)}${zero}`;
}

/** Index of the first unescaped `stop` character in a line from `from` (a backslash escapes the next one). */
function unescapedIndex(line: string, stop: number, from = 0): number {
  for (let i = from; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 92) i++;
    else if (c === stop || (stop === 44 && c === 32)) return i;
  }
  return -1;
}

/** `measurement "m", tags k=v,…` of a line (its series key, measurement unescaped), for error messages. */
export function describeSeries(line: string): string {
  const seriesEnd = unescapedIndex(line, 32);
  const series = seriesEnd < 0 ? line : line.slice(0, seriesEnd);
  const comma = unescapedIndex(series, 44);
  const measurement = (comma < 0 ? series : series.slice(0, comma)).replace(/\\(.)/g, '$1');
  const tags = comma < 0 ? '' : series.slice(comma + 1);
  return `measurement "${measurement}", ${tags ? `tags ${tags}` : 'no tags'}`;
}

/**
 * Why InfluxDB would refuse this line for its timestamp (missing, not an integer, or outside the range it can
 * store), naming measurement, tags and time; undefined when the timestamp is fine. Cheap enough for every line.
 */
export function lineTimeProblem(line: string): string | undefined {
  const space = line.lastIndexOf(' ');
  const raw = space < 0 ? '' : line.slice(space + 1);
  const timeUtcMs = /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isNaN(timeUtcMs)) return `line of ${describeSeries(line)} has no integer timestamp at its end ("${raw.slice(0, 40)}")`;
  const problem = timeRangeProblem(timeUtcMs);
  return problem ? `${describeSeries(line)}: ${problem}` : undefined;
}

/** One line: `series field=value[,field=value…] timeMs` (precision ms). */
export function encodeLine(series: string, fields: readonly (readonly [string, FieldValue])[], timeUtcMs: number): string {
  if (fields.length === 0) throw new RangeError(`line for ${series} has no fields`);
  if (!Number.isInteger(timeUtcMs)) throw new RangeError(`${describeSeries(series)}: timestamp ${timeUtcMs} is not an integer number of ms`);
  const problem = timeRangeProblem(timeUtcMs);
  if (problem) throw new RangeError(`${describeSeries(series)}: ${problem}`);
  let line = `${series} `;
  fields.forEach(([k, v], i) => {
    line += `${i === 0 ? '' : ','}${fieldKey(k)}=${fieldValue(v)}`;
  });
  return `${line} ${timeUtcMs}`;
}

export interface LinePoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
  timeUtcMs: number;
}

export function pointToLine(p: LinePoint): string {
  return encodeLine(seriesKey(p.measurement, p.tags), Object.entries(p.fields), p.timeUtcMs);
}

/**
 * Number of field values in a line this module wrote (commas outside quoted strings and escapes,
 * between the first unescaped space and the last space). Used to count values in the spool on replay.
 */
export function countFields(line: string): number {
  let i = 0;
  // Skip the series key: up to the first space not preceded by a backslash.
  for (; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 32) break;
  }
  const end = line.lastIndexOf(' ');
  if (end <= i) return 0;
  let count = 1;
  let quoted = false;
  for (i++; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === 92) i++;
    else if (c === 34) quoted = !quoted;
    else if (c === 44 && !quoted) count++;
  }
  return count;
}
