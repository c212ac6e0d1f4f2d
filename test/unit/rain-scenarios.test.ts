import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CHICAGO_DURATION_MIN,
  CHICAGO_PEAK_RATIO,
  createRainScenario,
  FORECAST_ERROR,
  forecastPerturbation,
  JIAXING_LIKE_STORM_FORMULA,
  maxRainMmInWindow,
  mulberry32,
  perturbForecast,
  RAIN_SCENARIOS,
  rainMmInMinute,
  rainSeries,
  SCENARIO_NAMES,
  type PointDeg,
  type RainScenario,
} from '../../scenarios/rain.js';

const START_UTC_MS = Date.UTC(2026, 6, 1);
const MIN_MS = 60_000;
const H_MS = 3_600_000;

// Catchment centroids from the reference network.
const W1: PointDeg = { latDeg: 30.8, lonDeg: 120.9 };
const WEST = [W1, { latDeg: 30.79, lonDeg: 120.93 }, { latDeg: 30.78, lonDeg: 120.95 }, { latDeg: 30.76, lonDeg: 120.97 }];
const EAST = [
  { latDeg: 30.71, lonDeg: 121.05 },
  { latDeg: 30.7, lonDeg: 121.07 },
  { latDeg: 30.65, lonDeg: 121.08 },
  { latDeg: 30.63, lonDeg: 121.2 },
  { latDeg: 30.68, lonDeg: 121.12 },
];
const FAR_WEST: PointDeg = { latDeg: 30.8, lonDeg: 120.7 };
const LANDFALL: PointDeg = { latDeg: 30.6, lonDeg: 121.15 };

const scenario = (name: (typeof SCENARIO_NAMES)[number], rainOnsetOffsetMin?: number): RainScenario =>
  createRainScenario(name, { startUtcMs: START_UTC_MS, rainOnsetOffsetMin });

function totalMm(s: RainScenario, point: PointDeg, stepMin = 60): number {
  const series = rainSeries(s, point, { startUtcMs: s.startUtcMs, endUtcMs: s.startUtcMs + s.durationMs, stepMin });
  return series.rainMm.reduce((sum, v) => sum + v, 0);
}

