// auto-within-bounds on a real Temporal dev server (stub activities): a new plan is compared with the last plan
// a dispatcher approved, never with one the system approved (no ratchet: each auto-approved plan close to the
// one before, drifting without bound), never with one that has ended or whose dispatch failed, and tank
// setpoints are compared too. Each case on the code before the autonomy-reference-guards marker was recorded
// as plan-autonomy-*-v0.json (the plan went live by itself), which the replay test in dispatch-workflow.test.ts
// replays: without the marker's guard it fails to replay.
//   Record: RECORD_HISTORIES=1 [HISTORY_SUFFIX=-v0] npx tsx test/run.ts autonomy-bounds
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  approvePlanUpdate,
  autonomyConfig,
  coordinatorStateQuery,
  coordinatorWorkflowId,
  type DispatchCycleState,
  type DispatchOutcome,
  type DispatchPlanInput,
  type SetpointWriteResult,
} from '../../contract/index.js';
import type { DispatchActivities } from '../../activities/dispatch.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan, PlanStep } from '../../planner/types.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { temporalTestEnvironmentOptions } from '../support/servers.js';
import { dispatchCoordinator, dispatchPlan } from '../../workflows/index.js';
import { historiesDir, portableHistory, recording } from '../support/histories.js';
import { waitForDispatchState } from '../support/dispatch-state.js';

const suffix = process.env['HISTORY_SUFFIX'] ?? '';
const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: 1_780_000_000_000, readings: [], badTagCount: 0, stations: [] };
const tankId = network.tanks[0]!.id;
/** Plans whose step writes throw (an activity that gave up): their dispatch fails. */
const failingPlans = new Set<string>();

const stub: DispatchActivities = {
  readNetworkState: () => Promise.resolve(snapshot),
  writeTelemetry: () => Promise.resolve(0),
  fetchRainForecast: () => Promise.reject(new Error('unused')),
  buildPlan: () => Promise.reject(new Error('unused')),
  applyPlanStep: (input): Promise<DispatchOutcome> => {
    if (failingPlans.has(input.planId!)) return Promise.reject(ApplicationFailure.nonRetryable('SCADA refused the step', 'EnvelopeViolation'));
    const writes: SetpointWriteResult[] = (input.step?.stations ?? []).map((s) => ({ objectId: s.stationId, tag: 'startLevelSpM', nodeId: `ns=1;s=${s.stationId}.startLevelSpM`, value: s.startLevelM, readBack: s.startLevelM, status: 'verified' }));
    return Promise.resolve({ planId: input.planId!, stepIndex: input.stepIndex, appliedAtUtcMs: 0, writes, verified: writes.length, skipped: 0, failed: 0 });
  },
  handBackToLocal: (input) => Promise.resolve(input.stationIds.map((stationId) => ({ stationId, atUtcMs: 0, stepIndex: input.stepIndex, reason: input.reason, written: false }))),
  recordOutcome: () => Promise.resolve(1),
  notify: (n) => Promise.resolve([{ channel: 'stub', audience: n.audience, delivered: true }]),
};

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
before(async () => {
  [env, bundle] = await Promise.all([TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions()), bundleWorkflows()]);
});
after(async () => {
  await env?.teardown();
});

const runWithWorker = async <T>(taskQueue: string, fn: () => Promise<T>): Promise<T> =>
  (await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stub })).runUntil(fn);

const waitFor = (handle: WorkflowHandle, what: string, check: (s: DispatchCycleState) => boolean): Promise<DispatchCycleState> => waitForDispatchState(handle, what, check, 20_000);
const verdict = (handle: WorkflowHandle) => waitFor(handle, 'an autonomy verdict', (s) => s.autonomy !== undefined && (s.status !== 'approved' || s.autonomy.autoApproved));

/** Three 15-min steps of the rule-based plan, start levels (and stop levels) shifted by `shiftM`, tanks as given. */
function plan(planId: string, shiftM = 0, tank?: { inletM3h: number; outletM3h: number }, laterMs = 0): Plan {
  const full = ruleBasedPlan({ planId, network, snapshot, forecast: null, nowUtcMs: snapshot.readAtUtcMs });
  const steps: PlanStep[] = full.steps.slice(0, 3).map((s) => ({
    ...s,
    startUtcMs: s.startUtcMs + laterMs,
    stations: s.stations.map((x) => ({ ...x, startLevelM: x.startLevelM + shiftM, stopLevelM: x.stopLevelM + shiftM })),
    tanks: tank ? [{ tankId, ...tank }] : s.tanks,
  }));
  return { ...full, createdAtUtcMs: full.createdAtUtcMs + laterMs, steps };
}

