// Flood season: the current warning and response level with the emergency plan waiting for approval,
// post-event reports, and approval of an emergency plan by the role its level demands (IV/III dispatcher,
// II supervisor, I admin by default: the flood-season workflow's configuration). Decisions are Temporal
// Updates to the flood-season workflow; its validator checks the role again before history. A dispatcher's
// request for a new revision (after an expiry or rejection, nothing waiting) is the signal requestFloodReplan.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Type from 'typebox';
import {
  approveEmergencyPlanUpdate,
  floodReportQuery,
  floodSeasonWorkflowId,
  floodStatusQuery,
  rejectEmergencyPlanUpdate,
  requestReplanSignal,
  roleAtLeast,
  type FloodSeasonState,
  type Role,
} from '../../contract/index.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { quoteIdent, quoteString } from '../../forecasting/influxql.js';
import { warningLevels, type FloodReport } from '../../flood/types.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { Store } from '../../store/db.js';
import { recordOutcome, refusalStands } from '../auth.js';
import { errorResponses } from '../schemas.js';
import { readLiveState } from './state.js';

const Open = { additionalProperties: true };
const Localised = Type.Object({ zh: Type.String(), en: Type.String() });

const PendingPlan = Type.Object(
  {
    emergencyPlanId: Type.String(),
    revision: Type.Number(),
    warning: Type.String(),
    response: Type.String(),
    requiredRole: Type.String(),
    proposedAtUtcMs: Type.Number(),
    escalatedAtUtcMs: Type.Union([Type.Number(), Type.Null()]),
    deadlineUtcMs: Type.Number(),
    rainOnsetUtcMs: Type.Union([Type.Number(), Type.Null()]),
    rainEndUtcMs: Type.Union([Type.Number(), Type.Null()]),
    summary: Localised,
    flowMode: Type.String(),
    drawdown: Type.Array(Type.Object({}, Open)),
    transfers: Type.Array(Type.Object({}, Open)),
    tanks: Type.Array(Type.Object({}, Open)),
    overflowPriority: Type.Array(Type.Object({}, Open)),
    crewTasks: Type.Array(Type.Object({}, Open)),
    setpointSteps: Type.Number(),
  },
  Open,
);

export const FloodStatusBody = Type.Object({
  workflowId: Type.String(),
  workflowStatus: Type.String(),
  seasonId: Type.String(),
  status: Type.String(),
  warning: Type.String(),
  /** 0 (none) … 4 (red), as in InfluxDB flood_status. */
  response: Type.Union([Type.String(), Type.Null()]),
  iteration: Type.Number(),
  runs: Type.Number(),
  assessedAtUtcMs: Type.Union([Type.Number(), Type.Null()]),
  bySource: Type.Union([Type.Object({ observed: Type.String(), forecast: Type.String() }), Type.Null()]),
  evidence: Type.Array(Type.Object({}, Open)),
  notes: Type.Array(Type.String()),
  pending: Type.Union([PendingPlan, Type.Null()]),
  live: Type.Union([Type.Object({ emergencyPlanId: Type.String(), revision: Type.Number(), planWorkflowId: Type.String(), response: Type.String(), approvedBy: Type.String() }), Type.Null()]),
  event: Type.Union([Type.Object({ eventId: Type.String(), startedAtUtcMs: Type.Number(), peakWarning: Type.String(), peakResponse: Type.Union([Type.String(), Type.Null()]), actions: Type.Array(Type.Object({}, Open)), plans: Type.Array(Type.Object({}, Open)) }, Open), Type.Null()]),
  eventsCompleted: Type.Number(),
  reports: Type.Array(Type.Object({ eventId: Type.String(), reportId: Type.String(), peakWarning: Type.String(), startedAtUtcMs: Type.Number(), endedAtUtcMs: Type.Number(), summary: Localised })),
});
export type FloodStatusBody = Type.Static<typeof FloodStatusBody>;

