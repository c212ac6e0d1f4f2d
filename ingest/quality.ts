// Sensor quality: flags faulty sensors from the values and status codes the subscriber receives.
//
//   flatline          a measurement that should move has not changed by more than epsilon for a while
//                     (not raised while the value sits at a physical limit: an empty pipe, a full wet well)
//   out_of_range      a value outside the plausible range derived from the network description
//   bad_status        the OPC UA status is Bad (sensor failure, no communication, …)
//   uncertain_status  the OPC UA status is Uncertain
//   clock_skew        the source timestamp is further from the server timestamp than the subscriber allows
//                     (maxClockSkewMs): the device clock is wrong, its values are stamped with the server time
//
// Time is the network's: the newest source timestamp of a measurement, so a simulator running faster or
// slower than real time is judged in its own time and a live SCADA in wall time. A subscription only reports changes, so
// flat lines are found by tick(), not by observe(). A value whose clock is skewed does not move the network
// time: one analyser a day ahead would otherwise age every other sensor by a day and flag them flat. When the
// network's clock itself goes back (network-clock.ts), the flat-line anchors move back with it.
//
// Flags outlive the process: restore() takes the flags a previous run left active (in InfluxDB or the
// state file) so the first value that shows the condition gone writes the clear (otherwise a fault fixed
// while ingest was down stays "active" in the alerts and dashboards for days).
//
// Every flag carries its explanation in Chinese and English (detailZh, detail) and the numbers behind it.
import { NetworkClock } from './network-clock.js';
import type { NetworkConfig, QualityParameter } from '../network/schema.js';
import type { ResolvedTag } from '../network/tags.js';

export type FlagKind = 'flatline' | 'out_of_range' | 'bad_status' | 'uncertain_status' | 'clock_skew';

export interface SensorFlag {
  objectId: string;
  objectKind: string;
  tag: string;
  kind: FlagKind;
  /** Network time the condition was detected (UTC ms). */
  sinceUtcMs: number;
  /** Explanation, English and Chinese (dispatchers read Chinese first). */
  detail: string;
  detailZh: string;
  /** The reading behind the flag (flatline: the value it sits at; out_of_range: the value), when there is one. */
  value?: number;
}

export interface FlagChange {
  flag: SensorFlag;
  active: boolean;
  atUtcMs: number;
}

export interface PlausibleRange {
  min: number;
  max: number;
}

export interface FlatLineRule {
  /** No change beyond epsilon for this long raises the flag. */
  windowMs: number;
  epsilon: number;
  /** Values at which a flat line is expected (a physical limit), so no flag is raised. */
  exempt?: (value: number) => boolean;
}

export interface QualityOptions {
  /** Extra height above the overflow level still plausible for a wet-well level (default 0.5 m). */
  levelMarginM?: number;
  /** Pumped flow may read up to this × installed pump capacity (default 1.5). */
  pumpedFlowFactor?: number;
  /** Inflow and overflow may read up to this × installed pump capacity (default 15; storms reach ~8.5 on the reference network). */
  inflowFactor?: number;
  /** Plant inflow and bypass may read up to this × hydraulic capacity (default 3). */
  plantFlowFactor?: number;
  /** Highest plausible tank level (m; the network gives volume, not depth; default 15). */
  tankMaxLevelM?: number;
  /** Flat-line window for quality analysers (default 30 min). */
  analyserFlatLineMs?: number;
  /** Flat-line window for wet-well levels and inflows (default 3 h: a pumped well can sit still for an hour). */
  hydraulicFlatLineMs?: number;
  /** Per-tag overrides, keyed "objectId/tag". */
  ranges?: Record<string, PlausibleRange>;
  flatLine?: Record<string, FlatLineRule | null>;
}

