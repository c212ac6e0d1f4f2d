// Forecasts as stored in InfluxDB: the latest rain forecast per catchment (rain_forecast, written by the
// dispatch cycle) and the latest inflow forecast per station with its ensemble band (inflow_forecast:
// deterministic, p10, p50, p90; written by forecasting/write.ts), plus the rain ensemble's P10/P50/P90 per
// catchment and step across the members of the newest ensemble issue (rain_ensemble, written by
// forecasting/rain-store.ts). Layout in dashboards/README.md.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import type { InfluxConnector } from '../../connectors/influx.js';
import { quoteIdent, quoteString } from '../../forecasting/influxql.js';
import { loadNewestGoodRain } from '../../forecasting/rain-store.js';
import { quantileSorted } from '../../forecasting/series.js';
import { DETERMINISTIC, listInflowForecastIssues, readInflowForecast } from '../../forecasting/write.js';
import type { NetworkConfig } from '../../network/schema.js';
import { errorResponses } from '../schemas.js';

const Num = Type.Union([Type.Number(), Type.Null()]);

const RainBand = Type.Object({
  /** Same time convention as the deterministic series' timeUtcMs (the stored time of each step). */
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
  /** Length of a step: 60 (the hourly series) or the planning step when only that is stored. */
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
});

export const ForecastsBody = Type.Object({
  rain: Type.Object({
    issuedAtUtcMs: Num,
    source: Type.Union([Type.String(), Type.Null()]),
    /** The ensemble issue the bands come from; null when no rain ensemble is stored (no band is shown). */
    ensemble: Type.Union([Type.Object({ issuedAtUtcMs: Type.Number(), source: Type.String(), members: Type.Integer() }), Type.Null()]),
    catchments: Type.Array(RainSeries),
  }),
  inflow: Type.Object({ issuedAtUtcMs: Num, rainQuality: Type.Union([Type.String(), Type.Null()]), stations: Type.Array(InflowSeries) }),
});
export type ForecastsBody = Type.Static<typeof ForecastsBody>;

const Query = Type.Object(
  {
    station: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$', description: 'Only this station (and its catchment)' })),
  },
  { additionalProperties: false },
);

/** Issue time (epoch ms) of the newest rain forecast stored. */
async function latestRainIssue(influx: InfluxConnector): Promise<number | null> {
  const series = await influx.query(`SHOW TAG VALUES FROM ${quoteIdent('rain_forecast')} WITH KEY = ${quoteIdent('issuedAt')}`);
  let newest: number | null = null;
  for (const s of series) {
    const v = s.columns.indexOf('value');
    for (const row of s.values) {
      const n = Number(row[v]);
      if (Number.isFinite(n) && (newest === null || n > newest)) newest = n;
    }
  }
  return newest;
}

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

export async function readForecasts(influx: InfluxConnector, network: NetworkConfig, stationId?: string): Promise<ForecastsBody> {
  const catchments = network.catchments.filter((c) => !stationId || c.node === stationId);
  const [rainIssue, inflowIssues, ensemble] = await Promise.all([latestRainIssue(influx), listInflowForecastIssues(influx), loadNewestGoodRain(influx, 'ensemble')]);

  const rain: ForecastsBody['rain'] = {
    issuedAtUtcMs: rainIssue,
    source: null,
    ensemble: ensemble ? { issuedAtUtcMs: ensemble.issuedAtUtcMs, source: ensemble.source, members: Math.max(0, ...Object.values(ensemble.members ?? {}).map((m) => m.length)) } : null,
    catchments: [],
  };
  if (rainIssue !== null && catchments.length > 0) {
    const only = catchments.map((c) => `${quoteIdent('catchment')} = ${quoteString(c.id)}`).join(' OR ');
    const series = await influx.query(
      `SELECT ${quoteIdent('precipitationMm')}, ${quoteIdent('gap')} FROM ${quoteIdent('rain_forecast')} WHERE ${quoteIdent('issuedAt')} = ${quoteString(String(rainIssue))} AND (${only}) GROUP BY ${quoteIdent('catchment')}, ${quoteIdent('source')}`,
    );
    for (const c of catchments) {
      // One issue may hold the planning steps and an hourly view of them (source suffix ";60min"): show the hourly one.
      const own = series.filter((x) => x.tags['catchment'] === c.id);
      const s = own.find((x) => (x.tags['source'] ?? '').endsWith(';60min')) ?? own[0];
      if (!s) continue;
      rain.source ??= s.tags['source'] ?? null;
      const [t, p] = ['time', 'precipitationMm'].map((name) => s.columns.indexOf(name)) as [number, number];
      const mm = s.values.map((row) => {
        const v = row[p];
        return typeof v === 'number' ? v : null;
      });
      const timeUtcMs = s.values.map((row) => Number(row[t]));
      const members = ensemble?.members?.[c.id];
      // Stored at the end of each step, like the deterministic series: the same convention for both.
      const ensembleStepMs = (ensemble?.stepMin ?? 60) * 60_000;
      const ensembleTimes = ensemble && members?.[0] ? members[0].map((_, i) => ensemble.startUtcMs + (i + 1) * ensembleStepMs) : [];
      rain.catchments.push({
        catchmentId: c.id,
        stationId: c.node,
        timeUtcMs,
        stepMin: timeUtcMs.length > 1 ? Math.round((timeUtcMs[1]! - timeUtcMs[0]!) / 60_000) : 60,
        mm,
        totalMm: Math.round(mm.reduce<number>((a, x) => a + (x ?? 0), 0) * 10) / 10,
        gaps: mm.filter((x) => x === null).length,
        ensemble: ensemble && members?.length ? rainBand(members, ensembleTimes, ensemble.stepMin) : null,
      });
    }
  }

  const inflowIssue = inflowIssues.at(-1) ?? null;
  const inflow: ForecastsBody['inflow'] = { issuedAtUtcMs: inflowIssue, rainQuality: null, stations: [] };
  if (inflowIssue !== null) {
    const stored = await readInflowForecast(influx, { issuedAtUtcMs: inflowIssue, ...(stationId ? { stationIds: [stationId] } : {}) });
    inflow.rainQuality = stored.rainQuality;
    for (const station of network.stations) {
      const byQuantile = stored.stations[station.id];
      if (!byQuantile) continue;
      // The deterministic run sets the time axis; quantiles are aligned to it by time (a missing step stays null).
      const axis = (byQuantile[DETERMINISTIC] ?? byQuantile['p50'] ?? Object.values(byQuantile)[0])!.timeUtcMs;
      const aligned = (quantile: string) => {
        const q = byQuantile[quantile];
        if (!q) return axis.map(() => null);
        const at = new Map(q.timeUtcMs.map((time, i) => [time, q.flowM3h[i]!]));
        return axis.map((time) => at.get(time) ?? null);
      };
      inflow.stations.push({ stationId: station.id, timeUtcMs: axis, detM3h: aligned(DETERMINISTIC), p10M3h: aligned('p10'), p50M3h: aligned('p50'), p90M3h: aligned('p90') });
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
        summary: 'Latest rain forecast per catchment with its ensemble P10–P90 band and inflow forecast per station with its p10–p90 band / 降雨与来水预报',
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
