// The dispatch-cycle workflow on a real Temporal dev server with stub activities: decisions through
// Updates (validators refuse bad ones), the approval timeout, and replay of recorded histories.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { approvePlanUpdate, dispatchStateQuery, rejectPlanUpdate, type DispatchCycleState, type DispatchOutcome } from '../../contract/index.js';
import type { DispatchActivities } from '../../activities/dispatch.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { temporalTestEnvironmentOptions } from '../support/servers.js';
import { dispatchCycle } from '../../workflows/index.js';

const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'histories');
const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const calls: string[] = [];

const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: 1_780_000_000_000, readings: [], badTagCount: 0, stations: [] };
const stubActivities: DispatchActivities = {
  readNetworkState: () => { calls.push('read'); return Promise.resolve(snapshot); },
  writeTelemetry: () => { calls.push('telemetry'); return Promise.resolve(0); },
  fetchRainForecast: () => { calls.push('forecast'); return Promise.reject(new Error('forecast server down')); },
  buildPlan: (input) => { calls.push('plan'); return Promise.resolve(ruleBasedPlan({ planId: input.planId, network, snapshot, forecast: input.forecast, nowUtcMs: snapshot.readAtUtcMs })); },
  applyPlanStep: (input): Promise<DispatchOutcome> => {
    calls.push(`apply:${input.stepIndex}`);
    return Promise.resolve({ planId: input.plan.planId, stepIndex: input.stepIndex, appliedAtUtcMs: 0, writes: [], verified: 6, skipped: 0, failed: 0 });
  },
  recordOutcome: (input) => { calls.push(`record:${input.status}`); return Promise.resolve(1); },
};

before(async () => {
  env = await TestWorkflowEnvironment.createLocal(await temporalTestEnvironmentOptions());
  bundle = await bundleWorkflows();
});
after(async () => {
  await env?.teardown();
});

async function runWithWorker<T>(taskQueue: string, fn: () => Promise<T>): Promise<T> {
  const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stubActivities });
  return worker.runUntil(fn);
}

async function waitForStatus(handle: WorkflowHandle<typeof dispatchCycle>, status: DispatchCycleState['status']) {
  for (let i = 0; i < 100; i++) {
    const state = await handle.query(dispatchStateQuery);
    if (state.status === status) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`workflow never reached ${status}`);
}

test('approve: validators refuse a viewer, the plan is applied once, a second decision is refused', async () => {
  calls.length = 0;
  const taskQueue = 'test-approve';
  const history = await runWithWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start(dispatchCycle, { taskQueue, workflowId: 'dispatch-cycle-test-approve', args: [{ networkId: network.id, approvalTimeoutMin: 10 }] });
    const proposed = await waitForStatus(handle, 'proposed');
    assert.equal(proposed.plan?.basis.forecastSource, 'none', 'planned without the forecast that failed');
    await assert.rejects(handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'li', role: 'viewer' }] }), (error: unknown) => {
      assert.ok(error instanceof WorkflowUpdateFailedError);
      assert.match(String(error.cause?.message), /role viewer may not decide/);
      return true;
    });
    const approved = await handle.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', comment: '同意' }] });
    assert.equal(approved.status, 'approved');
    const result = await handle.result();
    assert.equal(result.status, 'dispatched');
    assert.equal(result.decision?.userName, 'wang');
    await assert.rejects(handle.executeUpdate(rejectPlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }));
    return handle.fetchHistory();
  });
  assert.deepEqual(calls, ['read', 'telemetry', 'forecast', 'forecast', 'forecast', 'plan', 'apply:0', 'record:dispatched']);
  if (process.env['RECORD_HISTORIES'] === '1') writeFileSync(path.join(historiesDir, 'dispatch-cycle-approve.json'), historyToJSON(history));
});

test('an unanswered plan expires and nothing is applied', async () => {
  calls.length = 0;
  const taskQueue = 'test-expire';
  const result = await runWithWorker(taskQueue, async () => {
    const handle = await env.client.workflow.start(dispatchCycle, { taskQueue, workflowId: 'dispatch-cycle-test-expire', args: [{ networkId: network.id, approvalTimeoutMin: 0.05 }] });
    return handle.result();
  });
  assert.equal(result.status, 'expired');
  assert.ok(!calls.some((c) => c.startsWith('apply')), calls.join(','));
  assert.equal(calls.at(-1), 'record:expired');
});

test('recorded histories replay on the current workflow code (determinism)', async () => {
  const files = readdirSync(historiesDir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length > 0, 'no recorded histories to replay');
  for (const file of files) {
    const history: unknown = JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, file);
  }
});
