// The dispatch workflows on a real Temporal dev server with stub activities: the cycle hands its plan to
// a plan workflow; decisions through Updates (validators refuse bad ones); escalation and expiry without
// any change; modification re-plans with constraints; a newer proposal supersedes a pending one; auto
// within bounds; and replay of recorded histories (legacy and current) so a determinism break fails CI.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import {
  approvePlanUpdate,
  autonomyConfig,
  coordinatorWorkflowId,
  coordinatorStateQuery,
  dispatchStateQuery,
  EMERGENCY_REPLACE_ROLE,
  EMERGENCY_REPLACE_UNCONFIRMED,
  modifyPlanUpdate,
  planWorkflowIdOfCycle,
  rejectPlanUpdate,
  type AutonomyConfig,
  type DispatchCycleState,
  type DispatchOutcome,
  type SetpointWriteResult,
  type DispatchPlanInput,
} from '../../contract/index.js';
import type { DispatchActivities } from '../../activities/dispatch.js';
import { applyConstraints } from '../../activities/constraints.js';
import type { NetworkSnapshot, RainForecast } from '../../activities/types.js';
import type { Notification } from '../../notify/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan } from '../../planner/types.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { temporalTestEnvironmentOptions } from '../support/servers.js';
import { dispatchCoordinator, dispatchCycle, dispatchPlan } from '../../workflows/index.js';
import { historiesDir, portableHistory, recording } from '../support/histories.js';
import { waitForDispatchState } from '../support/dispatch-state.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const calls: string[] = [];
const notifications: Notification[] = [];
const applied: { planId: string; stepIndex: number; startLevels: Record<string, number>; rateLimitMin?: number }[] = [];
/** Stations whose writes the stub SCADA refuses: `W2` in every plan, `plan-x/W2` in plan-x only. */
const failingStations = new Set<string>();
/** Transfer writes the stub SCADA refuses, by interconnection id, and how many more times (Infinity: always). */
const failingLinks = new Map<string, number>();
/** When set, a step write that throws this (an activity that gave up) instead of answering. */
let stepWriteError: ((input: Parameters<DispatchActivities['applyPlanStep']>[0]) => Error | undefined) | undefined;
/** Every recordOutcome input, in order. */
const records: Parameters<DispatchActivities['recordOutcome']>[0][] = [];
/** Every hand-back, with its plan. */
const handBacks: { planId: string; stationIds: string[] }[] = [];
const STEPS = 3;

const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: 1_780_000_000_000, readings: [], badTagCount: 0, stations: [] };
let forecastFails = false;
const stubForecast: RainForecast = { issuedAtUtcMs: snapshot.readAtUtcMs, source: 'stub', stepMin: 60, locations: [] };
/** A short plan: the rule-based plan's first STEPS steps (its own step times are 15 min apart). */
const shortPlan = (planId: string, nowUtcMs = snapshot.readAtUtcMs): Plan => {
  const plan = ruleBasedPlan({ planId, network, snapshot, forecast: null, nowUtcMs });
  return { ...plan, steps: plan.steps.slice(0, STEPS) };
};

const stubActivities: DispatchActivities = {
  readNetworkState: () => { calls.push('read'); return Promise.resolve(snapshot); },
  writeTelemetry: () => { calls.push('telemetry'); return Promise.resolve(0); },
  fetchRainForecast: () => { calls.push('forecast'); return forecastFails ? Promise.reject(new Error('forecast server down')) : Promise.resolve(stubForecast); },
  buildPlan: (input) => {
    calls.push(input.constraints ? `plan:${JSON.stringify(input.constraints)}` : 'plan');
    return Promise.resolve(applyConstraints(shortPlan(input.planId), input.constraints, network));
  },
  applyPlanStep: (input): Promise<DispatchOutcome> => {
    calls.push(`apply:${input.stepIndex}${input.onlyStations ? `:${input.onlyStations.join(',')}` : ''}${input.skipStations?.length ? `:skip=${input.skipStations.join(',')}` : ''}`);
    applied.push({ planId: input.planId!, stepIndex: input.stepIndex, startLevels: Object.fromEntries((input.step?.stations ?? []).map((s) => [s.stationId, s.startLevelM])), ...(input.rateLimitMin !== undefined ? { rateLimitMin: input.rateLimitMin } : {}) });
    const error = stepWriteError?.(input);
    if (error) return Promise.reject(error);
    const refused = (id: string) => failingStations.has(id) || failingStations.has(`${input.planId}/${id}`);
    const stations = (input.step?.stations ?? []).filter((s) => (!input.onlyStations || input.onlyStations.includes(s.stationId)) && !input.skipStations?.includes(s.stationId));
    const writes: SetpointWriteResult[] = stations.map((s) => ({ objectId: s.stationId, tag: 'startLevelSpM', nodeId: `ns=1;s=${s.stationId}.startLevelSpM`, value: s.startLevelM, readBack: s.startLevelM, status: refused(s.stationId) ? ('failed' as const) : ('verified' as const) }));
    // Transfers are reported only while a test makes one fail (the recorded histories have none).
    if (failingLinks.size > 0 && !input.stationsOnly) {
      for (const t of input.step?.transfers ?? []) {
        const left = failingLinks.get(t.interconnectionId) ?? 0;
        if (left > 0) failingLinks.set(t.interconnectionId, left - 1);
        writes.push({ objectId: t.interconnectionId, tag: 'transferSpM3h', nodeId: `ns=1;s=${t.interconnectionId}.transferSpM3h`, value: t.transferM3h, readBack: left > 0 ? null : t.transferM3h, status: left > 0 ? 'failed' : 'verified' });
      }
    }
    const failed = writes.filter((w) => w.status === 'failed').length;
    return Promise.resolve({ planId: input.planId!, stepIndex: input.stepIndex, appliedAtUtcMs: 0, writes, verified: writes.length - failed, skipped: 0, failed });
  },
  handBackToLocal: (input) => {
    calls.push(`hand-back:${input.stationIds.join(',')}`);
    handBacks.push({ planId: input.planId, stationIds: input.stationIds });
    return Promise.resolve(input.stationIds.map((stationId) => ({ stationId, atUtcMs: 0, stepIndex: input.stepIndex, reason: input.reason, written: false })));
  },
  recordOutcome: (input) => { calls.push(`record:${input.status}`); records.push(input); return Promise.resolve(1); },
  notify: (n) => { notifications.push(n); calls.push(`notify:${n.audience}:${n.key.split(':').at(-1)}`); return Promise.resolve([{ channel: 'stub', audience: n.audience, delivered: true }]); },
};

