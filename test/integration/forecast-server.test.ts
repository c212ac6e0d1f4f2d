import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fetchWeatherApi } from 'openmeteo';
import { Variable } from '@openmeteo/sdk/weather_api.js';
import { createRainScenario, perturbForecast, type RainScenario } from '../../scenarios/rain.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { createOpenMeteoConnector, OpenMeteoError, OpenMeteoHttpError, OpenMeteoRateLimitError, type ForecastLocation } from '../../connectors/openmeteo.js';
import { activityRainForecastSource, createRainSource } from '../../forecasting/rain-source.js';
import { forecastInflow } from '../../forecasting/inflow.js';

const H_MS = 3_600_000;
const START_UTC_MS = Date.UTC(2026, 6, 1);
const SEED = 7;
const MEMBERS = 10;
const LOCATIONS: ForecastLocation[] = [
  { id: 'W1', latDeg: 30.8, lonDeg: 120.9 },
  { id: 'W6', latDeg: 30.73, lonDeg: 121.0 },
  { id: 'E1', latDeg: 30.7, lonDeg: 121.01 },
  { id: 'E7', latDeg: 30.63, lonDeg: 121.2 },
];

const truth = createRainScenario('typhoon', { startUtcMs: START_UTC_MS });
const member = (m: number): RainScenario => perturbForecast(truth, { seed: SEED, member: m });

/** Open-Meteo labels an accumulation with the END of its interval. */
const expectedMm = (s: RainScenario, l: ForecastLocation, timeUtcMs: number, stepMs: number): number =>
  s.rainMmBetween(l.latDeg, l.lonDeg, timeUtcMs - stepMs, timeUtcMs);

