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

/** One line: `series field=value[,field=value…] timeMs` (precision ms). */
export function encodeLine(series: string, fields: readonly (readonly [string, FieldValue])[], timeUtcMs: number): string {
  if (fields.length === 0) throw new RangeError(`line for ${series} has no fields`);
  if (!Number.isInteger(timeUtcMs)) throw new RangeError(`timestamp ${timeUtcMs} is not an integer number of ms`);
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