before(async () => {
  [env, bundle] = await Promise.all([TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions()), bundleWorkflows()]);
});
after(async () => {
  await env?.teardown();
});

async function runWithWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stubActivities });
  return worker.runUntil(fn);
}

const waitFor = (handle: WorkflowHandle, ok: (s: DispatchCycleState) => boolean, what: string): Promise<DispatchCycleState> => waitForDispatchState(handle, what, ok, 15_000);
const waitForStatus = (handle: WorkflowHandle, status: DispatchCycleState['status']) => waitFor(handle, (s) => s.status === status, status);

function planInput(networkId: string, plan: Plan, overrides: Partial<DispatchPlanInput> = {}): DispatchPlanInput {
  return {
    networkId,
    kind: 'cycle',
    plan,
    snapshot,
    forecast: null,
    approval: { escalateAfterMin: 5, approvalTimeoutMin: 10 },
    autonomy: autonomyConfig(undefined),
    requiredRole: 'dispatcher',
    timing: { stepIntervalMs: 300, contextWaitMs: 5_000 },
    ...overrides,
  };
}

async function startCoordinator(taskQueue: string, networkId: string, maxEventsPerRun?: number) {
  return env.client.workflow.start(dispatchCoordinator, { taskQueue, workflowId: coordinatorWorkflowId(networkId), args: [{ networkId, ...(maxEventsPerRun ? { maxEventsPerRun } : {}) }] });
}

async function startPlan(taskQueue: string, networkId: string, planId: string, overrides: Partial<DispatchPlanInput> = {}, plan = shortPlan(planId)) {
  return env.client.workflow.start(dispatchPlan, { taskQueue, workflowId: planId, args: [planInput(networkId, plan, overrides)] });
}

const refusal = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
  assert.match(String(error.cause?.message), pattern);
  return true;
};

test('a cycle plans and hands over; approval applies every step once on its timer; a second decision is refused', async () => {
  calls.length = 0;
  applied.length = 0;
  forecastFails = true;
  const taskQueue = 'test-approve';
  const networkId = 'net-approve';
  const { cycleHistory, planHistory } = await runWithWorker(taskQueue, async () => {
    const cycle = await env.client.workflow.start(dispatchCycle, { taskQueue, workflowId: 'dispatch-cycle-test-approve', args: [{ networkId, approvalTimeoutMin: 10, timing: { stepIntervalMs: 300 } }] });
    const cycleResult = await cycle.result();
    assert.equal(cycleResult.status, 'proposed');
    assert.equal(cycleResult.planWorkflowId, planWorkflowIdOfCycle(cycle.workflowId));
    const handle = env.client.workflow.getHandle<typeof dispatchPlan>(cycleResult.planWorkflowId);
    const proposed = await waitForStatus(handle, 'proposed');
    assert.equal(proposed.plan?.basis.forecastSource, 'none', 'planned without the forecast that failed');
    assert.equal(proposed.requiredRole, 'dispatcher');
    await assert.rejects(handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'li', role: 'viewer' }] }), refusal(/role viewer may not decide/));
    await assert.rejects(handle.executeUpdate(rejectPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }), refusal(/rejection needs a reason/));
    const approved = await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', comment: '同意' }] });
    assert.equal(approved.status, 'approved');
    const result = await handle.result();
    assert.equal(result.status, 'completed');
    assert.equal(result.decision?.userName, 'wang');
    assert.deepEqual(result.steps?.map((s) => s.stepIndex), [0, 1, 2]);
    await assert.rejects(handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }));
    // The coordinator saw the plan go live and close.
    const coordinator = await env.client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery);
    assert.equal(coordinator.lastApproved?.planId, result.planId);
    assert.equal(coordinator.live, null);
    return { cycleHistory: { workflowId: cycle.workflowId, history: await cycle.fetchHistory() }, planHistory: { workflowId: handle.workflowId, history: await handle.fetchHistory() } };
  });
  assert.deepEqual(calls.slice(0, 6), ['read', 'telemetry', 'forecast', 'forecast', 'forecast', 'plan']);
  assert.deepEqual(calls.filter((c) => c.startsWith('apply')), ['apply:0', 'apply:1', 'apply:2'], 'each step applied exactly once, in order');
  assert.deepEqual(calls.filter((c) => c.startsWith('record')), ['record:dispatched', 'record:step-applied', 'record:step-applied', 'record:completed']);
  if (recording) {
    writeFileSync(path.join(historiesDir, `${cycleHistory.workflowId}.json`), portableHistory(cycleHistory.history));
    writeFileSync(path.join(historiesDir, `${planHistory.workflowId}.json`), portableHistory(planHistory.history));
  }
});