/** First and last minute with rain at a point (minute resolution). */
function wetSpan(s: RainScenario, point: PointDeg): { firstUtcMs: number; lastUtcMs: number } {
  const { timeUtcMs, rainMm } = rainSeries(s, point, { startUtcMs: s.startUtcMs, endUtcMs: s.startUtcMs + s.durationMs, stepMin: 1 });
  const wet = timeUtcMs.filter((_, i) => (rainMm[i] ?? 0) > 1e-9);
  assert.ok(wet.length > 0, `${s.name} has no rain at ${JSON.stringify(point)}`);
  return { firstUtcMs: wet[0] ?? 0, lastUtcMs: wet[wet.length - 1] ?? 0 };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const close = (actual: number, expected: number, relTol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= relTol * Math.abs(expected), `${what}: ${actual} not within ${relTol * 100}% of ${expected}`);

void describe('rain scenarios', () => {
  void it('registers every benchmark scenario, each long enough to drain after its rain', () => {
    assert.deepEqual(Object.keys(RAIN_SCENARIOS).sort(), [...SCENARIO_NAMES].sort());
    for (const name of SCENARIO_NAMES) {
      const s = scenario(name);
      assert.equal(s.name, name);
      assert.ok(s.rainWindowUtcMs.endUtcMs + 12 * H_MS <= s.startUtcMs + s.durationMs, `${name} ends too soon after its rain`);
    }
  });

  void it('dry-week: seven days without rain', () => {
    const s = scenario('dry-week');
    assert.equal(s.durationMs, 7 * 24 * H_MS);
    for (const point of [...WEST, ...EAST]) assert.equal(totalMm(s, point), 0);
  });

  void it('moderate: 30 mm over 6 h on the whole county', () => {
    const s = scenario('moderate');
    for (const point of [...WEST, ...EAST]) {
      close(totalMm(s, point), 30, 0.005, 'moderate total');
      const { firstUtcMs, lastUtcMs } = wetSpan(s, point);
      assert.ok(lastUtcMs + MIN_MS - firstUtcMs <= 6 * H_MS, 'moderate rain lasts longer than 6 h');
      assert.ok(lastUtcMs + MIN_MS - firstUtcMs >= 5.5 * H_MS, 'moderate rain is shorter than 6 h');
    }
  });

  void it('rainstorm: 80 mm in 12 h in the west, blue→yellow there, clearly less in the east', () => {
    const s = scenario('rainstorm');
    close(totalMm(s, FAR_WEST), 80, 0.01, 'far-west total');
    const { firstUtcMs, lastUtcMs } = wetSpan(s, FAR_WEST);
    assert.ok(lastUtcMs + MIN_MS - firstUtcMs <= 12 * H_MS);
    const westMm = mean(WEST.map((p) => totalMm(s, p)));
    const eastMm = mean(EAST.map((p) => totalMm(s, p)));
    assert.ok(westMm > 70, `west mean ${westMm}`);
    assert.ok(westMm > 1.3 * eastMm, `west ${westMm} mm is not clearly heavier than east ${eastMm} mm`);
    // CMA signals on the west: yellow (≥ 50 mm / 6 h) but not orange (≥ 50 mm / 3 h).
    assert.ok(maxRainMmInWindow(s, W1, 360, 5) >= 50);
    assert.ok(maxRainMmInWindow(s, W1, 180, 5) < 50);
  });

  void it('typhoon: 220 mm over 36 h with a 60 mm / 3 h core at landfall, less inland', () => {
    const s = scenario('typhoon');
    close(totalMm(s, LANDFALL), 220, 0.005, 'landfall total');
    close(maxRainMmInWindow(s, LANDFALL, 180, 1), 60, 0.03, 'max 3 h at landfall');
    const { firstUtcMs, lastUtcMs } = wetSpan(s, LANDFALL);
    close((lastUtcMs + MIN_MS - firstUtcMs) / H_MS, 36, 0.01, 'typhoon rain duration h');
    assert.ok(totalMm(s, W1) < 0.9 * totalMm(s, LANDFALL), 'inland should get less than the coast');
    assert.ok(wetSpan(s, W1).firstUtcMs > firstUtcMs, 'inland rain should start after landfall rain');
  });

  void it('Chicago storms follow the storm-intensity formula with the peak at r·T', () => {
    const { aMmPerMin, c, bMin, n } = JIAXING_LIKE_STORM_FORMULA;
    for (const [name, years] of [['chicago-2y', 2], ['chicago-10y', 10]] as const) {
      const s = scenario(name);
      const designMm = (aMmPerMin * (1 + c * Math.log10(years)) * CHICAGO_DURATION_MIN) / (CHICAGO_DURATION_MIN + bMin) ** n;
      close(totalMm(s, W1, 1), designMm, 1e-9, `${name} total`);
      const { timeUtcMs, rainMm } = rainSeries(s, W1, { startUtcMs: s.rainOnsetUtcMs, endUtcMs: s.rainOnsetUtcMs + CHICAGO_DURATION_MIN * MIN_MS, stepMin: 1 });
      const peakIndex = rainMm.indexOf(Math.max(...rainMm));
      const peakMin = ((timeUtcMs[peakIndex] ?? 0) - s.rainOnsetUtcMs) / MIN_MS;
      assert.ok(Math.abs(peakMin - CHICAGO_PEAK_RATIO * CHICAGO_DURATION_MIN) <= 1, `peak at minute ${peakMin}`);
    }
    close(totalMm(scenario('chicago-10y'), W1) / totalMm(scenario('chicago-2y'), W1), (1 + c) / (1 + c * Math.log10(2)), 1e-9, '10y/2y');
  });

  void it('rain onset offset is configurable', () => {
    for (const offsetMin of [0, 90, 12 * 60]) {
      const s = scenario('moderate', offsetMin);
      assert.equal(wetSpan(s, W1).firstUtcMs, START_UTC_MS + offsetMin * MIN_MS);
    }
    assert.ok(wetSpan(scenario('moderate'), W1).firstUtcMs - START_UTC_MS >= 2 * H_MS, 'default onset should leave plans lead time');
  });

  void it('series at different steps add up to the same rain, minute by minute', () => {
    const s = scenario('rainstorm');
    const range = { startUtcMs: s.rainOnsetUtcMs, endUtcMs: s.rainOnsetUtcMs + 4 * H_MS };
    const minutes = rainSeries(s, W1, { ...range, stepMin: 1 });
    const quarters = rainSeries(s, W1, { ...range, stepMin: 15 });
    assert.equal(quarters.timeUtcMs.length, 16);
    quarters.rainMm.forEach((q, i) => {
      const sum = minutes.rainMm.slice(i * 15, (i + 1) * 15).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(q - sum) < 1e-9, `quarter ${i}: ${q} vs ${sum}`);
    });
    assert.equal(rainMmInMinute(s, W1.latDeg, W1.lonDeg, range.startUtcMs + 61 * MIN_MS + 30_000), minutes.rainMm[61]);
    assert.throws(() => rainSeries(s, W1, { startUtcMs: range.startUtcMs + 1, endUtcMs: range.endUtcMs, stepMin: 15 }), /whole minute/);
    assert.throws(() => rainSeries(s, W1, { ...range, stepMin: 7 }), /7-min steps/);
  });
});

