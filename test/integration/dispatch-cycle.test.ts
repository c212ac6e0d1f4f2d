// One dispatch cycle end to end on the real servers: a Temporal Schedule starts it; it reads every tag
// from the OPC UA simulator, writes telemetry to InfluxDB, fetches the forecast with the openmeteo SDK
// from the local forecast server, proposes a plan, waits for a dispatcher's approval arriving through
// the HTTP API as a Temporal Update, writes the setpoints over OPC UA, reads them back and records it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { RuntimeConnectors } from '../../runtime/connectors.js';
import { createRainScenario, rainMmInMinute } from '../../scenarios/rain.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { startIngest } from '../../ingest/service.js';
import { startForecastServer } from '../../forecast-server/server.js';
import type { Store } from '../../store/db.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { startHeartbeat } from '../../worker/heartbeat.js';
import type { DispatchCycleState } from '../../contract/index.js';
import { serviceEnv, startTestServers, type TestServers } from '../support/servers.js';
import { logIn, startRuntimeServiceStack, triggerDispatchCycle, type ServiceStack } from '../support/service-stack.js';

const localStation = 'E9';
const passwords = { wang: 'dispatcher-password-1', li: 'viewer-password-123' };

let servers: TestServers;
let network: NetworkConfig;
let simulator: SimulatorServerHandle;
let forecast: Awaited<ReturnType<typeof startForecastServer>>;
let connectors: RuntimeConnectors;
let stack: ServiceStack;
let client: Client;
let store: Store;
let app: FastifyInstance;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-cycle-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const nowUtcMs = Date.now();
  const scenarioStartUtcMs = Math.floor(nowUtcMs / 3_600_000) * 3_600_000;
  // Rain begins two hours after the scenario starts, so the plan sees it coming.
  const scenario = createRainScenario('rainstorm', { startUtcMs: scenarioStartUtcMs, rainOnsetOffsetMin: 120 });
  const [testServers, forecastServer, bundle] = await Promise.all([
    startTestServers(),
    startForecastServer({ port: 0, scenario, scenarioStartUtcMs, seed: 7 }),
    bundleWorkflows(),
  ]);
  servers = testServers;
  forecast = forecastServer;
  const simulation = createSimulation({
    network,
    startUtcMs: scenarioStartUtcMs,
    rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs),
    initialModes: Object.fromEntries(network.stations.map((s) => [s.id, s.id === localStation ? 'local' : 'remote'])),
  });
  simulator = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') });
  simulator.advance(30);

  const started = await startRuntimeServiceStack({
    env: serviceEnv(servers, { opcuaEndpoint: simulator.endpointUrl, forecastUrl: forecast.url }),
    network,
    workflowBundle: bundle,
    api: {
      storeDir: tmp,
      users: [
        { userName: 'wang', displayName: '王调度', role: 'dispatcher', password: passwords.wang },
        { userName: 'li', displayName: '李', role: 'viewer', password: passwords.li },
      ],
    },
  });
  stack = started;
  ({ connectors, client, store, app } = started);
});

