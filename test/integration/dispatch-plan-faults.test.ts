// The everyday dispatch path when things around it fail, on a real Temporal dev server with stub activities:
// messages that reach nobody (delivered:false, or the notifier throws) are kept and recorded; a plan superseded
// or past its deadline while its workflow waits on an activity cannot be approved any more; a cycle plans on
// when the telemetry write (InfluxDB) fails. Histories recorded here on the code before each marker
// (`RECORD_HISTORIES=1 HISTORY_SUFFIX=-v0`) are replayed by dispatch-workflow.test.ts with the others.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import {
  approvePlanUpdate,
  autonomyConfig,
  coordinatorWorkflowId,
  dispatchStateQuery,
  planWorkflowIdOfCycle,
  supersedePlanSignal,
  type DispatchCycleState,
  type DispatchOutcome,
  type DispatchPlanInput,
  type SetpointWriteResult,
} from '../../contract/index.js';
import type { DispatchActivities } from '../../activities/dispatch.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { DeliveryReport, Notification } from '../../notify/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan } from '../../planner/types.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { temporalTestEnvironmentOptions } from '../support/servers.js';
import { dispatchCoordinator, dispatchCycle, dispatchPlan } from '../../workflows/index.js';
import { historiesDir, portableHistory, recording } from '../support/histories.js';
import { waitForDispatchState } from '../support/dispatch-state.js';

/** Recorded histories are named after their workflow id; a v0 recording carries the suffix in both. */
const suffix = recording ? (process.env['HISTORY_SUFFIX'] ?? '') : '';
const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: 1_780_000_000_000, readings: [], badTagCount: 0, stations: [] };
const shortPlan = (planId: string): Plan => {
  const plan = ruleBasedPlan({ planId, network, snapshot, forecast: null, nowUtcMs: snapshot.readAtUtcMs });
  return { ...plan, steps: plan.steps.slice(0, 3) };
};

const calls: string[] = [];
const records: Parameters<DispatchActivities['recordOutcome']>[0][] = [];
const notifications: Notification[] = [];
const failingStations = new Set<string>();
/** How the stub notifier answers: delivered, a webhook without a destination for the audience, or a throw. */
let notifyMode: 'ok' | 'undelivered' | 'throw' = 'ok';
/** A slow message (webhook slow or retrying): the plan workflow waits on the activity meanwhile. */
let notifyDelayMs = 0;
let telemetryDown = false;

const stub: DispatchActivities = {
  readNetworkState: () => Promise.resolve(snapshot),
  writeTelemetry: () => {
    calls.push('telemetry');
    // Non-retryable only to keep the test short (a real ECONNREFUSED is retried 5 times first).
    if (telemetryDown) return Promise.reject(ApplicationFailure.create({ message: 'InfluxDB unreachable: connect ECONNREFUSED', type: 'InfluxDown', nonRetryable: true }));
    return Promise.resolve(0);
  },
  fetchRainForecast: () => Promise.reject(new Error('no forecast in this test')),
  buildPlan: (input) => {
    calls.push('plan');
    return Promise.resolve(shortPlan(input.planId));
  },
  applyPlanStep: (input): Promise<DispatchOutcome> => {
    calls.push(`apply:${input.planId}:${input.stepIndex}`);
    const stations = (input.step?.stations ?? []).filter((s) => (!input.onlyStations || input.onlyStations.includes(s.stationId)) && !input.skipStations?.includes(s.stationId));
    const writes: SetpointWriteResult[] = stations.map((s) => ({ objectId: s.stationId, tag: 'startLevelSpM', nodeId: `ns=1;s=${s.stationId}.startLevelSpM`, value: s.startLevelM, readBack: s.startLevelM, status: failingStations.has(s.stationId) ? 'failed' : 'verified' }));
    const failed = writes.filter((w) => w.status === 'failed').length;
    return Promise.resolve({ planId: input.planId!, stepIndex: input.stepIndex, appliedAtUtcMs: 0, writes, verified: writes.length - failed, skipped: 0, failed });
  },
  handBackToLocal: (input) => Promise.resolve(input.stationIds.map((stationId) => ({ stationId, atUtcMs: 0, stepIndex: input.stepIndex, reason: input.reason, written: true }))),
  recordOutcome: (input) => {
    records.push(input);
    return Promise.resolve(1);
  },
  notify: async (n): Promise<DeliveryReport[]> => {
    notifications.push(n);
    if (notifyDelayMs > 0) await new Promise((r) => setTimeout(r, notifyDelayMs));
    if (notifyMode === 'throw') throw ApplicationFailure.create({ message: 'webhook qyapi.weixin.qq.com unreachable', type: 'WebhookError', nonRetryable: true });
    const webhook: DeliveryReport = notifyMode === 'ok' ? { channel: 'webhook:wecom', audience: n.audience, delivered: true } : { channel: 'webhook:wecom', audience: n.audience, delivered: false, detail: `no webhook configured for ${n.audience}` };
    return [{ channel: 'log', audience: n.audience, delivered: true }, webhook];
  },
};

