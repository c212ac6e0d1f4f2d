// The API's routes that talk to workflows, over HTTP (`inject`) against a real Temporal dev server and
// InfluxDB: modifying a proposed plan (re-planned by the plan workflow, constraints in the new revision,
// refused when invalid or by a viewer), its diff and approval; and the flood season — status and board
// while an emergency plan waits, approval by the role its level demands (a dispatcher is refused a
// level II plan), the board once it is in force, stand-down and the post-event report. The workflows run
// with stub dispatch activities (no SCADA here) and a scripted flood assessment, in accelerated domain time.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { FastifyInstance } from 'fastify';
import type { FloodBoardBody, FloodStatusBody } from '../../api/routes/flood.js';
import type { PlanDiffBody } from '../../api/routes/plans.js';
import { applyConstraints, InvalidConstraint } from '../../activities/constraints.js';
import type { DispatchActivities } from '../../activities/dispatch.js';
import { createFloodActivities } from '../../activities/flood.js';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import { autonomyConfig, floodSeasonWorkflowId, type DispatchCycleState, type DispatchOutcome, type DispatchPlanInput, type DomainClock, type FloodSeasonInput } from '../../contract/index.js';
import { floodConfig, type FloodAssessment, type FloodReport } from '../../flood/types.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Store } from '../../store/db.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { dispatchPlan, floodSeason } from '../../workflows/index.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { logIn, startServiceStack, type ServiceStack } from '../support/service-stack.js';

const SPEED = 600; // 10 domain minutes per wall second
const taskQueue = 'api-workflows';
const passwords = { wang: 'dispatcher-password-1', li: 'viewer-password-123', zhao: 'supervisor-password-1' };

let tmp: string;
let servers: TestServers;
let network: NetworkConfig;
let influx: InfluxConnector;
let stack: ServiceStack;
let client: Client;
let store: Store;
let app: FastifyInstance;
const clock: DomainClock = { originUtcMs: Date.now(), wallOriginUtcMs: Date.now(), speed: SPEED };
const domainNow = () => clock.originUtcMs + (Date.now() - clock.wallOriginUtcMs) * clock.speed;
const applied: { planId: string; stepIndex: number }[] = [];
/** What the scripted assessment reports: an orange warning (level II) until the test calls it quiet. */
/** outage: the forecast server fails (the check has no forecast; the season keeps the level, flood-unknown-assessment). */
let floodPhase: 'orange' | 'outage' | 'quiet' = 'orange';
let onsetUtcMs = 0;