const analyserRanges: Record<QualityParameter, PlausibleRange> = {
  codMgL: { min: 0, max: 20_000 },
  nh3nMgL: { min: 0, max: 1_000 },
  tpMgL: { min: 0, max: 200 },
  tnMgL: { min: 0, max: 1_000 },
  ssMgL: { min: 0, max: 20_000 },
  ph: { min: 0, max: 14 },
};

const analyserEpsilon: Record<QualityParameter, number> = { codMgL: 1e-3, nh3nMgL: 1e-4, tpMgL: 1e-5, tnMgL: 1e-4, ssMgL: 1e-3, ph: 1e-5 };

const key = (objectId: string, tag: string) => `${objectId}/${tag}`;

/** The plausible range of every tag, derived from the network (levels within [0, overflow + margin], …). */
export function plausibleRanges(network: NetworkConfig, tags: readonly ResolvedTag[], options: QualityOptions = {}): Map<string, PlausibleRange> {
  const margin = options.levelMarginM ?? 0.5;
  const pumped = options.pumpedFlowFactor ?? 1.5;
  const inflow = options.inflowFactor ?? 15;
  const tankMaxLevelM = options.tankMaxLevelM ?? 15;
  const plantFactor = options.plantFlowFactor ?? 3;
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const tanks = new Map(network.tanks.map((t) => [t.id, t]));
  const plants = new Map(network.plants.map((p) => [p.id, p]));
  const links = new Map(network.interconnections.map((x) => [x.id, x]));
  const ranges = new Map<string, PlausibleRange>();
  const any: PlausibleRange = { min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY };
  for (const t of tags) {
    let r: PlausibleRange = any;
    const s = stations.get(t.objectId);
    const tank = tanks.get(t.objectId);
    const plant = plants.get(t.objectId);
    const link = links.get(t.objectId);
    if (t.objectKind === 'station' && s) {
      const capacity = s.pumps.reduce((a, p) => a + p.capacityM3h, 0);
      const pumps = s.pumps.length;
      const byTag: Record<string, PlausibleRange> = {
        levelM: { min: 0, max: s.levels.overflowM + margin },
        inflowM3h: { min: 0, max: capacity * inflow },
        outflowM3h: { min: 0, max: capacity * pumped },
        overflowM3h: { min: 0, max: capacity * inflow },
        pumpsRunning: { min: 0, max: pumps },
        pumpsAvailable: { min: 0, max: pumps },
        mode: { min: 0, max: 1 },
        energyKwh: { min: 0, max: Number.POSITIVE_INFINITY },
        pumpStarts: { min: 0, max: 4_294_967_295 },
        startLevelSpM: s.envelope.startLevelM,
        stopLevelSpM: s.envelope.stopLevelM,
        flowSpM3h: s.envelope.flowSetpointM3h,
        pumpsAllowedSp: { min: 0, max: pumps },
        remoteControlSp: { min: 0, max: 1 },
        heartbeat: { min: 0, max: 4_294_967_295 },
      };
      r = byTag[t.tag] ?? any;
    } else if (t.objectKind === 'tank' && tank) {
      const byTag: Record<string, PlausibleRange> = {
        levelM: { min: 0, max: tankMaxLevelM },
        volumeM3: { min: 0, max: tank.capacityM3 * 1.05 },
        inletM3h: { min: 0, max: tank.inletMaxM3h * pumped },
        outletM3h: { min: 0, max: tank.outletMaxM3h * pumped },
        overflowM3h: { min: 0, max: tank.inletMaxM3h * inflow },
        inletSpM3h: tank.envelope.inletM3h,
        outletSpM3h: tank.envelope.outletM3h,
      };
      r = byTag[t.tag] ?? any;
    } else if (t.objectKind === 'plant' && plant) {
      r = { min: 0, max: plant.capacityM3h * plantFactor };
    } else if (t.objectKind === 'interconnection' && link) {
      r = t.tag === 'transferM3h' ? { min: -link.capacityM3h * pumped, max: link.capacityM3h * pumped } : { min: -link.capacityM3h, max: link.capacityM3h };
    } else if (t.objectKind === 'analyser') {
      r = analyserRanges[t.tag as QualityParameter] ?? any;
    }
    ranges.set(key(t.objectId, t.tag), options.ranges?.[key(t.objectId, t.tag)] ?? r);
  }
  return ranges;
}

