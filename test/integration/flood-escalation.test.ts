// Emergency plans nobody approves, on real servers in accelerated time (1 simulated hour per wall
// second): the flood-season workflow with its real activities against the OPC UA simulator, the local
// forecast server and InfluxDB through a typhoon. The first plan is left unanswered: it escalates to the
// role above (a webhook per audience shows who was told), expires, and nothing is written to SCADA. The
// next plan is approved by its role; any later one left unanswered escalates and expires while the
// approved plan stays in force. Every setpoint SCADA received belongs to an approved plan; no expired
// plan ever got a dispatch workflow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { archiveObservedRain } from '../../activities/flood.js';
import { openMeteoRainSource } from '../../activities/rain-forecast.js';
import { createInfluxConnector } from '../../connectors/influx.js';
import { createOpcUaConnector } from '../../connectors/opcua.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import {
  approveEmergencyPlanUpdate,
  dispatchStateQuery,
  floodSeasonWorkflowId,
  floodStatusQuery,
  taskQueue as defaultQueue,
  type DomainClock,
  type FloodSeasonInput,
} from '../../contract/index.js';
import { startForecastServer } from '../../forecast-server/server.js';
import { floodConfig, type FloodAction } from '../../flood/types.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createNotifier, createWebhookChannel, type Audience } from '../../notify/index.js';
import { createRainScenario, rainMmInMinute } from '../../scenarios/rain.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { floodSeason } from '../../workflows/index.js';
import { startTestServers, type TestServers } from '../support/servers.js';
import { startServiceStack, type ServiceStack } from '../support/service-stack.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

interface HistoryEventJson {
  activityTaskScheduledEventAttributes?: { input?: { payloads?: { data?: string }[] } };
  workflowExecutionContinuedAsNewEventAttributes?: { newExecutionRunId?: string };
}

const SPEED = 3600; // 1 simulated hour per wall second
const taskQueue = `${defaultQueue}-flood-escalation`;

let servers: TestServers;
let network: NetworkConfig;
let simulator: SimulatorServerHandle;
let forecast: Awaited<ReturnType<typeof startForecastServer>>;
let stack: ServiceStack;
let client: Client;
let webhook: WebhookReceiver;
let clock: DomainClock;
let ticker: NodeJS.Timeout | undefined;
let tmp: string;
/** Every webhook message with the audience its URL belongs to. */
const received = () => webhook.received.map((m) => ({ audience: m.query.get('key') ?? '?', content: m.body.markdown.content ?? '' }));

const domainNow = () => clock.originUtcMs + (Date.now() - clock.wallOriginUtcMs) * clock.speed;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-flood-escalation-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const scenarioStartUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const scenario = createRainScenario('typhoon', { startUtcMs: scenarioStartUtcMs, rainOnsetOffsetMin: 6 * 60 });
  const [testServers, bundle] = await Promise.all([startTestServers(), bundleWorkflows(), startWebhookReceiver().then((w) => (webhook = w))]);
  servers = testServers;
  const simulation = createSimulation({
    network,
    startUtcMs: scenarioStartUtcMs,
    rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs),
  });
  simulation.setWatchdogTimeoutS(network.opcua.watchdogTimeoutS * SPEED);
  simulator = await startSimulatorServer({ network, simulation, port: 0, clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') });
  forecast = await startForecastServer({ port: 0, scenario, scenarioStartUtcMs, seed: 11, nowUtcMs: domainNow });
  const openMeteo = createOpenMeteoConnector({ forecastUrl: `${forecast.url}/v1/forecast`, ensembleUrl: `${forecast.url}/v1/ensemble`, archiveUrl: `${forecast.url}/v1/archive`, nowUtcMs: domainNow, timeoutMs: 10_000, retries: 1 });
  const opcua = createOpcUaConnector({ endpointUrl: simulator.endpointUrl, securityMode: 'None' });
  const influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
  const base = `${webhook.baseUrl}/cgi-bin/webhook/send?key=`;
  const audiences: Audience[] = ['dispatcher', 'supervisor', 'admin', 'crew'];
  const notifier = createNotifier([createWebhookChannel({ urls: Object.fromEntries(audiences.map((a) => [a, `${base}${a}`])) })]);

  stack = await startServiceStack({
    temporalAddress: servers.temporal.address,
    workflowBundle: bundle,
    worker: { taskQueue, dependencies: { network, opcua, influx, forecast: openMeteoRainSource(openMeteo), observed: archiveObservedRain(openMeteo), notifier, now: domainNow } },
    closeAfterWorker: [opcua],
  });
  client = stack.client;
});