const snapshotOf = (nowUtcMs: number) => ({
  networkId: '',
  readAtUtcMs: nowUtcMs,
  readings: [],
  badTagCount: 0,
  stations: [] as never[],
});

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-api-workflows-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const [testServers, bundle] = await Promise.all([startTestServers(), bundleWorkflows()]);
  servers = testServers;
  influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });

  const dispatchStub: DispatchActivities = {
    readNetworkState: () => Promise.resolve({ ...snapshotOf(domainNow()), networkId: network.id }),
    writeTelemetry: () => Promise.resolve(0),
    fetchRainForecast: () => Promise.reject(new Error('no forecast in this test')),
    buildPlan: (input) => {
      try {
        const plan = ruleBasedPlan({ planId: input.planId, network, snapshot: input.snapshot, forecast: null, nowUtcMs: domainNow() });
        return Promise.resolve(applyConstraints({ ...plan, steps: plan.steps.slice(0, 4) }, input.constraints, network));
      } catch (error) {
        if (error instanceof InvalidConstraint) throw ApplicationFailure.nonRetryable(error.message, 'InvalidConstraint');
        throw error;
      }
    },
    applyPlanStep: (input): Promise<DispatchOutcome> => {
      applied.push({ planId: input.planId!, stepIndex: input.stepIndex });
      const writes = (input.step?.stations ?? []).map((s) => ({ objectId: s.stationId, tag: 'startLevelSpM', nodeId: `ns=1;s=${s.stationId}.startLevelSpM`, value: s.startLevelM, readBack: s.startLevelM, status: 'verified' as const }));
      return Promise.resolve({ planId: input.planId!, stepIndex: input.stepIndex, appliedAtUtcMs: domainNow(), writes, verified: writes.length, skipped: 0, failed: 0 });
    },
    handBackToLocal: (input) => Promise.resolve(input.stationIds.map((stationId) => ({ stationId, atUtcMs: domainNow(), stepIndex: input.stepIndex, reason: input.reason, written: false }))),
    recordOutcome: () => Promise.resolve(1),
    notify: (n) => Promise.resolve([{ channel: 'stub', audience: n.audience, delivered: true }]),
  };
  // The real flood activities (emergency plan, stand-down, report into InfluxDB), with the assessment scripted.
  const noScada = { readTags: () => Promise.reject(new Error('no SCADA in this test')) } as unknown as OpcUaConnector;
  const flood = createFloodActivities({ network, opcua: noScada, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('no forecast')) }, now: domainNow });
  const assessFlood = (): Promise<FloodAssessment> => {
    const nowUtcMs = domainNow();
    const orange = floodPhase === 'orange';
    const outage = floodPhase === 'outage';
    return Promise.resolve({
      networkId: network.id,
      assessedAtUtcMs: nowUtcMs,
      warning: orange ? 'orange' : 'none',
      response: orange ? 'II' : null,
      bySource: { observed: 'none', forecast: orange ? 'orange' : 'none' },
      evidence: [],
      catchments: network.catchments.map((c) => ({
        catchmentId: c.id,
        stationId: c.node,
        observed: { mm3h: 0, mm6h: 0, mm12h: 0, lastHourMm: 0, gaps: 0 },
        forecast: orange ? { max3hMm: 60, max6hMm: 80, max12hMm: 95, totalMm: 110, gaps: 0 } : { max3hMm: 0, max6hMm: 0, max12hMm: 0, totalMm: 0, gaps: 0 },
        onsetUtcMs: orange ? onsetUtcMs : null,
        endUtcMs: orange ? onsetUtcMs + 6 * 3_600_000 : null,
        level: orange ? 'orange' : 'none',
      })),
      onsetUtcMs: orange ? onsetUtcMs : null,
      endUtcMs: orange ? onsetUtcMs + 6 * 3_600_000 : null,
      stations: network.stations.map((s) => ({ stationId: s.id, levelM: s.id === 'W1' ? s.levels.highAlarmM + 0.1 : 2.1, inflowM3h: 200, overflowM3h: 0, pumpsAvailable: s.pumps.length, pumpsRunning: 1, mode: 'remote' })),
      plants: network.plants.map((p) => ({ plantId: p.id, inflowM3h: 1000, bypassM3h: 0 })),
      tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: 0 })),
      forecastIssuedAtUtcMs: outage ? null : nowUtcMs,
      forecastSource: outage ? 'none' : 'scripted',
      notes: outage ? ['forecast unavailable: forecast server: HTTP 503'] : [],
    });
  };

  const started = await startServiceStack({
    temporalAddress: servers.temporal.address,
    workflowBundle: bundle,
    worker: { taskQueue, activities: { ...dispatchStub, ...flood, assessFlood } },
    api: {
      network,
      influx,
      storeDir: tmp,
      users: [
        { userName: 'wang', displayName: '王调度', role: 'dispatcher', password: passwords.wang },
        { userName: 'li', role: 'viewer', password: passwords.li },
        { userName: 'zhao', displayName: '赵主管', role: 'supervisor', password: passwords.zhao },
      ],
    },
  });
  stack = started;
  ({ client, store, app } = started);
});