void describe('seeded randomness and forecast perturbation', () => {
  void it('mulberry32 is deterministic per seed and uniform-looking', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    assert.deepEqual(xs.slice(0, 5), Array.from({ length: 5 }, () => b()));
    assert.notDeepEqual(xs.slice(0, 5), Array.from({ length: 5 }, mulberry32(43)));
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(mean(xs) - 0.5) < 0.01);
  });

  void it('is deterministic for (seed, member) and differs between members and seeds', () => {
    const truth = scenario('typhoon');
    const series = (seed: number, member: number): number[] =>
      rainSeries(perturbForecast(truth, { seed, member }), W1, { startUtcMs: truth.startUtcMs, endUtcMs: truth.startUtcMs + truth.durationMs, stepMin: 60 }).rainMm;
    assert.deepEqual(series(1, 0), series(1, 0));
    assert.deepEqual(series(1, 3), series(1, 3));
    assert.notDeepEqual(series(1, 0), series(1, 1));
    assert.notDeepEqual(series(1, 1), series(1, 2));
    assert.notDeepEqual(series(1, 0), series(2, 0));
    assert.notDeepEqual(series(1, 0), rainSeries(truth, W1, { startUtcMs: truth.startUtcMs, endUtcMs: truth.startUtcMs + truth.durationMs, stepMin: 60 }).rainMm);
  });

  void it('applies exactly the perturbation it reports: shifted in time and space, rescaled', () => {
    const truth = scenario('rainstorm');
    const p = forecastPerturbation(5, 2);
    const forecast = perturbForecast(truth, { seed: 5, member: 2 });
    const from = truth.rainOnsetUtcMs + 3 * H_MS;
    const forecastMm = forecast.rainMmBetween(W1.latDeg, W1.lonDeg, from, from + H_MS);
    const shiftMs = p.timeShiftMin * MIN_MS;
    const truthMm = truth.rainMmBetween(W1.latDeg - p.dLatDeg, W1.lonDeg - p.dLonDeg, from - shiftMs, from + H_MS - shiftMs);
    assert.ok(forecastMm > 0);
    assert.ok(Math.abs(forecastMm - p.amountFactor * truthMm) < 1e-9);
  });

  void it('stays plausible: bounded errors with a realistic spread, and the ensemble brackets the truth', () => {
    const params = Array.from({ length: 400 }, (_, i) => forecastPerturbation(Math.floor(i / 20), i % 20));
    for (const p of params) {
      assert.ok(Math.abs(p.timeShiftMin) <= FORECAST_ERROR.maxTimeShiftMin && Number.isInteger(p.timeShiftMin));
      assert.ok(p.amountFactor >= Math.exp(-FORECAST_ERROR.maxLogAmount) - 1e-12 && p.amountFactor <= Math.exp(FORECAST_ERROR.maxLogAmount) + 1e-12);
      assert.ok(Math.abs(p.dLatDeg) <= FORECAST_ERROR.maxShiftDeg && Math.abs(p.dLonDeg) <= FORECAST_ERROR.maxShiftDeg);
    }
    const sd = (xs: number[]): number => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    const timeSdMin = sd(params.map((p) => p.timeShiftMin));
    const amountSd = sd(params.map((p) => Math.log(p.amountFactor)));
    assert.ok(timeSdMin > 45 && timeSdMin < 120, `timing spread ${timeSdMin} min`);
    assert.ok(amountSd > 0.15 && amountSd < 0.35, `amount spread ${amountSd}`);

    const truth = scenario('typhoon');
    const truthMm = totalMm(truth, W1);
    const memberMm = Array.from({ length: 20 }, (_, member) => totalMm(perturbForecast(truth, { seed: 3, member }), W1));
    assert.ok(Math.min(...memberMm) < truthMm && truthMm < Math.max(...memberMm), `truth ${truthMm} outside ${memberMm.join(', ')}`);
    assert.ok(memberMm.every((mm) => mm > 0.5 * truthMm && mm < 2 * truthMm));
  });

  void it('rejects invalid seeds and members', () => {
    assert.throws(() => forecastPerturbation(1.5, 0), /seed/);
    assert.throws(() => forecastPerturbation(1, -1), /member/);
  });
});
