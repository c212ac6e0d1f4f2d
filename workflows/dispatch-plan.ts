// One plan from proposal to its last step: wait for a decision (approve, reject with a reason, modify and
// re-plan) or decide under the network's autonomy setting; escalate an unanswered plan to the supervisor
// and let it expire without any change; then, once approved, apply it step by step on workflow timers.
// Orchestration only: every write, read and message is an activity, so the history is the plan's audit trail.
import { ApplicationFailure, CancellationScope, allHandlersFinished, condition, isCancellation, log, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { DispatchActivities } from '../activities/dispatch.js';
import {
  approvePlanUpdate,
  coordinatorWorkflowId,
  decidingRoles,
  dispatchContextSignal,
  EMERGENCY_REPLACE_ROLE,
  EMERGENCY_REPLACE_UNCONFIRMED,
  dispatchStateQuery,
  emergencyPlanEndedSignal,
  mergeConstraints,
  modifyPlanUpdate,
  planClosedSignal,
  planLiveSignal,
  planProposedSignal,
  rejectPlanUpdate,
  roleAtLeast,
  supersedePlanSignal,
  type DecisionInput,
  type DispatchContext,
  type DispatchCycleState,
  type DispatchOutcome,
  type DispatchPlanInput,
  type ModifyInput,
  type PlanConstraints,
  type Role,
  type SetpointWriteResult,
} from '../contract/index.js';
import { roleNames } from '../flood/types.js';
import type { Notification } from '../notify/types.js';
import { withinBounds } from './autonomy.js';
import { NO_TIMER_WHEN_DUE, NOTIFICATION_FAILURES_KEPT, activityErrorText as errorText, tell, undeliveredText, workflowClock } from './common.js';
import { localTimeText } from './local-time.js';

const defaults = { stationRetryBaseMs: 5_000, stationRetryAttempts: 3, applyHeartbeatTimeoutMs: 20_000, contextWaitMs: 10_000 };

/**
 * Version marker: a station retry that fails (SCADA away for all its attempts) no longer fails the plan — the
 * stations are handed back, recorded and alarmed; and a plan replaced by a newer one (or cancelled) during its
 * retries or hand-back stops writing. Histories recorded before it keep the old command sequence.
 */
export const STEP_FAILURE_GUARDS = 'step-failure-guards';

/**
 * Version marker: interconnection transfer and tank setpoints whose writes failed are retried like a station's
 * (transfers and tanks only), and if they still fail an alarm goes out and the step records it; before, the
 * step counted them failed and went on silently, the old value still in force at SCADA.
 */
export const LINK_WRITE_RETRY = 'link-write-retry';

/**
 * Version marker: when several steps are due at once (a late approval, a worker back after an outage), only
 * the latest due step is applied, and its values are limited to the envelope's rate from what SCADA holds
 * (one step's spacing of change); before, every due step was written in order within a fraction of a second.
 */
export const CATCH_UP_LATEST_STEP = 'catch-up-latest-step';

/**
 * Version marker: a cycle plan in a pre-approved playbook mode is not auto-approved under emergency-auto
 * while an emergency plan is in force (it waits for the coordinator's context first); and an emergency plan
 * tells the workflow that proposed it (the flood season) how it ended, so the season knows when it was replaced.
 */
export const NO_AUTO_OVER_EMERGENCY = 'no-auto-over-emergency';

/**
 * Version marker: a message that throws or comes back `delivered: false` on a channel other than the log is
 * kept in `notificationFailures` and recorded `notification-failed` (one more activity), and the escalation is
 * recorded with its outcome; before, the plan went on as if everyone had been told.
 */
export const NOTIFY_OUTCOME = 'notify-outcome';

const io = proxyActivities<DispatchActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['InvalidConstraint'] },
});
// Messages: a few tries, then the workflow goes on (the history and the log still hold the event).
const notifyIo = proxyActivities<DispatchActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 4 } });

const nextRoleUp = (role: Role): 'supervisor' | 'admin' => (role === 'dispatcher' || role === 'viewer' ? 'supervisor' : 'admin');
/** The plan in force is an emergency plan (the coordinator's live plan, or else its last approved one while live). */
const emergencyInForce = (c: DispatchContext) =>
  c.liveKind !== undefined ? c.liveKind === 'emergency' : c.livePlanId !== null && c.lastApproved?.planId === c.livePlanId && c.lastApproved.kind === 'emergency';

