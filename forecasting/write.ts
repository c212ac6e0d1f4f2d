// Inflow forecasts to and from InfluxDB, one issue per dispatch cycle, so each can later be compared with
// what happened. Layout (series bounded; see issues.ts for the completion marker):
//
//   inflow_forecast  tags: station (station id), quantile ("det" = from the deterministic rain, "p10",
//                    "p50", "p90"), step (the step's index from the issue's start, "0", "1", …);
//                    fields: flowM3h (mean over the step), issuedAtMs (issue time, epoch ms), leadMin
//                    (step start − issue time), rainQuality ("fresh" | "stale" | "fallback"); "det"
//                    points also dwfM3h, groundwaterM3h, rdiiM3h. Time = the START of the step, UTC.
//   forecast_issue   kind "inflow": the marker, written after every data point; it also holds the rain's
//                    source and quality, the member count and the forecast's flags (JSON
//                    `{"forecast": [...], "stations": {"W1": [...]}}`).
//
// An issue is read only when its marker exists and all its points are there (issues.ts).
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import { MS_PER_MIN } from './calendar.js';
import type { Series } from './series.js';
import type { InflowForecast } from './inflow.js';
import { readStationHistory } from './history.js';
import { quoteIdent, quoteString } from './influxql.js';
import { INFLOW_ISSUE_KIND, issueWhere, listIssueMarkers, countIssuePoints, writeIssue, type IssueMarker } from './issues.js';
import { coverage, nashSutcliffe, volumeErrorPct } from './series.js';

export const INFLOW_FORECAST_MEASUREMENT = 'inflow_forecast';
export const DETERMINISTIC = 'det';

/** A flag as the forecast gives it: English text (or, should it come localised, both languages). */
export type ForecastFlag = string | { zh: string; en: string };
export interface ForecastFlags {
  /** Flags of the whole forecast (rain quality, ensemble, error correction, configured DWF). */
  forecast: ForecastFlag[];
  /** stationId → that station's flags (gaps filled, missing past rain, …); stations without flags left out. */
  stations: Record<string, ForecastFlag[]>;
}

/** InfluxDB 1.8 refuses string fields over 64 KiB: longer flag lists are cut, and say so. */
const MAX_FLAGS_JSON = 60_000;

export function forecastFlagsOf(forecast: Pick<InflowForecast, 'flags' | 'stations'>): ForecastFlags {
  const stations: Record<string, ForecastFlag[]> = {};
  for (const s of forecast.stations) if (s.flags.length > 0) stations[s.stationId] = [...s.flags];
  return { forecast: [...forecast.flags], stations };
}

export function encodeFlags(flags: ForecastFlags): string {
  let json = JSON.stringify(flags);
  if (json.length <= MAX_FLAGS_JSON) return json;
  // Keep the forecast's own flags and each station's first; name how many were left out.
  const stations = Object.fromEntries(Object.entries(flags.stations).map(([id, list]) => [id, list.slice(0, 1)]));
  const left = Object.values(flags.stations).reduce((n, list) => n + Math.max(0, list.length - 1), 0);
  json = JSON.stringify({ forecast: [...flags.forecast, `${left} more station flag(s) not stored (too long)`], stations });
  return json.length <= MAX_FLAGS_JSON ? json : JSON.stringify({ forecast: [`flags not stored: ${json.length} characters`], stations: {} });
}

export function decodeFlags(json: string | undefined): ForecastFlags {
  if (!json) return { forecast: [], stations: {} };
  try {
    const parsed = JSON.parse(json) as Partial<ForecastFlags>;
    return { forecast: Array.isArray(parsed.forecast) ? parsed.forecast : [], stations: parsed.stations && typeof parsed.stations === 'object' ? parsed.stations : {} };
  } catch {
    return { forecast: [`stored flags unreadable: ${json.slice(0, 200)}`], stations: {} };
  }
}

export function inflowForecastPoints(forecast: InflowForecast): SeriesPoint[] {
  const stepMs = forecast.stepMin * MS_PER_MIN;
  const points: SeriesPoint[] = [];
  for (const s of forecast.stations) {
    const series: [string, number[]][] = [[DETERMINISTIC, s.deterministicM3h], ...Object.entries(s.quantilesM3h)];
    for (const [quantile, values] of series) {
      values.forEach((flowM3h, i) => {
        const timeUtcMs = forecast.startUtcMs + i * stepMs;
        const fields: SeriesPoint['fields'] = {
          flowM3h,
          issuedAtMs: forecast.issuedAtUtcMs,
          leadMin: (timeUtcMs - forecast.issuedAtUtcMs) / MS_PER_MIN,
          rainQuality: forecast.rain.quality,
        };
        if (quantile === DETERMINISTIC) {
          fields.dwfM3h = s.dwfM3h[i]!;
          fields.groundwaterM3h = s.groundwaterM3h[i]!;
          fields.rdiiM3h = s.rdiiM3h[i]!;
        }
        points.push({ measurement: INFLOW_FORECAST_MEASUREMENT, tags: { station: s.stationId, quantile, step: String(i) }, fields, timeUtcMs });
      });
    }
  }
  return points;
}

