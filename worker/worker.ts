// The worker: registers the workflows and the activities built from their connectors.
import { fileURLToPath } from 'node:url';
import { Worker, bundleWorkflowCode, type NativeConnection, type WorkerOptions, type WorkflowBundleOption, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { taskQueue } from '../contract/index.js';
import { createDispatchActivities, type DispatchDependencies } from '../activities/dispatch.js';
import { createFloodActivities, type ObservedRainSource } from '../activities/flood.js';
import { createBaselineActivities, type BaselineOptions } from '../activities/baseline.js';
import { serialiseOpcUa } from './serial-opcua.js';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Bundle once and share between workers (tests start several); bundling takes a few seconds. */
export async function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } });
}

export interface WorkerDependencies extends DispatchDependencies {
  /** Observed rain for the flood-season assessment; without it the forecast alone sets the level. */
  observed?: ObservedRainSource;
  /** Options of the baseline run (activities/baseline.ts); it needs `observed` too. */
  baseline?: BaselineOptions;
}

export interface DispatchWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  dependencies: WorkerDependencies;
  workflowBundle?: WorkflowBundleOption;
  taskQueueName?: string;
  /** Further Worker options (tests: cache size, sticky-queue timeout). */
  workerOptions?: Partial<Omit<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'activities' | 'workflowBundle' | 'workflowsPath'>>;
}

export function createWorkerActivities(dependencies: WorkerDependencies) {
  const deps = { ...dependencies, opcua: serialiseOpcUa(dependencies.opcua) };
  return { ...createDispatchActivities(deps), ...createFloodActivities(deps), ...createBaselineActivities(deps) };
}

export async function createDispatchWorker(options: DispatchWorkerOptions): Promise<Worker> {
  return Worker.create({
    shutdownGraceTime: '10 seconds',
    ...options.workerOptions,
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueueName ?? taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath }),
    activities: createWorkerActivities(options.dependencies),
  });
}
