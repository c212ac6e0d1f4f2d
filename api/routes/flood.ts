// Flood season: the current warning and response level with the emergency plan waiting for approval,
// post-event reports, and approval of an emergency plan by the role its level demands (IV/III dispatcher,
// II supervisor, I admin by default: the flood-season workflow's configuration). Decisions are Temporal
// Updates to the flood-season workflow; its validator checks the role again before history.
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
  roleAtLeast,
  type FloodSeasonState,
  type Role,
} from '../../contract/index.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import type { FloodReport } from '../../flood/types.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { Store } from '../../store/db.js';
import { errorResponses } from '../schemas.js';

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
  const notFound = () => Object.assign(new Error(`no flood-season workflow for ${network.id}`), { statusCode: 404 });

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
      preHandler: app.requireRole('viewer'),
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
      preHandler: app.requireRole('viewer'),
      schema: {
        tags: ['flood'],
        summary: 'Post-event report (latest, or by event) / 汛后复盘报告',
        security: [{ bearer: [] }],
        querystring: Type.Object({ eventId: Type.Optional(Type.String({ maxLength: 300 })) }),
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
        const where = eventId ? ` AND "event" = '${eventId.replaceAll("'", "\\'")}'` : '';
        const series = await influx.query(`SELECT last("json") FROM "flood_report" WHERE "network" = '${network.id}'${where}`);
        const json = series[0]?.values[0]?.[1];
        if (typeof json === 'string') report = JSON.parse(json) as FloodReport;
      }
      if (!report) throw Object.assign(new Error(eventId ? `no report for event ${eventId}` : 'no flood report yet'), { statusCode: 404 });
      return report;
    },
  );

  async function decide(kind: 'approve' | 'reject', body: { emergencyPlanId: string; comment?: string }, user: { userName: string; role: Role }, ip: string) {
    const { state } = await readStatus();
    const pending = state.pending;
    if (!pending || pending.plan.emergencyPlanId !== body.emergencyPlanId) {
      throw Object.assign(new Error(pending ? `emergency plan ${body.emergencyPlanId} is not the one waiting (${pending.plan.emergencyPlanId})` : 'no emergency plan is waiting for approval'), { statusCode: 409, code: 'Conflict' });
    }
    if (!roleAtLeast(user.role, pending.plan.requiredRole)) {
      await store.audit.record({ userName: user.userName, role: user.role, action: `flood.${kind}.refused`, target: body.emergencyPlanId, detail: { reason: `needs ${pending.plan.requiredRole}`, response: pending.plan.response }, ip });
      throw Object.assign(new Error(`a level ${pending.plan.response} emergency plan needs a ${pending.plan.requiredRole} or higher; you are ${user.role}`), { statusCode: 403, code: 'Forbidden' });
    }
    try {
      const update = kind === 'approve' ? approveEmergencyPlanUpdate : rejectEmergencyPlanUpdate;
      const next = await temporal.workflow.getHandle(workflowId).executeUpdate(update, { args: [{ userName: user.userName, role: user.role, emergencyPlanId: body.emergencyPlanId, ...(body.comment ? { comment: body.comment } : {}) }] });
      await store.audit.record({ userName: user.userName, role: user.role, action: `flood.${kind}`, target: body.emergencyPlanId, detail: { comment: body.comment ?? null, response: pending.plan.response }, ip });
      return statusBody(workflowId, 'RUNNING', next);
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        await store.audit.record({ userName: user.userName, role: user.role, action: `flood.${kind}.refused`, target: body.emergencyPlanId, detail: { reason: error.cause?.message ?? error.message }, ip });
        throw Object.assign(new Error(error.cause?.message ?? error.message), { statusCode: 409, code: 'Conflict' });
      }
      if (error instanceof WorkflowNotFoundError) throw notFound();
      throw error;
    }
  }

  app.post(
    '/api/flood/approve',
    {
      preHandler: app.requireRole('dispatcher'),
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
      preHandler: app.requireRole('dispatcher'),
      schema: { tags: ['flood'], summary: 'Reject the emergency plan waiting, with a reason / 驳回应急预案', security: [{ bearer: [] }], body: RejectBody, response: { 200: FloodStatusBody, ...errorResponses } },
    },
    async (request) => decide('reject', { emergencyPlanId: request.body.emergencyPlanId, comment: request.body.reason }, request.user!, request.ip),
  );
};
