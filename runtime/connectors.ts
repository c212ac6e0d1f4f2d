// Composition root: build each connector from validated settings, and the health probes over them.
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { createInfluxConnector, type InfluxConnector } from '../connectors/influx.js';
import { createOpcUaConnector, type OpcUaConnector } from '../connectors/opcua.js';
import { createOpenMeteoConnector, type OpenMeteoConnector } from '../connectors/openmeteo.js';
import { activityRainForecastSource, createRainSource } from '../forecasting/rain-source.js';
import type { RainForecastSource } from '../activities/dispatch.js';
import type { ComponentProbe } from '../api/routes/health.js';
import type { NetworkConfig } from '../network/schema.js';
import type { Env } from '../settings/env.js';
import { repoRoot } from './paths.js';

export interface RuntimeConnectors {
  opcua: OpcUaConnector;
  influx: InfluxConnector;
  openMeteo: OpenMeteoConnector;
  rain: RainForecastSource;
  close(): Promise<void>;
}

export function createRuntimeConnectors(env: Env, network: NetworkConfig): RuntimeConnectors {
  const opcua = createOpcUaConnector({
    endpointUrl: env.OPCUA_ENDPOINT,
    securityMode: env.OPCUA_SECURITY_MODE,
    ...(env.OPCUA_USER ? { userName: env.OPCUA_USER } : {}),
    ...(env.OPCUA_PASSWORD ? { password: env.OPCUA_PASSWORD } : {}),
    ...(env.OPCUA_SECURITY_MODE === 'SignAndEncrypt' ? { pkiFolder: path.join(repoRoot, '.data', 'pki-client') } : {}),
  });
  const influx = createInfluxConnector({ url: env.INFLUX_URL, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG, bucket: env.INFLUX_BUCKET, database: env.INFLUX_DATABASE });
  const openMeteo = createOpenMeteoConnector({
    forecastUrl: env.OPEN_METEO_FORECAST_URL,
    ensembleUrl: env.OPEN_METEO_ENSEMBLE_URL,
    archiveUrl: env.OPEN_METEO_ARCHIVE_URL,
    timeoutMs: 10_000,
    retries: 2,
  });
  // Plans keep using the last good forecast (flagged with its age) when the service is away, and fall
  // back visibly beyond maxStaleMin; the plan's forecast source names the quality it was built on.
  const rain = activityRainForecastSource(createRainSource({ connector: openMeteo, locations: network, horizonH: network.planning.horizonH, stepMin: 60, ensemble: false }));
  return { opcua, influx, openMeteo, rain, close: () => opcua.close() };
}

export function healthProbes(connectors: RuntimeConnectors, temporal: Connection): Record<string, ComponentProbe> {
  return {
    temporal: async () => {
      const info = await temporal.workflowService.getSystemInfo({});
      return { detail: `server ${info.serverVersion ?? 'unknown'}` };
    },
    influxdb: async () => ({ detail: `version ${(await connectors.influx.ping()).version}` }),
    opcua: async () => ({ detail: `server state ${(await connectors.opcua.ping()).serverState}` }),
    forecast: async () => {
      await connectors.openMeteo.ping();
      return {};
    },
  };
}
