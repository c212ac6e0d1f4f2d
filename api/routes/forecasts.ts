// Forecasts as stored in InfluxDB: the rain the newest dispatch cycle used per catchment (rain_forecast kind
// "cycle-<n>min", written by activities/dispatch.ts fetchRainForecast, with the quality that cycle had: fresh,
// stale with its age, or fallback) and the newest inflow forecast per station with its ensemble band
// (inflow_forecast: deterministic, p10, p50, p90; written by forecasting/write.ts) and its flags, plus the
// rain ensemble's P10/P50/P90 per catchment and step across the members of the newest ensemble issue
// (rain_ensemble, written by forecasting/rain-store.ts). Only issues whose completion marker exists and whose
// points are all there are shown (forecasting/issues.ts). Every time is the START of its step. Layout in
// forecasting/README.md and dashboards/README.md.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { InfluxConnector } from '../../connectors/influx.js';
import { quoteIdent, quoteString } from '../../forecasting/influxql.js';
import { issueWhere, newestCompleteIssue } from '../../forecasting/issues.js';
import { CYCLE_KIND_PATTERN, loadNewestGoodRain, RAIN_FORECAST_MEASUREMENT } from '../../forecasting/rain-store.js';
import { quantileSorted } from '../../forecasting/series.js';
import { DETERMINISTIC, readNewestInflowForecast } from '../../forecasting/write.js';
import type { NetworkConfig } from '../../network/schema.js';
import { errorResponses } from '../schemas.js';

const Num = Type.Union([Type.Number(), Type.Null()]);
/** A forecast flag: English text as the forecast writes it (or both languages, should it come localised). */
const Flag = Type.Union([Type.String(), Type.Object({ zh: Type.String(), en: Type.String() })]);

const RainBand = Type.Object({
  /** Start of each step, UTC ms (the same convention as the deterministic series). */
  timeUtcMs: Type.Array(Type.Number()),
  /** The ensemble's own step (the provider's, often coarser than the deterministic one). */
  stepMin: Type.Number(),
  /** Members the quantiles of each step were taken over (members with a gap there are left out). */
  members: Type.Array(Type.Integer()),
  /** Quantiles of rain over the step across members; null where every member has a gap (never read as dry). */
  p10Mm: Type.Array(Num),
  p50Mm: Type.Array(Num),
  p90Mm: Type.Array(Num),
});

const RainSeries = Type.Object({
  catchmentId: Type.String(),
  /** The station the catchment drains to. */
  stationId: Type.String(),
  /** Start of each step, UTC ms. */
  timeUtcMs: Type.Array(Type.Number()),
  /** Length of a step: the step the cycle used (15 min when planning, 60 for the hourly view). */
  stepMin: Type.Number(),
  /** Rain over the step; null where the forecast has a gap (never read a gap as dry). */
  mm: Type.Array(Num),
  totalMm: Type.Number(),
  gaps: Type.Integer(),
  /** P10/P50/P90 of the newest ensemble issue; null when no ensemble is stored for this catchment. */
  ensemble: Type.Union([RainBand, Type.Null()]),
});

const InflowSeries = Type.Object({
  stationId: Type.String(),
  timeUtcMs: Type.Array(Type.Number()),
  detM3h: Type.Array(Num),
  p10M3h: Type.Array(Num),
  p50M3h: Type.Array(Num),
  p90M3h: Type.Array(Num),
  /** What the forecast says of this station (rain gaps filled, missing past rain, …). */
  flags: Type.Array(Flag),
});