test('an unanswered plan escalates to the supervisor, then expires: nothing written, the live plan stays', async () => {
  calls.length = 0;
  notifications.length = 0;
  forecastFails = false;
  const taskQueue = 'test-expire';
  const networkId = 'net-expire';
  const { result, history } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    const live = await startPlan(taskQueue, networkId, 'plan-expire-live', { timing: { stepIntervalMs: 60_000, contextWaitMs: 5_000 } });
    await waitForStatus(live, 'proposed');
    await live.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
    await waitForStatus(live, 'dispatched');
    const handle = await startPlan(taskQueue, networkId, 'plan-expire-unanswered', { approval: { escalateAfterMin: 0.02, approvalTimeoutMin: 0.06 } });
    const escalated = await waitFor(handle, (s) => s.escalatedAtUtcMs !== undefined, 'escalated');
    assert.equal(escalated.status, 'proposed', 'still open for a decision after the escalation');
    const result = await handle.result();
    await live.terminate('test done');
    return { result, history: await handle.fetchHistory() };
  });
  assert.equal(result.status, 'expired');
  assert.equal(result.keptPlanId, 'plan-expire-live', 'the approved plan stays in force');
  assert.equal(applied.filter((a) => a.planId === 'plan-expire-unanswered').length, 0, 'nothing applied');
  const escalation = notifications.find((n) => n.key === 'plan-expire-unanswered:escalation');
  assert.equal(escalation?.audience, 'supervisor');
  assert.ok(notifications.some((n) => n.key === 'plan-expire-unanswered:expired'));
  assert.ok(calls.indexOf('record:escalated') < calls.indexOf('record:expired'));
  if (recording) writeFileSync(path.join(historiesDir, 'plan-expire-unanswered.json'), portableHistory(history));
});

test('modify: lock, band and cap re-plan the proposal as constraints; bad ones are refused; the modified plan is applied', async () => {
  calls.length = 0;
  applied.length = 0;
  const taskQueue = 'test-modify';
  const networkId = 'net-modify';
  const w1 = network.stations.find((s) => s.id === 'W1')!;
  const { result, history } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    const handle = await startPlan(taskQueue, networkId, 'plan-modify');
    await waitForStatus(handle, 'proposed');
    await assert.rejects(handle.executeUpdate(modifyPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', constraints: { lockedStations: ['NOPE'] } }] }), refusal(/unknown station NOPE/));
    await assert.rejects(handle.executeUpdate(modifyPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', constraints: {} }] }), refusal(/at least one band, lock or cap/));
    const modified = await handle.executeUpdate(modifyPlanUpdate, {
      args: [{ userName: 'wang', role: 'dispatcher', comment: 'W1 检修', constraints: { lockedStations: ['W1'], stationBands: [{ stationId: 'W2', maxLevelM: 1.6 }], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 300 }] } }],
    });
    assert.equal(modified.status, 'proposed', 'a modified plan waits for a decision');
    assert.equal(modified.revision, 2);
    const w1Step0 = modified.plan!.steps[0]!.stations.find((s) => s.stationId === 'W1')!;
    assert.deepEqual([w1Step0.startLevelM, w1Step0.stopLevelM, w1Step0.pumpsAllowed], [w1.levels.pumpStartM, w1.levels.pumpStopM, w1.pumps.length - w1.standbyPumps]);
    assert.match(modified.plan!.reasons.find((r) => r.objectId === 'W1')!.reason.en, /Locked to local control/);
    assert.ok(modified.plan!.steps.every((s) => s.stations.find((x) => x.stationId === 'W2')!.startLevelM <= 1.6));
    await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
    return { result: await handle.result(), history: await handle.fetchHistory() };
  });
  assert.equal(result.status, 'completed');
  assert.deepEqual(result.modifications?.map((m) => m.userName), ['wang']);
  assert.ok(calls.some((c) => c.startsWith('plan:') && c.includes('"lockedStations":["W1"]') && c.includes('"maxAbsM3h":300')), 'the planner got the constraints');
  assert.equal(applied[0]?.startLevels['W1'], w1.levels.pumpStartM, 'the modified revision was applied');
  if (recording) writeFileSync(path.join(historiesDir, 'plan-modify.json'), portableHistory(history));
});

test('a newer proposal supersedes a pending one; deciding on the old one is refused', async () => {
  applied.length = 0;
  const taskQueue = 'test-supersede';
  const networkId = 'net-supersede';
  const { older, newer, coordinator } = await runWithWorker(taskQueue, async () => {
    // A short-lived coordinator run: it continues as new in the middle and carries its state over.
    const coordinatorHandle = await startCoordinator(taskQueue, networkId, 3);
    const a = await startPlan(taskQueue, networkId, 'plan-supersede-a');
    await waitForStatus(a, 'proposed');
    const b = await startPlan(taskQueue, networkId, 'plan-supersede-b');
    const older = await a.result();
    await assert.rejects(a.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }));
    await waitForStatus(b, 'proposed');
    await b.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
    const newer = await b.result();
    const coordinator = await env.client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery);
    const firstRun = await env.client.workflow.getHandle(coordinatorWorkflowId(networkId), coordinatorHandle.firstExecutionRunId).describe();
    assert.equal(firstRun.status.name, 'CONTINUED_AS_NEW');
    return { older, newer, coordinator };
  });
  assert.equal(coordinator.lastApproved?.planId, 'plan-supersede-b', 'state carried over continue-as-new');
  assert.ok(coordinator.log.some((l) => l.event === 'superseded' && l.planId === 'plan-supersede-a'));
  assert.equal(older.status, 'superseded');
  assert.equal(older.supersededBy, 'plan-supersede-b');
  assert.equal(newer.status, 'completed');
  assert.deepEqual([...new Set(applied.map((a) => a.planId))], ['plan-supersede-b'], 'only the newer plan was written');
});

