// The last good rain forecast kept in InfluxDB, so a restarted worker plans on it (flagged stale with its
// age) instead of falling back at once. A LastGoodStore for rain-source.ts. Series stay bounded and an
// issue is all-or-nothing (issues.ts):
//
//   rain_forecast  tags catchment, kind "det-<n>min" (this store: the deterministic forecast at an n-min
//                  step) — the dispatch activity writes the rain each cycle used beside it, kind
//                  "cycle-<n>min" —, step (index from the issue's first stored step); fields
//                  precipitationMm (or gap = true), stepMin, issuedAtMs; time = the START of the step.
//   rain_ensemble  tags catchment, kind "ensemble-<n>min", member (0, 1, …), step; the same fields.
//   forecast_issue kind "det-<n>min" / "ensemble-<n>min": the marker, written after every data point, with
//                  the source, quality "fresh" and the member count.
//
// Only fresh answers are saved, from the issue's current step on (the past hours fetched for the RDII
// state are not kept). Loading takes the newest issue of the kind whose marker exists and whose points are
// all there; what a cycle used as stale or fallback is written by the activity under kind "cycle-…" and is
// never reloaded as good.
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import { MS_PER_MIN } from './calendar.js';
import { quoteIdent, quoteString } from './influxql.js';
import { issueWhere, newestCompleteIssue, qualityOfSource, writeIssue, type IssueMarker } from './issues.js';
import type { LastGoodStore, StoredRain } from './rain-source.js';

export const RAIN_FORECAST_MEASUREMENT = 'rain_forecast';
export const RAIN_ENSEMBLE_MEASUREMENT = 'rain_ensemble';

const measurementOf = (kind: 'deterministic' | 'ensemble') => (kind === 'deterministic' ? RAIN_FORECAST_MEASUREMENT : RAIN_ENSEMBLE_MEASUREMENT);
/** The kind tag (and marker kind) of a stored issue: which store and at what step. */
export const storeKind = (kind: 'deterministic' | 'ensemble', stepMin: number): string => `${kind === 'deterministic' ? 'det' : 'ensemble'}-${stepMin}min`;
const storeKindPattern = (kind: 'deterministic' | 'ensemble') => (kind === 'deterministic' ? /^det-[0-9]+min$/ : /^ensemble-[0-9]+min$/);
const kindTagWhere = (marker: IssueMarker) => `${quoteIdent('kind')} = ${quoteString(marker.kind)}`;

interface StorePlan {
  points: SeriesPoint[];
  marker: Omit<IssueMarker, 'points'>;
}

/**
 * Points and marker of a forecast; an ensemble at the provider's step where it is coarser than the planning
 * step (hourly: a quarter of the points; its values were split evenly, so summing them back loses nothing).
 */
export function rainStoreIssue(kind: 'deterministic' | 'ensemble', rain: StoredRain): StorePlan {
  const sourceStepMin = rain.sourceStepMin ?? rain.stepMin;
  const parts = sourceStepMin / rain.stepMin;
  const whole = kind === 'ensemble' && Number.isInteger(parts) && parts >= 1 && rain.startUtcMs % (sourceStepMin * MS_PER_MIN) === 0 ? parts : 1;
  const stepMin = rain.stepMin * whole;
  const stepMs = stepMin * MS_PER_MIN;
  const kindTag = storeKind(kind, stepMin);
  const issueStepUtcMs = Math.floor(rain.issuedAtUtcMs / stepMs) * stepMs;
  // Steps before the issue's own step are not kept; step indices count from the first kept one.
  const skip = Math.max(0, Math.ceil((issueStepUtcMs - rain.startUtcMs) / stepMs));
  const firstUtcMs = rain.startUtcMs + skip * stepMs;
  const points: SeriesPoint[] = [];
  let steps = 0;
  let members = 0;
  const push = (catchment: string, fine: readonly (number | null)[], member: number | null) => {
    for (let i = skip; i * whole < fine.length; i++) {
      const slice = fine.slice(i * whole, (i + 1) * whole);
      const v = slice.length === whole && slice.every((x) => x !== null && x !== undefined) ? slice.reduce((a: number, x) => a + (x ?? 0), 0) : null;
      const tags: Record<string, string> = { catchment, kind: kindTag, step: String(i - skip) };
      if (member !== null) tags['member'] = String(member);
      const fields: SeriesPoint['fields'] = v === null ? { gap: true, stepMin, issuedAtMs: rain.issuedAtUtcMs } : { precipitationMm: v, stepMin, issuedAtMs: rain.issuedAtUtcMs };
      points.push({ measurement: measurementOf(kind), tags, fields, timeUtcMs: firstUtcMs + (i - skip) * stepMs });
      steps = Math.max(steps, i - skip + 1);
    }
  };
  if (kind === 'deterministic') for (const [catchment, values] of Object.entries(rain.deterministic)) push(catchment, values, null);
  else {
    for (const [catchment, list] of Object.entries(rain.members ?? {})) {
      members = Math.max(members, list.length);
      list.forEach((values, m) => push(catchment, values, m));
    }
  }
  return {
    points,
    marker: {
      kind: kindTag,
      issuedAtMs: rain.issuedAtUtcMs,
      startUtcMs: firstUtcMs,
      endUtcMs: firstUtcMs + Math.max(1, steps) * stepMs,
      stepMin,
      source: rain.source,
      quality: 'fresh',
      ...(kind === 'ensemble' ? { members } : {}),
    },
  };
}

