// A dispatch worker as its own process, for the test that kills it mid-dispatch (SIGKILL) and starts
// another. Real dispatch activities against the OPC UA simulator; InfluxDB and the forecast are stubs.
//   TEMPORAL_ADDRESS, TASK_QUEUE, OPCUA_ENDPOINT, WORKFLOW_BUNDLE (compiled bundle path; waited for, so the
//   test may bundle while this process loads), PAUSE_ON_BATCH and PAUSE_AFTER_WRITE_MS (optional: hold the
//   n-th step write batch this long before it is read back, so a kill lands inside that activity).
import { existsSync } from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import type { InfluxConnector } from '../../connectors/influx.js';
import { createOpcUaConnector, type OpcUaConnector } from '../../connectors/opcua.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createDispatchWorker } from '../../worker/worker.js';

const need = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const pauseMs = Number(process.env['PAUSE_AFTER_WRITE_MS'] ?? 0);
const pauseOnBatch = Number(process.env['PAUSE_ON_BATCH'] ?? 0);
let stepBatches = 0;
const network = await loadNetworkFile(referenceNetworkPath);
const real = createOpcUaConnector({ endpointUrl: need('OPCUA_ENDPOINT'), securityMode: 'None' });
const opcua: OpcUaConnector = {
  ...real,
  readTags: (tags) => real.readTags(tags),
  async writeSetpoints(writes) {
    const outcomes = await real.writeSetpoints(writes);
    // Step writes are the batches larger than a heartbeat batch.
    if (writes.length > network.stations.length && ++stepBatches === pauseOnBatch && pauseMs > 0) {
      console.log(`paused after step batch ${stepBatches} (${writes.length} writes)`);
      await new Promise((r) => setTimeout(r, pauseMs));
    }
    return outcomes;
  },
};
const influx: InfluxConnector = { write: async (points) => points.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'stub' }) };
const connection = await NativeConnection.connect({ address: need('TEMPORAL_ADDRESS') });
for (let i = 0; i < 600 && !existsSync(need('WORKFLOW_BUNDLE')); i++) await new Promise((r) => setTimeout(r, 100));
const worker = await createDispatchWorker({
  connection,
  namespace: 'default',
  taskQueueName: need('TASK_QUEUE'),
  workflowBundle: { codePath: need('WORKFLOW_BUNDLE') },
  dependencies: { network, opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('no forecast in this test')) } },
  // No workflow cache: every task replays the history, and a dead worker's sticky queue is never waited for.
  workerOptions: { maxCachedWorkflows: 0, shutdownGraceTime: '1 second' },
});
console.log('worker ready');
await worker.run();
await real.close();
await connection.close();