after(async () => {
  clearInterval(ticker);
  await stack?.close();
  await simulator?.close();
  await forecast?.close();
  await webhook?.close();
  await servers?.stop();
  await rm(tmp, { recursive: true, force: true });
});

test('unanswered emergency plans escalate to the role above, expire, and never reach SCADA; the approved plan stays in force', async () => {
  const simulation = simulator.simulation;
  clock = { originUtcMs: simulation.timeUtcMs, wallOriginUtcMs: Date.now(), speed: SPEED };
  ticker = setInterval(() => {
    const due = Math.floor((domainNow() - simulation.timeUtcMs) / (simulation.stepS * 1000));
    if (due > 0) simulator.advance(due);
  }, 50);
  // Escalation after 30 min and expiry after 100 min: both fall between two checks (every 2 h), so an
  // unanswered plan expires before the next assessment could re-plan it.
  const config = floodConfig({ lookAheadH: 12, emergencyStepMin: 120, approval: { escalateAfterMin: 30, approvalTimeoutMin: 100 } });
  const input: FloodSeasonInput = {
    networkId: network.id,
    seasonId: '2026',
    seasonEndUtcMs: clock.originUtcMs + 10 * 86_400_000,
    checkIntervalMin: 120,
    maxIterationsPerRun: 8,
    config,
    clock,
    stopAfterEvents: 1,
  };
  // Its own id, so its recorded history sits beside the typhoon's (files are named after workflow ids).
  const handle = await client.workflow.start(floodSeason, { taskQueue, workflowId: `${floodSeasonWorkflowId(network.id)}-escalation`, args: [input] });

  // The control room answers only the first plan proposed after an expiry, and nothing else.
  let approved: { emergencyPlanId: string; writesBefore: number } | null = null;
  let expiredBeforeApproval = 0;
  let done = false;
  const result = handle.result().finally(() => (done = true));
  while (!done) {
    const state = await handle.query(floodStatusQuery).catch(() => null);
    const expired = state?.event?.actions.filter((a) => a.kind === 'plan-expired').length ?? 0;
    if (!approved) expiredBeforeApproval = expired;
    const pending = state?.pending;
    if (!approved && pending && expired > 0) {
      const writesBefore = simulator.writeLog.length;
      try {
        await handle.executeUpdate(approveEmergencyPlanUpdate, { args: [{ emergencyPlanId: pending.plan.emergencyPlanId, userName: 'zhao', role: 'supervisor', comment: '同意' }] });
        approved = { emergencyPlanId: pending.plan.emergencyPlanId, writesBefore };
      } catch {
        // Expired or replaced a moment ago: the next one is answered on the next round.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const final = await result;
  assert.equal(final.status, 'ended');
  const report = final.reports.at(-1)!;
  const actions: FloodAction[] = report.actions;
  const of = (kind: FloodAction['kind']) => actions.filter((a) => a.kind === kind);

  // Before any approval: a plan escalated, then expired with nothing sent, and SCADA saw no write at all.
  assert.ok(expiredBeforeApproval >= 1, 'a plan expired before the control room answered one');
  assert.ok(approved, 'a later plan was approved');
  assert.equal(approved.writesBefore, 0, 'nothing was written to SCADA while no plan was approved');
  const firstExpired = of('plan-expired')[0]!;
  assert.match(firstExpired.detail, /no emergency setpoints were sent; stations stay on their current settings \/ local control/);
  const firstPlan = report.planAgainstActual.plans.find((p) => p.emergencyPlanId === firstExpired.planId)!;
  assert.equal(firstPlan.outcome, 'expired');
  const escalated = of('plan-escalated').find((a) => a.planId === firstExpired.planId);
  assert.ok(escalated, `${firstExpired.planId} escalated before it expired`);
  assert.ok(escalated.atUtcMs < firstExpired.atUtcMs);
  const roleAbove = firstPlan.response === 'II' ? 'admin' : firstPlan.response === 'I' ? 'admin' : 'supervisor';
  assert.equal(escalated.detail, `notified the ${roleAbove}`);
  // Never early: escalated after escalateAfterMin, expired after approvalTimeoutMin (domain minutes; how
  // late depends on how fast this machine runs activities at this speed, so no upper bound is asserted).
  assert.ok(escalated.atUtcMs - firstPlan.proposedAtUtcMs >= 30 * 60_000, `escalated ${(escalated.atUtcMs - firstPlan.proposedAtUtcMs) / 60_000} min after the proposal`);
  assert.ok(firstExpired.atUtcMs - firstPlan.proposedAtUtcMs >= 100 * 60_000, `expired ${(firstExpired.atUtcMs - firstPlan.proposedAtUtcMs) / 60_000} min after the proposal`);
  // The webhook of the role above got the escalation and the expiry alarm for that plan.
  const toRoleAbove = received().filter((m) => m.audience === roleAbove && m.content.includes(firstExpired.planId!));
  assert.ok(toRoleAbove.some((m) => m.content.includes('未批准 / Emergency plan unapproved for 30 min')), `escalation sent to the ${roleAbove}`);
  assert.ok(toRoleAbove.some((m) => m.content.includes('应急预案未获批准已失效')), `expiry alarm sent to the ${roleAbove}`);

  // After the approval: any plan left unanswered expires with the approved plan kept in force.
  for (const expiredAfter of of('plan-expired').filter((a) => a.atUtcMs > firstExpired.atUtcMs && a.planId !== approved.emergencyPlanId)) {
    const kept = report.planAgainstActual.plans.find((p) => p.emergencyPlanId === expiredAfter.planId)!;
    if (kept.proposedAtUtcMs > report.planAgainstActual.plans.find((p) => p.emergencyPlanId === approved.emergencyPlanId)!.proposedAtUtcMs) {
      assert.match(expiredAfter.detail, new RegExp(`approved plan ${approved.emergencyPlanId.replace(/[.-]/g, '\\$&')} stays in force`));
    }
  }

  // No expired plan was ever dispatched: no workflow exists under its id.
  const expiredIds = [...new Set(of('plan-expired').map((a) => a.planId!))];
  for (const id of expiredIds) {
    await assert.rejects(client.workflow.getHandle(id).describe(), WorkflowNotFoundError, `${id} never got a dispatch workflow`);
  }

  // Every station setpoint SCADA received is one of an approved plan's (or its stand-down's).
  // Ids carry the season run (plan-flood-<event id>-standdown), so a restarted season never reuses them.
  const dispatched = [approved.emergencyPlanId, `plan-flood-${report.eventId}-standdown`];
  const allowed = new Map<string, Set<number>>();
  for (const id of dispatched) {
    const state = await client.workflow.getHandle(id).query(dispatchStateQuery).catch(() => null);
    for (const step of state?.plan?.steps ?? []) {
      for (const s of step.stations) {
        const set = allowed.get(s.stationId) ?? new Set<number>();
        // SCADA gets levels at 1 mm and flows at 0.1 m³/h (activities/dispatch.ts roundSetpoint).
        for (const v of [s.startLevelM, s.stopLevelM, s.flowM3h, s.pumpsAllowed]) set.add(v).add(Math.round(v * 1000) / 1000).add(Math.round(v * 10) / 10);
        allowed.set(s.stationId, set);
      }
    }
  }
  const stationWrites = simulator.writeLog.filter((w) => ['startLevelSpM', 'stopLevelSpM', 'flowSpM3h', 'pumpsAllowedSp'].includes(w.tag));
  assert.ok(stationWrites.length > 0, 'the approved plan was dispatched');
  for (const w of stationWrites) {
    assert.ok(allowed.get(w.objectId)?.has(Number(w.value)), `${w.objectId}.${w.tag} = ${String(w.value)} belongs to an approved plan`);
  }

  if (process.env['RECORD_HISTORIES'] === '1') {
    // Replayed by dispatch-workflow.test.ts: the run (of the continue-as-new chain) in which the first plan
    // escalated and expired.
    const historiesDir = fileURLToPath(new URL('../histories/', import.meta.url));
    let runId: string | undefined = handle.firstExecutionRunId;
    let chosen: string | undefined;
    while (runId && !chosen) {
      const json = historyToJSON(await client.workflow.getHandle(handle.workflowId, runId).fetchHistory());
      const events = (JSON.parse(json) as { events: HistoryEventJson[] }).events;
      const inputs = events.flatMap((e) => e.activityTaskScheduledEventAttributes?.input?.payloads ?? []).map((p) => Buffer.from(p.data ?? '', 'base64').toString('utf8'));
      if (inputs.some((text) => text.includes(`"${firstExpired.planId}:escalation"`))) chosen = json;
      runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    }
    assert.ok(chosen, 'the run with the escalation was found');
    // Portable: failed activities' stack traces carry this checkout's paths.
    await writeFile(path.join(historiesDir, `${handle.workflowId}.json`), chosen.replaceAll(`${path.resolve(historiesDir, '..', '..')}/`, './'));
  }
});
