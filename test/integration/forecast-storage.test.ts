// Forecast storage in a real InfluxDB 1.8, through the running system's writers (the rain store, the inflow
// cycle and the dispatch activity's fetchRainForecast, on the local forecast server) and readers (the
// forecasts route, readInflowForecast / listInflowForecastIssues, the planner's plannerInflow and the
// store's reload after a restart):
// - series stay bounded: twenty cycles add no series to what two cycles created (the issue time is a field);
// - an issue whose write fails part-way is invisible to every reader (the completion marker comes last), and
//   so is an older issue that a failed re-issue with the same start overwrote in part;
// - the route reports the rain the last cycle actually used (stale, with its age) and the forecast's flags.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatchActivities } from '../../activities/dispatch.js';
import { readForecasts } from '../../api/routes/forecasts.js';
import { createInfluxConnector, type InfluxConnector, type SeriesPoint } from '../../connectors/influx.js';
import { createOpenMeteoConnector, type OpenMeteoConnector } from '../../connectors/openmeteo.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { MS_PER_H, MS_PER_MIN } from '../../forecasting/calendar.js';
import { createInflowCycle, type InflowCycle } from '../../forecasting/cycle.js';
import { createRainSource, type RainSource } from '../../forecasting/rain-source.js';
import { influxLastGoodStore, loadNewestGoodRain } from '../../forecasting/rain-store.js';
import { listInflowForecastIssues, readInflowForecast } from '../../forecasting/write.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const network = await loadNetworkFile(referenceNetworkPath);
/** A Friday: the whole test's data lie in one of InfluxDB's weekly shards (series are counted per shard). */
const DAY_UTC_MS = Date.UTC(2026, 6, 3);
const MEMBERS = 11;