const autonomy = autonomyConfig({ mode: 'auto-within-bounds' });
const startPlan = (taskQueue: string, networkId: string, p: Plan, overrides: Partial<DispatchPlanInput> = {}) =>
  env.client.workflow.start(dispatchPlan, {
    taskQueue,
    workflowId: p.planId,
    args: [{ networkId, kind: 'cycle', plan: p, snapshot, forecast: null, approval: { escalateAfterMin: 5, approvalTimeoutMin: 10 }, autonomy, requiredRole: 'dispatcher', timing: { stepIntervalMs: 300, contextWaitMs: 5_000 }, ...overrides }],
  });
const startCoordinator = (taskQueue: string, networkId: string, maxEventsPerRun?: number) =>
  env.client.workflow.start(dispatchCoordinator, { taskQueue, workflowId: coordinatorWorkflowId(networkId), args: [{ networkId, ...(maxEventsPerRun ? { maxEventsPerRun } : {}) }] });

/** A dispatcher approves `p` by hand (nothing to compare with, or refused) and it runs to its end. */
async function approvedByHand(taskQueue: string, networkId: string, p: Plan): Promise<DispatchCycleState> {
  const h = await startPlan(taskQueue, networkId, p);
  const s = await verdict(h);
  assert.equal(s.status, 'proposed', `${p.planId} waits for a dispatcher`);
  await h.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
  return h.result();
}

/**
 * The plan the system must not approve by itself: its verdict. On the code before the guard it went live; the
 * history is recorded then (as `<name>-v0.json`) once it has run to its end.
 */
async function refusedOrRecorded(handle: WorkflowHandle, name: string): Promise<DispatchCycleState> {
  const s = await verdict(handle);
  if (s.autonomy?.autoApproved) {
    await handle.result();
    if (recording) writeFileSync(path.join(historiesDir, `plan-autonomy-${name}${suffix}.json`), portableHistory(await handle.fetchHistory()));
  }
  return s;
}

test('no ratchet: plans are compared with the last plan a dispatcher approved, across continue-as-new, not with the last auto-approved one', async () => {
  const taskQueue = 'autonomy-ratchet';
  const networkId = 'net-autonomy-ratchet';
  const out = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId, 3); // continues as new between the plans
    await approvedByHand(taskQueue, networkId, plan('plan-ratchet-0'));
    // 0.15 m lower: within ±0.2 m of the dispatcher's plan.
    const h1 = await startPlan(taskQueue, networkId, plan('plan-ratchet-1', -0.15));
    const s1 = await verdict(h1);
    await h1.result();
    // 0.30 m lower than the dispatcher's plan, 0.15 m lower than the system's.
    const h2 = await startPlan(taskQueue, networkId, plan('plan-ratchet-2', -0.3));
    const s2 = await refusedOrRecorded(h2, 'ratchet');
    const coordinator = await env.client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery);
    let s2done: DispatchCycleState | undefined;
    if (s2.status === 'proposed') {
      // A dispatcher approves it: it becomes the reference (recorded as the current code's history).
      await h2.executeUpdate(approvePlanUpdate, { args: [{ userName: 'li', role: 'dispatcher' }] });
      s2done = await h2.result();
      if (recording && suffix === '') writeFileSync(path.join(historiesDir, 'plan-autonomy-ratchet.json'), portableHistory(await h2.fetchHistory()));
    }
    const h3 = await startPlan(taskQueue, networkId, plan('plan-ratchet-3', -0.45));
    const s3 = await verdict(h3);
    await h3.terminate('test done').catch(() => undefined);
    return { s1, s2, s2done, s3, coordinator };
  });
  assert.equal(out.s1.decision?.userName, 'system');
  assert.match(out.s1.autonomy!.reason, /^within bounds of plan-ratchet-0 over 3 step\(s\)/);
  assert.equal(out.s2.status, 'proposed', 'a dispatcher decides: 0.30 m from the plan a dispatcher approved');
  assert.equal(out.s2.autonomy?.autoApproved, false);
  assert.match(out.s2.autonomy.reason, /start level .* exceeds ±0.2 m/);
  assert.equal(out.coordinator.lastApproved?.planId, 'plan-ratchet-1', 'the plan that went live last (the heartbeat stands behind it)');
  assert.equal(out.coordinator.lastHumanApproved?.planId, 'plan-ratchet-0', 'carried across continue-as-new');
  assert.equal(out.s2done?.decision?.userName, 'li');
  // Approved by a dispatcher, plan-ratchet-2 is the yardstick now: 0.15 m from it goes live by itself.
  assert.equal(out.s3.decision?.userName, 'system');
  assert.match(out.s3.autonomy!.reason, /^within bounds of plan-ratchet-2 /);
});