function constraintShapeProblems(c: PlanConstraints, stationIds: Set<string>, linkIds: Set<string>): string[] {
  const problems: string[] = [];
  const count = (c.stationBands?.length ?? 0) + (c.lockedStations?.length ?? 0) + (c.transferCaps?.length ?? 0);
  if (count === 0) problems.push('a modification needs at least one band, lock or cap');
  for (const b of c.stationBands ?? []) {
    if (!stationIds.has(b.stationId)) problems.push(`unknown station ${b.stationId}`);
    if (b.minLevelM === undefined && b.maxLevelM === undefined) problems.push(`band of ${b.stationId} needs minLevelM and/or maxLevelM`);
    for (const v of [b.minLevelM, b.maxLevelM]) if (v !== undefined && !Number.isFinite(v)) problems.push(`band of ${b.stationId}: ${String(v)} is not a number`);
    if (b.minLevelM !== undefined && b.maxLevelM !== undefined && b.minLevelM > b.maxLevelM) problems.push(`band of ${b.stationId}: min above max`);
  }
  for (const id of c.lockedStations ?? []) if (!stationIds.has(id)) problems.push(`unknown station ${id}`);
  for (const cap of c.transferCaps ?? []) {
    if (!linkIds.has(cap.interconnectionId)) problems.push(`unknown interconnection ${cap.interconnectionId}`);
    if (!(Number.isFinite(cap.maxAbsM3h) && cap.maxAbsM3h >= 0)) problems.push(`cap of ${cap.interconnectionId} must be a number ≥ 0`);
  }
  return problems;
}

