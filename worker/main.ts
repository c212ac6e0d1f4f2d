// Worker process: connects to Temporal, registers workflows and activities, keeps the dispatch Schedule
// and, in the flood season, the flood-season workflow.
// Settings: settings/env.ts (validated in loadSettings), then worker/settings.ts (flood season dates and
// FLOOD_CONFIG_FILE); both exit 2 listing every problem.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { archiveObservedRain } from '../activities/flood.js';
import { notifierFromEnv, notifyDestinationWarning } from '../notify/index.js';
import { createRuntimeConnectors, cycleDependencies } from '../runtime/connectors.js';
import { resolveFromRepo } from '../runtime/paths.js';
import { loadSettings } from '../runtime/startup.js';
import { createDispatchWorker } from './worker.js';
import { ensureDispatchSchedule } from './schedule.js';
import { watchFloodSeason } from './flood-season.js';
import { dispatchedStations, startHeartbeat } from './heartbeat.js';
import { serialiseOpcUa } from './serial-opcua.js';
import { loadWorkerSettings, WorkerSettingsError } from './settings.js';

const { env, network } = await loadSettings();
const { autonomyMode, floodSeason, floodCheckIntervalMin, floodConfig } = await loadWorkerSettings(env, network, resolveFromRepo).catch((error: unknown) => {
  if (!(error instanceof WorkerSettingsError)) throw error;
  console.error(`Cannot start: ${error.message}`);
  process.exit(2);
});
const notifier = notifierFromEnv(env);
// Audiences whose messages would reach only this log: said at start, in both languages.
const notifyWarning = notifyDestinationWarning(env);
if (notifyWarning) console.warn(notifyWarning);
const connectors = createRuntimeConnectors(env, network);
// Activities and the heartbeat share one OPC UA client: one call at a time.
const opcua = serialiseOpcUa(connectors.opcua);
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await createDispatchWorker({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  dependencies: { ...cycleDependencies(env, network, connectors, opcua), observed: archiveObservedRain(connectors.openMeteo), notifier },
});

const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });
const schedule = await ensureDispatchSchedule(client, network, {
  paused: env.DISPATCH_SCHEDULE_PAUSED === 'true',
  ...(autonomyMode ? { autonomy: { mode: autonomyMode } } : {}),
});
// A worker that starts after a pause plans at once instead of waiting up to a whole cycle — unless the Schedule
// is paused: trigger() ignores the pause and would plan anyway.
const described = await schedule.describe();
const lastAction = described.info.recentActions.at(-1);
if (!described.state.paused && (!lastAction || Date.now() - lastAction.takenAt.getTime() > network.planning.cycleMin * 60_000)) await schedule.trigger();
console.log(`worker: task queue ready; schedule ${schedule.scheduleId} every ${network.planning.cycleMin} min; autonomy ${autonomyMode ?? 'advisory'}; planner ${env.PLANNER}`);
// Checked now and every hour: the season starts on its first day, and a running one gets a corrected config.
const floodWatch = watchFloodSeason(client, network, {
  spec: floodSeason,
  ...(floodConfig ? { config: floodConfig } : {}),
  checkIntervalMin: floodCheckIntervalMin,
  ...(autonomyMode ? { autonomy: { mode: autonomyMode } } : {}),
  log: (line) => console.log(`worker: ${line}`),
});
await floodWatch.first;

// The heartbeat refreshes only the stations whose last dispatch read back right (asked of Temporal each beat,
// so the client stays open): a station handed back or never written lapses to its PLC's local control.
const heartbeat = startHeartbeat({
  network,
  opcua,
  stations: dispatchedStations(client, network.id),
  onError: (error) => console.error(`worker: heartbeat failed: ${error.message}`),
});

// Worker.run resolves after SIGINT/SIGTERM (the SDK installs those handlers) and in-flight tasks finish.
await worker.run();
floodWatch.stop();
await heartbeat.stop();
await clientConnection.close();
await connectors.close();
await connection.close();
console.log('worker: stopped');
