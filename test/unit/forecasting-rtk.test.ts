// RTK unit hydrographs and their calibration, including recovery of known parameters from
// simulator-generated history (reference network, benchmark rain scenarios, two seeds).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createCalendar, MS_PER_DAY } from '../../forecasting/calendar.js';
import { dwfSeries, learnDwf } from '../../forecasting/dwf.js';
import {
  calibrateRtk,
  effectiveRain,
  eventWindows,
  forecastRdii,
  nnls3,
  rdiiState,
  simulateRdii,
  triangleUnitKernel,
  type RtkParams,
} from '../../forecasting/rtk.js';
import { simulateHistory } from '../../forecasting/simulated-history.js';

const network = await loadNetworkFile(referenceNetworkPath);
/** Local Monday 2026-06-01 00:00 in Asia/Shanghai. */
const START_UTC_MS = Date.UTC(2026, 4, 31, 16);
const params: RtkParams = {
  initialAbstractionMm: 2,
  iaRecoveryMmPerDay: 1,
  triangles: [
    { r: 0.02, tH: 1.5, k: 1.5 },
    { r: 0.015, tH: 5, k: 2.5 },
    { r: 0.01, tH: 12, k: 3 },
  ],
};
const sum = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0);

void describe('RTK unit hydrographs', () => {
  void it('discretises a triangle so the weights sum to 1 and peak near T', () => {
    for (const [tH, k, stepMin] of [
      [1.5, 1.5, 15],
      [0.5, 1, 15],
      [12, 3, 60],
      [5, 2.5, 5],
    ] as const) {
      const kernel = triangleUnitKernel(tH, k, stepMin);
      assert.ok(Math.abs(sum(kernel) - 1) < 1e-9, `weights of T=${tH} K=${k} at ${stepMin} min sum to ${sum(kernel)}`);
      assert.ok(kernel.every((w) => w >= -1e-15));
      const peak = kernel.indexOf(Math.max(...kernel));
      assert.ok(Math.abs((peak + 0.5) * (stepMin / 60) - tH) <= stepMin / 60 + 1e-9, `peak step ${peak} for T=${tH} h`);
    }
  });

  void it('conserves volume: RDII volume = ΣR × effective rain × area', () => {
    const rain = new Array<number>(400).fill(0);
    for (let i = 10; i < 34; i++) rain[i] = 1.25; // 30 mm in 6 h
    const { rdiiM3h } = simulateRdii(rain, params, 380, 15);
    const volumeM3 = sum(rdiiM3h) * 0.25;
    const effectiveMm = 30 - params.initialAbstractionMm;
    assert.ok(Math.abs(volumeM3 - 0.045 * effectiveMm * 380 * 10) < 1e-6 * volumeM3, `volume ${volumeM3}`);
  });

  void it('absorbs rain in the initial abstraction and recovers it in dry weather', () => {
    const small = effectiveRain([0.5, 0.5, 0.5, 0, 0, 0], params, 15);
    assert.deepEqual(Array.from(small.effectiveMm), [0, 0, 0, 0, 0, 0]);
    assert.ok(small.iaMm > 0.5 && small.iaMm < 0.6, `ia ${small.iaMm}`);
    const big = effectiveRain([3, 0], params, 15);
    assert.equal(big.effectiveMm[0], 1);
    // 1 mm/day: a full day of dry 15-min steps refills 1 mm.
    const refill = effectiveRain(new Array<number>(96).fill(0), params, 15, 0);
    assert.ok(Math.abs(refill.iaMm - 1) < 1e-9);
  });

  void it('splits a run into state (past rain) and forecast without changing the result', () => {
    const rain = Array.from({ length: 300 }, (_, i) => (i >= 20 && i < 60 ? 0.8 : i >= 150 && i < 170 ? 1.5 : 0));
    const whole = simulateRdii(rain, params, 260, 15).rdiiM3h;
    const cut = 160;
    const state = rdiiState(rain.slice(0, cut), params, 260, 15, rain.length - cut);
    const future = forecastRdii(rain.slice(cut), params, 260, 15, state);
    future.forEach((v, i) => assert.ok(Math.abs(v - whole[cut + i]!) < 1e-9, `step ${cut + i}: ${v} ≠ ${whole[cut + i]}`));
  });

  void it('solves 3-variable non-negative least squares exactly', () => {
    // Brute force over a fine grid of x ≥ 0 on a random problem.
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let trial = 0; trial < 20; trial++) {
      const B = Array.from({ length: 12 }, () => [rand(), rand(), rand()]);
      const y = Array.from({ length: 12 }, () => rand());
      const g = [0, 1, 2].map((i) => [0, 1, 2].map((j) => B.reduce((a, row) => a + row[i]! * row[j]!, 0)));
      const c = [0, 1, 2].map((i) => B.reduce((a, row, n) => a + row[i]! * y[n]!, 0));
      const x = new Float64Array(3);
      const gain = nnls3(g[0]![0]!, g[0]![1]!, g[0]![2]!, g[1]![1]!, g[1]![2]!, g[2]![2]!, c[0]!, c[1]!, c[2]!, x);
      const sse = (v: number[]) => B.reduce((a, row, n) => a + (y[n]! - row[0]! * v[0]! - row[1]! * v[1]! - row[2]! * v[2]!) ** 2, 0);
      const yy = y.reduce((a, v) => a + v * v, 0);
      assert.ok(x.every((v) => v >= 0));
      assert.ok(Math.abs(yy - gain - sse(Array.from(x))) < 1e-9);
      let best = Number.POSITIVE_INFINITY;
      for (let a = 0; a <= 20; a++) for (let b = 0; b <= 20; b++) for (let d = 0; d <= 20; d++) best = Math.min(best, sse([a * 0.1, b * 0.1, d * 0.1]));
      assert.ok(sse(Array.from(x)) <= best + 1e-9, `trial ${trial}: nnls ${sse(Array.from(x))} > grid ${best}`);
    }
  });

  void it('finds event windows from the rain', () => {
    const rain: (number | null)[] = new Array<number | null>(1000).fill(0);
    rain[100] = 1;
    rain[120] = 2; // same event (< 12 h apart)
    rain[500] = 3;
    const events = eventWindows(rain, 15, 72);
    assert.equal(events.length, 2);
    assert.equal(events[0]!.startIndex, 92);
    assert.equal(events[0]!.rainMm, 3);
    assert.equal(events[1]!.endIndex, 500 + 1 + 72 * 4); // 72 h after the last rain
  });
});

