// Rain for planning, per catchment on the planning grid (15 min), deterministic and ensemble, from the
// Open-Meteo connector — with the last good forecast kept and visible fallbacks:
//
//   fresh            the service answered now and the answer passed the checks;
//   fresh-with-gaps  as fresh, but some steps of the planning horizon are unknown (NaN on the wire, or beyond
//                    the end of a short answer), ensemble members were dropped as mostly missing, or much of
//                    the past rain (RDII state) is missing — the reason says which;
//   stale     the service failed (or answered badly); the last good forecast is used, flagged with its
//             age, while it is younger than `maxStaleMin`;
//   fallback  no usable forecast: climatology (zero rain or a configured hourly climatology) or
//             persistence of the recent observed rate — said so in `quality` and `reason`.
//
// Never silent: missing values (NaN on the wire, null from the connector) stay null and are listed in
// `gaps`; steps the chosen forecast does not cover (a short answer, no forecast at all) stay null too and
// are listed in `uncovered`. Unknown is never dry here: only the inflow model fills unknown steps, by
// `fallbackMm`, and flags it. The share of missing values that refuses an answer is taken over the planning
// horizon alone; the past hours (RDII state) are judged apart.
// Answers whose time axis is hours away from "now" are rejected (the UTC vs UTC+8 mistake), and
// catchment coordinates are checked before any request.
//
// Time convention: planning steps are [t, t + step); Open-Meteo labels an accumulation with the END of
// its interval (connectors/openmeteo.ts), so an hourly value labelled t covers [t − 1 h, t) and is
// split evenly over its four 15-min steps.
import type { ForecastLocation, LocationEnsemble, LocationForecast, OpenMeteoConnector } from '../connectors/openmeteo.js';
import type { RainForecast } from '../activities/types.js';
import type { NetworkConfig } from '../network/schema.js';
import { createCalendar, MS_PER_H, MS_PER_MIN } from './calendar.js';

export type RainQuality = 'fresh' | 'fresh-with-gaps' | 'stale' | 'fallback';

export type RainFallback =
  /** No rain, flagged. */
  | { kind: 'zero' }
  /** Mean rain rate per local hour 0..23 (mm/h), e.g. the season's climatology. */
  | { kind: 'climatology'; hourlyMmPerH: readonly number[]; name?: string }
  /** The recent observed rate continues, decaying with e-folding time decayH (default 3 h). */
  | { kind: 'persistence'; observedMmPerH: (catchmentId: string, nowUtcMs: number) => number | null; decayH?: number };

export interface RainLocation {
  catchmentId: string;
  latDeg: number;
  lonDeg: number;
}

/** A forecast kept for reuse: per catchment on an absolute 15-min grid. */
export interface StoredRain {
  issuedAtUtcMs: number;
  source: string;
  startUtcMs: number;
  stepMin: number;
  /** The provider's step (a multiple of stepMin; its values were split evenly), e.g. 60 for an hourly ensemble. */
  sourceStepMin?: number;
  /** catchmentId → values (deterministic) */
  deterministic: Record<string, (number | null)[]>;
  /** catchmentId → members → values (ensemble); absent for a deterministic record. */
  members?: Record<string, (number | null)[][]>;
}

export interface LastGoodStore {
  load(kind: 'deterministic' | 'ensemble'): Promise<StoredRain | undefined>;
  save(kind: 'deterministic' | 'ensemble', rain: StoredRain): Promise<void>;
}

export function memoryLastGoodStore(): LastGoodStore {
  const kept = new Map<string, StoredRain>();
  return {
    load: (kind) => Promise.resolve(kept.get(kind)),
    save: (kind, rain) => {
      kept.set(kind, rain);
      return Promise.resolve();
    },
  };
}

export interface RainSourceOptions {
  connector: OpenMeteoConnector;
  /** Catchments of a network, or explicit locations. */
  locations: NetworkConfig | readonly RainLocation[];
  /** IANA zone for climatology hours (default: the network's, else Asia/Shanghai). */
  timeZone?: string;
  /** Planning step (default 15 min; 60 also works). */
  stepMin?: number;
  horizonH: number;
  /** A last good forecast older than this is not used (default 360 min). */
  maxStaleMin?: number;
  fallback?: RainFallback;
  /** Fetch the ensemble too (default true). */
  ensemble?: boolean;
  /**
   * Reuse the last good ensemble while it is younger than this instead of calling again (default 0:
   * every time). Ensemble runs come every 6–12 h and weigh ~5 calls per location (rate limits).
   */
  ensembleRefreshMin?: number;
  /** Hours of rain before now to fetch with the forecast (the API's past_hours), for the RDII state (default 0). */
  pastH?: number;
  /** Use Open-Meteo's 15-minutely deterministic series when the step is 15 min (default true). */
  useMinutely15?: boolean;
  /** An answer with more missing values than this share of the planning horizon is not "good" (default 0.2). */
  maxGapShare?: number;
  /** An ensemble member with more than this share of the horizon missing is dropped (default 0.5). */
  maxMemberGapShare?: number;
  nowUtcMs?: () => number;
  store?: LastGoodStore;
  sourceName?: string;
}

