// InfluxDB: writes as line protocol to /api/v2/write (the official client), reads as InfluxQL on /query,
// so the same code runs against InfluxDB 1.8+, 2.x (with a DBRP mapping) and 3.x.
import { InfluxDB, Point, type WriteApi } from '@influxdata/influxdb-client';

export interface InfluxConnectorOptions {
  url: string;
  /** 2.x/3.x API token, or "user:password" on 1.8. */
  token: string;
  org: string;
  bucket: string;
  database: string;
  timeoutMs?: number;
}

export interface SeriesPoint {
  measurement: string;
  tags: Record<string, string>;
  fields: Record<string, number | boolean | string>;
  timeUtcMs: number;
}

export interface QuerySeries {
  name: string;
  tags: Record<string, string>;
  columns: string[];
  values: unknown[][];
}

/** Points per write request; InfluxDB recommends batches of about 5,000 lines. */
const writeChunkSize = 5000;

export class InfluxError extends Error {
  override readonly name = 'InfluxError';
}

export interface InfluxConnector {
  write(points: readonly SeriesPoint[]): Promise<number>;
  query(influxql: string): Promise<QuerySeries[]>;
  ping(): Promise<{ latencyMs: number; version: string }>;
}

function toPoint(p: SeriesPoint): Point {
  const point = new Point(p.measurement).timestamp(new Date(p.timeUtcMs));
  for (const [k, v] of Object.entries(p.tags)) point.tag(k, v);
  let fieldCount = 0;
  for (const [k, v] of Object.entries(p.fields)) {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new InfluxError(`point ${p.measurement} ${JSON.stringify(p.tags)}: field ${k} is not finite (${v})`);
      point.floatField(k, v);
    } else if (typeof v === 'boolean') point.booleanField(k, v);
    else point.stringField(k, v);
    fieldCount++;
  }
  if (fieldCount === 0) throw new InfluxError(`point ${p.measurement} ${JSON.stringify(p.tags)} has no fields`);
  return point;
}

export function createInfluxConnector(options: InfluxConnectorOptions): InfluxConnector {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const influx = new InfluxDB({ url: options.url, token: options.token, timeout: timeoutMs });
  const base = options.url.replace(/\/+$/, '');

  return {
    async write(points) {
      if (points.length === 0) return 0;
      // Convert everything first: a bad point rejects the whole batch before anything is written.
      const converted = points.map(toPoint);
      // One WriteApi per chunk with a batch larger than the chunk: close() then awaits exactly one request.
      // (With several batches in one WriteApi, full batches are sent in the background and their errors
      // never reach close(), so a caller could return before its points are stored.)
      for (let start = 0; start < converted.length; start += writeChunkSize) {
        const chunk = converted.slice(start, start + writeChunkSize);
        const writeApi: WriteApi = influx.getWriteApi(options.org, options.bucket, 'ms', {
          batchSize: chunk.length + 1,
          flushInterval: 0,
          maxRetries: 2,
          maxRetryTime: timeoutMs,
        });
        writeApi.writePoints(chunk);
        try {
          await writeApi.close();
        } catch (error) {
          // Retrying the whole write is safe: identical points (same series and time) overwrite themselves.
          throw new InfluxError(`InfluxDB write to ${base} bucket ${options.bucket} failed after ${start} of ${converted.length} points: ${(error as Error).message}`);
        }
      }
      return converted.length;
    },

    async query(influxql) {
      const url = `${base}/query?db=${encodeURIComponent(options.database)}&epoch=ms&q=${encodeURIComponent(influxql)}`;
      const response = await fetch(url, {
        headers: { Authorization: `Token ${options.token}` },
        signal: AbortSignal.timeout(timeoutMs),
      }).catch((error: unknown) => {
        throw new InfluxError(`InfluxDB ${base}/query unreachable: ${(error as Error).message}`);
      });
      const body = (await response.json().catch(() => ({}))) as {
        error?: string;
        results?: { error?: string; series?: { name: string; tags?: Record<string, string>; columns: string[]; values?: unknown[][] }[] }[];
      };
      if (!response.ok || body.error) throw new InfluxError(`InfluxDB query failed (HTTP ${response.status}): ${body.error ?? response.statusText} — ${influxql}`);
      const series: QuerySeries[] = [];
      for (const result of body.results ?? []) {
        if (result.error) throw new InfluxError(`InfluxDB query error: ${result.error} — ${influxql}`);
        for (const s of result.series ?? []) series.push({ name: s.name, tags: s.tags ?? {}, columns: s.columns, values: s.values ?? [] });
      }
      return series;
    },

    async ping() {
      const started = performance.now();
      const response = await fetch(`${base}/ping`, { signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 204 && response.status !== 200) throw new InfluxError(`InfluxDB ${base}/ping answered HTTP ${response.status}`);
      // /ping needs no credentials; an authenticated query proves the token works too.
      await this.query('SHOW MEASUREMENTS LIMIT 1');
      return { latencyMs: performance.now() - started, version: response.headers.get('x-influxdb-version') ?? 'unknown' };
    },
  };
}
