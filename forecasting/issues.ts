// Forecast issues in InfluxDB: the data points of an issue, then one `forecast_issue` point as its completion
// marker (written LAST, after every chunk of data succeeded). Readers take only issues with a marker, read
// `WHERE "issuedAtMs" = X AND time >= start AND time < end` and check the point count the marker names, so
// an issue whose write failed half-way — or whose points a later issue with the same start overwrote in
// part — is never read as complete.
//
//   forecast_issue  tag kind ("inflow"; rain: "det-<n>min", "ensemble-<n>min", "cycle-<n>min");
//                   fields issuedAtMs, startUtcMs, endUtcMs (data in [start, end)), points, stepMin and,
//                   where known, source, quality, members, rainIssuedAtMs, flags (JSON text);
//                   time = the issue time (issuedAtMs).
//
// Series stay bounded: data points carry the issue time as a FIELD (issuedAtMs) and the step's index from
// the issue's start as a TAG (step), so two issues with different starts never share a (series, time). Two
// issues with the same start and kind overwrite each other's points; the overwritten one then fails the
// count check and readers fall back to the newest issue that is still whole.
import type { InfluxConnector, QuerySeries, SeriesPoint } from '../connectors/influx.js';
import { quoteIdent, quoteString, writeInChunks } from './influxql.js';

export const FORECAST_ISSUE_MEASUREMENT = 'forecast_issue';
export const INFLOW_ISSUE_KIND = 'inflow';

export interface IssueMarker {
  kind: string;
  issuedAtMs: number;
  startUtcMs: number;
  /** End of the last step (exclusive). */
  endUtcMs: number;
  /** Data points of the issue. */
  points: number;
  stepMin: number;
  source?: string;
  quality?: string;
  members?: number;
  /** Issue time of the rain forecast itself, where the issue is a later use of it (a cycle on stale rain). */
  rainIssuedAtMs?: number;
  /** JSON text (the inflow forecast's flags). */
  flags?: string;
}

const OPTIONAL_STRINGS = ['source', 'quality', 'flags'] as const;
const OPTIONAL_NUMBERS = ['members', 'rainIssuedAtMs'] as const;

export function issueMarkerPoint(marker: IssueMarker): SeriesPoint {
  const fields: SeriesPoint['fields'] = {
    issuedAtMs: marker.issuedAtMs,
    startUtcMs: marker.startUtcMs,
    endUtcMs: marker.endUtcMs,
    points: marker.points,
    stepMin: marker.stepMin,
  };
  for (const k of OPTIONAL_STRINGS) if (marker[k] !== undefined) fields[k] = marker[k];
  for (const k of OPTIONAL_NUMBERS) if (marker[k] !== undefined) fields[k] = marker[k];
  return { measurement: FORECAST_ISSUE_MEASUREMENT, tags: { kind: marker.kind }, fields, timeUtcMs: marker.issuedAtMs };
}

/**
 * Writes an issue's data points (in chunks) and then its marker. Throws, leaving no marker, when any chunk
 * fails: the points already written stay invisible to readers. Returns the data points written.
 */
export async function writeIssue(influx: InfluxConnector, points: readonly SeriesPoint[], marker: Omit<IssueMarker, 'points'>): Promise<number> {
  for (const p of points) {
    // A programming error, named before anything is written: the readers would never find such a point.
    if (p.fields['issuedAtMs'] !== marker.issuedAtMs || p.timeUtcMs < marker.startUtcMs || p.timeUtcMs >= marker.endUtcMs) {
      throw new RangeError(
        `forecast issue ${marker.kind} ${marker.issuedAtMs}: point ${p.measurement} ${JSON.stringify(p.tags)} at ${new Date(p.timeUtcMs).toISOString()} has issuedAtMs ${String(p.fields['issuedAtMs'])} or lies outside [${new Date(marker.startUtcMs).toISOString()}, ${new Date(marker.endUtcMs).toISOString()})`,
      );
    }
  }
  const written = await writeInChunks(influx, points);
  await influx.write([issueMarkerPoint({ ...marker, points: points.length })]);
  return written;
}

