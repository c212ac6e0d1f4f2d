// Helpers shared by the dispatch and flood workflows: domain time (accelerated in tests and demos), the
// per-network coordinator, signals that must never fail the sender, and how failures read in plan state.
import { ParentClosePolicy, condition, log, patched, sleep, startChild, getExternalWorkflowHandle, type SignalDefinition } from '@temporalio/workflow';
import { coordinatorWorkflowId, domainTimeOf, type CoordinatorInput, type DomainClock } from '../contract/index.js';
import type { DeliveryReport } from '../notify/types.js';

/**
 * Version marker: a wait that is already over no longer starts a 1-ms timer (the server fires a timer only
 * on its next tick, about a second, which held up overdue steps). Histories recorded before it keep the timer.
 */
export const NO_TIMER_WHEN_DUE = 'no-timer-when-due';

export interface WorkflowClock {
  /** Domain time now (UTC ms). */
  now(): number;
  /** Wait `domainMs` of domain time. */
  sleep(domainMs: number): Promise<void>;
  /** Wait until `fn` holds or `domainMs` of domain time pass; true when `fn` held. */
  until(fn: () => boolean, domainMs: number): Promise<boolean>;
}

export function workflowClock(clock: DomainClock | undefined): WorkflowClock {
  const speed = clock?.speed ?? 1;
  const wall = (domainMs: number) => Math.ceil(domainMs / speed);
  return {
    now: () => domainTimeOf(clock, Date.now()),
    sleep: async (domainMs) => {
      if (wall(domainMs) <= 0 && patched(NO_TIMER_WHEN_DUE)) return;
      await sleep(Math.max(1, wall(domainMs)));
    },
    until: async (fn, domainMs) => {
      if (fn()) return true;
      if (wall(domainMs) <= 0 && patched(NO_TIMER_WHEN_DUE)) return false;
      return condition(fn, Math.max(1, wall(domainMs)));
    },
  };
}

/** Start the network's coordinator unless it runs already (it outlives the starter: ABANDON). */
export async function ensureCoordinator(networkId: string): Promise<void> {
  try {
    await startChild('dispatchCoordinator', {
      workflowId: coordinatorWorkflowId(networkId),
      args: [{ networkId } satisfies CoordinatorInput],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    if ((error as Error).name === 'WorkflowExecutionAlreadyStartedError') return;
    throw error;
  }
}

/** Signal another workflow; a missing or closed receiver is logged, not fatal. */
export async function tell<Args extends unknown[]>(workflowId: string, signal: SignalDefinition<Args>, ...args: Args): Promise<boolean> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(signal, ...args);
    return true;
  } catch (error) {
    log.warn('signal not delivered', { workflowId, signal: signal.name, error: String(error) });
    return false;
  }
}

/** An activity's failure as one line: the cause's message where Temporal wraps it (ActivityFailure). */
export const activityErrorText = (error: unknown) => (error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error));

/** Notification failures a workflow keeps in its state (the latest). */
export const NOTIFICATION_FAILURES_KEPT = 10;

/**
 * What a notification's delivery reports say nobody received, or null when it reached every channel. The log
 * channel always delivers; a webhook without a destination for the audience answers delivered:false.
 */
export function undeliveredText(reports: readonly DeliveryReport[] | undefined): string | null {
  const undelivered = (reports ?? []).filter((r) => !r.delivered && r.channel !== 'log');
  return undelivered.length > 0 ? undelivered.map((r) => `${r.channel}: ${r.detail ?? 'not delivered'}`).join('; ') : null;
}
