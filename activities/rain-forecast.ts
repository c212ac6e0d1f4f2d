// Rain forecast for every catchment of a network, from the Open-Meteo connector.
import type { OpenMeteoConnector } from '../connectors/openmeteo.js';
import type { NetworkConfig } from '../network/schema.js';
import type { RainForecastSource } from './dispatch.js';
import type { RainForecast } from './types.js';

/**
 * What the dispatch cycle's forecast activity returns: the rain, and when the inflow forecast was issued
 * with it, that forecast's issue time (the planner finds it by that; forecasting/cycle.ts).
 */
export interface CycleRainForecast extends RainForecast {
  inflowIssuedAtUtcMs?: number;
  /** Ensemble members behind the inflow forecast (0: deterministic only). */
  ensembleMembers?: number;
}

/** The inflow issue time a forecast names, if any (a forecast recorded before inflow forecasts has none). */
export function inflowIssueOf(forecast: CycleRainForecast | null | undefined): number | null {
  const value = forecast?.inflowIssuedAtUtcMs;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function openMeteoRainSource(connector: OpenMeteoConnector, sourceName = 'open-meteo'): RainForecastSource {
  return {
    async fetchCatchmentRain(network: NetworkConfig, hours: number): Promise<RainForecast> {
      const locations = network.catchments.map((c) => ({ id: c.id, latDeg: c.location.latDeg, lonDeg: c.location.lonDeg }));
      const byId = await connector.fetchPrecipitationForecast(locations, { hours });
      const forecasts = network.catchments.map((c) => {
        const f = byId[c.id];
        if (!f) throw new Error(`forecast answer has no series for catchment ${c.id}`);
        return f;
      });
      return {
        issuedAtUtcMs: Math.min(...forecasts.map((f) => f.issuedAtUtcMs)),
        source: `${sourceName}:${forecasts[0]?.model ?? 'unknown'}`,
        stepMin: forecasts[0]?.hourly.stepMin ?? 60,
        locations: network.catchments.map((c, i) => ({
          catchmentId: c.id,
          timeUtcMs: forecasts[i]!.hourly.timeUtcMs,
          precipitationMm: forecasts[i]!.hourly.precipitationMm,
        })),
      };
    },
  };
}
