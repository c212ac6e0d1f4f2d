// The telemetry ingest service: OPC UA subscriptions → sensor quality → line protocol → batching, spool → InfluxDB.
//
// Layout in InfluxDB (the same as the dispatch activities' telemetryPoints, so /api/state and the dashboards
// read ingested data unchanged):
//   <kind>,id=<object> <tag>=<value>[,…] <source time>       kind: station | tank | plant | interconnection | analyser
//   tag_status,object=<id>,tag=<tag> statusCode="<name>"[,value=<number>]
//                        a value whose status is not Good, or a Good one ingest cannot store as a number (the
//                        status names its type). An Uncertain value keeps its reading in `value` (a float;
//                        booleans as 1/0), marked by its status; Good telemetry (above) holds Good values only,
//                        so /api/state, the dashboards and planning never take an Uncertain reading for a Good one.
//   sensor_flag,kind=<kind>,object=<id>,tag=<tag> active=<bool>,detail="…",detailZh="…"[,value=<n>]
//                        a quality flag raised or cleared (kinds: flatline, out_of_range, bad_status,
//                        uncertain_status, clock_skew); detail in English, detailZh in Chinese, value the reading
//   ingest_gap,reason=<reason> endUtcMs=…,startWallUtcMs=…,endWallUtcMs=…,wallDurationMs=…,items=<n>,tags="…",open=<bool>,detail="…",detailZh="…"[,lostPoints=<n>] <start>
//                        a period in which values may be missing (reason: connection-lost, subscription-recreated,
//                        queue-overflow, see subscriber.ts; ingest-stopped: ingest itself was not running;
//                        spool-full: points lost because neither the spool nor memory could take them), start
//                        and end in network time like the readings; tags "*" = every tag, else "object/tag,…"
//   ingest_heartbeat networkUtcMs=…,state="…",mode="…",lastPublishAgeMs=…,dropped=…,spoolPending=…,flagsActive=…,lastError="…" <wall time>
//                        every heartbeatMs (10 s): ingest is alive (readers compare its time with the wall clock)
// Good values of one object with the same source timestamp that arrive in the same Publish response are
// written as one point with several fields (InfluxDB merges fields of a series and timestamp anyway).
// A value is stamped with its source time, or the server time when the source clock is off (clock_skew).
import path from 'node:path';
import { createInfluxConnector } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import { resolveTagMap, type ResolvedTag } from '../network/tags.js';
import { dataDir } from '../runtime/paths.js';
import { fieldKey, fieldValue, seriesKey } from './line-protocol.js';
import { errorText, silentLogger, type IngestLogger } from './log.js';
import { createPipeline, type Pipeline, type PipelineCounters, type PointLoss } from './pipeline.js';
import { SensorQualityMonitor, type FlagChange, type QualityOptions, type SensorFlag } from './quality.js';
import { createSubscriber, subscriptionTiming, type IngestGap, type OpcUaSecurity, type ReconnectStrategy, type Subscriber, type SubscriberStats, type TagUpdate } from './subscriber.js';
import { readPreviousRun, writeStateFile, type PreviousRun } from './state.js';
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
  /** Subscription keep-alive and lifetime counts (defaults 10 and 60; see subscriber.ts). */
  keepAliveCount?: number;
  lifetimeCount?: number;
  /** Link outage the server-side queues should hold every sample of (default: the subscription lifetime, 60 s). */
  outageToRideOutMs?: number;
  queueSize?: number;
  maxItemsPerCall?: number;
  /** No Publish response for this long → re-create (default lifetime + one keep-alive period; not below the lifetime). */
  staleAfterMs?: number;
  /** Source and server time further apart → clock_skew flag, value stamped with the server time (default 5 min; null: never). */
  maxClockSkewMs?: number | null;
  reconnect?: ReconnectStrategy;
  /** Points per InfluxDB request (default 5000) and the longest a partial batch waits (default 1000 ms). */
  batchSize?: number;
  flushIntervalMs?: number;
  /** Bound of the in-memory queue (default 100 000 points); beyond it points spill to the spool. */
  maxQueueLines?: number;
  /** Concurrent InfluxDB requests (default 2). */
  concurrency?: number;
  spoolSegmentMaxBytes?: number;
  /** Disk budget of the spool, segments not yet replayed and rejected.lp together (default 4 GiB). */
  spoolMaxBytes?: number;
  /** fdatasync every spool append (default true). */
  spoolFsync?: boolean;
  quality?: QualityOptions;
  /** How often flat lines are checked (default 1000 ms). */
  qualityTickMs?: number;
  /** How often the heartbeat point and state.json are written (default 10 000 ms). */
  heartbeatMs?: number;
  /** Read the previous run's flags and last time from InfluxDB and state.json at start (default true). */
  readPreviousRun?: boolean;
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
    /** Non-Good values (and Good ones of a type not stored) recorded in tag_status instead. */
    statusPoints: number;
    /** Of those, Uncertain values whose reading was kept (tag_status `value`). */
    uncertainValues: number;
    /** Values stored 1 ms (or more) after their time because an earlier sample of the tag had that millisecond. */
    shifted: number;
  };
  /** ingest_gap points written. */
  gaps: number;
  flags: { active: number; raised: number; cleared: number; restored: number };
  /** Times the network clock went back and the quality checks followed it. */
  clockResets: number;
  /** Wall time of the last heartbeat (point and state.json), null before the first. */
  heartbeatAtUtcMs: number | null;
  /** Why the last state.json write failed, null when it worked. */
  stateError: string | null;
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