test('a station whose writes keep failing is retried with backoff, then alarmed and handed back to local control', async () => {
  calls.length = 0;
  notifications.length = 0;
  failingStations.add('W2');
  const taskQueue = 'test-hand-back';
  const networkId = 'net-hand-back';
  try {
    const result = await runWithWorker(taskQueue, async () => {
      await startCoordinator(taskQueue, networkId);
      const handle = await startPlan(taskQueue, networkId, 'plan-hand-back', { timing: { stepIntervalMs: 300, stationRetryBaseMs: 50, stationRetryAttempts: 2 } });
      await waitForStatus(handle, 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      return handle.result();
    });
    assert.equal(result.status, 'completed');
    assert.deepEqual(calls.filter((c) => c.startsWith('apply') || c.startsWith('hand-back')), ['apply:0', 'apply:0:W2', 'apply:0:W2', 'hand-back:W2', 'apply:1:skip=W2', 'apply:2:skip=W2']);
    assert.deepEqual(result.handedBack?.map((h) => [h.stationId, h.stepIndex]), [['W2', 0]]);
    assert.equal(result.steps?.[0]?.retries, 2);
    const alarm = notifications.find((n) => n.key === 'plan-hand-back:step-1:hand-back');
    assert.equal(alarm?.severity, 'alarm');
    assert.match(alarm?.text ?? '', /W2/);
    // The first step, counted from 1 as the console counts, in both languages.
    assert.match(alarm?.text ?? '', /第1步（共3步）/);
    assert.match(result.handedBack?.[0]?.reason ?? '', /at step 1 of 3/);
    assert.ok(calls.includes('record:handed-back'));
  } finally {
    failingStations.clear();
  }
});

test('a transfer whose write fails is retried on its own, then alarmed and recorded; a write that succeeds on retry raises nothing', async () => {
  calls.length = 0;
  notifications.length = 0;
  records.length = 0;
  const taskQueue = 'test-link-write';
  const networkId = 'net-link-write';
  try {
    // X1 refuses its writes for good in plan-link-down.
    failingLinks.set('X1', Number.POSITIVE_INFINITY);
    const down = await runWithWorker(taskQueue, async () => {
      await startCoordinator(taskQueue, networkId);
      const handle = await startPlan(taskQueue, networkId, 'plan-link-down', { timing: { stepIntervalMs: 300, stationRetryBaseMs: 50, stationRetryAttempts: 2 } });
      await waitForStatus(handle, 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      return handle.result();
    });
    assert.equal(down.status, 'completed', 'the plan goes on: a transfer has no local band to hand back to');
    assert.deepEqual(calls.filter((c) => c.startsWith('apply:0')), ['apply:0', 'apply:0:', 'apply:0:'], 'two retries of the transfer alone, no station rewritten');
    const alarm = notifications.find((n) => n.key === 'plan-link-down:step-1:link-write');
    assert.equal(alarm?.severity, 'alarm');
    assert.match(alarm?.text ?? '', /第1步（共\d+步）：X1\.transferSpM3h = .* 写入失败3次/);
    assert.match(alarm?.title ?? '', /step 1 of \d+: transfer or tank setpoint not written/);
    assert.ok(records.some((r) => r.planId === 'plan-link-down' && r.status === 'link-write-failed' && /X1\.transferSpM3h/.test(r.detail ?? '')));
    assert.equal(handBacks.filter((h) => h.planId === 'plan-link-down').length, 0);

    // Refused once, then written: one retry, no alarm.
    calls.length = 0;
    notifications.length = 0;
    failingLinks.set('X1', 1);
    const blip = await runWithWorker(taskQueue, async () => {
      const handle = await startPlan(taskQueue, networkId, 'plan-link-blip', { timing: { stepIntervalMs: 300, stationRetryBaseMs: 50, stationRetryAttempts: 2 } });
      await waitForStatus(handle, 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      return handle.result();
    });
    assert.equal(blip.status, 'completed');
    assert.deepEqual(calls.filter((c) => c.startsWith('apply:0')), ['apply:0', 'apply:0:']);
    assert.ok(!notifications.some((n) => n.key.endsWith('link-write')));
    assert.ok(blip.outcome === undefined || blip.steps?.every((st) => st.failed === 0), 'every step ends verified');
  } finally {
    failingLinks.clear();
  }
});

test('auto within bounds: a plan close to the live one goes live by itself and replaces it; a far one waits', async () => {
  applied.length = 0;
  const taskQueue = 'test-auto';
  const networkId = 'net-auto';
  const autonomy: AutonomyConfig = autonomyConfig({ mode: 'auto-within-bounds' });
  const slow = { stepIntervalMs: 60_000, contextWaitMs: 5_000 };
  const { first, close, far } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    // The first plan has nothing to compare with: a dispatcher approves it.
    const p1 = await startPlan(taskQueue, networkId, 'plan-auto-1', { autonomy, timing: slow });
    const s1 = await waitFor(p1, (s) => s.autonomy !== undefined, 'autonomy verdict');
    assert.equal(s1.status, 'proposed');
    assert.equal(s1.autonomy?.autoApproved, false);
    assert.match(s1.autonomy.reason, /no approved plan to compare with/);
    await p1.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
    await waitForStatus(p1, 'dispatched');
    // Same setpoints a few minutes later: within bounds.
    const p2 = await startPlan(taskQueue, networkId, 'plan-auto-2', { autonomy, timing: slow }, shortPlan('plan-auto-2', snapshot.readAtUtcMs + 5 * 60_000));
    await waitForStatus(p2, 'dispatched');
    const first = await p1.result();
    // Start levels 0.5 m higher everywhere: outside the ±0.2 m bounds.
    const far = shortPlan('plan-auto-3');
    far.steps = far.steps.map((s) => ({ ...s, stations: s.stations.map((x) => ({ ...x, startLevelM: x.startLevelM + 0.5 })) }));
    const p3 = await startPlan(taskQueue, networkId, 'plan-auto-3', { autonomy, timing: slow }, far);
    const s3 = await waitFor(p3, (s) => s.autonomy !== undefined, 'autonomy verdict');
    const close = await p2.query(dispatchStateQuery);
    await p2.terminate('test done');
    await p3.terminate('test done');
    return { first, close, far: s3 };
  });
  assert.equal(close.decision?.userName, 'system');
  assert.match(close.decision?.automatic ?? '', /^auto-within-bounds: within bounds of plan-auto-1/);
  assert.equal(first.status, 'replaced');
  assert.equal(first.replacedBy, 'plan-auto-2');
  assert.equal(far.status, 'proposed', 'a plan outside the bounds waits for a dispatcher');
  assert.match(far.autonomy!.reason, /start level .* exceeds ±0.2 m/);
});

test('a late approval sends only the latest due step, limited to one step of change from what SCADA holds; earlier due steps are skipped and recorded', async () => {
  applied.length = 0;
  records.length = 0;
  const taskQueue = 'test-catch-up';
  const networkId = 'net-catch-up';
  // Domain time at 900× (a 15-min step is 1 s): the plan's own step times, no wall-clock interval.
  const clock = { originUtcMs: snapshot.readAtUtcMs, wallOriginUtcMs: Date.now(), speed: 900 };
  const full = ruleBasedPlan({ planId: 'plan-catch-up', network, snapshot, forecast: null, nowUtcMs: snapshot.readAtUtcMs });
  const plan = { ...full, steps: full.steps.slice(0, 8) };
  const result = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    const handle = await startPlan(taskQueue, networkId, 'plan-catch-up', { clock, timing: { contextWaitMs: 5_000 }, approval: { escalateAfterMin: 600, approvalTimeoutMin: 1200 } }, plan);
    await waitForStatus(handle, 'proposed');
    // Approved about 66 domain minutes after the first step: steps 1 to 5 (0 to 60 min) are due at once.
    const approveAtWall = clock.wallOriginUtcMs + Math.ceil((66 * 60_000) / clock.speed);
    await new Promise((r) => setTimeout(r, Math.max(0, approveAtWall - Date.now())));
    await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
    const result = await handle.result();
    // Recorded on the code before the catch-up-latest-step marker (every due step applied in turn) as -v0.
    if (recording) writeFileSync(path.join(historiesDir, `plan-catch-up${process.env['HISTORY_SUFFIX'] ?? ''}.json`), portableHistory(await handle.fetchHistory()));
    return result;
  });
  assert.equal(result.status, 'completed');
  const mine = applied.filter((a) => a.planId === 'plan-catch-up');
  const first = mine[0]!;
  assert.ok(first.stepIndex >= 4, `the first step sent is the latest due one (sent ${first.stepIndex}), not step 0`);
  assert.equal(first.rateLimitMin, 15, 'its values are limited to one 15-min step of change at the envelope rate');
  assert.deepEqual(result.skippedSteps?.slice(0, first.stepIndex), Array.from({ length: first.stepIndex }, (_, i) => i), 'every earlier due step skipped, none written');
  // Later steps on their times (a loaded machine may make one late too: then it is skipped the same way).
  const sent = mine.map((a) => a.stepIndex);
  assert.deepEqual([...sent, ...(result.skippedSteps ?? [])].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7], 'each step either sent once or skipped');
  assert.ok(sent.length >= 2 && sent.at(-1) === 7, `the plan went on to its last step (sent ${sent.join(',')})`);
  for (const a of mine.slice(1)) if (a.rateLimitMin === undefined) assert.ok(!result.skippedSteps?.includes(a.stepIndex - 1), 'a step sent on time follows a sent step');
  const statuses = records.filter((r) => r.planId === 'plan-catch-up').map((r) => r.status);
  assert.equal(statuses[0], 'steps-skipped');
  assert.equal(statuses[1], 'dispatched');
  assert.match(records.find((r) => r.status === 'steps-skipped')?.detail ?? '', /^step 1 of 8 to step \d of 8 were due at once and not sent; step \d of 8 sent, limited to the envelope's rate/);
});

