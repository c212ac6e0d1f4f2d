// SCADA goes away during a dispatch, on real servers (Temporal dev server, InfluxDB, the OPC UA simulator)
// with the real dispatch activities and the worker heartbeat:
//  1. a short outage (the OPC UA server stopped between two steps, back a few seconds later): the step's
//     activity is retried with back-off and the plan completes, every (station, step) written once; a
//     station that does not answer is retried, then handed back to local control with an alarm and left
//     out of the rest of the plan; when it answers again the heartbeat still leaves it out, so its
//     watchdog lapses and its PLC keeps local control, until a later plan writes it;
//  2. a long outage: the step fails after its retries, the dispatcher gets an alarm, the PLC watchdogs
//     lapse and the stations run on local control; when SCADA is back they stay there (the heartbeat
//     stands behind no station after a failed step) until a new plan is dispatched.
// The heartbeat refreshes only the stations whose last dispatch was verified, as the worker's does.
// Every value SCADA received is inside its envelope and nothing went to the LOCAL station.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { approvePlanUpdate, autonomyConfig, coordinatorStateQuery, coordinatorWorkflowId, dispatchStateQuery, type DispatchCycleState, type DispatchPlanInput } from '../../contract/index.js';
import { createInfluxConnector } from '../../connectors/influx.js';
import { createOpcUaConnector } from '../../connectors/opcua.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createNotifier, createWebhookChannel } from '../../notify/index.js';
import type { Plan } from '../../planner/types.js';
import { createSimulation, type Simulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle, type WriteLogEntry } from '../../simulator/opcua-server.js';
import { dispatchedStations, startHeartbeat, type HeartbeatKeeper } from '../../worker/heartbeat.js';
import { serialiseOpcUa } from '../../worker/serial-opcua.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { dispatchCoordinator, dispatchPlan } from '../../workflows/index.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const taskQueue = 'scada-down';
const networkId = 'net-scada-down';
const localStation = 'E9';
const silentStation = 'W2';
const STEPS = 4;

let servers: TestServers;
let network: NetworkConfig;
let simulation: Simulation;
let simulator: SimulatorServerHandle | undefined;
let port: number;
let heartbeat: HeartbeatKeeper;
let stack: ServiceStack;
let client: Client;
let webhook: WebhookReceiver;
let tmp: string;
/** Every accepted write of every simulator server started in this test, in order. */
const writeLogs: (readonly WriteLogEntry[])[] = [];
const writes = () => writeLogs.flat();
/** Every alarm message's markdown text. */
const alarms = () => webhook.received.map((m) => m.body.markdown.content ?? '');
let heartbeatError = '';

async function startScada(): Promise<void> {
  simulator = await startSimulatorServer({ network, simulation, port, clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') });
  port = simulator.port;
  writeLogs.push(simulator.writeLog);
}

async function stopScada(): Promise<void> {
  await simulator?.close();
  simulator = undefined;
}

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-scada-down-'));
  network = await loadNetworkFile(referenceNetworkPath);
  simulation = createSimulation({ network, startUtcMs: Date.UTC(2026, 6, 1), rainMmPerMin: () => 0, initialModes: Object.fromEntries(network.stations.map((s) => [s.id, s.id === localStation ? 'local' : 'remote'])) });
  port = 0;
  const [testServers, bundle] = await Promise.all([startTestServers(), bundleWorkflows(), startScada(), startWebhookReceiver().then((w) => (webhook = w))]);
  servers = testServers;
  // As in worker/main.ts: activities and the heartbeat share one client, one call at a time.
  const opcua = serialiseOpcUa(createOpcUaConnector({ endpointUrl: `opc.tcp://127.0.0.1:${port}`, securityMode: 'None' }));
  const influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
  const notifier = createNotifier([createWebhookChannel({ defaultUrl: `${webhook.baseUrl}/cgi-bin/webhook/send?key=test` })]);
  stack = await startServiceStack({
    temporalAddress: servers.temporal.address,
    workflowBundle: bundle,
    worker: { taskQueue, dependencies: { network, opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('no forecast in this test')) }, notifier } },
    closeAfterWorker: [opcua],
  });
  client = stack.client;
  heartbeat = startHeartbeat({ network, opcua, intervalMs: 500, stations: dispatchedStations(client, networkId), onError: (error) => (heartbeatError = error.message) });
});

after(async () => {
  await heartbeat?.stop();
  await stack?.close();
  await stopScada();
  await webhook?.close();
  await servers?.stop();
  await rm(tmp, { recursive: true, force: true });
});

