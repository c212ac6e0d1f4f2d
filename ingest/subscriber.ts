// OPC UA subscriptions (not polling) for every configured tag: one ClientSubscription, the tags monitored in
// ClientMonitoredItemGroups of at most maxItemsPerCall (the server's MaxMonitoredItemsPerCall), each value
// delivered with its status code and timestamps.
//
// Staying subscribed:
//  1. node-opcua's own reconnection: after a dropped connection the client reconnects with the explicit
//     backoff below (initialDelay → maxDelay, unbounded retries), reactivates the session or creates a new
//     one, and transfers or re-creates the subscription and its monitored items; keepSessionAlive reads
//     the server state between publishes so a silent link is noticed. Every step is logged.
//  2. Our own re-create on failure: if no Publish response (data or keep-alive) has arrived for staleAfterMs,
//     or the subscription or session is terminated, the whole client is torn down and a fresh client,
//     session and subscription are built, retrying with the same backoff until the server answers.
// After a restore the server resends the current value of every item; a value already delivered (same tag,
// source time, status and value) is dropped as a duplicate, so consumers see each change once.
//
// Riding out an outage (the numbers at the defaults: sampling 500 ms, publishing 1000 ms, keep-alive count
// 10, lifetime count 60):
//  - The server keeps a subscription without Publish requests for its lifetime, publishing interval ×
//    lifetime count = 60 s, sampling into each item's queue. A link back within that time gets the same
//    subscription back (node-opcua transfers it) with the queued samples.
//  - queueSize is sized for outageToRideOutMs (default: that lifetime) at the sampling interval, plus one
//    publishing interval: ceil(60 000 / 500) + ceil(1000 / 500) + 1 = 123 values per item. Sampling 0
//    (every change) is sized as if an item changed at most every 100 ms (600 + 10 + 1 = 611). The server
//    may cap it (revisedQueueSize, logged); beyond the queue it discards the oldest samples and sets the
//    Overflow bit, which is reported as a queue-overflow gap.
//  - staleAfterMs defaults to the lifetime plus one keep-alive period (60 s + 10 s = 70 s) and may not be
//    shorter than the lifetime: re-creating earlier would throw away a subscription the server still holds.
//
// Gaps are reported (onGaps), never only counted: connection-lost (the link dropped; the subscription came
// back, its queues may have filled part of the gap), subscription-recreated (a new subscription: samples
// between are lost), queue-overflow (the server discarded samples of these items). A gap's start and end
// are in network time (the newest measurement source time delivered), as the readings are. Backfill with
// HistoryRead is not attempted: the simulator's server does not offer it (AccessHistoryDataCapability
// false, no variable Historizing); whether a server does is logged at the first subscribe.
//
// Timestamps: a value is stamped with its source time, unless it differs from the server time by more than
// maxClockSkewMs (default 5 min: a device clock gone wrong). Then it is stamped with the server time and
// carries clockSkewMs, for the quality monitor's clock_skew flag. A server that stamps from the source (the
// simulator: simulated time in both) is unaffected.
import {
  AttributeIds,
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  VariableIds,
  VariantArrayType,
  type ClientMonitoredItemBase,
  type ClientMonitoredItemGroup,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  type NotificationMessage,
  type UserIdentityInfo,
  type Variant,
} from 'node-opcua';
import type { ResolvedTag } from '../network/tags.js';
import { errorText, silentLogger, type IngestLogger } from './log.js';
import { NetworkClock } from './network-clock.js';

export type Severity = 'good' | 'uncertain' | 'bad';

export interface TagUpdate {
  /** Index of the tag in SubscriberOptions.tags. */
  index: number;
  tag: ResolvedTag;
  /** The value as sent (also for Uncertain/Bad, when the server sent one); null when there is none. */
  value: number | boolean | null;
  statusCode: string;
  severity: Severity;
  /** Source timestamp, else server timestamp, else time received (UTC ms); the server timestamp when clockSkewMs is set. */
  timeUtcMs: number;
  sourceTimeUtcMs: number | null;
  serverTimeUtcMs: number | null;
  receivedAtUtcMs: number;
  /** Source minus server time when it exceeds maxClockSkewMs (the value is stamped with the server time); else null. */
  clockSkewMs?: number | null;
  /** The OPC UA type of a value that is not a number or boolean and could not be converted (e.g. "String", "Double[]"); else null. */
  unsupportedType?: string | null;
}

export type GapReason = 'connection-lost' | 'subscription-recreated' | 'queue-overflow';
/** Gap reasons of the service, besides the subscriber's: ingest was not running; points lost because the spool could not take them. */
export type ServiceGapReason = 'ingest-stopped' | 'spool-full';

/** A period in which values of some or all tags may be missing. */
export interface IngestGap {
  reason: GapReason | ServiceGapReason;
  /**
   * Network time the gap starts (UTC ms): the newest measurement source time delivered before it (the wall
   * clock if none had arrived yet); for queue-overflow, the newest of the items' last samples before the loss.
   */
  startUtcMs: number;
  /** Network time data resumed: the newest measurement delivered once subscribed again; for queue-overflow the latest first sample after the discarded ones. */
  endUtcMs: number;
  /** Subscriber wall clock: the last Publish response before the gap, and when it was closed. */
  startWallUtcMs: number;
  endWallUtcMs: number;
  /** Tags affected (indexes into SubscriberOptions.tags): every tag for connection-lost and subscription-recreated. */
  items: number[];
  /** True when the subscriber stopped before data came back: the gap runs to the stop. */
  open: boolean;
  /** What happened, for the log and the point (English; the point also carries a Chinese sentence, service.ts). */
  detail: string;
  /** Points lost, when known (spool-full). */
  lostPoints?: number;
}