/** Counts encode() adds to; shifted and uncertainValues are added (from 0) the first time there is one to count. */
export interface EncodeCounts {
  stored: number;
  statusPoints: number;
  shifted?: number;
  uncertainValues?: number;
}

export interface ShiftedSample {
  objectId: string;
  tag: string;
  timeUtcMs: number;
  storedAtUtcMs: number;
}

/** Longest tag list written into an ingest_gap point (InfluxDB 1.8 refuses string fields above 64 KiB). */
const GAP_TAG_LIST_MAX_CHARS = 4000;

/** What each gap means, for the dispatcher (the English detail carries the technical cause). */
const gapZh: Record<IngestGap['reason'], string> = {
  'connection-lost': '与 SCADA 的连接中断，期间数据可能缺失',
  'subscription-recreated': 'SCADA 订阅重建，期间数据缺失',
  'queue-overflow': 'SCADA 服务器队列溢出，部分采样被丢弃',
  'ingest-stopped': '采集服务未运行（重启、升级或崩溃），期间无数据',
  'spool-full': '数据库不可用且磁盘缓存无法写入，数据点丢失',
};

/** Converts updates, flag changes and gaps to line protocol, with series keys escaped once per tag. */
export class TelemetryEncoder {
  private readonly valueSeries: string[];
  private readonly statusSeries: string[];
  private readonly fields: string[];
  private readonly objectIndex: number[];
  // Per tag, its last value and status point: the time it had, and the millisecond it was stored at.
  private readonly valueTime: Float64Array;
  private readonly valueStoredAt: Float64Array;
  private readonly statusTime: Float64Array;
  private readonly statusStoredAt: Float64Array;
  private readonly gapSlots = new Map<string, { time: number; storedAt: number }>();
  /** The samples the last encode() stored later than their time (see slot()). */
  shiftedInLastBatch: ShiftedSample[] = [];

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
    this.valueTime = new Float64Array(tags.length).fill(Number.NaN);
    this.valueStoredAt = new Float64Array(tags.length).fill(Number.NaN);
    this.statusTime = new Float64Array(tags.length).fill(Number.NaN);
    this.statusStoredAt = new Float64Array(tags.length).fill(Number.NaN);
  }

  /**
   * The millisecond to store a sample of tag `index` at. InfluxDB keeps one value per series, field and
   * timestamp: a second sample of the tag at the same millisecond (or at one an earlier shift took) would
   * overwrite the first while both were counted. It goes to the next free millisecond of that tag instead,
   * keeping the order. Not microseconds: the writer sends precision ms (writer.ts) for every point, and
   * finer timestamps for this rare case would mean a second precision in one bucket.
   */
  private slot(time: Float64Array, storedAt: Float64Array, index: number, t: number): number {
    const last = time[index]!;
    const lastStored = storedAt[index]!;
    const at = t >= last && t <= lastStored ? lastStored + 1 : t;
    time[index] = t;
    storedAt[index] = at;
    if (at !== t) this.shiftedInLastBatch.push({ objectId: this.tags[index]!.objectId, tag: this.tags[index]!.tag, timeUtcMs: t, storedAtUtcMs: at });
    return at;
  }

  /** Lines for a batch of updates; counts stored values, status points, kept Uncertain readings and shifts into `counts`. */
  encode(updates: readonly TagUpdate[], counts: EncodeCounts): string[] {
    const lines: string[] = [];
    const merged = new Map<string, { series: string; fields: string; t: number }>();
    this.shiftedInLastBatch = [];
    for (const u of updates) {
      const usable = u.value !== null && (typeof u.value === 'boolean' || Number.isFinite(u.value));
      if (u.severity !== 'good' || !usable) {
        const t = this.slot(this.statusTime, this.statusStoredAt, u.index, u.timeUtcMs);
        let fields: string;
        if (u.severity === 'good') {
          const why = u.unsupportedType ? `unsupported type ${u.unsupportedType}` : 'no finite value';
          fields = `statusCode=${fieldValue(`${u.statusCode} (${why})`)}`;
        } else if (u.severity === 'uncertain' && usable) {
          // An Uncertain reading is still a reading: kept with its status, as a float (booleans 1/0, so
          // the field has one type in tag_status whatever the tag).
          fields = `statusCode=${fieldValue(u.statusCode)},value=${fieldValue(Number(u.value))}`;
          counts.uncertainValues = (counts.uncertainValues ?? 0) + 1;
        } else {
          fields = `statusCode=${fieldValue(u.statusCode)}`;
        }
        lines.push(`${this.statusSeries[u.index]} ${fields} ${t}`);
        counts.statusPoints++;
        continue;
      }
      const t = this.slot(this.valueTime, this.valueStoredAt, u.index, u.timeUtcMs);
      const obj = this.objectIndex[u.index]!;
      const k = `${obj}|${t}`;
      const field = `${this.fields[u.index]}=${fieldValue(u.value!)}`;
      const m = merged.get(k);
      if (m) m.fields += `,${field}`;
      else merged.set(k, { series: this.valueSeries[obj]!, fields: field, t });
      counts.stored++;
    }
    for (const m of merged.values()) lines.push(`${m.series} ${m.fields} ${m.t}`);
    if (this.shiftedInLastBatch.length > 0) counts.shifted = (counts.shifted ?? 0) + this.shiftedInLastBatch.length;
    return lines;
  }

  flagLine(change: FlagChange): string {
    const f = change.flag;
    const series = seriesKey('sensor_flag', { object: f.objectId, tag: f.tag, kind: f.kind });
    const value = f.value !== undefined && Number.isFinite(f.value) ? `,value=${fieldValue(f.value)}` : '';
    return `${series} active=${change.active ? 'true' : 'false'},detail=${fieldValue(f.detail)},detailZh=${fieldValue(f.detailZh)}${value} ${Math.round(change.atUtcMs)}`;
  }

  /** An ingest_gap point, at the gap's start (network time); two gaps of one reason never share a millisecond. */
  gapLine(gap: IngestGap): string {
    const series = seriesKey('ingest_gap', { reason: gap.reason });
    const start = Math.round(gap.startUtcMs);
    const prev = this.gapSlots.get(gap.reason);
    const at = prev && start >= prev.time && start <= prev.storedAt ? prev.storedAt + 1 : start;
    this.gapSlots.set(gap.reason, { time: start, storedAt: at });
    let list: string;
    if (gap.items.length === this.tags.length) list = '*';
    else {
      list = '';
      let i = 0;
      for (; i < gap.items.length; i++) {
        const t = this.tags[gap.items[i]!];
        if (!t) continue;
        const name = `${t.objectId}/${t.tag}`;
        if (list.length + name.length + 1 > GAP_TAG_LIST_MAX_CHARS) break;
        list += (list ? ',' : '') + name;
      }
      if (i < gap.items.length) list += ` … and ${gap.items.length - i} more`;
    }
    const fields = [
      `endUtcMs=${fieldValue(Math.round(gap.endUtcMs))}`,
      `startWallUtcMs=${fieldValue(Math.round(gap.startWallUtcMs))}`,
      `endWallUtcMs=${fieldValue(Math.round(gap.endWallUtcMs))}`,
      `wallDurationMs=${fieldValue(Math.max(0, Math.round(gap.endWallUtcMs - gap.startWallUtcMs)))}`,
      `items=${fieldValue(gap.items.length)}`,
      `tags=${fieldValue(list)}`,
      `open=${gap.open ? 'true' : 'false'}`,
      `detail=${fieldValue(gap.detail)}`,
      `detailZh=${fieldValue(gapZh[gap.reason] + (gap.lostPoints !== undefined ? `：丢失 ${gap.lostPoints} 个数据点` : '') + (gap.open ? '；停止时仍未恢复' : ''))}`,
      ...(gap.lostPoints !== undefined ? [`lostPoints=${fieldValue(gap.lostPoints)}`] : []),
    ];
    return `${series} ${fields.join(',')} ${at}`;
  }
}