/** The data points of a forecast as stored (see rainStoreIssue). */
export function rainStorePoints(kind: 'deterministic' | 'ensemble', rain: StoredRain): SeriesPoint[] {
  return rainStoreIssue(kind, rain).points;
}

/** Writes a good forecast's points, then its marker; a failed chunk leaves nothing loadable. */
export async function saveGoodRain(influx: InfluxConnector, kind: 'deterministic' | 'ensemble', rain: StoredRain): Promise<number> {
  const { points, marker } = rainStoreIssue(kind, rain);
  return writeIssue(influx, points, marker);
}

/**
 * Newest complete good issue of a kind from InfluxDB, or undefined when none is stored; values stored at a
 * coarser step than `planningStepMin` are split evenly onto it (as the rain source does with the API's answer).
 */
export async function loadNewestGoodRain(influx: InfluxConnector, kind: 'deterministic' | 'ensemble', planningStepMin?: number): Promise<StoredRain | undefined> {
  const marker = await newestCompleteIssue(influx, storeKindPattern(kind), measurementOf(kind), kindTagWhere);
  if (!marker) return undefined;
  const groupBy = kind === 'deterministic' ? quoteIdent('catchment') : `${quoteIdent('catchment')}, ${quoteIdent('member')}`;
  const series = await influx.query(
    `SELECT ${quoteIdent('precipitationMm')}, ${quoteIdent('gap')} FROM ${quoteIdent(measurementOf(kind))} WHERE ${kindTagWhere(marker)} AND ${issueWhere(marker)} GROUP BY ${groupBy}`,
  );
  const stepMin = marker.stepMin;
  const stepMs = stepMin * MS_PER_MIN;
  const steps = Math.round((marker.endUtcMs - marker.startUtcMs) / stepMs);
  const empty = () => new Array<number | null>(steps).fill(null);
  const deterministic: Record<string, (number | null)[]> = {};
  const members: Record<string, (number | null)[][]> = {};
  for (const s of series) {
    const catchment = s.tags['catchment'];
    if (!catchment) continue;
    const [t, p] = ['time', 'precipitationMm'].map((c) => s.columns.indexOf(c)) as [number, number];
    const member = Number(s.tags['member'] ?? 0);
    let values: (number | null)[];
    if (kind === 'deterministic') values = deterministic[catchment] ??= empty();
    else {
      const list = (members[catchment] ??= []);
      while (list.length <= member) list.push(empty());
      values = list[member]!;
    }
    for (const row of s.values) {
      const i = Math.round((Number(row[t]) - marker.startUtcMs) / stepMs);
      const mm = row[p];
      if (i >= 0 && i < steps) values[i] = typeof mm === 'number' && Number.isFinite(mm) && mm >= 0 ? mm : null;
    }
  }
  const stored: StoredRain = {
    issuedAtUtcMs: marker.issuedAtMs,
    source: marker.source ?? 'unknown',
    startUtcMs: marker.startUtcMs,
    stepMin,
    sourceStepMin: stepMin,
    deterministic,
    ...(kind === 'ensemble' ? { members } : {}),
  };
  const parts = planningStepMin ? stepMin / planningStepMin : 1;
  if (!(Number.isInteger(parts) && parts > 1)) return stored;
  const split = (values: (number | null)[]) => values.flatMap((v) => new Array<number | null>(parts).fill(v === null ? null : v / parts));
  return {
    ...stored,
    stepMin: planningStepMin!,
    deterministic: Object.fromEntries(Object.entries(deterministic).map(([id, v]) => [id, split(v)])),
    ...(kind === 'ensemble' ? { members: Object.fromEntries(Object.entries(members).map(([id, list]) => [id, list.map(split)])) } : {}),
  };
}

