// Plans: list, detail, approve and reject. Decisions go to the plan's workflow as Temporal Updates,
// whose validators reject stale or unauthorised decisions before they enter history.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Type from 'typebox';
import { approvePlanUpdate, dispatchStateQuery, rejectPlanUpdate, type DispatchCycleState, type Role } from '../../contract/index.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { Store } from '../../store/db.js';
import { errorResponses } from '../schemas.js';

const Localised = Type.Object({ zh: Type.String(), en: Type.String() });
const Open = { additionalProperties: true };

export const PlanBody = Type.Object(
  {
    planId: Type.String(),
    networkId: Type.String(),
    createdAtUtcMs: Type.Number(),
    planner: Type.String(),
    operatingMode: Type.String(),
    stepMin: Type.Number(),
    basis: Type.Object({ telemetryAtUtcMs: Type.Number(), forecastIssuedAtUtcMs: Type.Union([Type.Number(), Type.Null()]), forecastSource: Type.String() }),
    steps: Type.Array(
      Type.Object(
        {
          startUtcMs: Type.Number(),
          stations: Type.Array(Type.Object({ stationId: Type.String(), remoteControl: Type.String(), startLevelM: Type.Number(), stopLevelM: Type.Number(), flowM3h: Type.Number(), pumpsAllowed: Type.Number() })),
          transfers: Type.Array(Type.Object({ interconnectionId: Type.String(), transferM3h: Type.Number() })),
          tanks: Type.Array(Type.Object({ tankId: Type.String(), inletM3h: Type.Number(), outletM3h: Type.Number() })),
        },
        Open,
      ),
    ),
    reasons: Type.Array(Type.Object({ objectId: Type.String(), reason: Localised })),
    clamped: Type.Array(Type.Object({ objectId: Type.String(), setpoint: Type.String(), wanted: Type.Number(), sent: Type.Number() })),
  },
  Open,
);

const WriteResult = Type.Object({
  objectId: Type.String(),
  tag: Type.String(),
  nodeId: Type.String(),
  value: Type.Number(),
  readBack: Type.Union([Type.Number(), Type.Null()]),
  status: Type.String(),
  detail: Type.Optional(Type.String()),
});

export const PlanStateBody = Type.Object({
  planId: Type.String(),
  workflowId: Type.String(),
  status: Type.String(),
  plan: Type.Optional(PlanBody),
  snapshot: Type.Optional(Type.Object({ readAtUtcMs: Type.Number(), badTagCount: Type.Number(), stations: Type.Array(Type.Object({ stationId: Type.String() }, Open)) }, Open)),
  decision: Type.Optional(Type.Object({ kind: Type.String(), userName: Type.String(), role: Type.String(), comment: Type.Optional(Type.String()), decidedAtUtcMs: Type.Number() })),
  outcome: Type.Optional(
    Type.Object({ planId: Type.String(), stepIndex: Type.Number(), appliedAtUtcMs: Type.Number(), writes: Type.Array(WriteResult), verified: Type.Number(), skipped: Type.Number(), failed: Type.Number() }),
  ),
  error: Type.Optional(Type.String()),
});

const PlanSummary = Type.Object({
  planId: Type.String(),
  workflowId: Type.String(),
  workflowStatus: Type.String(),
  startedAtUtcMs: Type.Number(),
  status: Type.Optional(Type.String()),
});

const PlanParams = Type.Object({ planId: Type.String({ pattern: '^plan-[A-Za-z0-9_.:+-]{1,200}$' }) });
const DecisionBody = Type.Object({ comment: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });
const RejectBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });

const workflowIdOf = (planId: string) => planId.slice('plan-'.length);

