// Worker process: connects to Temporal, registers workflows and activities, keeps the dispatch Schedule.
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createRuntimeConnectors } from '../runtime/connectors.js';
import { loadSettings } from '../runtime/startup.js';
import { createDispatchWorker } from './worker.js';
import { ensureDispatchSchedule } from './schedule.js';
import { startHeartbeat } from './heartbeat.js';

const { env, network } = await loadSettings();
const connectors = createRuntimeConnectors(env);
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await createDispatchWorker({ connection, namespace: env.TEMPORAL_NAMESPACE, dependencies: { network, opcua: connectors.opcua, influx: connectors.influx, forecast: connectors.rain } });

const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
const client = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE });
const schedule = await ensureDispatchSchedule(client, network, { paused: process.env['DISPATCH_SCHEDULE_PAUSED'] === 'true' });
// A worker that starts after a pause plans at once instead of waiting up to a whole cycle.
const lastAction = (await schedule.describe()).info.recentActions.at(-1);
if (!lastAction || Date.now() - lastAction.takenAt.getTime() > network.planning.cycleMin * 60_000) await schedule.trigger();
console.log(`worker: task queue ready; schedule ${schedule.scheduleId} every ${network.planning.cycleMin} min`);
await clientConnection.close();

const heartbeat = startHeartbeat({ network, opcua: connectors.opcua, onError: (error) => console.error(`worker: heartbeat failed: ${error.message}`) });

// Worker.run resolves after SIGINT/SIGTERM (the SDK installs those handlers) and in-flight tasks finish.
await worker.run();
await heartbeat.stop();
await connectors.close();
await connection.close();
console.log('worker: stopped');
