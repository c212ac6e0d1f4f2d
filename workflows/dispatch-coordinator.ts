// One per network: knows which plan is pending, which is live, what went live last and what a dispatcher
// last approved, so that one plan is live at a time and a newer proposal supersedes a pending one. Plans tell it about themselves
// by signal; it answers by signal. Messages are handled one at a time in arrival order, so two plans
// racing each other are ordered by this history. Continues as new after a bounded number of messages.
import { allHandlersFinished, condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  coordinatorStateQuery,
  dispatchContextSignal,
  planClosedSignal,
  planLiveSignal,
  planProposedSignal,
  supersedePlanSignal,
  type ApprovedPlanRef,
  type CoordinatorInput,
  type CoordinatorState,
  type PlanProposedMessage,
  type PlanRef,
  type PlanStatus,
} from '../contract/index.js';
import { SYSTEM_USER } from './autonomy.js';
import { tell } from './common.js';

type Message = { kind: 'proposed'; m: PlanProposedMessage } | { kind: 'live'; m: ApprovedPlanRef } | { kind: 'closed'; m: PlanRef & { status: PlanStatus } };

const LOG_LENGTH = 50;

/** The approved steps that overlap [from, until): what a new plan is compared with. */
export function stepsOverlapping(last: ApprovedPlanRef, fromUtcMs: number, untilUtcMs: number): ApprovedPlanRef {
  const steps = last.steps.filter((s, i) => {
    const next = last.steps[i + 1]?.startUtcMs ?? Number.POSITIVE_INFINITY;
    return next > fromUtcMs && s.startUtcMs < untilUtcMs;
  });
  return { ...last, steps };
}

/** When a plan's last step ends: its own length, else the spacing before it; undefined for one step of unknown length. */
export function planEndUtcMs(steps: ApprovedPlanRef['steps']): number | undefined {
  const last = steps.at(-1);
  if (!last) return undefined;
  const before = steps.at(-2);
  const durationMs = last.durationMin !== undefined ? last.durationMin * 60_000 : before ? last.startUtcMs - before.startUtcMs : undefined;
  return durationMs === undefined ? undefined : last.startUtcMs + durationMs;
}

/**
 * What a new plan is compared with (auto-within-bounds, workflows/autonomy.ts): the last plan a dispatcher
 * approved, not one the system approved (each of those would move the yardstick by up to the bounds: no limit
 * on the drift); an emergency plan that went live last is sent as it is (never replaced automatically); a plan
 * the system approved only when no dispatcher's is known (it is refused as such). With its end and how it ended.
 */
export function referenceFor(state: Pick<CoordinatorState, 'lastApproved' | 'lastHumanApproved'>, fromUtcMs: number, untilUtcMs: number): ApprovedPlanRef | null {
  const last = state.lastApproved;
  if (!last) return null;
  const ref = last.kind === 'emergency' ? last : (state.lastHumanApproved ?? last);
  const endsUtcMs = planEndUtcMs(ref.steps);
  return { ...stepsOverlapping(ref, fromUtcMs, untilUtcMs), ...(endsUtcMs !== undefined ? { endsUtcMs } : {}) };
}

const humanApproved = (ref: ApprovedPlanRef | null | undefined): ApprovedPlanRef | null => (ref && ref.approvedBy !== SYSTEM_USER ? ref : null);

export async function dispatchCoordinator(input: CoordinatorInput): Promise<void> {
  const state: CoordinatorState = input.carried
    ? // A run carried from before lastHumanApproved was kept: its last approved plan, if a dispatcher's.
      { ...input.carried, lastHumanApproved: input.carried.lastHumanApproved !== undefined ? input.carried.lastHumanApproved : humanApproved(input.carried.lastApproved), eventsThisRun: 0 }
    : { networkId: input.networkId, pending: null, live: null, lastApproved: null, lastHumanApproved: null, log: [], eventsThisRun: 0 };
  const inbox: Message[] = [];
  setHandler(planProposedSignal, (m) => void inbox.push({ kind: 'proposed', m }));
  setHandler(planLiveSignal, (m) => void inbox.push({ kind: 'live', m }));
  setHandler(planClosedSignal, (m) => void inbox.push({ kind: 'closed', m }));
  setHandler(coordinatorStateQuery, () => state);
  const maxEvents = input.maxEventsPerRun ?? 200;
  const note = (event: string, planId: string) => {
    state.log.push({ atUtcMs: Date.now(), event, planId });
    if (state.log.length > LOG_LENGTH) state.log.splice(0, state.log.length - LOG_LENGTH);
  };
  const refOf = (m: PlanRef): PlanRef => ({ workflowId: m.workflowId, planId: m.planId, kind: m.kind });

  const handle = async (msg: Message) => {
    if (msg.kind === 'proposed') {
      const m = msg.m;
      if (state.pending && state.pending.workflowId !== m.workflowId) {
        await tell(state.pending.workflowId, supersedePlanSignal, { byPlanId: m.planId, reason: 'newer-proposal' });
        note('superseded', state.pending.planId);
      }
      state.pending = refOf(m);
      note('proposed', m.planId);
      await tell(m.workflowId, dispatchContextSignal, {
        livePlanId: state.live?.planId ?? null,
        liveKind: state.live?.kind ?? null,
        liveRequiredRole: state.live?.requiredRole ?? null,
        lastApproved: referenceFor(state, m.compareFromUtcMs, m.compareUntilUtcMs),
      });
    } else if (msg.kind === 'live') {
      const m = msg.m;
      if (state.live && state.live.workflowId !== m.workflowId) {
        await tell(state.live.workflowId, supersedePlanSignal, { byPlanId: m.planId, reason: 'newer-live-plan' });
        note('replaced', state.live.planId);
      }
      if (state.pending && state.pending.workflowId !== m.workflowId) {
        await tell(state.pending.workflowId, supersedePlanSignal, { byPlanId: m.planId, reason: 'newer-live-plan' });
        note('superseded', state.pending.planId);
      }
      state.pending = null;
      // Its required role: replacing a live emergency plan by hand needs as much (dispatchPlan's validator).
      state.live = { ...refOf(m), ...(m.requiredRole ? { requiredRole: m.requiredRole } : {}) };
      state.lastApproved = m;
      if (m.approvedBy !== SYSTEM_USER) state.lastHumanApproved = m;
      note('live', m.planId);
    } else {
      const m = msg.m;
      if (state.pending?.workflowId === m.workflowId) state.pending = null;
      if (state.live?.workflowId === m.workflowId) state.live = null;
      // How the plan ended: one whose dispatch failed is no yardstick (SCADA may not hold its setpoints).
      if (state.lastApproved?.workflowId === m.workflowId) state.lastApproved = { ...state.lastApproved, endedAs: m.status };
      if (state.lastHumanApproved?.workflowId === m.workflowId) state.lastHumanApproved = { ...state.lastHumanApproved, endedAs: m.status };
      note(`closed:${m.status}`, m.planId);
    }
    state.eventsThisRun++;
  };

  for (;;) {
    await condition(() => inbox.length > 0 || state.eventsThisRun >= maxEvents || workflowInfo().continueAsNewSuggested);
    while (inbox.length > 0) await handle(inbox.shift()!);
    if (state.eventsThisRun >= maxEvents || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      if (inbox.length === 0) await continueAsNew<typeof dispatchCoordinator>({ ...input, carried: state });
    }
  }
}