export const planRoutes: FastifyPluginAsync<{ network: NetworkConfig; temporal: Client; store: Store }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { temporal, store } = options;

  async function readState(planId: string): Promise<DispatchCycleState> {
    const handle = temporal.workflow.getHandle(workflowIdOf(planId));
    try {
      return await handle.query(dispatchStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw Object.assign(new Error(`no plan ${planId}`), { statusCode: 404 });
      throw error;
    }
  }

  app.get(
    '/api/plans',
    {
      preHandler: app.requireRole('viewer'),
      schema: {
        tags: ['plans'],
        summary: 'Recent plans, newest first / 最近的调度计划',
        security: [{ bearer: [] }],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 20 }) }),
        response: { 200: Type.Array(PlanSummary), ...errorResponses },
      },
    },
    async (request) => {
      const summaries: Type.Static<typeof PlanSummary>[] = [];
      const query = `WorkflowType = 'dispatchCycle' AND WorkflowId STARTS_WITH 'dispatch-cycle-${options.network.id}'`;
      for await (const wf of temporal.workflow.list({ query, pageSize: request.query.limit })) {
        summaries.push({ planId: `plan-${wf.workflowId}`, workflowId: wf.workflowId, workflowStatus: wf.status.name, startedAtUtcMs: wf.startTime.getTime() });
        if (summaries.length >= request.query.limit) break;
      }
      summaries.sort((a, b) => b.startedAtUtcMs - a.startedAtUtcMs);
      // Plans still waiting carry their live status; closed ones are described by the workflow status.
      await Promise.all(
        summaries.filter((s) => s.workflowStatus === 'RUNNING').map(async (s) => {
          s.status = (await readState(s.planId).catch(() => undefined))?.status;
        }),
      );
      return summaries;
    },
  );

  app.get(
    '/api/plans/:planId',
    {
      preHandler: app.requireRole('viewer'),
      schema: { tags: ['plans'], summary: 'One plan with its state / 计划详情', security: [{ bearer: [] }], params: PlanParams, response: { 200: PlanStateBody, ...errorResponses } },
    },
    async (request) => ({ ...(await readState(request.params.planId)), workflowId: workflowIdOf(request.params.planId) }),
  );

  async function decide(kind: 'approve' | 'reject', planId: string, user: { userName: string; role: Role }, comment: string | undefined, ip: string) {
    const handle = temporal.workflow.getHandle(workflowIdOf(planId));
    const update = kind === 'approve' ? approvePlanUpdate : rejectPlanUpdate;
    try {
      const state = await handle.executeUpdate(update, { args: [{ userName: user.userName, role: user.role, ...(comment ? { comment } : {}) }] });
      await store.audit.record({ userName: user.userName, role: user.role, action: `plan.${kind}`, target: planId, detail: { comment: comment ?? null }, ip });
      return state;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw Object.assign(new Error(`no plan ${planId}`), { statusCode: 404 });
      if (error instanceof WorkflowUpdateFailedError) {
        await store.audit.record({ userName: user.userName, role: user.role, action: `plan.${kind}.refused`, target: planId, detail: { reason: error.cause?.message ?? error.message }, ip });
        throw Object.assign(new Error(error.cause?.message ?? error.message), { statusCode: 409, code: 'Conflict' });
      }
      throw error;
    }
  }

  app.post(
    '/api/plans/:planId/approve',
    {
      preHandler: app.requireRole('dispatcher'),
      schema: {
        tags: ['plans'],
        summary: 'Approve a proposed plan / 批准计划',
        security: [{ bearer: [] }],
        params: PlanParams,
        body: Type.Optional(DecisionBody),
        response: { 200: PlanStateBody, ...errorResponses },
      },
    },
    async (request) => {
      const state = await decide('approve', request.params.planId, request.user!, request.body?.comment, request.ip);
      return { ...state, workflowId: workflowIdOf(request.params.planId) };
    },
  );

  app.post(
    '/api/plans/:planId/reject',
    {
      preHandler: app.requireRole('dispatcher'),
      schema: { tags: ['plans'], summary: 'Reject a proposed plan with a reason / 驳回计划', security: [{ bearer: [] }], params: PlanParams, body: RejectBody, response: { 200: PlanStateBody, ...errorResponses } },
    },
    async (request) => {
      const state = await decide('reject', request.params.planId, request.user!, request.body.reason, request.ip);
      return { ...state, workflowId: workflowIdOf(request.params.planId) };
    },
  );
};