test('emergency-auto: a cycle plan in a playbook mode is not auto-approved while an emergency plan is in force', async () => {
  const taskQueue = 'test-no-auto-over-emergency';
  const networkId = 'net-no-auto-over-emergency';
  const autonomy: AutonomyConfig = autonomyConfig({ mode: 'emergency-auto' });
  const slow = { stepIntervalMs: 60_000, contextWaitMs: 5_000 };
  const drawdown = (planId: string) => ({ ...shortPlan(planId), operatingMode: 'flood-drawdown' as const });
  const { blocked, emergencyAfter, free } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    const emergency = await startPlan(taskQueue, networkId, 'plan-flood-net-e1-r1', { kind: 'emergency', autonomy, timing: slow, requiredRole: 'supervisor', preApproved: { kind: 'approve', userName: 'zhao', role: 'supervisor', decidedAtUtcMs: snapshot.readAtUtcMs } });
    await waitForStatus(emergency, 'dispatched');
    const cycle = await startPlan(taskQueue, networkId, 'plan-cycle-during-emergency', { autonomy, timing: slow }, drawdown('plan-cycle-during-emergency'));
    const blocked = await waitFor(cycle, (s) => s.autonomy !== undefined, 'autonomy verdict');
    const emergencyAfter = await emergency.query(dispatchStateQuery);
    await cycle.terminate('test done');
    await emergency.terminate('test done');
    // A network with no emergency plan in force: the playbook goes live by itself as before.
    await startCoordinator(taskQueue, `${networkId}-quiet`);
    const other = await env.client.workflow.start(dispatchPlan, { taskQueue, workflowId: 'plan-cycle-no-emergency', args: [planInput(`${networkId}-quiet`, drawdown('plan-cycle-no-emergency'), { autonomy, timing: slow })] });
    const free = await waitFor(other, (s) => s.autonomy !== undefined, 'autonomy verdict');
    await other.terminate('test done');
    return { blocked, emergencyAfter, free };
  });
  assert.equal(blocked.autonomy?.autoApproved, false, 'not auto-approved over the emergency plan');
  assert.match(blocked.autonomy?.reason ?? '', /emergency plan plan-flood-net-e1-r1 is in force: a dispatcher decides/);
  assert.equal(blocked.status, 'proposed');
  assert.equal(emergencyAfter.status, 'dispatched', 'the emergency plan stays in force');
  assert.equal(emergencyAfter.replacedBy, undefined);
  assert.equal(free.autonomy?.autoApproved, true, 'without an emergency plan in force the playbook still goes live by itself');
  assert.match(free.autonomy?.reason ?? '', /pre-approved playbook: flood-drawdown/);
});