after(async () => {
  for await (const wf of client?.workflow.list({ query: 'ExecutionStatus = "Running"' }) ?? []) await client.workflow.getHandle(wf.workflowId).terminate('test done').catch(() => undefined);
  await stack?.close();
  await servers?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const tokens = new Map<string, string>();
async function bearer(userName: keyof typeof passwords): Promise<{ authorization: string }> {
  if (!tokens.has(userName)) {
    tokens.set(userName, await logIn(app, userName, passwords[userName]));
  }
  return { authorization: `Bearer ${tokens.get(userName)}` };
}

async function poll<T>(what: string, read: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`never: ${what}`);
}

test('modify over HTTP: invalid or by a viewer refused; a valid change re-plans with the constraints; diff; approve; audited', async () => {
  const planId = `plan-dispatch-cycle-${network.id}-api-modify`;
  const nowUtcMs = domainNow();
  const plan = ruleBasedPlan({ planId, network, snapshot: { ...snapshotOf(nowUtcMs), networkId: network.id }, forecast: null, nowUtcMs });
  const input: DispatchPlanInput = {
    networkId: network.id,
    kind: 'cycle',
    plan: { ...plan, steps: plan.steps.slice(0, 4) },
    snapshot: { ...snapshotOf(nowUtcMs), networkId: network.id },
    forecast: null,
    approval: { escalateAfterMin: 300, approvalTimeoutMin: 600 },
    autonomy: autonomyConfig(undefined),
    requiredRole: 'dispatcher',
    timing: { stepIntervalMs: 200, contextWaitMs: 2_000 },
  };
  await client.workflow.start(dispatchPlan, { taskQueue, workflowId: planId, args: [input] });
  const wang = await bearer('wang');
  const url = `/api/plans/${planId}`;
  await poll('plan proposed', async () => {
    const r = await app.inject({ method: 'GET', url, headers: wang });
    return r.statusCode === 200 && r.json<DispatchCycleState>().status === 'proposed' ? true : undefined;
  });

  const viewer = await app.inject({ method: 'POST', url: `${url}/modify`, headers: await bearer('li'), payload: { lockedStations: ['W1'] } });
  assert.equal(viewer.statusCode, 403, viewer.body);
  // An unknown station is refused by the API against the network, before the workflow is asked.
  const unknown = await app.inject({ method: 'POST', url: `${url}/modify`, headers: wang, payload: { stationBands: [{ stationId: 'Z9', maxLevelM: 2 }] } });
  assert.equal(unknown.statusCode, 400, unknown.body);
  assert.match(unknown.json<{ message: string }>().message, /^invalid modification: body\/stationBands\/0\/stationId: unknown station "Z9"/);
  const malformed = await app.inject({ method: 'POST', url: `${url}/modify`, headers: wang, payload: { transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: -1 }] } });
  assert.equal(malformed.statusCode, 400, malformed.body);

  const w1 = network.stations.find((s) => s.id === 'W1')!;
  const band = { stationId: 'W1', minLevelM: w1.levels.pumpStopM, maxLevelM: w1.levels.pumpStopM + 0.5 };
  const modified = await app.inject({ method: 'POST', url: `${url}/modify`, headers: wang, payload: { stationBands: [band], lockedStations: ['E2'], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 100 }], comment: '西片收紧液位' } });
  assert.equal(modified.statusCode, 200, modified.body);
  const state = modified.json<DispatchCycleState>();
  assert.equal(state.status, 'proposed', 'a modified plan waits for approval again');
  assert.equal(state.revision, 2);
  assert.deepEqual(state.constraints, { stationBands: [band], lockedStations: ['E2'], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 100 }] });
  assert.deepEqual(state.modifications?.map((m) => [m.userName, m.role, m.comment, m.revision]), [['wang', 'dispatcher', '西片收紧液位', 2]]);
  const e2 = network.stations.find((s) => s.id === 'E2')!;
  const w1Clamped = state.plan!.clamped.some((c) => c.objectId === 'W1');
  for (const step of state.plan!.steps) {
    const sp = step.stations.find((s) => s.stationId === 'W1')!;
    assert.ok(w1Clamped || (sp.startLevelM <= band.maxLevelM + 1e-9 && sp.stopLevelM >= band.minLevelM - 1e-9), `W1 within the band: ${sp.stopLevelM}–${sp.startLevelM}`);
    const local = step.stations.find((s) => s.stationId === 'E2')!;
    assert.deepEqual([local.startLevelM, local.stopLevelM], [e2.levels.pumpStartM, e2.levels.pumpStopM], 'E2 locked: its local band is sent');
    for (const t of step.transfers) assert.ok(Math.abs(t.transferM3h) <= 100 + 1e-9);
  }
  assert.match(state.plan!.reasons.find((r) => r.objectId === 'W1')?.reason.zh ?? '', /调度员限定液位区间/);

  const diff = await app.inject({ method: 'GET', url: `${url}/diff`, headers: await bearer('li') });
  assert.equal(diff.statusCode, 200, diff.body);
  const diffBody = diff.json<PlanDiffBody>();
  assert.equal(diffBody.baseline, 'scada', 'no plan is live yet');
  assert.equal(diffBody.stations.length, network.stations.length);

  const approved = await app.inject({ method: 'POST', url: `${url}/approve`, headers: wang, payload: { comment: '同意' } });
  assert.equal(approved.statusCode, 200, approved.body);
  await poll('plan dispatched', () => Promise.resolve(applied.some((a) => a.planId === planId) ? true : undefined));
  const again = await app.inject({ method: 'POST', url: `${url}/modify`, headers: wang, payload: { lockedStations: ['W2'] } });
  assert.equal(again.statusCode, 409, again.body);

  const audit = await store.audit.search({ target: planId, limit: 10, offset: 0 });
  // The bad modification was a 400 from the API (bad input, not a decision): only the workflow's refusal is audited.
  assert.deepEqual(audit.map((e) => `${e.action}:${e.userName}`).reverse().slice(0, 3), ['plan.modify:wang', 'plan.approve:wang', 'plan.modify.refused:wang']);
});