const ReportBody = Type.Object({ reportId: Type.String(), eventId: Type.String(), networkId: Type.String(), summary: Localised }, Open);
const DecisionBody = Type.Object({ emergencyPlanId: Type.String({ minLength: 1, maxLength: 300 }), comment: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });
const RejectBody = Type.Object({ emergencyPlanId: Type.String({ minLength: 1, maxLength: 300 }), reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const ReplanBody = Type.Object({ reason: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });
export const ReplanReply = Type.Object({
  eventId: Type.String(),
  requestedBy: Type.String(),
  /** The workflow proposes the new revision at its next check (when the forecast is known). */
  message: Localised,
});

const Num = Type.Union([Type.Number(), Type.Null()]);

export const FloodBoardBody = Type.Object({
  workflowStatus: Type.String(),
  status: Type.String(),
  warning: Type.String(),
  response: Type.Union([Type.String(), Type.Null()]),
  assessedAtUtcMs: Num,
  rain: Type.Object({
    onsetUtcMs: Num,
    endUtcMs: Num,
    /** Minutes from the assessment to the forecast onset (negative: raining since). */
    minutesToOnset: Num,
    /** Forecast maxima are null when the check had no forecast, observed rain when it had none (unknown, never 0 mm). */
    catchments: Type.Array(
      Type.Object({ catchmentId: Type.String(), stationId: Type.String(), warning: Type.String(), onsetUtcMs: Num, forecastMax3hMm: Num, forecastMax12hMm: Num, observed3hMm: Num }),
    ),
  }),
  /** What the board's figures were built on, and what was missing. */
  inputs: Type.Object({
    /** The last check's notes on its inputs (forecast, observed rain, SCADA), as the assessment wrote them, then the season's. */
    notes: Type.Array(Type.String()),
    forecastIssuedAtUtcMs: Num,
    forecastSource: Type.Union([Type.String(), Type.Null()]),
    /** The last check had no forecast (or no check could be made): onset and forecast maxima are unknown. */
    forecastMissing: Type.Boolean(),
    /** The season keeps the level in force since then because the forecast is missing (not counted as quiet); null: not so. */
    levelKeptSinceUtcMs: Num,
    /** The dispatcher was alarmed about the outage. */
    alarmed: Type.Boolean(),
    /** Stations whose level is read neither from telemetry nor from the last check. */
    levelsUnknown: Type.Array(Type.String()),
  }),
  /** Notifications that did not reach their audience (newest last, the last few the season keeps). */
  notificationFailures: Type.Array(Type.Object({ atUtcMs: Type.Number(), key: Type.String(), audience: Type.String(), title: Type.String(), error: Type.String() })),
  /** A new revision is due at the next check: the last expired, was rejected, or a dispatcher asked; null: none due. */
  replanDue: Type.Union([Type.Literal('expired'), Type.Literal('rejected'), Type.Literal('requested'), Type.Null()]),
  stationsAtRisk: Type.Array(
    Type.Object({
      stationId: Type.String(),
      risk: Type.Union([Type.Literal('overflow'), Type.Literal('high'), Type.Literal('rain')]),
      levelM: Num,
      levelAtUtcMs: Num,
      highAlarmM: Type.Number(),
      overflowM: Type.Number(),
      marginToOverflowM: Num,
      overflowM3h: Num,
      catchmentWarning: Type.String(),
    }),
  ),
  drawdown: Type.Object({
    emergencyPlanId: Type.Union([Type.String(), Type.Null()]),
    /** live: the approved plan in force; pending: the plan waiting (not yet acting); null: none. */
    source: Type.Union([Type.Literal('live'), Type.Literal('pending'), Type.Null()]),
    stations: Type.Array(
      Type.Object({
        stationId: Type.String(),
        fromLevelM: Num,
        targetStartLevelM: Type.Number(),
        levelM: Num,
        startByUtcMs: Num,
        reached: Type.Union([Type.Boolean(), Type.Null()]),
        /** 0–100: how much of the way from `fromLevelM` to the target the level has come. */
        progressPct: Num,
      }),
    ),
  }),
  crewTasks: Type.Array(
    Type.Object({
      planId: Type.String(),
      state: Type.Union([Type.Literal('proposed'), Type.Literal('dispatched')]),
      kind: Type.String(),
      stationId: Type.String(),
      dueUtcMs: Num,
      latDeg: Num,
      lonDeg: Num,
      reason: Type.Union([Localised, Type.Null()]),
    }),
  ),
  pending: Type.Union([Type.Object({ emergencyPlanId: Type.String(), response: Type.String(), requiredRole: Type.String(), proposedAtUtcMs: Type.Number(), escalatedAtUtcMs: Num, deadlineUtcMs: Type.Number(), summary: Localised }), Type.Null()]),
  live: Type.Union([Type.Object({ emergencyPlanId: Type.String(), response: Type.String(), approvedBy: Type.String(), planWorkflowId: Type.String() }), Type.Null()]),
  /**
   * Transfers, tanks and overflow order of the plan in force, from the workflow's state; null when no plan
   * is in force or the run started before the workflow kept the plan (its crew tasks then come from the log).
   */
  inForce: Type.Union([
    Type.Object({
      emergencyPlanId: Type.String(),
      transfers: Type.Array(Type.Object({ interconnectionId: Type.String(), transferM3h: Type.Number(), towardPlantId: Type.Union([Type.String(), Type.Null()]), fromUtcMs: Type.Number(), untilUtcMs: Type.Number(), reason: Localised })),
      tanks: Type.Array(Type.Object({ tankId: Type.String(), emptyUntilUtcMs: Num, fillFromUtcMs: Num, fillUntilUtcMs: Num, reason: Localised })),
      overflowPriority: Type.Array(Type.Object({ stationId: Type.String(), rank: Type.Number(), receivingWater: Type.String(), harm: Type.Number(), reason: Localised })),
    }),
    Type.Null(),
  ]),
});
export type FloodBoardBody = Type.Static<typeof FloodBoardBody>;

export const FloodReportsBody = Type.Object({
  reports: Type.Array(
    Type.Object({
      eventId: Type.String(),
      peakWarning: Type.String(),
      startedAtUtcMs: Num,
      endedAtUtcMs: Type.Number(),
      overflowM3: Num,
      summary: Type.Union([Localised, Type.Null()]),
    }),
  ),
});

/** Within this of the target start level counts as drawn down (level sensors and PLC hysteresis). */
const DRAWDOWN_TOLERANCE_M = 0.05;
/**
 * The flood-season workflow logs a live plan's crew tasks as text: "<kind> @ <station> (<lat>,<lon>) due <ISO time>".
 * Read only for runs that started before the workflow kept the plan in force in its state (`livePlan`).
 */
const crewTaskAction = /^(\S+) @ (\S+) \(([-\d.]+),([-\d.]+)\) due (\S+)$/;

function statusBody(workflowId: string, workflowStatus: string, s: FloodSeasonState): FloodStatusBody {
  const p = s.pending;
  return {
    workflowId,
    workflowStatus,
    seasonId: s.seasonId,
    status: s.status,
    warning: s.warning,
    response: s.response,
    iteration: s.iteration,
    runs: s.runs,
    assessedAtUtcMs: s.lastAssessment?.assessedAtUtcMs ?? null,
    bySource: s.lastAssessment?.bySource ?? null,
    evidence: (s.lastAssessment?.evidence ?? []).slice(0, 10),
    notes: s.lastAssessment?.notes ?? [],
    pending: p
      ? {
          emergencyPlanId: p.plan.emergencyPlanId,
          revision: p.plan.revision,
          warning: p.plan.warning,
          response: p.plan.response,
          requiredRole: p.plan.requiredRole,
          proposedAtUtcMs: p.proposedAtUtcMs,
          escalatedAtUtcMs: p.escalatedAtUtcMs,
          deadlineUtcMs: p.deadlineUtcMs,
          rainOnsetUtcMs: p.plan.rainOnsetUtcMs,
          rainEndUtcMs: p.plan.rainEndUtcMs,
          summary: p.plan.summary,
          flowMode: p.plan.flowMode,
          drawdown: p.plan.drawdown,
          transfers: p.plan.transfers,
          tanks: p.plan.tanks,
          overflowPriority: p.plan.overflowPriority,
          crewTasks: p.plan.crewTasks,
          setpointSteps: p.plan.setpointPlan.steps.length,
        }
      : null,
    live: s.live,
    event: s.event
      ? { eventId: s.event.eventId, startedAtUtcMs: s.event.startedAtUtcMs, peakWarning: s.event.peakWarning, peakResponse: s.event.peakResponse, actions: s.event.actions, plans: s.event.plans }
      : null,
    eventsCompleted: s.eventsCompleted,
    reports: s.reports.map((r) => ({ eventId: r.eventId, reportId: r.reportId, peakWarning: r.peakWarning, startedAtUtcMs: r.startedAtUtcMs, endedAtUtcMs: r.endedAtUtcMs, summary: r.summary })),
  };
}

export const floodRoutes: FastifyPluginAsync<{ network: NetworkConfig; temporal: Client; store: Store; influx: InfluxConnector }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { temporal, store, influx, network } = options;
  const workflowId = floodSeasonWorkflowId(network.id);
  const notFound = () => Object.assign(new Error(`no flood-season workflow for ${network.id}`), { statusCode: 404, code: 'Not Found' });

  async function readStatus(): Promise<{ state: FloodSeasonState; workflowStatus: string }> {
    const handle = temporal.workflow.getHandle(workflowId);
    try {
      const [state, description] = await Promise.all([handle.query(floodStatusQuery), handle.describe()]);
      return { state, workflowStatus: description.status.name };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw notFound();
      throw error;
    }
  }

  app.get(
    '/api/flood/status',
    {
      onRequest: app.requireRole('viewer'),
      schema: { tags: ['flood'], summary: 'Warning and response level, the emergency plan waiting and the one in force / 汛情与应急响应', security: [{ bearer: [] }], response: { 200: FloodStatusBody, ...errorResponses } },
    },
    async () => {
      const { state, workflowStatus } = await readStatus();
      return statusBody(workflowId, workflowStatus, state);
    },
  );

  app.get(
    '/api/flood/report',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['flood'],
        summary: 'Post-event report (latest, or by event) / 汛后复盘报告',
        security: [{ bearer: [] }],
        querystring: Type.Object({ eventId: Type.Optional(Type.String({ minLength: 1, maxLength: 300, pattern: '^[A-Za-z0-9_.:+-]+$' })) }, { additionalProperties: false }),
        response: { 200: ReportBody, ...errorResponses },
      },
    },
    async (request) => {
      const eventId = request.query.eventId;
      let report: FloodReport | null = null;
      try {
        report = await temporal.workflow.getHandle(workflowId).query(floodReportQuery, eventId);
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      if (!report) {
        // Older events (or a season that has ended and been removed): the copy in InfluxDB.
        const where = eventId ? ` AND ${quoteIdent('event')} = ${quoteString(eventId)}` : '';
        const series = await influx.query(`SELECT last("json") FROM "flood_report" WHERE "network" = ${quoteString(network.id)}${where}`);
        const json = series[0]?.values[0]?.[1];
        if (typeof json === 'string') report = JSON.parse(json) as FloodReport;
      }
      if (!report) throw Object.assign(new Error(eventId ? `no report for event ${eventId}` : 'no flood report yet'), { statusCode: 404, code: 'Not Found' });
      return report;
    },
  );


  app.get(
    '/api/flood/board',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['flood'],
        summary: 'Flood-season board: levels, time to rain onset, stations at risk, drawdown progress, crew tasks / 防汛看板',
        security: [{ bearer: [] }],
        response: { 200: FloodBoardBody, ...errorResponses },
      },
    },
    async (request) => {
      const { state, workflowStatus } = await readStatus();
      const a = state.lastAssessment;
      const live = await readLiveState(influx).catch((error: unknown) => {
        request.log.warn({ err: error }, 'live state unavailable for the flood board');
        return { objects: [] };
      });
      // The newest level: telemetry when it is newer than the assessment's own reading.
      const levelOf = (stationId: string): { levelM: number | null; atUtcMs: number | null; overflowM3h: number | null } => {
        const obj = live.objects.find((o) => o.objectKind === 'station' && o.objectId === stationId);
        const fromAssessment = a?.stations.find((x) => x.stationId === stationId);
        if (obj && typeof obj.values['levelM'] === 'number' && (!a || obj.timeUtcMs >= a.assessedAtUtcMs)) {
          return { levelM: obj.values['levelM'], atUtcMs: obj.timeUtcMs, overflowM3h: typeof obj.values['overflowM3h'] === 'number' ? obj.values['overflowM3h'] : null };
        }
        return { levelM: fromAssessment?.levelM ?? null, atUtcMs: a?.assessedAtUtcMs ?? null, overflowM3h: fromAssessment?.overflowM3h ?? null };
      };
      const catchmentLevel = new Map((a?.catchments ?? []).map((c) => [c.stationId, c.level]));

      const stationsAtRisk: FloodBoardBody['stationsAtRisk'] = [];
      for (const st of network.stations) {
        const { levelM, atUtcMs, overflowM3h } = levelOf(st.id);
        const rainLevel = catchmentLevel.get(st.id) ?? 'none';
        const risk =
          (overflowM3h ?? 0) > 0 || (levelM !== null && levelM >= st.levels.overflowM)
            ? 'overflow'
            : levelM !== null && levelM >= st.levels.highAlarmM
              ? 'high'
              : rainLevel !== 'none' && levelM !== null && levelM >= st.levels.pumpStartM
                ? 'rain'
                : null;
        if (!risk) continue;
        stationsAtRisk.push({
          stationId: st.id,
          risk,
          levelM,
          levelAtUtcMs: atUtcMs,
          highAlarmM: st.levels.highAlarmM,
          overflowM: st.levels.overflowM,
          marginToOverflowM: levelM === null ? null : Math.round((st.levels.overflowM - levelM) * 100) / 100,
          overflowM3h,
          catchmentWarning: rainLevel,
        });
      }
      const riskRank = { overflow: 0, high: 1, rain: 2 };
      stationsAtRisk.sort((x, y) => riskRank[x.risk] - riskRank[y.risk] || (x.marginToOverflowM ?? 99) - (y.marginToOverflowM ?? 99));

      const progress = (stationId: string, fromLevelM: number | null, targetStartLevelM: number, startByUtcMs: number | null) => {
        const { levelM } = levelOf(stationId);
        const reached = levelM === null ? null : levelM <= targetStartLevelM + DRAWDOWN_TOLERANCE_M;
        const span = fromLevelM === null ? 0 : fromLevelM - targetStartLevelM;
        const progressPct = reached ? 100 : levelM === null || fromLevelM === null || span <= 0 ? null : Math.round(Math.max(0, Math.min(1, (fromLevelM - levelM) / span)) * 100);
        return { stationId, fromLevelM, targetStartLevelM, levelM, startByUtcMs, reached, progressPct };
      };
      let drawdown: FloodBoardBody['drawdown'] = { emergencyPlanId: null, source: null, stations: [] };
      const liveEntry = state.live ? state.event?.plans.find((p) => p.emergencyPlanId === state.live!.emergencyPlanId) : undefined;
      if (state.live && liveEntry) {
        // Where each level stood when the plan was approved: the first sample at or after the decision.
        const decidedAt = liveEntry.decidedAtUtcMs ?? liveEntry.proposedAtUtcMs;
        const first = await influx
          .query(`SELECT first(${quoteIdent('levelM')}) FROM ${quoteIdent('station')} WHERE time >= ${Math.round(decidedAt)}ms GROUP BY ${quoteIdent('id')}`)
          .catch(() => []);
        const fromOf = (id: string) => {
          const v = first.find((x) => x.tags['id'] === id)?.values[0]?.[1];
          return typeof v === 'number' ? v : null;
        };
        drawdown = {
          emergencyPlanId: state.live.emergencyPlanId,
          source: 'live',
          stations: Object.entries(liveEntry.targetLevels).map(([id, target]) => progress(id, fromOf(id), target, null)),
        };
      } else if (state.pending) {
        drawdown = {
          emergencyPlanId: state.pending.plan.emergencyPlanId,
          source: 'pending',
          stations: state.pending.plan.drawdown.map((d) => progress(d.stationId, d.fromLevelM, d.targetStartLevelM, d.startByUtcMs)),
        };
      }

      const crewTasks: FloodBoardBody['crewTasks'] = [];
      for (const t of state.pending?.plan.crewTasks ?? []) {
        crewTasks.push({ planId: state.pending!.plan.emergencyPlanId, state: 'proposed', kind: t.kind, stationId: t.stationId, dueUtcMs: t.dueUtcMs, latDeg: t.location.latDeg, lonDeg: t.location.lonDeg, reason: t.reason });
      }
      const livePlan = state.live && state.livePlan?.emergencyPlanId === state.live.emergencyPlanId ? state.livePlan : null;
      for (const t of livePlan?.crewTasks ?? []) {
        crewTasks.push({ planId: livePlan!.emergencyPlanId, state: 'dispatched', kind: t.kind, stationId: t.stationId, dueUtcMs: t.dueUtcMs, latDeg: t.location.latDeg, lonDeg: t.location.lonDeg, reason: t.reason });
      }
      for (const action of livePlan ? [] : (state.event?.actions ?? [])) {
        if (action.kind !== 'crew-task' || !state.live || action.planId !== state.live.emergencyPlanId) continue;
        const m = crewTaskAction.exec(action.detail);
        if (!m) continue;
        const due = Date.parse(m[5]!);
        crewTasks.push({ planId: action.planId, state: 'dispatched', kind: m[1]!, stationId: m[2]!, latDeg: Number(m[3]), lonDeg: Number(m[4]), dueUtcMs: Number.isFinite(due) ? due : null, reason: null });
      }
      crewTasks.sort((x, y) => (x.dueUtcMs ?? Infinity) - (y.dueUtcMs ?? Infinity));

      const onset = a?.onsetUtcMs ?? null;
      // The workflow's rule (workflows/flood-season.ts forecastMissing), or the season says so.
      const forecastMissing = Boolean(state.inputsMissing) || (a !== null && (a.forecastSource === 'none' || a.forecastIssuedAtUtcMs === null)) || (a === null && state.status !== 'ended');
      const observedMissing = (a?.notes ?? []).some((n) => n.startsWith('observed rain unavailable'));
      const notes = [...(a?.notes ?? [])];
      for (const n of state.inputsMissing?.notes ?? []) if (!notes.includes(n)) notes.push(n);
      return {
        workflowStatus,
        status: state.status,
        warning: state.warning,
        response: state.response,
        assessedAtUtcMs: a?.assessedAtUtcMs ?? null,
        rain: {
          onsetUtcMs: onset,
          endUtcMs: a?.endUtcMs ?? null,
          minutesToOnset: onset !== null && a ? Math.round((onset - a.assessedAtUtcMs) / 60_000) : null,
          catchments: (a?.catchments ?? []).map((c) => ({
            catchmentId: c.catchmentId,
            stationId: c.stationId,
            warning: c.level,
            onsetUtcMs: c.onsetUtcMs,
            forecastMax3hMm: forecastMissing ? null : c.forecast.max3hMm,
            forecastMax12hMm: forecastMissing ? null : c.forecast.max12hMm,
            observed3hMm: observedMissing ? null : c.observed.mm3h,
          })),
        },
        inputs: {
          notes,
          forecastIssuedAtUtcMs: a?.forecastIssuedAtUtcMs ?? null,
          forecastSource: a?.forecastSource ?? null,
          forecastMissing,
          levelKeptSinceUtcMs: state.inputsMissing?.sinceUtcMs ?? null,
          alarmed: state.inputsMissing?.alarmed ?? false,
          levelsUnknown: network.stations.filter((st) => levelOf(st.id).levelM === null).map((st) => st.id),
        },
        notificationFailures: state.notificationFailures ?? [],
        replanDue: state.replanDue ?? null,
        stationsAtRisk,
        drawdown,
        crewTasks,
        pending: state.pending
          ? {
              emergencyPlanId: state.pending.plan.emergencyPlanId,
              response: state.pending.plan.response,
              requiredRole: state.pending.plan.requiredRole,
              proposedAtUtcMs: state.pending.proposedAtUtcMs,
              escalatedAtUtcMs: state.pending.escalatedAtUtcMs,
              deadlineUtcMs: state.pending.deadlineUtcMs,
              summary: state.pending.plan.summary,
            }
          : null,
        live: state.live ? { emergencyPlanId: state.live.emergencyPlanId, response: state.live.response, approvedBy: state.live.approvedBy, planWorkflowId: state.live.planWorkflowId } : null,
        inForce: livePlan ? { emergencyPlanId: livePlan.emergencyPlanId, transfers: livePlan.transfers, tanks: livePlan.tanks, overflowPriority: livePlan.overflowPriority } : null,
      };
    },
  );

  app.get(
    '/api/flood/reports',
    {
      onRequest: app.requireRole('viewer'),
      schema: { tags: ['flood'], summary: 'Post-event reports of past events, newest first / 汛后复盘报告列表', security: [{ bearer: [] }], response: { 200: FloodReportsBody, ...errorResponses } },
    },
    async () => {
      const byEvent = new Map<string, Type.Static<typeof FloodReportsBody>['reports'][number]>();
      const series = await influx.query(
        `SELECT ${quoteIdent('peakWarningLevel')}, ${quoteIdent('overflowM3')} FROM ${quoteIdent('flood_report')} WHERE ${quoteIdent('network')} = ${quoteString(network.id)} GROUP BY ${quoteIdent('event')}`,
      );
      for (const s of series) {
        const row = s.values.at(-1);
        const eventId = s.tags['event'];
        if (!row || !eventId) continue;
        const rank = row[s.columns.indexOf('peakWarningLevel')];
        const overflow = row[s.columns.indexOf('overflowM3')];
        byEvent.set(eventId, {
          eventId,
          peakWarning: typeof rank === 'number' ? (warningLevels[rank] ?? String(rank)) : 'none',
          startedAtUtcMs: null,
          endedAtUtcMs: Number(row[0]),
          overflowM3: typeof overflow === 'number' ? overflow : null,
          summary: null,
        });
      }
      try {
        const state = await temporal.workflow.getHandle(workflowId).query(floodStatusQuery);
        for (const r of state.reports) {
          byEvent.set(r.eventId, { eventId: r.eventId, peakWarning: r.peakWarning, startedAtUtcMs: r.startedAtUtcMs, endedAtUtcMs: r.endedAtUtcMs, overflowM3: r.overflows.totalM3, summary: r.summary });
        }
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      return { reports: [...byEvent.values()].sort((x, y) => y.endedAtUtcMs - x.endedAtUtcMs) };
    },
  );

  async function decide(kind: 'approve' | 'reject', body: { emergencyPlanId: string; comment?: string }, user: { userName: string; role: Role }, ip: string) {
    const { state } = await readStatus();
    const pending = state.pending;
    if (!pending || pending.plan.emergencyPlanId !== body.emergencyPlanId) {
      throw Object.assign(new Error(pending ? `emergency plan ${body.emergencyPlanId} is not the one waiting (${pending.plan.emergencyPlanId})` : 'no emergency plan is waiting for approval'), { statusCode: 409, code: 'Conflict' });
    }
    if (!roleAtLeast(user.role, pending.plan.requiredRole)) {
      // Refused either way: a failing audit write must not turn the 403 into a 500 (retried, then logged).
      await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `flood.${kind}.refused`, target: body.emergencyPlanId, detail: { reason: `needs ${pending.plan.requiredRole}`, response: pending.plan.response }, ip }, refusalStands);
      throw Object.assign(new Error(`a level ${pending.plan.response} emergency plan needs a ${pending.plan.requiredRole} or higher; you are ${user.role}`), { statusCode: 403, code: 'Forbidden' });
    }
    try {
      const update = kind === 'approve' ? approveEmergencyPlanUpdate : rejectEmergencyPlanUpdate;
      const next = await temporal.workflow.getHandle(workflowId).executeUpdate(update, { args: [{ userName: user.userName, role: user.role, emergencyPlanId: body.emergencyPlanId, ...(body.comment ? { comment: body.comment } : {}) }] });
      // The decision has happened in the workflow: a failing audit write must not turn it into an error
      // (a client would retry a decision already taken). recordOutcome retries once, then logs the record.
      await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `flood.${kind}`, target: body.emergencyPlanId, detail: { comment: body.comment ?? null, response: pending.plan.response }, ip });
      return statusBody(workflowId, 'RUNNING', next);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        // Refused either way: a failing audit write must not turn the 409 into a 500 (retried, then logged).
        await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `flood.${kind}.refused`, target: body.emergencyPlanId, detail: { reason: error.cause?.message ?? error.message }, ip }, refusalStands);
        throw Object.assign(new Error(error.cause?.message ?? error.message), { statusCode: 409, code: 'Conflict' });
      }
      if (error instanceof WorkflowNotFoundError) throw notFound();
      throw error;
    }
  }

  app.post(
    '/api/flood/approve',
    {
      onRequest: app.requireRole('dispatcher'),
      schema: {
        tags: ['flood'],
        summary: 'Approve the emergency plan waiting; the role must match its response level / 批准应急预案',
        security: [{ bearer: [] }],
        body: DecisionBody,
        response: { 200: FloodStatusBody, ...errorResponses },
      },
    },
    async (request) => decide('approve', request.body, request.user!, request.ip),
  );

  app.post(
    '/api/flood/reject',
    {
      onRequest: app.requireRole('dispatcher'),
      schema: { tags: ['flood'], summary: 'Reject the emergency plan waiting, with a reason / 驳回应急预案', security: [{ bearer: [] }], body: RejectBody, response: { 200: FloodStatusBody, ...errorResponses } },
    },
    async (request) => decide('reject', { emergencyPlanId: request.body.emergencyPlanId, comment: request.body.reason }, request.user!, request.ip),
  );

  app.post(
    '/api/flood/replan',
    {
      onRequest: app.requireRole('dispatcher'),
      schema: {
        tags: ['flood'],
        summary: 'Ask for a new emergency plan revision at the next check (a warning in force, no plan waiting) / 重新编制应急预案',
        security: [{ bearer: [] }],
        body: ReplanBody,
        response: { 200: ReplanReply, ...errorResponses },
      },
    },
    async (request) => {
      const user = request.user!;
      const reason = request.body.reason?.trim() || undefined;
      const { state } = await readStatus();
      const eventId = state.event?.eventId ?? null;
      // The workflow ignores a request without an event, and a plan waiting is decided first (its revision would be superseded unseen).
      const refusal =
        !state.event || state.response === null
          ? 'no flood event with a response level is in progress'
          : state.status === 'standing-down'
            ? 'the event is standing down'
            : state.pending
              ? `emergency plan ${state.pending.plan.emergencyPlanId} is waiting for a decision; approve or reject it first`
              : null;
      if (refusal) {
        await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: 'flood.replan.refused', target: eventId ?? workflowId, detail: { reason: refusal, comment: reason ?? null }, ip: request.ip }, refusalStands);
        throw Object.assign(new Error(refusal), { statusCode: 409, code: 'Conflict' });
      }
      try {
        await temporal.workflow.getHandle(workflowId).signal(requestReplanSignal, { userName: user.userName, ...(reason ? { reason } : {}) });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) throw notFound();
        throw error;
      }
      // Sent: a failing audit write must not turn it into an error (retried once, then logged).
      await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: 'flood.replan', target: eventId!, detail: { comment: reason ?? null, response: state.response, warning: state.warning }, ip: request.ip });
      return {
        eventId: eventId!,
        requestedBy: user.userName,
        message: { zh: '已请求重新编制应急预案，将在下一次汛情检查时提出新版本。', en: 'A new emergency plan revision was requested; it is proposed at the next flood check.' },
      };
    },
  );
};
