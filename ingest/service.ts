// The telemetry ingest service: OPC UA subscriptions → sensor quality → line protocol → batching, spool → InfluxDB.
//
// Layout in InfluxDB (the same as the dispatch activities' telemetryPoints, so /api/state and the dashboards
// read ingested data unchanged):
//   <kind>,id=<object> <tag>=<value>[,…] <source time>       kind: station | tank | plant | interconnection | analyser
//   tag_status,object=<id>,tag=<tag> statusCode="<name>"     a value whose status is not Good (its value is not stored)
//   sensor_flag,kind=<kind>,object=<id>,tag=<tag> active=<bool>,detail="…"   a quality flag raised or cleared
// Good values of one object with the same source timestamp that arrive in the same Publish response are
// written as one point with several fields (InfluxDB merges fields of a series and timestamp anyway).
import path from 'node:path';
import type { NetworkConfig } from '../network/schema.js';
import { resolveTagMap, type ResolvedTag } from '../network/tags.js';
import { dataDir } from '../runtime/paths.js';
import { fieldKey, fieldValue, seriesKey } from './line-protocol.js';
import { silentLogger, type IngestLogger } from './log.js';
import { createPipeline, type Pipeline, type PipelineCounters } from './pipeline.js';
import { SensorQualityMonitor, type FlagChange, type QualityOptions, type SensorFlag } from './quality.js';
import { createSubscriber, type OpcUaSecurity, type ReconnectStrategy, type Subscriber, type SubscriberStats, type TagUpdate } from './subscriber.js';
import { createInfluxLineWriter, type LineWriter } from './writer.js';

export const defaultSpoolDir = path.join(dataDir, 'spool');

export interface IngestInfluxOptions {
  url: string;
  /** 2.x/3.x API token, or "user:password" on 1.8. */
  token: string;
  org: string;
  /** Bucket written to (the database on 1.8). */
  bucket: string;
  /** Database for InfluxQL reads (kept for symmetry with connectors/influx.ts; writes use bucket). */
  database: string;
  timeoutMs?: number;
}

export interface IngestOptions {
  network: NetworkConfig;
  endpointUrl: string;
  security?: OpcUaSecurity;
  influx: IngestInfluxOptions;
  /** Spool folder for points InfluxDB cannot take now (default <repo>/.data/spool). */
  spoolDir?: string;
  /** Subscribe to setpoint tags too, so writes by anyone are recorded (default true). */
  includeSetpoints?: boolean;
  samplingIntervalMs?: number;
  publishingIntervalMs?: number;
  queueSize?: number;
  maxItemsPerCall?: number;
  staleAfterMs?: number;
  reconnect?: ReconnectStrategy;
  /** Points per InfluxDB request (default 5000) and the longest a partial batch waits (default 1000 ms). */
  batchSize?: number;
  flushIntervalMs?: number;
  /** Bound of the in-memory queue (default 100 000 points); beyond it points spill to the spool. */
  maxQueueLines?: number;
  /** Concurrent InfluxDB requests (default 2). */
  concurrency?: number;
  spoolSegmentMaxBytes?: number;
  /** fdatasync every spool append (default true). */
  spoolFsync?: boolean;
  quality?: QualityOptions;
  /** How often flat lines are checked (default 1000 ms). */
  qualityTickMs?: number;
  logger?: IngestLogger;
  /** Replace the InfluxDB writer (tests). */
  writer?: LineWriter;
}

export interface IngestStats {
  startedAtUtcMs: number;
  uptimeMs: number;
  /** Tags monitored. */
  tags: number;
  subscriber: SubscriberStats;
  pipeline: PipelineCounters;
  values: {
    /** Updates handed over by the subscriber. */
    received: number;
    /** Good values stored as fields of telemetry points. */
    stored: number;
    /** Non-Good values recorded in tag_status instead. */
    statusPoints: number;
  };
  flags: { active: number; raised: number; cleared: number };
}