export async function startIngest(options: IngestOptions): Promise<IngestHandle> {
  const log = options.logger ?? silentLogger;
  // Bad subscription numbers fail here, before the pipeline opens its spool.
  subscriptionTiming(options);
  const tags = ingestTags(options.network, options.includeSetpoints ?? true);
  const encoder = new TelemetryEncoder(tags);
  const quality = new SensorQualityMonitor(options.network, tags, options.quality);
  const startedAtUtcMs = Date.now();
  const values = { received: 0, stored: 0, statusPoints: 0, uncertainValues: 0, shifted: 0 };
  let gapPoints = 0;
  const flagCounts = { raised: 0, cleared: 0, restored: 0 };
  const spoolDir = options.spoolDir ?? defaultSpoolDir;
  const allItems = tags.map((_, i) => i);

  const writer =
    options.writer ??
    createInfluxLineWriter({ url: options.influx.url, token: options.influx.token, org: options.influx.org, bucket: options.influx.bucket, timeoutMs: options.influx.timeoutMs ?? 10_000 });
  // Points neither the spool nor memory could take: one spool-full gap, written once InfluxDB takes it.
  const lossLine = (loss: PointLoss) => {
    gapPoints++;
    return encoder.gapLine({
      reason: 'spool-full',
      startUtcMs: loss.firstUtcMs,
      endUtcMs: loss.lastUtcMs,
      startWallUtcMs: loss.startWallUtcMs,
      endWallUtcMs: loss.endWallUtcMs,
      items: allItems,
      open: false,
      detail: `${loss.points} points lost: the spool could not take them and the memory queue was full (${loss.error})`,
      lostPoints: loss.points,
    });
  };
  const pipeline: Pipeline = createPipeline({
    writer,
    lossLine,
    spool: {
      dir: spoolDir,
      ...(options.spoolSegmentMaxBytes !== undefined ? { segmentMaxBytes: options.spoolSegmentMaxBytes } : {}),
      ...(options.spoolMaxBytes !== undefined ? { maxBytes: options.spoolMaxBytes } : {}),
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

  // The previous run: its flags are taken over (cleared by the first value that shows them gone), its last
  // network time starts the ingest-stopped gap that the first value of this run ends.
  let previous: PreviousRun | undefined;
  if (options.readPreviousRun ?? true) {
    const influx = createInfluxConnector({ ...options.influx, timeoutMs: Math.min(options.influx.timeoutMs ?? 10_000, 5_000) });
    previous = await readPreviousRun(spoolDir, influx, log);
    const clears = quality.restore(previous.flags, Date.now());
    flagCounts.restored = previous.flags.length - clears.length;
    const lines: string[] = [];
    flagLines(clears, lines);
    pipeline.pushMany(lines);
    log.info('ingest: previous run', {
      sources: previous.sources,
      flagsRestored: flagCounts.restored,
      flagsOfTagsGone: clears.length,
      lastNetworkUtc: previous.networkUtcMs !== null ? new Date(previous.networkUtcMs).toISOString() : null,
      crashed: previous.crashed,
    });
  }
  let downtime = previous?.networkUtcMs !== null && previous?.networkUtcMs !== undefined ? { networkUtcMs: previous.networkUtcMs, wallUtcMs: previous.wallUtcMs ?? startedAtUtcMs, crashed: previous.crashed } : undefined;
  /** The first value of this run ends the gap the previous run's stop (or crash) began. */
  const downtimeGap = (): string[] => {
    const d = downtime;
    if (!d || !Number.isFinite(quality.nowUtcMs)) return [];
    downtime = undefined;
    const endUtcMs = quality.nowUtcMs;
    if (endUtcMs <= d.networkUtcMs) {
      log.info('ingest: no downtime gap: the first value is not later than the last one recorded before the restart', { lastUtc: new Date(d.networkUtcMs).toISOString(), firstUtc: new Date(endUtcMs).toISOString() });
      return [];
    }
    const gap: IngestGap = {
      reason: 'ingest-stopped',
      startUtcMs: d.networkUtcMs,
      endUtcMs,
      startWallUtcMs: d.wallUtcMs,
      endWallUtcMs: Date.now(),
      items: allItems,
      open: false,
      detail: `ingest was not running${d.crashed ? ' (the previous run did not stop cleanly: crash or kill)' : ''}; values of that time were not received`,
    };
    gapPoints++;
    log.warn('ingest: data gap while ingest was not running', { networkFromUtc: new Date(gap.startUtcMs).toISOString(), networkToUtc: new Date(gap.endUtcMs).toISOString(), wallMs: gap.endWallUtcMs - gap.startWallUtcMs });
    return [encoder.gapLine(gap)];
  };

  const onUpdates = (updates: TagUpdate[]) => {
    values.received += updates.length;
    const lines = encoder.encode(updates, values);
    const shifted = encoder.shiftedInLastBatch;
    if (shifted.length > 0) {
      const f = shifted[0]!;
      log.warn('ingest: samples at a millisecond an earlier sample of the same tag had were stored 1 ms later, so none overwrites another', {
        count: shifted.length,
        total: values.shifted,
        first: `${f.objectId}.${f.tag} ${new Date(f.timeUtcMs).toISOString()} → ${new Date(f.storedAtUtcMs).toISOString()}`,
      });
    }
    for (const u of updates) {
      const changes = quality.observe({
        index: u.index,
        value: u.value,
        statusCode: u.statusCode,
        severity: u.severity,
        timeUtcMs: u.timeUtcMs,
        ...(u.clockSkewMs !== undefined ? { clockSkewMs: u.clockSkewMs } : {}),
      });
      if (changes.length > 0) flagLines(changes, lines);
    }
    if (downtime) lines.push(...downtimeGap());
    pipeline.pushMany(lines);
  };

  // Gaps take the readings' path: encoded here, pushed to the same pipeline (batching, spool, replay).
  const onGaps = (gaps: IngestGap[]) => {
    const lines = gaps.map((g) => encoder.gapLine(g));
    gapPoints += lines.length;
    pipeline.pushMany(lines);
  };

  const subscriber: Subscriber = createSubscriber({
    endpointUrl: options.endpointUrl,
    tags,
    ...(options.security ? { security: options.security } : {}),
    ...(options.samplingIntervalMs !== undefined ? { samplingIntervalMs: options.samplingIntervalMs } : {}),
    ...(options.publishingIntervalMs !== undefined ? { publishingIntervalMs: options.publishingIntervalMs } : {}),
    ...(options.keepAliveCount !== undefined ? { keepAliveCount: options.keepAliveCount } : {}),
    ...(options.lifetimeCount !== undefined ? { lifetimeCount: options.lifetimeCount } : {}),
    ...(options.outageToRideOutMs !== undefined ? { outageToRideOutMs: options.outageToRideOutMs } : {}),
    ...(options.queueSize !== undefined ? { queueSize: options.queueSize } : {}),
    ...(options.maxItemsPerCall !== undefined ? { maxItemsPerCall: options.maxItemsPerCall } : {}),
    ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
    ...(options.maxClockSkewMs !== undefined ? { maxClockSkewMs: options.maxClockSkewMs } : {}),
    ...(options.reconnect ? { reconnect: options.reconnect } : {}),
    onUpdates,
    onGaps,
    logger: log,
  });

  const qualityTimer = setInterval(() => {
    const lines: string[] = [];
    flagLines(quality.tick(), lines);
    if (lines.length > 0) pipeline.pushMany(lines);
  }, options.qualityTickMs ?? 1000);
  qualityTimer.unref();

  // Heartbeat: a point in InfluxDB (readers: is ingest alive, subscribed, losing points?) and state.json (the
  // next run's flags and last time; the compose healthcheck). At wall time: it says when ingest was alive.
  let heartbeatAtUtcMs: number | null = null;
  let stateError: string | null = null;
  let networkAtWallUtcMs = previous?.wallUtcMs ?? null;
  let lastNetworkUtcMs = previous?.networkUtcMs ?? null;
  const heartbeat = (running: boolean) => {
    const now = Date.now();
    if (Number.isFinite(quality.nowUtcMs) && !downtime) {
      // A run that never received a value keeps the previous run's time: the downtime gap still starts there.
      lastNetworkUtcMs = quality.nowUtcMs;
      networkAtWallUtcMs = now;
    }
    const sub = subscriber.stats();
    const p = pipeline.counters();
    const status = {
      state: sub.state,
      lastPublishAtUtcMs: sub.lastPublishAtUtcMs,
      mode: p.mode,
      dropped: p.dropped,
      spoolPending: p.spoolPending,
      lastError: p.lastError ?? sub.lastError,
    };
    try {
      writeStateFile(spoolDir, { version: 1, wallUtcMs: now, networkUtcMs: lastNetworkUtcMs, networkAtWallUtcMs, running, flags: quality.active(), status });
      if (stateError !== null) log.info('ingest: state.json written again', { dir: spoolDir });
      stateError = null;
    } catch (error) {
      if (stateError === null) log.warn('ingest: could not write state.json; a restart may not clear flags or record its downtime', { dir: spoolDir, error: errorText(error) });
      stateError = errorText(error);
    }
    heartbeatAtUtcMs = now;
    if (!running) return;
    const fields = [
      ...(Number.isFinite(quality.nowUtcMs) ? [`networkUtcMs=${fieldValue(quality.nowUtcMs)}`] : []),
      `state=${fieldValue(status.state)}`,
      `mode=${fieldValue(status.mode)}`,
      ...(status.lastPublishAtUtcMs !== null ? [`lastPublishAgeMs=${fieldValue(Math.max(0, now - status.lastPublishAtUtcMs))}`] : []),
      `dropped=${fieldValue(status.dropped)}`,
      `spoolPending=${fieldValue(status.spoolPending)}`,
      `flagsActive=${fieldValue(quality.active().length)}`,
      `lastError=${fieldValue(status.lastError ?? '')}`,
    ];
    pipeline.push(`ingest_heartbeat ${fields.join(',')} ${now}`);
  };
  const heartbeatTimer = setInterval(() => heartbeat(true), options.heartbeatMs ?? 10_000);
  heartbeatTimer.unref();

  subscriber.start();
  heartbeat(true);

  const stats = (): IngestStats => ({
    startedAtUtcMs,
    uptimeMs: Date.now() - startedAtUtcMs,
    tags: tags.length,
    subscriber: subscriber.stats(),
    pipeline: pipeline.counters(),
    values: { ...values },
    gaps: gapPoints,
    flags: { active: quality.active().length, ...flagCounts },
    clockResets: quality.clockResets,
    heartbeatAtUtcMs,
    stateError,
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
        // Everything received goes to disk first: the OPC UA teardown below may take seconds, and a kill
        // meanwhile must not lose the queue or the batches in flight. Points still arriving are spooled.
        pipeline.persist();
        await subscriber.stop();
        clearInterval(qualityTimer);
        clearInterval(heartbeatTimer);
        const lines: string[] = [];
        flagLines(quality.tick(), lines);
        if (lines.length > 0) pipeline.pushMany(lines);
        heartbeat(false);
        await pipeline.close(stopOptions.drainTimeoutMs !== undefined ? { drainTimeoutMs: stopOptions.drainTimeoutMs } : {});
        const final = stats();
        log.info('ingest: stopped', { received: final.values.received, stored: final.values.stored, written: final.pipeline.written, spoolPending: final.pipeline.spoolPending, dropped: final.pipeline.dropped });
        return final;
      })()),
  };
}