void describe('forecast storage in InfluxDB', () => {
  let servers: TestServers;
  let forecastServer: ForecastServer;
  let influx: InfluxConnector;
  let nowUtcMs = DAY_UTC_MS + 2 * MS_PER_H + 5 * MS_PER_MIN;
  let serviceDown = false;
  /** When set, the write call it returns true for fails (before anything of that call is stored). */
  let failWrite: ((points: readonly SeriesPoint[]) => boolean) | null = null;
  let flaky: InfluxConnector;

  const seriesCount = async () => {
    const rows = await influx.query('SHOW SERIES EXACT CARDINALITY');
    return rows.reduce((n, s) => n + s.values.reduce((m, row) => m + Number(row[0]), 0), 0);
  };

  /** The system as runtime/connectors.ts builds it: rain source with the InfluxDB store, inflow cycle, dispatch activity. */
  function system(store: InfluxConnector = flaky): { rain: RainSource; cycle: InflowCycle; fetchRainForecast: () => Promise<unknown> } {
    const real = createOpenMeteoConnector({ forecastUrl: `${forecastServer.url}/v1/forecast`, ensembleUrl: `${forecastServer.url}/v1/ensemble`, nowUtcMs: () => nowUtcMs, retries: 0 });
    const down = () => Promise.reject(new Error('HTTP 503 (test: service down)'));
    const connector: OpenMeteoConnector = {
      ...real,
      fetchPrecipitationForecast: (l, o) => (serviceDown ? down() : real.fetchPrecipitationForecast(l, o)),
      fetchEnsemble: (l, o) => (serviceDown ? down() : real.fetchEnsemble(l, o)),
    };
    const rain = createRainSource({
      connector,
      locations: network,
      horizonH: network.planning.horizonH,
      stepMin: network.planning.stepMin,
      pastH: 6,
      ensembleRefreshMin: 60,
      nowUtcMs: () => nowUtcMs,
      store: influxLastGoodStore(store, network.planning.stepMin),
    });
    const cycle = createInflowCycle({ network, influx: store, rain, now: () => nowUtcMs, dwfLearning: false, errorCorrection: false });
    const activities = createDispatchActivities({ network, influx: store, inflow: cycle, opcua: {} as never, forecast: {} as never, now: () => nowUtcMs });
    return { rain, cycle, fetchRainForecast: () => activities.fetchRainForecast() };
  }

  before(async () => {
    servers = await startTestServers({ temporal: false });
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
    flaky = {
      ...influx,
      write: (points) => (failWrite?.(points) ? Promise.reject(new Error('injected: InfluxDB went away')) : influx.write(points)),
    };
    forecastServer = await startForecastServer({ scenario: 'rainstorm', scenarioStartUtcMs: DAY_UTC_MS, nowUtcMs: () => nowUtcMs, ensembleMembers: MEMBERS });
  });
  after(async () => {
    await forecastServer?.close();
    await servers?.stop();
  });

  void it('twenty cycles (ensemble every hour) leave as many series as two', async (t) => {
    const { fetchRainForecast } = system();
    const counts: number[] = [];
    for (let k = 0; k < 20; k++) {
      await fetchRainForecast();
      counts.push(await seriesCount());
      nowUtcMs += 15 * MS_PER_MIN;
    }
    t.diagnostic(`series after each cycle: ${counts.join(' ')}`);
    // Cycle 0 fetched the first ensemble, cycle 1 reused it: from then on every series exists.
    assert.ok(counts[1]! > 1000, `series after two cycles: ${counts[1]}`);
    assert.equal(counts[19], counts[1], `series after 20 cycles vs after 2: ${counts.join(' ')}`);
    assert.equal((await listInflowForecastIssues(influx)).length, 20);
  });

  void it('an issue whose write fails part-way is seen by no reader', async () => {
    const before = await readForecasts(influx, network);
    const previous = before.inflow.issuedAtUtcMs;
    assert.ok(previous !== null);
    const { cycle } = system();
    // The second request of the inflow forecast (6,144 points in chunks of 4,000) fails.
    let inflowWrites = 0;
    failWrite = (points) => points[0]?.measurement === 'inflow_forecast' && ++inflowWrites === 2;
    const failedAt = nowUtcMs;
    try {
      await assert.rejects(cycle.issue(), /injected/);
    } finally {
      failWrite = null;
    }
    assert.ok(inflowWrites >= 2, 'the first chunk was written');
    assert.equal(await readInflowForecast(influx, { issuedAtUtcMs: failedAt }), null);
    assert.ok(!(await listInflowForecastIssues(influx)).includes(failedAt));
    const after = await readForecasts(influx, network);
    assert.equal(after.inflow.issuedAtUtcMs, previous, 'the route still shows the last complete issue');
    assert.equal(after.inflow.stations.length, network.stations.length);
    // Another worker's planner does not find it either (it would have planned on a fragment).
    const other = system(influx).cycle;
    assert.equal(await other.plannerInflow(failedAt), null);
    assert.ok((await other.plannerInflow(previous)) !== null);
  });

  void it('a failed re-issue with the same start makes the issue it overwrote in part incomplete; readers fall back to the one before', async () => {
    const { cycle } = system();
    nowUtcMs += 15 * MS_PER_MIN;
    const whole = await cycle.issue();
    assert.equal((await readForecasts(influx, network)).inflow.issuedAtUtcMs, whole.inflow.issuedAtUtcMs);
    // Five minutes later, the same 15-min start: its first chunk overwrites the first 4,000 points of `whole`.
    nowUtcMs += 5 * MS_PER_MIN;
    let inflowWrites = 0;
    failWrite = (points) => points[0]?.measurement === 'inflow_forecast' && ++inflowWrites === 2;
    try {
      await assert.rejects(cycle.issue(), /injected/);
    } finally {
      failWrite = null;
    }
    assert.equal(await readInflowForecast(influx, { issuedAtUtcMs: whole.inflow.issuedAtUtcMs }), null, 'partly overwritten: not complete');
    const shown = (await readForecasts(influx, network)).inflow;
    assert.ok(shown.issuedAtUtcMs !== null && shown.issuedAtUtcMs < whole.inflow.issuedAtUtcMs, `shown ${shown.issuedAtUtcMs}`);
    const stored = await readInflowForecast(influx, { issuedAtUtcMs: shown.issuedAtUtcMs });
    assert.ok(stored && Object.values(stored.stations).every((q) => Object.keys(q).length === 4));
  });

  void it('an ensemble whose write fails part-way is not reloaded after a restart', async () => {
    const kept = await loadNewestGoodRain(influx, 'ensemble');
    assert.ok(kept, 'an ensemble is stored');
    // The next ensemble fetch (an hour on) fails in its second write request (11 members: 5,456 points).
    nowUtcMs += MS_PER_H;
    const { rain } = system();
    let ensembleWrites = 0;
    failWrite = (points) => points[0]?.measurement === 'rain_ensemble' && ++ensembleWrites === 2;
    let fresh;
    try {
      fresh = await rain.get();
    } finally {
      failWrite = null;
    }
    assert.ok(ensembleWrites >= 2, 'the first chunk was written');
    assert.equal(fresh.ensemble.quality, 'fresh', 'the cycle itself had it');
    assert.ok(fresh.ensemble.issuedAtUtcMs !== kept.issuedAtUtcMs);
    // A restart: the store reloads the last ensemble written whole, every catchment with every member.
    const reloaded = await loadNewestGoodRain(influx, 'ensemble', network.planning.stepMin);
    assert.equal(reloaded?.issuedAtUtcMs, kept.issuedAtUtcMs);
    for (const c of network.catchments) assert.equal(reloaded?.members?.[c.id]?.length, MEMBERS, c.id);
  });

  void it('the route reports the rain the last cycle used: stale with its age when the service was down, and the forecast flags', async () => {
    const { fetchRainForecast, cycle } = system();
    nowUtcMs += 15 * MS_PER_MIN;
    await fetchRainForecast();
    const fresh = await readForecasts(influx, network);
    assert.equal(fresh.rain.quality, 'fresh');
    serviceDown = true;
    nowUtcMs += 45 * MS_PER_MIN;
    try {
      await fetchRainForecast();
    } finally {
      serviceDown = false;
    }
    const body = await readForecasts(influx, network);
    assert.equal(body.rain.quality, 'stale');
    assert.match(body.rain.source ?? '', /;quality=stale,age=4[0-9]min/);
    assert.equal(body.rain.issuedAtUtcMs, fresh.rain.issuedAtUtcMs, 'the forecast it used was issued by the cycle before');
    assert.equal(body.rain.usedAtUtcMs, nowUtcMs);
    const stepMs = network.planning.stepMin * MS_PER_MIN;
    assert.equal(body.rain.catchments[0]!.timeUtcMs[0], Math.floor(nowUtcMs / stepMs) * stepMs, 'from the stale cycle’s own step on');
    assert.equal(body.inflow.rainQuality, 'stale');
    assert.ok(body.inflow.flags.some((f) => typeof f === 'string' && /^rain stale/.test(f)), JSON.stringify(body.inflow.flags));
    // The flags travel with the stored issue to a planner in another worker.
    const found = await system(influx).cycle.plannerInflow(body.inflow.issuedAtUtcMs!);
    assert.equal(found?.from, 'influxdb');
    assert.deepEqual(found?.flags?.forecast, body.inflow.flags);
    assert.ok(cycle);
  });
});