export const ForecastsBody = Type.Object({
  rain: Type.Object({
    /** Issue time of the rain forecast the newest cycle used (for a stale forecast: when it was fetched). */
    issuedAtUtcMs: Num,
    /** When that cycle used it. */
    usedAtUtcMs: Num,
    /** The cycle's source, e.g. "open-meteo:best_match;quality=stale,age=45min". */
    source: Type.Union([Type.String(), Type.Null()]),
    /** fresh | stale | fallback as that cycle had it; null when the source names none. */
    quality: Type.Union([Type.String(), Type.Null()]),
    /** The ensemble issue the bands come from; null when no rain ensemble is stored (no band is shown). */
    ensemble: Type.Union([Type.Object({ issuedAtUtcMs: Type.Number(), source: Type.String(), members: Type.Integer() }), Type.Null()]),
    catchments: Type.Array(RainSeries),
  }),
  inflow: Type.Object({
    issuedAtUtcMs: Num,
    rainQuality: Type.Union([Type.String(), Type.Null()]),
    rainSource: Type.Union([Type.String(), Type.Null()]),
    /** What the forecast says of itself as a whole (rain quality, ensemble, error correction, configured DWF). */
    flags: Type.Array(Flag),
    stations: Type.Array(InflowSeries),
  }),
});
export type ForecastsBody = Type.Static<typeof ForecastsBody>;

const Query = Type.Object(
  {
    station: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: 'Only this station (and its catchment)' })),
  },
  { additionalProperties: false },
);

/** P10/P50/P90 per step across members; a member's gap is left out, a step where all members have one stays null. */
export function rainBand(members: readonly (readonly (number | null)[])[], timeUtcMs: number[], stepMin: number): Type.Static<typeof RainBand> {
  const band: Type.Static<typeof RainBand> = { timeUtcMs, stepMin, members: [], p10Mm: [], p50Mm: [], p90Mm: [] };
  timeUtcMs.forEach((_, i) => {
    const sorted = members.map((m) => m[i]).filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    band.members.push(sorted.length);
    const q = (p: number) => (sorted.length === 0 ? null : Math.round(quantileSorted(sorted, p) * 1000) / 1000);
    band.p10Mm.push(q(0.1));
    band.p50Mm.push(q(0.5));
    band.p90Mm.push(q(0.9));
  });
  return band;
}

const kindTag = (kind: string) => `${quoteIdent('kind')} = ${quoteString(kind)}`;

