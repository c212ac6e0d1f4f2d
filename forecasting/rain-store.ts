// The last good rain forecast kept in InfluxDB, so a restarted worker plans on it (flagged stale with its
// age) instead of falling back at once. A LastGoodStore for rain-source.ts.
//
//   rain_forecast  (deterministic; the dispatch activity writes the same series) tags catchment, issuedAt
//                  (epoch ms string), source = "<source>;quality=fresh"; fields precipitationMm (or
//                  gap = true), stepMin; time = the END of the step (Open-Meteo's convention).
//   rain_ensemble  the same with a tag member (0, 1, …); written when an ensemble is fetched.
//
// Only fresh answers are saved, from the issue's current step on (the past hours fetched for the RDII
// state are not kept). Loading takes the newest issuedAt whose source says quality=fresh; what was used
// later as stale or fallback is written by the activity under another source and never reloaded.
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import { MS_PER_MIN } from './calendar.js';
import { quoteIdent, quoteString, writeInChunks } from './influxql.js';
import type { LastGoodStore, StoredRain } from './rain-source.js';

export const RAIN_FORECAST_MEASUREMENT = 'rain_forecast';
export const RAIN_ENSEMBLE_MEASUREMENT = 'rain_ensemble';
/** Suffix of the source tag of a forecast that passed the checks when it was fetched. */
export const GOOD_SOURCE_SUFFIX = ';quality=fresh';

const measurementOf = (kind: 'deterministic' | 'ensemble') => (kind === 'deterministic' ? RAIN_FORECAST_MEASUREMENT : RAIN_ENSEMBLE_MEASUREMENT);

/**
 * Points of a forecast; an ensemble at the provider's step where it is coarser than the planning step
 * (hourly: a quarter of the points; its values were split evenly, so summing them back loses nothing).
 */
export function rainStorePoints(kind: 'deterministic' | 'ensemble', rain: StoredRain): SeriesPoint[] {
  const sourceStepMin = rain.sourceStepMin ?? rain.stepMin;
  const parts = sourceStepMin / rain.stepMin;
  // The deterministic series stays on the planning step: the dispatch activity writes the same points.
  const whole = kind === 'ensemble' && Number.isInteger(parts) && parts >= 1 && rain.startUtcMs % (sourceStepMin * MS_PER_MIN) === 0 ? parts : 1;
  const stepMin = rain.stepMin * whole;
  const stepMs = stepMin * MS_PER_MIN;
  const issuedAt = String(rain.issuedAtUtcMs);
  const source = `${rain.source}${GOOD_SOURCE_SUFFIX}`;
  const issueStepUtcMs = Math.floor(rain.issuedAtUtcMs / stepMs) * stepMs;
  const points: SeriesPoint[] = [];
  const push = (catchment: string, fine: readonly (number | null)[], member: number | null) => {
    for (let i = 0; i * whole < fine.length; i++) {
      const slice = fine.slice(i * whole, (i + 1) * whole);
      const v = slice.length === whole && slice.every((x) => x !== null && x !== undefined) ? slice.reduce((a: number, x) => a + (x ?? 0), 0) : null;
      const startUtcMs = rain.startUtcMs + i * stepMs;
      if (startUtcMs < issueStepUtcMs) continue;
      const tags: Record<string, string> = { catchment, issuedAt, source };
      if (member !== null) tags['member'] = String(member);
      const fields: SeriesPoint['fields'] = v === null ? { gap: true, stepMin } : { precipitationMm: v, stepMin };
      points.push({ measurement: measurementOf(kind), tags, fields, timeUtcMs: startUtcMs + stepMs });
    }
  };
  if (kind === 'deterministic') for (const [catchment, values] of Object.entries(rain.deterministic)) push(catchment, values, null);
  else for (const [catchment, members] of Object.entries(rain.members ?? {})) members.forEach((values, m) => push(catchment, values, m));
  return points;
}

