// The one contract between workflows, the worker, the API and clients: task queue, workflow ids,
// inputs and results, and message definitions. Pure definitions: safe inside the workflow sandbox.
//
// How the dispatch workflows fit together (see workflows/README.md):
//   Schedule ─► dispatchCycle (gather, plan; short) ─► dispatchPlan `plan-<cycle id>` (approval, step dispatch)
//                                                         ▲ signals ▼
//                                          dispatchCoordinator `dispatch-coordinator-<network>`
//                                          (which plan is pending, which is live, the last approved plan)
//   floodSeason `flood-season-<network>` ─► dispatchPlan `plan-flood-…` (approved emergency plans)
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { NetworkSnapshot, RainForecast } from '../activities/types.js';
import type { OperatingMode, Plan, PlanStep } from '../planner/types.js';
import type { EmergencyPlan, FloodAssessment, FloodConfig, FloodEventLog, FloodReport, ResponseLevel, WarningLevel } from '../flood/types.js';

export const taskQueue = 'sewer-dispatch';

export const dispatchScheduleId = (networkId: string) => `dispatch-cycle-${networkId}`;
export const dispatchWorkflowIdPrefix = (networkId: string) => `dispatch-cycle-${networkId}`;
/** A plan's id is the id of the workflow that holds it (approval and dispatch). */
export const planWorkflowIdOfCycle = (cycleWorkflowId: string) => `plan-${cycleWorkflowId}`;
export const coordinatorWorkflowId = (networkId: string) => `dispatch-coordinator-${networkId}`;
export const floodSeasonWorkflowId = (networkId: string) => `flood-season-${networkId}`;
export const emergencyPlanWorkflowIdPrefix = (networkId: string) => `plan-flood-${networkId}`;

// --- Roles --------------------------------------------------------------------------------------

export type Role = 'viewer' | 'dispatcher' | 'supervisor' | 'admin';
export const roleOrder: readonly Role[] = ['viewer', 'dispatcher', 'supervisor', 'admin'];
/** Whether `role` is `minimum` or more senior (viewer < dispatcher < supervisor < admin). */
export function roleAtLeast(role: string, minimum: Role): boolean {
  const rank = roleOrder.indexOf(role as Role);
  return rank >= 0 && rank >= roleOrder.indexOf(minimum);
}

/** Roles allowed to approve or reject a normal plan. */
export const decidingRoles: readonly Role[] = ['dispatcher', 'supervisor', 'admin'];

// --- Time ---------------------------------------------------------------------------------------

/**
 * Accelerated domain time for tests and demos: domain time = originUtcMs + (wall − wallOriginUtcMs) × speed.
 * Timers in domain minutes sleep (minutes / speed) of wall time. Absent in production (speed 1, same clock).
 */
export interface DomainClock {
  originUtcMs: number;
  wallOriginUtcMs: number;
  speed: number;
}

export function domainTimeOf(clock: DomainClock | undefined, wallUtcMs: number): number {
  return clock ? clock.originUtcMs + (wallUtcMs - clock.wallOriginUtcMs) * clock.speed : wallUtcMs;
}

// --- Autonomy -----------------------------------------------------------------------------------

/**
 * How much the system may do without a dispatcher, per network:
 *  - advisory: every plan waits for a dispatcher's decision;
 *  - auto-within-bounds: a plan close to the last plan a dispatcher approved (within `bounds`, same operating
 *    mode, that plan not an emergency plan, not ended and not failed) goes live at once and is logged; others wait;
 *  - emergency-auto: as auto-within-bounds, and plans in a pre-approved playbook mode (`playbooks`) and
 *    flood emergency plans at `preApprovedFloodLevels` go live at once.
 */
export type AutonomyMode = 'advisory' | 'auto-within-bounds' | 'emergency-auto';
export const autonomyModes: readonly AutonomyMode[] = ['advisory', 'auto-within-bounds', 'emergency-auto'];

export interface AutonomyBounds {
  /** Largest change of a start or stop level. */
  levelM: number;
  /** Largest change of a flow setpoint (stations under flow control). */
  flowM3h: number;
  /** Largest change of pumps allowed. */
  pumpsAllowed: number;
  /** Largest change of an interconnection transfer. */
  transferM3h: number;
  /** Largest change of a tank's inlet or outlet setpoint (default 100 m³/h, as transfers; absent from inputs before it). */
  tankM3h?: number;
  /** Steps compared: those starting within this long of the new plan's first step. */
  compareHorizonMin: number;
}