before(async () => {
  [env, bundle] = await Promise.all([TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions()), bundleWorkflows()]);
});
after(async () => {
  await env?.teardown();
});

const run = async <T>(taskQueue: string, fn: () => Promise<T>): Promise<T> => (await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stub })).runUntil(fn);

const waitFor = (handle: WorkflowHandle, ok: (s: DispatchCycleState) => boolean, what: string): Promise<DispatchCycleState> => waitForDispatchState(handle, what, ok, 20_000);

const planInput = (networkId: string, plan: Plan, overrides: Partial<DispatchPlanInput> = {}): DispatchPlanInput => ({
  networkId,
  kind: 'cycle',
  plan,
  snapshot,
  forecast: null,
  approval: { escalateAfterMin: 5, approvalTimeoutMin: 10 },
  autonomy: autonomyConfig(undefined),
  requiredRole: 'dispatcher',
  timing: { stepIntervalMs: 300, contextWaitMs: 5_000, stationRetryBaseMs: 50 },
  ...overrides,
});

async function startPlan(taskQueue: string, networkId: string, planId: string, overrides: Partial<DispatchPlanInput> = {}) {
  await env.client.workflow.start(dispatchCoordinator, { taskQueue, workflowId: coordinatorWorkflowId(networkId), args: [{ networkId }] });
  return env.client.workflow.start(dispatchPlan, { taskQueue, workflowId: planId, args: [planInput(networkId, shortPlan(planId), overrides)] });
}

/** The decision's outcome: the status it left, or the validator's refusal text. */
const approve = (handle: WorkflowHandle) =>
  handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }).then(
    (s) => `accepted: ${s.status}`,
    (error: unknown) => (error instanceof WorkflowUpdateFailedError ? `refused: ${String(error.cause?.message)}` : `error: ${String(error)}`),
  );

const mine = (planId: string) => records.filter((r) => r.planId === planId);

test('a hand-back alarm that reaches nobody (no webhook for the dispatchers) is kept in notificationFailures and recorded notification-failed', async () => {
  const planId = `plan-notify-undelivered${suffix}`;
  records.length = 0;
  notifyMode = 'undelivered';
  failingStations.add('W2');
  try {
    const { result, history } = await run('faults-undelivered', async () => {
      const handle = await startPlan('faults-undelivered', 'net-undelivered', planId);
      await waitFor(handle, (s) => s.status === 'proposed', 'proposed');
      await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] });
      return { result: await handle.result(), history: await handle.fetchHistory() };
    });
    if (recording) writeFileSync(path.join(historiesDir, `${planId}.json`), portableHistory(history));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, planId);
    assert.equal(result.status, 'completed');
    assert.deepEqual(
      result.notificationFailures?.map((f) => [f.key, f.audience]),
      [[`${planId}:step-1:hand-back`, 'dispatcher']],
    );
    assert.match(result.notificationFailures?.[0]?.error ?? '', /webhook:wecom: no webhook configured for dispatcher/);
    assert.deepEqual(mine(planId).map((r) => r.status), ['notification-failed', 'handed-back', 'dispatched', 'step-applied', 'step-applied', 'completed']);
    assert.match(mine(planId)[0]?.detail ?? '', /^调度员未收到 \/ dispatcher NOT told: .*Stations handed back.*no webhook configured for dispatcher/);
  } finally {
    notifyMode = 'ok';
    failingStations.clear();
  }
});