export async function readForecasts(influx: InfluxConnector, network: NetworkConfig, stationId?: string): Promise<ForecastsBody> {
  const catchments = network.catchments.filter((c) => !stationId || c.node === stationId);
  const [cycle, inflowStored, ensemble] = await Promise.all([
    // The newest cycle whose rain was written whole: what the last dispatch cycle planned on.
    newestCompleteIssue(influx, CYCLE_KIND_PATTERN, RAIN_FORECAST_MEASUREMENT, (m) => kindTag(m.kind)),
    readNewestInflowForecast(influx, stationId ? [stationId] : undefined),
    loadNewestGoodRain(influx, 'ensemble'),
  ]);

  const rain: ForecastsBody['rain'] = {
    issuedAtUtcMs: cycle ? (cycle.rainIssuedAtMs ?? cycle.issuedAtMs) : null,
    usedAtUtcMs: cycle?.issuedAtMs ?? null,
    source: cycle?.source ?? null,
    quality: cycle?.quality ?? null,
    ensemble: ensemble ? { issuedAtUtcMs: ensemble.issuedAtUtcMs, source: ensemble.source, members: Math.max(0, ...Object.values(ensemble.members ?? {}).map((m) => m.length)) } : null,
    catchments: [],
  };
  if (cycle && catchments.length > 0) {
    const only = catchments.map((c) => `${quoteIdent('catchment')} = ${quoteString(c.id)}`).join(' OR ');
    const series = await influx.query(
      `SELECT ${quoteIdent('precipitationMm')}, ${quoteIdent('gap')} FROM ${quoteIdent(RAIN_FORECAST_MEASUREMENT)} WHERE ${kindTag(cycle.kind)} AND ${issueWhere(cycle)} AND (${only}) GROUP BY ${quoteIdent('catchment')}`,
    );
    const stepMs = cycle.stepMin * 60_000;
    const steps = Math.round((cycle.endUtcMs - cycle.startUtcMs) / stepMs);
    for (const c of catchments) {
      const s = series.find((x) => x.tags['catchment'] === c.id);
      if (!s) continue;
      // On the issue's grid: a step without a point is a gap too.
      const [t, p] = ['time', 'precipitationMm'].map((name) => s.columns.indexOf(name)) as [number, number];
      const mm = new Array<number | null>(steps).fill(null);
      for (const row of s.values) {
        const i = Math.round((Number(row[t]) - cycle.startUtcMs) / stepMs);
        const v = row[p];
        if (i >= 0 && i < steps) mm[i] = typeof v === 'number' ? v : null;
      }
      const timeUtcMs = mm.map((_, i) => cycle.startUtcMs + i * stepMs);
      const members = ensemble?.members?.[c.id];
      const ensembleStepMs = (ensemble?.stepMin ?? 60) * 60_000;
      const ensembleTimes = ensemble && members?.[0] ? members[0].map((_, i) => ensemble.startUtcMs + i * ensembleStepMs) : [];
      rain.catchments.push({
        catchmentId: c.id,
        stationId: c.node,
        timeUtcMs,
        stepMin: cycle.stepMin,
        mm,
        totalMm: Math.round(mm.reduce<number>((a, x) => a + (x ?? 0), 0) * 10) / 10,
        gaps: mm.filter((x) => x === null).length,
        ensemble: ensemble && members?.length ? rainBand(members, ensembleTimes, ensemble.stepMin) : null,
      });
    }
  }

  const inflow: ForecastsBody['inflow'] = {
    issuedAtUtcMs: inflowStored?.issuedAtUtcMs ?? null,
    rainQuality: inflowStored?.rainQuality ?? null,
    rainSource: inflowStored?.rainSource ?? null,
    flags: inflowStored?.flags.forecast ?? [],
    stations: [],
  };
  if (inflowStored) {
    for (const station of network.stations) {
      const byQuantile = inflowStored.stations[station.id];
      if (!byQuantile) continue;
      // The deterministic run sets the time axis; quantiles are aligned to it by time (a missing step stays null).
      const axis = (byQuantile[DETERMINISTIC] ?? byQuantile['p50'] ?? Object.values(byQuantile)[0])!.timeUtcMs;
      const aligned = (quantile: string) => {
        const q = byQuantile[quantile];
        if (!q) return axis.map(() => null);
        const at = new Map(q.timeUtcMs.map((time, i) => [time, q.flowM3h[i]!]));
        return axis.map((time) => at.get(time) ?? null);
      };
      inflow.stations.push({
        stationId: station.id,
        timeUtcMs: axis,
        detM3h: aligned(DETERMINISTIC),
        p10M3h: aligned('p10'),
        p50M3h: aligned('p50'),
        p90M3h: aligned('p90'),
        flags: inflowStored.flags.stations[station.id] ?? [],
      });
    }
  }
  return { rain, inflow };
}

export const forecastRoutes: FastifyPluginAsync<{ influx: InfluxConnector; network: NetworkConfig }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { influx, network } = options;
  app.get(
    '/api/forecasts',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['forecasts'],
        summary: 'Rain the latest dispatch cycle used per catchment (with its quality) and the ensemble P10–P90 band; latest inflow forecast per station with its p10–p90 band and flags / 降雨与来水预报',
        security: [{ bearer: [] }],
        querystring: Query,
        response: { 200: ForecastsBody, ...errorResponses },
      },
    },
    async (request) => {
      const stationId = request.query.station;
      if (stationId && !network.stations.some((s) => s.id === stationId)) {
        throw Object.assign(new Error(`no station ${stationId} in network ${network.id}`), { statusCode: 404, code: 'Not Found' });
      }
      return readForecasts(influx, network, stationId);
    },
  );
};