export interface AutonomyConfig {
  mode: AutonomyMode;
  bounds: AutonomyBounds;
  /** emergency-auto: operating modes whose plans are pre-approved playbooks. */
  playbooks: OperatingMode[];
  /** emergency-auto: flood emergency plans at these response levels go live without approval. */
  preApprovedFloodLevels: ResponseLevel[];
}

export const defaultAutonomy: AutonomyConfig = {
  mode: 'advisory',
  bounds: { levelM: 0.2, flowM3h: 50, pumpsAllowed: 0, transferM3h: 100, tankM3h: 100, compareHorizonMin: 120 },
  playbooks: ['flood-drawdown'],
  preApprovedFloodLevels: ['IV'],
};

export function autonomyConfig(partial: Partial<AutonomyConfig> | undefined): AutonomyConfig {
  return { ...defaultAutonomy, ...partial, bounds: { ...defaultAutonomy.bounds, ...partial?.bounds } };
}

// --- Constraints (dispatcher modifications) -----------------------------------------------------

/** Shaped like the optimiser's DispatcherConstraints, so the MPC planner can take them as they are. */
export interface StationBandConstraint {
  stationId: string;
  minLevelM?: number;
  maxLevelM?: number;
}
export interface TransferCapConstraint {
  interconnectionId: string;
  maxAbsM3h: number;
}
export interface PlanConstraints {
  /** Keep a station's level within a band. */
  stationBands?: StationBandConstraint[];
  /** Stations handed to their own local level control. */
  lockedStations?: string[];
  /** Cap the magnitude of an interconnection transfer. */
  transferCaps?: TransferCapConstraint[];
}

/** Later constraints on the same object replace earlier ones; locks accumulate. */
export function mergeConstraints(a: PlanConstraints | undefined, b: PlanConstraints): PlanConstraints {
  const bands = new Map((a?.stationBands ?? []).map((x) => [x.stationId, x]));
  for (const x of b.stationBands ?? []) bands.set(x.stationId, x);
  const caps = new Map((a?.transferCaps ?? []).map((x) => [x.interconnectionId, x]));
  for (const x of b.transferCaps ?? []) caps.set(x.interconnectionId, x);
  const locked = [...new Set([...(a?.lockedStations ?? []), ...(b.lockedStations ?? [])])];
  return {
    ...(bands.size > 0 ? { stationBands: [...bands.values()] } : {}),
    ...(locked.length > 0 ? { lockedStations: locked } : {}),
    ...(caps.size > 0 ? { transferCaps: [...caps.values()] } : {}),
  };
}

// --- Dispatch cycle and plan workflows ----------------------------------------------------------

export interface ApprovalTiming {
  /** Notify the supervisor when a plan is still unanswered after this long (domain minutes). */
  escalateAfterMin: number;
  /** Final timeout: the plan expires and nothing is changed (domain minutes). */
  approvalTimeoutMin: number;
}

/** Test and tuning hooks of the step dispatch; every field has a production default. */
export interface DispatchTiming {
  /** Step k ≥ 1 is applied k × this after the plan went live, instead of at its own start time (tests). */
  stepIntervalMs?: number;
  /** First back-off between retries of a station whose writes failed; doubles each time. Default 5 s. */
  stationRetryBaseMs?: number;
  /** Retries of a failing station within one step before it is handed back to local control. Default 3. */
  stationRetryAttempts?: number;
  /** Activity heartbeat timeout of a step write (a dead worker is noticed after this). Default 20 s. */
  applyHeartbeatTimeoutMs?: number;
  /** How long a new plan waits for the coordinator's context before deciding without it. Default 10 s. */
  contextWaitMs?: number;
}

export interface DispatchCycleInput {
  networkId: string;
  /** Final timeout of a proposed plan (no change is made when it passes). */
  approvalTimeoutMin: number;
  /** Escalation to the supervisor; default half the approval timeout. */
  escalateAfterMin?: number;
  autonomy?: Partial<AutonomyConfig>;
  timing?: DispatchTiming;
  clock?: DomainClock;
}

export type PlanKind = 'cycle' | 'emergency';

export type PlanStatus =
  | 'gathering'
  | 'proposed'
  | 'approved'
  | 'rejected'
  | 'expired'
  /** A newer proposal replaced this one before any decision. */
  | 'superseded'
  /** Live: approved and in force; steps are applied on their timers. */
  | 'dispatched'
  | 'dispatch-failed'
  /** Was live until a newer plan went live. */
  | 'replaced'
  /** Every step applied. */
  | 'completed';

