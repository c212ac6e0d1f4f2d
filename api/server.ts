// API process: the app from app.ts plus listening, logging and graceful shutdown.
import { Client, Connection } from '@temporalio/client';
import { createRuntimeConnectors, healthProbes } from '../runtime/connectors.js';
import { loadSettings } from '../runtime/startup.js';
import { trustProxyOption } from '../settings/env.js';
import { openStore } from '../store/db.js';
import { buildApp } from './app.js';

const { env, network } = await loadSettings();
const store = await openStore(env.DATABASE_URL);
const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
const connectors = createRuntimeConnectors(env, network);
const app = await buildApp(
  { network, store, influx: connectors.influx, temporal, temporalNamespace: env.TEMPORAL_NAMESPACE, probes: healthProbes(connectors, connection), sessionIdleMs: env.SESSION_IDLE_MIN * 60_000 },
  // Behind the reverse proxy named in TRUST_PROXY, request.ip is the client (rate limits, audit log), not the proxy.
  { logger: { level: env.LOG_LEVEL }, connectionTimeout: 30_000, requestTimeout: 30_000, trustProxy: trustProxyOption(env.TRUST_PROXY) },
);

let closing = false;
async function shutdown(signal: string) {
  if (closing) return;
  closing = true;
  app.log.info({ signal }, 'shutting down');
  await app.close();
  await connectors.close();
  await connection.close();
  await store.close();
  process.exit(0);
}
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

const address = await app.listen({ host: env.API_HOST, port: env.API_PORT });
app.log.info(`API listening on ${address} (docs at ${address}/api/docs)`);