export interface CatchmentRain {
  catchmentId: string;
  /** mm over each planning step; null = gap (see `gaps`). */
  precipitationMm: (number | null)[];
  /** mm over each step of the `pastH` hours before the start (the forecast's past hours); null = not known. */
  pastMm: (number | null)[];
  /** Ensemble members (may be empty, see `ensemble.quality`). */
  members: (number | null)[][];
}

export interface RainGap {
  catchmentId: string;
  /** null: the deterministic series; else the ensemble member. */
  member: number | null;
  fromUtcMs: number;
  toUtcMs: number;
  reason: string;
}

export interface RainPart {
  quality: RainQuality;
  reason: string | null;
  /** When the forecast used was received; null for a pure fallback. */
  issuedAtUtcMs: number | null;
  ageMin: number | null;
}

/** Something about one catchment's rain that its station's inflow forecast must say. */
export interface CatchmentNote {
  catchmentId: string;
  text: string;
}

export interface PlanningRain extends RainPart {
  startUtcMs: number;
  stepMin: number;
  steps: number;
  /** Steps of `pastMm` (ending at startUtcMs). */
  pastSteps: number;
  source: string;
  /** `members`: used (after dropping mostly missing ones); `membersDropped`: dropped from the answer used. */
  ensemble: RainPart & { members: number; membersDropped: number };
  catchments: CatchmentRain[];
  /** Missing values inside the forecast (kept as null). */
  gaps: RainGap[];
  /** Steps the forecast used does not cover (kept as null): a short answer, or no forecast at all. */
  uncovered: RainGap[];
  /** What the inflow model fills unknown steps with (`fallbackMm`), e.g. "zero rain (no forecast)". */
  fallbackLabel: string;
  /** Forecast-level remarks for the inflow forecast's flags (beyond quality and reason). */
  notes: string[];
  /** Per-catchment remarks for the flags of the station the catchment drains to. */
  catchmentNotes: CatchmentNote[];
}

export interface RainSource {
  /** Rain for the planning horizon starting at the current step. */
  get(): Promise<PlanningRain>;
  /** The fallback's depth (mm) for one step, e.g. to fill gaps with the same rule, visibly. */
  fallbackMm: (catchmentId: string, stepStartUtcMs: number, stepMin: number) => number;
}

/** Clear errors for coordinates before anything is requested. */
export function checkRainLocations(locations: readonly RainLocation[]): void {
  if (locations.length === 0) throw new RangeError('rain source: no catchment locations');
  const seen = new Set<string>();
  for (const { catchmentId, latDeg, lonDeg } of locations) {
    if (!catchmentId) throw new RangeError(`rain source: a location has no catchment id (lat ${latDeg}, lon ${lonDeg})`);
    if (seen.has(catchmentId)) throw new RangeError(`rain source: catchment ${catchmentId} appears twice`);
    seen.add(catchmentId);
    const swapped = Math.abs(latDeg) > 90 && Math.abs(latDeg) <= 180 && Math.abs(lonDeg) <= 90 ? ' (latitude and longitude swapped?)' : '';
    if (!Number.isFinite(latDeg) || latDeg < -90 || latDeg > 90) throw new RangeError(`rain source: catchment ${catchmentId}: latDeg ${latDeg} is outside [-90, 90]${swapped}`);
    if (!Number.isFinite(lonDeg) || lonDeg < -180 || lonDeg > 180) throw new RangeError(`rain source: catchment ${catchmentId}: lonDeg ${lonDeg} is outside [-180, 180]`);
  }
}

function locationsOf(input: NetworkConfig | readonly RainLocation[]): RainLocation[] {
  if (Array.isArray(input)) return [...(input as readonly RainLocation[])];
  return (input as NetworkConfig).catchments.map((c) => ({ catchmentId: c.id, latDeg: c.location.latDeg, lonDeg: c.location.lonDeg }));
}

/** Check an answer's time axis against "now": hours off means a time-zone mistake, not a forecast. */
export function checkTimeAxis(firstLabelUtcMs: number, stepMin: number, nowUtcMs: number, what: string): void {
  const stepMs = stepMin * MS_PER_MIN;
  const expected = Math.floor(nowUtcMs / stepMs) * stepMs;
  const offsetMs = firstLabelUtcMs - expected;
  // Allow the current and the next label, or a step of history before them.
  if (offsetMs < -stepMs || offsetMs > stepMs) {
    const offsetH = offsetMs / MS_PER_H;
    const hint = Math.abs(Math.abs(offsetH) - 8) < 0.5 ? ' — 8 h is the UTC+8 offset: the answer looks like local time (Asia/Shanghai) read as UTC, or the reverse' : '';
    throw new RangeError(
      `${what}: time axis starts at ${new Date(firstLabelUtcMs).toISOString()}, ${offsetH >= 0 ? '+' : ''}${offsetH.toFixed(2)} h from the current step ${new Date(expected).toISOString()}${hint}`,
    );
  }
}