test('an escalation that could not be sent is recorded as such, never as "notified the supervisor"; the expiry notice too', async () => {
  const planId = `plan-escalation-unnotified${suffix}`;
  records.length = 0;
  notifyMode = 'throw';
  try {
    const { result, history } = await run('faults-unnotified', async () => {
      const handle = await startPlan('faults-unnotified', 'net-unnotified', planId, { approval: { escalateAfterMin: 0.02, approvalTimeoutMin: 0.05 } });
      return { result: await handle.result(), history: await handle.fetchHistory() };
    });
    if (recording) writeFileSync(path.join(historiesDir, `${planId}.json`), portableHistory(history));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, planId);
    assert.equal(result.status, 'expired');
    assert.deepEqual(result.notificationFailures?.map((f) => f.key), [`${planId}:escalation`, `${planId}:expired`]);
    assert.deepEqual(mine(planId).map((r) => r.status), ['notification-failed', 'escalated', 'expired', 'notification-failed']);
    const escalated = mine(planId).find((r) => r.status === 'escalated')!;
    assert.match(escalated.detail ?? '', /could NOT be notified/);
    assert.doesNotMatch(escalated.detail ?? '', /^notified/);
    assert.match(mine(planId)[0]?.detail ?? '', /主管未收到 \/ supervisor NOT told: .*webhook qyapi\.weixin\.qq\.com unreachable/);
  } finally {
    notifyMode = 'ok';
  }
});

test('the escalation message names the role in Chinese and the deadline in local time (UTC+8)', async () => {
  notifications.length = 0;
  const planId = 'plan-escalation-text';
  const result = await run('faults-text', async () => {
    const handle = await startPlan('faults-text', 'net-text', planId, { approval: { escalateAfterMin: 0.02, approvalTimeoutMin: 0.05 } });
    return handle.result();
  });
  const escalation = notifications.find((n) => n.key === `${planId}:escalation`);
  const local = new Date(result.deadlineUtcMs! + 8 * 3_600_000).toISOString().slice(11, 16);
  const [zh, en] = (escalation?.text ?? '').split('\n\n');
  assert.match(zh ?? '', new RegExp(`等待调度员审批，将于 ${local} \\(UTC\\+8\\) 失效`));
  assert.doesNotMatch(zh ?? '', /dispatcher|Z\b|T\d\d:/, 'no English role and no ISO UTC time in the Chinese sentence');
  assert.match(en ?? '', new RegExp(`awaits a dispatcher's decision; it expires at ${local} \\(UTC\\+8\\)`));
});

test('a plan superseded while its workflow waits on an activity shows superseded at once and cannot be approved; nothing is written', async () => {
  const planId = `plan-superseded-race${suffix}`;
  records.length = 0;
  calls.length = 0;
  notifyDelayMs = 4_000;
  try {
    const { statusAfterSignal, decision, result, history } = await run('faults-race', async () => {
      // Escalation after 1.2 s; its message then takes 4 s, during which the plan is superseded.
      const handle = await startPlan('faults-race', 'net-race', planId, { approval: { escalateAfterMin: 0.02, approvalTimeoutMin: 1 } });
      await waitFor(handle, (s) => s.escalatedAtUtcMs !== undefined, 'escalating');
      await handle.signal(supersedePlanSignal, { byPlanId: 'plan-superseded-race-newer', reason: 'newer-proposal' });
      const statusAfterSignal = (await handle.query(dispatchStateQuery)).status;
      const decision = await approve(handle);
      return { statusAfterSignal, decision, result: await handle.result(), history: await handle.fetchHistory() };
    });
    if (recording) writeFileSync(path.join(historiesDir, `${planId}.json`), portableHistory(history));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, planId);
    assert.equal(statusAfterSignal, 'superseded', 'the console stops offering approve at once');
    assert.match(decision, /^refused: 计划 plan-superseded-race\S* 已被 plan-superseded-race-newer 取代.* \/ plan \S+ was superseded by plan-superseded-race-newer/);
    assert.equal(result.status, 'superseded');
    assert.deepEqual(calls.filter((c) => c.startsWith('apply')), [], 'nothing written');
    assert.deepEqual(mine(planId).map((r) => r.status), ['escalated', 'superseded']);
  } finally {
    notifyDelayMs = 0;
  }
});

