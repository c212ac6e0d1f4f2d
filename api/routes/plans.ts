// Plans: list, detail, approve, reject and modify. Decisions go to the plan's workflow as Temporal Updates,
// whose validators reject stale or unauthorised decisions before they enter history.
//
// A plan's id is the id of the workflow holding it (dispatchPlan, `plan-dispatch-cycle-…` or `plan-flood-…`).
// Plans proposed before that hand-over lived in their cycle workflow (`plan-<cycle id>` → `<cycle id>`):
// reads and decisions fall back to it, and a cycle still gathering answers for its coming plan.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Type from 'typebox';
import {
  approvePlanUpdate,
  EMERGENCY_REPLACE_ROLE,
  coordinatorStateQuery,
  coordinatorWorkflowId,
  dispatchStateQuery,
  emergencyPlanWorkflowIdPrefix,
  modifyPlanUpdate,
  planWorkflowIdOfCycle,
  dispatchWorkflowIdPrefix,
  rejectPlanUpdate,
  type DispatchCycleState,
  type PlanConstraints,
  type Role,
} from '../../contract/index.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { quoteIdent } from '../../forecasting/influxql.js';
import { MIN_LEVEL_BAND_GAP_M, type NetworkConfig } from '../../network/schema.js';
import type { Plan, PlanStep } from '../../planner/types.js';
import type { Store } from '../../store/db.js';
import { recordOutcome, refusalStands } from '../auth.js';
import { UtcMsParam, errorResponses } from '../schemas.js';

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
  decision: Type.Optional(Type.Object({ kind: Type.String(), userName: Type.String(), role: Type.String(), comment: Type.Optional(Type.String()), decidedAtUtcMs: Type.Number(), automatic: Type.Optional(Type.String()) })),
  outcome: Type.Optional(
    Type.Object({ planId: Type.String(), stepIndex: Type.Number(), appliedAtUtcMs: Type.Number(), writes: Type.Array(WriteResult), verified: Type.Number(), skipped: Type.Number(), failed: Type.Number(), alreadyInForce: Type.Optional(Type.Number()), attempt: Type.Optional(Type.Number()) }),
  ),
  error: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  planWorkflowId: Type.Optional(Type.String()),
  revision: Type.Optional(Type.Number()),
  constraints: Type.Optional(Type.Object({}, Open)),
  modifications: Type.Optional(Type.Array(Type.Object({ userName: Type.String(), role: Type.String(), atUtcMs: Type.Number(), revision: Type.Number() }, Open))),
  proposedAtUtcMs: Type.Optional(Type.Number()),
  escalatedAtUtcMs: Type.Optional(Type.Number()),
  deadlineUtcMs: Type.Optional(Type.Number()),
  requiredRole: Type.Optional(Type.String()),
  autonomy: Type.Optional(Type.Object({ mode: Type.String(), autoApproved: Type.Boolean(), reason: Type.String() })),
  steps: Type.Optional(Type.Array(Type.Object({ stepIndex: Type.Number(), appliedAtUtcMs: Type.Number(), verified: Type.Number(), skipped: Type.Number(), failed: Type.Number(), alreadyInForce: Type.Number(), retries: Type.Number() }))),
  handedBack: Type.Optional(Type.Array(Type.Object({ stationId: Type.String(), atUtcMs: Type.Number(), stepIndex: Type.Number(), reason: Type.String(), written: Type.Boolean() }))),
  supersededBy: Type.Optional(Type.String()),
  replacedBy: Type.Optional(Type.String()),
  keptPlanId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  /** A cycle plan whose approval replaces the emergency plan in force: who may, and that it must be confirmed. */
  replacesEmergency: Type.Optional(Type.Object({ planId: Type.String(), requiredRole: Type.String() })),
});

const PlanSummary = Type.Object({
  planId: Type.String(),
  workflowId: Type.String(),
  workflowStatus: Type.String(),
  startedAtUtcMs: Type.Number(),
  status: Type.Optional(Type.String()),
});

