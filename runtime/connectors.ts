// Composition root: build each connector from validated settings, and the health probes over them.
import path from 'node:path';
import type { Connection } from '@temporalio/client';
import { createInfluxConnector, type InfluxConnector } from '../connectors/influx.js';
import { createOpcUaConnector, type OpcUaConnector } from '../connectors/opcua.js';
import { createOpenMeteoConnector, parseRateLimits, type OpenMeteoConnector } from '../connectors/openmeteo.js';
import { createInflowCycle, type InflowCycle } from '../forecasting/cycle.js';
import { activityRainForecastSource, createRainSource, fetchArchiveRain } from '../forecasting/rain-source.js';
import { influxLastGoodStore } from '../forecasting/rain-store.js';
import { readRecentOutflow, readRecentTransfer } from '../forecasting/history.js';
import { recentOutflowWindowMin } from '../planner/mpc.js';
import { MS_PER_DAY } from '../forecasting/calendar.js';
import type { DispatchDependencies, RainForecastSource } from '../activities/dispatch.js';
import { plannerByName } from '../activities/mpc-planner.js';
import type { ComponentProbe } from '../api/routes/health.js';
import { ingestHealth } from '../ingest/state.js';
import type { NetworkConfig } from '../network/schema.js';
import type { Env } from '../settings/env.js';
import { repoRoot } from './paths.js';

/** Rain before now fetched with each forecast (past_hours) for the RDII state: the slow response drains for days. */
export const PAST_RAIN_H = 72;

export interface RuntimeConnectors {
  opcua: OpcUaConnector;
  influx: InfluxConnector;
  openMeteo: OpenMeteoConnector;
  rain: RainForecastSource;
  /** The cycle's inflow forecast over the same rain source (written to InfluxDB, kept for the planner). */
  inflow: InflowCycle;
  close(): Promise<void>;
}

/** The OPC UA client's certificate folder, shared with ingest (one certificate for SCADA to trust), and its trust setting. */
export function opcuaPki(env: Pick<Env, 'OPCUA_PKI_DIR' | 'OPCUA_ACCEPT_UNKNOWN_SERVER_CERT'>): { pkiFolder: string; acceptUnknownServerCertificate: boolean } {
  return { pkiFolder: path.resolve(repoRoot, env.OPCUA_PKI_DIR), acceptUnknownServerCertificate: env.OPCUA_ACCEPT_UNKNOWN_SERVER_CERT === 'true' };
}

export function createRuntimeConnectors(env: Env, network: NetworkConfig): RuntimeConnectors {
  const opcua = createOpcUaConnector({
    endpointUrl: env.OPCUA_ENDPOINT,
    securityMode: env.OPCUA_SECURITY_MODE,
    ...(env.OPCUA_USER ? { userName: env.OPCUA_USER } : {}),
    ...(env.OPCUA_PASSWORD ? { password: env.OPCUA_PASSWORD } : {}),
    ...(env.OPCUA_SECURITY_MODE === 'SignAndEncrypt' ? opcuaPki(env) : {}),
  });
  const influx = createInfluxConnector({ url: env.INFLUX_URL, token: env.INFLUX_TOKEN, org: env.INFLUX_ORG, bucket: env.INFLUX_BUCKET, database: env.INFLUX_DATABASE });
  const rateLimits = parseRateLimits(env.OPEN_METEO_RATE_LIMITS);
  const openMeteo = createOpenMeteoConnector({
    forecastUrl: env.OPEN_METEO_FORECAST_URL,
    ensembleUrl: env.OPEN_METEO_ENSEMBLE_URL,
    archiveUrl: env.OPEN_METEO_ARCHIVE_URL,
    // Worst case two attempts of 8 s and a backoff: a hanging service still leaves the forecast activity
    // (30 s) time to fall back on the last good forecast instead of timing out.
    timeoutMs: 8_000,
    retries: 1,
    ...(rateLimits !== undefined ? { rateLimits } : {}),
  });
  // Plans keep using the last good forecast (flagged with its age; kept in InfluxDB, so also after a
  // restart) when the service is away, and fall back visibly beyond maxStaleMin; the plan's forecast
  // source names the quality it was built on.
  const rainSource = createRainSource({
    connector: openMeteo,
    locations: network,
    horizonH: network.planning.horizonH,
    stepMin: network.planning.stepMin,
    ensemble: env.FORECAST_ENSEMBLE === 'on',
    ensembleRefreshMin: Number(env.FORECAST_ENSEMBLE_REFRESH_MIN),
    pastH: PAST_RAIN_H,
    store: influxLastGoodStore(influx, network.planning.stepMin),
  });
  const inflow = createInflowCycle({
    network,
    influx,
    rain: rainSource,
    // Dry days need known rain; where no gauge rain is in InfluxDB the archive API gives it.
    archiveRain: async ({ fromUtcMs, toUtcMs }) => {
      const day = (utcMs: number) => new Date(utcMs).toISOString().slice(0, 10);
      return fetchArchiveRain(openMeteo, network, { startDate: day(fromUtcMs), endDate: day(toUtcMs - MS_PER_DAY), stepMin: 60 });
    },
  });
  // The flood assessment reads hourly rain (flood/warning.ts): this view sums the 15-min steps into hours.
  const rain = activityRainForecastSource(rainSource, { stepMin: 60 });
  return { opcua, influx, openMeteo, rain, inflow, close: () => opcua.close() };
}

/**
 * What the dispatch activities take from the connectors: rain, the inflow forecast each cycle issues, and the
 * planner PLANNER names (it finds that inflow forecast by its issue time). `opcua` may be a wrapper of
 * connectors.opcua (the worker serialises it with the heartbeat).
 */
export function cycleDependencies(env: Env, network: NetworkConfig, connectors: RuntimeConnectors, opcua: OpcUaConnector = connectors.opcua): DispatchDependencies {
  return {
    network,
    opcua,
    influx: connectors.influx,
    forecast: connectors.rain,
    inflow: connectors.inflow,
    planner: plannerByName(env.PLANNER, {
      inflow: connectors.inflow,
      recentOutflow: (untilUtcMs) => readRecentOutflow(connectors.influx, network, untilUtcMs, recentOutflowWindowMin(network)),
      recentTransfer: (untilUtcMs) => readRecentTransfer(connectors.influx, network, untilUtcMs, recentOutflowWindowMin(network)),
    }),
  };
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
    // Ingest runs in its own process: its heartbeat in InfluxDB says whether it is alive and subscribed.
    ingest: () => ingestHealth(connectors.influx, Date.now()),
  };
}
