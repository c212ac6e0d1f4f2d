// Inflow forecasts to and from InfluxDB, keyed by issue time so each can later be compared with what
// happened.
//
//   inflow_forecast  tags: station (station id), issuedAt (issue time, epoch ms as a decimal string, as
//                    rain_forecast does), quantile ("det" = from the deterministic rain, "p10", "p50",
//                    "p90"); fields: flowM3h (mean over the step), leadMin (step start − issue time),
//                    rainQuality ("fresh" | "stale" | "fallback"); "det" points also dwfM3h,
//                    groundwaterM3h, rdiiM3h. Time = the START of the step, UTC.
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import { MS_PER_MIN } from './calendar.js';
import type { InflowForecast } from './inflow.js';
import { readStationHistory } from './history.js';
import { quoteIdent, quoteString, writeInChunks } from './influxql.js';
import { coverage, nashSutcliffe, volumeErrorPct } from './series.js';

export const INFLOW_FORECAST_MEASUREMENT = 'inflow_forecast';
export const DETERMINISTIC = 'det';

export function inflowForecastPoints(forecast: InflowForecast): SeriesPoint[] {
  const stepMs = forecast.stepMin * MS_PER_MIN;
  const issuedAt = String(forecast.issuedAtUtcMs);
  const points: SeriesPoint[] = [];
  for (const s of forecast.stations) {
    const series: [string, number[]][] = [[DETERMINISTIC, s.deterministicM3h], ...Object.entries(s.quantilesM3h)];
    for (const [quantile, values] of series) {
      values.forEach((flowM3h, i) => {
        const timeUtcMs = forecast.startUtcMs + i * stepMs;
        const fields: SeriesPoint['fields'] = { flowM3h, leadMin: (timeUtcMs - forecast.issuedAtUtcMs) / MS_PER_MIN, rainQuality: forecast.rain.quality };
        if (quantile === DETERMINISTIC) {
          fields.dwfM3h = s.dwfM3h[i]!;
          fields.groundwaterM3h = s.groundwaterM3h[i]!;
          fields.rdiiM3h = s.rdiiM3h[i]!;
        }
        points.push({ measurement: INFLOW_FORECAST_MEASUREMENT, tags: { station: s.stationId, issuedAt, quantile }, fields, timeUtcMs });
      });
    }
  }
  return points;
}

export async function writeInflowForecast(influx: InfluxConnector, forecast: InflowForecast): Promise<number> {
  return writeInChunks(influx, inflowForecastPoints(forecast));
}

export interface StoredInflowForecast {
  issuedAtUtcMs: number;
  /** stationId → quantile ("det", "p10", …) → series. */
  stations: Record<string, Record<string, { timeUtcMs: number[]; flowM3h: number[] }>>;
  rainQuality: string | null;
}

/** One issued forecast back from InfluxDB (all stations, or the ones given). */
export async function readInflowForecast(influx: InfluxConnector, query: { issuedAtUtcMs: number; stationIds?: readonly string[] }): Promise<StoredInflowForecast> {
  const stationFilter =
    query.stationIds && query.stationIds.length > 0 ? ` AND (${query.stationIds.map((id) => `${quoteIdent('station')} = ${quoteString(id)}`).join(' OR ')})` : '';
  const series = await influx.query(
    `SELECT ${quoteIdent('flowM3h')}, ${quoteIdent('rainQuality')} FROM ${quoteIdent(INFLOW_FORECAST_MEASUREMENT)} WHERE ${quoteIdent('issuedAt')} = ${quoteString(String(query.issuedAtUtcMs))}${stationFilter} GROUP BY ${quoteIdent('station')}, ${quoteIdent('quantile')}`,
  );
  const stations: StoredInflowForecast['stations'] = {};
  let rainQuality: string | null = null;
  for (const s of series) {
    const station = s.tags['station'];
    const quantile = s.tags['quantile'];
    if (!station || !quantile) continue;
    const [t, f, q] = ['time', 'flowM3h', 'rainQuality'].map((c) => s.columns.indexOf(c)) as [number, number, number];
    const rows = s.values.filter((row) => typeof row[f] === 'number');
    (stations[station] ??= {})[quantile] = { timeUtcMs: rows.map((row) => Number(row[t])), flowM3h: rows.map((row) => row[f] as number) };
    const quality = s.values[0]?.[q];
    if (typeof quality === 'string') rainQuality = quality;
  }
  return { issuedAtUtcMs: query.issuedAtUtcMs, stations, rainQuality };
}

/** Issue times of the forecasts stored (ascending). */
export async function listInflowForecastIssues(influx: InfluxConnector): Promise<number[]> {
  const series = await influx.query(`SHOW TAG VALUES FROM ${quoteIdent(INFLOW_FORECAST_MEASUREMENT)} WITH KEY = ${quoteIdent('issuedAt')}`);
  const out = new Set<number>();
  for (const s of series) {
    const v = s.columns.indexOf('value');
    for (const row of s.values) {
      const n = Number(row[v]);
      if (Number.isFinite(n)) out.add(n);
    }
  }
  return [...out].sort((a, b) => a - b);
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