export interface OpcUaSecurity {
  mode: 'None' | 'SignAndEncrypt';
  userName?: string;
  password?: string;
  /** Client certificate folder (needed for SignAndEncrypt). */
  pkiFolder?: string;
  /** Accept a server certificate not in `<pkiFolder>/trusted/certs` (default false; the embedded simulator only). */
  acceptUnknownServerCertificate?: boolean;
}

export interface ReconnectStrategy {
  /** First delay before reconnecting (default 500 ms). */
  initialDelayMs?: number;
  /** Longest delay between attempts (default 10 s). */
  maxDelayMs?: number;
}

export interface SubscriberOptions {
  endpointUrl: string;
  tags: readonly ResolvedTag[];
  security?: OpcUaSecurity;
  /** Requested sampling interval of every monitored item (default 500 ms; the server may revise it). */
  samplingIntervalMs?: number;
  /** Requested publishing interval of the subscription (default 1000 ms). */
  publishingIntervalMs?: number;
  /** Link outage the server-side queues should hold every sample of (default: the subscription lifetime). */
  outageToRideOutMs?: number;
  /** Server-side queue per item; default sized for outageToRideOutMs at the sampling interval (see the top of this file). */
  queueSize?: number;
  /** Monitored items per CreateMonitoredItems call (default 1000). */
  maxItemsPerCall?: number;
  /** Keep-alive count of the subscription (default 10) and lifetime count (default 6 × keep-alive). */
  keepAliveCount?: number;
  lifetimeCount?: number;
  reconnect?: ReconnectStrategy;
  /** No Publish response for this long → tear down and re-create (default lifetime + one keep-alive period; at least the lifetime). */
  staleAfterMs?: number;
  /** Source and server time further apart than this → stamp with the server time and report clockSkewMs (default 5 min; null: never). */
  maxClockSkewMs?: number | null;
  /** Called with the values of one or more Publish responses, in the order received. */
  onUpdates: (updates: TagUpdate[]) => void;
  /** Called with the gaps closed since the last call, before the values that follow them. */
  onGaps?: (gaps: IngestGap[]) => void;
  logger?: IngestLogger;
  applicationName?: string;
}

export type SubscriberState = 'stopped' | 'connecting' | 'subscribed' | 'reconnecting';

export interface SubscriberStats {
  state: SubscriberState;
  /** Values delivered to onUpdates (after duplicates were removed). */
  updates: number;
  good: number;
  uncertain: number;
  bad: number;
  /** Values received again after a restore (same tag, time, status, value) and not delivered. */
  duplicates: number;
  /** Values whose status carried the Overflow bit: the server's queue discarded samples before them. */
  overflows: number;
  /** Values lost because onUpdates threw (in batches, counted in droppedBatches). Must stay 0. */
  dropped: number;
  droppedBatches: number;
  /** Gaps reported through onGaps, by reason. */
  gaps: Record<GapReason, number>;
  /** Values stamped with the server time because their source time was off by more than maxClockSkewMs. */
  clockSkewed: number;
  /** Values of a type that is not a number or boolean (recorded without a value). */
  unsupportedValues: number;
  /** Publish responses with data, and keep-alives. */
  notifications: number;
  keepAlives: number;
  monitoredItems: number;
  /** Items the server refused (e.g. unknown NodeId), by NodeId → status. */
  monitorErrors: Record<string, string>;
  revisedSamplingIntervalMs: number | null;
  revisedPublishingIntervalMs: number | null;
  /** Queue per item requested, and as the server revised it. */
  queueSize: number;
  revisedQueueSize: number | null;
  /** Subscription lifetime (publishing interval × lifetime count) as requested, and as the server revised it. */
  lifetimeMs: number;
  revisedLifetimeMs: number | null;
  /** No Publish response for this long → re-create (never less than the revised lifetime). */
  staleAfterMs: number;
  /** Whether the server offers HistoryRead (AccessHistoryDataCapability); null until asked. */
  historyReadSupported: boolean | null;
  connectionsLost: number;
  /** Sessions restored by node-opcua's reconnection. */
  sessionsRestored: number;
  /** Times this subscriber tore everything down and built a new client, session and subscription. */
  recreated: number;
  /** Subscriptions created (the first one and every re-create, by us or by node-opcua). */
  subscriptionsCreated: number;
  /** The last error; cleared once subscribed again. */
  lastError: string | null;
  lastPublishAtUtcMs: number | null;
}