export interface DecisionInput {
  userName: string;
  role: Role;
  comment?: string;
  /**
   * The plan revision the user reviewed (`DispatchCycleState.revision`, 1 until the first modification).
   * When given, dispatchPlan's validators refuse the decision if the plan has been modified since, so an
   * approval, rejection or modification never lands on a revision its author did not see. Left out, the
   * decision applies to the current revision (older clients).
   */
  revision?: number;
  /**
   * Approving a cycle plan while an emergency plan is in force (`DispatchCycleState.replacesEmergency`) replaces
   * it: the approver must be at least the emergency plan's required role and confirm with true, else refused.
   */
  replaceEmergencyPlan?: boolean;
}

/** Failure types of an approval refused because it would replace the emergency plan in force. */
export const EMERGENCY_REPLACE_ROLE = 'EmergencyReplaceRole';
export const EMERGENCY_REPLACE_UNCONFIRMED = 'EmergencyReplaceUnconfirmed';

export interface ModifyInput extends DecisionInput {
  constraints: PlanConstraints;
}

export interface Decision {
  kind: 'approve' | 'reject';
  userName: string;
  role: Role | 'system';
  comment?: string;
  decidedAtUtcMs: number;
  /** Set when the system decided under the network's autonomy setting: why. */
  automatic?: string;
}

export interface Modification {
  userName: string;
  role: Role;
  comment?: string;
  constraints: PlanConstraints;
  atUtcMs: number;
  revision: number;
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
  /** Writes not repeated because SCADA already held the value (a retried attempt after a worker died). */
  alreadyInForce?: number;
  attempt?: number;
}

export interface StepRecord {
  stepIndex: number;
  appliedAtUtcMs: number;
  verified: number;
  skipped: number;
  failed: number;
  alreadyInForce: number;
  retries: number;
}

export interface HandBack {
  stationId: string;
  atUtcMs: number;
  stepIndex: number;
  reason: string;
  /** Whether the local band could be written (false when the station does not answer at all). */
  written: boolean;
}

export interface DispatchCycleState {
  status: PlanStatus;
  planId: string;
  kind?: PlanKind;
  /** Where the plan of this cycle lives (the cycle itself only gathers and plans). */
  planWorkflowId?: string;
  snapshot?: NetworkSnapshot;
  plan?: Plan;
  decision?: Decision;
  /** The latest step's outcome. */
  outcome?: DispatchOutcome;
  error?: string;
  revision?: number;
  constraints?: PlanConstraints;
  modifications?: Modification[];
  proposedAtUtcMs?: number;
  escalatedAtUtcMs?: number;
  /** When the plan expires unanswered. */
  deadlineUtcMs?: number;
  requiredRole?: Role;
  autonomy?: { mode: AutonomyMode; autoApproved: boolean; reason: string };
  steps?: StepRecord[];
  handedBack?: HandBack[];
  supersededBy?: string;
  replacedBy?: string;
  /** On expiry or rejection: the live plan that stays in force (null: stations on local control / last setpoints). */
  keptPlanId?: string | null;
  /** Steps (0-based) not sent because a later step was already due when they were (late approval, outage). */
  skippedSteps?: number[];
  /**
   * A cycle plan proposed while an emergency plan is in force (from the coordinator's context): approving it
   * replaces that plan, so it needs `requiredRole` (the emergency plan's, supervisor when not known) and
   * `replaceEmergencyPlan: true`.
   */
  replacesEmergency?: { planId: string; requiredRole: Role };
  /** Messages about this plan that reached nobody (threw, or delivered:false on a channel other than the log); the latest 10. */
  notificationFailures?: { atUtcMs: number; key: string; audience: string; title: string; error: string }[];
}

export const approvePlanUpdate = defineUpdate<DispatchCycleState, [DecisionInput]>('approvePlan');
export const rejectPlanUpdate = defineUpdate<DispatchCycleState, [DecisionInput]>('rejectPlan');
/** Re-plan with the dispatcher's change as a constraint; the plan stays proposed for a decision. */
export const modifyPlanUpdate = defineUpdate<DispatchCycleState, [ModifyInput]>('modifyPlan');
export const dispatchStateQuery = defineQuery<DispatchCycleState>('dispatchState');