export interface IngestHandle {
  stats(): IngestStats;
  /** Sensor flags in force. */
  flags(): SensorFlag[];
  waitUntilSubscribed(timeoutMs: number): Promise<void>;
  /** Send or spool everything received so far. */
  flush(): Promise<void>;
  /** Wait until everything received is in InfluxDB; false on timeout. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Unsubscribe, write out (or spool) every point received, close. drainTimeoutMs: also try to empty the spool. */
  stop(options?: { drainTimeoutMs?: number }): Promise<IngestStats>;
}

/** The tags ingested: every measurement, plus setpoints unless excluded. */
export function ingestTags(network: NetworkConfig, includeSetpoints = true): ResolvedTag[] {
  return resolveTagMap(network).filter((t) => t.access === 'read' || includeSetpoints);
}

/** Converts updates and flag changes to line protocol, with series keys escaped once per tag. */
export class TelemetryEncoder {
  private readonly valueSeries: string[];
  private readonly statusSeries: string[];
  private readonly fields: string[];
  private readonly objectIndex: number[];

  constructor(readonly tags: readonly ResolvedTag[]) {
    const objects = new Map<string, number>();
    this.valueSeries = [];
    this.objectIndex = tags.map((t) => {
      let i = objects.get(t.objectId);
      if (i === undefined) {
        i = objects.size;
        objects.set(t.objectId, i);
        this.valueSeries[i] = seriesKey(t.objectKind, { id: t.objectId });
      }
      return i;
    });
    this.statusSeries = tags.map((t) => seriesKey('tag_status', { object: t.objectId, tag: t.tag }));
    this.fields = tags.map((t) => fieldKey(t.tag));
  }

  /** Lines for a batch of updates; counts stored values and status points into `counts`. */
  encode(updates: readonly TagUpdate[], counts: { stored: number; statusPoints: number }): string[] {
    const lines: string[] = [];
    const merged = new Map<string, { series: string; fields: string; t: number }>();
    for (const u of updates) {
      const good = u.severity === 'good' && u.value !== null && (typeof u.value === 'boolean' || Number.isFinite(u.value));
      if (!good) {
        const status = u.severity === 'good' ? `${u.statusCode} (no finite value)` : u.statusCode;
        lines.push(`${this.statusSeries[u.index]} statusCode=${fieldValue(status)} ${u.timeUtcMs}`);
        counts.statusPoints++;
        continue;
      }
      const obj = this.objectIndex[u.index]!;
      const k = `${obj}|${u.timeUtcMs}`;
      const field = `${this.fields[u.index]}=${fieldValue(u.value!)}`;
      const m = merged.get(k);
      if (m) m.fields += `,${field}`;
      else merged.set(k, { series: this.valueSeries[obj]!, fields: field, t: u.timeUtcMs });
      counts.stored++;
    }
    for (const m of merged.values()) lines.push(`${m.series} ${m.fields} ${m.t}`);
    return lines;
  }

  flagLine(change: FlagChange): string {
    const f = change.flag;
    const series = seriesKey('sensor_flag', { object: f.objectId, tag: f.tag, kind: f.kind });
    return `${series} active=${change.active ? 'true' : 'false'},detail=${fieldValue(f.detail)} ${Math.round(change.atUtcMs)}`;
  }
}

