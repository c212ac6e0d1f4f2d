// The flood season (汛期) of one network: every check it assesses forecast and observed rain (activity),
// raises or lowers the warning and response level, builds an emergency plan for the level, waits for
// approval by the role that level demands (or runs a pre-approved playbook under emergency-auto), dispatches
// the approved plan through a dispatchPlan workflow, re-plans when the forecast changes, stands down when
// the event has passed, and writes the post-event report. Continues as new after a number of checks.
import { ApplicationFailure, ParentClosePolicy, allHandlersFinished, condition, continueAsNew, log, patched, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { DispatchActivities } from '../activities/dispatch.js';
import type { FloodActivities } from '../activities/flood.js';
import {
  approveEmergencyPlanUpdate,
  autonomyConfig,
  emergencyPlanEndedSignal,
  emergencyPlanWorkflowIdPrefix,
  floodConfigSignal,
  floodReportQuery,
  floodSeasonConfigQuery,
  floodStatusQuery,
  rejectEmergencyPlanUpdate,
  requestReplanSignal,
  roleAtLeast,
  type Decision,
  type DispatchPlanInput,
  type EmergencyDecisionInput,
  type FloodSeasonInput,
  type FloodSeasonState,
  type Role,
} from '../contract/index.js';
import { responseLevelNames, roleNames, warningNames, warningRank, type ResponseLevel, type EmergencyPlan, type FloodAction, type FloodAssessment, type FloodEventLog, type FloodReport } from '../flood/types.js';
import type { Audience, Notification } from '../notify/types.js';
import { NOTIFICATION_FAILURES_KEPT, ensureCoordinator, undeliveredText, workflowClock } from './common.js';
import { dispatchPlan } from './dispatch-plan.js';

const io = proxyActivities<FloodActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
});
const notifyIo = proxyActivities<DispatchActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 4 } });

/**
 * Version marker: an assessment without a forecast is "unknown": it keeps the level in force, does not count
 * as a quiet check (stand-down needs positive evidence of dry weather), and alarms the dispatcher once per
 * outage; before, it counted as "no rain" and stood the event down.
 */
export const FLOOD_UNKNOWN_ASSESSMENT = 'flood-unknown-assessment';
/** Version marker: after an expiry or a rejection, a new revision is proposed at the next check while the warning lasts. */
export const REPLAN_AFTER_EXPIRY = 'replan-after-expiry';
/** A lower response level once the rain has begun proposes no new drawdown plan (the tail of the event). */
export const REPLAN_ONLY_ON_RISE = 'replan-only-on-rise';
const responseSeverity: Readonly<Record<ResponseLevel, number>> = { IV: 1, III: 2, II: 3, I: 4 };
/**
 * Version marker: a failed activity (plan build, dispatch start, stand-down plan, report write) no longer fails
 * the season: it is recorded, alarmed and retried at later checks; and event and plan ids carry the run's start.
 */
export const FLOOD_ACTIVITY_GUARDS = 'flood-activity-guards';
/** Version marker: stand-down withdraws the waiting plan before its first message (no approval during it). */
export const STAND_DOWN_FIRST = 'stand-down-first';
/** Version marker: an emergency plan approved automatically is announced to the dispatcher and the level's audiences. */
export const NOTIFY_ON_AUTO_APPROVAL = 'notify-on-auto-approval';

const REPORTS_KEPT = 5;
/** Domain UTC MMDDHHmmss: tells a restarted season's ids from the failed run's. */
const runTagOf = (utcMs: number) => new Date(utcMs).toISOString().replace(/[-:T]/g, '').slice(4, 14);
const errorText = (error: unknown) => (error instanceof Error ? (error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message) : String(error));
/** No forecast: the assessment cannot tell dry weather from an outage. */
const forecastMissing = (a: FloodAssessment) => a.forecastSource === 'none' || a.forecastIssuedAtUtcMs === null;
const nextRoleUp = (role: Role): 'supervisor' | 'admin' => (role === 'dispatcher' || role === 'viewer' ? 'supervisor' : 'admin');
const maxForecast12h = (a: FloodAssessment) => Math.max(0, ...a.catchments.map((c) => c.forecast.max12hMm));