/**
 * The observed local inflow (a station's measured inflow less what upstream stations, tanks and links sent it,
 * routing.ts) the cycle reads for its error correction, kept as `local_inflow` (tag station; field flowM3h;
 * time = step start) so the forecast, which is of local catchment inflow, is compared with the same quantity:
 * a station's measured inflow also carries every upstream station's pumping (5–50× the local part at W3, W6,
 * E4, E8). Unknown steps are left out, never written as zero. Re-reading an hour rewrites the same points.
 */
export const LOCAL_INFLOW_MEASUREMENT = 'local_inflow';

export function localInflowPoints(localInflowM3h: Record<string, Series>): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const [stationId, series] of Object.entries(localInflowM3h)) {
    series.values.forEach((flowM3h, i) => {
      if (flowM3h === null || !Number.isFinite(flowM3h)) return;
      points.push({ measurement: LOCAL_INFLOW_MEASUREMENT, tags: { station: stationId }, fields: { flowM3h }, timeUtcMs: series.startUtcMs + i * series.stepMin * MS_PER_MIN });
    });
  }
  return points;
}

/** Writes the forecast's points, then its marker (nothing readable if a chunk fails). Returns the data points. */
export async function writeInflowForecast(influx: InfluxConnector, forecast: InflowForecast): Promise<number> {
  const points = inflowForecastPoints(forecast);
  const stepMs = forecast.stepMin * MS_PER_MIN;
  const steps = Math.max(0, ...forecast.stations.flatMap((s) => [s.deterministicM3h.length, ...Object.values(s.quantilesM3h).map((v) => v.length)]));
  return writeIssue(influx, points, {
    kind: INFLOW_ISSUE_KIND,
    issuedAtMs: forecast.issuedAtUtcMs,
    startUtcMs: forecast.startUtcMs,
    endUtcMs: forecast.startUtcMs + Math.max(1, steps) * stepMs,
    stepMin: forecast.stepMin,
    source: forecast.rain.source,
    quality: forecast.rain.quality,
    members: forecast.rain.members,
    ...(forecast.rain.issuedAtUtcMs !== null ? { rainIssuedAtMs: forecast.rain.issuedAtUtcMs } : {}),
    flags: encodeFlags(forecastFlagsOf(forecast)),
  });
}

export interface StoredInflowForecast {
  issuedAtUtcMs: number;
  /** stationId → quantile ("det", "p10", …) → series. */
  stations: Record<string, Record<string, { timeUtcMs: number[]; flowM3h: number[] }>>;
  rainQuality: string | null;
  rainSource: string | null;
  flags: ForecastFlags;
  marker: IssueMarker;
}

/** Markers of complete inflow issues, newest first (each checked against its point count). */
async function completeInflowMarkers(influx: InfluxConnector, options: Parameters<typeof listIssueMarkers>[2]): Promise<IssueMarker[]> {
  const out: IssueMarker[] = [];
  for (const marker of await listIssueMarkers(influx, INFLOW_ISSUE_KIND, options)) {
    if ((await countIssuePoints(influx, INFLOW_FORECAST_MEASUREMENT, marker)) === marker.points) out.push(marker);
  }
  return out;
}

/**
 * One issued forecast back from InfluxDB (all stations, or the ones given); null when no complete issue of
 * that time is stored (never written, written in part, or partly overwritten by a re-issue with the same start).
 */
