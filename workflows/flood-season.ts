// The flood season (汛期) of one network: every check it assesses forecast and observed rain (activity),
// raises or lowers the warning and response level, builds an emergency plan for the level, waits for
// approval by the role that level demands (or runs a pre-approved playbook under emergency-auto), dispatches
// the approved plan through a dispatchPlan workflow, re-plans when the forecast changes, stands down when
// the event has passed, and writes the post-event report. Continues as new after a number of checks.
import { ParentClosePolicy, allHandlersFinished, condition, continueAsNew, log, proxyActivities, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import type { DispatchActivities } from '../activities/dispatch.js';
import type { FloodActivities } from '../activities/flood.js';
import {
  approveEmergencyPlanUpdate,
  autonomyConfig,
  emergencyPlanWorkflowIdPrefix,
  floodReportQuery,
  floodStatusQuery,
  rejectEmergencyPlanUpdate,
  roleAtLeast,
  type Decision,
  type DispatchPlanInput,
  type EmergencyDecisionInput,
  type FloodSeasonInput,
  type FloodSeasonState,
  type Role,
} from '../contract/index.js';
import { responseLevelNames, warningNames, warningRank, type EmergencyPlan, type FloodAction, type FloodAssessment, type FloodEventLog } from '../flood/types.js';
import type { Audience, Notification } from '../notify/types.js';
import { ensureCoordinator, workflowClock } from './common.js';
import { dispatchPlan } from './dispatch-plan.js';

const io = proxyActivities<FloodActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 3 },
});
const notifyIo = proxyActivities<DispatchActivities>({ startToCloseTimeout: '30 seconds', retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumAttempts: 4 } });

const REPORTS_KEPT = 5;
const nextRoleUp = (role: Role): 'supervisor' | 'admin' => (role === 'dispatcher' || role === 'viewer' ? 'supervisor' : 'admin');
const maxForecast12h = (a: FloodAssessment) => Math.max(0, ...a.catchments.map((c) => c.forecast.max12hMm));