test('approving a cycle plan by hand while an emergency plan is in force needs the emergency plan\'s role and an explicit confirmation', async () => {
  const taskQueue = 'test-replace-emergency';
  const networkId = 'net-replace-emergency';
  const slow = { stepIntervalMs: 60_000, contextWaitMs: 5_000 };
  const refusedAs = (type: string, pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof WorkflowUpdateFailedError, String(error));
    assert.ok(error.cause instanceof ApplicationFailure, String(error.cause));
    assert.equal(error.cause.type, type);
    assert.match(error.cause.message, pattern);
    return true;
  };
  const { proposed, approved, emergencyEnd, coordinator } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    // Level II: the emergency plan needed a supervisor (approved in the flood season, live at once).
    const emergency = await startPlan(taskQueue, networkId, 'plan-flood-net-e2-r1', { kind: 'emergency', timing: slow, requiredRole: 'supervisor', preApproved: { kind: 'approve', userName: 'zhao', role: 'supervisor', decidedAtUtcMs: snapshot.readAtUtcMs } });
    await waitForStatus(emergency, 'dispatched');
    const cycle = await startPlan(taskQueue, networkId, 'plan-cycle-over-emergency', { timing: slow });
    const proposed = await waitFor(cycle, (s) => s.replacesEmergency !== undefined, 'the emergency plan in force known');
    // (1) A dispatcher (the cycle plan's own role) is refused, even confirming.
    await assert.rejects(
      cycle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', replaceEmergencyPlan: true }] }),
      refusedAs(EMERGENCY_REPLACE_ROLE, /emergency plan plan-flood-net-e2-r1 is in force: approving plan plan-cycle-over-emergency replaces it and needs a supervisor or higher; wang is dispatcher/),
    );
    // (2) A supervisor without the confirmation is refused.
    await assert.rejects(cycle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'zhao', role: 'supervisor' }] }), refusedAs(EMERGENCY_REPLACE_UNCONFIRMED, /应急预案 plan-flood-net-e2-r1 正在执行.*confirm with replaceEmergencyPlan: true/s));
    await assert.rejects(cycle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'zhao', role: 'supervisor', replaceEmergencyPlan: false }] }), refusedAs(EMERGENCY_REPLACE_UNCONFIRMED, /replaceEmergencyPlan: true/));
    assert.equal((await emergency.query(dispatchStateQuery)).status, 'dispatched', 'the refusals left the emergency plan in force');
    // (3) A supervisor who confirms: the cycle plan goes live and replaces the emergency plan.
    const approved = await cycle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'zhao', role: 'supervisor', replaceEmergencyPlan: true, comment: '雨停，恢复常规调度' }] });
    const emergencyEnd = await emergency.result();
    const coordinator = await env.client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery);
    await cycle.terminate('test done');
    return { proposed, approved, emergencyEnd, coordinator };
  });
  assert.deepEqual(proposed.replacesEmergency, { planId: 'plan-flood-net-e2-r1', requiredRole: 'supervisor' }, 'the plan says which emergency plan it would replace and who may');
  assert.equal(proposed.requiredRole, 'dispatcher', 'its own required role is unchanged');
  assert.equal(approved.status, 'approved');
  assert.equal(approved.decision?.userName, 'zhao');
  assert.equal(emergencyEnd.status, 'replaced');
  assert.equal(emergencyEnd.replacedBy, 'plan-cycle-over-emergency');
  assert.equal(coordinator.live?.planId, 'plan-cycle-over-emergency');
  const refusedRecords = records.filter((r) => r.planId === 'plan-cycle-over-emergency' && r.status !== 'dispatched' && r.status !== 'step-applied');
  assert.deepEqual(refusedRecords.map((r) => r.status), [], 'refused approvals record nothing');
});