function markersOf(series: readonly QuerySeries[]): IssueMarker[] {
  const out: IssueMarker[] = [];
  for (const s of series) {
    const col = (name: string) => s.columns.indexOf(name);
    for (const row of s.values) {
      const num = (name: string) => {
        const v = row[col(name)];
        return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
      };
      const str = (name: string) => {
        const v = row[col(name)];
        return typeof v === 'string' ? v : undefined;
      };
      const kind = str('kind') ?? s.tags['kind'];
      const issuedAtMs = num('issuedAtMs');
      const startUtcMs = num('startUtcMs');
      const endUtcMs = num('endUtcMs');
      const points = num('points');
      const stepMin = num('stepMin');
      if (!kind || issuedAtMs === undefined || startUtcMs === undefined || endUtcMs === undefined || points === undefined || stepMin === undefined) continue;
      const marker: IssueMarker = { kind, issuedAtMs, startUtcMs, endUtcMs, points, stepMin };
      for (const k of OPTIONAL_STRINGS) {
        const v = str(k);
        if (v !== undefined) marker[k] = v;
      }
      for (const k of OPTIONAL_NUMBERS) {
        const v = num(k);
        if (v !== undefined) marker[k] = v;
      }
      out.push(marker);
    }
  }
  return out.sort((a, b) => b.issuedAtMs - a.issuedAtMs);
}

/** `"kind" = '…'` or `"kind" =~ /…/`. */
export type KindFilter = string | RegExp;
const kindWhere = (kind: KindFilter) => (typeof kind === 'string' ? `${quoteIdent('kind')} = ${quoteString(kind)}` : `${quoteIdent('kind')} =~ /${kind.source.replace(/\//g, '\\/')}/`);

/** Markers of a kind, newest first (at most `limit`; one issue time when `issuedAtMs` is given). */
export async function listIssueMarkers(influx: InfluxConnector, kind: KindFilter, options: { limit?: number; issuedAtMs?: number; fromUtcMs?: number; toUtcMs?: number } = {}): Promise<IssueMarker[]> {
  const where = [kindWhere(kind)];
  if (options.issuedAtMs !== undefined) where.push(`time = ${Math.round(options.issuedAtMs)}ms`);
  if (options.fromUtcMs !== undefined) where.push(`time >= ${Math.round(options.fromUtcMs)}ms`);
  if (options.toUtcMs !== undefined) where.push(`time < ${Math.round(options.toUtcMs)}ms`);
  const limit = options.limit !== undefined ? ` LIMIT ${Math.max(1, Math.floor(options.limit))}` : '';
  const series = await influx.query(`SELECT * FROM ${quoteIdent(FORECAST_ISSUE_MEASUREMENT)} WHERE ${where.join(' AND ')} ORDER BY time DESC${limit}`);
  return markersOf(series);
}

/** The WHERE clause selecting an issue's data points. */
export function issueWhere(marker: IssueMarker): string {
  return `${quoteIdent('issuedAtMs')} = ${marker.issuedAtMs} AND time >= ${marker.startUtcMs}ms AND time < ${marker.endUtcMs}ms`;
}

/** Data points of the issue found in `measurement` (optionally narrowed, e.g. by a kind tag). */
export async function countIssuePoints(influx: InfluxConnector, measurement: string, marker: IssueMarker, extraWhere?: string): Promise<number> {
  const series = await influx.query(`SELECT count(${quoteIdent('issuedAtMs')}) FROM ${quoteIdent(measurement)} WHERE ${issueWhere(marker)}${extraWhere ? ` AND ${extraWhere}` : ''}`);
  return series.reduce((n, s) => n + s.values.reduce((m, row) => m + (typeof row[1] === 'number' ? row[1] : 0), 0), 0);
}

export async function issueComplete(influx: InfluxConnector, measurement: string, marker: IssueMarker, extraWhere?: string): Promise<boolean> {
  return (await countIssuePoints(influx, measurement, marker, extraWhere)) === marker.points;
}

/**
 * The newest issue of a kind whose data points are all there (checked among the newest `look` markers), or
 * null. `extraWhere(marker)` narrows the count to the issue's own series (e.g. its kind tag).
 */
export async function newestCompleteIssue(
  influx: InfluxConnector,
  kind: KindFilter,
  measurement: string,
  extraWhere?: (marker: IssueMarker) => string,
  look = 10,
): Promise<IssueMarker | null> {
  for (const marker of await listIssueMarkers(influx, kind, { limit: look })) {
    if (await issueComplete(influx, measurement, marker, extraWhere?.(marker))) return marker;
  }
  return null;
}

/** `";quality=stale,age=45min;60min"` → "stale"; undefined when the source names no quality. */
export function qualityOfSource(source: string): string | undefined {
  return /;quality=([a-z-]+)/.exec(source)?.[1];
}
