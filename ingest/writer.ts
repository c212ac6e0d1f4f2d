// Writes batches of line protocol to InfluxDB through the official client's WriteApi (/api/v2/write), which
// InfluxDB 1.8+, 2.x and 3.x all accept. The client's own retries are off (maxRetries 0, writeFailed
// rejects): the pipeline owns retry, backoff and spooling, so a failed batch is never held twice.
//
// writeIsolatingRefusals() finds the lines InfluxDB refuses (HTTP 400/422) by halving the batch down to single
// lines, so one bad point no longer costs the batch around it.
import { HttpError, InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import { lineTimeProblem } from './line-protocol.js';

export interface LineWriter {
  /** Resolve when InfluxDB acknowledged every line; reject with WriteRejectedError if it refused them as invalid. */
  write(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** InfluxDB refused the data itself (HTTP 400/422): retrying the same lines cannot succeed. */
export class WriteRejectedError extends Error {
  override readonly name = 'WriteRejectedError';
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** Anything else (connection refused, timeout, 5xx, 401/403/404 while being fixed): retry later. */
export class WriteUnavailableError extends Error {
  override readonly name = 'WriteUnavailableError';
  constructor(
    message: string,
    readonly statusCode: number | undefined,
  ) {
    super(message);
  }
}

export interface InfluxWriteTarget {
  url: string;
  /** 2.x/3.x API token, or "user:password" on 1.8. */
  token: string;
  org: string;
  bucket: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Gzip request bodies above this many bytes (default: never — on a local link it only costs CPU). */
  gzipThreshold?: number;
}

/** Largest batch one write() sends in one request; larger calls are split. */
export const MAX_LINES_PER_REQUEST = 100_000;

export function createInfluxLineWriter(target: InfluxWriteTarget): LineWriter {
  const influx = new InfluxDB({ url: target.url, token: target.token, timeout: target.timeoutMs ?? 10_000 });
  const base = target.url.replace(/\/+$/, '');
  const idle: WriteApi[] = [];
  const all: WriteApi[] = [];
  const newApi = (): WriteApi => {
    const api = influx.getWriteApi(target.org, target.bucket, 'ms', {
      // Only explicit flushes send; nothing is buffered or retried inside the client.
      batchSize: MAX_LINES_PER_REQUEST + 1,
      maxBatchBytes: 512 * 1024 * 1024,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 1,
      gzipThreshold: target.gzipThreshold ?? Number.MAX_SAFE_INTEGER,
      writeFailed: (error: Error) => Promise.reject(error),
    });
    all.push(api);
    return api;
  };

  const classify = (error: unknown, count: number): Error => {
    if (error instanceof HttpError) {
      const detail = `${error.statusCode} ${error.statusMessage ?? ''} ${error.body ?? ''}`.replace(/\s+/g, ' ').trim();
      if (error.statusCode === 400 || error.statusCode === 422) return new WriteRejectedError(`InfluxDB ${base} refused ${count === 1 ? 'the line' : `${count} lines`}: HTTP ${detail}`, error.statusCode);
      return new WriteUnavailableError(`InfluxDB ${base} write failed: HTTP ${detail}`, error.statusCode);
    }
    return new WriteUnavailableError(`InfluxDB ${base} unreachable: ${(error as Error)?.message ?? String(error)}`, undefined);
  };

  const send = async (lines: readonly string[]): Promise<void> => {
    const api = idle.pop() ?? newApi();
    try {
      api.writeRecords(lines as string[]);
      await api.flush();
    } catch (error) {
      const classified = classify(error, lines.length);
      // 413: the body is too large for this server's max-body-size: halve and try again.
      if (classified instanceof WriteUnavailableError && classified.statusCode === 413 && lines.length > 1) {
        idle.push(api);
        const half = Math.ceil(lines.length / 2);
        await send(lines.slice(0, half));
        await send(lines.slice(half));
        return;
      }
      throw classified;
    } finally {
      if (!idle.includes(api)) idle.push(api);
    }
  };

  return {
    async write(lines) {
      for (let i = 0; i < lines.length; i += MAX_LINES_PER_REQUEST) {
        await send(lines.length <= MAX_LINES_PER_REQUEST ? lines : lines.slice(i, i + MAX_LINES_PER_REQUEST));
      }
    },
    async close() {
      await Promise.all(all.map((api) => api.close().catch(() => undefined)));
    },
  };
}

/** A line InfluxDB refused (or would refuse) on its own, and why. */
export interface RefusedLine {
  line: string;
  /** InfluxDB's error text for this line alone, or the local reason (a timestamp it cannot store). */
  error: string;
}

export interface WriteOutcome {
  /** Lines InfluxDB acknowledged. */
  written: string[];
  /** Lines refused on their own, in the order given. */
  refused: RefusedLine[];
  /** HTTP requests made (write() calls). */
  requests: number;
}

/**
 * Write `lines`, refusing only the lines InfluxDB refuses on their own:
 *  - a line whose timestamp InfluxDB cannot store (lineTimeProblem: e.g. 1601 from an OPC UA DateTime 0) is
 *    refused here, without a request, with a message naming measurement, tags and time;
 *  - on a 400/422 (WriteRejectedError) the batch is split in halves and each half sent again, down to single
 *    lines; a single line that is still refused is refused with InfluxDB's error text. InfluxDB 1.8 stores the
 *    good lines of a batch it answers 400 (a "partial write"), 2.x may store none: either way every good line
 *    is stored at the end. Sending a line already stored again is idempotent (same series, field, time and
 *    value overwrite the point with itself).
 * Rejects with the writer's error when InfluxDB is unavailable (any other error) at any step: nothing is
 * refused then, and the caller keeps all the lines for later (lines already stored are re-sent, harmlessly).
 */
export async function writeIsolatingRefusals(writer: LineWriter, lines: readonly string[]): Promise<WriteOutcome> {
  const refusedAt = new Map<number, string>();
  const sendable: number[] = [];
  lines.forEach((line, i) => {
    const problem = lineTimeProblem(line);
    if (problem) refusedAt.set(i, `not sent: ${problem}`);
    else sendable.push(i);
  });
  let requests = 0;
  const attempt = async (part: readonly number[]): Promise<void> => {
    if (part.length === 0) return;
    requests++;
    try {
      await writer.write(part.length === lines.length ? lines : part.map((i) => lines[i]!));
    } catch (error) {
      if (!(error instanceof WriteRejectedError)) throw error;
      if (part.length === 1) {
        refusedAt.set(part[0]!, error.message);
        return;
      }
      const half = Math.ceil(part.length / 2);
      await attempt(part.slice(0, half));
      await attempt(part.slice(half));
    }
  };
  await attempt(sendable);
  const written: string[] = [];
  const refused: RefusedLine[] = [];
  lines.forEach((line, i) => {
    const error = refusedAt.get(i);
    if (error === undefined) written.push(line);
    else refused.push({ line, error });
  });
  return { written, refused, requests };
}
