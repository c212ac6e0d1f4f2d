// One dispatch cycle, started by the Schedule: gather state and forecast, run the planner, and hand the
// proposed plan to its own workflow (`plan-<this id>`, dispatchPlan), which waits for the decision and
// applies it step by step. The cycle itself ends at once, so the Schedule's overlap policy (skip) only
// guards planning: a cycle never blocks the next one while its plan waits for approval or is dispatched,
// and the next cycle's proposal can supersede it (through the network's coordinator).
//
// Versioning: cycles recorded before the hand-over (test/histories/dispatch-cycle-approve.json) held their
// plan themselves; `patched('plan-workflow-handover')` keeps them replaying on the legacy branch below.
import { ApplicationFailure, ParentClosePolicy, condition, log, patched, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { DispatchActivities } from '../activities/dispatch.js';
import {
  approvePlanUpdate,
  autonomyConfig,
  decidingRoles,
  dispatchStateQuery,
  planWorkflowIdOfCycle,
  rejectPlanUpdate,
  type Decision,
  type DecisionInput,
  type DispatchCycleInput,
  type DispatchCycleState,
  type DispatchPlanInput,
} from '../contract/index.js';
import { activityErrorText, ensureCoordinator } from './common.js';
import { dispatchPlan } from './dispatch-plan.js';

/**
 * Version marker: a telemetry write that fails (InfluxDB, the historian, down) no longer fails the cycle: it is
 * logged and the plan says so in its assumptions; before, no plan was made until InfluxDB was back.
 */
export const TELEMETRY_BEST_EFFORT = 'telemetry-best-effort';


const io = proxyActivities<DispatchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['EnvelopeViolation', 'InvalidPlanStep'] },
});

// The forecast is optional for a plan: one short try set, then plan on what we have and say so.
const forecastIo = proxyActivities<DispatchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
});

export async function dispatchCycle(input: DispatchCycleInput): Promise<DispatchCycleState> {
  if (!patched('plan-workflow-handover')) return legacyDispatchCycle(input);
  const planId = planWorkflowIdOfCycle(workflowInfo().workflowId);
  const state: DispatchCycleState = { status: 'gathering', planId, planWorkflowId: planId };
  setHandler(dispatchStateQuery, () => state);

  const snapshot = await io.readNetworkState();
  // The historian is not needed to plan: a storm, when InfluxDB is most likely overloaded, must still get plans.
  let telemetryError: string | undefined;
  try {
    await io.writeTelemetry(snapshot);
  } catch (error) {
    if (!patched(TELEMETRY_BEST_EFFORT)) throw error;
    telemetryError = activityErrorText(error);
    log.warn('telemetry not written; planning without it', { planId, error: telemetryError });
  }
  let forecast = null;
  try {
    forecast = await forecastIo.fetchRainForecast();
  } catch (error) {
    log.warn('rain forecast unavailable; planning without it', { error: String(error) });
  }
  const built = await io.buildPlan({ planId, snapshot, forecast });
  const plan = telemetryError
    ? {
        ...built,
        assumptions: [
          ...(built.assumptions ?? []),
          {
            zh: `本周期SCADA读数未写入历史库（${telemetryError}）：计划照常生成，趋势图缺少本周期数据。`,
            en: `This cycle's SCADA readings were not written to the historian (${telemetryError}): planned as usual; the trends miss this cycle.`,
          },
        ],
      }
    : built;

  await ensureCoordinator(input.networkId);
  const planInput: DispatchPlanInput = {
    networkId: input.networkId,
    kind: 'cycle',
    plan,
    snapshot,
    forecast,
    approval: { approvalTimeoutMin: input.approvalTimeoutMin, escalateAfterMin: input.escalateAfterMin ?? input.approvalTimeoutMin / 2 },
    autonomy: autonomyConfig(input.autonomy),
    requiredRole: 'dispatcher',
    ...(input.timing ? { timing: input.timing } : {}),
    ...(input.clock ? { clock: input.clock } : {}),
    proposedBy: workflowInfo().workflowId,
  };
  // The plan outlives this cycle (ABANDON); its id is the plan id the API and the dispatcher use.
  await startChild(dispatchPlan, { workflowId: planId, args: [planInput], parentClosePolicy: ParentClosePolicy.ABANDON });
  state.status = 'proposed';
  return state;
}

// --- Legacy (before the hand-over): kept only so recorded and running old cycles replay unchanged. ---

function validateDecision(state: DispatchCycleState, input: DecisionInput): void {
  if (state.status !== 'proposed') throw new Error(`plan ${state.planId} is ${state.status}; only a proposed plan can be decided`);
  if (!input.userName) throw new Error('a decision needs the user who made it');
  if (!decidingRoles.includes(input.role)) throw new Error(`role ${input.role} may not decide on plans`);
}

async function legacyDispatchCycle(input: DispatchCycleInput): Promise<DispatchCycleState> {
  const planId = `plan-${workflowInfo().workflowId}`;
  const state: DispatchCycleState = { status: 'gathering', planId };

  setHandler(dispatchStateQuery, () => state);
  const decide = (kind: Decision['kind']) => (decision: DecisionInput) => {
    state.decision = { ...decision, kind, decidedAtUtcMs: Date.now() };
    state.status = kind === 'approve' ? 'approved' : 'rejected';
    return state;
  };
  setHandler(approvePlanUpdate, decide('approve'), { validator: (d: DecisionInput) => validateDecision(state, d) });
  setHandler(rejectPlanUpdate, decide('reject'), { validator: (d: DecisionInput) => validateDecision(state, d) });

  const snapshot = await io.readNetworkState();
  state.snapshot = snapshot;
  await io.writeTelemetry(snapshot);

  let forecast = null;
  try {
    forecast = await forecastIo.fetchRainForecast();
  } catch (error) {
    log.warn('rain forecast unavailable; planning without it', { error: String(error) });
  }

  state.plan = await io.buildPlan({ planId, snapshot, forecast });
  state.status = 'proposed';

  const decided = await condition(() => state.decision !== undefined, input.approvalTimeoutMin * 60_000);
  if (!decided) {
    state.status = 'expired';
    await io.recordOutcome({ planId, status: 'expired', decidedBy: null, outcome: null });
    return state;
  }
  const decision = state.decision!;
  if (decision.kind === 'reject') {
    await io.recordOutcome({ planId, status: 'rejected', decidedBy: decision.userName, outcome: null });
    return state;
  }

  try {
    state.outcome = await io.applyPlanStep({ planId, plan: state.plan, stepIndex: 0, heartbeat: Math.floor(Date.now() / 1000) });
    state.status = state.outcome.failed === 0 ? 'dispatched' : 'dispatch-failed';
  } catch (error) {
    state.status = 'dispatch-failed';
    state.error = error instanceof ApplicationFailure ? error.message : String(error);
  }
  await io.recordOutcome({ planId, status: state.status, decidedBy: decision.userName, outcome: state.outcome ?? null });
  return state;
}
