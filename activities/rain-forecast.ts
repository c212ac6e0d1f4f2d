// Rain forecast for every catchment of a network, from the Open-Meteo connector.
import type { OpenMeteoConnector } from '../connectors/openmeteo.js';
import type { NetworkConfig } from '../network/schema.js';
import type { RainForecastSource } from './dispatch.js';
import type { RainForecast } from './types.js';

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