void describe('RTK calibration on simulator history', () => {
  // W1 and E5 (doubled fast R), W3 (local inflow = telemetry minus W1/W2 arriving 40/30 min later),
  // E1 (largest), E7 (industrial pattern, weekend factor 0.6).
  const CATCHMENTS: Record<number, string[]> = { 5: ['C-W1', 'C-W3', 'C-E7'], 17: ['C-E1', 'C-E5'] };
  for (const seed of [5, 17]) {
    void it(`recovers total R within 10 % and the fast T within 20 % (sim seed ${seed})`, () => {
      const events =
        seed === 5
          ? [
              { scenario: 'moderate' as const, day: 14 },
              { scenario: 'chicago-10y' as const, day: 19 },
              { scenario: 'rainstorm' as const, day: 24 },
            ]
          : [
              { scenario: 'rainstorm' as const, day: 13 },
              { scenario: 'chicago-2y' as const, day: 18 },
              { scenario: 'typhoon' as const, day: 22 },
            ];
      const history = simulateHistory({
        network,
        startUtcMs: START_UTC_MS,
        durationMs: (seed === 5 ? 28 : 26) * MS_PER_DAY,
        stepMin: 15,
        seed,
        events: events.map((e) => ({ scenario: e.scenario, startUtcMs: START_UTC_MS + e.day * MS_PER_DAY })),
      });
      const calendar = createCalendar(network.timezone);
      const grid = { startUtcMs: history.startUtcMs, stepMin: 15, steps: history.steps };
      for (const id of CATCHMENTS[seed]!) {
        const c = network.catchments.find((x) => x.id === id)!;
        const flow = history.localInflowM3h[c.node]!;
        const rainMm = history.rainMm[c.id]!;
        const dwf = learnDwf({
          stationId: c.node,
          flow: { ...grid, values: flow },
          rain: { ...grid, values: rainMm },
          timeZone: network.timezone,
        });
        const base = dwfSeries(dwf, calendar, grid);
        const fit = calibrateRtk({ rainMm, observedRdiiM3h: flow.map((v, i) => v - base[i]!), stepMin: 15, areaHa: c.areaHa });
        const trueR = c.rdii.triangles.reduce((a, t) => a + t.r, 0);
        const trueFastT = Math.min(...c.rdii.triangles.map((t) => t.tH));
        const fastT = fit.params.triangles[0]!.tH;
        const detail = `${id}: R ${fit.totalR.toFixed(4)} (true ${trueR}), fast T ${fastT.toFixed(2)} h (true ${trueFastT}), ${JSON.stringify(fit.params.triangles)}`;
        assert.ok(Math.abs(fit.totalR - trueR) <= 0.1 * trueR, `total R off by more than 10 %: ${detail}`);
        assert.ok(Math.abs(fastT - trueFastT) <= 0.2 * trueFastT, `fast T off by more than 20 %: ${detail}`);
        assert.ok(fit.fit.nse > 0.95, `fit NSE ${fit.fit.nse}: ${detail}`);
        assert.equal(fit.fit.events, 3);
      }
    });
  }

  void it('says clearly when there is nothing to calibrate on', () => {
    assert.throws(
      () => calibrateRtk({ rainMm: new Array<number>(500).fill(0), observedRdiiM3h: new Array<number>(500).fill(0), stepMin: 15, areaHa: 100 }),
      /no rain events/,
    );
  });
});