after(async () => {
  await stack?.close();
  await simulator?.close();
  await forecast?.close();
  await servers?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const login = (userName: keyof typeof passwords): Promise<string> => logIn(app, userName, passwords[userName]);

/** Trigger the Schedule now and return the id of the workflow it started. */
const triggerCycle = () => triggerDispatchCycle(client, network, { approvalTimeoutMin: 10 });

async function waitForPlan(token: string, planId: string, statuses: DispatchCycleState['status'][]): Promise<DispatchCycleState> {
  let last = '';
  // Up to 60 s: a cycle (SCADA read, forecast, plan) takes seconds, but a loaded CI machine can stretch it.
  for (let i = 0; i < 300; i++) {
    const response = await app.inject({ method: 'GET', url: `/api/plans/${planId}`, headers: { authorization: `Bearer ${token}` } });
    if (response.statusCode === 200) {
      const state = response.json<DispatchCycleState>();
      if (statuses.includes(state.status)) return state;
      last = state.status;
    } else last = `${response.statusCode} ${response.body}`;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`plan ${planId} never reached ${statuses.join('/')} (last: ${last})`);
}

test('a scheduled cycle is approved through the API and its setpoints reach the simulator', async () => {
  const workflowId = await triggerCycle();
  const planId = `plan-${workflowId}`;
  const dispatcher = await login('wang');
  const viewer = await login('li');

  const proposed = await waitForPlan(dispatcher, planId, ['proposed']);
  const plan = proposed.plan!;
  assert.match(plan.basis.forecastSource, /^open-meteo/);
  assert.ok(plan.basis.forecastIssuedAtUtcMs !== null, 'the plan used the forecast');
  assert.equal(proposed.snapshot!.stations.length, network.stations.length);
  // The rainstorm is heavier in the west: at least one west station is drawn down ahead of it.
  const w1 = network.stations.find((s) => s.id === 'W1')!;
  assert.ok(plan.steps[0]!.stations.some((s) => s.stationId.startsWith('W') && s.startLevelM === w1.levels.floodSeasonStartM), JSON.stringify(plan.reasons.slice(0, 3)));

  const listed = await app.inject({ method: 'GET', url: '/api/plans', headers: { authorization: `Bearer ${viewer}` } });
  assert.equal(listed.statusCode, 200, listed.body);
  assert.ok(listed.json<{ planId: string }[]>().some((p) => p.planId === planId));

  const refused = await app.inject({ method: 'POST', url: `/api/plans/${planId}/approve`, headers: { authorization: `Bearer ${viewer}` }, payload: {} });
  assert.equal(refused.statusCode, 403, refused.body);
  const anonymous = await app.inject({ method: 'POST', url: `/api/plans/${planId}/approve`, payload: {} });
  assert.equal(anonymous.statusCode, 401, anonymous.body);

  const writesBefore = simulator.writeLog.length;
  const approved = await app.inject({ method: 'POST', url: `/api/plans/${planId}/approve`, headers: { authorization: `Bearer ${dispatcher}` }, payload: { comment: '同意，按计划执行' } });
  assert.equal(approved.statusCode, 200, approved.body);
  assert.equal(approved.json<DispatchCycleState>().decision?.userName, 'wang');
  const again = await app.inject({ method: 'POST', url: `/api/plans/${planId}/approve`, headers: { authorization: `Bearer ${dispatcher}` }, payload: {} });
  assert.equal(again.statusCode, 409, again.body);

  const done = await waitForPlan(dispatcher, planId, ['dispatched', 'dispatch-failed']);
  assert.equal(done.status, 'dispatched', JSON.stringify(done.outcome?.writes.filter((w) => w.status !== 'verified' && w.status !== 'skipped-local')));
  const outcome = done.outcome!;
  const tagsPerStation = 6;
  assert.equal(outcome.failed, 0);
  assert.equal(outcome.skipped, tagsPerStation, 'the LOCAL station is skipped');
  assert.equal(outcome.verified, (network.stations.length - 1) * tagsPerStation);

  // The simulator holds exactly what the plan's first step says, each written once, none to LOCAL.
  const newWrites = simulator.writeLog.slice(writesBefore);
  assert.equal(newWrites.length, outcome.verified);
  assert.equal(new Set(newWrites.map((w) => w.nodeId)).size, newWrites.length, 'no duplicate writes');
  assert.ok(!newWrites.some((w) => w.objectId === localStation));
  for (const sp of plan.steps[0]!.stations.filter((s) => s.stationId !== localStation)) {
    assert.equal(simulator.simulation.readTag(sp.stationId, 'startLevelSpM').value, sp.startLevelM, `${sp.stationId} start level`);
    assert.equal(simulator.simulation.readTag(sp.stationId, 'stopLevelSpM').value, sp.stopLevelM, `${sp.stationId} stop level`);
    assert.equal(simulator.simulation.readTag(sp.stationId, 'pumpsAllowedSp').value, sp.pumpsAllowed, `${sp.stationId} pumps allowed`);
  }

  // InfluxDB holds the telemetry, the forecast, the plan trajectory and the verified writes.
  const count = async (q: string) => {
    const series = await connectors.influx.query(q);
    return series.reduce((n, s) => n + s.values.reduce((m, row) => m + Number(row[1]), 0), 0);
  };
  assert.equal(await count(`SELECT count("levelM") FROM "station" GROUP BY "id"`), network.stations.length);
  assert.ok((await count(`SELECT count("precipitationMm") FROM "rain_forecast"`)) >= network.catchments.length * network.planning.horizonH);
  assert.equal(await count(`SELECT count("startLevelM") FROM "plan_setpoint" WHERE "planId" = '${planId}'`), network.stations.length * plan.steps.length);
  assert.equal(await count(`SELECT count("value") FROM "setpoint_write" WHERE "planId" = '${planId}' AND "status" = 'verified'`), outcome.verified);
  assert.equal(await count(`SELECT count("verified") FROM "plan_event" WHERE "planId" = '${planId}' AND "status" = 'dispatched'`), 1);

  // The decision is in the audit log with its user.
  const audit = await store.audit.search({ action: 'plan.approve', limit: 10, offset: 0 });
  assert.ok(audit.some((entry) => entry.userName === 'wang' && entry.target === planId));
});

test('a rejected plan writes nothing to SCADA', async () => {
  const workflowId = await triggerCycle();
  const planId = `plan-${workflowId}`;
  const dispatcher = await login('wang');
  await waitForPlan(dispatcher, planId, ['proposed']);
  const writesBefore = simulator.writeLog.length;
  const missingReason = await app.inject({ method: 'POST', url: `/api/plans/${planId}/reject`, headers: { authorization: `Bearer ${dispatcher}` }, payload: {} });
  assert.equal(missingReason.statusCode, 400, missingReason.body);
  const rejected = await app.inject({ method: 'POST', url: `/api/plans/${planId}/reject`, headers: { authorization: `Bearer ${dispatcher}` }, payload: { reason: '东片液位数据存疑' } });
  assert.equal(rejected.statusCode, 200, rejected.body);
  const final = await waitForPlan(dispatcher, planId, ['rejected']);
  assert.equal(final.decision?.comment, '东片液位数据存疑');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(simulator.writeLog.length, writesBefore);
});

test('the heartbeat keeps every station\'s watchdog tag moving while the worker runs', async () => {
  const writesBefore = simulator.writeLog.length;
  const errors: Error[] = [];
  const heartbeat = startHeartbeat({ network, opcua: connectors.opcua, intervalMs: 150, onError: (e) => errors.push(e) });
  await new Promise((r) => setTimeout(r, 1000));
  await heartbeat.stop();
  assert.deepEqual(errors, []);
  assert.ok(heartbeat.beats() >= 2, `beats: ${heartbeat.beats()}`);
  const beats = simulator.writeLog.slice(writesBefore).filter((w) => w.tag === 'heartbeat');
  assert.equal(beats.length, heartbeat.beats() * network.stations.length);
  const perStation = beats.filter((w) => w.objectId === 'W1').map((w) => Number(w.value));
  assert.ok(perStation.every((v, i) => i === 0 || v > perStation[i - 1]!), 'the counter increases');
  const settled = simulator.writeLog.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(simulator.writeLog.length, settled, 'no beats after stop');
});

// Last: ingest writes telemetry of its own, which the counts above must not see.
test('health reports every component up, ingest from its heartbeat, and ingest down when it is not running', async () => {
  type Health = { status: string; components: { name: string; status: string; detail?: string }[] };
  const health = async () => {
    const response = await app.inject({ method: 'GET', url: '/api/health' });
    return { code: response.statusCode, body: response.json<Health>() };
  };
  // Before ingest has run against this database: the one component down, saying why.
  const before = await health();
  assert.equal(before.code, 503);
  assert.equal(before.body.status, 'degraded');
  assert.match(before.body.components.find((c) => c.name === 'ingest')?.detail ?? '', /no ingest heartbeat/);
  const ingest = await startIngest({
    network,
    endpointUrl: simulator.endpointUrl,
    influx: { url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database },
    spoolDir: path.join(tmp, 'spool'),
    heartbeatMs: 300,
  });
  try {
    let last = before;
    for (let i = 0; i < 100 && last.body.status !== 'up'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      last = await health();
    }
    assert.equal(last.code, 200, JSON.stringify(last.body));
    assert.deepEqual(last.body.components.map((c) => `${c.name}:${c.status}`).sort(), ['forecast:up', 'influxdb:up', 'ingest:up', 'opcua:up', 'temporal:up']);
  } finally {
    await ingest.stop({ drainTimeoutMs: 1_000 });
  }
});
