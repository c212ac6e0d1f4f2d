// The service as the integration tests run it on the test servers: a Temporal worker, a client and,
// when asked, the HTTP API over its own SQLite store; one close() stops them in the reverse order.
//
//   stack = await startServiceStack({ temporalAddress, workflowBundle: bundle, worker: { dependencies }, api: { … } });
//   after(async () => { await stack?.close(); … then the simulator, forecast server and servers … });
//
// startRuntimeServiceStack does the same over the runtime connectors the service builds from its settings
// (serviceEnv), as worker/main.ts and api/server.ts do; triggerDispatchCycle starts a cycle on it now.
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDependencies } from '../../api/app.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createRuntimeConnectors, healthProbes, type RuntimeConnectors } from '../../runtime/connectors.js';
import type { Env } from '../../settings/env.js';
import { openStore, type NewUser, type Store } from '../../store/db.js';
import { ensureDispatchSchedule } from '../../worker/schedule.js';
import { createDispatchWorker, type WorkerDependencies } from '../../worker/worker.js';

export type StackWorker =
  /** The service's worker (createDispatchWorker), on the service's task queue unless `taskQueue` names another. */
  | { dependencies: WorkerDependencies; taskQueue?: string }
  /** A plain worker with the test's own activities (stubs, or a single activity group). */
  | { activities: object; taskQueue: string };

export interface StackApi {
  network: NetworkConfig;
  influx: AppDependencies['influx'];
  /** Folder for the API's SQLite file (app.sqlite); the test owns and removes it. */
  storeDir: string;
  /** Created in this order before the API is built. */
  users: NewUser[];
  /** Health probes; they may use the stack's client connection. Default: none. */
  probes?: (temporal: Connection) => AppDependencies['probes'];
}

export interface ServiceStackOptions {
  temporalAddress: string;
  workflowBundle: WorkflowBundleOption;
  worker: StackWorker;
  /** Closed once the worker has stopped: the connectors its activities use (they may run until then). */
  closeAfterWorker?: { close(): Promise<void> }[];
  api?: StackApi;
}

export interface ServiceStack {
  worker: Worker;
  client: Client;
  clientConnection: Connection;
  /** Stop everything started, in reverse order; safe on a partly started stack and safe to call twice. */
  close(): Promise<void>;
}

export interface ServiceStackWithApi extends ServiceStack {
  store: Store;
  app: FastifyInstance;
}

type StackFor<O> = O extends { api: object } ? ServiceStackWithApi : ServiceStack;

/**
 * Start the worker (running until close()), a client and, with `api`, the store and the API. If a step
 * fails, what was started is closed before the error is thrown (the test's after() has no handle then).
 */
export async function startServiceStack<O extends ServiceStackOptions>(options: O): Promise<StackFor<O>> {
  let nativeConnection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let clientConnection: Connection | undefined;
  let store: Store | undefined;
  let app: FastifyInstance | undefined;

  const closeAll = async () => {
    // The API first (it calls Temporal), then the worker: its activities use the connectors and it must
    // drain before its connection goes; the store last (the API's requests have finished by then).
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => app?.close(),
      () => {
        if (worker?.getState() === 'RUNNING') worker.shutdown();
        return workerRun?.catch(() => undefined);
      },
      () => nativeConnection?.close(),
      () => clientConnection?.close(),
      ...(options.closeAfterWorker ?? []).map((c) => () => c.close()),
      () => store?.close(),
    ];
    // Every step runs even if one fails, so no server is left holding the test process open.
    const errors: unknown[] = [];
    for (const step of steps) await Promise.resolve().then(step).catch((error: unknown) => errors.push(error));
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'closing the service stack failed');
  };
  let closing: Promise<void> | undefined;
  const close = () => (closing ??= closeAll());

  try {
    nativeConnection = await NativeConnection.connect({ address: options.temporalAddress });
    const spec = options.worker;
    worker =
      'activities' in spec
        ? await Worker.create({ connection: nativeConnection, taskQueue: spec.taskQueue, workflowBundle: options.workflowBundle, activities: spec.activities })
        : await createDispatchWorker({ connection: nativeConnection, namespace: 'default', taskQueueName: spec.taskQueue, workflowBundle: options.workflowBundle, dependencies: spec.dependencies });
    workerRun = worker.run();
    clientConnection = await Connection.connect({ address: options.temporalAddress });
    const client = new Client({ connection: clientConnection });
    if (options.api) {
      const { network, influx, storeDir, users, probes } = options.api;
      store = await openStore(`sqlite:${path.join(storeDir, 'app.sqlite')}`);
      for (const user of users) await store.users.create(user);
      app = await buildApp({ network, store, influx, temporal: client, temporalNamespace: 'default', probes: probes?.(clientConnection) ?? {} });
    }
    return { worker, client, clientConnection, close, ...(store && app ? { store, app } : {}) } as StackFor<O>;
  } catch (error) {
    await close().catch(() => undefined); // the start-up error is the one worth reporting
    throw error;
  }
}

export interface RuntimeServiceStackOptions {
  env: Env;
  network: NetworkConfig;
  workflowBundle: WorkflowBundleOption;
  /** What the worker's activities get. Default: network, OPC UA, InfluxDB and rain (the rule-based planner). */
  dependencies?: (connectors: RuntimeConnectors) => WorkerDependencies;
  /** The API with the service's health probes over these connectors. */
  api?: Pick<StackApi, 'storeDir' | 'users'>;
}

type RuntimeStackFor<O> = StackFor<O> & { connectors: RuntimeConnectors };

/** startServiceStack on the connectors `env` names, which it creates and closes after the worker. */
export async function startRuntimeServiceStack<O extends RuntimeServiceStackOptions>(options: O): Promise<RuntimeStackFor<O>> {
  const { env, network, workflowBundle, api } = options;
  const connectors = createRuntimeConnectors(env, network);
  const stack = await startServiceStack({
    temporalAddress: env.TEMPORAL_ADDRESS,
    workflowBundle,
    worker: { dependencies: options.dependencies?.(connectors) ?? { network, opcua: connectors.opcua, influx: connectors.influx, forecast: connectors.rain } },
    closeAfterWorker: [connectors],
    ...(api ? { api: { ...api, network, influx: connectors.influx, probes: (temporal: Connection) => healthProbes(connectors, temporal) } } : {}),
  });
  return { ...stack, connectors } as RuntimeStackFor<O>;
}

/**
 * Start a dispatch cycle now through the dispatch Schedule (created paused, so only the test starts cycles)
 * and return the id of the workflow it started.
 */
export async function triggerDispatchCycle(client: Client, network: NetworkConfig, options: { approvalTimeoutMin: number }): Promise<string> {
  const schedule = await ensureDispatchSchedule(client, network, { paused: true, approvalTimeoutMin: options.approvalTimeoutMin });
  const before = (await schedule.describe()).info.recentActions.length;
  await schedule.trigger();
  for (let i = 0; i < 100; i++) {
    const actions = (await schedule.describe()).info.recentActions;
    if (actions.length > before) return actions.at(-1)!.action.workflow.workflowId;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail('the schedule did not start a workflow');
}

/** Log in through the API's own login route and return the bearer token; fails the test on anything but 200. */
export async function logIn(app: FastifyInstance, userName: string, password: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName, password } });
  assert.equal(response.statusCode, 200, `log in as ${userName}: ${response.body}`);
  return response.json<{ token: string }>().token;
}