/** Float32 on the wire: equal to ~7 significant digits. */
function assertClose(actual: number | null | undefined, expected: number, what: string, absTol = 1e-4): void {
  assert.ok(typeof actual === 'number', `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= absTol + 1e-6 * Math.abs(expected), `${what}: ${actual} ≠ ${expected}`);
}

void describe('forecast server through the connector and the SDK', () => {
  let server: ForecastServer;
  let nowUtcMs = START_UTC_MS + 2 * H_MS + 20 * 60_000; // 02:20Z: the typhoon's rain starts at 06:00Z
  const connector = () =>
    createOpenMeteoConnector({
      forecastUrl: `${server.url}/v1/forecast`,
      ensembleUrl: `${server.url}/v1/ensemble`,
      archiveUrl: `${server.url}/v1/archive`,
      timeoutMs: 5_000,
      retries: 0,
      nowUtcMs: () => nowUtcMs,
    });

  before(async () => {
    server = await startForecastServer({
      port: 0,
      scenario: 'typhoon',
      scenarioStartUtcMs: START_UTC_MS,
      seed: SEED,
      ensembleMembers: MEMBERS,
      nowUtcMs: () => nowUtcMs,
    });
  });
  after(() => server.close());

  void it('serves the perturbed forecast for every location in one request, hourly and 15-min', async () => {
    const requestsBefore = server.requestCount;
    const result = await connector().fetchPrecipitationForecast(LOCATIONS, { hours: 48, includeMinutely15: true });
    assert.equal(server.requestCount - requestsBefore, 1);
    const currentHourUtcMs = Math.floor(nowUtcMs / H_MS) * H_MS;
    for (const location of LOCATIONS) {
      const forecast = result[location.id];
      assert.ok(forecast, `no forecast for ${location.id}`);
      assert.equal(forecast.issuedAtUtcMs, nowUtcMs);
      assert.equal(forecast.model, 'best_match');
      const { hourly } = forecast;
      assert.equal(hourly.stepMin, 60);
      assert.equal(hourly.timeUtcMs.length, 48);
      assert.equal(hourly.timeUtcMs[0], currentHourUtcMs);
      assert.equal(hourly.gaps, 0);
      hourly.timeUtcMs.forEach((t, i) => {
        assertClose(hourly.precipitationMm[i], expectedMm(member(0), location, t, H_MS), `${location.id} hourly ${new Date(t).toISOString()}`);
        const wetMembers = Array.from({ length: MEMBERS }, (_, m) => expectedMm(member(m), location, t, H_MS)).filter((mm) => mm > 0.1);
        assert.equal(hourly.precipitationProbabilityPct[i], Math.round((100 * wetMembers.length) / MEMBERS));
      });
      const totalMm = hourly.precipitationMm.reduce<number>((sum, v) => sum + (v ?? 0), 0);
      assert.ok(totalMm > 100, `${location.id}: only ${totalMm} mm in 48 h of a typhoon forecast`);

      const quarters = forecast.minutely15;
      assert.ok(quarters);
      assert.equal(quarters.stepMin, 15);
      assert.equal(quarters.timeUtcMs.length, 48 * 4);
      assert.equal(quarters.timeUtcMs[0], Math.floor(nowUtcMs / (15 * 60_000)) * 15 * 60_000);
      // The quarters labelled 02:15..03:00 make up the hour labelled 03:00.
      let hoursChecked = 0;
      hourly.timeUtcMs.forEach((t, h) => {
        const inHour = quarters.timeUtcMs.map((q, k) => [q, k] as const).filter(([q]) => q > t - H_MS && q <= t);
        if (inHour.length < 4) return;
        const fourMm = inHour.reduce((sum, [, k]) => sum + (quarters.precipitationMm[k] ?? Number.NaN), 0);
        assertClose(fourMm, hourly.precipitationMm[h] ?? Number.NaN, `${location.id} quarters of hour ${h}`, 1e-3);
        hoursChecked += 1;
      });
      assert.ok(hoursChecked >= 46, `only ${hoursChecked} hours covered by quarters`);
    }
  });

  void it('answers raw fetchWeatherApi in the wire format, days starting at local midnight', async () => {
    const responses = await fetchWeatherApi(`${server.url}/v1/forecast`, {
      latitude: LOCATIONS.map((l) => l.latDeg),
      longitude: LOCATIONS.map((l) => l.lonDeg),
      hourly: 'precipitation,rain',
      forecast_days: 2,
      timezone: 'Asia/Shanghai',
    });
    assert.equal(responses.length, LOCATIONS.length);
    // 02:20Z is 10:20 in Shanghai: the local day began at 16:00Z the day before.
    const localMidnightUtcMs = START_UTC_MS - 8 * H_MS;
    responses.forEach((response, i) => {
      const location = LOCATIONS[i] as ForecastLocation;
      assert.ok(Math.abs(response.latitude() - location.latDeg) < 1e-4);
      assert.ok(Math.abs(response.longitude() - location.lonDeg) < 1e-4);
      assert.equal(response.utcOffsetSeconds(), 28_800);
      assert.equal(response.timezone(), 'Asia/Shanghai');
      const hourly = response.hourly();
      assert.ok(hourly);
      assert.equal(Number(hourly.time()) * 1000, localMidnightUtcMs);
      assert.equal(Number(hourly.timeEnd()) * 1000, localMidnightUtcMs + 48 * H_MS);
      assert.equal(hourly.interval(), 3600);
      assert.equal(hourly.variablesLength(), 2);
      const precipitation = hourly.variables(0);
      assert.equal(precipitation?.variable(), Variable.precipitation);
      assert.equal(hourly.variables(1)?.variable(), Variable.rain);
      const values = precipitation?.valuesArray() ?? new Float32Array();
      assert.equal(values.length, 48);
      values.forEach((v, k) => {
        const t = localMidnightUtcMs + k * H_MS;
        assertClose(v, expectedMm(member(0), location, t, H_MS), `${location.id} raw ${k}`);
      });
    });
  });

  void it('answers JSON like the real API: local ISO times, one object per location', async () => {
    const response = await fetch(
      `${server.url}/v1/forecast?latitude=30.8,30.63&longitude=120.9,121.2&hourly=precipitation&forecast_days=2&timezone=Asia/Shanghai`,
    );
    assert.equal(response.status, 200);
    const bodies = (await response.json()) as {
      utc_offset_seconds: number;
      hourly_units: Record<string, string>;
      hourly: { time: string[]; precipitation: (number | null)[] };
    }[];
    assert.equal(bodies.length, 2);
    const body = bodies[1];
    assert.ok(body);
    assert.equal(body.utc_offset_seconds, 28_800);
    assert.equal(body.hourly_units.precipitation, 'mm');
    assert.equal(body.hourly.time[0], '2026-07-01T00:00');
    assert.equal(body.hourly.time.length, 48);
    const e7 = LOCATIONS[3] as ForecastLocation;
    body.hourly.time.forEach((_, k) => {
      const t = START_UTC_MS - 8 * H_MS + k * H_MS;
      assertClose(body.hourly.precipitation[k], expectedMm(member(0), e7, t, H_MS), `JSON ${k}`, 0.006);
    });
  });

  void it('serves ensemble members, member by member, in FlatBuffers and through the connector', async () => {
    const raw = await fetchWeatherApi(`${server.url}/v1/ensemble`, { latitude: 30.8, longitude: 120.9, hourly: 'precipitation', forecast_days: 2 });
    const hourly = raw[0]?.hourly();
    assert.ok(hourly);
    assert.equal(hourly.variablesLength(), MEMBERS);
    assert.deepEqual(
      Array.from({ length: MEMBERS }, (_, i) => hourly.variables(i)?.ensembleMember()),
      Array.from({ length: MEMBERS }, (_, i) => i),
    );

    const result = await connector().fetchEnsemble(LOCATIONS, { hours: 36 });
    for (const location of LOCATIONS) {
      const ensemble = result[location.id];
      assert.ok(ensemble);
      assert.equal(ensemble.hourly.members.length, MEMBERS);
      for (const { member: m, precipitationMm } of ensemble.hourly.members) {
        ensemble.hourly.timeUtcMs.forEach((t, i) => {
          assertClose(precipitationMm[i], expectedMm(member(m), location, t, H_MS), `${location.id} member ${m} ${i}`);
        });
      }
      const totals = ensemble.hourly.members.map((m) => m.precipitationMm.reduce<number>((s, v) => s + (v ?? 0), 0));
      assert.ok(new Set(totals.map((t) => t.toFixed(3))).size > MEMBERS / 2, 'members should differ');
    }
  });

  void it('archive serves the truth up to "now" and flags later hours as gaps', async () => {
    nowUtcMs = START_UTC_MS + 2 * 24 * H_MS + 12 * H_MS; // 2026-07-03T12:00Z
    try {
      const result = await connector().fetchArchive(LOCATIONS, { startDate: '2026-07-01', endDate: '2026-07-03' });
      for (const location of LOCATIONS) {
        const { hourly } = result[location.id] ?? assert.fail(`no archive for ${location.id}`);
        assert.equal(hourly.timeUtcMs.length, 72);
        assert.equal(hourly.timeUtcMs[0], START_UTC_MS);
        hourly.timeUtcMs.forEach((t, i) => {
          if (t <= nowUtcMs) assertClose(hourly.precipitationMm[i], expectedMm(truth, location, t, H_MS), `${location.id} archive ${i}`);
          else assert.equal(hourly.precipitationMm[i], null);
        });
        assert.equal(hourly.gaps, 72 - 61); // 00:00Z on the 1st .. 12:00Z on the 3rd are observed
      }
    } finally {
      nowUtcMs = START_UTC_MS + 2 * H_MS + 20 * 60_000;
    }
  });

  void it('answers bad parameters with HTTP 400 and a reason, as the real API does', async () => {
    const cases: [string, RegExp][] = [
      ['/v1/forecast?latitude=91&longitude=120&hourly=precipitation', /Latitude must be in range of -90 to 90/],
      ['/v1/forecast?latitude=30,31&longitude=120&hourly=precipitation', /same number of elements/],
      ['/v1/forecast?latitude=30&longitude=120&hourly=snow_depth_xyz', /invalid String value snow_depth_xyz/],
      ['/v1/archive?latitude=30&longitude=120&hourly=precipitation&start_date=2026-13-01&end_date=2026-07-02', /start_date/],
      ['/v1/archive?latitude=30&longitude=120&hourly=precipitation&start_date=2026-07-03&end_date=2026-07-01', /must not be before/],
      ['/v1/forecast?latitude=30&longitude=120&hourly=precipitation&forecast_days=99', /forecast_days/],
      ['/v1/forecast?latitude=30&longitude=120&hourly=precipitation&timezone=Mars/Olympus', /Invalid timezone/],
    ];
    for (const [path, reason] of cases) {
      const response = await fetch(`${server.url}${path}`);
      assert.equal(response.status, 400, path);
      const body = (await response.json()) as { error: boolean; reason: string };
      assert.equal(body.error, true);
      assert.match(body.reason, reason, path);
    }
  });

  void it('connector: names the endpoint and location on bad input and on API errors', async () => {
    const requestsBefore = server.requestCount;
    await assert.rejects(
      connector().fetchPrecipitationForecast([...LOCATIONS, { id: 'E99', latDeg: 91, lonDeg: 121 }], { hours: 24 }),
      (error: Error) => error instanceof OpenMeteoError && /E99/.test(error.message) && /91/.test(error.message),
    );
    assert.equal(server.requestCount, requestsBefore, 'invalid input must not reach the API');

    const badModel = createOpenMeteoConnector({ archiveUrl: `${server.url}/v1/archive`, archiveModel: 'no_such_model', retries: 0 });
    await assert.rejects(badModel.fetchArchive(LOCATIONS.slice(0, 1), { startDate: '2026-07-01', endDate: '2026-07-01' }), (error: Error) => {
      assert.ok(error instanceof OpenMeteoError);
      assert.match(error.message, /no_such_model/);
      assert.ok(error.message.includes(`${server.url}/v1/archive`));
      assert.match(error.message, /W1/);
      return true;
    });

    // The SDK would parse a 404 page as FlatBuffers; the connector must refuse it, not return junk.
    const wrongPath = createOpenMeteoConnector({ forecastUrl: `${server.url}/v1/forcast`, retries: 0 });
    await assert.rejects(wrongPath.fetchPrecipitationForecast(LOCATIONS, { hours: 6 }), /v1\/forcast.*HTTP 404 Not Found: Not Found: \/v1\/forcast \(wrong URL\?\)/);
  });

  void it('ping reports the round-trip latency', async () => {
    const latencyMs = await connector().ping();
    assert.ok(latencyMs >= 0 && latencyMs < 5_000);
  });
});

void describe('connector failure handling', () => {
  const options = { scenario: 'moderate' as const, scenarioStartUtcMs: START_UTC_MS, nowUtcMs: () => START_UTC_MS };

  void it('names the URL of an unreachable server after retrying', async () => {
    const gone = await startForecastServer({ ...options, port: 0 });
    await gone.close();
    const url = `${gone.url}/v1/forecast`;
    const client = createOpenMeteoConnector({ forecastUrl: url, retries: 2, backoffBaseMs: 10, timeoutMs: 1_000 });
    await assert.rejects(client.fetchPrecipitationForecast(LOCATIONS, { hours: 6 }), (error: Error) => {
      assert.ok(error instanceof OpenMeteoError);
      assert.equal(error.endpointUrl, url);
      assert.ok(error.message.includes(url), error.message);
      assert.match(error.message, /ECONNREFUSED/);
      assert.match(error.message, /3 attempts/);
      return true;
    });
  });

  void it('retries server errors and succeeds, times out slow answers', async () => {
    const flaky = await startForecastServer({ ...options, port: 0, failFirstRequests: 2 });
    try {
      const client = createOpenMeteoConnector({ forecastUrl: `${flaky.url}/v1/forecast`, retries: 2, backoffBaseMs: 10 });
      const result = await client.fetchPrecipitationForecast(LOCATIONS, { hours: 6 });
      assert.equal(result.W1?.hourly.timeUtcMs.length, 6);
      assert.equal(flaky.requestCount, 3);
    } finally {
      await flaky.close();
    }
    const slow = await startForecastServer({ ...options, port: 0, responseDelayMs: 500 });
    try {
      const client = createOpenMeteoConnector({ forecastUrl: `${slow.url}/v1/forecast`, retries: 0, timeoutMs: 100 });
      await assert.rejects(client.fetchPrecipitationForecast(LOCATIONS, { hours: 6 }), /timed out after 100 ms/);
    } finally {
      await slow.close();
    }
  });

  void it('turns missing values into counted gaps, never zeros', async () => {
    const rainUtcMs = START_UTC_MS + 6 * H_MS; // moderate rain: 06:00Z–12:00Z
    const gappy = await startForecastServer({
      ...options,
      port: 0,
      missingDataUtcMs: [{ startUtcMs: rainUtcMs + 2 * H_MS, endUtcMs: rainUtcMs + 4 * H_MS }],
    });
    try {
      const client = createOpenMeteoConnector({ forecastUrl: `${gappy.url}/v1/forecast` });
      const { W1 } = await client.fetchPrecipitationForecast(LOCATIONS.slice(0, 1), { hours: 24, includeMinutely15: true });
      assert.ok(W1);
      const missingHours = W1.hourly.timeUtcMs.filter((_, i) => W1.hourly.precipitationMm[i] === null);
      assert.deepEqual(missingHours, [rainUtcMs + 3 * H_MS, rainUtcMs + 4 * H_MS]);
      assert.equal(W1.hourly.gaps, 2);
      assert.equal(W1.minutely15?.gaps, 8);
    } finally {
      await gappy.close();
    }
  });
});

void describe('provider faults and damaged answers, injected into the forecast server (real wire format)', () => {
  const NOW_UTC_MS = START_UTC_MS + 2 * H_MS + 20 * 60_000; // 02:20Z; the typhoon's rain starts at 06:00Z
  const RAIN_LOCATIONS = LOCATIONS.map((l) => ({ catchmentId: l.id, latDeg: l.latDeg, lonDeg: l.lonDeg }));
  let server: ForecastServer;
  let clockMs = NOW_UTC_MS;
  const connector = (options: Partial<Parameters<typeof createOpenMeteoConnector>[0]> = {}) =>
    createOpenMeteoConnector({
      forecastUrl: `${server.url}/v1/forecast`,
      ensembleUrl: `${server.url}/v1/ensemble`,
      archiveUrl: `${server.url}/v1/archive`,
      timeoutMs: 5_000,
      retries: 1,
      backoffBaseMs: 10,
      nowUtcMs: () => clockMs,
      ...options,
    });
  const rainSource = (options: Partial<Parameters<typeof createRainSource>[0]> = {}) =>
    createRainSource({ connector: connector(), locations: RAIN_LOCATIONS, horizonH: 24, pastH: 72, nowUtcMs: () => clockMs, ...options });

  before(async () => {
    server = await startForecastServer({ port: 0, scenario: 'typhoon', scenarioStartUtcMs: START_UTC_MS, seed: SEED, ensembleMembers: MEMBERS, nowUtcMs: () => NOW_UTC_MS });
  });
  beforeEach(() => {
    clockMs = NOW_UTC_MS;
    server.inject({ faults: [], horizonHoursServed: undefined, missingDataUtcMs: [] });
  });
  after(() => server.close());

  void it('retries an HTTP 503 (an HTML page from the proxy) and names the status when it persists, not "wrong URL"', async () => {
    server.inject({ faults: [{ status: 503, body: 'html', times: 1 }] });
    let before = server.requestCount;
    const result = await connector().fetchPrecipitationForecast(LOCATIONS, { hours: 6 });
    assert.equal(result.W1?.hourly.timeUtcMs.length, 6);
    assert.equal(server.requestCount - before, 2, 'one 503, one retry');

    server.inject({ faults: [{ status: 503, body: 'html' }] });
    before = server.requestCount;
    await assert.rejects(connector().fetchPrecipitationForecast(LOCATIONS, { hours: 6 }), (error: Error) => {
      assert.ok(error instanceof OpenMeteoError);
      assert.match(error.message, /failed: HTTP 503 Service Unavailable: 503 Service Temporarily Unavailable 503 Service Temporarily Unavailable nginx \(gave up after 2 attempts\)$/);
      assert.doesNotMatch(error.message, /wrong URL|FlatBuffers/);
      assert.ok(error.cause instanceof OpenMeteoHttpError && error.cause.status === 503);
      return true;
    });
    assert.equal(server.requestCount - before, 2);
  });

  void it('honours a 429 Retry-After: retried when short, else the host is blocked (nothing sent) until then', async () => {
    // Short: waited out within the call.
    server.inject({ faults: [{ status: 429, retryAfterS: 1, times: 1 }] });
    let before = server.requestCount;
    const t0 = performance.now();
    await connector({ retryWaitMaxMs: 2_000 }).fetchPrecipitationForecast(LOCATIONS, { hours: 6 });
    assert.equal(server.requestCount - before, 2);
    assert.ok(performance.now() - t0 >= 950, 'waited for Retry-After');

    // Long: fails at once with the status and the wait, and no call reaches the host before then.
    server.inject({ faults: [{ status: 429, retryAfterS: 120, endpoint: 'forecast' }] });
    const client = connector();
    before = server.requestCount;
    await assert.rejects(
      client.fetchPrecipitationForecast(LOCATIONS, { hours: 6 }),
      /failed: HTTP 429 Too Many Requests: Minutely API request limit exceeded\. Please try again in one minute\.; retry after 120 s \(gave up after 1 attempt: the next would wait 120 s, beyond this call's time\)/,
    );
    assert.equal(server.requestCount - before, 1);
    server.inject({ faults: [] });
    clockMs = NOW_UTC_MS + 60_000;
    await assert.rejects(client.fetchEnsemble(LOCATIONS, { hours: 6 }), (error: Error) => {
      assert.match(error.message, /not sent: the service asked to wait until 2026-07-01T02:22:00\.000Z \(HTTP 429 from 127\.0\.0\.1:\d+\); 60 s left/);
      assert.ok(error.cause instanceof OpenMeteoRateLimitError);
      return true;
    });
    assert.equal(server.requestCount - before, 1, 'blocked: nothing sent');
    clockMs = NOW_UTC_MS + 121_000;
    const result = await client.fetchEnsemble(LOCATIONS, { hours: 6 });
    assert.equal(result.W1?.hourly.members.length, MEMBERS);
  });

  void it('keeps the hours a short answer does not cover unknown (not dry) in the rain and the hourly flood view', async () => {
    server.inject({ horizonHoursServed: 23 });
    const source = rainSource({ ensemble: false });
    const rain = await source.get();
    assert.equal(rain.quality, 'fresh-with-gaps');
    assert.match(rain.reason!, /beyond the end of the answer \(it ends at 2026-07-02T01:00Z, 1\.25 h before the end of the horizon\)/);
    for (const c of rain.catchments) assert.deepEqual(c.precipitationMm.slice(-5), [null, null, null, null, null]);
    assert.equal(rain.catchments[0]!.pastMm.filter((v) => v === null).length, 0);
    const hourly = await activityRainForecastSource(source, { stepMin: 60 }).fetchCatchmentRain({ catchments: LOCATIONS.map((l) => ({ id: l.id })) } as never, 24);
    assert.equal(hourly.locations[0]!.precipitationMm.at(-1), null);
    assert.match(hourly.source, /quality=fresh-with-gaps;60min$/);

    // An answer 3 h long is refused (88 % of the horizon unknown): nothing kept either, so no forecast — unknown, not 0 mm.
    server.inject({ horizonHoursServed: 3 });
    const short = await rainSource({ ensemble: false }).get();
    assert.equal(short.quality, 'fallback');
    assert.match(short.reason!, /8\d(\.\d)? % of the forecast values in the 24-h planning horizon are missing or not covered/);
    assert.ok(short.catchments.every((c) => c.precipitationMm.every((v) => v === null)));
  });

  void it('judges NaN gaps over the horizon only: 20 of 24 h missing is refused, 2 h is used and flagged', async () => {
    const hourUtcMs = Math.floor(NOW_UTC_MS / H_MS) * H_MS;
    server.inject({ missingDataUtcMs: [{ startUtcMs: hourUtcMs, endUtcMs: hourUtcMs + 20 * H_MS }] });
    const refused = await rainSource({ ensemble: false }).get();
    assert.equal(refused.quality, 'fallback');
    assert.match(refused.reason!, /8\d(\.\d)? % of the forecast values in the 24-h planning horizon are missing/);

    server.inject({ missingDataUtcMs: [{ startUtcMs: hourUtcMs + 4 * H_MS, endUtcMs: hourUtcMs + 6 * H_MS }] });
    const used = await rainSource({ ensemble: false }).get();
    assert.equal(used.quality, 'fresh-with-gaps');
    assert.match(used.reason!, /^deterministic rain: 32 of 384 steps in the 24-h horizon unknown — 32 missing \(NaN\) at 4 catchment\(s\)/);
    const forecast = forecastInflow({ models: [], timeZone: 'Asia/Shanghai', issuedAtUtcMs: clockMs, rain: used });
    assert.match(forecast.flags.join(' | '), /rain fresh-with-gaps: deterministic rain: 32 of 384/);
  });

  void it('drops all-NaN ensemble members and says how many are used', async () => {
    server.inject({ missingDataUtcMs: [{ startUtcMs: START_UTC_MS - 10 * 24 * H_MS, endUtcMs: START_UTC_MS + 20 * 24 * H_MS, endpoint: 'ensemble', members: [3, 7] }] });
    const rain = await rainSource().get();
    assert.equal(rain.ensemble.quality, 'fresh-with-gaps');
    assert.equal(rain.ensemble.members, MEMBERS - 2);
    assert.equal(rain.ensemble.membersDropped, 2);
    assert.match(rain.ensemble.reason!, new RegExp(`^2 of ${MEMBERS} ensemble members dropped as mostly missing in the horizon \\(members 3, 7; at W1: 2, W6: 2, E1: 2, E7: 2\\): ${MEMBERS - 2} used$`));
    assert.ok(rain.catchments.every((c) => c.members.length === MEMBERS - 2 && c.members.every((m) => m.every((v) => v !== null))));
  });

  void it('takes a NaN 15-min block from the hourly block of the same answer instead of refusing it', async () => {
    server.inject({ missingDataUtcMs: [{ startUtcMs: START_UTC_MS - 10 * 24 * H_MS, endUtcMs: START_UTC_MS + 20 * 24 * H_MS, block: 'minutely_15' }] });
    const rain = await rainSource({ ensemble: false }).get();
    assert.equal(rain.quality, 'fresh');
    assert.match(rain.notes.join(' | '), /15-min rain forecast missing at 4 catchment\(s\) \(W1, W6, E1, E7\)/);
    const { W1 } = await connector().fetchPrecipitationForecast(LOCATIONS.slice(0, 1), { hours: 24 });
    const w1 = rain.catchments.find((c) => c.catchmentId === 'W1')!;
    // Quarter k of the horizon (from 02:15Z) lies in the hour labelled by its end hour.
    const hourly = W1!.hourly;
    w1.precipitationMm.forEach((v, k) => {
      const quarterStart = Math.floor(NOW_UTC_MS / (15 * 60_000)) * 15 * 60_000 + k * 15 * 60_000;
      const h = hourly.timeUtcMs.indexOf(Math.floor(quarterStart / H_MS) * H_MS + H_MS);
      if (h >= 0) assertClose(v, hourly.precipitationMm[h]! / 4, `W1 quarter ${k}`);
    });
  });
});
