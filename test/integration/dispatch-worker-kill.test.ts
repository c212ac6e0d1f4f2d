// The worker (its own process) is killed (SIGKILL) in the middle of a multi-step dispatch, inside a step's
// write, and a new worker (here in the test process, to spare a second start-up) takes over: the simulator's write log shows every (station, step) setpoint written exactly once,
// none skipped, nothing to the LOCAL station; the retried step found its values already in force.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { approvePlanUpdate, autonomyConfig, coordinatorStateQuery, coordinatorWorkflowId, dispatchStateQuery, type DispatchPlanInput } from '../../contract/index.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { Plan } from '../../planner/types.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { createOpcUaConnector } from '../../connectors/opcua.js';
import { bundleWorkflows, createDispatchWorker } from '../../worker/worker.js';
import { dispatchCoordinator, dispatchPlan } from '../../workflows/index.js';
import { temporalTestEnvironmentOptions } from '../support/servers.js';

const workerEntry = fileURLToPath(new URL('../support/dispatch-test-worker.ts', import.meta.url));
const localStation = 'E9';
const STEPS = 5;
const KILL_AT_STEP = 2;
const taskQueue = 'kill-test';
const networkId = 'net-kill';

let env: TestWorkflowEnvironment;
let simulator: SimulatorServerHandle;
let network: NetworkConfig;
let tmp: string;
let bundlePath: string;
const children: ChildProcess[] = [];

let firstWorker: Promise<ChildProcess>;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-kill-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const simulation = createSimulation({ network, startUtcMs: Date.UTC(2026, 6, 1), rainMmPerMin: () => 0, initialModes: Object.fromEntries(network.stations.map((s) => [s.id, s.id === localStation ? 'local' : 'remote'])) });
  [env, simulator] = await Promise.all([
    TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions()),
    startSimulatorServer({ network, simulation, port: 0, clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') }),
  ]);
  // The worker process loads while the workflows are bundled; it waits for the bundle file.
  bundlePath = path.join(tmp, 'workflow-bundle.js');
  firstWorker = startWorker('worker ready', { PAUSE_ON_BATCH: String(KILL_AT_STEP + 1), PAUSE_AFTER_WRITE_MS: '1500' });
  const bundle = await bundleWorkflows();
  await writeFile(`${bundlePath}.tmp`, bundle.code);
  await rename(`${bundlePath}.tmp`, bundlePath);
  await firstWorker;
});

after(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await simulator?.close();
  await env?.teardown();
  await rm(tmp, { recursive: true, force: true });
});

/** Start a worker process; resolves when it prints `until`. */
function startWorker(until: string, extraEnv: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', workerEntry], {
    env: { ...process.env, TEMPORAL_ADDRESS: env.address, TASK_QUEUE: taskQueue, OPCUA_ENDPOINT: simulator.endpointUrl, WORKFLOW_BUNDLE: bundlePath, ...extraEnv },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(until)) resolve(child);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => reject(new Error(`worker exited (${code ?? signal}) before "${until}":\n${output}`)));
  });
}

/** Distinct values every step, so each write in the log belongs to exactly one (station, step). */
function testPlan(planId: string, nowUtcMs: number): Plan {
  const steps = Array.from({ length: STEPS }, (_, k) => ({
    startUtcMs: nowUtcMs + k * 15 * 60_000,
    stations: network.stations.map((s) => ({
      stationId: s.id,
      remoteControl: k % 2 === 0 ? ('levelBand' as const) : ('flow' as const),
      startLevelM: Math.round((2.0 + 0.1 * k) * 100) / 100,
      stopLevelM: Math.round((1.0 + 0.05 * k) * 100) / 100,
      flowM3h: 100 + 10 * k,
      pumpsAllowed: k % 2 === 0 ? 2 : 3,
    })),
    transfers: [],
    tanks: [],
  }));
  return { planId, networkId, createdAtUtcMs: nowUtcMs, planner: 'rule-based', operatingMode: 'normal', stepMin: 15, basis: { telemetryAtUtcMs: nowUtcMs, forecastIssuedAtUtcMs: null, forecastSource: 'none' }, steps, reasons: [], clamped: [] };
}

