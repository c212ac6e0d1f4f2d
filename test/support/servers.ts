// Shared helper for integration tests: real Temporal and InfluxDB servers on free ports, state in a temp folder.
//
//   const servers = await startTestServers();
//   after(() => servers.stop());
//   // servers.temporal.address, servers.influx.{url, token, database}
//
// For Temporal's own test environment (TestWorkflowEnvironment), point the SDK at the same binary instead of
// letting it download one (there is no internet here):
//
//   const env = await TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions());
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { LocalTestWorkflowEnvironmentOptions } from '@temporalio/testing';
import { ensureInfluxdBinary, ensureTemporalBinary, startInfluxd, startTemporal } from '../../infra/servers.js';
import { loadEnv, type Env } from '../../settings/env.js';

export interface TestServers {
  temporal: { address: string; namespace: string; uiUrl: string };
  influx: { url: string; token: string; database: string };
  /** The temp folder holding both servers' state (removed by stop()). */
  dataDir: string;
  /** Stop both servers and remove the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartTestServersOptions {
  /** Start Temporal (default true). */
  temporal?: boolean;
  /** Start InfluxDB (default true). */
  influx?: boolean;
  /** InfluxDB database to create (default "sewer"). */
  database?: string;
}

/** Start both servers on free ports with state in a fresh temp folder. */
export async function startTestServers(options: StartTestServersOptions = {}): Promise<TestServers> {
  const dataDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-test-servers-'));
  const wantTemporal = options.temporal !== false;
  const wantInflux = options.influx !== false;
  const [temporalBinary, influxdBinary] = [wantTemporal ? await ensureTemporalBinary() : undefined, wantInflux ? await ensureInfluxdBinary() : undefined];
  const results = await Promise.allSettled([
    temporalBinary ? startTemporal({ dataDir: path.join(dataDir, 'temporal'), port: 0, uiPort: 0, binary: temporalBinary }) : undefined,
    influxdBinary ? startInfluxd({ dataDir: path.join(dataDir, 'influxdb'), port: 0, binary: influxdBinary, database: options.database ?? 'sewer' }) : undefined,
  ]);
  const [temporal, influx] = results;
  const stopAll = async () => {
    await Promise.all(results.flatMap((r) => (r.status === 'fulfilled' && r.value ? [r.value.stop()] : [])));
    await fsp.rm(dataDir, { recursive: true, force: true });
  };
  if (temporal.status === 'rejected' || influx.status === 'rejected') {
    await stopAll();
    const reasons = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    throw new Error(`startTestServers failed:\n${reasons.join('\n')}`);
  }
  const t = temporal.value;
  const i = influx.value;
  let stopping: Promise<void> | undefined;
  return {
    temporal: { address: t?.address ?? '', namespace: t?.namespace ?? 'default', uiUrl: t?.uiUrl ?? '' },
    influx: { url: i?.url ?? '', token: i?.token ?? '', database: i?.database ?? '' },
    dataDir,
    stop: () => (stopping ??= stopAll()),
  };
}

/**
 * Options for `TestWorkflowEnvironment.createLocal` that run the project's Temporal CLI binary
 * (installed by infra/bootstrap.sh into .cache/bin) instead of downloading one.
 */
export async function temporalTestEnvironmentOptions(): Promise<LocalTestWorkflowEnvironmentOptions> {
  return { server: { executable: { type: 'existing-path', path: await ensureTemporalBinary() } } };
}

/**
 * The service's settings for these servers, a simulator and a forecast server, validated as at start-up
 * (defaults applied): what the worker and the API would read from the environment.
 */
export function serviceEnv(servers: TestServers, endpoints: { opcuaEndpoint: string; forecastUrl: string }, extra: Record<string, string> = {}): Env {
  return loadEnv({
    TEMPORAL_ADDRESS: servers.temporal.address,
    INFLUX_URL: servers.influx.url,
    INFLUX_TOKEN: servers.influx.token,
    INFLUX_BUCKET: servers.influx.database,
    INFLUX_DATABASE: servers.influx.database,
    OPCUA_ENDPOINT: endpoints.opcuaEndpoint,
    OPEN_METEO_FORECAST_URL: `${endpoints.forecastUrl}/v1/forecast`,
    OPEN_METEO_ENSEMBLE_URL: `${endpoints.forecastUrl}/v1/ensemble`,
    OPEN_METEO_ARCHIVE_URL: `${endpoints.forecastUrl}/v1/archive`,
    ...extra,
  });
}