test('a plan past its deadline cannot be approved while its workflow still waits on an activity', async () => {
  const planId = 'plan-past-deadline';
  records.length = 0;
  calls.length = 0;
  notifyDelayMs = 6_000;
  try {
    const { lateByMs, decision, result } = await run('faults-late', async () => {
      // Escalation after 1.2 s, deadline at 3 s; the escalation message takes 6 s.
      const handle = await startPlan('faults-late', 'net-late', planId, { approval: { escalateAfterMin: 0.02, approvalTimeoutMin: 0.05 } });
      const escalating = await waitFor(handle, (s) => s.escalatedAtUtcMs !== undefined, 'escalating');
      await new Promise((r) => setTimeout(r, Math.max(0, escalating.deadlineUtcMs! - Date.now()) + 500));
      const lateByMs = Date.now() - escalating.deadlineUtcMs!;
      const decision = await approve(handle);
      return { lateByMs, decision, result: await handle.result() };
    });
    assert.ok(lateByMs > 0);
    assert.match(decision, /^refused: 计划 plan-past-deadline 已于 \d\d:\d\d \(UTC\+8\) 失效.* \/ plan plan-past-deadline expired at \d\d:\d\d \(UTC\+8\)/);
    assert.equal(result.status, 'expired');
    assert.deepEqual(calls.filter((c) => c.startsWith('apply')), [], 'nothing written');
  } finally {
    notifyDelayMs = 0;
  }
});

test('a cycle whose telemetry write fails (InfluxDB down) still plans and hands the plan over, saying so in its assumptions', async () => {
  const cycleId = `dispatch-cycle-telemetry-down${suffix}`;
  calls.length = 0;
  telemetryDown = true;
  try {
    const { outcome, plan, history } = await run('faults-telemetry', async () => {
      const cycle = await env.client.workflow.start(dispatchCycle, { taskQueue: 'faults-telemetry', workflowId: cycleId, args: [{ networkId: 'net-telemetry', approvalTimeoutMin: 10 }] });
      const outcome = await cycle.result().then(
        (s) => s.status,
        (error: unknown) => `failed: ${String((error as Error & { cause?: Error }).cause?.message ?? error)}`,
      );
      let plan: DispatchCycleState | undefined;
      if (outcome === 'proposed') {
        const planHandle = env.client.workflow.getHandle(planWorkflowIdOfCycle(cycleId));
        plan = await waitFor(planHandle, (s) => s.status === 'proposed', 'proposed');
        await planHandle.terminate('test done');
      }
      return { outcome, plan, history: await cycle.fetchHistory() };
    });
    if (recording) writeFileSync(path.join(historiesDir, `${cycleId}.json`), portableHistory(history));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, cycleId);
    assert.equal(outcome, 'proposed');
    assert.deepEqual(calls, ['telemetry', 'plan'], 'tried once (non-retryable here), then planned');
    const note = plan?.plan?.assumptions?.find((a) => a.en.includes('historian'));
    assert.match(note?.en ?? '', /not written to the historian \(InfluxDB unreachable: connect ECONNREFUSED\)/);
    assert.match(note?.zh ?? '', /未写入历史库/);
  } finally {
    telemetryDown = false;
  }
});