export async function dispatchPlan(input: DispatchPlanInput): Promise<DispatchCycleState> {
  const workflowId = workflowInfo().workflowId;
  const clock = workflowClock(input.clock);
  const timing = { ...defaults, ...input.timing };
  const planId = input.plan.planId;
  const coordinator = coordinatorWorkflowId(input.networkId);
  const ref = { workflowId, planId, kind: input.kind };
  const applyIo = proxyActivities<DispatchActivities>({
    startToCloseTimeout: '1 minute',
    heartbeatTimeout: timing.applyHeartbeatTimeoutMs,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5, nonRetryableErrorTypes: ['EnvelopeViolation', 'InvalidPlanStep'] },
  });

  const state: DispatchCycleState = {
    status: 'proposed',
    planId,
    kind: input.kind,
    plan: input.plan,
    ...(input.snapshot ? { snapshot: input.snapshot } : {}),
    revision: 1,
    modifications: [],
    requiredRole: input.requiredRole,
    proposedAtUtcMs: clock.now(),
    deadlineUtcMs: clock.now() + input.approval.approvalTimeoutMin * 60_000,
    steps: [],
    handedBack: [],
  };
  let context: DispatchContext | undefined;
  let modifying = false;
  let modifiedAt = 0;

  const record = async (status: string, outcome: DispatchOutcome | null = null, detail?: string) => {
    try {
      await io.recordOutcome({ planId, status, decidedBy: state.decision?.userName ?? null, outcome, ...(detail ? { detail } : {}) });
    } catch (error) {
      log.warn('outcome not recorded', { planId, status, error: String(error) });
    }
  };
  /** Send; a message nobody received is kept and recorded (old histories: only logged). True when delivered. */
  const notify = async (n: Omit<Notification, 'planId'>): Promise<boolean> => {
    let error: string | null = null;
    try {
      error = undeliveredText(await notifyIo.notify({ ...n, planId }));
    } catch (e) {
      error = errorText(e);
    }
    if (error === null) return true;
    log.warn('notification not delivered', { planId, key: n.key, error });
    if (!patched(NOTIFY_OUTCOME)) return false;
    state.notificationFailures = [...(state.notificationFailures ?? []), { atUtcMs: clock.now(), key: n.key, audience: n.audience, title: n.title, error }].slice(-NOTIFICATION_FAILURES_KEPT);
    const who = n.audience === 'crew' ? { zh: '抢修班组', en: 'crew' } : roleNames[n.audience];
    await record('notification-failed', null, `${who.zh}未收到 / ${who.en} NOT told: ${n.title}: ${error}`);
    return false;
  };

  // --- Messages ------------------------------------------------------------------------------
  const validateDecision = (d: DecisionInput) => {
    // The workflow may still be waiting on an activity (a record, the escalation message) when the plan is
    // superseded or its deadline passes: its status is not updated yet, but deciding on it is over.
    if (state.supersededBy !== undefined) {
      throw new Error(`计划 ${planId} 已被 ${state.supersededBy} 取代，不能再审批，请审批新计划 / plan ${planId} was superseded by ${state.supersededBy}; decide on the newer plan`);
    }
    if (state.status === 'proposed' && state.deadlineUtcMs !== undefined && clock.now() >= state.deadlineUtcMs) {
      const at = localTimeText(state.deadlineUtcMs, clock.now());
      throw new Error(`计划 ${planId} 已于 ${at} 失效，不能再审批（未下发任何设定值） / plan ${planId} expired at ${at}; nothing was sent — decide on a newer plan`);
    }
    if (state.status !== 'proposed') throw new Error(`plan ${planId} is ${state.status}; only a proposed plan can be decided`);
    if (modifying) throw new Error(`plan ${planId} is being re-planned after a modification; decide on the new revision`);
    if (!d.userName) throw new Error('a decision needs the user who made it');
    if (!decidingRoles.includes(d.role)) throw new Error(`role ${d.role} may not decide on plans`);
    if (!roleAtLeast(d.role, input.requiredRole)) throw new Error(`plan ${planId} needs a ${input.requiredRole} or higher; ${d.userName} is ${d.role}`);
    // Decided on what the user saw: a revision modified meanwhile by someone else is reviewed first.
    const current = state.revision ?? 1;
    if (d.revision !== undefined && d.revision !== current) {
      throw new Error(`plan ${planId} is at revision ${current}; the decision was made on revision ${d.revision} — review the new revision`);
    }
  };
  /**
   * Approving a cycle plan by hand while an emergency plan is in force replaces it (possibly a supervisor's or
   * admin's at level II/I): only someone with that plan's role may, and only saying so. A validator refusal
   * writes no history, so recorded histories replay unchanged.
   */
  const validateReplacesEmergency = (d: DecisionInput) => {
    const e = state.replacesEmergency;
    if (!e) return;
    if (!roleAtLeast(d.role, e.requiredRole)) {
      throw ApplicationFailure.nonRetryable(
        `应急预案 ${e.planId} 正在执行，批准计划 ${planId} 将替换它，需${roleNames[e.requiredRole].zh}或以上批准（${d.userName}为${roleNames[d.role].zh}） / emergency plan ${e.planId} is in force: approving plan ${planId} replaces it and needs a ${e.requiredRole} or higher; ${d.userName} is ${d.role}`,
        EMERGENCY_REPLACE_ROLE,
        { emergencyPlanId: e.planId, requiredRole: e.requiredRole },
      );
    }
    if (d.replaceEmergencyPlan !== true) {
      throw ApplicationFailure.nonRetryable(
        `应急预案 ${e.planId} 正在执行，批准计划 ${planId} 将替换它：请确认替换（replaceEmergencyPlan: true） / emergency plan ${e.planId} is in force: approving plan ${planId} replaces it; confirm with replaceEmergencyPlan: true`,
        EMERGENCY_REPLACE_UNCONFIRMED,
        { emergencyPlanId: e.planId, requiredRole: e.requiredRole },
      );
    }
  };
  setHandler(dispatchStateQuery, () => state);
  setHandler(
    approvePlanUpdate,
    (d) => {
      state.decision = { kind: 'approve', userName: d.userName, role: d.role, ...(d.comment ? { comment: d.comment } : {}), decidedAtUtcMs: clock.now() };
      state.status = 'approved';
      return state;
    },
    {
      validator: (d: DecisionInput) => {
        validateDecision(d);
        validateReplacesEmergency(d);
      },
    },
  );
  setHandler(
    rejectPlanUpdate,
    (d) => {
      state.decision = { kind: 'reject', userName: d.userName, role: d.role, ...(d.comment ? { comment: d.comment } : {}), decidedAtUtcMs: clock.now() };
      state.status = 'rejected';
      return state;
    },
    {
      validator: (d: DecisionInput) => {
        validateDecision(d);
        if (!d.comment?.trim()) throw new Error('a rejection needs a reason');
      },
    },
  );
  setHandler(
    modifyPlanUpdate,
    async (m: ModifyInput) => {
      modifying = true;
      try {
        const constraints = mergeConstraints(state.constraints, m.constraints);
        const plan = await io.buildPlan({ planId, snapshot: input.snapshot!, forecast: input.forecast, constraints });
        state.plan = plan;
        state.constraints = constraints;
        state.revision = (state.revision ?? 1) + 1;
        state.modifications!.push({ userName: m.userName, role: m.role, ...(m.comment ? { comment: m.comment } : {}), constraints: m.constraints, atUtcMs: clock.now(), revision: state.revision });
        // A dispatcher at work on the plan: the escalation and expiry clocks start again.
        modifiedAt = clock.now();
        state.proposedAtUtcMs = modifiedAt;
        state.deadlineUtcMs = modifiedAt + input.approval.approvalTimeoutMin * 60_000;
        delete state.escalatedAtUtcMs;
        await record('modified', null, `revision ${state.revision} by ${m.userName}: ${JSON.stringify(m.constraints)}`);
        return state;
      } finally {
        modifying = false;
      }
    },
    {
      validator: (m: ModifyInput) => {
        validateDecision(m);
        if (input.kind !== 'cycle' || !input.snapshot) throw new Error('only dispatch-cycle plans can be modified here; emergency plans are re-planned by the flood-season workflow');
        const first = state.plan?.steps[0];
        const problems = constraintShapeProblems(m.constraints ?? {}, new Set(first?.stations.map((s) => s.stationId)), new Set(first?.transfers.map((t) => t.interconnectionId)));
        if (problems.length > 0) throw new Error(`invalid modification: ${problems.join('; ')}`);
      },
    },
  );
  setHandler(dispatchContextSignal, (c) => {
    context = c;
    // What the approver must know and be (validateReplacesEmergency; shown on the plan page). No command.
    if (input.kind === 'cycle' && c.livePlanId !== null && emergencyInForce(c)) {
      state.replacesEmergency = { planId: c.livePlanId, requiredRole: c.liveRequiredRole ?? 'supervisor' };
    }
  });
  setHandler(supersedePlanSignal, ({ byPlanId, reason }) => {
    if (byPlanId === planId) return;
    // Shown at once (the query): the main loop may be waiting on an activity. No command: replay-safe, and an
    // approval accepted after it in an old history still sets 'approved' as it did.
    if (state.status === 'proposed') {
      state.supersededBy = byPlanId;
      state.status = 'superseded';
    }
    else if ((state.status === 'approved' || state.status === 'dispatched') && reason !== 'newer-proposal') state.replacedBy = byPlanId;
  });

  const decided = () => state.decision !== undefined || state.supersededBy !== undefined;
  const close = async (): Promise<DispatchCycleState> => {
    await tell(coordinator, planClosedSignal, { ...ref, status: state.status });
    // The flood season shows the emergency plan in force: it learns when this one ends (replaced, failed…).
    if (input.kind === 'emergency' && input.proposedBy && patched(NO_AUTO_OVER_EMERGENCY)) {
      await tell(input.proposedBy, emergencyPlanEndedSignal, { ...ref, status: state.status, ...(state.replacedBy ? { replacedBy: state.replacedBy } : {}) });
    }
    await condition(allHandlersFinished);
    return state;
  };

  // --- Decision ------------------------------------------------------------------------------
  if (input.preApproved) {
    state.decision = { ...input.preApproved };
    state.status = 'approved';
    await record(input.preApproved.automatic ? 'auto-approved' : 'approved', null, input.preApproved.automatic ?? input.preApproved.comment);
  } else {
    const first = input.plan.steps[0];
    const compareFromUtcMs = first?.startUtcMs ?? clock.now();
    await tell(coordinator, planProposedSignal, { ...ref, compareFromUtcMs, compareUntilUtcMs: compareFromUtcMs + input.autonomy.bounds.compareHorizonMin * 60_000 });

    // Autonomy: decide without a dispatcher where the network allows it.
    const autonomy = input.autonomy;
    const playbook = autonomy.mode === 'emergency-auto' && autonomy.playbooks.includes(input.plan.operatingMode);
    if (playbook && input.kind === 'cycle' && patched(NO_AUTO_OVER_EMERGENCY)) {
      // An approved emergency plan (a supervisor's or admin's at level II/I) is never overridden automatically.
      await condition(() => context !== undefined || decided(), timing.contextWaitMs);
      if (!decided()) {
        if (!context) state.autonomy = { mode: autonomy.mode, autoApproved: false, reason: 'no answer from the coordinator: a dispatcher decides' };
        else if (emergencyInForce(context)) state.autonomy = { mode: autonomy.mode, autoApproved: false, reason: `emergency plan ${context.livePlanId} is in force: a dispatcher decides` };
        else state.autonomy = { mode: autonomy.mode, autoApproved: true, reason: `pre-approved playbook: ${input.plan.operatingMode}` };
      }
    } else if (playbook) {
      state.autonomy = { mode: autonomy.mode, autoApproved: true, reason: `pre-approved playbook: ${input.plan.operatingMode}` };
    } else if (autonomy.mode !== 'advisory') {
      await condition(() => context !== undefined || decided(), timing.contextWaitMs);
      if (!decided()) {
        if (!context) state.autonomy = { mode: autonomy.mode, autoApproved: false, reason: 'no answer from the coordinator: a dispatcher decides' };
        else if (!context.lastApproved) state.autonomy = { mode: autonomy.mode, autoApproved: false, reason: 'no approved plan to compare with: a dispatcher decides' };
        else {
          const verdict = withinBounds(input.plan, context.lastApproved, autonomy.bounds);
          state.autonomy = { mode: autonomy.mode, autoApproved: verdict.within, reason: verdict.reason };
        }
      }
    }
    if (state.autonomy?.autoApproved && !decided()) {
      state.decision = { kind: 'approve', userName: 'system', role: 'system', decidedAtUtcMs: clock.now(), automatic: `${state.autonomy.mode}: ${state.autonomy.reason}` };
      state.status = 'approved';
      await record('auto-approved', null, state.decision.automatic);
    } else if (state.autonomy) {
      await record('needs-approval', null, state.autonomy.reason);
    }

    // Wait for a dispatcher: escalate once, then expire without any change.
    while (!decided()) {
      if (modifying) {
        await condition(() => !modifying);
        continue;
      }
      const escalateAt = state.proposedAtUtcMs! + input.approval.escalateAfterMin * 60_000;
      const deadline = state.deadlineUtcMs!;
      const wakeAt = state.escalatedAtUtcMs === undefined && escalateAt < deadline ? escalateAt : deadline;
      const seenModification = modifiedAt;
      const woken = await clock.until(() => decided() || modifying || modifiedAt !== seenModification, wakeAt - clock.now());
      if (woken || decided() || modifying || modifiedAt !== seenModification) continue;
      if (clock.now() >= deadline - 1) {
        state.status = 'expired';
        break;
      }
      state.escalatedAtUtcMs = clock.now();
      const waitedMin = Math.round((clock.now() - state.proposedAtUtcMs!) / 60_000);
      const expiresAt = localTimeText(deadline, clock.now());
      const up = nextRoleUp(input.requiredRole);
      const told = await notify({
        audience: up,
        severity: 'warning',
        title: `调度计划${waitedMin}分钟未审批 / Plan unanswered for ${waitedMin} min`,
        text: `计划 **${planId}** 等待${roleNames[input.requiredRole].zh}审批，将于 ${expiresAt} 失效（失效后不做任何变更）。\n\nPlan **${planId}** awaits a ${input.requiredRole}'s decision; it expires at ${expiresAt} and then nothing is changed.`,
        key: `${planId}:escalation`,
      });
      // Old histories recorded "notified" whatever happened; told is false there only if the send failed.
      const escalatedDetail = told || !patched(NOTIFY_OUTCOME) ? `notified the ${up} after ${waitedMin} min` : `the ${up} could NOT be notified after ${waitedMin} min (see notification-failed)`;
      await record('escalated', null, escalatedDetail);
    }
  }

  if (state.status !== 'approved') {
    // Expired, rejected or superseded: nothing is written; the live plan (if any) stays in force.
    if (state.supersededBy && state.status === 'proposed') state.status = 'superseded';
    state.keptPlanId = context?.livePlanId ?? null;
    const kept = state.keptPlanId ? `plan ${state.keptPlanId} stays in force` : 'stations keep their current setpoints / local control';
    await record(state.status, null, state.status === 'superseded' ? `superseded by ${state.supersededBy}` : kept);
    if (state.status === 'expired') {
      await notify({
        audience: 'supervisor',
        severity: 'warning',
        title: `调度计划未审批已失效 / Plan expired unanswered`,
        text: `计划 **${planId}** 无人审批，已失效，未下发任何设定值；${state.keptPlanId ? `继续执行已批准计划 ${state.keptPlanId}` : '各泵站保持现有设定或本地控制'}。\n\nPlan **${planId}** expired without a decision; nothing was sent. ${kept}.`,
        key: `${planId}:expired`,
      });
    }
    return close();
  }

  // --- Live: apply step by step --------------------------------------------------------------
  const plan = state.plan!;
  await tell(coordinator, planLiveSignal, {
    ...ref,
    approvedAtUtcMs: state.decision!.decidedAtUtcMs,
    approvedBy: state.decision!.userName,
    requiredRole: input.requiredRole,
    operatingMode: plan.operatingMode,
    steps: plan.steps,
  });
  const liveAtWallMs = Date.now();
  const handedBack = new Set<string>();

  const stationFailures = (writes: readonly SetpointWriteResult[]) => {
    const stationIds = new Set(plan.steps[0]?.stations.map((s) => s.stationId));
    return [...new Set(writes.filter((w) => (w.status === 'failed' || w.status === 'mismatch') && stationIds.has(w.objectId)).map((w) => w.objectId))];
  };
  /** Failed writes of interconnection transfers and tank setpoints (anything not a station). */
  const linkFailures = (writes: readonly SetpointWriteResult[]) => {
    const stationIds = new Set(plan.steps[0]?.stations.map((s) => s.stationId));
    return writes.filter((w) => (w.status === 'failed' || w.status === 'mismatch') && !stationIds.has(w.objectId));
  };
  const withWrites = (outcome: DispatchOutcome, writes: SetpointWriteResult[], again: DispatchOutcome): DispatchOutcome => ({
    ...outcome,
    writes,
    verified: writes.filter((w) => w.status === 'verified').length,
    skipped: writes.filter((w) => w.status === 'skipped-local').length,
    failed: writes.filter((w) => w.status === 'failed' || w.status === 'mismatch').length,
    alreadyInForce: (outcome.alreadyInForce ?? 0) + (again.alreadyInForce ?? 0),
  });

  /**
   * A newer plan went live, or this one is being cancelled: it writes nothing more (no retry, no hand-back),
   * so it never overwrites its replacement's setpoints. Old histories (no STEP_FAILURE_GUARDS marker) go on.
   */
  const stopWriting = () => (state.replacedBy !== undefined || CancellationScope.current().consideredCancelled) && patched(STEP_FAILURE_GUARDS);
  const done = (k: number, outcome: DispatchOutcome, retries: number): true => {
    state.outcome = outcome;
    state.steps!.push({ stepIndex: k, appliedAtUtcMs: outcome.appliedAtUtcMs, verified: outcome.verified, skipped: outcome.skipped, failed: outcome.failed, alreadyInForce: outcome.alreadyInForce ?? 0, retries });
    return true;
  };

  // Steps are counted from 1 in every text people read, with the total so a reader (and the console, which
  // still reads the 0-based "step k" of older records) can tell the two apart.
  const stepOf = (k: number) => `step ${k + 1} of ${plan.steps.length}`;
  const stepZh = (k: number) => `第${k + 1}步（共${plan.steps.length}步）`;

  /** One step with per-station retries and hand-back; false when the step could not be applied at all. */
  const applyStep = async (k: number, rateLimitMin?: number): Promise<boolean> => {
    const step = plan.steps[k]!;
    const heartbeat = Math.floor(Date.now() / 1000) >>> 0;
    let outcome: DispatchOutcome;
    try {
      outcome = await applyIo.applyPlanStep({ planId, stepIndex: k, step, heartbeat, skipStations: [...handedBack], ...(rateLimitMin !== undefined ? { rateLimitMin } : {}) });
    } catch (error) {
      state.error = `${stepOf(k)}: ${errorText(error)}`;
      // The latest outcome would be the previous step's: it must not be taken for this one's.
      delete state.outcome;
      await notify({
        audience: 'dispatcher',
        severity: 'alarm',
        title: `设定值下发失败 / Setpoint dispatch failed`,
        text: `计划 **${planId}** ${stepZh(k)}下发失败，已停止执行；泵站在看门狗超时后回到本地控制。\n\n${state.error}`,
        key: `${planId}:step-${k + 1}:failed`,
      });
      return false;
    }
    let retries = 0;
    let failing = stationFailures(outcome.writes);
    let retryError: string | undefined;
    while (failing.length > 0 && retries < timing.stationRetryAttempts) {
      await sleep(timing.stationRetryBaseMs * 2 ** retries);
      if (stopWriting()) break;
      retries++;
      let again: DispatchOutcome;
      try {
        again = await applyIo.applyPlanStep({ planId, stepIndex: k, step, heartbeat, onlyStations: failing, stationsOnly: true, compareFirst: true });
      } catch (error) {
        // The retry gave up after its own attempts: the failing stations stay not written, and the step goes
        // on to hand-back, record and alarm instead of failing the plan with nothing recorded.
        if (isCancellation(error) || !patched(STEP_FAILURE_GUARDS)) throw error;
        retryError = errorText(error);
        log.warn('station retry failed', { planId, stepIndex: k, stations: failing, error: retryError });
        break;
      }
      const retried = new Set(failing);
      outcome = withWrites(outcome, [...outcome.writes.filter((w) => !retried.has(w.objectId)), ...again.writes], again);
      failing = stationFailures(again.writes);
    }
    if (failing.length > 0) {
      const reason = retryError ? `writes failed at ${stepOf(k)}; retry ${retries} gave up: ${retryError}` : `writes failed ${retries + 1} times at ${stepOf(k)}`;
      // A newer plan is live (it writes these stations itself) or this one is cancelled: no hand-back write.
      const skipHandBack = () => record('hand-back-skipped', null, `${failing.join(',')}: ${reason}; not handed back: ${state.replacedBy ? `replaced by ${state.replacedBy}` : 'cancelled'}`);
      if (stopWriting()) {
        await skipHandBack();
        return done(k, outcome, retries);
      }
      await notify({
        audience: 'dispatcher',
        severity: 'alarm',
        title: `泵站设定值下发失败，交回本地控制 / Stations handed back to local control`,
        text: `计划 **${planId}** ${stepZh(k)}：${failing.join('、')} 写入失败${retries + 1}次，已交回本地控制，本计划不再向其下发。\n\n${failing.join(', ')}: ${reason}; handed back to local control for the rest of the plan.`,
        key: `${planId}:step-${k + 1}:hand-back`,
      });
      if (stopWriting()) {
        await skipHandBack();
        return done(k, outcome, retries);
      }
      let backs: DispatchCycleState['handedBack'] = [];
      try {
        backs = await io.handBackToLocal({ planId, stepIndex: k, stationIds: failing, reason });
      } catch (error) {
        log.warn('hand-back not written', { planId, error: String(error) });
        backs = failing.map((stationId) => ({ stationId, atUtcMs: clock.now(), stepIndex: k, reason, written: false }));
      }
      for (const b of backs ?? []) {
        handedBack.add(b.stationId);
        state.handedBack!.push(b);
      }
      await record('handed-back', null, `${failing.join(',')}: ${reason}`);
    }
    // Transfers and tanks: retried on their own (no station rewritten), then alarmed; never handed back (they
    // have no local band: SCADA keeps the value it holds).
    let links = linkFailures(outcome.writes);
    if (links.length > 0 && patched(LINK_WRITE_RETRY)) {
      let linkRetries = 0;
      let linkError: string | undefined;
      while (links.length > 0 && linkRetries < timing.stationRetryAttempts) {
        await sleep(timing.stationRetryBaseMs * 2 ** linkRetries);
        if (stopWriting()) break;
        linkRetries++;
        try {
          const again = await applyIo.applyPlanStep({ planId, stepIndex: k, step, heartbeat, onlyStations: [], compareFirst: true });
          const retried = new Set(links.map((w) => w.nodeId));
          outcome = withWrites(outcome, [...outcome.writes.filter((w) => !retried.has(w.nodeId)), ...again.writes], again);
        } catch (error) {
          if (isCancellation(error)) throw error;
          linkError = errorText(error);
          break;
        }
        links = linkFailures(outcome.writes);
      }
      if (links.length > 0 && !stopWriting()) {
        const what = links.map((w) => `${w.objectId}.${w.tag} = ${w.value}`).join(', ');
        const reason = `${what}: not written after ${linkRetries + 1} attempts at ${stepOf(k)}${linkError ? ` (${linkError})` : ''}`;
        await notify({
          audience: 'dispatcher',
          severity: 'alarm',
          title: `计划 ${planId} ${stepZh(k)}：互联/调蓄池设定值未写入 / plan ${planId} ${stepOf(k)}: transfer or tank setpoint not written`,
          text: `计划 **${planId}** ${stepZh(k)}：${what} 写入失败${linkRetries + 1}次，SCADA仍保持原设定值，请核实互联闸泵与调蓄池。\n\n${reason}; SCADA keeps the value it held: check the interconnection and tank.`,
          key: `${planId}:step-${k + 1}:link-write`,
        });
        await record('link-write-failed', null, reason);
      }
    }
    return done(k, outcome, retries);
  };

  /** Step k's time has come. */
  const isDue = (k: number) => plan.steps[k]!.startUtcMs <= clock.now();
  /** Minutes one step's change may take: the plan's step spacing. */
  const stepSpacingMin = (k: number) => {
    const here = plan.steps[k]!.startUtcMs;
    const next = plan.steps[k + 1]?.startUtcMs ?? (k > 0 ? here + (here - plan.steps[k - 1]!.startUtcMs) : undefined);
    return next !== undefined && next > here ? (next - here) / 60_000 : plan.stepMin;
  };
  for (let k = 0; k < plan.steps.length; k++) {
    if (state.replacedBy) break;
    if (k > 0) {
      const stop = () => state.replacedBy !== undefined;
      // A step already due is applied at once (below: only the latest of several due steps).
      if (timing.stepIntervalMs !== undefined) {
        const waitMs = liveAtWallMs + k * timing.stepIntervalMs - Date.now();
        if (waitMs > 0 || !patched(NO_TIMER_WHEN_DUE)) await condition(stop, Math.max(1, waitMs));
      } else await clock.until(stop, plan.steps[k]!.startUtcMs - clock.now());
      if (state.replacedBy) break;
    }
    // Several steps due at once (late approval, a worker back after an outage): writing each in turn would move
    // the setpoints by several steps' change in a second. Only the latest due step is sent, limited to one
    // step's change at the envelope's rate from what SCADA holds (the activity reads and clamps).
    // Only on the plan's own step times: a wall-clock step interval (tests, demos) compresses the schedule, and a
    // step "late" there by an activity's latency has no rate meaning.
    let rateLimitMin: number | undefined;
    if (timing.stepIntervalMs === undefined && k + 1 < plan.steps.length && isDue(k + 1) && patched(CATCH_UP_LATEST_STEP)) {
      let latest = k + 1;
      while (latest + 1 < plan.steps.length && isDue(latest + 1)) latest++;
      await record('steps-skipped', null, `${stepOf(k)} to ${stepOf(latest - 1)} were due at once and not sent; ${stepOf(latest)} sent, limited to the envelope's rate from the values SCADA holds`);
      for (let skipped = k; skipped < latest; skipped++) state.skippedSteps = [...(state.skippedSteps ?? []), skipped];
      k = latest;
      rateLimitMin = stepSpacingMin(k);
    }
    const ok = await applyStep(k, rateLimitMin);
    if (!ok) {
      state.status = 'dispatch-failed';
      break;
    }
    if (state.status === 'approved') {
      // The first step sent (step 1, or the latest due one after a late approval).
      state.status = 'dispatched';
      await record('dispatched', state.outcome);
    } else {
      await record('step-applied', state.outcome);
    }
  }
  // The failed step has no outcome (its writes are not known); the error names the step.
  if (state.status === 'dispatch-failed') await record('dispatch-failed', null, state.error);
  else {
    state.status = state.replacedBy ? 'replaced' : 'completed';
    await record(state.status, null, state.replacedBy ? `replaced by ${state.replacedBy}` : `${state.steps!.length} steps applied`);
  }
  return close();
}