export interface DispatchPlanInput {
  networkId: string;
  kind: PlanKind;
  plan: Plan;
  /** What the plan was built on, for re-planning on modification. */
  snapshot: NetworkSnapshot | null;
  forecast: RainForecast | null;
  approval: ApprovalTiming;
  autonomy: AutonomyConfig;
  /** Least senior role that may decide (emergency plans: by response level). */
  requiredRole: Role;
  /** Emergency plans approved in the flood-season workflow, and stand-down plans, go live at once. */
  preApproved?: Decision;
  timing?: DispatchTiming;
  clock?: DomainClock;
  /** The workflow that proposed the plan. */
  proposedBy?: string;
}

// --- Coordinator ------------------------------------------------------------------------------

export interface PlanRef {
  workflowId: string;
  planId: string;
  kind: PlanKind;
}

export interface ApprovedPlanRef extends PlanRef {
  approvedAtUtcMs: number;
  approvedBy: string;
  /** Least senior role that could decide on the plan (absent from plans before it was sent). */
  requiredRole?: Role;
  operatingMode: OperatingMode;
  /** The approved setpoint steps (all of them at the coordinator; the compared window in a context). */
  steps: PlanStep[];
  /** In a context: when the plan's last step ends (absent from coordinators before it was sent, or not known). */
  endsUtcMs?: number;
  /** At the coordinator and in a context: how the plan ended, once it has (completed, replaced, dispatch-failed). */
  endedAs?: PlanStatus;
}

export interface PlanProposedMessage extends PlanRef {
  compareFromUtcMs: number;
  compareUntilUtcMs: number;
}

export interface DispatchContext {
  livePlanId: string | null;
  /** Kind of the live plan (absent from coordinators before it was sent). */
  liveKind?: PlanKind | null;
  /** Least senior role that could decide on the live plan (absent when not known). */
  liveRequiredRole?: Role | null;
  lastApproved: ApprovedPlanRef | null;
}

export type SupersedeReason = 'newer-proposal' | 'newer-live-plan' | 'stand-down';

export interface CoordinatorState {
  networkId: string;
  pending: PlanRef | null;
  live: (PlanRef & { requiredRole?: Role }) | null;
  /** The plan that went live last, approved by anyone (the heartbeat keeper stands behind it). */
  lastApproved: ApprovedPlanRef | null;
  /** The last plan a dispatcher approved (not the system): what auto-within-bounds compares with (absent before it was kept). */
  lastHumanApproved?: ApprovedPlanRef | null;
  /** Most recent events, newest last (bounded). */
  log: { atUtcMs: number; event: string; planId: string }[];
  eventsThisRun: number;
}

export interface CoordinatorInput {
  networkId: string;
  carried?: CoordinatorState;
  /** Continue as new after this many messages (default 200). */
  maxEventsPerRun?: number;
}

export const planProposedSignal = defineSignal<[PlanProposedMessage]>('planProposed');
export const planLiveSignal = defineSignal<[ApprovedPlanRef]>('planLive');
export const planClosedSignal = defineSignal<[PlanRef & { status: PlanStatus }]>('planClosed');
export const coordinatorStateQuery = defineQuery<CoordinatorState>('coordinatorState');
/** Coordinator → plan: a newer plan was proposed, or went live. */
export const supersedePlanSignal = defineSignal<[{ byPlanId: string; reason: SupersedeReason }]>('supersedePlan');
/** Coordinator → plan: which plan is live and what was last approved (for auto-within-bounds). */
export const dispatchContextSignal = defineSignal<[DispatchContext]>('dispatchContext');
/** Emergency plan → the workflow that proposed it (the flood season): how the plan ended (replaced, completed, failed…). */
export const emergencyPlanEndedSignal = defineSignal<[PlanRef & { status: PlanStatus; replacedBy?: string }]>('emergencyPlanEnded');

// --- Flood season -------------------------------------------------------------------------------

export interface FloodSeasonInput {
  networkId: string;
  /** e.g. "2026". */
  seasonId: string;
  /** The season ends at this time once no event is in progress (domain time). */
  seasonEndUtcMs: number;
  /** Domain minutes between checks of forecast and observations. */
  checkIntervalMin: number;
  /** Continue as new after this many checks (default 200). */
  maxIterationsPerRun?: number;
  config: FloodConfig;
  autonomy?: Partial<AutonomyConfig>;
  /** Passed to the emergency plans' dispatch workflows. */
  dispatchTiming?: DispatchTiming;
  clock?: DomainClock;
  /** Finish after this many events have stood down (tests and drills); default: run to the season end. */
  stopAfterEvents?: number;
  carried?: FloodSeasonState;
}