/** Which tags are watched for flat lines, and how (analysers, wet-well levels, station inflows). */
export function flatLineRules(network: NetworkConfig, tags: readonly ResolvedTag[], options: QualityOptions = {}): Map<string, FlatLineRule> {
  const analyserMs = options.analyserFlatLineMs ?? 30 * 60_000;
  const hydraulicMs = options.hydraulicFlatLineMs ?? 3 * 3_600_000;
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const rules = new Map<string, FlatLineRule>();
  for (const t of tags) {
    if (t.access !== 'read') continue;
    let rule: FlatLineRule | undefined;
    if (t.objectKind === 'analyser') {
      rule = { windowMs: analyserMs, epsilon: analyserEpsilon[t.tag as QualityParameter] ?? 1e-4 };
    } else if (t.objectKind === 'station') {
      const s = stations.get(t.objectId);
      if (s && t.tag === 'levelM') {
        // Dry wet well, or full to the overflow weir: a level at a limit stays put.
        rule = { windowMs: hydraulicMs, epsilon: 1e-4, exempt: (v) => v <= 0.01 || v >= s.levels.overflowM - 0.01 };
      } else if (t.tag === 'inflowM3h') {
        rule = { windowMs: hydraulicMs, epsilon: 1e-3, exempt: (v) => v <= 0 };
      }
    }
    const override = options.flatLine?.[key(t.objectId, t.tag)];
    if (override === null) continue;
    if (override) rule = override;
    if (rule) rules.set(key(t.objectId, t.tag), rule);
  }
  return rules;
}

/** What the monitor needs of one received value (a subset of the subscriber's TagUpdate). */
export interface QualityObservation {
  /** Index of the tag in the tag list the monitor was built with. */
  index: number;
  value: number | boolean | null;
  statusCode: string;
  severity: 'good' | 'uncertain' | 'bad';
  timeUtcMs: number;
  /**
   * Source minus server time when the subscriber found them too far apart (timeUtcMs is then the server
   * time); null when they agree; undefined when not known (the clock_skew flag is left as it is).
   */
  clockSkewMs?: number | null;
}

/** "26 h 0 min", "12 min 5 s", "40 s". */
function duration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}

/** "26 小时 0 分", "12 分 5 秒", "40 秒". */
function durationZh(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s >= 3600) return `${Math.floor(s / 3600)} 小时 ${Math.floor((s % 3600) / 60)} 分`;
  if (s >= 60) return `${Math.floor(s / 60)} 分 ${s % 60} 秒`;
  return `${s} 秒`;
}

interface Detail {
  en: string;
  zh: string;
  value?: number;
}
const noDetail: Detail = { en: '', zh: '' };
const statusDetail = (code: string): Detail => ({ en: `status ${code}`, zh: `状态 ${code}` });
const flatDetail = (epsilon: number, minutes: number, value: number): Detail => ({
  en: `no change beyond ${epsilon} for ${minutes} min (value ${value})`,
  zh: `${minutes} 分钟内变化不超过 ${epsilon}（读数 ${value}）`,
  value,
});

interface TagState {
  tag: ResolvedTag;
  range: PlausibleRange;
  flat: FlatLineRule | undefined;
  /** Value and time of the last change beyond epsilon. */
  anchor: number | null;
  anchorAtUtcMs: number;
  /** The observation that set the anchor (to tell anchors of the old clock from the new after a reset). */
  anchorSeq: number;
  last: number | null;
  active: Map<FlagKind, SensorFlag>;
}