/**
 * Last good forecasts in InfluxDB, read once (on the first need after a start) and then kept in memory
 * too; `planningStepMin` is the rain source's step.
 */
export function influxLastGoodStore(influx: InfluxConnector, planningStepMin?: number): LastGoodStore {
  const kept = new Map<string, StoredRain | undefined>();
  return {
    async load(kind) {
      if (!kept.has(kind)) kept.set(kind, await loadNewestGoodRain(influx, kind, planningStepMin));
      return kept.get(kind);
    },
    async save(kind, rain) {
      kept.set(kind, rain);
      await saveGoodRain(influx, kind, rain);
    },
  };
}

/** The kind tag (and marker kind) of the rain a dispatch cycle used, at its step. */
export const cycleKind = (stepMin: number): string => `cycle-${stepMin}min`;
export const CYCLE_KIND_PATTERN = /^cycle-[0-9]+min$/;
/** Kinds of the stored ensemble issues (rain_ensemble), e.g. "ensemble-60min". */
export const ENSEMBLE_KIND_PATTERN = /^ensemble-[0-9]+min$/;

/**
 * The rain a dispatch cycle used (the activity's RainForecast, any quality: fresh, stale with its age,
 * fallback), under the cycle's own time `cycleUtcMs` as issuedAtMs, so a cycle on a stale forecast never
 * mixes with the cycle that fetched it; the forecast's own issue time goes in the marker (rainIssuedAtMs).
 * RainForecast labels a depth with the END of its step; it is stored at the step's START, like every
 * other forecast. Points first, the marker last.
 */
export async function writeCycleRain(
  influx: InfluxConnector,
  forecast: { issuedAtUtcMs: number; source: string; stepMin: number; locations: readonly { catchmentId: string; timeUtcMs: readonly number[]; precipitationMm: readonly (number | null)[] }[] },
  cycleUtcMs: number,
): Promise<number> {
  const stepMs = forecast.stepMin * MS_PER_MIN;
  const ends = forecast.locations.flatMap((l) => l.timeUtcMs);
  if (ends.length === 0) return 0;
  const startUtcMs = Math.min(...ends) - stepMs;
  const endUtcMs = Math.max(...ends);
  const kind = cycleKind(forecast.stepMin);
  const points: SeriesPoint[] = [];
  for (const location of forecast.locations) {
    location.timeUtcMs.forEach((endOfStep, i) => {
      const mm = location.precipitationMm[i];
      const stepStartUtcMs = endOfStep - stepMs;
      const fields: SeriesPoint['fields'] = mm === null || mm === undefined ? { gap: true } : { precipitationMm: mm };
      fields.stepMin = forecast.stepMin;
      fields.issuedAtMs = cycleUtcMs;
      points.push({ measurement: RAIN_FORECAST_MEASUREMENT, tags: { catchment: location.catchmentId, kind, step: String(Math.round((stepStartUtcMs - startUtcMs) / stepMs)) }, fields, timeUtcMs: stepStartUtcMs });
    });
  }
  const quality = qualityOfSource(forecast.source);
  return writeIssue(influx, points, {
    kind,
    issuedAtMs: cycleUtcMs,
    startUtcMs,
    endUtcMs,
    stepMin: forecast.stepMin,
    source: forecast.source,
    ...(quality ? { quality } : {}),
    rainIssuedAtMs: forecast.issuedAtUtcMs,
  });
}