export interface PendingEmergencyPlan {
  plan: EmergencyPlan;
  proposedAtUtcMs: number;
  escalatedAtUtcMs: number | null;
  deadlineUtcMs: number;
}

export interface FloodSeasonState {
  networkId: string;
  seasonId: string;
  /** standing-down: the event is being closed (no decision on an emergency plan is taken then). */
  status: 'watching' | 'event' | 'standing-down' | 'ended';
  iteration: number;
  runs: number;
  warning: WarningLevel;
  response: ResponseLevel | null;
  lastAssessment: FloodAssessment | null;
  event: FloodEventLog | null;
  pending: PendingEmergencyPlan | null;
  /** The approved emergency plan in force and the workflow dispatching it. */
  live: { emergencyPlanId: string; revision: number; planWorkflowId: string; response: ResponseLevel; approvedBy: string } | null;
  /**
   * The emergency plan in force (crew tasks, transfers, tanks, overflow order…) without its setpoint
   * schedule, which its plan workflow holds. Absent in runs started before it was kept (read the log then).
   */
  livePlan?: Omit<EmergencyPlan, 'setpointPlan'> | null;
  eventsCompleted: number;
  /** Reports of this season's events, newest last (the last few; all are in InfluxDB). */
  reports: FloodReport[];
  quietChecks: number;
  /** What the latest emergency plan was built on, to decide when to re-plan. */
  planBasis: { response: ResponseLevel; onsetUtcMs: number | null; maxForecast12hMm: number } | null;
  /**
   * Tells event and plan ids of this season run apart from a restarted season's (its start, domain UTC
   * MMDDHHmmss); absent in seasons started before it, whose ids have none.
   */
  runTag?: string;
  /** The forecast is missing since then: checks neither lower the level nor count as quiet; the dispatcher was alarmed. */
  inputsMissing?: { sinceUtcMs: number; notes: string[]; alarmed: boolean } | null;
  /**
   * A new revision is proposed at the next check while the warning lasts: the last one expired or was rejected
   * (unless an approved plan at that level is in force), or a dispatcher asked for one.
   */
  replanDue?: 'expired' | 'rejected' | 'requested' | null;
  /** Events whose report could not be written yet (InfluxDB away): retried at every check. */
  unwrittenReports?: FloodEventLog[];
  /** A stand-down plan that could not be dispatched yet: retried at every check. */
  standDownDue?: { planId: string; response: ResponseLevel; fromPlanId: string; approvedBy: string } | null;
  /** How the last emergency plan in force ended when it ended early (replaced by another plan, dispatch failed). */
  liveEnded?: { planId: string; status: PlanStatus; replacedBy?: string; atUtcMs: number } | null;
  /** Notifications that were not delivered (newest last, the last few): what the console alarms on. */
  notificationFailures?: { atUtcMs: number; key: string; audience: string; title: string; error: string }[];
  /** When the configuration in use was last replaced by the worker's (FLOOD_CONFIG_FILE changed). */
  configUpdatedAtUtcMs?: number;
}

/** The flood config the season runs with now (the worker compares it with the configured one). */
export const floodSeasonConfigQuery = defineQuery<FloodConfig>('floodSeasonConfig');
/** Worker → flood season: the configured flood config differs from the one the season runs with. */
export const floodConfigSignal = defineSignal<[{ config: FloodConfig; reason: string }]>('floodConfig');
/** A dispatcher asks for a new emergency plan revision at the next check (after a rejection or expiry). */
export const requestReplanSignal = defineSignal<[{ userName: string; reason?: string }]>('requestFloodReplan');

export interface EmergencyDecisionInput extends DecisionInput {
  emergencyPlanId: string;
}

export const floodStatusQuery = defineQuery<FloodSeasonState>('floodStatus');
/** The report of an event (default: the latest), or null. */
export const floodReportQuery = defineQuery<FloodReport | null, [string?]>('floodReport');
export const approveEmergencyPlanUpdate = defineUpdate<FloodSeasonState, [EmergencyDecisionInput]>('approveEmergencyPlan');
export const rejectEmergencyPlanUpdate = defineUpdate<FloodSeasonState, [EmergencyDecisionInput]>('rejectEmergencyPlan');
