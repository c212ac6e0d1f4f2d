// The worker: registers the workflows and the activities built from their connectors.
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { taskQueue } from '../contract/index.js';
import { createDispatchActivities, type DispatchDependencies } from '../activities/dispatch.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Bundle once and share between workers (tests start several); bundling takes a few seconds. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } });
}

export interface DispatchWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  dependencies: DispatchDependencies;
  workflowBundle?: WorkflowBundleWithSourceMap;
  taskQueueName?: string;
}

export async function createDispatchWorker(options: DispatchWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueueName ?? taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: createDispatchActivities(options.dependencies),
    shutdownGraceTime: '10 seconds',
  });
}