export class SensorQualityMonitor {
  private readonly states: TagState[];
  private readonly clock: NetworkClock;
  private seq = 0;
  /** The observation with which tags began going back (network-clock.ts). */
  private behindSinceSeq = 0;

  constructor(network: NetworkConfig, tags: readonly ResolvedTag[], options: QualityOptions = {}) {
    const ranges = plausibleRanges(network, tags, options);
    const rules = flatLineRules(network, tags, options);
    this.states = tags.map((tag) => ({
      tag,
      range: ranges.get(key(tag.objectId, tag.tag))!,
      flat: rules.get(key(tag.objectId, tag.tag)),
      anchor: null,
      anchorAtUtcMs: 0,
      anchorSeq: 0,
      last: null,
      active: new Map(),
    }));
    this.clock = new NetworkClock(tags.length);
  }

  /** Times the network clock went back (network-clock.ts). */
  get clockResets(): number {
    return this.clock.resets;
  }

  /**
   * Take over flags a previous run left active. A flag of a tag still monitored is held until the first
   * value of that tag shows whether it still applies (a flat line keeps its anchor, so a sensor still stuck
   * stays flagged). Returns clears for flags of tags no longer monitored, at `atUtcMs` (after their raise).
   */
  restore(flags: readonly SensorFlag[], atUtcMs: number): FlagChange[] {
    const changes: FlagChange[] = [];
    for (const f of flags) {
      const s = this.states.find((x) => x.tag.objectId === f.objectId && x.tag.tag === f.tag);
      if (!s) {
        changes.push({ flag: { ...f }, active: false, atUtcMs: Math.max(atUtcMs, f.sinceUtcMs + 1) });
        continue;
      }
      if (s.active.has(f.kind)) continue;
      s.active.set(f.kind, { ...f, objectKind: s.tag.objectKind });
      if (f.kind === 'flatline' && s.flat && f.value !== undefined && Number.isFinite(f.value)) {
        s.anchor = f.value;
        s.anchorAtUtcMs = f.sinceUtcMs - s.flat.windowMs;
      }
    }
    return changes;
  }

  /** Newest source time seen: the monitor's "now". */
  get nowUtcMs(): number {
    return this.clock.nowUtcMs;
  }

  /** Check one received value; returns the flags it raised or cleared. */
  observe(o: QualityObservation): FlagChange[] {
    const s = this.states[o.index];
    if (!s) throw new RangeError(`quality: no tag with index ${o.index}`);
    // The clock comes from measurements only: a server may stamp setpoints (read on demand) with its wall
    // time while measurements carry the time they were taken, as the simulator does when it runs slow or fast.
    // Nor from a measurement whose source clock is off: it is an outlier, not the network's time.
    const skewed = o.clockSkewMs !== undefined && o.clockSkewMs !== null;
    const seq = ++this.seq;
    if (s.tag.access === 'read' && !skewed) {
      if (this.clock.pendingBehind === 0) this.behindSinceSeq = seq;
      const jumpMs = this.clock.advance(o.index, o.timeUtcMs);
      // The clock went back: flat-line anchors of the old clock move with it, keeping how long each tag has
      // been still (anchors set by values of the new clock stay).
      if (jumpMs !== 0) for (const x of this.states) if (x.anchorSeq < this.behindSinceSeq) x.anchorAtUtcMs += jumpMs;
    }
    const changes: FlagChange[] = [];
    const t = o.timeUtcMs;
    if (o.clockSkewMs !== undefined) {
      const skew = o.clockSkewMs ?? 0;
      const detail: Detail = skewed
        ? {
            en: `source clock ${duration(skew)} ${skew > 0 ? 'ahead of' : 'behind'} the server clock; values stamped with the server time`,
            zh: `源时钟${skew > 0 ? '快于' : '慢于'}服务器时钟 ${durationZh(skew)}；数据按服务器时间记录`,
          }
        : noDetail;
      this.set(s, 'clock_skew', skewed, t, detail, changes);
    }
    this.set(s, 'bad_status', o.severity === 'bad', t, statusDetail(o.statusCode), changes);
    this.set(s, 'uncertain_status', o.severity === 'uncertain', t, statusDetail(o.statusCode), changes);
    const numeric = typeof o.value === 'number' ? o.value : typeof o.value === 'boolean' ? Number(o.value) : null;
    if (o.severity === 'bad' || numeric === null) {
      // No usable value: range and flat-line tracking restart when values return.
      this.set(s, 'out_of_range', false, t, noDetail, changes);
      s.anchor = null;
      s.last = null;
      return changes;
    }
    // An Uncertain value still carries a reading: it is checked, though it is not stored as telemetry.
    const outside = !Number.isFinite(numeric) || numeric < s.range.min || numeric > s.range.max;
    const rangeDetail: Detail = outside ? { en: `value ${numeric} outside [${s.range.min}, ${s.range.max}]`, zh: `读数 ${numeric} 超出合理范围 [${s.range.min}, ${s.range.max}]`, value: numeric } : noDetail;
    this.set(s, 'out_of_range', outside, t, rangeDetail, changes);
    s.last = numeric;
    if (s.flat) {
      if (s.anchor === null || Math.abs(numeric - s.anchor) > s.flat.epsilon) {
        s.anchor = numeric;
        s.anchorAtUtcMs = t;
        s.anchorSeq = seq;
        this.set(s, 'flatline', false, t, noDetail, changes);
      }
    }
    return changes;
  }

