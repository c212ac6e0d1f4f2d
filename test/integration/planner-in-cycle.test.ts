// The optimising planner in the live dispatch cycle, on the real servers: a Temporal Schedule starts a
// cycle; the forecast activity fetches deterministic rain (15-min) and the ensemble from the local forecast
// server through the openmeteo SDK, issues the inflow forecast (DWF + groundwater + RDII, P10/P50/P90) and
// writes it to InfluxDB; the planning activity finds it by its issue time and plans with the MPC planner,
// the ensemble members as scenarios. Then a "restarted worker" with the forecast service gone plans on the
// last good forecast reloaded from InfluxDB, flagged stale with its age.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createRuntimeConnectors, cycleDependencies, type RuntimeConnectors } from '../../runtime/connectors.js';
import type { Env } from '../../settings/env.js';
import { createRainScenario, rainMmInMinute } from '../../scenarios/rain.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { startForecastServer } from '../../forecast-server/server.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { dispatchStateQuery, planWorkflowIdOfCycle, type DispatchCycleState } from '../../contract/index.js';
import { listInflowForecastIssues, readInflowForecast } from '../../forecasting/write.js';
import { loadNewestGoodRain } from '../../forecasting/rain-store.js';
import { serviceEnv, startTestServers, type TestServers } from '../support/servers.js';
import { startRuntimeServiceStack, triggerDispatchCycle, type ServiceStack } from '../support/service-stack.js';

const MEMBERS = 10;

let servers: TestServers;
let network: NetworkConfig;
let simulator: SimulatorServerHandle;
let forecast: Awaited<ReturnType<typeof startForecastServer>>;
let env: Env;
let connectors: RuntimeConnectors;
let stack: ServiceStack;
let client: Client;
let tmp: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-mpc-cycle-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const scenarioStartUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  // Rain begins two hours after the scenario starts: the inflow forecast and the plan see it coming.
  const scenario = createRainScenario('rainstorm', { startUtcMs: scenarioStartUtcMs, rainOnsetOffsetMin: 120 });
  const [testServers, forecastServer, bundle] = await Promise.all([
    startTestServers(),
    startForecastServer({ port: 0, scenario, scenarioStartUtcMs, seed: 7, ensembleMembers: MEMBERS }),
    bundleWorkflows(),
  ]);
  servers = testServers;
  forecast = forecastServer;
  const simulation = createSimulation({
    network,
    startUtcMs: scenarioStartUtcMs,
    rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs),
  });
  simulator = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') });
  simulator.advance(30);

  env = serviceEnv(servers, { opcuaEndpoint: simulator.endpointUrl, forecastUrl: forecast.url });
  assert.equal(env.PLANNER, 'mpc', 'the optimising planner is the default');
  const started = await startRuntimeServiceStack({ env, network, workflowBundle: bundle, dependencies: (c) => cycleDependencies(env, network, c) });
  stack = started;
  ({ connectors, client } = started);
});

after(async () => {
  await stack?.close();
  await simulator?.close();
  await forecast?.close();
  await servers?.stop();
  await rm(tmp, { recursive: true, force: true });
});

const triggerCycle = () => triggerDispatchCycle(client, network, { approvalTimeoutMin: 10 });