test('tank inlet and outlet setpoints are compared (±tankM3h, default 100 m³/h)', async () => {
  const taskQueue = 'autonomy-tank';
  const networkId = 'net-autonomy-tank';
  const out = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    await approvedByHand(taskQueue, networkId, plan('plan-tank-0', 0, { inletM3h: 0, outletM3h: 800 }));
    const close = await startPlan(taskQueue, networkId, plan('plan-tank-1', 0, { inletM3h: 50, outletM3h: 760 }));
    const s1 = await verdict(close);
    await close.result();
    // Draining at 800 m³/h to filling at 2000 m³/h.
    const s2 = await refusedOrRecorded(await startPlan(taskQueue, networkId, plan('plan-tank-2', 0, { inletM3h: 2000, outletM3h: 0 })), 'tank');
    await env.client.workflow.getHandle('plan-tank-2').terminate('test done').catch(() => undefined);
    return { s1, s2 };
  });
  assert.equal(out.s1.decision?.userName, 'system', 'within ±100 m³/h');
  assert.equal(out.s2.status, 'proposed');
  assert.match(out.s2.autonomy!.reason, new RegExp(`${tankId} .*inlet 0 → 2000 m³/h exceeds ±100`));
});

test('a reference plan that has ended, or whose dispatch failed, is no yardstick: a dispatcher decides, and the reason says why in both languages', async () => {
  const taskQueue = 'autonomy-stale';
  const networkId = 'net-autonomy-ended';
  const failedNetworkId = 'net-autonomy-failed';
  const out = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    await startCoordinator(taskQueue, failedNetworkId);
    await approvedByHand(taskQueue, networkId, plan('plan-ended-0'));
    // The same setpoints three days later: the 45-min reference ended long before.
    const ended = await refusedOrRecorded(await startPlan(taskQueue, networkId, plan('plan-ended-1', 0, undefined, 3 * 86_400_000)), 'ended');
    await env.client.workflow.getHandle('plan-ended-1').terminate('test done').catch(() => undefined);

    failingPlans.add('plan-failed-0');
    const f0 = await approvedByHand(taskQueue, failedNetworkId, plan('plan-failed-0'));
    const failed = await refusedOrRecorded(await startPlan(taskQueue, failedNetworkId, plan('plan-failed-1')), 'failed');
    await env.client.workflow.getHandle('plan-failed-1').terminate('test done').catch(() => undefined);
    return { ended, f0, failed };
  });
  assert.equal(out.ended.status, 'proposed');
  assert.match(out.ended.autonomy!.reason, /参照计划 plan-ended-0 已结束/);
  assert.match(out.ended.autonomy!.reason, /the reference plan plan-ended-0 ended 71\.25 h before this plan's first step/);
  assert.equal(out.f0.status, 'dispatch-failed');
  assert.equal(out.failed.status, 'proposed');
  assert.match(out.failed.autonomy!.reason, /参照计划 plan-failed-0 下发失败/);
  assert.match(out.failed.autonomy!.reason, /the reference plan plan-failed-0 failed to dispatch/);
});

test('the autonomy histories replay on the current code: those from before the marker on its old rules', async () => {
  const files = readdirSync(historiesDir).filter((f) => f.startsWith('plan-autonomy-') && f.endsWith('.json'));
  assert.deepEqual(files.filter((f) => f.endsWith('-v0.json')).sort(), ['plan-autonomy-ended-v0.json', 'plan-autonomy-failed-v0.json', 'plan-autonomy-ratchet-v0.json', 'plan-autonomy-tank-v0.json']);
  for (const file of files) {
    const history: unknown = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file.replace(/\.json$/, ''));
  }
});
