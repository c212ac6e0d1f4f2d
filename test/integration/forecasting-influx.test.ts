// Forecasting I/O against a real InfluxDB 1.8: simulator telemetry and observed rain written and read
// back as history (local inflow derived from it, rain gaps as null), and inflow forecasts from the local
// forecast server written with their issue time, read back, listed and verified against telemetry.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createRainScenario } from '../../scenarios/rain.js';
import { MS_PER_DAY, MS_PER_H, MS_PER_MIN } from '../../forecasting/calendar.js';
import { readObservedRain, readRecentLocalInflow, readRecentOutflow, readRecentTransfer, readStationHistory, writeObservedRain, writeTelemetryHistory } from '../../forecasting/history.js';
import { forecastInflow, modelsFromNetwork } from '../../forecasting/inflow.js';
import { upstreamSources } from '../../forecasting/routing.js';
import { createRainSource } from '../../forecasting/rain-source.js';
import { createInflowCycle } from '../../forecasting/cycle.js';
import { aggregate } from '../../forecasting/series.js';
import { simulateHistory, type SimulatedHistory } from '../../forecasting/simulated-history.js';
import { listInflowForecastIssues, readInflowForecast, verifyInflowForecast, writeInflowForecast } from '../../forecasting/write.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 5, 30, 16); // local midnight, Wednesday 1 July
const EVENT_UTC_MS = START_UTC_MS + MS_PER_DAY;
const DAYS = 3;
/** One hour of C-E7's observed rain is missing (a gauge outage). */
const RAIN_GAP = { fromUtcMs: EVENT_UTC_MS + 7 * MS_PER_H, toUtcMs: EVENT_UTC_MS + 8 * MS_PER_H };