  /** Raise or clear flat-line flags at network time `nowUtcMs` (default: the newest source time seen). */
  tick(nowUtcMs: number = this.clock.nowUtcMs): FlagChange[] {
    const changes: FlagChange[] = [];
    if (!Number.isFinite(nowUtcMs)) return changes;
    for (const s of this.states) {
      if (!s.flat || s.anchor === null) continue;
      const still = nowUtcMs - s.anchorAtUtcMs;
      const flat = still >= s.flat.windowMs && !(s.flat.exempt?.(s.anchor) ?? false);
      if (flat !== s.active.has('flatline')) {
        const minutes = Math.round(still / 60_000);
        this.set(s, 'flatline', flat, flat ? s.anchorAtUtcMs + s.flat.windowMs : nowUtcMs, flatDetail(s.flat.epsilon, minutes, s.anchor), changes);
      }
    }
    return changes;
  }

  /** Every flag in force, ordered by object, tag and kind. */
  active(): SensorFlag[] {
    const out: SensorFlag[] = [];
    for (const s of this.states) for (const f of s.active.values()) out.push({ ...f });
    return out.sort((a, b) => a.objectId.localeCompare(b.objectId) || a.tag.localeCompare(b.tag) || a.kind.localeCompare(b.kind));
  }

  rangeOf(objectId: string, tag: string): PlausibleRange | undefined {
    return this.states.find((s) => s.tag.objectId === objectId && s.tag.tag === tag)?.range;
  }

  private set(s: TagState, kind: FlagKind, on: boolean, atUtcMs: number, detail: Detail, changes: FlagChange[]): void {
    const current = s.active.get(kind);
    if (on && !current) {
      const flag: SensorFlag = {
        objectId: s.tag.objectId,
        objectKind: s.tag.objectKind,
        tag: s.tag.tag,
        kind,
        sinceUtcMs: atUtcMs,
        detail: detail.en,
        detailZh: detail.zh,
        ...(detail.value !== undefined ? { value: detail.value } : {}),
      };
      s.active.set(kind, flag);
      changes.push({ flag: { ...flag }, active: true, atUtcMs });
    } else if (!on && current) {
      s.active.delete(kind);
      // A flag restored from a previous run may be older than the value that clears it shows: clear after it.
      changes.push({ flag: { ...current }, active: false, atUtcMs: Math.max(atUtcMs, current.sinceUtcMs) });
    }
  }
}