/** The answer to a decision sent to the workflow without an answer back (a 503; the console reloads the plan). */
export const outcomeUnknownMessage =
  '决定结果未知：工作流引擎（Temporal）没有应答，决定可能已经生效。请先刷新计划查看当前状态，再决定是否重试 / outcome unknown: the workflow engine (Temporal) did not answer and the decision may have been taken; reload the plan and check its status before trying again';

const PlanParams = Type.Object({ planId: Type.String({ pattern: '^plan-[A-Za-z0-9_.:+-]{1,200}$' }) });
/** A station or interconnection id in a modification; checked against the network before the workflow sees it. */
const ObjectId = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });
const LevelM = Type.Number({ minimum: 0, description: 'm' });
/** The revision the dispatcher reviewed: a decision on a revision that has been modified since is refused (409). */
const Revision = Type.Optional(
  Type.Integer({
    minimum: 1,
    description:
      'The plan revision the dispatcher reviewed (the plan\'s `revision`, 1 until the first modification). If the plan has been modified since, the decision is refused with 409 and the new revision must be reviewed. Left out, the decision applies to the current revision. / 审阅时的计划版本；计划已被他人修改时拒绝（409）。',
  }),
);
const DecisionBody = Type.Object(
  {
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
    revision: Revision,
    replaceEmergencyPlan: Type.Optional(
      Type.Boolean({
        description:
          'Required as true to approve a cycle plan while an emergency plan is in force (the plan\'s `replacesEmergency`): approving replaces it. Without it the approval is refused with 409; a role below the emergency plan\'s is refused with 403. / 批准常规计划将替换正在执行的应急预案时须确认（true）；未确认 409，角色不足 403。',
      }),
    ),
  },
  { additionalProperties: false },
);
const RejectBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 2000 }), revision: Revision }, { additionalProperties: false });
const ModifyBody = Type.Object(
  {
    comment: Type.Optional(Type.String({ maxLength: 2000 })),
    revision: Revision,
    stationBands: Type.Optional(
      Type.Array(Type.Object({ stationId: ObjectId('A station of the network'), minLevelM: Type.Optional(LevelM), maxLevelM: Type.Optional(LevelM) }, { additionalProperties: false }), { maxItems: 200 }),
    ),
    lockedStations: Type.Optional(Type.Array(ObjectId('A station of the network'), { maxItems: 200 })),
    transferCaps: Type.Optional(Type.Array(Type.Object({ interconnectionId: ObjectId('An interconnection of the network'), maxAbsM3h: Type.Number({ minimum: 0 }) }, { additionalProperties: false }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

const Num = Type.Union([Type.Number(), Type.Null()]);
const Change = Type.Object({ live: Num, proposed: Num });

export const PlanDiffBody = Type.Object({
  planId: Type.String(),
  /** What the plan is compared with: the plan in force, or (none in force) the setpoints SCADA held when the plan was made. */
  baseline: Type.Union([Type.Literal('live-plan'), Type.Literal('scada')]),
  livePlanId: Type.Union([Type.String(), Type.Null()]),
  /** The proposed plan's first step, and the live plan's step in force at that time. */
  atUtcMs: Num,
  stations: Type.Array(
    Type.Object({
      stationId: Type.String(),
      changed: Type.Boolean(),
      startLevelM: Change,
      stopLevelM: Change,
      pumpsAllowed: Change,
      flowM3h: Change,
      remoteControl: Type.Object({ live: Type.Union([Type.String(), Type.Null()]), proposed: Type.Union([Type.String(), Type.Null()]) }),
    }),
  ),
  transfers: Type.Array(Type.Object({ interconnectionId: Type.String(), changed: Type.Boolean(), transferM3h: Change })),
  changedStations: Type.Integer(),
  changedTransfers: Type.Integer(),
});
export type PlanDiffBody = Type.Static<typeof PlanDiffBody>;

const HistoryQuery = Type.Object(
  {
    fromUtcMs: Type.Optional(UtcMsParam('Inclusive; default 7 days ago')),
    toUtcMs: Type.Optional(UtcMsParam('Exclusive; default now')),
    plan: Type.Optional(Type.String({ pattern: '^plan-[A-Za-z0-9_.:+-]{1,200}$' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  },
  { additionalProperties: false },
);

export const PlanHistoryBody = Type.Object({
  events: Type.Array(
    Type.Object({
      atUtcMs: Type.Number(),
      planId: Type.String(),
      status: Type.String(),
      decidedBy: Type.Union([Type.String(), Type.Null()]),
      step: Num,
      verified: Type.Number(),
      failed: Type.Number(),
      skipped: Type.Number(),
      detail: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});

/** A step's setpoints compared station by station (and transfer by transfer) with a baseline. */
export function diffSteps(network: NetworkConfig, proposed: PlanStep | undefined, live: PlanStep | undefined, scada?: { stationId: string; startLevelSpM: number | null; stopLevelSpM: number | null; flowSpM3h: number | null }[]) {
  const differs = (a: number | null, b: number | null, tolerance: number) => (a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) > tolerance);
  const stations = network.stations.map((st) => {
    const p = proposed?.stations.find((x) => x.stationId === st.id) ?? null;
    const l = live?.stations.find((x) => x.stationId === st.id) ?? null;
    const s = scada?.find((x) => x.stationId === st.id) ?? null;
    const liveOf = (key: 'startLevelM' | 'stopLevelM' | 'pumpsAllowed' | 'flowM3h'): number | null => {
      if (l) return l[key];
      if (!s) return null;
      return key === 'startLevelM' ? s.startLevelSpM : key === 'stopLevelM' ? s.stopLevelSpM : key === 'flowM3h' ? s.flowSpM3h : null;
    };
    const change = (key: 'startLevelM' | 'stopLevelM' | 'pumpsAllowed' | 'flowM3h') => ({ live: liveOf(key), proposed: p ? p[key] : null });
    const entry = { stationId: st.id, startLevelM: change('startLevelM'), stopLevelM: change('stopLevelM'), pumpsAllowed: change('pumpsAllowed'), flowM3h: change('flowM3h'), remoteControl: { live: l?.remoteControl ?? null, proposed: p?.remoteControl ?? null } };
    const changed =
      differs(entry.startLevelM.live, entry.startLevelM.proposed, 0.005) ||
      differs(entry.stopLevelM.live, entry.stopLevelM.proposed, 0.005) ||
      (entry.pumpsAllowed.live !== null && differs(entry.pumpsAllowed.live, entry.pumpsAllowed.proposed, 0)) ||
      (entry.remoteControl.proposed === 'flow' && differs(entry.flowM3h.live, entry.flowM3h.proposed, 0.5)) ||
      (l !== null && entry.remoteControl.live !== entry.remoteControl.proposed);
    return { ...entry, changed };
  });
  const ids = new Set([...(proposed?.transfers ?? []), ...(live?.transfers ?? [])].map((x) => x.interconnectionId));
  const transfers = [...ids].map((id) => {
    const transferM3h = { live: live?.transfers.find((x) => x.interconnectionId === id)?.transferM3h ?? null, proposed: proposed?.transfers.find((x) => x.interconnectionId === id)?.transferM3h ?? null };
    return { interconnectionId: id, transferM3h, changed: differs(transferM3h.live ?? 0, transferM3h.proposed ?? 0, 0.5) };
  });
  return { stations, transfers, changedStations: stations.filter((x) => x.changed).length, changedTransfers: transfers.filter((x) => x.changed).length };
}

/**
 * What is wrong with a modification, checked against the network: each problem as `body/<path>: <reason>`,
 * none when it fits. The workflow's validator checks the same against the plan; asking here first answers
 * 400 naming the field instead of a 409 from the workflow.
 */
export function modificationProblems(network: NetworkConfig, body: PlanConstraints): string[] {
  const problems: string[] = [];
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const stationIds = new Set(stations.keys());
  const linkIds = new Set(network.interconnections.map((x) => x.id));
  const unknown = (what: string, id: string) => `unknown ${what} ${JSON.stringify(id)} (not in network ${network.id})`;
  if (!body.stationBands?.length && !body.lockedStations?.length && !body.transferCaps?.length) {
    problems.push('body: a modification needs at least one of stationBands, lockedStations, transferCaps');
  }
  const banded = new Map<string, number>();
  body.stationBands?.forEach((b, i) => {
    if (!stationIds.has(b.stationId)) problems.push(`body/stationBands/${i}/stationId: ${unknown('station', b.stationId)}`);
    else if (banded.has(b.stationId)) problems.push(`body/stationBands/${i}/stationId: ${b.stationId} already has a band at body/stationBands/${banded.get(b.stationId)}`);
    banded.set(b.stationId, banded.get(b.stationId) ?? i);
    if (b.minLevelM === undefined && b.maxLevelM === undefined) problems.push(`body/stationBands/${i}: the band of ${JSON.stringify(b.stationId)} needs minLevelM, maxLevelM or both`);
    const station = stations.get(b.stationId);
    if (station) {
      // A level above the overflow is not one the well can be kept at: the sewer spills first.
      for (const key of ['minLevelM', 'maxLevelM'] as const) {
        const level = b[key];
        if (level !== undefined && level > station.levels.overflowM) problems.push(`body/stationBands/${i}/${key}: ${level} is above the overflow level of ${station.id} (${station.levels.overflowM} m)`);
      }
    }
    if (b.minLevelM !== undefined && b.maxLevelM !== undefined) {
      const gapM = b.maxLevelM - b.minLevelM;
      if (gapM < 0) problems.push(`body/stationBands/${i}: minLevelM ${b.minLevelM} is above maxLevelM ${b.maxLevelM}`);
      // Narrower than the least start–stop gap a PLC may get, the band cannot be run (the dispatch refuses such setpoints).
      else if (gapM < MIN_LEVEL_BAND_GAP_M - 1e-9) {
        problems.push(`body/stationBands/${i}: maxLevelM ${b.maxLevelM} − minLevelM ${b.minLevelM} = ${Math.round(gapM * 1e6) / 1e6} m is under the least band gap a PLC may get (${MIN_LEVEL_BAND_GAP_M} m)`);
      }
    } else if (station) {
      // A one-sided band takes its other side from the safety envelope: the highest start or the lowest stop a
      // PLC may get. Without room for the least gap there, the band could not be honoured at all.
      const highestStartM = Math.min(station.envelope.startLevelM.max, station.levels.overflowM);
      const lowestStopM = station.envelope.stopLevelM.min;
      if (b.minLevelM !== undefined && b.minLevelM <= station.levels.overflowM && highestStartM - b.minLevelM < MIN_LEVEL_BAND_GAP_M - 1e-9) {
        problems.push(`body/stationBands/${i}/minLevelM: ${b.minLevelM} leaves under ${MIN_LEVEL_BAND_GAP_M} m below the highest start level of ${station.id} (${highestStartM} m); give a lower minLevelM or a maxLevelM as well`);
      }
      if (b.maxLevelM !== undefined && b.maxLevelM - lowestStopM < MIN_LEVEL_BAND_GAP_M - 1e-9) {
        problems.push(`body/stationBands/${i}/maxLevelM: ${b.maxLevelM} leaves under ${MIN_LEVEL_BAND_GAP_M} m above the lowest stop level of ${station.id} (${lowestStopM} m); give a higher maxLevelM`);
      }
    }
  });
  body.lockedStations?.forEach((id, i) => {
    if (!stationIds.has(id)) problems.push(`body/lockedStations/${i}: ${unknown('station', id)}`);
  });
  const capped = new Map<string, number>();
  body.transferCaps?.forEach((c, i) => {
    if (!linkIds.has(c.interconnectionId)) problems.push(`body/transferCaps/${i}/interconnectionId: ${unknown('interconnection', c.interconnectionId)}`);
    else if (capped.has(c.interconnectionId)) problems.push(`body/transferCaps/${i}/interconnectionId: ${c.interconnectionId} already has a cap at body/transferCaps/${capped.get(c.interconnectionId)}`);
    capped.set(c.interconnectionId, capped.get(c.interconnectionId) ?? i);
  });
  return problems;
}

/** The step of a plan in force at a time: the last one started by then (the first if none has). */
export function stepInForce(plan: Plan, atUtcMs: number): PlanStep | undefined {
  let found = plan.steps[0];
  for (const step of plan.steps) if (step.startUtcMs <= atUtcMs) found = step;
  return found;
}

/** The workflow holding a plan: the plan's own id; for plans from before the hand-over, the cycle's id. */
const legacyWorkflowIdOf = (planId: string) => planId.slice('plan-'.length);

export const planRoutes: FastifyPluginAsync<{ network: NetworkConfig; temporal: Client; store: Store; influx: InfluxConnector }> = async (fastify, options) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { temporal, store } = options;

  /** The workflow holding a plan: the plan's own id, or (plans from before the hand-over) its cycle. */
  async function planWorkflowId(planId: string): Promise<string> {
    for (const workflowId of [planId, legacyWorkflowIdOf(planId)]) {
      try {
        await temporal.workflow.getHandle(workflowId).describe();
        return workflowId;
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
    throw Object.assign(new Error(`no plan ${planId}`), { statusCode: 404, code: 'Not Found' });
  }

  async function onPlanWorkflow<T>(planId: string, fn: (workflowId: string) => Promise<T>): Promise<{ result: T; workflowId: string }> {
    const workflowId = await planWorkflowId(planId);
    try {
      return { result: await fn(workflowId), workflowId };
    } catch (error) {
      // The workflow exists (described above): "not found" now means it has closed.
      if (error instanceof WorkflowNotFoundError) throw Object.assign(new Error(`plan ${planId} is closed`), { statusCode: 409, code: 'Conflict' });
      throw error;
    }
  }

  async function readState(planId: string): Promise<DispatchCycleState & { workflowId: string }> {
    const query = (id: string) => temporal.workflow.getHandle(id).query(dispatchStateQuery);
    const { result, workflowId } = await onPlanWorkflow(planId, query);
    // A cycle that has just handed its plan over: read the plan's own workflow.
    if (workflowId !== planId && result.planWorkflowId === planId && result.status !== 'gathering') return { ...(await query(planId)), workflowId: planId };
    return { ...result, workflowId };
  }

  app.get(
    '/api/plans',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['plans'],
        summary: 'Recent plans, newest first / 最近的调度计划',
        security: [{ bearer: [] }],
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 200, default: 20 }) }, { additionalProperties: false }),
        response: { 200: Type.Array(PlanSummary), ...errorResponses },
      },
    },
    async (request) => {
      const summaries: Type.Static<typeof PlanSummary>[] = [];
      const networkId = options.network.id;
      const query =
        `WorkflowType = 'dispatchPlan' AND (WorkflowId STARTS_WITH '${planWorkflowIdOfCycle(dispatchWorkflowIdPrefix(networkId))}'` +
        ` OR WorkflowId STARTS_WITH '${emergencyPlanWorkflowIdPrefix(networkId)}')`;
      for await (const wf of temporal.workflow.list({ query, pageSize: request.query.limit })) {
        summaries.push({ planId: wf.workflowId, workflowId: wf.workflowId, workflowStatus: wf.status.name, startedAtUtcMs: wf.startTime.getTime() });
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
      onRequest: app.requireRole('viewer'),
      schema: { tags: ['plans'], summary: 'One plan with its state / 计划详情', security: [{ bearer: [] }], params: PlanParams, response: { 200: PlanStateBody, ...errorResponses } },
    },
    async (request) => readState(request.params.planId),
  );

  app.get(
    '/api/plans/:planId/diff',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['plans'],
        summary: 'Setpoints of a plan against the live plan (or SCADA when none is live) / 与在执行计划对比',
        security: [{ bearer: [] }],
        params: PlanParams,
        response: { 200: PlanDiffBody, ...errorResponses },
      },
    },
    async (request) => {
      const planId = request.params.planId;
      const state = await readState(planId);
      if (!state.plan) throw Object.assign(new Error(`plan ${planId} has no setpoints yet (${state.status})`), { statusCode: 409, code: 'Conflict' });
      let live: { planId: string; workflowId: string } | null = null;
      try {
        live = (await temporal.workflow.getHandle(coordinatorWorkflowId(options.network.id)).query(coordinatorStateQuery)).live;
      } catch (error) {
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
      const first = state.plan.steps[0];
      const atUtcMs = first?.startUtcMs ?? null;
      if (live && live.planId !== planId) {
        const liveState = await temporal.workflow.getHandle(live.workflowId).query(dispatchStateQuery);
        if (liveState.plan) {
          return { planId, baseline: 'live-plan' as const, livePlanId: live.planId, atUtcMs, ...diffSteps(options.network, first, stepInForce(liveState.plan, atUtcMs ?? 0)) };
        }
      }
      const scada = (state.snapshot?.stations ?? []).map((x) => ({ stationId: x.stationId, startLevelSpM: x.startLevelSpM, stopLevelSpM: x.stopLevelSpM, flowSpM3h: x.flowSpM3h }));
      return { planId, baseline: 'scada' as const, livePlanId: live?.planId === planId ? planId : null, atUtcMs, ...diffSteps(options.network, first, undefined, scada) };
    },
  );

  app.get(
    '/api/history',
    {
      onRequest: app.requireRole('viewer'),
      schema: {
        tags: ['plans'],
        summary: 'Plan events over a period (proposed, decided, escalated, dispatched, expired…), newest first / 调度历史',
        security: [{ bearer: [] }],
        querystring: HistoryQuery,
        response: { 200: PlanHistoryBody, ...errorResponses },
      },
    },
    async (request) => {
      const { limit, plan } = request.query;
      const toUtcMs = request.query.toUtcMs ?? Date.now();
      const fromUtcMs = request.query.fromUtcMs ?? toUtcMs - 7 * 86_400_000;
      if (fromUtcMs >= toUtcMs) throw Object.assign(new Error(`fromUtcMs (${fromUtcMs}) must be before toUtcMs (${toUtcMs})`), { statusCode: 400, code: 'Bad Request' });
      // The plan id is pattern-checked above, so it is safe inside the quoted literal. It is a field, not a tag
      // (activities/plan-points.ts: bounded series), so each row carries it.
      const planFilter = plan ? ` AND ${quoteIdent('planId')} = '${plan}'` : '';
      const series = await options.influx.query(
        `SELECT * FROM ${quoteIdent('plan_event')} WHERE time >= ${fromUtcMs}ms AND time < ${toUtcMs}ms${planFilter} GROUP BY ${quoteIdent('status')} ORDER BY time DESC LIMIT ${limit}`,
      );
      const events: Type.Static<typeof PlanHistoryBody>['events'] = [];
      for (const s of series) {
        const col = (name: string) => s.columns.indexOf(name);
        for (const row of s.values) {
          const value = (name: string) => (col(name) >= 0 ? row[col(name)] : undefined);
          const numberOr = (name: string, fallback: number | null) => (typeof value(name) === 'number' ? (value(name) as number) : fallback);
          const decidedBy = value('decidedBy');
          const detail = value('detail');
          const planId = value('planId');
          events.push({
            atUtcMs: Number(row[col('time')]),
            planId: typeof planId === 'string' ? planId : '',
            status: s.tags['status'] ?? '',
            decidedBy: typeof decidedBy === 'string' && decidedBy ? decidedBy : null,
            step: numberOr('step', null),
            verified: numberOr('verified', 0) ?? 0,
            failed: numberOr('failed', 0) ?? 0,
            skipped: numberOr('skipped', 0) ?? 0,
            detail: typeof detail === 'string' && detail ? detail : null,
          });
        }
      }
      events.sort((a, b) => b.atUtcMs - a.atUtcMs);
      return { events: events.slice(0, limit) };
    },
  );

  async function decide(
    kind: 'approve' | 'reject' | 'modify',
    planId: string,
    user: { userName: string; role: Role },
    comment: string | undefined,
    revision: number | undefined,
    ip: string,
    constraints?: PlanConstraints,
    replaceEmergencyPlan?: boolean,
  ) {
    const input = { userName: user.userName, role: user.role, ...(comment ? { comment } : {}), ...(revision !== undefined ? { revision } : {}), ...(replaceEmergencyPlan !== undefined ? { replaceEmergencyPlan } : {}) };
    // Whether the Update was sent: after that, an error without an answer leaves the outcome unknown.
    let sent = false;
    try {
      const { result, workflowId } = await onPlanWorkflow(planId, (id) => {
        sent = true;
        const handle = temporal.workflow.getHandle(id);
        if (kind === 'modify') return handle.executeUpdate(modifyPlanUpdate, { args: [{ ...input, constraints: constraints ?? {} }] });
        return handle.executeUpdate(kind === 'approve' ? approvePlanUpdate : rejectPlanUpdate, { args: [input] });
      });
      // The decision has happened in the workflow: a failing audit write must not turn it into an error
      // (a client would retry a decision already taken). recordOutcome retries once, then logs the record.
      await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `plan.${kind}`, target: planId, detail: { comment: comment ?? null, ...(revision !== undefined ? { revision } : {}), ...(constraints ? { constraints } : {}), ...(replaceEmergencyPlan ? { replaceEmergencyPlan } : {}) }, ip });
      return { ...result, workflowId };
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) {
        // Refused either way: a failing audit write must not turn the 409 into a 500 (retried, then logged).
        await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `plan.${kind}.refused`, target: planId, detail: { reason: error.cause?.message ?? error.message, ...(revision !== undefined ? { revision } : {}) }, ip }, refusalStands);
        // Replacing the emergency plan in force needs its role (403: not this user) — anything else refused is a 409.
        const forbidden = error.cause instanceof ApplicationFailure && error.cause.type === EMERGENCY_REPLACE_ROLE;
        throw Object.assign(new Error(error.cause?.message ?? error.message), forbidden ? { statusCode: 403, code: 'Forbidden' } : { statusCode: 409, code: 'Conflict' });
      }
      const answered = typeof (error as { statusCode?: unknown }).statusCode === 'number' && (error as { statusCode: number }).statusCode < 500;
      if (sent && !answered) {
        // Sent, but no answer (Temporal timed out, the connection dropped): the workflow may have taken the
        // decision, and SCADA may be acting on it. The attempt is audited so the log is never silent about it,
        // and the caller is told to look before trying again.
        const reason = error instanceof Error ? error.message : String(error);
        await recordOutcome(store, fastify.log, { userName: user.userName, role: user.role, action: `plan.${kind}.unknown`, target: planId, detail: { outcome: 'unknown', error: reason.slice(0, 500), comment: comment ?? null, ...(revision !== undefined ? { revision } : {}) }, ip }, 'the outcome is unknown: check the workflow history');
        throw Object.assign(new Error(outcomeUnknownMessage), { statusCode: 503, expose: true, cause: error });
      }
      throw error;
    }
  }

  app.post(
    '/api/plans/:planId/approve',
    {
      onRequest: app.requireRole('dispatcher'),
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
      return decide('approve', request.params.planId, request.user!, request.body?.comment, request.body?.revision, request.ip, undefined, request.body?.replaceEmergencyPlan);
    },
  );

  app.post(
    '/api/plans/:planId/reject',
    {
      onRequest: app.requireRole('dispatcher'),
      schema: { tags: ['plans'], summary: 'Reject a proposed plan with a reason / 驳回计划', security: [{ bearer: [] }], params: PlanParams, body: RejectBody, response: { 200: PlanStateBody, ...errorResponses } },
    },
    async (request) => {
      return decide('reject', request.params.planId, request.user!, request.body.reason, request.body.revision, request.ip);
    },
  );

  app.post(
    '/api/plans/:planId/modify',
    {
      onRequest: app.requireRole('dispatcher'),
      schema: {
        tags: ['plans'],
        summary: 'Modify a proposed plan (band, lock to local control, transfer cap); it is re-planned and stays proposed / 修改计划并重新编制',
        security: [{ bearer: [] }],
        params: PlanParams,
        body: ModifyBody,
        response: { 200: PlanStateBody, ...errorResponses },
      },
    },
    async (request) => {
      const problems = modificationProblems(options.network, request.body);
      if (problems.length > 0) throw Object.assign(new Error(`invalid modification: ${problems.join('; ')}`), { statusCode: 400 });
      const { comment, revision, ...constraints } = request.body;
      return decide('modify', request.params.planId, request.user!, comment, revision, request.ip, constraints);
    },
  );
};