async function proposedPlan(planWorkflowId: string): Promise<DispatchCycleState> {
  let last = '';
  // The optimiser may take tens of seconds on a loaded machine (time limit 40 s).
  for (let i = 0; i < 600; i++) {
    try {
      const state = await client.workflow.getHandle(planWorkflowId).query(dispatchStateQuery);
      if (state.status === 'proposed' && state.plan) return state;
      last = state.status;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`plan ${planWorkflowId} was never proposed (last: ${last})`);
}

const count = async (q: string) => {
  const series = await connectors.influx.query(q);
  return series.reduce((n, s) => n + s.values.reduce((m, row) => m + Number(row[1]), 0), 0);
};

let firstRainIssuedAtUtcMs = 0;

test('a scheduled cycle plans with the MPC planner on the inflow forecast it wrote to InfluxDB', async (t) => {
  // Pumping on record from half an hour ago, as telemetry ingest would have stored it: the planner reads it
  // back as what is in the mains (the first cycle would otherwise say that no recent pumping is on record).
  await connectors.influx.write(network.stations.map((s) => ({ measurement: 'station', tags: { id: s.id }, fields: { outflowM3h: 0 }, timeUtcMs: Date.now() - 30 * 60_000 })));
  const workflowId = await triggerCycle();
  const state = await proposedPlan(planWorkflowIdOfCycle(workflowId));
  const plan = state.plan!;
  const solver = plan.solver;
  t.diagnostic(`solver: ${solver?.status} ${solver?.formulation}, ${solver?.rows}×${solver?.columns}, solve ${solver?.solveMs.toFixed(0)} ms, wall ${solver?.wallMs.toFixed(0)} ms, scenarios ${plan.predicted?.scenarioCount}, fallback ${plan.fallback?.kind ?? 'none'}`);
  assert.equal(plan.planner, 'mpc');
  assert.equal(plan.fallback?.kind === 'rule-based' || plan.fallback?.kind === 'previous-plan', false, JSON.stringify(plan.fallback));
  // The ensemble members were the optimiser's scenarios (deterministic + the members it kept).
  assert.ok(plan.predicted && plan.predicted.scenarioCount > 1, `scenarios: ${plan.predicted?.scenarioCount}`);
  assert.match(plan.basis.forecastSource, /^inflow-forecast;rain=open-meteo:[^;]+;quality=fresh$/);
  const inflowIssuedAtUtcMs = plan.basis.forecastIssuedAtUtcMs!;
  assert.ok(inflowIssuedAtUtcMs > 0);
  // The stations' recent pumping (what is in the mains) was read from InfluxDB for this plan.
  assert.ok(!(plan.assumptions ?? []).some((a) => /recent pumping/i.test(a.en)), JSON.stringify(plan.assumptions));

  // The rain behind it: the newest good issue kept in InfluxDB, 15-minutely, received just before the inflow forecast was issued.
  const rain = await loadNewestGoodRain(connectors.influx, 'deterministic');
  assert.ok(rain, 'the fresh rain forecast is kept');
  assert.equal(rain.stepMin, 15);
  assert.ok(inflowIssuedAtUtcMs >= rain.issuedAtUtcMs && inflowIssuedAtUtcMs - rain.issuedAtUtcMs < 60_000, `rain ${rain.issuedAtUtcMs}, inflow ${inflowIssuedAtUtcMs}`);
  assert.deepEqual(Object.keys(rain.deterministic).sort(), network.catchments.map((c) => c.id).sort());
  firstRainIssuedAtUtcMs = rain.issuedAtUtcMs;

  // InfluxDB holds the inflow forecast under that issue time: every station, det and P10/P50/P90 over the horizon.
  assert.ok((await listInflowForecastIssues(connectors.influx)).includes(inflowIssuedAtUtcMs));
  const stored = await readInflowForecast(connectors.influx, { issuedAtUtcMs: inflowIssuedAtUtcMs });
  assert.ok(stored, 'the issue is complete');
  assert.equal(stored.rainQuality, 'fresh');
  const steps = (network.planning.horizonH * 60) / network.planning.stepMin;
  const stationIds = [...new Set(network.catchments.map((c) => c.node))].sort();
  assert.deepEqual(Object.keys(stored.stations).sort(), stationIds);
  let rainShows = 0;
  for (const [stationId, byQuantile] of Object.entries(stored.stations)) {
    assert.deepEqual(Object.keys(byQuantile).sort(), ['det', 'p10', 'p50', 'p90'], stationId);
    for (const q of ['det', 'p10', 'p50', 'p90']) assert.equal(byQuantile[q]!.flowM3h.length, steps, `${stationId} ${q}`);
    const [p10, p50, p90] = (['p10', 'p50', 'p90'] as const).map((q) => byQuantile[q]!.flowM3h);
    for (let i = 0; i < steps; i++) assert.ok(p10![i]! <= p50![i]! + 1e-9 && p50![i]! <= p90![i]! + 1e-9, `${stationId} step ${i} quantiles ordered`);
    // The rainstorm ahead: RDII raises the forecast well above the first (dry) hours somewhere in the horizon.
    const det = byQuantile['det']!.flowM3h;
    if (Math.max(...det.slice(8)) > 1.5 * Math.max(...det.slice(0, 4))) rainShows++;
  }
  assert.ok(rainShows >= stationIds.length / 2, `rain raises the forecast at ${rainShows} of ${stationIds.length} stations`);
  assert.ok((await count(`SELECT count("rdiiM3h") FROM "inflow_forecast" WHERE "quantile" = 'det' AND "rdiiM3h" > 0`)) > 0);
  // The plan's first steps leave room for what the forecast brings: the trajectory is in InfluxDB too.
  assert.equal(await count(`SELECT count("startLevelM") FROM "plan_setpoint" WHERE "planId" = '${plan.planId}'`), network.stations.length * plan.steps.length);

  // The last good rain is in InfluxDB for a restart: the deterministic issue and its ensemble members.
  assert.ok((await count(`SELECT count("precipitationMm") FROM "rain_forecast" WHERE "issuedAtMs" = ${firstRainIssuedAtUtcMs} AND "kind" =~ /^det-/`)) >= network.catchments.length * steps);
  const memberSeries = await connectors.influx.query(`SHOW TAG VALUES FROM "rain_ensemble" WITH KEY = "member"`);
  assert.equal(memberSeries.reduce((n, s) => n + s.values.length, 0), MEMBERS);
});

test('after a restart with the forecast service gone, the cycle plans on the last good forecast from InfluxDB, flagged stale', async () => {
  assert.ok(firstRainIssuedAtUtcMs > 0, 'the first test ran');
  const gone = await startForecastServer({ port: 0, scenario: 'dry-week', scenarioStartUtcMs: Date.now() });
  const goneUrl = gone.url;
  await gone.close();
  // Ask for the ensemble now (by default a younger one would be reused without a call).
  const restartEnv = serviceEnv(servers, { opcuaEndpoint: simulator.endpointUrl, forecastUrl: goneUrl }, { FORECAST_ENSEMBLE_REFRESH_MIN: '0' });
  const restarted = createRuntimeConnectors(restartEnv, network);
  try {
    const issued = await restarted.inflow.issue();
    assert.equal(issued.rain.quality, 'stale', issued.rain.reason ?? '');
    assert.equal(issued.rain.issuedAtUtcMs, firstRainIssuedAtUtcMs, 'the newest good issue was reloaded');
    assert.match(issued.rain.reason ?? '', /min old/);
    assert.ok(issued.rain.ageMin !== null && issued.rain.ageMin >= 0);
    assert.equal(issued.rain.ensemble.quality, 'stale', issued.rain.ensemble.reason ?? '');
    assert.equal(issued.rain.ensemble.members, MEMBERS);
    assert.ok(issued.inflow.flags.some((f) => /^rain stale: deterministic forecast unavailable/.test(f)), issued.inflow.flags.join(' | '));
    const stored = await readInflowForecast(restarted.influx, { issuedAtUtcMs: issued.inflow.issuedAtUtcMs });
    assert.equal(stored?.rainQuality, 'stale');
    // The MPC planner plans on it too, from this worker's memory.
    const found = await restarted.inflow.plannerInflow(issued.inflow.issuedAtUtcMs);
    assert.equal(found?.from, 'memory');
    assert.equal(found?.inflow.members?.length, MEMBERS);
    // A worker that did not issue it reads it back from InfluxDB, quantiles standing in for members.
    const other = await connectors.inflow.plannerInflow(issued.inflow.issuedAtUtcMs);
    assert.equal(other?.from, 'influxdb');
    assert.deepEqual(other?.inflow.members?.map((m) => m.id), ['p10', 'p50', 'p90']);
    assert.match(other?.inflow.source ?? '', /quality=stale/);
  } finally {
    await restarted.close();
  }
});

test('a hanging forecast service times out per attempt and the cycle plans on the last good forecast', async (t) => {
  assert.ok(firstRainIssuedAtUtcMs > 0, 'the first test ran');
  const hanging = await startForecastServer({ port: 0, scenario: 'dry-week', scenarioStartUtcMs: Date.now(), responseDelayMs: 20_000 });
  const restarted = createRuntimeConnectors(
    serviceEnv(servers, { opcuaEndpoint: simulator.endpointUrl, forecastUrl: hanging.url }, { FORECAST_ENSEMBLE_REFRESH_MIN: '0' }),
    network,
  );
  try {
    const started = performance.now();
    const issued = await restarted.inflow.issue();
    t.diagnostic(`issue() with a hanging service: ${((performance.now() - started) / 1000).toFixed(1)} s (the forecast activity allows 30 s)`);
    assert.equal(issued.rain.quality, 'stale');
    assert.match(issued.rain.reason ?? '', /timed out after 8000 ms \(gave up after 2 attempts\)/);
    assert.equal(issued.rain.ensemble.quality, 'stale');
    assert.match(issued.rain.ensemble.reason ?? '', /timed out after 8000 ms/);
    // Two attempts each for the forecast and the ensemble (the background DWF learning may ask the archive too).
    assert.ok(hanging.requestCount >= 4, `requests: ${hanging.requestCount}`);
  } finally {
    await restarted.close();
    await hanging.close();
  }
});