/** End-labelled accumulations onto a start-labelled grid of `stepMin` (split evenly; null stays null). */
export function toStepGrid(timeUtcMs: readonly number[], valuesMm: readonly (number | null)[], sourceStepMin: number, stepMin: number): { startUtcMs: number; values: (number | null)[] } {
  if (timeUtcMs.length === 0) return { startUtcMs: 0, values: [] };
  const parts = sourceStepMin / stepMin;
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`toStepGrid: a ${sourceStepMin}-min series cannot be split into ${stepMin}-min steps`);
  const startUtcMs = timeUtcMs[0]! - sourceStepMin * MS_PER_MIN;
  const values: (number | null)[] = [];
  valuesMm.forEach((v) => {
    for (let p = 0; p < parts; p++) values.push(v === null || v === undefined ? null : v / parts);
  });
  return { startUtcMs, values };
}

export function createRainSource(options: RainSourceOptions): RainSource {
  const locations = locationsOf(options.locations);
  checkRainLocations(locations);
  const timeZone = options.timeZone ?? (Array.isArray(options.locations) ? 'Asia/Shanghai' : (options.locations as NetworkConfig).timezone);
  const calendar = createCalendar(timeZone);
  const stepMin = options.stepMin ?? 15;
  if (!(Number.isInteger(stepMin) && stepMin >= 1 && 60 % stepMin === 0)) throw new RangeError(`rain source: stepMin must divide 60, got ${stepMin}`);
  if (!(Number.isInteger(options.horizonH) && options.horizonH >= 1)) throw new RangeError(`rain source: horizonH must be a whole number ≥ 1, got ${options.horizonH}`);
  const maxStaleMin = options.maxStaleMin ?? 360;
  const pastH = options.pastH ?? 0;
  if (!(Number.isInteger(pastH) && pastH >= 0 && pastH <= 92 * 24)) throw new RangeError(`rain source: pastH must be a whole number of hours in [0, 2208], got ${pastH}`);
  const ensembleRefreshMin = options.ensembleRefreshMin ?? 0;
  if (!(ensembleRefreshMin >= 0)) throw new RangeError(`rain source: ensembleRefreshMin must be ≥ 0, got ${ensembleRefreshMin}`);
  const fallback = options.fallback ?? { kind: 'zero' };
  if (fallback.kind === 'climatology' && (fallback.hourlyMmPerH.length !== 24 || fallback.hourlyMmPerH.some((v) => !(v >= 0)))) {
    throw new RangeError('rain source: climatology needs 24 hourly rates ≥ 0 (mm/h, local hours 0..23)');
  }
  const wantEnsemble = options.ensemble ?? true;
  const useMinutely15 = (options.useMinutely15 ?? true) && stepMin === 15;
  const maxGapShare = options.maxGapShare ?? 0.2;
  const maxMemberGapShare = options.maxMemberGapShare ?? 0.5;
  const now = options.nowUtcMs ?? Date.now;
  const store = options.store ?? memoryLastGoodStore();
  const sourceName = options.sourceName ?? 'open-meteo';
  const stepMs = stepMin * MS_PER_MIN;
  // Fetch enough hours that a stale forecast still covers the horizon.
  const fetchHours = options.horizonH + Math.ceil(maxStaleMin / 60) + 1;
  const connectorLocations: ForecastLocation[] = locations.map((l) => ({ id: l.catchmentId, latDeg: l.latDeg, lonDeg: l.lonDeg }));

  const fallbackMm = (catchmentId: string, stepStartUtcMs: number, lengthMin: number): number => {
    const stepH = lengthMin / 60;
    switch (fallback.kind) {
      case 'zero':
        return 0;
      case 'climatology':
        return (fallback.hourlyMmPerH[calendar.hour(stepStartUtcMs)] ?? 0) * stepH;
      case 'persistence': {
        const rate = fallback.observedMmPerH(catchmentId, now());
        if (rate === null || !(rate >= 0)) return 0;
        const leadH = Math.max(0, (stepStartUtcMs - now()) / MS_PER_H);
        return rate * Math.exp(-leadH / (fallback.decayH ?? 3)) * stepH;
      }
    }
  };
  const fallbackLabel = (): string => {
    switch (fallback.kind) {
      case 'zero':
        return 'zero rain (no forecast)';
      case 'climatology':
        return `climatology${fallback.name ? ` "${fallback.name}"` : ''}`;
      case 'persistence':
        return 'persistence of the observed rain rate';
    }
  };

  const steps = (options.horizonH * 60) / stepMin;
  const pastSteps = (pastH * 60) / stepMin;
  const pct = (share: number) => `${(share * 100).toFixed(1).replace(/\.0$/, '')} %`;
  const iso = (utcMs: number) => new Date(utcMs).toISOString().replace(':00.000Z', 'Z');

  /** A series on a grid starting at `fromUtcMs`, read over [atUtcMs, atUtcMs + count steps): beyond its ends → undefined. */
  const window = (values: readonly (number | null)[], fromUtcMs: number, atUtcMs: number, count: number): (number | null | undefined)[] => {
    const offset = Math.round((atUtcMs - fromUtcMs) / stepMs);
    return Array.from({ length: count }, (_, i) => {
      const j = offset + i;
      return j >= 0 && j < values.length ? (values[j] ?? null) : undefined;
    });
  };
  /** Share of unknown values (missing, or not covered by the series) over a window of every series. */
  function missingShare(series: Iterable<readonly (number | null)[]>, fromUtcMs: number, atUtcMs: number, count: number): number {
    let n = 0;
    let missing = 0;
    for (const values of series) {
      for (const v of window(values, fromUtcMs, atUtcMs, count)) {
        n++;
        if (v === null || v === undefined) missing++;
      }
    }
    return n > 0 ? missing / n : 1;
  }

  /** What a fetch brings besides the rain: reasons to degrade "fresh", and remarks for the flags. */
  interface Fetched {
    rain: StoredRain;
    degraded: string[];
    notes: string[];
    catchmentNotes: CatchmentNote[];
    /** Ensemble members dropped from the answer as mostly missing. */
    membersDropped: number;
  }

  /**
   * Quarters the 15-min block lacks, from the hourly block of the same answer: a missing quarter gets the
   * hour's depth less the hour's known quarters, shared evenly (never below 0). Returns the quarters filled.
   */
  function fillFromHourly(quarters: { startUtcMs: number; values: (number | null)[] }, hourly: LocationForecast['hourly']): number {
    const parts = hourly.stepMin / stepMin;
    if (!Number.isInteger(parts) || parts < 1) return 0;
    let filled = 0;
    hourly.timeUtcMs.forEach((endUtcMs, h) => {
      const mm = hourly.precipitationMm[h];
      if (mm === null || mm === undefined) return;
      const first = Math.round((endUtcMs - hourly.stepMin * MS_PER_MIN - quarters.startUtcMs) / stepMs);
      if (first < 0) return;
      // A 15-min block shorter than the hourly one: its missing tail is filled too.
      while (quarters.values.length < first + parts) quarters.values.push(null);
      const idx = Array.from({ length: parts }, (_, p) => first + p);
      const missing = idx.filter((i) => quarters.values[i] === null || quarters.values[i] === undefined);
      if (missing.length === 0) return;
      const known = idx.reduce((a, i) => a + (quarters.values[i] ?? 0), 0);
      const each = Math.max(0, mm - known) / missing.length;
      for (const i of missing) quarters.values[i] = each;
      filled += missing.length;
    });
    return filled;
  }

  async function fetchDeterministic(nowUtcMs: number): Promise<Fetched> {
    const answer: Record<string, LocationForecast> = await options.connector.fetchPrecipitationForecast(connectorLocations, {
      hours: fetchHours,
      ...(pastH > 0 ? { pastHours: pastH } : {}),
      includeMinutely15: useMinutely15,
    });
    const deterministic: Record<string, (number | null)[]> = {};
    const notes: string[] = [];
    const catchmentNotes: CatchmentNote[] = [];
    let startUtcMs = Number.NaN;
    let issuedAtUtcMs = nowUtcMs;
    let model = 'unknown';
    let sourceStepMin = stepMin;
    let fromHourly = 0;
    const fromHourlyAt: string[] = [];
    for (const l of locations) {
      const f = answer[l.catchmentId];
      if (!f) throw new Error(`the answer has no series for catchment ${l.catchmentId}`);
      const quarters = useMinutely15 && f.minutely15 && f.minutely15.timeUtcMs.length > 0 ? f.minutely15 : undefined;
      const block = quarters ?? f.hourly;
      if (block.timeUtcMs.length === 0) throw new Error(`catchment ${l.catchmentId}: the answer has an empty time axis`);
      checkTimeAxis(block.timeUtcMs[0]! + pastH * MS_PER_H, block.stepMin, nowUtcMs, `forecast for ${l.catchmentId}`);
      const grid = toStepGrid(block.timeUtcMs, block.precipitationMm, block.stepMin, stepMin);
      if (quarters && f.hourly.timeUtcMs.length > 0 && (grid.values.some((v) => v === null) || f.hourly.timeUtcMs.at(-1)! > quarters.timeUtcMs.at(-1)!)) {
        // A gappy (or short) 15-min block: the hourly block of the same answer covers those steps.
        const n = fillFromHourly(grid, f.hourly);
        if (n > 0) {
          fromHourly += n;
          fromHourlyAt.push(l.catchmentId);
          catchmentNotes.push({ catchmentId: l.catchmentId, text: `15-min rain forecast missing for ${n} step(s) at ${l.catchmentId}: taken from the hourly forecast of the same answer (split evenly)` });
        }
      }
      if (Number.isNaN(startUtcMs)) startUtcMs = grid.startUtcMs;
      deterministic[l.catchmentId] = alignStart(grid, startUtcMs);
      sourceStepMin = Math.max(sourceStepMin, block.stepMin);
      issuedAtUtcMs = Math.min(issuedAtUtcMs, f.issuedAtUtcMs);
      model = f.model;
    }
    if (fromHourly > 0) notes.push(`15-min rain forecast missing at ${fromHourlyAt.length} catchment(s) (${fromHourlyAt.join(', ')}): ${fromHourly} step(s) taken from the hourly forecast of the same answer`);
    // Judged over the planning horizon only: the past hours and the stale reserve would dilute it.
    const horizonStartUtcMs = Math.floor(nowUtcMs / stepMs) * stepMs;
    const share = missingShare(Object.values(deterministic), startUtcMs, horizonStartUtcMs, steps);
    if (share > maxGapShare) {
      throw new Error(`${pct(share)} of the forecast values in the ${options.horizonH}-h planning horizon are missing or not covered (limit ${pct(maxGapShare)})`);
    }
    const degraded: string[] = [];
    if (pastSteps > 0) {
      const pastShare = missingShare(Object.values(deterministic), startUtcMs, horizonStartUtcMs - pastSteps * stepMs, pastSteps);
      if (pastShare > maxGapShare) degraded.push(`${pct(pastShare)} of the rain in the ${pastH} h before now is missing (limit ${pct(maxGapShare)}): the RDII state takes it as dry`);
    }
    return { rain: { issuedAtUtcMs, source: `${sourceName}:${model}`, startUtcMs, stepMin, sourceStepMin, deterministic }, degraded, notes, catchmentNotes, membersDropped: 0 };
  }

  async function fetchEnsemble(nowUtcMs: number): Promise<Fetched> {
    const answer: Record<string, LocationEnsemble> = await options.connector.fetchEnsemble(connectorLocations, { hours: fetchHours });
    const members: Record<string, (number | null)[][]> = {};
    const memberIds: Record<string, number[]> = {};
    let startUtcMs = Number.NaN;
    let issuedAtUtcMs = nowUtcMs;
    let model = 'unknown';
    let sourceStepMin = stepMin;
    for (const l of locations) {
      const f = answer[l.catchmentId];
      if (!f) throw new Error(`the ensemble answer has no series for catchment ${l.catchmentId}`);
      sourceStepMin = Math.max(sourceStepMin, f.hourly.stepMin);
      if (f.hourly.timeUtcMs.length === 0) throw new Error(`catchment ${l.catchmentId}: the ensemble answer has an empty time axis`);
      checkTimeAxis(f.hourly.timeUtcMs[0]!, f.hourly.stepMin, nowUtcMs, `ensemble for ${l.catchmentId}`);
      members[l.catchmentId] = f.hourly.members.map((m) => {
        const grid = toStepGrid(f.hourly.timeUtcMs, m.precipitationMm, f.hourly.stepMin, stepMin);
        if (Number.isNaN(startUtcMs)) startUtcMs = grid.startUtcMs;
        return alignStart(grid, startUtcMs);
      });
      memberIds[l.catchmentId] = f.hourly.members.map((m) => m.member);
      issuedAtUtcMs = Math.min(issuedAtUtcMs, f.issuedAtUtcMs);
      model = f.model;
    }
    const horizonStartUtcMs = Math.floor(nowUtcMs / stepMs) * stepMs;
    // A member mostly missing in the horizon is no scenario: dropped. From every catchment, so each member
    // left is still one whole scenario across the network (the planner and plant sums pair them by index).
    const count = Math.max(0, ...Object.values(members).map((list) => list.length));
    const bad = new Set<number>();
    const badAt: string[] = [];
    const catchmentNotes: CatchmentNote[] = [];
    for (const l of locations) {
      const list = members[l.catchmentId]!;
      const here = list.map((values, m) => (missingShare([values], startUtcMs, horizonStartUtcMs, steps) > maxMemberGapShare ? m : -1)).filter((m) => m >= 0);
      // A catchment with fewer members than the others lacks the rest.
      for (let m = list.length; m < count; m++) here.push(m);
      if (here.length === 0) continue;
      here.forEach((m) => bad.add(m));
      badAt.push(`${l.catchmentId}: ${here.length}`);
      catchmentNotes.push({ catchmentId: l.catchmentId, text: `${here.length} of ${count} ensemble member(s) mostly missing at ${l.catchmentId} (more than ${pct(maxMemberGapShare)} of the horizon): dropped from the ensemble` });
    }
    if (count > 0 && bad.size >= count) throw new Error(`every one of the ${count} ensemble members is mostly missing in the ${options.horizonH}-h horizon (${badAt.join(', ')})`);
    const kept: Record<string, (number | null)[][]> = {};
    for (const l of locations) kept[l.catchmentId] = members[l.catchmentId]!.filter((_, m) => !bad.has(m));
    const share = missingShare(Object.values(kept).flat(), startUtcMs, horizonStartUtcMs, steps);
    if (share > maxGapShare) throw new Error(`${pct(share)} of the ensemble values in the ${options.horizonH}-h planning horizon are missing (limit ${pct(maxGapShare)})`);
    const degraded: string[] = [];
    if (bad.size > 0) {
      const ids = [...bad].sort((a, b) => a - b).map((m) => memberIds[locations[0]!.catchmentId]?.[m] ?? m);
      degraded.push(`${bad.size} of ${count} ensemble members dropped as mostly missing in the horizon (member${bad.size > 1 ? 's' : ''} ${ids.join(', ')}; at ${badAt.join(', ')}): ${count - bad.size} used`);
    }
    return { rain: { issuedAtUtcMs, source: `${sourceName}:${model}`, startUtcMs, stepMin, sourceStepMin, deterministic: {}, members: kept }, degraded, notes: [], catchmentNotes, membersDropped: bad.size };
  }

  function alignStart(grid: { startUtcMs: number; values: (number | null)[] }, startUtcMs: number): (number | null)[] {
    const offset = Math.round((grid.startUtcMs - startUtcMs) / stepMs);
    if (offset === 0) return grid.values;
    // Locations on different axes (should not happen): pad or trim to the common start.
    return offset > 0 ? [...new Array<null>(offset).fill(null), ...grid.values] : grid.values.slice(-offset);
  }

  interface Chosen extends Omit<Fetched, 'rain'> {
    rain: StoredRain | undefined;
    part: RainPart;
  }

  /** Fresh if the fetch worked, else the last good one while young enough, else undefined. */
  async function choose(kind: 'deterministic' | 'ensemble', nowUtcMs: number, fetch: (nowUtcMs: number) => Promise<Fetched>, reuseMin = 0): Promise<Chosen> {
    const plain = (rain: StoredRain | undefined, part: RainPart): Chosen => ({ rain, part, degraded: [], notes: [], catchmentNotes: [], membersDropped: 0 });
    let failure: string;
    if (reuseMin > 0) {
      const last = await store.load(kind).catch(() => undefined);
      const ageMin = last ? (nowUtcMs - last.issuedAtUtcMs) / MS_PER_MIN : Number.POSITIVE_INFINITY;
      if (last && ageMin >= 0 && ageMin < reuseMin) {
        return plain(last, { quality: 'fresh', reason: `${kind} fetched ${Math.round(ageMin)} min ago (refreshed every ${reuseMin} min)`, issuedAtUtcMs: last.issuedAtUtcMs, ageMin });
      }
    }
    try {
      const fetched = await fetch(nowUtcMs);
      const { rain } = fetched;
      let saveProblem: string | null = null;
      await store.save(kind, rain).catch((error: unknown) => {
        saveProblem = `fresh, but not kept as the last good one: ${error instanceof Error ? error.message : String(error)}`;
      });
      return { ...fetched, part: { quality: 'fresh', reason: saveProblem, issuedAtUtcMs: rain.issuedAtUtcMs, ageMin: (nowUtcMs - rain.issuedAtUtcMs) / MS_PER_MIN } };
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    let last: StoredRain | undefined;
    try {
      last = await store.load(kind);
    } catch (error) {
      failure += `; the last good one could not be loaded (${error instanceof Error ? error.message : String(error)})`;
    }
    if (last) {
      const ageMin = (nowUtcMs - last.issuedAtUtcMs) / MS_PER_MIN;
      if (ageMin <= maxStaleMin) {
        return plain(last, {
          quality: 'stale',
          reason: `${kind} forecast unavailable (${failure}); using the last good one from ${new Date(last.issuedAtUtcMs).toISOString()}, ${Math.round(ageMin)} min old`,
          issuedAtUtcMs: last.issuedAtUtcMs,
          ageMin,
        });
      }
      failure += `; the last good one is ${Math.round(ageMin)} min old (limit ${maxStaleMin} min)`;
    } else failure += '; no earlier good forecast';
    return plain(undefined, { quality: 'fallback', reason: `${kind} forecast unavailable (${failure}); no rain forecast (unknown); the inflow forecast fills it with ${fallbackLabel()}`, issuedAtUtcMs: null, ageMin: null });
  }

  /** "fresh" with unknown steps or dropped members becomes "fresh-with-gaps"; any other quality keeps its name and gains the reason. */
  function degrade(part: RainPart, reasons: string[]): RainPart {
    if (reasons.length === 0) return part;
    const text = reasons.join('; ');
    if (part.quality === 'fresh') return { ...part, quality: 'fresh-with-gaps', reason: part.reason ? `${text}; ${part.reason}` : text };
    if (part.quality === 'stale') return { ...part, reason: `${part.reason ?? ''}; ${text}` };
    return part;
  }

  /** Unknown steps of one kind of series inside the horizon, as a sentence (null when none). */
  function unknownSummary(what: string, gaps: RainGap[], uncovered: RainGap[], seriesCount: number, horizonStartUtcMs: number): string | null {
    const stepsOf = (list: RainGap[]) => list.reduce((a, g) => a + Math.round((g.toUtcMs - g.fromUtcMs) / stepMs), 0);
    const missing = stepsOf(gaps);
    const notCovered = stepsOf(uncovered);
    if (missing + notCovered === 0) return null;
    const parts: string[] = [];
    if (missing > 0) {
      const at = [...new Set(gaps.map((g) => g.catchmentId))];
      parts.push(`${missing} missing (NaN) at ${at.length} catchment(s) (${at.slice(0, 6).join(', ')}${at.length > 6 ? ', …' : ''})`);
    }
    if (notCovered > 0) {
      const from = Math.min(...uncovered.map((g) => g.fromUtcMs));
      const shortH = (horizonStartUtcMs + steps * stepMs - from) / MS_PER_H;
      parts.push(`${notCovered} beyond the end of the answer (it ends at ${iso(from)}, ${Number(shortH.toFixed(2))} h before the end of the horizon)`);
    }
    return `${what}: ${missing + notCovered} of ${seriesCount * steps} steps in the ${options.horizonH}-h horizon unknown — ${parts.join('; ')}; kept unknown, the inflow forecast fills them with ${fallbackLabel()} (flagged)`;
  }

  return {
    fallbackMm,
    async get() {
      const nowUtcMs = now();
      const startUtcMs = Math.floor(nowUtcMs / stepMs) * stepMs;
      // Side by side: a hanging service costs one timeout, not two, within the activity's time.
      const [det, ens] = await Promise.all([
        choose('deterministic', nowUtcMs, fetchDeterministic),
        wantEnsemble
          ? choose('ensemble', nowUtcMs, fetchEnsemble, ensembleRefreshMin)
          : Promise.resolve<Chosen>({ rain: undefined, part: { quality: 'fallback', reason: 'ensemble not requested', issuedAtUtcMs: null, ageMin: null }, degraded: [], notes: [], catchmentNotes: [], membersDropped: 0 }),
      ]);
      const gaps: RainGap[] = [];
      const uncovered: RainGap[] = [];

      // Unknown stays null: a step outside the series used is "not covered", never 0 mm.
      const slice = (catchmentId: string, values: (number | null)[] | undefined, from: number, member: number | null, why: string): (number | null)[] => {
        const out: (number | null)[] = [];
        let gapFrom: number | null = null;
        let outsideFrom: number | null = null;
        const close = () => {
          if (gapFrom !== null) gaps.push({ catchmentId, member, fromUtcMs: startUtcMs + gapFrom * stepMs, toUtcMs: startUtcMs + out.length * stepMs, reason: 'missing value in the forecast' });
          gapFrom = null;
        };
        const closeOutside = () => {
          if (outsideFrom !== null) uncovered.push({ catchmentId, member, fromUtcMs: startUtcMs + outsideFrom * stepMs, toUtcMs: startUtcMs + out.length * stepMs, reason: why });
          outsideFrom = null;
        };
        for (let i = 0; i < steps; i++) {
          const t = startUtcMs + i * stepMs;
          const j = values ? Math.round((t - from) / stepMs) : -1;
          if (!values || j < 0 || j >= values.length) {
            close();
            outsideFrom ??= i;
            out.push(null);
            continue;
          }
          closeOutside();
          const v = values[j] ?? null;
          if (v === null) gapFrom ??= i;
          else close();
          out.push(v);
        }
        close();
        closeOutside();
        return out;
      };

      const pastOf = (values: (number | null)[] | undefined, from: number): (number | null)[] =>
        Array.from({ length: pastSteps }, (_, i) => {
          const j = values ? Math.round((startUtcMs - (pastSteps - i) * stepMs - from) / stepMs) : -1;
          return values && j >= 0 && j < values.length ? (values[j] ?? null) : null;
        });
      const catchments: CatchmentRain[] = locations.map((l) => {
        const d = det.rain;
        const pastMm = pastOf(d?.deterministic[l.catchmentId], d?.startUtcMs ?? 0);
        const precipitationMm = slice(l.catchmentId, d?.deterministic[l.catchmentId], d?.startUtcMs ?? 0, null, d ? 'beyond the end of the forecast' : 'no forecast');
        const e = ens.rain;
        const members = (e?.members?.[l.catchmentId] ?? []).map((values, m) => slice(l.catchmentId, values, e?.startUtcMs ?? 0, m, 'beyond the end of the ensemble'));
        return { catchmentId: l.catchmentId, precipitationMm, pastMm, members };
      });
      const memberCount = catchments[0]?.members.length ?? 0;
      const detSummary = det.rain ? unknownSummary('deterministic rain', gaps.filter((g) => g.member === null), uncovered.filter((g) => g.member === null), catchments.length, startUtcMs) : null;
      const ensSummary = ens.rain
        ? unknownSummary(`ensemble (${memberCount} members)`, gaps.filter((g) => g.member !== null), uncovered.filter((g) => g.member !== null), catchments.length * memberCount, startUtcMs)
        : null;
      const detPart = degrade(det.part, [...det.degraded, ...(detSummary ? [detSummary] : [])]);
      const ensPart = degrade(ens.part, [...ens.degraded, ...(ensSummary ? [ensSummary] : [])]);
      return {
        startUtcMs,
        stepMin,
        steps,
        pastSteps,
        ...detPart,
        source: det.rain?.source ?? `fallback:${fallback.kind}`,
        ensemble: { ...ensPart, members: memberCount, membersDropped: ens.membersDropped },
        catchments,
        gaps,
        uncovered,
        fallbackLabel: fallbackLabel(),
        notes: [...det.notes, ...ens.notes],
        catchmentNotes: [...det.catchmentNotes, ...ens.catchmentNotes],
      };
    },
  };
}

/**
 * The dispatch workflow's RainForecast (activities/types.ts) from planning rain: quality and age go
 * into `source`, so what the plan was based on is recorded with it.
 */
export function toActivityRainForecast(rain: PlanningRain, options: { stepMin?: number } = {}): RainForecast {
  // A fresh forecast's source is the same tag value whenever it is written (see influxLastGoodStore).
  const age = rain.ageMin === null || rain.quality === 'fresh' || rain.quality === 'fresh-with-gaps' ? '' : `,age=${Math.round(rain.ageMin)}min`;
  const source = `${rain.source};quality=${rain.quality}${age}`;
  const issuedAtUtcMs = rain.issuedAtUtcMs ?? rain.startUtcMs;
  const stepMin = options.stepMin ?? rain.stepMin;
  if (stepMin === rain.stepMin) {
    const stepMs = rain.stepMin * MS_PER_MIN;
    return {
      issuedAtUtcMs,
      source,
      stepMin,
      locations: rain.catchments.map((c) => ({
        catchmentId: c.catchmentId,
        // RainForecast labels a depth with the END of its step, as Open-Meteo does.
        timeUtcMs: c.precipitationMm.map((_, i) => rain.startUtcMs + (i + 1) * stepMs),
        precipitationMm: c.precipitationMm,
      })),
    };
  }
  // Coarser steps on round boundaries (hourly readers, e.g. the flood assessment): each step sums the fine
  // steps inside it, the elapsed part of the current one from the past hours; a step not fully known is null.
  const parts = stepMin / rain.stepMin;
  if (!Number.isInteger(parts) || parts < 1) throw new RangeError(`toActivityRainForecast: ${rain.stepMin}-min rain cannot be summed into ${stepMin}-min steps`);
  const fineMs = rain.stepMin * MS_PER_MIN;
  const coarseMs = stepMin * MS_PER_MIN;
  const fineStartUtcMs = rain.startUtcMs - rain.pastSteps * fineMs;
  const firstUtcMs = Math.floor(rain.startUtcMs / coarseMs) * coarseMs;
  const steps = Math.floor((rain.startUtcMs + rain.steps * fineMs - firstUtcMs) / coarseMs);
  return {
    issuedAtUtcMs,
    // Another series than the fine one written under the plain source (rain-store.ts).
    source: `${source};${stepMin}min`,
    stepMin,
    locations: rain.catchments.map((c) => {
      const fine = [...c.pastMm, ...c.precipitationMm];
      const precipitationMm = Array.from({ length: steps }, (_, k) => {
        let sum = 0;
        for (let p = 0; p < parts; p++) {
          const j = Math.round((firstUtcMs + k * coarseMs + p * fineMs - fineStartUtcMs) / fineMs);
          const v = j >= 0 && j < fine.length ? fine[j] : null;
          if (v === null || v === undefined) return null;
          sum += v;
        }
        return sum;
      });
      return { catchmentId: c.catchmentId, timeUtcMs: precipitationMm.map((_, k) => firstUtcMs + (k + 1) * coarseMs), precipitationMm };
    }),
  };
}

/**
 * The dispatch activity's RainForecastSource (activities/dispatch.ts) on top of a rain source, on the rain
 * source's step or summed into `stepMin` (60 for readers that take hourly rain).
 */
export function activityRainForecastSource(source: RainSource, options: { stepMin?: number } = {}): { fetchCatchmentRain(network: NetworkConfig, hours: number): Promise<RainForecast> } {
  return {
    async fetchCatchmentRain(network, hours) {
      const rain = await source.get();
      const known = new Set(rain.catchments.map((c) => c.catchmentId));
      const missing = network.catchments.filter((c) => !known.has(c.id)).map((c) => c.id);
      if (missing.length > 0) throw new Error(`rain source has no series for catchment(s) ${missing.join(', ')}`);
      const forecast = toActivityRainForecast(rain, options);
      const steps = Math.min(forecast.locations[0]?.timeUtcMs.length ?? 0, Math.round((hours * 60) / forecast.stepMin));
      return { ...forecast, locations: forecast.locations.map((l) => ({ ...l, timeUtcMs: l.timeUtcMs.slice(0, steps), precipitationMm: l.precipitationMm.slice(0, steps) })) };
    },
  };
}

/**
 * Observed (reanalysis) rain per catchment from the archive API for whole UTC days, on a start-labelled
 * grid of `stepMin` (hourly values split evenly; missing stays null), e.g. for dry-day choice and
 * calibration where there are no gauges (`history.ts` rain_observed).
 */
export async function fetchArchiveRain(
  connector: OpenMeteoConnector,
  locations: NetworkConfig | readonly RainLocation[],
  range: { startDate: string; endDate: string; stepMin?: number },
): Promise<Record<string, { startUtcMs: number; stepMin: number; values: (number | null)[] }>> {
  const list = locationsOf(locations);
  checkRainLocations(list);
  const stepMin = range.stepMin ?? 60;
  const answer = await connector.fetchArchive(
    list.map((l) => ({ id: l.catchmentId, latDeg: l.latDeg, lonDeg: l.lonDeg })),
    { startDate: range.startDate, endDate: range.endDate },
  );
  const out: Record<string, { startUtcMs: number; stepMin: number; values: (number | null)[] }> = {};
  for (const l of list) {
    const a = answer[l.catchmentId];
    if (!a) throw new Error(`archive answer has no series for catchment ${l.catchmentId}`);
    const grid = toStepGrid(a.hourly.timeUtcMs, a.hourly.precipitationMm, a.hourly.stepMin, stepMin);
    out[l.catchmentId] = { startUtcMs: grid.startUtcMs, stepMin, values: grid.values };
  }
  return out;
}