const setpointTags = ['startLevelSpM', 'stopLevelSpM', 'flowSpM3h', 'pumpsAllowedSp', 'remoteControlSp'] as const;
const expectedValue = (plan: Plan, k: number, stationId: string, tag: (typeof setpointTags)[number]) => {
  const sp = plan.steps[k]!.stations.find((s) => s.stationId === stationId)!;
  return { startLevelSpM: sp.startLevelM, stopLevelSpM: sp.stopLevelM, flowSpM3h: sp.flowM3h, pumpsAllowedSp: sp.pumpsAllowed, remoteControlSp: sp.remoteControl === 'flow' ? 1 : 0 }[tag];
};

test('killing the worker during a step write: a new worker resumes, no setpoint written twice or skipped', async () => {
  const first = await firstWorker;
  const coordinator = await env.client.workflow.start(dispatchCoordinator, { taskQueue, workflowId: coordinatorWorkflowId(networkId), args: [{ networkId }] });
  await coordinator.query(coordinatorStateQuery); // the first worker has run a workflow task (warm)
  const planId = 'plan-kill-test';
  const plan = testPlan(planId, Date.now());
  const input: DispatchPlanInput = {
    networkId,
    kind: 'cycle',
    plan,
    snapshot: null,
    forecast: null,
    approval: { escalateAfterMin: 5, approvalTimeoutMin: 10 },
    autonomy: autonomyConfig(undefined),
    requiredRole: 'dispatcher',
    timing: { stepIntervalMs: 1_000, applyHeartbeatTimeoutMs: 3_000, stationRetryBaseMs: 500 },
  };
  const handle = await env.client.workflow.start(dispatchPlan, { taskQueue, workflowId: planId, args: [input] });
  for (let i = 0; i < 100 && (await handle.query(dispatchStateQuery)).status !== 'proposed'; i++) await new Promise((r) => setTimeout(r, 100));
  await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });

  // Kill as soon as step KILL_AT_STEP's writes reach SCADA: the activity is holding before its read-back.
  const remote = network.stations.filter((s) => s.id !== localStation).map((s) => s.id);
  const killValue = expectedValue(plan, KILL_AT_STEP, 'W1', 'startLevelSpM');
  const stepWritten = () => remote.every((id) => simulator.writeLog.some((w) => w.objectId === id && w.tag === 'startLevelSpM' && w.value === killValue));
  for (let i = 0; i < 600 && !stepWritten(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(stepWritten(), `step ${KILL_AT_STEP} was never written`);
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));
  const writesAtKill = simulator.writeLog.length;

  const opcua = createOpcUaConnector({ endpointUrl: simulator.endpointUrl, securityMode: 'None' });
  const second = await createDispatchWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueueName: taskQueue,
    workflowBundle: { codePath: bundlePath },
    dependencies: { network, opcua, influx: { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'stub' }) }, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('unused')) } },
  });
  const result = await second.runUntil(handle.result()).finally(() => opcua.close());

  assert.equal(result.status, 'completed', result.error);
  assert.deepEqual(result.steps?.map((s) => s.stepIndex), [0, 1, 2, 3, 4], 'every step applied once, in order');
  const resumed = result.steps[KILL_AT_STEP]!;
  // Its five setpoints per station were in force. Its heartbeat is written only once they read back right,
  // after the batch the kill interrupted: in force too only when it equals the previous step's (same second).
  assert.ok([remote.length * 5, remote.length * 6].includes(resumed.alreadyInForce ?? 0), `the retried step found all its setpoints in force (${resumed.alreadyInForce} values)`);
  assert.equal(resumed.failed, 0);
  assert.ok(simulator.writeLog.length > writesAtKill, 'the new worker wrote the later steps');

  for (const id of remote) {
    for (const tag of setpointTags) {
      const written = simulator.writeLog.filter((w) => w.objectId === id && w.tag === tag).map((w) => w.value);
      const expected = Array.from({ length: STEPS }, (_, k) => expectedValue(plan, k, id, tag));
      assert.deepEqual(written, expected, `${id}.${tag}: each step written exactly once, none skipped`);
    }
  }
  assert.ok(!simulator.writeLog.some((w) => w.objectId === localStation), 'nothing written to the LOCAL station');
});