/** Distinct values per plan and step, so each write in the log belongs to exactly one (plan, station, step). */
function testPlan(planId: string, variant: number, steps = STEPS): Plan {
  const nowUtcMs = Date.now();
  return {
    planId,
    networkId,
    createdAtUtcMs: nowUtcMs,
    planner: 'rule-based',
    operatingMode: 'normal',
    stepMin: 15,
    basis: { telemetryAtUtcMs: nowUtcMs, forecastIssuedAtUtcMs: null, forecastSource: 'none' },
    steps: Array.from({ length: steps }, (_, k) => ({
      startUtcMs: nowUtcMs + k * 15 * 60_000,
      stations: network.stations.map((s) => ({
        stationId: s.id,
        remoteControl: 'levelBand' as const,
        startLevelM: Math.round((2.0 + 0.1 * k + 0.01 * variant) * 100) / 100,
        stopLevelM: Math.round((1.0 + 0.05 * k) * 100) / 100,
        flowM3h: 100 + 10 * k,
        pumpsAllowed: 2,
      })),
      transfers: [],
      tanks: [],
    })),
    reasons: [],
    clamped: [],
  };
}

async function startApproved(plan: Plan): Promise<WorkflowHandle<typeof dispatchPlan>> {
  const input: DispatchPlanInput = {
    networkId,
    kind: 'cycle',
    plan,
    snapshot: null,
    forecast: null,
    approval: { escalateAfterMin: 30, approvalTimeoutMin: 60 },
    autonomy: autonomyConfig(undefined),
    requiredRole: 'dispatcher',
    timing: { stepIntervalMs: 2_000, stationRetryBaseMs: 300, stationRetryAttempts: 2, applyHeartbeatTimeoutMs: 5_000 },
  };
  const handle = await client.workflow.start(dispatchPlan, { taskQueue, workflowId: plan.planId, args: [input] });
  for (let i = 0; i < 100 && (await handle.query(dispatchStateQuery)).status !== 'proposed'; i++) await new Promise((r) => setTimeout(r, 100));
  await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
  return handle;
}