export async function floodSeason(input: FloodSeasonInput): Promise<FloodSeasonState> {
  const clock = workflowClock(input.clock);
  const config = input.config;
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
  let iterationsThisRun = 0;

  const act = (kind: FloodAction['kind'], detail: string, extra: Partial<FloodAction> = {}) => {
    state.event?.actions.push({ atUtcMs: clock.now(), kind, detail, ...extra });
  };
  const notify = async (n: Notification) => {
    try {
      await notifyIo.notify(n);
      act('notification', `${n.audience}: ${n.title}`);
    } catch (error) {
      log.warn('notification not delivered', { key: n.key, error: String(error) });
    }
  };
  const planEntry = (id: string) => state.event?.plans.find((p) => p.emergencyPlanId === id);

  // --- Dispatch an approved emergency plan (or the stand-down plan) through its own workflow. ---
  const activate = async (plan: EmergencyPlan, decision: Decision) => {
    await ensureCoordinator(input.networkId);
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
    await startChild(dispatchPlan, { workflowId: plan.emergencyPlanId, args: [planInput], parentClosePolicy: ParentClosePolicy.ABANDON });
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
  };

  // --- Messages ---
  setHandler(floodStatusQuery, () => state);
  setHandler(floodReportQuery, (eventId?: string) => (eventId ? (state.reports.find((r) => r.eventId === eventId) ?? null) : (state.reports.at(-1) ?? null)));
  const validateEmergencyDecision = (d: EmergencyDecisionInput) => {
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
      const p = state.pending!;
      state.pending = null;
      await activate(p.plan, { kind: 'approve', userName: d.userName, role: d.role, ...(d.comment ? { comment: d.comment } : {}), decidedAtUtcMs: clock.now() });
      return state;
    },
    { validator: validateEmergencyDecision },
  );
  setHandler(
    rejectEmergencyPlanUpdate,
    (d) => {
      const p = state.pending!;
      state.pending = null;
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

  // --- Plans ---
  const propose = async (a: FloodAssessment) => {
    const event = state.event!;
    const revision = event.plans.length + 1;
    const emergencyPlanId = `${emergencyPlanWorkflowIdPrefix(input.networkId)}-${input.seasonId}-e${state.eventsCompleted + 1}-r${revision}`;
    const plan = await io.buildEmergencyPlan({ emergencyPlanId, revision, assessment: a, config });
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
      await activate(plan, { kind: 'approve', userName: 'system', role: 'system', decidedAtUtcMs: clock.now(), automatic: `emergency-auto: pre-approved playbook for ${responseLevelNames[plan.response].en}` });
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
      const entry = planEntry(p.plan.emergencyPlanId);
      if (entry) entry.outcome = 'expired';
      const kept = state.live ? `approved plan ${state.live.emergencyPlanId} stays in force` : 'no emergency setpoints were sent; stations stay on their current settings / local control';
      act('plan-expired', kept, { planId: p.plan.emergencyPlanId });
      await notify({
        audience: nextRoleUp(p.plan.requiredRole),
        severity: 'alarm',
        title: `应急预案未获批准已失效 / Emergency plan expired unapproved`,
        text: `${p.plan.emergencyPlanId}：${kept}`,
        key: `${p.plan.emergencyPlanId}:expired`,
        planId: p.plan.emergencyPlanId,
      });
    } else if (p.escalatedAtUtcMs === null && now >= p.proposedAtUtcMs + config.approval.escalateAfterMin * 60_000) {
      p.escalatedAtUtcMs = now;
      const to = nextRoleUp(p.plan.requiredRole);
      act('plan-escalated', `notified the ${to}`, { planId: p.plan.emergencyPlanId });
      await notify({
        audience: to,
        severity: 'emergency',
        title: `应急预案${config.approval.escalateAfterMin}分钟未批准 / Emergency plan unapproved for ${config.approval.escalateAfterMin} min`,
        text: `${p.plan.summary.zh}\n\n${p.plan.summary.en}\n\n需${p.plan.requiredRole}批准 / needs a ${p.plan.requiredRole}: **${p.plan.emergencyPlanId}**`,
        key: `${p.plan.emergencyPlanId}:escalation`,
        planId: p.plan.emergencyPlanId,
      });
    }
  };

  // --- Event bookkeeping ---
  const openEvent = (a: FloodAssessment): FloodEventLog => ({
    eventId: `${input.networkId}-${input.seasonId}-e${state.eventsCompleted + 1}`,
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

  const standDown = async (a: FloodAssessment) => {
    const event = state.event!;
    act('stand-down', `no warning for ${state.quietChecks} checks`);
    const audiences: Audience[] = ['dispatcher', ...(event.peakResponse === 'II' || event.peakResponse === 'I' ? (['supervisor'] as const) : []), ...(event.peakResponse === 'I' ? (['admin'] as const) : []), 'crew'];
    for (const audience of audiences) {
      await notify({ audience, severity: 'info', title: `汛情解除，应急响应结束 / Stand-down: emergency response ended`, text: `${event.eventId}：${warningNames[event.peakWarning].zh} → 解除 / ${warningNames[event.peakWarning].en} lifted`, key: `${event.eventId}:stand-down:${audience}`, eventId: event.eventId });
    }
    if (state.pending) {
      const entry = planEntry(state.pending.plan.emergencyPlanId);
      if (entry) entry.outcome = 'withdrawn at stand-down';
      state.pending = null;
    }
    if (state.live) {
      // Back to normal bands: part of the approved emergency plan, so it needs no second approval.
      const planId = `${emergencyPlanWorkflowIdPrefix(input.networkId)}-${input.seasonId}-e${state.eventsCompleted + 1}-standdown`;
      const setpointPlan = await io.buildStandDownPlan({ planId });
      const standDownPlan: EmergencyPlan = {
        emergencyPlanId: planId,
        revision: 0,
        networkId: input.networkId,
        createdAtUtcMs: clock.now(),
        warning: 'none',
        response: state.live.response,
        requiredRole: 'dispatcher',
        operatingMode: 'flood-drawdown',
        flowMode: 'high-flow',
        rainOnsetUtcMs: null,
        rainEndUtcMs: null,
        basis: { assessedAtUtcMs: a.assessedAtUtcMs, forecastIssuedAtUtcMs: a.forecastIssuedAtUtcMs, forecastSource: a.forecastSource },
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
      await activate(standDownPlan, { kind: 'approve', userName: 'system', role: 'system', decidedAtUtcMs: clock.now(), automatic: `stand-down of ${state.live.emergencyPlanId} approved by ${state.live.approvedBy}` });
    }
    event.endedAtUtcMs = a.assessedAtUtcMs;
    const report = await io.writeFloodReport({ event, config });
    state.reports.push(report);
    if (state.reports.length > REPORTS_KEPT) state.reports.splice(0, state.reports.length - REPORTS_KEPT);
    state.eventsCompleted++;
    state.event = null;
    state.live = null;
    state.livePlan = null;
    state.planBasis = null;
    state.status = 'watching';
    state.quietChecks = 0;
  };

  const onAssessment = async (a: FloodAssessment) => {
    const before = state.warning;
    state.lastAssessment = a;
    state.warning = a.warning;
    state.response = a.response;
    if (!state.event) {
      if (a.response === null) return;
      state.event = openEvent(a);
      state.status = 'event';
      state.quietChecks = 0;
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
    if (!basis || basis.response !== a.response || (onsetStillAhead && (onsetShift > config.replanOnsetShiftMin || rainChange > config.replanRainChangeFraction))) {
      await propose(a);
    }
  };

  // --- The season ---
  for (;;) {
    if (iterationsThisRun >= maxIterations || workflowInfo().continueAsNewSuggested) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof floodSeason>({ ...input, carried: state });
    }
    if (!state.event && clock.now() >= input.seasonEndUtcMs) {
      state.status = 'ended';
      break;
    }
    let assessment: FloodAssessment | null = null;
    try {
      assessment = await io.assessFlood({ config });
    } catch (error) {
      log.warn('flood assessment failed; next check will retry', { error: String(error) });
    }
    state.iteration++;
    iterationsThisRun++;
    if (assessment) await onAssessment(assessment);
    if (input.stopAfterEvents !== undefined && state.eventsCompleted >= input.stopAfterEvents) {
      state.status = 'ended';
      break;
    }
    // Sleep until the next check, waking for the pending plan's escalation and expiry.
    const nextCheckAt = clock.now() + input.checkIntervalMin * 60_000;
    while (clock.now() < nextCheckAt) {
      const p = state.pending;
      const wakeAt = p ? Math.min(nextCheckAt, p.escalatedAtUtcMs === null ? p.proposedAtUtcMs + config.approval.escalateAfterMin * 60_000 : p.deadlineUtcMs) : nextCheckAt;
      await clock.until(() => state.pending !== p, wakeAt - clock.now());
      await checkPending();
    }
  }
  await condition(allHandlersFinished);
  return state;
}