/**
 * Newest good issue of a kind from InfluxDB, or undefined when none is stored; values stored at a coarser
 * step than `planningStepMin` are split evenly onto it (as the rain source does with the API's answer).
 */
export async function loadNewestGoodRain(influx: InfluxConnector, kind: 'deterministic' | 'ensemble', planningStepMin?: number): Promise<StoredRain | undefined> {
  const measurement = quoteIdent(measurementOf(kind));
  const good = `${quoteIdent('source')} =~ /${GOOD_SOURCE_SUFFIX.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$/`;
  const issues = await influx.query(`SHOW TAG VALUES FROM ${measurement} WITH KEY = ${quoteIdent('issuedAt')} WHERE ${good}`);
  let newest = Number.NEGATIVE_INFINITY;
  for (const s of issues) {
    const v = s.columns.indexOf('value');
    for (const row of s.values) {
      const n = Number(row[v]);
      if (Number.isFinite(n) && n > newest) newest = n;
    }
  }
  if (!Number.isFinite(newest)) return undefined;
  const groupBy = kind === 'deterministic' ? `${quoteIdent('catchment')}, ${quoteIdent('source')}` : `${quoteIdent('catchment')}, ${quoteIdent('source')}, ${quoteIdent('member')}`;
  const series = await influx.query(
    `SELECT ${quoteIdent('precipitationMm')}, ${quoteIdent('gap')}, ${quoteIdent('stepMin')} FROM ${measurement} WHERE ${quoteIdent('issuedAt')} = ${quoteString(String(newest))} AND ${good} GROUP BY ${groupBy}`,
  );
  const rows: { catchment: string; member: number; source: string; endUtcMs: number; mm: number | null; stepMin: number | null }[] = [];
  for (const s of series) {
    const catchment = s.tags['catchment'];
    if (!catchment) continue;
    const [t, p, st] = ['time', 'precipitationMm', 'stepMin'].map((c) => s.columns.indexOf(c)) as [number, number, number];
    for (const row of s.values) {
      const mm = row[p];
      const stepMin = row[st];
      rows.push({
        catchment,
        member: Number(s.tags['member'] ?? 0),
        source: s.tags['source'] ?? '',
        endUtcMs: Number(row[t]),
        mm: typeof mm === 'number' && Number.isFinite(mm) && mm >= 0 ? mm : null,
        stepMin: typeof stepMin === 'number' ? stepMin : null,
      });
    }
  }
  if (rows.length === 0) return undefined;
  const times = [...new Set(rows.map((r) => r.endUtcMs))].sort((a, b) => a - b);
  const stepMin = rows.find((r) => r.stepMin !== null)?.stepMin ?? (times.length > 1 ? (times[1]! - times[0]!) / MS_PER_MIN : 60);
  const stepMs = stepMin * MS_PER_MIN;
  const firstEnd = times[0]!;
  const steps = Math.round((times[times.length - 1]! - firstEnd) / stepMs) + 1;
  const empty = () => new Array<number | null>(steps).fill(null);
  const deterministic: Record<string, (number | null)[]> = {};
  const members: Record<string, (number | null)[][]> = {};
  for (const r of rows) {
    const i = Math.round((r.endUtcMs - firstEnd) / stepMs);
    if (i < 0 || i >= steps) continue;
    if (kind === 'deterministic') (deterministic[r.catchment] ??= empty())[i] = r.mm;
    else {
      const list = (members[r.catchment] ??= []);
      while (list.length <= r.member) list.push(empty());
      list[r.member]![i] = r.mm;
    }
  }
  const source = rows[0]!.source.slice(0, -GOOD_SOURCE_SUFFIX.length);
  const stored: StoredRain = { issuedAtUtcMs: newest, source, startUtcMs: firstEnd - stepMs, stepMin, sourceStepMin: stepMin, deterministic, ...(kind === 'ensemble' ? { members } : {}) };
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
      await writeInChunks(influx, rainStorePoints(kind, rain));
    },
  };
}
