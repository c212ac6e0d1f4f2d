// One dispatch cycle: gather state and forecast, propose a plan, wait for a dispatcher's decision,
// apply the approved first step to SCADA and record the outcome. Orchestration only: all I/O is in
// activities, so the workflow's history is the audit trail of the process.
import { ApplicationFailure, condition, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { DispatchActivities } from '../activities/dispatch.js';
import {
  approvePlanUpdate,
  decidingRoles,
  dispatchStateQuery,
  rejectPlanUpdate,
  type Decision,
  type DecisionInput,
  type DispatchCycleInput,
  type DispatchCycleState,
} from '../contract/index.js';

const io = proxyActivities<DispatchActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['EnvelopeViolation', 'InvalidPlanStep'] },
});

// The forecast is optional for a plan: one short try set, then plan on what we have and say so.
const forecastIo = proxyActivities<DispatchActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '2 seconds', maximumAttempts: 3 },
});

function validateDecision(state: DispatchCycleState, input: DecisionInput): void {
  if (state.status !== 'proposed') throw new Error(`plan ${state.planId} is ${state.status}; only a proposed plan can be decided`);
  if (!input.userName) throw new Error('a decision needs the user who made it');
  if (!decidingRoles.includes(input.role)) throw new Error(`role ${input.role} may not decide on plans`);
}

export async function dispatchCycle(input: DispatchCycleInput): Promise<DispatchCycleState> {
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
    state.outcome = await io.applyPlanStep({ plan: state.plan, stepIndex: 0, heartbeat: Math.floor(Date.now() / 1000) });
    state.status = state.outcome.failed === 0 ? 'dispatched' : 'dispatch-failed';
  } catch (error) {
    state.status = 'dispatch-failed';
    state.error = error instanceof ApplicationFailure ? error.message : String(error);
  }
  await io.recordOutcome({ planId, status: state.status, decidedBy: decision.userName, outcome: state.outcome ?? null });
  return state;
}