export interface Subscriber {
  /** Connect and subscribe in the background; resolves at once. */
  start(): void;
  /** Resolves when subscribed (first time, or after a restore); rejects after timeoutMs. */
  waitUntilSubscribed(timeoutMs: number): Promise<void>;
  stats(): SubscriberStats;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function within<T>(promise: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!promise) return undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise.catch(() => undefined), new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function severityOf(code: number): Severity {
  if (code >= 0x80000000) return 'bad';
  if (code >= 0x40000000) return 'uncertain';
  return 'good';
}

/** Default of SubscriberOptions.maxClockSkewMs. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 5 * 60_000;

/** Sampling interval 0 (every change) is sized as if an item changed at most this often. */
const EVERY_CHANGE_SIZED_AS_MS = 100;

export interface SubscriptionTiming {
  samplingIntervalMs: number;
  publishingIntervalMs: number;
  keepAliveCount: number;
  lifetimeCount: number;
  lifetimeMs: number;
  outageToRideOutMs: number;
  queueSize: number;
  staleAfterMs: number;
}

/** The subscription's numbers from the options, with the defaults documented at the top of this file; RangeError naming the value on a bad one. */
export function subscriptionTiming(options: Pick<SubscriberOptions, 'samplingIntervalMs' | 'publishingIntervalMs' | 'keepAliveCount' | 'lifetimeCount' | 'outageToRideOutMs' | 'queueSize' | 'staleAfterMs'>): SubscriptionTiming {
  const samplingIntervalMs = options.samplingIntervalMs ?? 500;
  const publishingIntervalMs = options.publishingIntervalMs ?? 1000;
  const keepAliveCount = options.keepAliveCount ?? 10;
  const lifetimeCount = options.lifetimeCount ?? keepAliveCount * 6;
  if (!(samplingIntervalMs >= 0)) throw new RangeError(`subscriber: samplingIntervalMs must be ≥ 0, got ${samplingIntervalMs}`);
  if (!(publishingIntervalMs > 0)) throw new RangeError(`subscriber: publishingIntervalMs must be > 0, got ${publishingIntervalMs}`);
  if (!(Number.isInteger(keepAliveCount) && keepAliveCount >= 1)) throw new RangeError(`subscriber: keepAliveCount must be a whole number ≥ 1, got ${keepAliveCount}`);
  if (!(lifetimeCount >= 3 * keepAliveCount)) throw new RangeError(`subscriber: lifetimeCount must be at least 3 × keepAliveCount (${3 * keepAliveCount}), got ${lifetimeCount}`);
  const lifetimeMs = publishingIntervalMs * lifetimeCount;
  const outageToRideOutMs = options.outageToRideOutMs ?? lifetimeMs;
  if (!(outageToRideOutMs >= 0)) throw new RangeError(`subscriber: outageToRideOutMs must be ≥ 0, got ${outageToRideOutMs}`);
  const sampleEveryMs = samplingIntervalMs > 0 ? samplingIntervalMs : EVERY_CHANGE_SIZED_AS_MS;
  const queueSize = options.queueSize ?? Math.ceil(outageToRideOutMs / sampleEveryMs) + Math.ceil(publishingIntervalMs / sampleEveryMs) + 1;
  if (!(Number.isInteger(queueSize) && queueSize >= 1)) throw new RangeError(`subscriber: queueSize must be a whole number ≥ 1, got ${queueSize}`);
  const staleAfterMs = options.staleAfterMs ?? lifetimeMs + keepAliveCount * publishingIntervalMs;
  if (!(staleAfterMs >= lifetimeMs)) {
    throw new RangeError(
      `subscriber: staleAfterMs ${staleAfterMs} is shorter than the subscription lifetime ${lifetimeMs} ms (publishingIntervalMs ${publishingIntervalMs} × lifetimeCount ${lifetimeCount}): ` +
        're-creating then would throw away a subscription the server still holds; raise staleAfterMs or lower lifetimeCount',
    );
  }
  return { samplingIntervalMs, publishingIntervalMs, keepAliveCount, lifetimeCount, lifetimeMs, outageToRideOutMs, queueSize, staleAfterMs };
}

export interface ConvertedValue {
  value: number | boolean | null;
  /** The type of a value that is there but is not a number or boolean, e.g. "String", "DateTime", "Int32[]". */
  unsupportedType: string | null;
  /** An Int64/UInt64 beyond ±2^53 was rounded to the nearest double. */
  precisionLost: boolean;
}

/**
 * A variant as a number or boolean. Int64 and UInt64 (node-opcua: [high, low] 32-bit words) become numbers,
 * exact up to 2^53 and rounded beyond (precisionLost). Anything else with a value (strings, dates, arrays,
 * structures) is not converted: its type is named in unsupportedType.
 */
export function convertVariant(variant: Variant | null | undefined): ConvertedValue {
  const none: ConvertedValue = { value: null, unsupportedType: null, precisionLost: false };
  if (!variant || variant.dataType === DataType.Null) return none;
  const raw: unknown = variant.value;
  if (raw === null || raw === undefined) return none;
  const typeName = DataType[variant.dataType] ?? `DataType ${String(variant.dataType)}`;
  if (variant.arrayType !== undefined && variant.arrayType !== VariantArrayType.Scalar) {
    return { value: null, unsupportedType: `${typeName}${variant.arrayType === VariantArrayType.Matrix ? '[,]' : '[]'}`, precisionLost: false };
  }
  if (typeof raw === 'number' || typeof raw === 'boolean') return { value: raw, unsupportedType: null, precisionLost: false };
  if ((variant.dataType === DataType.Int64 || variant.dataType === DataType.UInt64) && Array.isArray(raw) && raw.length === 2 && raw.every((w) => typeof w === 'number')) {
    const [high, low] = raw as [number, number];
    const word = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    const big = variant.dataType === DataType.Int64 ? BigInt.asIntN(64, word) : word;
    const value = Number(big);
    return { value, unsupportedType: null, precisionLost: BigInt(value) !== big };
  }
  return { value: null, unsupportedType: typeName, precisionLost: false };
}

interface Generation {
  client: OPCUAClient;
  session?: ClientSession;
  subscription?: ClientSubscription;
  groups: ClientMonitoredItemGroup[];
  broken: Promise<string>;
  breakWith: (reason: string) => void;
}

interface OpenGap {
  reason: GapReason;
  startUtcMs: number;
  startWallUtcMs: number;
  details: string[];
}

export function createSubscriber(options: SubscriberOptions): Subscriber {
  const log = options.logger ?? silentLogger;
  const tags = options.tags;
  const timing = subscriptionTiming(options);
  const { samplingIntervalMs, publishingIntervalMs, queueSize, keepAliveCount, lifetimeCount, staleAfterMs } = timing;
  const maxItemsPerCall = options.maxItemsPerCall ?? 1000;
  const initialDelayMs = options.reconnect?.initialDelayMs ?? 500;
  const maxDelayMs = options.reconnect?.maxDelayMs ?? 10_000;
  const maxClockSkewMs = options.maxClockSkewMs === undefined ? DEFAULT_MAX_CLOCK_SKEW_MS : options.maxClockSkewMs;
  const security = options.security ?? { mode: 'None' as const };
  if (tags.length === 0) throw new RangeError('subscriber: no tags to monitor');
  if (!(Number.isInteger(maxItemsPerCall) && maxItemsPerCall >= 1)) throw new RangeError(`subscriber: maxItemsPerCall must be a whole number ≥ 1, got ${maxItemsPerCall}`);
  if (maxClockSkewMs !== null && !(maxClockSkewMs > 0)) throw new RangeError(`subscriber: maxClockSkewMs must be > 0 or null, got ${maxClockSkewMs}`);

  const secure = security.mode === 'SignAndEncrypt';
  const userIdentity: UserIdentityInfo =
    security.userName && security.password
      ? { type: UserTokenType.UserName, userName: security.userName, password: security.password }
      : { type: UserTokenType.Anonymous };

  const s: SubscriberStats = {
    state: 'stopped',
    updates: 0,
    good: 0,
    uncertain: 0,
    bad: 0,
    duplicates: 0,
    overflows: 0,
    dropped: 0,
    droppedBatches: 0,
    gaps: { 'connection-lost': 0, 'subscription-recreated': 0, 'queue-overflow': 0 },
    clockSkewed: 0,
    unsupportedValues: 0,
    notifications: 0,
    keepAlives: 0,
    monitoredItems: 0,
    monitorErrors: {},
    revisedSamplingIntervalMs: null,
    revisedPublishingIntervalMs: null,
    queueSize,
    revisedQueueSize: null,
    lifetimeMs: timing.lifetimeMs,
    revisedLifetimeMs: null,
    staleAfterMs,
    historyReadSupported: null,
    connectionsLost: 0,
    sessionsRestored: 0,
    recreated: 0,
    subscriptionsCreated: 0,
    lastError: null,
    lastPublishAtUtcMs: null,
  };
  // The watchdog's threshold: never below the lifetime the server granted.
  let effectiveStaleAfterMs = staleAfterMs;

  // Last delivered (time, status, value) per tag, to drop the values a restore sends again.
  const lastTime = new Float64Array(tags.length).fill(Number.NaN);
  const lastCode = new Float64Array(tags.length).fill(Number.NaN);
  const lastValue: (number | boolean | null)[] = new Array<number | boolean | null>(tags.length).fill(null);
  // Per tag: its clock judged off (logged on change); a type or precision problem already logged.
  const skewed = new Uint8Array(tags.length);
  const typeLogged = new Uint8Array(tags.length);
  const precisionLogged = new Uint8Array(tags.length);

  // Network time: the newest source time of a measurement delivered (setpoints may carry another clock,
  // values stamped with the server time because of a skewed source clock do not count).
  // It follows the server back when most tags' times go back (network-clock.ts), so gaps after a simulator
  // restart or a SCADA clock correction are stamped in the new time.
  const clock = new NetworkClock(tags.length);
  let everSubscribed = false;
  let openGap: OpenGap | undefined;
  // Set by the first Publish response after the subscription is back: the next delivery closes the gap.
  let gapClosable = false;
  const readyGaps: (IngestGap & { reason: GapReason })[] = [];
  let overflowed: { index: number; fromUtcMs: number; toUtcMs: number }[] = [];
  const allItems = tags.map((_, i) => i);

  const openGapFor = (reason: Exclude<GapReason, 'queue-overflow'>, why: string) => {
    if (stopped || !everSubscribed) return;
    gapClosable = false;
    if (openGap) {
      if (reason === 'subscription-recreated' && openGap.reason !== reason) {
        openGap.reason = reason;
        log.warn('subscriber: the gap now includes a new subscription; samples in it are lost', { why, sinceUtc: new Date(openGap.startWallUtcMs).toISOString() });
      }
      if (openGap.details.length < 5 && !openGap.details.includes(why)) openGap.details.push(why);
      return;
    }
    const wall = s.lastPublishAtUtcMs ?? Date.now();
    openGap = { reason, startUtcMs: Number.isFinite(clock.nowUtcMs) ? clock.nowUtcMs : wall, startWallUtcMs: wall, details: [why] };
    log.warn('subscriber: data gap opened', { reason, why, lastPublishUtc: new Date(wall).toISOString() });
  };

  const closeGap = (open: boolean) => {
    const g = openGap;
    if (!g) return;
    openGap = undefined;
    gapClosable = false;
    const now = Date.now();
    const end = Number.isFinite(clock.nowUtcMs) ? clock.nowUtcMs : now;
    const gap: IngestGap & { reason: GapReason } = {
      reason: g.reason,
      startUtcMs: g.startUtcMs,
      endUtcMs: Math.max(end, g.startUtcMs),
      startWallUtcMs: g.startWallUtcMs,
      endWallUtcMs: now,
      items: allItems,
      open,
      detail: g.details.join('; ') + (open ? '; stopped before data came back' : ''),
    };
    readyGaps.push(gap);
    log.warn(open ? 'subscriber: data gap still open at stop' : 'subscriber: data gap closed', {
      reason: gap.reason,
      wallMs: gap.endWallUtcMs - gap.startWallUtcMs,
      networkFromUtc: new Date(gap.startUtcMs).toISOString(),
      networkToUtc: new Date(gap.endUtcMs).toISOString(),
      items: gap.items.length,
    });
  };

  /** The overflows seen since the last delivery, as one queue-overflow gap. */
  const takeOverflowGap = () => {
    if (overflowed.length === 0) return;
    const list = overflowed;
    overflowed = [];
    const now = Date.now();
    const items = [...new Set(list.map((o) => o.index))].sort((a, b) => a - b);
    const starts = list.map((o) => (Number.isFinite(o.fromUtcMs) ? o.fromUtcMs : o.toUtcMs));
    const gap: IngestGap & { reason: GapReason } = {
      reason: 'queue-overflow',
      startUtcMs: Math.min(...starts),
      endUtcMs: Math.max(...list.map((o) => o.toUtcMs)),
      startWallUtcMs: s.lastPublishAtUtcMs ?? now,
      endWallUtcMs: now,
      items,
      open: false,
      detail: `the server discarded samples of ${items.length} item(s) (queue of ${s.revisedQueueSize ?? queueSize} full)`,
    };
    readyGaps.push(gap);
    log.warn('subscriber: the server queue overflowed; samples were discarded', {
      items: items.length,
      first: items.slice(0, 5).map((i) => `${tags[i]!.objectId}.${tags[i]!.tag}`),
      fromUtc: new Date(gap.startUtcMs).toISOString(),
      toUtc: new Date(gap.endUtcMs).toISOString(),
    });
  };

  let pending: TagUpdate[] = [];
  let deliverScheduled = false;
  const scheduleDeliver = () => {
    if (deliverScheduled) return;
    deliverScheduled = true;
    setImmediate(deliver);
  };
  function deliver() {
    deliverScheduled = false;
    if (openGap && gapClosable) closeGap(false);
    takeOverflowGap();
    if (readyGaps.length > 0) {
      const gaps = readyGaps.splice(0);
      for (const g of gaps) s.gaps[g.reason]++;
      if (options.onGaps) {
        try {
          options.onGaps(gaps);
        } catch (error) {
          s.lastError = errorText(error);
          log.error('subscriber: onGaps threw; these gaps are not recorded', { gaps: gaps.map((g) => `${g.reason} ${new Date(g.startUtcMs).toISOString()}…${new Date(g.endUtcMs).toISOString()}`), error: s.lastError });
        }
      }
    }
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    try {
      options.onUpdates(batch);
    } catch (error) {
      s.dropped += batch.length;
      s.droppedBatches++;
      s.lastError = errorText(error);
      const first = batch[0]!;
      log.error('subscriber: onUpdates threw; the values of this batch are lost', {
        values: batch.length,
        dropped: s.dropped,
        first: `${first.tag.objectId}.${first.tag.tag} at ${new Date(first.timeUtcMs).toISOString()}`,
        error: s.lastError,
      });
    }
  }

  const onValue = (index: number, dataValue: DataValue) => {
    const tag = tags[index];
    if (!tag) return;
    const code = dataValue.statusCode.value;
    const converted = convertVariant(dataValue.value);
    const value = converted.value;
    if (converted.unsupportedType !== null) {
      s.unsupportedValues++;
      if (!typeLogged[index]) {
        typeLogged[index] = 1;
        log.warn('subscriber: a value of a type ingest cannot store as a number; recorded in tag_status without it (logged once per tag)', {
          nodeId: tag.nodeId,
          object: tag.objectId,
          tag: tag.tag,
          type: converted.unsupportedType,
          expected: tag.dataType,
        });
      }
    } else if (converted.precisionLost && !precisionLogged[index]) {
      precisionLogged[index] = 1;
      log.warn('subscriber: a 64-bit integer beyond 2^53 was rounded to the nearest double (logged once per tag)', { nodeId: tag.nodeId, object: tag.objectId, tag: tag.tag, value });
    }
    const receivedAtUtcMs = Date.now();
    const sourceTimeUtcMs = dataValue.sourceTimestamp ? dataValue.sourceTimestamp.getTime() : null;
    const serverTimeUtcMs = dataValue.serverTimestamp ? dataValue.serverTimestamp.getTime() : null;
    let timeUtcMs = sourceTimeUtcMs ?? serverTimeUtcMs ?? receivedAtUtcMs;
    let clockSkewMs: number | null = null;
    if (maxClockSkewMs !== null && sourceTimeUtcMs !== null && serverTimeUtcMs !== null) {
      const skew = sourceTimeUtcMs - serverTimeUtcMs;
      if (Math.abs(skew) > maxClockSkewMs) {
        clockSkewMs = skew;
        timeUtcMs = serverTimeUtcMs;
        if (!skewed[index]) {
          skewed[index] = 1;
          log.warn('subscriber: source clock off from the server clock; values stamped with the server time', {
            nodeId: tag.nodeId,
            object: tag.objectId,
            tag: tag.tag,
            sourceUtc: new Date(sourceTimeUtcMs).toISOString(),
            serverUtc: new Date(serverTimeUtcMs).toISOString(),
            skewMs: skew,
          });
        }
      } else if (skewed[index]) {
        skewed[index] = 0;
        log.info('subscriber: source clock back in line with the server clock', { nodeId: tag.nodeId, object: tag.objectId, tag: tag.tag, skewMs: skew });
      }
    }
    if (dataValue.statusCode.hasOverflowBit) {
      s.overflows++;
      overflowed.push({ index, fromUtcMs: lastTime[index]!, toUtcMs: timeUtcMs });
      scheduleDeliver();
    }
    if (lastTime[index] === timeUtcMs && lastCode[index] === code && lastValue[index] === value) {
      s.duplicates++;
      return;
    }
    lastTime[index] = timeUtcMs;
    lastCode[index] = code;
    lastValue[index] = value;
    if (clockSkewMs !== null) s.clockSkewed++;
    else if (tag.access === 'read') {
      const jumpMs = clock.advance(index, timeUtcMs, receivedAtUtcMs);
      if (jumpMs !== 0) log.warn('subscriber: the server clock went back; network time follows it', { byMs: -jumpMs, nowUtc: new Date(clock.nowUtcMs).toISOString() });
    }
    const severity = severityOf(code);
    s.updates++;
    s[severity]++;
    pending.push({
      index,
      tag,
      value,
      statusCode: dataValue.statusCode.name,
      severity,
      timeUtcMs,
      sourceTimeUtcMs,
      serverTimeUtcMs,
      receivedAtUtcMs,
      clockSkewMs,
      unsupportedType: converted.unsupportedType,
    });
    scheduleDeliver();
  };

  let stopped = true;
  let loop: Promise<void> | undefined;
  let current: Generation | undefined;
  let subscribedWaiters: (() => void)[] = [];
  let watchdog: NodeJS.Timeout | undefined;

  const setState = (state: SubscriberState) => {
    s.state = state;
    if (state === 'subscribed') {
      everSubscribed = true;
      // Subscribed again: the error that broke the link is history (logged when it happened).
      s.lastError = null;
      for (const w of subscribedWaiters.splice(0)) w();
    }
  };

  const certificateManager = security.pkiFolder
    ? new OPCUACertificateManager({ rootFolder: security.pkiFolder, automaticallyAcceptUnknownCertificate: security.acceptUnknownServerCertificate ?? false })
    : undefined;

  /** Ask once whether the server could backfill a gap (HistoryRead); only logged, backfill is not attempted. */
  async function probeHistory(session: ClientSession): Promise<void> {
    if (s.historyReadSupported !== null) return;
    try {
      const dv = await session.read({ nodeId: `ns=0;i=${VariableIds.HistoryServerCapabilities_AccessHistoryDataCapability}`, attributeId: AttributeIds.Value });
      s.historyReadSupported = dv.statusCode.value < 0x80000000 && dv.value?.value === true;
    } catch {
      s.historyReadSupported = false;
    }
    log.info(
      s.historyReadSupported
        ? 'subscriber: the server offers HistoryRead; gaps are marked (ingest_gap), backfill is not implemented'
        : 'subscriber: the server does not offer HistoryRead; gaps are marked (ingest_gap), not backfilled',
      { endpointUrl: options.endpointUrl },
    );
  }

  /** One client, session and subscription, until something breaks it or stop() is called. */
  async function runGeneration(): Promise<string> {
    let breakWith!: (reason: string) => void;
    const broken = new Promise<string>((resolve) => (breakWith = resolve));
    const client = OPCUAClient.create({
      applicationName: options.applicationName ?? 'sewer-dispatch-ingest',
      endpointMustExist: false,
      securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
      securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
      // The first connect of a generation gives up after a few tries (our loop then backs off and
      // starts a new generation); after a drop, node-opcua reconnects with these delays, unbounded.
      connectionStrategy: { maxRetry: 2, initialDelay: initialDelayMs, maxDelay: maxDelayMs, randomisationFactor: 0.1 },
      keepSessionAlive: true,
      keepAliveInterval: Math.max(5_000, publishingIntervalMs * 2),
      requestedSessionTimeout: Math.max(60_000, staleAfterMs * 2),
      ...(certificateManager ? { clientCertificateManager: certificateManager } : {}),
    });
    const g: Generation = { client, groups: [], broken, breakWith };
    current = g;

    let backoffs = 0;
    client.on('backoff', (count: number, delay: number) => {
      backoffs++;
      if (count <= 1 || backoffs % 10 === 0) log.warn('subscriber: connection attempt failed; backing off', { attempt: count, delayMs: delay, endpointUrl: options.endpointUrl });
    });
    client.on('connection_lost', () => {
      s.connectionsLost++;
      setState('reconnecting');
      openGapFor('connection-lost', 'connection lost');
      log.warn('subscriber: connection lost; node-opcua is reconnecting', { endpointUrl: options.endpointUrl });
    });
    client.on('start_reconnection', () => log.info('subscriber: reconnection started'));
    client.on('reconnection_attempt_has_failed', (error: Error, message: string) => log.warn('subscriber: reconnection attempt failed', { message, error: errorText(error) }));
    client.on('after_reconnection', () => log.info('subscriber: reconnected (secure channel)'));
    client.on('connection_reestablished', () => log.info('subscriber: connection re-established'));

    await client.connect(options.endpointUrl);
    if (stopped) return 'stopped';
    const session = await client.createSession(userIdentity);
    g.session = session;
    session.on('session_closed', (statusCode: { name?: string }) => {
      if (!stopped) g.breakWith(`session closed (${statusCode?.name ?? 'unknown'})`);
    });
    session.on('keepalive_failure', () => log.warn('subscriber: session keep-alive failed'));
    session.on('session_restored', () => {
      s.sessionsRestored++;
      s.lastPublishAtUtcMs = Date.now();
      setState('subscribed');
      log.info('subscriber: session and subscription restored by the client reconnection');
    });
    session.on('session_repaired_failed', (error: Error) => g.breakWith(`session repair failed: ${errorText(error)}`));

    const subscription = await session.createSubscription2({
      requestedPublishingInterval: publishingIntervalMs,
      requestedLifetimeCount: lifetimeCount,
      requestedMaxKeepAliveCount: keepAliveCount,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 10,
    });
    g.subscription = subscription;
    s.subscriptionsCreated++;
    s.revisedPublishingIntervalMs = subscription.publishingInterval;
    s.revisedLifetimeMs = subscription.publishingInterval * subscription.lifetimeCount;
    if (s.revisedLifetimeMs > effectiveStaleAfterMs) {
      effectiveStaleAfterMs = s.revisedLifetimeMs;
      s.staleAfterMs = effectiveStaleAfterMs;
      log.warn('subscriber: the server granted a longer subscription lifetime; re-create waits for it', { revisedLifetimeMs: s.revisedLifetimeMs, staleAfterMs: effectiveStaleAfterMs });
    }
    s.lastPublishAtUtcMs = Date.now();
    subscription.on('raw_notification', (message: NotificationMessage) => {
      s.lastPublishAtUtcMs = Date.now();
      if (openGap && s.state === 'subscribed') {
        // Data flows again: the values of this response (processed before the next delivery) end the gap.
        gapClosable = true;
        if (!message.notificationData || message.notificationData.length === 0) scheduleDeliver();
      }
    });
    subscription.on('received_notifications', () => s.notifications++);
    subscription.on('keepalive', () => s.keepAlives++);
    subscription.on('subscriptionId_changed', (id: number, previous: number) => {
      s.subscriptionsCreated++;
      openGapFor('subscription-recreated', 'subscription re-created by the client reconnection');
      log.info('subscriber: subscription re-created by the client reconnection', { subscriptionId: id, previous });
    });
    subscription.on('status_changed', (status: { name?: string }) => log.warn('subscriber: subscription status changed', { status: status?.name }));
    subscription.on('internal_error', (error: Error) => log.warn('subscriber: subscription internal error', { error: errorText(error) }));
    subscription.on('terminated', () => {
      if (!stopped) g.breakWith('subscription terminated');
    });

    const monitorErrors: Record<string, string> = {};
    let monitored = 0;
    for (let base = 0; base < tags.length; base += maxItemsPerCall) {
      const slice = tags.slice(base, base + maxItemsPerCall);
      const group = await subscription.monitorItems(
        slice.map((t) => ({ nodeId: t.nodeId, attributeId: AttributeIds.Value })),
        { samplingInterval: samplingIntervalMs, queueSize, discardOldest: true },
        TimestampsToReturn.Both,
      );
      g.groups.push(group);
      group.monitoredItems.forEach((item: ClientMonitoredItemBase, i: number) => {
        if (item.statusCode && item.statusCode.value >= 0x80000000) monitorErrors[slice[i]!.nodeId] = item.statusCode.name;
        else monitored++;
        if (s.revisedSamplingIntervalMs === null && item.result) s.revisedSamplingIntervalMs = item.result.revisedSamplingInterval;
        if (s.revisedQueueSize === null && item.result && item.statusCode.value < 0x80000000) s.revisedQueueSize = item.result.revisedQueueSize;
      });
      group.on('changed', (_item: ClientMonitoredItemBase, dataValue: DataValue, index: number) => onValue(base + index, dataValue));
    }
    s.monitoredItems = monitored;
    s.monitorErrors = monitorErrors;
    if (Object.keys(monitorErrors).length > 0) log.error('subscriber: the server refused some monitored items', { count: Object.keys(monitorErrors).length, first: Object.entries(monitorErrors).slice(0, 5) });
    if (s.revisedQueueSize !== null && s.revisedQueueSize < queueSize) {
      const sampleEveryMs = (s.revisedSamplingIntervalMs ?? samplingIntervalMs) || EVERY_CHANGE_SIZED_AS_MS;
      log.warn('subscriber: the server caps the queue per item below the size asked for; a longer outage loses samples (reported as queue-overflow gaps)', {
        queueSize,
        revisedQueueSize: s.revisedQueueSize,
        ridesOutMs: s.revisedQueueSize * sampleEveryMs,
      });
    }
    log.info('subscriber: subscribed', {
      endpointUrl: options.endpointUrl,
      items: monitored,
      samplingIntervalMs: s.revisedSamplingIntervalMs,
      publishingIntervalMs: s.revisedPublishingIntervalMs,
      queueSize: s.revisedQueueSize ?? queueSize,
      lifetimeMs: s.revisedLifetimeMs,
      staleAfterMs: effectiveStaleAfterMs,
    });
    setState('subscribed');
    void probeHistory(session);
    return broken;
  }

  async function teardown(g: Generation | undefined): Promise<void> {
    if (!g) return;
    if (current === g) current = undefined;
    await within(g.subscription?.terminate(), 2_000);
    await within(g.session?.close(true), 2_000);
    await within(g.client.disconnect(), 5_000);
  }

  async function runLoop(): Promise<void> {
    let delay = initialDelayMs;
    let first = true;
    while (!stopped) {
      setState(first ? 'connecting' : 'reconnecting');
      let reason: string;
      const startedAt = Date.now();
      try {
        reason = await runGeneration();
      } catch (error) {
        reason = `could not subscribe: ${errorText(error)}`;
      }
      const g = current;
      if (!stopped) openGapFor('subscription-recreated', reason);
      await teardown(g);
      if (stopped) break;
      s.lastError = reason;
      s.recreated++;
      first = false;
      // A generation that ran for a while resets the backoff.
      if (Date.now() - startedAt > maxDelayMs * 3) delay = initialDelayMs;
      log.warn('subscriber: re-creating client, session and subscription', { reason, retryInMs: delay });
      await sleep(delay);
      delay = Math.min(maxDelayMs, delay * 2);
    }
    setState('stopped');
  }

  return {
    start() {
      if (!stopped) return;
      stopped = false;
      log.info('subscriber: starting', {
        endpointUrl: options.endpointUrl,
        tags: tags.length,
        security: security.mode,
        samplingIntervalMs,
        publishingIntervalMs,
        lifetimeMs: timing.lifetimeMs,
        queueSize,
        ridesOutMs: timing.outageToRideOutMs,
        maxClockSkewMs,
        reconnect: `node-opcua reconnection (keepSessionAlive, unbounded retries, delay ${initialDelayMs}→${maxDelayMs} ms) + re-create when no publish for ${staleAfterMs} ms`,
      });
      watchdog = setInterval(() => {
        const g = current;
        if (!g || s.state === 'connecting' || s.lastPublishAtUtcMs === null || !g.subscription) return;
        const silentMs = Date.now() - s.lastPublishAtUtcMs;
        if (silentMs > effectiveStaleAfterMs) g.breakWith(`no publish response for ${silentMs} ms`);
      }, Math.min(1000, Math.max(100, staleAfterMs / 4)));
      watchdog.unref();
      loop = runLoop();
    },
    waitUntilSubscribed(timeoutMs) {
      if (s.state === 'subscribed') return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          subscribedWaiters = subscribedWaiters.filter((w) => w !== done);
          reject(new Error(`not subscribed to ${options.endpointUrl} within ${timeoutMs} ms (state ${s.state}; last error: ${s.lastError ?? 'none'})`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        subscribedWaiters.push(done);
      });
    },
    stats() {
      return { ...s, gaps: { ...s.gaps }, monitorErrors: { ...s.monitorErrors } };
    },
    async stop() {
      if (stopped) return;
      const wasSubscribed = s.state === 'subscribed';
      stopped = true;
      if (watchdog) clearInterval(watchdog);
      const g = current;
      if (g) {
        g.breakWith('stopped');
        // Abort a connect in progress.
        if (!g.session) await within(g.client.disconnect(), 5_000);
      }
      await loop;
      // A gap still open runs to the stop: recorded as open unless the subscription was back.
      closeGap(!wasSubscribed);
      deliver();
      log.info('subscriber: stopped', { updates: s.updates, duplicates: s.duplicates, dropped: s.dropped, gaps: s.gaps, recreated: s.recreated, sessionsRestored: s.sessionsRestored });
    },
  };
}