test('a decision made on a revision that was modified meanwhile is refused, naming both revisions; on the current revision it goes through', async () => {
  applied.length = 0;
  const taskQueue = 'test-stale-revision';
  const networkId = 'net-stale-revision';
  const { result, history } = await runWithWorker(taskQueue, async () => {
    await startCoordinator(taskQueue, networkId);
    const handle = await startPlan(taskQueue, networkId, 'plan-stale-revision');
    const proposed = await waitForStatus(handle, 'proposed');
    assert.equal(proposed.revision, 1);
    // wang opens revision 1; zhang modifies the plan meanwhile (he had reviewed revision 1 too).
    const modified = await handle.executeUpdate(modifyPlanUpdate, { args: [{ userName: 'zhang', role: 'dispatcher', revision: 1, constraints: { lockedStations: ['W1'] } }] });
    assert.equal(modified.revision, 2);
    const stale = refusal(/plan plan-stale-revision is at revision 2; the decision was made on revision 1 — review the new revision/);
    await assert.rejects(handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', revision: 1 }] }), stale);
    await assert.rejects(handle.executeUpdate(rejectPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', comment: '不同意', revision: 1 }] }), stale);
    await assert.rejects(handle.executeUpdate(modifyPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', revision: 1, constraints: { lockedStations: ['W3'] } }] }), stale);
    await assert.rejects(handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', revision: 3 }] }), refusal(/is at revision 2; the decision was made on revision 3/));
    assert.equal((await handle.query(dispatchStateQuery)).status, 'proposed', 'nothing decided on the stale revision');
    // Having reviewed revision 2, wang approves it.
    const approved = await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', revision: 2 }] });
    assert.equal(approved.status, 'approved');
    return { result: await handle.result(), history: await handle.fetchHistory() };
  });
  assert.equal(result.status, 'completed');
  assert.equal(result.decision?.userName, 'wang');
  assert.deepEqual(result.modifications?.map((m) => [m.userName, m.revision]), [['zhang', 2]], 'the refused modification left no trace');
  assert.ok(applied.every((a) => a.planId === 'plan-stale-revision'));
  // Validators do not run on replay: the history with revisions in its updates replays on this code.
  await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'plan-stale-revision');
});

test('a station retry that gives up (SCADA away) does not fail the plan: the stations are handed back, alarmed, recorded, and the plan goes on', async () => {
  calls.length = 0;
  notifications.length = 0;
  records.length = 0;
  failingStations.add('W2');
  stepWriteError = (input) => (input.onlyStations ? ApplicationFailure.create({ message: 'BadConnectionClosed: OPC UA session lost', type: 'OpcUaDown', nonRetryable: true }) : undefined);
  const taskQueue = 'test-retry-fails';
  const networkId = 'net-retry-fails';
  try {
    const { result, coordinator, history } = await runWithWorker(taskQueue, async () => {
      await startCoordinator(taskQueue, networkId);
      const handle = await startPlan(taskQueue, networkId, 'plan-retry-fails', { timing: { stepIntervalMs: 300, stationRetryBaseMs: 50, stationRetryAttempts: 3 } });
      await waitForStatus(handle, 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      const result = await handle.result();
      return { result, coordinator: await env.client.workflow.getHandle(coordinatorWorkflowId(networkId)).query(coordinatorStateQuery), history: await handle.fetchHistory() };
    });
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'plan-retry-fails');
    assert.equal(result.status, 'completed', result.error);
    assert.deepEqual(calls.filter((c) => c.startsWith('apply') || c.startsWith('hand-back')), ['apply:0', 'apply:0:W2', 'hand-back:W2', 'apply:1:skip=W2', 'apply:2:skip=W2'], 'no second retry; handed back; the plan went on without W2');
    assert.deepEqual(result.handedBack?.map((h) => [h.stationId, h.stepIndex]), [['W2', 0]]);
    assert.match(result.handedBack?.[0]?.reason ?? '', /retry 1 gave up: BadConnectionClosed/);
    const alarm = notifications.find((n) => n.key === 'plan-retry-fails:step-1:hand-back');
    assert.equal(alarm?.severity, 'alarm');
    assert.match(alarm?.text ?? '', /W2.*BadConnectionClosed/s);
    const handedBackRecord = records.find((r) => r.planId === 'plan-retry-fails' && r.status === 'handed-back');
    assert.match(handedBackRecord?.detail ?? '', /^W2: .*BadConnectionClosed/);
    assert.deepEqual(records.filter((r) => r.planId === 'plan-retry-fails').map((r) => r.status), ['handed-back', 'dispatched', 'step-applied', 'step-applied', 'completed']);
    assert.equal(records.find((r) => r.status === 'dispatched')?.outcome?.writes.find((w) => w.objectId === 'W2')?.status, 'failed', 'W2 recorded as not written');
    assert.equal(coordinator.live, null, 'the coordinator was told the plan closed');
    assert.ok(coordinator.log.some((l) => l.event === 'closed:completed' && l.planId === 'plan-retry-fails'));
  } finally {
    failingStations.clear();
    stepWriteError = undefined;
  }
});

test('dispatch-failed records the failing step with its error, never the previous step\'s outcome', async () => {
  records.length = 0;
  stepWriteError = (input) => (input.stepIndex === 1 ? ApplicationFailure.create({ message: 'BadCommunicationError: SCADA away', type: 'OpcUaDown', nonRetryable: true }) : undefined);
  const taskQueue = 'test-dispatch-failed';
  const networkId = 'net-dispatch-failed';
  try {
    const result = await runWithWorker(taskQueue, async () => {
      await startCoordinator(taskQueue, networkId);
      const handle = await startPlan(taskQueue, networkId, 'plan-dispatch-failed');
      await waitForStatus(handle, 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      return handle.result();
    });
    assert.equal(result.status, 'dispatch-failed');
    assert.match(result.error ?? '', /^step 2 of \d+: BadCommunicationError/, 'the second step, counted from 1');
    assert.equal(result.outcome, undefined, 'no outcome is shown for the failed step (step 0\'s is in its record)');
    assert.deepEqual(result.steps?.map((s) => s.stepIndex), [0]);
    const mine = records.filter((r) => r.planId === 'plan-dispatch-failed');
    assert.deepEqual(mine.map((r) => r.status), ['dispatched', 'dispatch-failed']);
    assert.equal(mine[0]?.outcome?.stepIndex, 0);
    const failed = mine[1]!;
    assert.equal(failed.outcome, null, 'step 0\'s outcome is not recorded again as the failed step\'s');
    assert.match(failed.detail ?? '', /^step 2 of \d+: BadCommunicationError: SCADA away/);
  } finally {
    stepWriteError = undefined;
  }
});

test('a plan replaced during its station retries stops: no further retry and no hand-back write over its replacement', async () => {
  calls.length = 0;
  applied.length = 0;
  records.length = 0;
  handBacks.length = 0;
  failingStations.add('plan-replaced-old/W2');
  const taskQueue = 'test-replaced-retry';
  const networkId = 'net-replaced-retry';
  try {
    const { old, newer, history } = await runWithWorker(taskQueue, async () => {
      await startCoordinator(taskQueue, networkId);
      // Long back-off: the newer plan goes live while the old one waits for its first retry.
      const a = await startPlan(taskQueue, networkId, 'plan-replaced-old', { timing: { stepIntervalMs: 60_000, stationRetryBaseMs: 3_000, stationRetryAttempts: 3 } });
      await waitForStatus(a, 'proposed');
      await a.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      await waitFor(a, (s) => s.status === 'approved' && applied.some((x) => x.planId === 'plan-replaced-old'), 'step 0 written');
      const b = await startPlan(taskQueue, networkId, 'plan-replaced-new', { timing: { stepIntervalMs: 60_000 } });
      await waitForStatus(b, 'proposed');
      await b.executeUpdate(approvePlanUpdate, { args: [{ userName: 'li', role: 'dispatcher' }] });
      const old = await a.result();
      const newer = await b.query(dispatchStateQuery);
      await b.terminate('test done');
      return { old, newer, history: await a.fetchHistory() };
    });
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'plan-replaced-old');
    assert.equal(old.status, 'replaced');
    assert.equal(old.replacedBy, 'plan-replaced-new');
    assert.deepEqual(applied.filter((x) => x.planId === 'plan-replaced-old').map((x) => x.stepIndex), [0], 'the old plan wrote nothing after the newer one went live');
    assert.deepEqual(handBacks.filter((h) => h.planId === 'plan-replaced-old'), [], 'no hand-back over the newer plan');
    assert.deepEqual(old.handedBack, []);
    assert.equal(old.steps?.[0]?.retries, 0);
    const skipped = records.find((r) => r.planId === 'plan-replaced-old' && r.status === 'hand-back-skipped');
    assert.match(skipped?.detail ?? '', /^W2: .*not handed back: replaced by plan-replaced-new/);
    assert.equal(newer.status, 'dispatched');
  } finally {
    failingStations.clear();
  }
});

// Each file is named after the workflow id it was recorded under (child ids derive from it).
test('recorded histories replay on the current workflow code (determinism), and a changed history does not', async () => {
  const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json')).sort();
  const expected = [
    'dispatch-cycle-approve.json', // legacy cycle that held its own plan (replays through the patched() branch)
    'dispatch-cycle-test-approve.json',
    'plan-dispatch-cycle-test-approve.json', // recorded before the no-timer-when-due marker
    'plan-expire-unanswered.json',
    'plan-modify.json',
    // Recorded on the code before the step-failure-guards marker (replay through its unpatched branch): a
    // station retry that gave up failed the plan; a plan replaced during its retries went on retrying and
    // handed the station back over its replacement.
    'plan-retry-fails-v0.json',
    'plan-replaced-v0.json',
    // Recorded on the code before the link-write-retry marker: a transfer write that failed was not retried.
    'plan-link-down-v0.json',
    'flood-season-pinghu-reference.json', // recorded by flood-typhoon.test.ts
    'plan-flood-pinghu-reference-2026-e1-r1.json',
    'flood-season-pinghu-reference-escalation.json', // recorded by flood-escalation.test.ts
    'baseline-run-test.json', // recorded by baseline-workflow.test.ts
    // Recorded on the code before the catch-up-latest-step marker: a late approval applied every due step in turn.
    'plan-catch-up-v0.json',
    // Recorded by flood-season-faults.test.ts on the code before the flood-unknown-assessment, replan-after-expiry,
    // flood-activity-guards, stand-down-first and notify-on-auto-approval markers (each fails to replay without its guard).
    'flood-season-faults-forecast-outage-v0.json',
    'flood-season-faults-expiry-replan-v0.json',
    'flood-season-faults-influx-down-v0.json',
    'flood-season-faults-stand-down-race-v0.json',
    'flood-season-faults-replaced-v0.json',
    // Recorded on the code before the replan-only-on-rise marker: each lower level after onset proposed a new plan.
    'flood-season-faults-tail-v0.json',
    // Recorded by dispatch-plan-faults.test.ts before the notify-outcome and telemetry-best-effort markers, and
    // an approval accepted after a supersede (replays: the validator and the handler's status write no command).
    'plan-notify-undelivered-v0.json',
    'plan-escalation-unnotified-v0.json',
    'dispatch-cycle-telemetry-down-v0.json',
    'plan-superseded-race-v0.json',
    // Recorded by autonomy-bounds.test.ts before the autonomy-reference-guards marker, and one after it.
    'plan-autonomy-ratchet-v0.json',
    'plan-autonomy-tank-v0.json',
    'plan-autonomy-ended-v0.json',
    'plan-autonomy-failed-v0.json',
    'plan-autonomy-ratchet.json',
  ];
  for (const file of expected) assert.ok(files.includes(file), `missing recorded history ${file} (record with RECORD_HISTORIES=1)`);
  for (const file of files) {
    const history: unknown = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file.replace(/\.json$/, ''));
  }
  // The guard works: the plan's history with one step's write renamed no longer matches the code.
  const tampered = JSON.parse(readFileSync(path.join(historiesDir, 'plan-dispatch-cycle-test-approve.json'), 'utf8')) as { events: { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } }[] };
  const write = tampered.events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'applyPlanStep')!;
  write.activityTaskScheduledEventAttributes!.activityType!.name = 'applyPlanStepV0';
  await assert.rejects(Worker.runReplayHistory({ workflowBundle: bundle }, tampered, 'plan-dispatch-cycle-test-approve'), (error: Error) => {
    assert.match(`${error.name} ${error.message}`, /Determinism|nondetermin/i);
    return true;
  });
});
