// The one contract between workflows, the worker, the API and clients: task queue, workflow
// inputs and results, and message definitions. Pure definitions: safe inside the workflow sandbox.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { NetworkSnapshot } from '../activities/types.js';
import type { Plan } from '../planner/types.js';

export const taskQueue = 'sewer-dispatch';

export const dispatchScheduleId = (networkId: string) => `dispatch-cycle-${networkId}`;
export const dispatchWorkflowIdPrefix = (networkId: string) => `dispatch-cycle-${networkId}`;

export interface DispatchCycleInput {
  networkId: string;
  /** How long a proposed plan waits for a decision before it expires (no change is made). */
  approvalTimeoutMin: number;
}

export type PlanStatus = 'gathering' | 'proposed' | 'approved' | 'rejected' | 'expired' | 'dispatched' | 'dispatch-failed';

export type Role = 'viewer' | 'dispatcher' | 'supervisor' | 'admin';

export interface DecisionInput {
  userName: string;
  role: Role;
  comment?: string;
}

export interface Decision extends DecisionInput {
  kind: 'approve' | 'reject';
  decidedAtUtcMs: number;
}

export interface SetpointWriteResult {
  objectId: string;
  tag: string;
  nodeId: string;
  value: number;
  /** Value read back from SCADA after the write. */
  readBack: number | null;
  status: 'verified' | 'skipped-local' | 'mismatch' | 'failed';
  detail?: string;
}

export interface DispatchOutcome {
  planId: string;
  stepIndex: number;
  appliedAtUtcMs: number;
  writes: SetpointWriteResult[];
  verified: number;
  skipped: number;
  failed: number;
}

export interface DispatchCycleState {
  status: PlanStatus;
  planId: string;
  snapshot?: NetworkSnapshot;
  plan?: Plan;
  decision?: Decision;
  outcome?: DispatchOutcome;
  error?: string;
}

export const approvePlanUpdate = defineUpdate<DispatchCycleState, [DecisionInput]>('approvePlan');
export const rejectPlanUpdate = defineUpdate<DispatchCycleState, [DecisionInput]>('rejectPlan');
export const dispatchStateQuery = defineQuery<DispatchCycleState>('dispatchState');

/** Roles allowed to approve or reject a normal plan. */
export const decidingRoles: readonly Role[] = ['dispatcher', 'supervisor', 'admin'];
