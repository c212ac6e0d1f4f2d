// Client-side rate limiting of the Open-Meteo connector: sliding windows over weighted calls with an
// injected clock, waits within the allowed time, refusals beyond it (before anything is sent), the
// free tier by default only for the public hosts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { callWeight, createOpenMeteoConnector, createRateLimiter, OpenMeteoError, OpenMeteoRateLimitError, type ForecastLocation } from '../../connectors/openmeteo.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';

const START_UTC_MS = Date.UTC(2026, 6, 1);
const LOCATIONS: ForecastLocation[] = [
  { id: 'W1', latDeg: 30.8, lonDeg: 120.9 },
  { id: 'E1', latDeg: 30.7, lonDeg: 121.01 },
];

/** A clock that only moves when the limiter sleeps (or the test says so). */
function fakeTime(startMs: number) {
  const t = { nowMs: startMs, slept: [] as number[] };
  return {
    t,
    now: () => t.nowMs,
    sleep: (ms: number) => {
      t.slept.push(ms);
      t.nowMs += ms;
      return Promise.resolve();
    },
  };
}

void describe('Open-Meteo rate limiting', () => {
  void it('weighs calls as the service does: locations, variables × members over 10, days over 14', () => {
    assert.equal(callWeight({ locations: 1, variables: 2, days: 1 }), 1);
    assert.equal(callWeight({ locations: 16, variables: 3, days: 31 / 24 }), 16);
    assert.equal(callWeight({ locations: 16, variables: 1, members: 51, days: 31 / 24 }), 16 * 5.1);
    assert.equal(callWeight({ locations: 2, variables: 1, days: 28 }), 4);
  });

  void it('waits for room in a window and refuses a call that would wait too long, naming the window', async () => {
    const time = fakeTime(0);
    const limiter = createRateLimiter(
      [
        { name: 'minute', windowMs: 60_000, limit: 3 },
        { name: 'hour', windowMs: 3_600_000, limit: 5 },
      ],
      { now: time.now, sleep: time.sleep, maxWaitMs: 90_000 },
    );
    for (let i = 0; i < 3; i++) await limiter.acquire(1, 'call');
    assert.deepEqual(time.t.slept, [], 'three calls fit in the first minute');
    time.t.nowMs = 10_000;
    await limiter.acquire(1, 'call');
    assert.deepEqual(time.t.slept, [50_000], 'the fourth waits until the first call leaves the minute window');
    assert.equal(time.t.nowMs, 60_000);
    await limiter.acquire(1, 'call');
    assert.deepEqual(limiter.usage(), { minute: 2, hour: 5 });
    await assert.rejects(
      () => limiter.acquire(1, 'call'),
      (error: Error) => {
        assert.ok(error instanceof OpenMeteoRateLimitError);
        assert.equal(error.window, 'hour');
        assert.ok(error.retryAfterMs > 90_000 && error.retryAfterMs <= 3_600_000, String(error.retryAfterMs));
        assert.match(error.message, /per hour reached \(5\.0 of 5 weighted calls used/);
        return true;
      },
    );
    assert.equal(limiter.usage()['hour'], 5, 'a refused call takes no budget');
    await assert.rejects(() => limiter.acquire(4, 'big call'), /exceeds the limit itself/);
    // An hour after the first call, room again.
    time.t.nowMs = 3_600_000 + 1;
    await limiter.acquire(1, 'call');
    assert.equal(limiter.usage()['hour'], 3);
  });

  void it('concurrent callers cannot overbook a window', async () => {
    const time = fakeTime(0);
    const limiter = createRateLimiter([{ name: 'minute', windowMs: 60_000, limit: 2 }], { now: time.now, sleep: time.sleep, maxWaitMs: 0 });
    const results = await Promise.allSettled([1, 2, 3].map(() => limiter.acquire(1, 'call')));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'rejected'],
    );
  });

  void describe('in the connector', () => {
    let server: ForecastServer;
    let nowUtcMs = START_UTC_MS + 2 * 3_600_000;
    before(async () => {
      server = await startForecastServer({ port: 0, scenario: 'moderate', scenarioStartUtcMs: START_UTC_MS, seed: 1, ensembleMembers: 10, nowUtcMs: () => nowUtcMs });
    });
    after(() => server.close());

    void it('refuses a call over the limit before sending it, as an OpenMeteoError', async () => {
      const connector = createOpenMeteoConnector({
        forecastUrl: `${server.url}/v1/forecast`,
        ensembleUrl: `${server.url}/v1/ensemble`,
        archiveUrl: `${server.url}/v1/archive`,
        retries: 0,
        nowUtcMs: () => nowUtcMs,
        // Two locations weigh 2 per forecast call; the ensemble with 10 members weighs 2 too.
        rateLimits: [{ name: 'minute', windowMs: 60_000, limit: 5 }],
        rateLimitMaxWaitMs: 0,
        ensembleMembersEstimate: 10,
      });
      await connector.fetchPrecipitationForecast(LOCATIONS, { hours: 24 });
      await connector.fetchEnsemble(LOCATIONS, { hours: 24 });
      const sent = server.requestCount;
      await assert.rejects(
        () => connector.fetchPrecipitationForecast(LOCATIONS, { hours: 24 }),
        (error: Error) => error instanceof OpenMeteoError && /not sent: client-side rate limit per minute reached \(4\.0 of 5/.test(error.message) && error.cause instanceof OpenMeteoRateLimitError,
      );
      assert.equal(server.requestCount, sent, 'nothing was sent');
      assert.deepEqual(connector.rateLimitUsage?.(), { '127.0.0.1': { minute: 4 } });
      nowUtcMs += 60_001;
      await connector.fetchPrecipitationForecast(LOCATIONS, { hours: 24 });
      assert.equal(server.requestCount, sent + 1);
    });

    void it('limits the public service by default and a local server only when told to', () => {
      const local = createOpenMeteoConnector({ forecastUrl: `${server.url}/v1/forecast`, ensembleUrl: `${server.url}/v1/ensemble`, archiveUrl: `${server.url}/v1/archive` });
      assert.deepEqual(local.rateLimitUsage?.(), {});
      const publicApi = createOpenMeteoConnector();
      // The three public endpoints share one budget (the limits are per client across the APIs).
      assert.deepEqual(publicApi.rateLimitUsage?.(), { 'open-meteo.com': { minute: 0, hour: 0, day: 0 } });
      const customer = createOpenMeteoConnector({ forecastUrl: 'https://customer-api.open-meteo.com/v1/forecast', ensembleUrl: 'https://customer-ensemble-api.open-meteo.com/v1/ensemble', archiveUrl: 'https://customer-archive-api.open-meteo.com/v1/archive' });
      assert.deepEqual(customer.rateLimitUsage?.(), {});
      const off = createOpenMeteoConnector({ rateLimits: false });
      assert.deepEqual(off.rateLimitUsage?.(), {});
    });
  });
});