test('flood season over HTTP: board while a level II plan waits, a dispatcher refused, a supervisor approves, board in force, a forecast outage shown as data missing, a dispatcher asks for a new revision, stand-down, report', async () => {
  floodPhase = 'orange';
  onsetUtcMs = domainNow() + 8 * 3_600_000;
  const config = floodConfig({ approval: { escalateAfterMin: 300, approvalTimeoutMin: 600 } });
  const input: FloodSeasonInput = {
    networkId: network.id,
    seasonId: '2026',
    seasonEndUtcMs: domainNow() + 90 * 86_400_000,
    checkIntervalMin: 5,
    config,
    dispatchTiming: { stepIntervalMs: 200, contextWaitMs: 2_000 },
    clock,
  };
  await client.workflow.start(floodSeason, { taskQueue, workflowId: floodSeasonWorkflowId(network.id), args: [input] });
  const li = await bearer('li');
  const wang = await bearer('wang');
  const zhao = await bearer('zhao');

  const status = await poll('an emergency plan waiting', async () => {
    const r = await app.inject({ method: 'GET', url: '/api/flood/status', headers: li });
    return r.statusCode === 200 && r.json<FloodStatusBody>().pending ? r.json<FloodStatusBody>() : undefined;
  });
  assert.equal(status.warning, 'orange');
  assert.equal(status.response, 'II');
  const pending = status.pending!;
  assert.equal(pending.requiredRole, 'supervisor');

  const board = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: li })).json<FloodBoardBody>();
  assert.equal(board.pending?.emergencyPlanId, pending.emergencyPlanId);
  assert.equal(board.drawdown.source, 'pending');
  assert.ok(board.drawdown.stations.length > 0, 'the waiting plan draws stations down');
  assert.ok(board.rain.minutesToOnset !== null && board.rain.minutesToOnset > 0 && board.rain.minutesToOnset <= 8 * 60, `minutes to onset: ${board.rain.minutesToOnset}`);
  assert.deepEqual(board.stationsAtRisk.filter((s) => s.risk === 'high').map((s) => s.stationId), ['W1']);
  assert.ok(board.crewTasks.length > 0 && board.crewTasks.every((c) => c.state === 'proposed'));

  const viewer = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: li, payload: { emergencyPlanId: pending.emergencyPlanId } });
  assert.equal(viewer.statusCode, 403, viewer.body);
  const dispatcher = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: wang, payload: { emergencyPlanId: pending.emergencyPlanId } });
  assert.equal(dispatcher.statusCode, 403, dispatcher.body);
  assert.match(dispatcher.json<{ message: string }>().message, /needs a supervisor/);
  const wrongPlan = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: zhao, payload: { emergencyPlanId: 'plan-flood-other' } });
  assert.equal(wrongPlan.statusCode, 409, wrongPlan.body);
  const noReason = await app.inject({ method: 'POST', url: '/api/flood/reject', headers: zhao, payload: { emergencyPlanId: pending.emergencyPlanId } });
  assert.equal(noReason.statusCode, 400, noReason.body);

  const approved = await app.inject({ method: 'POST', url: '/api/flood/approve', headers: zhao, payload: { emergencyPlanId: pending.emergencyPlanId, comment: '同意启动Ⅱ级响应' } });
  assert.equal(approved.statusCode, 200, approved.body);
  assert.equal(approved.json<FloodStatusBody>().live?.approvedBy, 'zhao');
  const late = await app.inject({ method: 'POST', url: '/api/flood/reject', headers: zhao, payload: { emergencyPlanId: pending.emergencyPlanId, reason: 'too late' } });
  assert.equal(late.statusCode, 409, late.body);

  const live = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: li })).json<FloodBoardBody>();
  assert.equal(live.live?.emergencyPlanId, pending.emergencyPlanId);
  assert.equal(live.drawdown.source, 'live');
  assert.deepEqual(live.drawdown.stations.map((s) => s.stationId).sort(), board.drawdown.stations.map((s) => s.stationId).sort());
  assert.ok(live.crewTasks.length === board.crewTasks.length && live.crewTasks.every((c) => c.state === 'dispatched' && c.dueUtcMs !== null), JSON.stringify(live.crewTasks.slice(0, 2)));
  // The plan in force comes from the workflow state, not the log: its reasons, transfers, tanks and overflow order.
  assert.ok(live.crewTasks.every((c) => c.reason !== null), 'crew tasks keep their reasons');
  assert.deepEqual(live.crewTasks.map((c) => `${c.kind}@${c.stationId}`).sort(), board.crewTasks.map((c) => `${c.kind}@${c.stationId}`).sort());
  assert.equal(live.inForce?.emergencyPlanId, pending.emergencyPlanId);
  assert.deepEqual(live.inForce.transfers, pending.transfers);
  assert.deepEqual(live.inForce.tanks, pending.tanks);
  assert.deepEqual(live.inForce.overflowPriority, pending.overflowPriority);
  assert.ok(live.inForce.transfers.length + live.inForce.tanks.length > 0, 'a level II plan moves water between stations or into tanks');
  await poll('the emergency plan dispatched', () => Promise.resolve(applied.some((a) => a.planId === pending.emergencyPlanId) ? true : undefined));

  const noReport = await app.inject({ method: 'GET', url: '/api/flood/report', headers: li });
  assert.equal(noReport.statusCode, 404, noReport.body);

  // The forecast fails: the board says so (F12) — the level kept, the forecast missing, its maxima unknown — instead of "no rain".
  floodPhase = 'outage';
  const outage = await poll('the board during the forecast outage', async () => {
    const b = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: li })).json<FloodBoardBody>();
    return b.inputs.levelKeptSinceUtcMs !== null ? b : undefined;
  });
  assert.equal(outage.warning, 'orange', 'the level in force stays');
  assert.equal(outage.response, 'II');
  assert.equal(outage.inputs.forecastMissing, true);
  assert.equal(outage.inputs.forecastIssuedAtUtcMs, null);
  assert.equal(outage.inputs.forecastSource, 'none');
  assert.ok(outage.inputs.notes.includes('forecast unavailable: forecast server: HTTP 503'), JSON.stringify(outage.inputs.notes));
  assert.ok(outage.rain.catchments.every((c) => c.forecastMax12hMm === null), 'forecast maxima unknown, not 0 mm');
  floodPhase = 'orange';
  await poll('the forecast back on the board', async () => {
    const b = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: li })).json<FloodBoardBody>();
    return !b.inputs.forecastMissing && b.inputs.levelKeptSinceUtcMs === null ? true : undefined;
  });

  // A plan is in force and nothing waits: a dispatcher asks for a new revision; a viewer may not.
  const eventId = (await app.inject({ method: 'GET', url: '/api/flood/status', headers: li })).json<FloodStatusBody>().event!.eventId;
  assert.equal((await app.inject({ method: 'POST', url: '/api/flood/replan', headers: li, payload: {} })).statusCode, 403);
  const replan = await app.inject({ method: 'POST', url: '/api/flood/replan', headers: wang, payload: { reason: '雨区东移，重新编制' } });
  assert.equal(replan.statusCode, 200, replan.body);
  assert.equal(replan.json<{ eventId: string }>().eventId, eventId);
  const second = await poll('a new revision waiting', async () => {
    const r = (await app.inject({ method: 'GET', url: '/api/flood/status', headers: li })).json<FloodStatusBody>();
    return r.pending && r.pending.emergencyPlanId !== pending.emergencyPlanId ? r.pending : undefined;
  });
  assert.equal(second.revision, 2);
  assert.equal(second.requiredRole, 'supervisor');
  // It waits now: a second request is refused until it is decided.
  const again = await app.inject({ method: 'POST', url: '/api/flood/replan', headers: wang, payload: {} });
  assert.equal(again.statusCode, 409, again.body);
  const replanAudit = await store.audit.search({ target: eventId, limit: 10, offset: 0 });
  assert.deepEqual(replanAudit.map((e) => `${e.action}:${e.userName}`).reverse(), ['flood.replan:wang', 'flood.replan.refused:wang']);

  // The rain passes: two quiet checks stand down and write the report.
  floodPhase = 'quiet';
  const report = await poll('the post-event report', async () => {
    const r = await app.inject({ method: 'GET', url: `/api/flood/report?eventId=${eventId}`, headers: li });
    return r.statusCode === 200 ? r.json<FloodReport>() : undefined;
  });
  assert.equal(report.peakWarning, 'orange');
  const after = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: li })).json<FloodBoardBody>();
  assert.equal(after.live, null);
  assert.equal(after.inForce, null, 'no plan in force after the stand-down');
  assert.ok(report.planAgainstActual.plans.some((p) => p.emergencyPlanId === pending.emergencyPlanId && p.decidedBy === 'zhao'));
  const list = await app.inject({ method: 'GET', url: '/api/flood/reports', headers: li });
  assert.equal(list.statusCode, 200, list.body);
  assert.deepEqual(list.json<{ reports: { eventId: string; peakWarning: string }[] }>().reports.map((r) => `${r.eventId}:${r.peakWarning}`), [`${eventId}:orange`]);

  const audit = await store.audit.search({ target: pending.emergencyPlanId, limit: 10, offset: 0 });
  assert.deepEqual(audit.map((e) => `${e.action}:${e.userName}`).reverse(), ['flood.approve.refused:wang', 'flood.approve:zhao']);
});