void describe('forecasting with InfluxDB', () => {
  let servers: TestServers;
  let influx: InfluxConnector;
  let history: SimulatedHistory;
  let forecastServer: ForecastServer;
  let nowUtcMs = EVENT_UTC_MS + 7 * MS_PER_H + 10 * MS_PER_MIN;
  /** The official-SDK connector on the local forecast server, at the test's clock. */
  const localOpenMeteo = () =>
    createOpenMeteoConnector({
      forecastUrl: `${forecastServer.url}/v1/forecast`,
      ensembleUrl: `${forecastServer.url}/v1/ensemble`,
      archiveUrl: `${forecastServer.url}/v1/archive`,
      retries: 0,
      nowUtcMs: () => nowUtcMs,
    });

  before(async () => {
    servers = await startTestServers({ temporal: false });
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
    const scenario = createRainScenario('chicago-10y', { startUtcMs: EVENT_UTC_MS });
    history = simulateHistory({ network, startUtcMs: START_UTC_MS, durationMs: DAYS * MS_PER_DAY, stepMin: 5, seed: 4, events: [{ scenario }] });
    forecastServer = await startForecastServer({ scenario, seed: 3, ensembleMembers: 11, nowUtcMs: () => nowUtcMs });
  });
  after(async () => {
    await forecastServer?.close();
    await servers?.stop();
  });

  void it('writes telemetry and observed rain, and reads back local inflow and rain with gaps as null', async () => {
    const written = await writeTelemetryHistory(influx, network, history);
    assert.ok(written > 16 * 800);
    const stepMs = 5 * MS_PER_MIN;
    const rain = Object.fromEntries(
      Object.entries(history.rainMm).map(([id, values]) => [
        id,
        {
          startUtcMs: START_UTC_MS,
          stepMin: 5,
          values: values.map((v, i) => {
            const t = START_UTC_MS + i * stepMs;
            return id === 'C-E7' && t >= RAIN_GAP.fromUtcMs && t < RAIN_GAP.toUtcMs ? null : v;
          }),
        },
      ]),
    );
    await writeObservedRain(influx, rain);

    const range = { fromUtcMs: START_UTC_MS, toUtcMs: START_UTC_MS + DAYS * MS_PER_DAY, stepMin: 5 };
    const read = await readStationHistory(influx, network, range);
    assert.equal(read.grid.steps, DAYS * 288);
    for (const s of network.stations) {
      const expected = history.localInflowM3h[s.id]!;
      const got = read.localInflowM3h[s.id]!;
      // Stations with upstream: unknown until the first upstream flow has arrived.
      const firstKnown = got.findIndex((v) => v !== null);
      assert.ok(firstKnown >= 0 && firstKnown <= 14, `${s.id}: first known step ${firstKnown}`);
      for (let i = firstKnown; i < got.length; i++) {
        assert.ok(Math.abs(got[i]! - expected[i]!) <= 1e-6 * Math.max(1, expected[i]!), `${s.id} step ${i}: ${got[i]} vs ${expected[i]}`);
      }
    }

    const rain15 = await readObservedRain(influx, ['C-E7', 'C-W1', 'C-NONE'], { ...range, stepMin: 15 });
    const e7 = rain15['C-E7']!.values;
    const truth = aggregate({ startUtcMs: START_UTC_MS, stepMin: 5, values: history.rainMm['C-E7']! }, 15, 'sum', 1).values;
    e7.forEach((v, i) => {
      const t = START_UTC_MS + i * 15 * MS_PER_MIN;
      if (t >= RAIN_GAP.fromUtcMs && t < RAIN_GAP.toUtcMs) assert.equal(v, null, `gap step ${i}`);
      else assert.ok(v !== null && Math.abs(v - truth[i]!) < 1e-9, `step ${i}: ${v} vs ${truth[i]}`);
    });
    assert.ok(rain15['C-W1']!.values.every((v) => v !== null));
    assert.ok(rain15['C-NONE']!.values.every((v) => v === null), 'no data is a gap, not zero rain');
  });

  void it('writes inflow forecasts with their issue time, reads them back and verifies them against telemetry', async () => {
    const connector = localOpenMeteo();
    const source = createRainSource({ connector, locations: network, horizonH: 24, nowUtcMs: () => nowUtcMs });
    const models = modelsFromNetwork(network);
    const issues: number[] = [];
    for (const issuedAtUtcMs of [nowUtcMs, nowUtcMs + 3 * MS_PER_H]) {
      nowUtcMs = issuedAtUtcMs;
      const rain = await source.get();
      assert.equal(rain.quality, 'fresh');
      assert.equal(rain.ensemble.members, 11);
      const pastFrom = rain.startUtcMs - MS_PER_DAY;
      const pastRain = await readObservedRain(influx, network.catchments.map((c) => c.id), { fromUtcMs: pastFrom, toUtcMs: rain.startUtcMs, stepMin: 15 });
      const forecast = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs, rain, pastRain });
      if (issues.length === 1) {
        assert.match(forecast.stations.find((s) => s.stationId === 'E7')!.flags.join(' '), /4 step\(s\) of observed rain missing at C-E7/);
      }
      const points = await writeInflowForecast(influx, forecast);
      assert.equal(points, 16 * 96 * 4);
      issues.push(issuedAtUtcMs);

      const stored = (await readInflowForecast(influx, { issuedAtUtcMs }))!;
      assert.ok(stored, 'the issue is complete');
      assert.equal(stored.rainQuality, 'fresh');
      assert.deepEqual(Object.keys(stored.stations).sort(), network.stations.map((s) => s.id).sort());
      for (const s of forecast.stations) {
        const back = stored.stations[s.stationId]!;
        assert.deepEqual(Object.keys(back).sort(), ['det', 'p10', 'p50', 'p90']);
        assert.equal(back['det']!.timeUtcMs[0], forecast.startUtcMs);
        assert.equal(back['det']!.timeUtcMs.length, 96);
        back['det']!.flowM3h.forEach((v, i) => assert.ok(Math.abs(v - s.deterministicM3h[i]!) < 1e-9));
        back['p90']!.flowM3h.forEach((v, i) => assert.ok(Math.abs(v - s.quantilesM3h['p90']![i]!) < 1e-9));
      }
      const one = await readInflowForecast(influx, { issuedAtUtcMs, stationIds: ['W1'] });
      assert.deepEqual(Object.keys(one?.stations ?? {}), ['W1']);
    }
    assert.deepEqual(await listInflowForecastIssues(influx), issues);

    const verification = await verifyInflowForecast(influx, network, issues[0]!);
    assert.equal(verification.length, 16);
    for (const v of verification) {
      assert.equal(v.steps, 96, `${v.stationId}: observed steps`);
      assert.ok(Number.isFinite(v.nse) && Number.isFinite(v.volumeErrorPct) && v.coverageP10P90 >= 0 && v.coverageP10P90 <= 1, JSON.stringify(v));
    }
    // The configured model on the twin: forecast volume within 15 % at every station.
    assert.ok(verification.every((v) => Math.abs(v.volumeErrorPct) < 15), JSON.stringify(verification));
  });

  void it('issues the cycle\'s forecast on dry-weather flow learned from the telemetry in InfluxDB', async () => {
    const connector = localOpenMeteo();
    const rain = createRainSource({ connector, locations: network, horizonH: 24, pastH: 24, nowUtcMs: () => nowUtcMs });
    // Three days of history: one dry weekday (no rain before the record counts as unknown, hence no antecedent days).
    const cycle = createInflowCycle({
      network,
      influx,
      rain,
      now: () => nowUtcMs,
      // One dry weekday and no weekend: below the cycle's minimum of dry days per day type, lowered here.
      dwfLearning: { historyDays: 3, stepMin: 60, options: { antecedentDryDays: 0, minDryDaysPerType: 1, minAcceptedDryDaysPerType: 0 } },
    });
    const before = await cycle.issue();
    assert.ok(before.inflow.flags.some((f) => /patterns at/.test(f)), 'configured until learned');
    const report = await cycle.refreshModels();
    assert.deepEqual(
      report.filter((r) => r.source !== 'learned').map((r) => `${r.stationId}: ${r.detail}`),
      [],
    );
    // Learned from one day of the twin against the network file the twin runs on: close at most stations;
    // a small one below others (E8: 42 m³/h of its own under two stations and a tank outlet) carries the routing residual.
    const configured = modelsFromNetwork(network);
    const ratios = cycle.models().models.map((model) => {
      const truth = configured.find((m) => m.stationId === model.stationId)!.dwf.weekdayM3h;
      return model.dwf.weekdayM3h.reduce((a, v) => a + v, 0) / truth.reduce((a, v) => a + v, 0);
    });
    const sorted = [...ratios].sort((a, b) => a - b);
    assert.ok(sorted.every((r) => Math.abs(r - 1) < 0.2), `learned / configured weekday means: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
    assert.ok(Math.abs(sorted[Math.floor(sorted.length / 2)]! - 1) < 0.03, `median ${sorted[Math.floor(sorted.length / 2)]}`);
    const issued = await cycle.issue();
    assert.ok(!issued.inflow.flags.some((f) => /patterns at/.test(f)), issued.inflow.flags.join(' | '));
    assert.equal(issued.rain.pastSteps, 96);
    assert.ok(issued.inflow.stations.every((s) => !s.flags.some((f) => /no observed rain before the start/.test(f))), 'past hours set the RDII state');
    assert.equal(issued.written, 16 * 96 * 4);
    // The hour of observed local inflow the correction read is kept for the dashboards, the same values, at W3
    // (fed by W1 and W2: its measured inflow is mostly theirs).
    const startUtcMs = issued.rain.startUtcMs;
    const recent = await readRecentLocalInflow(influx, network, startUtcMs, issued.rain.stepMin, 60);
    const [kept] = await influx.query(`SELECT "flowM3h" FROM "local_inflow" WHERE "station" = 'W3' AND time >= ${startUtcMs - MS_PER_H}ms AND time < ${startUtcMs}ms`);
    assert.deepEqual(kept?.values.map((row) => row[1]), recent['W3']!.values.filter((v) => v !== null));
    assert.ok((kept?.values.length ?? 0) >= 3, `W3 local inflow steps kept: ${kept?.values.length}`);
    const stored = await readInflowForecast(influx, { issuedAtUtcMs: issued.inflow.issuedAtUtcMs });
    assert.equal(Object.keys(stored?.stations ?? {}).length, 16);
    const fromMemory = await cycle.plannerInflow(issued.inflow.issuedAtUtcMs);
    assert.equal(fromMemory?.from, 'memory');
    assert.equal(fromMemory?.inflow.members?.length, 11);
  });

  void it('corrects the dry-weather flow by the last hour of measured local inflow, closer to what came next', async () => {
    const savedNow = nowUtcMs;
    // 14:10 local on the dry first day: the last whole 15-min step ends at 14:00.
    nowUtcMs = START_UTC_MS + 14 * MS_PER_H + 10 * MS_PER_MIN;
    const endUtcMs = START_UTC_MS + 14 * MS_PER_H;
    try {
      const recent = await readRecentLocalInflow(influx, network, endUtcMs, 15, 60);
      const sources = upstreamSources(network);
      for (const s of network.stations) {
        const series = recent[s.id]!;
        assert.equal(series.startUtcMs, endUtcMs - MS_PER_H);
        assert.equal(series.values.length, 4);
        const first = (series.startUtcMs - START_UTC_MS) / (5 * MS_PER_MIN);
        const truth = [0, 1, 2, 3].map((k) => history.localInflowM3h[s.id]!.slice(first + 3 * k, first + 3 * k + 3).reduce((a, v) => a + v, 0) / 3);
        // Headwater stations: the measured inflow itself; below others, upstream arrivals interpolated at 15 min.
        const tolerance = sources[s.id]!.length === 0 ? 1e-6 : 0.05;
        series.values.forEach((v, k) => assert.ok(v !== null && Math.abs(v - truth[k]!) <= tolerance * truth[k]!, `${s.id} step ${k}: ${v} vs ${truth[k]}`));
      }

      const rain = () => createRainSource({ connector: localOpenMeteo(), locations: network, horizonH: 24, pastH: 24, nowUtcMs: () => nowUtcMs });
      const corrected = await createInflowCycle({ network, influx, rain: rain(), now: () => nowUtcMs, dwfLearning: false, write: false }).issue();
      const plain = await createInflowCycle({ network, influx, rain: rain(), now: () => nowUtcMs, dwfLearning: false, write: false, errorCorrection: false }).issue();
      assert.equal(corrected.inflow.startUtcMs, endUtcMs);
      const applied = corrected.inflow.stations.filter((s) => s.errorCorrectionM3h !== 0);
      assert.ok(applied.length >= 12, `corrected at ${applied.map((s) => s.stationId).join(', ')}`);
      assert.ok(plain.inflow.stations.every((s) => s.errorCorrectionM3h === 0));
      // Over the next hour, summed over the stations: the corrected forecast is nearer the twin's inflow.
      let errorCorrected = 0;
      let errorPlain = 0;
      for (const s of corrected.inflow.stations) {
        const first = (endUtcMs - START_UTC_MS) / (5 * MS_PER_MIN);
        for (let k = 0; k < 4; k++) {
          const truth = history.localInflowM3h[s.stationId]!.slice(first + 3 * k, first + 3 * k + 3).reduce((a, v) => a + v, 0) / 3;
          errorCorrected += Math.abs(s.deterministicM3h[k]! - truth);
          errorPlain += Math.abs(plain.inflow.stations.find((p) => p.stationId === s.stationId)!.deterministicM3h[k]! - truth);
        }
      }
      assert.ok(errorCorrected < 0.8 * errorPlain, `mean absolute error ${errorCorrected.toFixed(0)} against ${errorPlain.toFixed(0)} m³/h`);
    } finally {
      nowUtcMs = savedNow;
    }
  });

  void it('reads each station\'s recent pumping per minute, values held between the points telemetry stores', async () => {
    // Ten days after the history above, 37 s into a minute: the history ends at that minute's start.
    const until = START_UTC_MS + 10 * MS_PER_DAY + 37_000;
    const at = (minutesBefore: number) => until - minutesBefore * MS_PER_MIN;
    const point = (id: string, minutesBefore: number, outflowM3h: number) => ({ measurement: 'station', tags: { id }, fields: { outflowM3h }, timeUtcMs: at(minutesBefore) });
    await influx.write([
      // W1: one pump from before the window, stopped 50 min ago, two pumps from 20 min ago.
      point('W1', 200, 200),
      point('W1', 50, 0),
      point('W1', 20, 400),
      // E1: unchanged since before the window.
      point('E1', 120, 550),
      // E2: nothing known before 10 min ago.
      point('E2', 10, 480),
    ]);
    const recent = await readRecentOutflow(influx, network, until, 85);
    const w1 = recent.get('W1');
    assert.equal(w1?.stepMin, 1);
    assert.deepEqual(w1?.valuesM3h, [...new Array<number>(35).fill(200), ...new Array<number>(30).fill(0), ...new Array<number>(20).fill(400)]);
    assert.deepEqual(recent.get('E1')?.valuesM3h, new Array<number>(85).fill(550));
    assert.deepEqual(recent.get('E2')?.valuesM3h, new Array<number>(85).fill(480), 'before the first value known, that value');
    assert.equal(recent.has('W2'), false, 'a station without telemetry is left out');
  });

  void it('reads the interconnection\'s recent transfer per minute, signed (positive a → b)', async () => {
    const until = START_UTC_MS + 11 * MS_PER_DAY + 12_000;
    const at = (minutesBefore: number) => until - minutesBefore * MS_PER_MIN;
    const point = (minutesBefore: number, transferM3h: number) => ({ measurement: 'interconnection', tags: { id: 'X1' }, fields: { transferM3h }, timeUtcMs: at(minutesBefore) });
    // E4 → W6 (b → a: negative) from before the window, reversed to W6 → E4 40 min ago.
    await influx.write([point(90, -600), point(40, 300)]);
    const recent = await readRecentTransfer(influx, network, until, 60);
    assert.deepEqual(recent.get('X1'), { stepMin: 1, valuesM3h: [...new Array<number>(20).fill(-600), ...new Array<number>(40).fill(300)] });
  });
});