async function waitFor(handle: WorkflowHandle, done: (s: DispatchCycleState) => boolean, what: string): Promise<DispatchCycleState> {
  let last: DispatchCycleState | undefined;
  for (let i = 0; i < 300; i++) {
    last = await handle.query(dispatchStateQuery);
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${handle.workflowId} never reached ${what} (status ${last?.status})`);
}

const remote = () => network.stations.filter((s) => s.id !== localStation).map((s) => s.id);
const remoteActive = (id: string) => simulation.readTag(id, 'remoteActive').value === true;
/** Wait for `n` more heartbeat rounds (each asks which stations to refresh, then writes their heartbeats). */
async function beatsPass(n = 2): Promise<void> {
  const from = heartbeat.beats() + heartbeat.failures();
  for (let i = 0; i < 100 && heartbeat.beats() + heartbeat.failures() < from + n; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(heartbeat.beats() + heartbeat.failures() >= from + n, `the heartbeat keeps beating (last error: ${heartbeatError})`);
}

test('SCADA down during dispatch: retried with back-off, alarms, hand-back and watchdog fall-back, recovery', async () => {
  const coordinator = await client.workflow.start(dispatchCoordinator, { taskQueue, workflowId: coordinatorWorkflowId(networkId), args: [{ networkId }] });
  await coordinator.query(coordinatorStateQuery);
  await beatsPass();
  assert.deepEqual(heartbeat.refreshing(), [], 'no plan has gone live: the heartbeat stands behind no station');
  assert.ok(remote().every((id) => !remoteActive(id)), 'nothing written yet: every PLC keeps local control');

  // --- 1. A short outage between two steps, and a station that does not answer ---------------------
  simulation.setCommunicationLoss(silentStation, true);
  const first = testPlan('plan-scada-short', 1);
  const shortHandle = await startApproved(first);
  await waitFor(shortHandle, (s) => (s.steps?.length ?? 0) >= 1, 'step 0 applied');
  await stopScada();
  await new Promise((r) => setTimeout(r, 4_000));
  await startScada();
  const short = await shortHandle.result();

  assert.equal(short.status, 'completed', short.error);
  assert.deepEqual(short.steps?.map((s) => s.stepIndex), [0, 1, 2, 3], 'every step applied once, in order');
  const history = await shortHandle.fetchHistory();
  const stepAttempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
  assert.ok(Math.max(...stepAttempts) >= 2, `a step write was retried after the outage (attempts ${stepAttempts.join(', ')})`);
  // The silent station was retried, handed back with an alarm, and left out of the rest of the plan.
  assert.deepEqual(short.handedBack?.map((b) => [b.stationId, b.stepIndex, b.written]), [[silentStation, 0, false]]);
  assert.ok(alarms().some((a) => a.includes('Stations handed back to local control') && a.includes(silentStation)), 'hand-back alarm sent');
  const answering = remote().filter((id) => id !== silentStation);
  for (const id of answering) {
    const written = writes().filter((w) => w.objectId === id && w.tag === 'startLevelSpM').map((w) => w.value);
    assert.deepEqual(written, first.steps.map((step) => step.stations.find((s) => s.stationId === id)!.startLevelM), `${id}: each step written exactly once, none skipped`);
  }
  assert.ok(!writes().some((w) => w.objectId === silentStation), `nothing reached ${silentStation}`);
  assert.ok(answering.every(remoteActive), 'the stations the plan wrote follow it');

  // The handed-back station answers again: the heartbeat still leaves it out, so once SCADA time passes the
  // watchdog its PLC is on local control, while the stations the plan wrote stay under remote control.
  simulation.setCommunicationLoss(silentStation, false);
  const writesAtReconnect = writes().length;
  await beatsPass();
  assert.deepEqual(heartbeat.refreshing(), [...answering].sort(), 'the heartbeat stands behind the stations verified by the last plan');
  simulation.advance(Math.ceil(network.opcua.watchdogTimeoutS / simulation.stepS) + 1);
  simulator!.publish(); // the server's measurements (W2's mode was Bad) follow the simulation
  await beatsPass();
  assert.ok(!writes().slice(writesAtReconnect).some((w) => w.objectId === silentStation), `no heartbeat for the handed-back ${silentStation}`);
  assert.ok(!remoteActive(silentStation), `${silentStation}'s watchdog lapsed: local control`);
  assert.ok(answering.every(remoteActive), 'the others are kept under remote control');

  // --- 2. A long outage: retries exhausted, alarm, watchdog lapses → local control --------------------
  const second = testPlan('plan-scada-long', 2);
  const longHandle = await startApproved(second);
  await waitFor(longHandle, (s) => (s.steps?.length ?? 0) >= 1, 'step 0 applied');
  assert.ok(remoteActive(silentStation), `a later plan wrote ${silentStation} successfully: remote control again`);
  const writesBeforeOutage = writes().length;
  await stopScada();
  const downAtMs = Date.now();
  // SCADA time passes beyond the PLC watchdog while the dispatch service cannot reach it.
  simulation.advance(Math.ceil(network.opcua.watchdogTimeoutS / simulation.stepS) + 1);
  assert.ok(remote().every((id) => !remoteActive(id)), 'the watchdog lapsed: every station runs on local control');
  const long = await longHandle.result();
  const failedAfterS = (Date.now() - downAtMs) / 1000;

  assert.equal(long.status, 'dispatch-failed');
  assert.match(long.error ?? '', /^step 2 of \d+: /, 'the second step, counted from 1 with the total');
  // Activity retries: 2 + 4 + 8 + 16 s of back-off between five attempts.
  assert.ok(failedAfterS >= 30, `gave up after ${failedAfterS.toFixed(1)} s, after the back-off`);
  assert.ok(alarms().some((a) => a.includes('Setpoint dispatch failed') && a.includes('plan-scada-long')), 'dispatch-failure alarm sent');
  assert.equal(writes().length, writesBeforeOutage, 'nothing written while SCADA was down');

  // --- Recovery: the stations stay on local control until a new plan writes them ---------------------
  await startScada();
  await beatsPass(3);
  assert.deepEqual(heartbeat.refreshing(), [], `after a failed step the heartbeat stands behind no station (last error: ${heartbeatError})`);
  // A beat decided while the step was still being retried may reach SCADA as it comes back; none follows,
  // so once SCADA time passes the watchdog every station is on local control, as the alarm said.
  const writesAfterFailure = writes().length;
  simulation.advance(Math.ceil(network.opcua.watchdogTimeoutS / simulation.stepS) + 1);
  simulator!.publish();
  await beatsPass(3);
  assert.ok(!writes().slice(writesAfterFailure).some((w) => w.tag === 'heartbeat'), 'no heartbeat refreshes the partial setpoints');
  assert.ok(remote().every((id) => !remoteActive(id)), 'every station stays on local control');
  const third = testPlan('plan-scada-after', 3, 1);
  const after = await (await startApproved(third)).result();
  assert.equal(after.status, 'completed', after.error);
  for (const id of remote()) {
    assert.equal(simulation.readTag(id, 'startLevelSpM').value, third.steps[0]!.stations.find((s) => s.stationId === id)!.startLevelM, `${id} follows the new plan`);
  }
  assert.ok(remote().every(remoteActive), 'remote control restored by the new plan');
  const beatsAfter = heartbeat.beats();
  await beatsPass();
  assert.deepEqual(heartbeat.refreshing(), [...remote()].sort(), 'the heartbeat stands behind every station the new plan wrote');
  assert.ok(heartbeat.beats() > beatsAfter, `the heartbeat reconnected (last error: ${heartbeatError})`);

  // Every value SCADA accepted is inside its envelope; nothing went to the LOCAL station.
  for (const w of writes()) {
    const range = simulation.rangeOf(w.objectId, w.tag);
    assert.ok(Number(w.value) >= range.min && Number(w.value) <= range.max, `${w.objectId}.${w.tag} = ${String(w.value)} within [${range.min}, ${range.max}]`);
  }
  assert.ok(!writes().some((w) => w.objectId === localStation && w.tag !== 'heartbeat'), 'no setpoint written to the LOCAL station');
});