export async function floodSeason(input: FloodSeasonInput): Promise<FloodSeasonState> {
  const clock = workflowClock(input.clock);
  let config = input.config;
  const autonomy = autonomyConfig(input.autonomy);
  const maxIterations = input.maxIterationsPerRun ?? 200;
  const seasonWorkflowId = workflowInfo().workflowId;
  const state: FloodSeasonState = input.carried
    ? { ...input.carried, runs: input.carried.runs + 1 }
    : {
        networkId: input.networkId,
        seasonId: input.seasonId,
        status: 'watching',
        iteration: 0,
        runs: 1,
        warning: 'none',
        response: null,
        lastAssessment: null,
        event: null,
        pending: null,
        live: null,
        eventsCompleted: 0,
        reports: [],
        quietChecks: 0,
        planBasis: null,
      };
  // Event and plan ids unique across a restarted season (same workflow id, counters from 0 again).
  if (!input.carried && patched(FLOOD_ACTIVITY_GUARDS)) state.runTag = runTagOf(clock.now());
  let iterationsThisRun = 0;
  /** Approvals whose dispatch workflow is being started: stand-down waits for them before it looks at the plan in force. */
  let activating = 0;
  const eventKey = () => `${input.seasonId}${state.runTag ? `-s${state.runTag}` : ''}-e${state.eventsCompleted + 1}`;

  const act = (kind: FloodAction['kind'], detail: string, extra: Partial<FloodAction> = {}) => {
    state.event?.actions.push({ atUtcMs: clock.now(), kind, detail, ...extra });
  };
  /** Send; the outcome goes into the event log (a message nobody received is an action too). True when delivered. */
  const notify = async (n: Notification): Promise<boolean> => {
    let error: string | null = null;
    try {
      error = undeliveredText(await notifyIo.notify(n));
    } catch (e) {
      error = errorText(e);
    }
    if (error === null) {
      act('notification', `${n.audience}: ${n.title}`);
      return true;
    }
    log.warn('notification not delivered', { key: n.key, error });
    act('notification-failed', `${n.audience} NOT told / 未送达: ${n.title}: ${error}`);
    state.notificationFailures = [...(state.notificationFailures ?? []), { atUtcMs: clock.now(), key: n.key, audience: n.audience, title: n.title, error }].slice(-NOTIFICATION_FAILURES_KEPT);
    return false;
  };
  /** An activity failed: recorded, alarmed to the dispatcher; the season goes on (old histories: it failed). */
  const activityFailed = async (what: { zh: string; en: string }, error: unknown, planId?: string) => {
    const text = errorText(error);
    log.error('flood-season activity failed', { what: what.en, error: text });
    act('activity-failed', `${what.en}: ${text}`, planId ? { planId } : {});
    await notify({
      audience: 'dispatcher',
      severity: 'alarm',
      title: `防汛流程故障：${what.zh} / Flood season fault: ${what.en}`,
      text: `${what.zh}失败：${text}\n\n${what.en} failed: ${text}`,
      key: `${input.networkId}:flood-fault:${clock.now()}`,
      ...(planId ? { planId } : {}),
      ...(state.event ? { eventId: state.event.eventId } : {}),
    });
  };
  const planEntry = (id: string) => state.event?.plans.find((p) => p.emergencyPlanId === id);

  // --- Dispatch an approved emergency plan (or the stand-down plan) through its own workflow. ---
  const activate = async (plan: EmergencyPlan, decision: Decision): Promise<boolean> => {
    const planInput: DispatchPlanInput = {
      networkId: input.networkId,
      kind: 'emergency',
      plan: plan.setpointPlan,
      snapshot: null,
      forecast: null,
      approval: config.approval,
      autonomy,
      requiredRole: plan.requiredRole,
      preApproved: decision,
      ...(input.dispatchTiming ? { timing: input.dispatchTiming } : {}),
      ...(input.clock ? { clock: input.clock } : {}),
      proposedBy: seasonWorkflowId,
    };
    activating++;
    try {
      await ensureCoordinator(input.networkId);
      await startChild(dispatchPlan, { workflowId: plan.emergencyPlanId, args: [planInput], parentClosePolicy: ParentClosePolicy.ABANDON });
    } catch (error) {
      // e.g. a workflow of that id still running: not a TemporalFailure, so uncaught it would stall the season.
      if (!patched(FLOOD_ACTIVITY_GUARDS)) throw error;
      await activityFailed({ zh: `应急预案 ${plan.emergencyPlanId} 下发启动`, en: `starting the dispatch of ${plan.emergencyPlanId}` }, error, plan.emergencyPlanId);
      return false;
    } finally {
      activating--;
    }
    state.liveEnded = null;
    state.live = { emergencyPlanId: plan.emergencyPlanId, revision: plan.revision, planWorkflowId: plan.emergencyPlanId, response: plan.response, approvedBy: decision.userName };
    // Kept in memory for the board (query only, no command); the setpoints stay with the plan workflow.
    const { setpointPlan: _setpoints, ...inForce } = plan;
    state.livePlan = inForce;
    const entry = planEntry(plan.emergencyPlanId);
    if (entry) Object.assign(entry, { decidedAtUtcMs: decision.decidedAtUtcMs, decidedBy: decision.userName, role: decision.role, outcome: 'approved', planWorkflowId: plan.emergencyPlanId });
    act(decision.automatic ? 'plan-auto-approved' : 'plan-approved', decision.automatic ?? decision.comment ?? `revision ${plan.revision}`, { by: decision.userName, planId: plan.emergencyPlanId });
    act('dispatch-started', `${plan.drawdown.length} stations drawn down; ${plan.transfers.length} transfer(s)`, { planId: plan.emergencyPlanId });
    for (const t of plan.crewTasks) act('crew-task', `${t.kind} @ ${t.stationId} (${t.location.latDeg},${t.location.lonDeg}) due ${new Date(t.dueUtcMs).toISOString()}`, { planId: plan.emergencyPlanId });
    for (const n of plan.notifications.filter((x) => x.audience === 'crew')) {
      await notify({ audience: n.audience, severity: n.severity, title: n.title, text: n.text, key: `${plan.emergencyPlanId}:crew`, planId: plan.emergencyPlanId, ...(state.event ? { eventId: state.event.eventId } : {}) });
    }
    return true;
  };

  // --- Messages ---
  setHandler(floodStatusQuery, () => state);
  setHandler(floodReportQuery, (eventId?: string) => (eventId ? (state.reports.find((r) => r.eventId === eventId) ?? null) : (state.reports.at(-1) ?? null)));
  const validateEmergencyDecision = (d: EmergencyDecisionInput) => {
    if (state.status === 'standing-down') throw new Error('the event is standing down: no emergency plan can be decided');
    const p = state.pending;
    if (!p) throw new Error('no emergency plan is waiting for approval');
    if (d.emergencyPlanId !== p.plan.emergencyPlanId) throw new Error(`emergency plan ${d.emergencyPlanId} is not the one waiting (${p.plan.emergencyPlanId})`);
    if (!d.userName) throw new Error('a decision needs the user who made it');
    if (!roleAtLeast(d.role, p.plan.requiredRole)) {
      throw new Error(`a ${responseLevelNames[p.plan.response].en} emergency plan needs a ${p.plan.requiredRole} or higher; ${d.userName} is ${d.role}`);
    }
  };
  setHandler(
    approveEmergencyPlanUpdate,
    async (d) => {
      const p = state.pending;
      if (!p) return state; // withdrawn meanwhile (validators do not run on replay)
      state.pending = null;
      const started = await activate(p.plan, { kind: 'approve', userName: d.userName, role: d.role, ...(d.comment ? { comment: d.comment } : {}), decidedAtUtcMs: clock.now() });
      if (!started) {
        // Not in force: the plan waits again, and the approver is told why.
        if (state.pending === null && state.status === 'event') state.pending = p;
        throw ApplicationFailure.create({ message: `emergency plan ${p.plan.emergencyPlanId} could not be dispatched; it is still waiting for approval`, nonRetryable: true });
      }
      return state;
    },
    { validator: validateEmergencyDecision },
  );
  setHandler(
    rejectEmergencyPlanUpdate,
    (d) => {
      const p = state.pending;
      if (!p) return state;
      state.pending = null;
      state.replanDue = 'rejected';
      const entry = planEntry(p.plan.emergencyPlanId);
      if (entry) Object.assign(entry, { decidedAtUtcMs: clock.now(), decidedBy: d.userName, role: d.role, outcome: 'rejected' });
      act('plan-rejected', d.comment ?? '', { by: d.userName, planId: p.plan.emergencyPlanId });
      return state;
    },
    {
      validator: (d: EmergencyDecisionInput) => {
        validateEmergencyDecision(d);
        if (!d.comment?.trim()) throw new Error('a rejection needs a reason');
      },
    },
  );

  setHandler(emergencyPlanEndedSignal, (m) => {
    // Only the plan in force matters: a revision replaced by the next approved one, or by the stand-down, is expected.
    if (!state.live || state.live.planWorkflowId !== m.workflowId || (m.status !== 'replaced' && m.status !== 'dispatch-failed')) return;
    act('plan-replaced', m.status === 'replaced' ? `${m.planId} replaced by ${m.replacedBy ?? 'another plan'}; no emergency plan in force` : `${m.planId} dispatch failed; no emergency plan in force`, { planId: m.planId });
    state.liveEnded = { planId: m.planId, status: m.status, ...(m.replacedBy ? { replacedBy: m.replacedBy } : {}), atUtcMs: clock.now() };
    state.live = null;
    state.livePlan = null;
  });
  setHandler(floodSeasonConfigQuery, () => config);
  setHandler(floodConfigSignal, ({ config: next, reason }) => {
    // The worker validated it against the schema; it applies from the next check (and survives continue-as-new).
    log.info('flood config replaced', { seasonId: input.seasonId, reason });
    config = next;
    state.configUpdatedAtUtcMs = clock.now();
  });
  setHandler(requestReplanSignal, ({ userName, reason }) => {
    log.info('re-plan requested', { userName, reason });
    if (state.event) state.replanDue = 'requested';
  });

  // --- Plans ---
  const propose = async (a: FloodAssessment) => {
    const event = state.event!;
    const revision = event.plans.length + 1;
    const emergencyPlanId = `${emergencyPlanWorkflowIdPrefix(input.networkId)}-${eventKey()}-r${revision}`;
    let plan: EmergencyPlan;
    try {
      plan = await io.buildEmergencyPlan({ emergencyPlanId, revision, assessment: a, config });
    } catch (error) {
      if (!patched(FLOOD_ACTIVITY_GUARDS)) throw error;
      // The basis stays as it was, so the next check plans again.
      await activityFailed({ zh: `应急预案 ${emergencyPlanId} 编制`, en: `building ${emergencyPlanId}` }, error, emergencyPlanId);
      return;
    }
    state.replanDue = null;
    event.firstForecast ??= {
      atUtcMs: a.assessedAtUtcMs,
      onsetUtcMs: a.onsetUtcMs,
      endUtcMs: a.endUtcMs,
      catchments: a.catchments.map((c) => ({ catchmentId: c.catchmentId, max3hMm: c.forecast.max3hMm, max12hMm: c.forecast.max12hMm, totalMm: c.forecast.totalMm })),
    };
    if (state.pending) {
      const old = planEntry(state.pending.plan.emergencyPlanId);
      if (old) old.outcome = 'superseded';
      act('plan-superseded', `revision ${state.pending.plan.revision} replaced by revision ${revision} before approval`, { planId: state.pending.plan.emergencyPlanId });
      state.pending = null;
    }
    event.plans.push({
      emergencyPlanId,
      revision,
      response: plan.response,
      proposedAtUtcMs: clock.now(),
      decidedAtUtcMs: null,
      decidedBy: null,
      role: null,
      outcome: 'proposed',
      planWorkflowId: null,
      drawdownStations: plan.drawdown.length,
      earliestStartByUtcMs: plan.drawdown.length > 0 ? Math.min(...plan.drawdown.map((d) => d.startByUtcMs)) : null,
      targetLevels: Object.fromEntries(plan.drawdown.map((d) => [d.stationId, d.targetStartLevelM])),
    });
    state.planBasis = { response: plan.response, onsetUtcMs: a.onsetUtcMs, maxForecast12hMm: maxForecast12h(a) };
    act('plan-proposed', `${plan.summary.en}`, { planId: emergencyPlanId });
    if (autonomy.mode === 'emergency-auto' && autonomy.preApprovedFloodLevels.includes(plan.response)) {
      const started = await activate(plan, { kind: 'approve', userName: 'system', role: 'system', decidedAtUtcMs: clock.now(), automatic: `emergency-auto: pre-approved playbook for ${responseLevelNames[plan.response].en}` });
      // Not in force (its dispatch could not start, alarmed): the next check plans again.
      if (!started) state.planBasis = null;
      if (started && patched(NOTIFY_ON_AUTO_APPROVAL)) {
        // In force without anyone's approval: the dispatcher (always) and the level's audiences are told at once.
        const messages = plan.notifications.filter((x) => x.audience !== 'crew');
        const audiences = [...new Set<Audience>(['dispatcher', ...messages.map((x) => x.audience)])];
        for (const audience of audiences) {
          const n = messages.find((x) => x.audience === audience) ?? messages[0];
          await notify({
            audience,
            severity: n?.severity ?? 'warning',
            title: `应急预案已自动执行 / Emergency plan put in force automatically: ${n?.title ?? plan.summary.en}`,
            text: `${n?.text ?? `${plan.summary.zh}\n\n${plan.summary.en}`}\n\n按预批准预案自动执行，无需审批 / pre-approved playbook, no approval needed: **${emergencyPlanId}**`,
            key: `${emergencyPlanId}:auto-approved`,
            planId: emergencyPlanId,
            eventId: event.eventId,
          });
        }
      }
      return;
    }
    const now = clock.now();
    state.pending = { plan, proposedAtUtcMs: now, escalatedAtUtcMs: null, deadlineUtcMs: now + config.approval.approvalTimeoutMin * 60_000 };
    for (const n of plan.notifications.filter((x) => x.audience !== 'crew')) {
      await notify({ audience: n.audience, severity: n.severity, title: n.title, text: `${n.text}\n\n预案 / plan: **${emergencyPlanId}**`, key: `${emergencyPlanId}:proposed`, planId: emergencyPlanId, eventId: event.eventId });
    }
  };

  const checkPending = async () => {
    const p = state.pending;
    if (!p) return;
    const now = clock.now();
    if (now >= p.deadlineUtcMs - 1) {
      state.pending = null;
      state.replanDue = 'expired';
      const entry = planEntry(p.plan.emergencyPlanId);
      if (entry) entry.outcome = 'expired';
      const kept = state.live ? `approved plan ${state.live.emergencyPlanId} stays in force` : 'no emergency setpoints were sent; stations stay on their current settings / local control';
      act('plan-expired', kept, { planId: p.plan.emergencyPlanId });
      await notify({
        audience: nextRoleUp(p.plan.requiredRole),
        severity: 'alarm',
        title: `应急预案未获批准已失效 / Emergency plan expired unapproved`,
        text: `${p.plan.emergencyPlanId}：${state.live ? `已批准的预案 ${state.live.emergencyPlanId} 继续执行` : '未下发任何应急设定值，各泵站保持当前设定或本地控制'}。\n\n${kept}`,
        key: `${p.plan.emergencyPlanId}:expired`,
        planId: p.plan.emergencyPlanId,
      });
    } else if (p.escalatedAtUtcMs === null && now >= p.proposedAtUtcMs + config.approval.escalateAfterMin * 60_000) {
      p.escalatedAtUtcMs = now;
      const to = nextRoleUp(p.plan.requiredRole);
      const told = await notify({
        audience: to,
        severity: 'emergency',
        title: `应急预案${config.approval.escalateAfterMin}分钟未批准 / Emergency plan unapproved for ${config.approval.escalateAfterMin} min`,
        text: `${p.plan.summary.zh}\n\n${p.plan.summary.en}\n\n需${roleNames[p.plan.requiredRole].zh}或以上批准 / needs a ${p.plan.requiredRole} or above: **${p.plan.emergencyPlanId}**`,
        key: `${p.plan.emergencyPlanId}:escalation`,
        planId: p.plan.emergencyPlanId,
      });
      // Recorded after the message, with its outcome: the log never says someone was told who was not.
      act('plan-escalated', told ? `notified the ${to}` : `the ${to} could NOT be notified (see notification-failed)`, { planId: p.plan.emergencyPlanId });
    }
  };

  // --- Event bookkeeping ---
  const openEvent = (a: FloodAssessment): FloodEventLog => ({
    eventId: `${input.networkId}-${eventKey()}`,
    networkId: input.networkId,
    startedAtUtcMs: a.assessedAtUtcMs,
    endedAtUtcMs: null,
    peakWarning: 'none',
    peakResponse: null,
    levels: [],
    actions: [],
    stations: a.stations.map((s) => ({ stationId: s.stationId, maxLevelM: null, maxLevelAtUtcMs: null, minLevelBeforeOnsetM: null, overflowM3: 0, overflowSamples: 0 })),
    firstForecast: null,
    plans: [],
    observedOnsetUtcMs: null,
  });
  const track = (event: FloodEventLog, a: FloodAssessment) => {
    const previous = event.levels.at(-1);
    const hours = previous ? Math.max(0, (a.assessedAtUtcMs - previous.atUtcMs) / 3_600_000) : 0;
    event.levels.push({ atUtcMs: a.assessedAtUtcMs, warning: a.warning, response: a.response, observed: a.bySource.observed, forecast: a.bySource.forecast });
    if (warningRank(a.warning) > warningRank(event.peakWarning)) {
      event.peakWarning = a.warning;
      event.peakResponse = a.response;
    }
    const raining = a.catchments.filter((c) => c.observed.lastHourMm >= config.wetHourMm);
    if (event.observedOnsetUtcMs === null && raining.length > 0) event.observedOnsetUtcMs = Math.min(...raining.map((c) => c.onsetUtcMs ?? a.assessedAtUtcMs));
    for (const s of a.stations) {
      const stats = event.stations.find((x) => x.stationId === s.stationId);
      if (!stats) continue;
      if (s.levelM !== null && (stats.maxLevelM === null || s.levelM > stats.maxLevelM)) {
        stats.maxLevelM = s.levelM;
        stats.maxLevelAtUtcMs = a.assessedAtUtcMs;
      }
      if (event.observedOnsetUtcMs === null && s.levelM !== null && (stats.minLevelBeforeOnsetM === null || s.levelM < stats.minLevelBeforeOnsetM)) stats.minLevelBeforeOnsetM = s.levelM;
      if (s.overflowM3h !== null && s.overflowM3h > 0) {
        stats.overflowM3 += s.overflowM3h * hours;
        stats.overflowSamples++;
      }
    }
  };

  /** Back to normal bands: part of the approved emergency plan, so it needs no second approval. False when it could not be sent. */
  const dispatchStandDown = async (due: NonNullable<FloodSeasonState['standDownDue']>, a: FloodAssessment | null, alarm: boolean): Promise<boolean> => {
    let setpointPlan: EmergencyPlan['setpointPlan'];
    try {
      setpointPlan = await io.buildStandDownPlan({ planId: due.planId });
    } catch (error) {
      if (!patched(FLOOD_ACTIVITY_GUARDS)) throw error;
      if (alarm) await activityFailed({ zh: '汛情解除恢复计划编制（泵站仍为防汛设定，每次检查重试）', en: 'building the stand-down plan (stations keep their flood settings; retried at every check)' }, error, due.planId);
      else log.warn('stand-down plan still not built', { planId: due.planId, error: errorText(error) });
      return false;
    }
    const standDownPlan: EmergencyPlan = {
      emergencyPlanId: due.planId,
      revision: 0,
      networkId: input.networkId,
      createdAtUtcMs: clock.now(),
      warning: 'none',
      response: due.response,
      requiredRole: 'dispatcher',
      operatingMode: 'flood-drawdown',
      flowMode: 'high-flow',
      rainOnsetUtcMs: null,
      rainEndUtcMs: null,
      basis: a ? { assessedAtUtcMs: a.assessedAtUtcMs, forecastIssuedAtUtcMs: a.forecastIssuedAtUtcMs, forecastSource: a.forecastSource } : { assessedAtUtcMs: clock.now(), forecastIssuedAtUtcMs: null, forecastSource: 'none' },
      drawdown: [],
      transfers: [],
      tanks: [],
      standbyPumps: [],
      overflowPriority: [],
      crewTasks: [],
      notifications: [],
      setpointPlan,
      summary: { zh: '汛情解除：恢复正常运行', en: 'Stand-down: back to normal operation' },
    };
    return activate(standDownPlan, { kind: 'approve', userName: 'system', role: 'system', decidedAtUtcMs: clock.now(), automatic: `stand-down of ${due.fromPlanId} approved by ${due.approvedBy}` });
  };

  const keepReport = (report: FloodReport) => {
    state.reports.push(report);
    if (state.reports.length > REPORTS_KEPT) state.reports.splice(0, state.reports.length - REPORTS_KEPT);
  };

  const standDown = async (a: FloodAssessment) => {
    const event = state.event!;
    const withdrawPending = () => {
      if (!state.pending) return;
      const entry = planEntry(state.pending.plan.emergencyPlanId);
      if (entry) entry.outcome = 'withdrawn at stand-down';
      state.pending = null;
    };
    act('stand-down', `no warning for ${state.quietChecks} checks`);
    // Before the first await: no plan can be approved (and go live) while the event is being declared over.
    const first = patched(STAND_DOWN_FIRST);
    if (first) {
      state.status = 'standing-down';
      withdrawPending();
      // An approval already starting its dispatch finishes first, so the stand-down sees it in force.
      await condition(() => activating === 0);
    }
    const audiences: Audience[] = ['dispatcher', ...(event.peakResponse === 'II' || event.peakResponse === 'I' ? (['supervisor'] as const) : []), ...(event.peakResponse === 'I' ? (['admin'] as const) : []), 'crew'];
    for (const audience of audiences) {
      await notify({ audience, severity: 'info', title: `汛情解除，应急响应结束 / Stand-down: emergency response ended`, text: `${event.eventId}：${warningNames[event.peakWarning].zh} → 解除 / ${warningNames[event.peakWarning].en} lifted`, key: `${event.eventId}:stand-down:${audience}`, eventId: event.eventId });
    }
    if (!first) withdrawPending();
    if (state.live) {
      const due = { planId: `${emergencyPlanWorkflowIdPrefix(input.networkId)}-${eventKey()}-standdown`, response: state.live.response, fromPlanId: state.live.emergencyPlanId, approvedBy: state.live.approvedBy };
      if (!(await dispatchStandDown(due, a, true))) state.standDownDue = due;
    }
    event.endedAtUtcMs = a.assessedAtUtcMs;
    try {
      keepReport(await io.writeFloodReport({ event, config }));
    } catch (error) {
      if (!patched(FLOOD_ACTIVITY_GUARDS)) throw error;
      // Kept with the season and written at a later check: the report is never lost.
      await activityFailed({ zh: `事件报告 ${event.eventId} 写入（下次检查重试）`, en: `writing the report of ${event.eventId} (retried at the next check)` }, error);
      state.unwrittenReports = [...(state.unwrittenReports ?? []), event];
    }
    state.eventsCompleted++;
    state.event = null;
    state.live = null;
    state.livePlan = null;
    state.planBasis = null;
    state.replanDue = null;
    state.status = 'watching';
    state.quietChecks = 0;
  };

  /** Left over from an earlier check: reports not written yet, a stand-down plan not sent yet. */
  const retryLeftovers = async () => {
    if (state.unwrittenReports?.length) {
      const left: FloodEventLog[] = [];
      for (const event of state.unwrittenReports) {
        try {
          keepReport(await io.writeFloodReport({ event, config }));
          log.info('event report written on retry', { eventId: event.eventId });
        } catch (error) {
          log.warn('event report still not written', { eventId: event.eventId, error: errorText(error) });
          left.push(event);
        }
      }
      state.unwrittenReports = left;
    }
    const due = state.standDownDue;
    if (due && !state.event && (await dispatchStandDown(due, null, false))) {
      state.standDownDue = null;
      state.live = null;
      state.livePlan = null;
    }
  };

  /** No forecast (or no rain data at all): the level in force stays, the check is not quiet, the dispatcher is alarmed once. */
  const inputsMissing = async (notes: string[]) => {
    const missing = (state.inputsMissing ??= { sinceUtcMs: clock.now(), notes, alarmed: false });
    missing.notes = notes;
    act('inputs-missing', `${notes.join('; ')}: level kept at ${warningNames[state.warning].en}; not counted as a quiet check`);
    if (missing.alarmed) return;
    missing.alarmed = true;
    const since = new Date(missing.sinceUtcMs).toISOString();
    await notify({
      audience: 'dispatcher',
      severity: 'alarm',
      title: `降雨预报缺失，汛情无法判断 / Rain forecast missing: flood state unknown`,
      text:
        `自 ${since} 起无法获取降雨预报（${notes.join('；')}）。预警保持${warningNames[state.warning].zh}不变，期间的检查不计入汛情解除；请人工关注雨情与泵站液位。\n\n` +
        `No rain forecast since ${since} (${notes.join('; ')}). The warning stays at ${warningNames[state.warning].en} and these checks do not count towards stand-down; watch the rain and wet-well levels manually.`,
      key: `${input.networkId}:forecast-missing:${missing.sinceUtcMs}`,
      ...(state.event ? { eventId: state.event.eventId } : {}),
    });
  };
  const inputsBack = async () => {
    const missing = state.inputsMissing!;
    state.inputsMissing = null;
    const minutes = Math.round((clock.now() - missing.sinceUtcMs) / 60_000);
    act('inputs-missing', `forecast back after ${minutes} min`);
    if (!missing.alarmed) return;
    await notify({
      audience: 'dispatcher',
      severity: 'info',
      title: `降雨预报已恢复 / Rain forecast back`,
      text: `降雨预报中断约${minutes}分钟后已恢复，汛情判断恢复正常。\n\nThe rain forecast is back after about ${minutes} min; flood checks are assessed normally again.`,
      key: `${input.networkId}:forecast-missing:${missing.sinceUtcMs}:back`,
      ...(state.event ? { eventId: state.event.eventId } : {}),
    });
  };

  const onAssessment = async (a: FloodAssessment) => {
    const unknown = forecastMissing(a);
    // Unknown is not dry: only rain seen above the level in force (positive evidence) is acted on.
    if (unknown && warningRank(a.warning) <= warningRank(state.warning) && patched(FLOOD_UNKNOWN_ASSESSMENT)) {
      state.lastAssessment = a;
      await inputsMissing(a.notes.filter((n) => n.startsWith('forecast')).concat(a.notes.some((n) => n.startsWith('forecast')) ? [] : [`forecast source: ${a.forecastSource}`]));
      return;
    }
    if (!unknown && state.inputsMissing && patched(FLOOD_UNKNOWN_ASSESSMENT)) await inputsBack();
    const before = state.warning;
    state.lastAssessment = a;
    state.warning = a.warning;
    state.response = a.response;
    if (!state.event) {
      if (a.response === null) return;
      state.event = openEvent(a);
      state.status = 'event';
      state.quietChecks = 0;
      state.standDownDue = null; // a new event's plans take over from the unsent stand-down
      track(state.event, a);
      act('warning-raised', `${warningNames[a.warning].en} (observed ${a.bySource.observed}, forecast ${a.bySource.forecast}): ${responseLevelNames[a.response].en}`);
      await propose(a);
      return;
    }
    const event = state.event;
    track(event, a);
    if (a.response === null) {
      state.quietChecks++;
      if (before !== 'none') act('warning-lowered', `${warningNames[before].en} → none`);
      if (state.quietChecks >= config.standDownAfterQuietChecks) await standDown(a);
      return;
    }
    state.quietChecks = 0;
    if (a.warning !== before) act(warningRank(a.warning) > warningRank(before) ? 'warning-raised' : 'warning-lowered', `${warningNames[before].en} → ${warningNames[a.warning].en}: ${responseLevelNames[a.response].en}`);
    const basis = state.planBasis;
    const onsetShift = basis?.onsetUtcMs != null && a.onsetUtcMs !== null ? Math.abs(a.onsetUtcMs - basis.onsetUtcMs) / 60_000 : 0;
    const rainChange = basis && basis.maxForecast12hMm > 0 ? Math.abs(maxForecast12h(a) - basis.maxForecast12hMm) / basis.maxForecast12hMm : 0;
    const onsetStillAhead = a.onsetUtcMs !== null && a.onsetUtcMs > a.assessedAtUtcMs;
    const levelChanged = !basis || basis.response !== a.response;
    // Once the rain has begun, a lower level is the event's tail: a new drawdown plan would only lower wells
    // again after the storm (the stand-down follows). Before onset a lower level re-plans as before.
    const tail = levelChanged && basis !== null && basis !== undefined && responseSeverity[a.response] < responseSeverity[basis.response] && !onsetStillAhead && patched(REPLAN_ONLY_ON_RISE);
    const changed = (levelChanged && !tail) || (onsetStillAhead && (onsetShift > config.replanOnsetShiftMin || rainChange > config.replanRainChangeFraction));
    // Nothing waits and nothing approved at this level is in force (expired, rejected), or a dispatcher asked: plan again.
    const due = state.replanDue;
    const again = !changed && due && !state.pending && (due === 'requested' || state.live?.response !== a.response) && patched(REPLAN_AFTER_EXPIRY);
    if (changed || again) await propose(a);
  };

  // --- The season ---
  for (;;) {
    if (iterationsThisRun >= maxIterations || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      // The config in use (the worker may have replaced it) goes on with the state.
      await continueAsNew<typeof floodSeason>({ ...input, config, carried: state });
    }
    if (!state.event && clock.now() >= input.seasonEndUtcMs && !state.unwrittenReports?.length) {
      state.status = 'ended';
      break;
    }
    await retryLeftovers();
    let assessment: FloodAssessment | null = null;
    let assessError: string | null = null;
    try {
      assessment = await io.assessFlood({ config });
    } catch (error) {
      assessError = errorText(error);
      log.warn('flood assessment failed; next check will retry', { error: assessError });
    }
    state.iteration++;
    iterationsThisRun++;
    if (assessment) await onAssessment(assessment);
    else if (assessError !== null && patched(FLOOD_UNKNOWN_ASSESSMENT)) await inputsMissing([`no assessment: ${assessError}`]);
    if (input.stopAfterEvents !== undefined && state.eventsCompleted >= input.stopAfterEvents && !state.unwrittenReports?.length && !state.standDownDue) {
      state.status = 'ended';
      break;
    }
    // Sleep until the next check, waking for the pending plan's escalation or expiry, whichever comes first.
    const nextCheckAt = clock.now() + input.checkIntervalMin * 60_000;
    while (clock.now() < nextCheckAt) {
      const p = state.pending;
      const wakeAt = p ? Math.min(nextCheckAt, p.escalatedAtUtcMs === null ? Math.min(p.proposedAtUtcMs + config.approval.escalateAfterMin * 60_000, p.deadlineUtcMs) : p.deadlineUtcMs) : nextCheckAt;
      await clock.until(() => state.pending !== p, wakeAt - clock.now());
      await checkPending();
    }
  }
  await condition(allHandlersFinished);
  return state;
}
