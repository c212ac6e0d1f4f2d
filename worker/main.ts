// Worker process: connects to Temporal, registers workflows and activities, keeps the dispatch Schedule
// and, in the flood season, the flood-season workflow.
//
// Environment read here until settings/env.ts adopts it (see notify/index.ts NotifyEnvSchema):
//   NOTIFY_WEBHOOK_URL, NOTIFY_WEBHOOK_URL_SUPERVISOR, NOTIFY_WEBHOOK_URL_ADMIN, NOTIFY_WEBHOOK_URL_CREW,
//   NOTIFY_WEBHOOK_FLAVOUR (wecom|dingtalk), NOTIFY_WEBHOOK_SECRET, NOTIFY_WEBHOOK_TIMEOUT_MS,
//   DISPATCH_AUTONOMY (advisory|auto-within-bounds|emergency-auto), FLOOD_SEASON (MM-DD/MM-DD|off),
//   FLOOD_CONFIG_FILE (JSON, a partial FloodConfig), FLOOD_CHECK_INTERVAL_MIN.
import { readFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { archiveObservedRain } from '../activities/flood.js';
import type { FloodConfig } from '../flood/types.js';
import { loadNotifyEnv, notifierFromEnv } from '../notify/index.js';
import { createRuntimeConnectors } from '../runtime/connectors.js';
import { loadSettings } from '../runtime/startup.js';
import { createDispatchWorker } from './worker.js';
import { ensureDispatchSchedule, parseAutonomyMode } from './schedule.js';
import { ensureFloodSeason } from './flood-season.js';
import { startHeartbeat } from './heartbeat.js';
import { serialiseOpcUa } from './serial-opcua.js';

const { env, network } = await loadSettings();
const notifier = notifierFromEnv(loadNotifyEnv(process.env));
const autonomyMode = parseAutonomyMode(process.env['DISPATCH_AUTONOMY']);
const floodConfigFile = process.env['FLOOD_CONFIG_FILE'];
const floodConfig = floodConfigFile ? (JSON.parse(await readFile(floodConfigFile, 'utf8')) as Partial<FloodConfig>) : undefined;
const connectors = createRuntimeConnectors(env, network);
// Activities and the heartbeat share one OPC UA client: one call at a time.
const opcua = serialiseOpcUa(connectors.opcua);
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await createDispatchWorker({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  dependencies: { network, opcua, influx: connectors.influx, forecast: connectors.rain, observed: archiveObservedRain(connectors.openMeteo), notifier },
});

const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });
const schedule = await ensureDispatchSchedule(client, network, {
  paused: process.env['DISPATCH_SCHEDULE_PAUSED'] === 'true',
  ...(autonomyMode ? { autonomy: { mode: autonomyMode } } : {}),
});
// A worker that starts after a pause plans at once instead of waiting up to a whole cycle.
const lastAction = (await schedule.describe()).info.recentActions.at(-1);
if (!lastAction || Date.now() - lastAction.takenAt.getTime() > network.planning.cycleMin * 60_000) await schedule.trigger();
console.log(`worker: task queue ready; schedule ${schedule.scheduleId} every ${network.planning.cycleMin} min; autonomy ${autonomyMode ?? 'advisory'}`);
const floodWorkflowId = await ensureFloodSeason(client, network, {
  ...(process.env['FLOOD_SEASON'] ? { spec: process.env['FLOOD_SEASON'] } : {}),
  ...(floodConfig ? { config: floodConfig } : {}),
  ...(process.env['FLOOD_CHECK_INTERVAL_MIN'] ? { checkIntervalMin: Number(process.env['FLOOD_CHECK_INTERVAL_MIN']) } : {}),
  ...(autonomyMode ? { autonomy: { mode: autonomyMode } } : {}),
});
console.log(floodWorkflowId ? `worker: flood season watched by ${floodWorkflowId}` : 'worker: outside the flood season');
await clientConnection.close();

const heartbeat = startHeartbeat({ network, opcua, onError: (error) => console.error(`worker: heartbeat failed: ${error.message}`) });

// Worker.run resolves after SIGINT/SIGTERM (the SDK installs those handlers) and in-flight tasks finish.
await worker.run();
await heartbeat.stop();
await connectors.close();
await connection.close();
console.log('worker: stopped');