export async function startIngest(options: IngestOptions): Promise<IngestHandle> {
  const log = options.logger ?? silentLogger;
  const tags = ingestTags(options.network, options.includeSetpoints ?? true);
  const encoder = new TelemetryEncoder(tags);
  const quality = new SensorQualityMonitor(options.network, tags, options.quality);
  const startedAtUtcMs = Date.now();
  const values = { received: 0, stored: 0, statusPoints: 0 };
  const flagCounts = { raised: 0, cleared: 0 };

  const writer =
    options.writer ??
    createInfluxLineWriter({ url: options.influx.url, token: options.influx.token, org: options.influx.org, bucket: options.influx.bucket, timeoutMs: options.influx.timeoutMs ?? 10_000 });
  const pipeline: Pipeline = createPipeline({
    writer,
    spool: {
      dir: options.spoolDir ?? defaultSpoolDir,
      ...(options.spoolSegmentMaxBytes !== undefined ? { segmentMaxBytes: options.spoolSegmentMaxBytes } : {}),
      ...(options.spoolFsync !== undefined ? { fsync: options.spoolFsync } : {}),
    },
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
    ...(options.maxQueueLines !== undefined ? { maxQueueLines: options.maxQueueLines } : {}),
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    logger: log,
  });

  const flagLines = (changes: readonly FlagChange[], out: string[]) => {
    for (const change of changes) {
      out.push(encoder.flagLine(change));
      if (change.active) {
        flagCounts.raised++;
        log.warn('quality: sensor flagged', { object: change.flag.objectId, tag: change.flag.tag, kind: change.flag.kind, detail: change.flag.detail });
      } else {
        flagCounts.cleared++;
        log.info('quality: sensor flag cleared', { object: change.flag.objectId, tag: change.flag.tag, kind: change.flag.kind });
      }
    }
  };

  const onUpdates = (updates: TagUpdate[]) => {
    values.received += updates.length;
    const lines = encoder.encode(updates, values);
    for (const u of updates) {
      const changes = quality.observe({ index: u.index, value: u.value, statusCode: u.statusCode, severity: u.severity, timeUtcMs: u.timeUtcMs });
      if (changes.length > 0) flagLines(changes, lines);
    }
    pipeline.pushMany(lines);
  };

  const subscriber: Subscriber = createSubscriber({
    endpointUrl: options.endpointUrl,
    tags,
    ...(options.security ? { security: options.security } : {}),
    ...(options.samplingIntervalMs !== undefined ? { samplingIntervalMs: options.samplingIntervalMs } : {}),
    ...(options.publishingIntervalMs !== undefined ? { publishingIntervalMs: options.publishingIntervalMs } : {}),
    ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
    ...(options.maxItemsPerCall !== undefined ? { maxItemsPerCall: options.maxItemsPerCall } : {}),
    ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
    ...(options.reconnect ? { reconnect: options.reconnect } : {}),
    onUpdates,
    logger: log,
  });

  const qualityTimer = setInterval(() => {
    const lines: string[] = [];
    flagLines(quality.tick(), lines);
    if (lines.length > 0) pipeline.pushMany(lines);
  }, options.qualityTickMs ?? 1000);
  qualityTimer.unref();

  subscriber.start();

  const stats = (): IngestStats => ({
    startedAtUtcMs,
    uptimeMs: Date.now() - startedAtUtcMs,
    tags: tags.length,
    subscriber: subscriber.stats(),
    pipeline: pipeline.counters(),
    values: { ...values },
    flags: { active: quality.active().length, ...flagCounts },
  });

  let stopping: Promise<IngestStats> | undefined;
  return {
    stats,
    flags: () => quality.active(),
    waitUntilSubscribed: (timeoutMs) => subscriber.waitUntilSubscribed(timeoutMs),
    flush: () => pipeline.flush(),
    drain: (timeoutMs) => pipeline.drain(timeoutMs),
    stop: (stopOptions = {}) =>
      (stopping ??= (async () => {
        await subscriber.stop();
        clearInterval(qualityTimer);
        const lines: string[] = [];
        flagLines(quality.tick(), lines);
        if (lines.length > 0) pipeline.pushMany(lines);
        await pipeline.close(stopOptions.drainTimeoutMs !== undefined ? { drainTimeoutMs: stopOptions.drainTimeoutMs } : {});
        const final = stats();
        log.info('ingest: stopped', { received: final.values.received, stored: final.values.stored, written: final.pipeline.written, spoolPending: final.pipeline.spoolPending, dropped: final.pipeline.dropped });
        return final;
      })()),
  };
}