export async function readInflowForecast(influx: InfluxConnector, query: { issuedAtUtcMs: number; stationIds?: readonly string[] }): Promise<StoredInflowForecast | null> {
  const [marker] = await listIssueMarkers(influx, INFLOW_ISSUE_KIND, { issuedAtMs: query.issuedAtUtcMs, limit: 1 });
  if (!marker) return null;
  const filtered = query.stationIds && query.stationIds.length > 0;
  const stationFilter = filtered ? ` AND (${query.stationIds!.map((id) => `${quoteIdent('station')} = ${quoteString(id)}`).join(' OR ')})` : '';
  const [series, total] = await Promise.all([
    influx.query(
      `SELECT ${quoteIdent('flowM3h')} FROM ${quoteIdent(INFLOW_FORECAST_MEASUREMENT)} WHERE ${issueWhere(marker)}${stationFilter} GROUP BY ${quoteIdent('station')}, ${quoteIdent('quantile')}`,
    ),
    // With every station read, the rows themselves are the count.
    filtered ? countIssuePoints(influx, INFLOW_FORECAST_MEASUREMENT, marker) : Promise.resolve(null),
  ]);
  const stations: StoredInflowForecast['stations'] = {};
  let rows = 0;
  for (const s of series) {
    const station = s.tags['station'];
    const quantile = s.tags['quantile'];
    if (!station || !quantile) continue;
    const [t, f] = ['time', 'flowM3h'].map((c) => s.columns.indexOf(c)) as [number, number];
    const values = s.values.filter((row) => typeof row[f] === 'number');
    rows += values.length;
    (stations[station] ??= {})[quantile] = { timeUtcMs: values.map((row) => Number(row[t])), flowM3h: values.map((row) => row[f] as number) };
  }
  if ((total ?? rows) !== marker.points) return null;
  return { issuedAtUtcMs: marker.issuedAtMs, stations, rainQuality: marker.quality ?? null, rainSource: marker.source ?? null, flags: decodeFlags(marker.flags), marker };
}

/** The newest complete inflow forecast, or null. */
export async function readNewestInflowForecast(influx: InfluxConnector, stationIds?: readonly string[], look = 10): Promise<StoredInflowForecast | null> {
  for (const marker of await listIssueMarkers(influx, INFLOW_ISSUE_KIND, { limit: look })) {
    const stored = await readInflowForecast(influx, { issuedAtUtcMs: marker.issuedAtMs, ...(stationIds ? { stationIds } : {}) });
    if (stored) return stored;
  }
  return null;
}

/** Issue times of the complete forecasts stored (ascending), optionally those issued in [fromUtcMs, toUtcMs). */
export async function listInflowForecastIssues(influx: InfluxConnector, range: { fromUtcMs?: number; toUtcMs?: number } = {}): Promise<number[]> {
  return (await completeInflowMarkers(influx, range)).map((m) => m.issuedAtMs).sort((a, b) => a - b);
}

export interface ForecastVerification {
  stationId: string;
  steps: number;
  nse: number;
  volumeErrorPct: number;
  coverageP10P90: number;
}

/**
 * An issued forecast against what happened: the stations' local inflow from telemetry over the
 * forecast's steps (needs telemetry at the forecast's step).
 */
export async function verifyInflowForecast(influx: InfluxConnector, network: NetworkConfig, issuedAtUtcMs: number): Promise<ForecastVerification[]> {
  const stored = await readInflowForecast(influx, { issuedAtUtcMs });
  if (!stored) throw new Error(`no complete inflow forecast issued at ${new Date(issuedAtUtcMs).toISOString()} (${issuedAtUtcMs}) in InfluxDB`);
  const maxTravelMin = Math.max(0, ...network.mains.map((m) => m.travelMin), ...network.interconnections.map((x) => x.travelMin));
  const histories = new Map<string, Awaited<ReturnType<typeof readStationHistory>>>();
  const out: ForecastVerification[] = [];
  for (const [stationId, byQuantile] of Object.entries(stored.stations)) {
    const det = byQuantile[DETERMINISTIC];
    if (!det || det.timeUtcMs.length < 2) continue;
    const stepMin = (det.timeUtcMs[1]! - det.timeUtcMs[0]!) / MS_PER_MIN;
    const fromUtcMs = det.timeUtcMs[0]!;
    const toUtcMs = det.timeUtcMs[det.timeUtcMs.length - 1]! + stepMin * MS_PER_MIN;
    // Start early enough that upstream flow arriving in the first steps is known.
    const lookback = Math.ceil(maxTravelMin / stepMin) + 1;
    const key = `${fromUtcMs}/${toUtcMs}/${stepMin}`;
    let history = histories.get(key);
    if (!history) {
      history = await readStationHistory(influx, network, { fromUtcMs: fromUtcMs - lookback * stepMin * MS_PER_MIN, toUtcMs, stepMin });
      histories.set(key, history);
    }
    const observed = (history.localInflowM3h[stationId] ?? []).slice(lookback);
    const at = (series: { timeUtcMs: number[]; flowM3h: number[] } | undefined) =>
      det.timeUtcMs.map((t) => {
        const k = series ? series.timeUtcMs.indexOf(t) : -1;
        return k >= 0 ? series!.flowM3h[k]! : Number.NaN;
      });
    out.push({
      stationId,
      steps: observed.filter((v) => v !== null).length,
      nse: nashSutcliffe(observed, det.flowM3h),
      volumeErrorPct: volumeErrorPct(observed, det.flowM3h),
      coverageP10P90: coverage(observed, at(byQuantile['p10']), at(byQuantile['p90'])),
    });
  }
  return out;
}
