// InfluxQL quoting and safe batched writes for the forecasting I/O.
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';

export function quoteIdent(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Below the connector's write batch size (5000): the official client flushes a full batch in the
 * background without awaiting it in close(), so one call with more points can resolve before (or
 * without) the first batches being written. Calls of fewer points are awaited whole.
 */
export const WRITE_CHUNK_POINTS = 4000;

export async function writeInChunks(influx: InfluxConnector, points: readonly SeriesPoint[]): Promise<number> {
  let written = 0;
  for (let i = 0; i < points.length; i += WRITE_CHUNK_POINTS) written += await influx.write(points.slice(i, i + WRITE_CHUNK_POINTS));
  return written;
}
