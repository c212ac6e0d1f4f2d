// CMA rainstorm warning and response levels: thresholds on rolling 3/6/12-h accumulations, observed and
// forecast rain, and the higher level winning when sources disagree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assessRain, combineRain, highestWarning, responseLevelOf, rollingMaxMm, warningOfSeries } from '../../flood/warning.js';
import { cmaThresholds, warningRank, type HourlyRain } from '../../flood/types.js';

const H = 3_600_000;
const NOW = Date.UTC(2026, 6, 1, 12);
/** Hourly series ending at NOW + offsetH * H for each value (value i ends at first + i hours). */
const series = (firstEndOffsetH: number, mm: (number | null)[]): HourlyRain => ({ timeUtcMs: mm.map((_, i) => NOW + (firstEndOffsetH + i) * H), mm });
const fill = (n: number, mm: number): number[] => Array.from({ length: n }, () => mm);
const level = (mm: (number | null)[]) => warningOfSeries(series(-mm.length + 1, mm), cmaThresholds, NOW - H, NOW, 'C', 'observed');

test('rolling maxima over whole-hour windows', () => {
  const s = series(0, [1, 2, 30, 25, 0, 4]);
  assert.equal(rollingMaxMm(s, 1).mm, 30);
  assert.equal(rollingMaxMm(s, 2).mm, 55);
  assert.equal(rollingMaxMm(s, 3).mm, 57);
  assert.equal(rollingMaxMm(s, 3).endUtcMs, NOW + 3 * H);
  assert.throws(() => rollingMaxMm(s, 1.5), /whole number of hours/);
});

test('CMA thresholds: blue 50 mm/12 h, yellow 50 mm/6 h, orange 50 mm/3 h, red 100 mm/3 h', () => {
  assert.equal(level(fill(12, 4.1)).level, 'none', '49.2 mm in 12 h');
  assert.equal(level(fill(12, 4.2)).level, 'blue', '50.4 mm in 12 h');
  assert.equal(level([...fill(6, 0), ...fill(6, 8.4)]).level, 'yellow', '50.4 mm in 6 h');
  assert.equal(level([0, 0, 0, 17, 17, 17]).level, 'orange', '51 mm in 3 h');
  const red = level([0, 0, 0, 34, 34, 34]);
  assert.equal(red.level, 'red', '102 mm in 3 h');
  assert.equal(red.windowH, 3);
  assert.equal(red.mm, 102);
});

test('response levels follow the warning: blue IV, yellow III, orange II, red I', () => {
  assert.deepEqual(['none', 'blue', 'yellow', 'orange', 'red'].map((w) => responseLevelOf(w as never)), [null, 'IV', 'III', 'II', 'I']);
  assert.equal(highestWarning(['blue', 'none', 'orange', 'yellow']), 'orange');
  assert.deepEqual(['none', 'red'].map((w) => warningRank(w as never)), [0, 4]);
});

test('a missing hour is never read as zero: it is counted, and the known rain can still raise the level', () => {
  const withGap = series(-5, [null, 0, 0, 20, 20, 20]);
  const max = rollingMaxMm(withGap, 6);
  assert.equal(max.mm, 60);
  assert.ok(max.gaps > 0);
  assert.equal(warningOfSeries(withGap, cmaThresholds, NOW - H, NOW, 'C', 'observed').level, 'orange');
});

test('observed and forecast rain combine across now; the higher source wins per catchment and over the network', () => {
  const observed = series(-1, [15, 15]); // 30 mm in the last 2 h
  const forecast = series(1, [25, 0, 0, 0, 0, 0]); // 25 mm in the next hour
  const combined = combineRain(observed, forecast, NOW);
  assert.deepEqual(combined.mm, [15, 15, 25, 0, 0, 0, 0, 0]);
  const options = { thresholds: cmaThresholds, nowUtcMs: NOW, lookAheadH: 24, observedRecentH: 1, wetHourMm: 0.5 };
  const a = assessRain(
    [
      { catchmentId: 'A', stationId: 'S1', observed, forecast },
      { catchmentId: 'B', stationId: 'S2', observed: series(-11, fill(12, 4.5)), forecast: series(1, fill(6, 0)) },
    ],
    options,
  );
  assert.equal(a.bySource.observed, 'blue', 'B: 54 mm observed in 12 h');
  assert.equal(a.bySource.forecast, 'orange', 'A: 55 mm in 3 h across now');
  assert.equal(a.warning, 'orange');
  assert.equal(a.response, 'II');
  assert.equal(a.evidence[0]?.catchmentId, 'A');
  assert.equal(a.catchments.find((c) => c.catchmentId === 'A')?.level, 'orange');
  assert.equal(a.catchments.find((c) => c.catchmentId === 'B')?.level, 'blue');
  // A is raining now: the wet spell began two hours ago.
  assert.equal(a.catchments.find((c) => c.catchmentId === 'A')?.onsetUtcMs, NOW - 2 * H);
});

test('onset and end of forecast rain; a dry outlook has no level', () => {
  const options = { thresholds: cmaThresholds, nowUtcMs: NOW, lookAheadH: 24, observedRecentH: 1, wetHourMm: 0.5 };
  const dry = assessRain([{ catchmentId: 'A', stationId: 'S', observed: series(-2, [0, 0, 0]), forecast: series(1, fill(24, 0.1)) }], options);
  assert.equal(dry.warning, 'none');
  assert.equal(dry.response, null);
  assert.equal(dry.onsetUtcMs, null);
  const wet = assessRain([{ catchmentId: 'A', stationId: 'S', observed: series(-2, [0, 0, 0]), forecast: series(1, [0, 0, 0, 0, 5, 20, 20, 20, 2, 0, 0]) }], options);
  assert.equal(wet.onsetUtcMs, NOW + 4 * H, 'the first wet hour ends at +5 h, so rain starts at +4 h');
  assert.equal(wet.endUtcMs, NOW + 9 * H);
  assert.equal(wet.warning, 'orange', '60 mm in 3 h forecast');
  assert.equal(wet.bySource.observed, 'none');
});

test('after the rain: past rain with a dry forecast is no forecast evidence, and an observed-only warning is lifted once the rain has stopped (CMA: 已达…且降雨可能持续)', () => {
  const options = { thresholds: cmaThresholds, nowUtcMs: NOW, lookAheadH: 24, observedRecentH: 1, wetHourMm: 0.5 };
  // 72 mm fell over the 6 h ending 2 h ago; the last two hours were dry.
  const fell = series(-12, [...fill(5, 0), ...fill(6, 12), 0, 0]);
  const dry = assessRain([{ catchmentId: 'A', stationId: 'S', observed: fell, forecast: series(1, fill(24, 0)) }], options);
  assert.equal(dry.bySource.forecast, 'none', 'windows of past rain and a dry forecast are not forecast evidence');
  assert.equal(dry.bySource.observed, 'none', 'the rain has stopped and none is forecast');
  assert.equal(dry.warning, 'none');
  assert.equal(dry.catchments[0]!.forecast.max12hMm, 0, 'the board shows no forecast rain');

  // Still raining in the last hour: the observed warning stands.
  const raining = assessRain([{ catchmentId: 'A', stationId: 'S', observed: series(-12, [...fill(7, 0), ...fill(6, 12)]), forecast: series(1, fill(24, 0)) }], options);
  assert.equal(raining.bySource.observed, 'yellow', '72 mm in the last 6 h');
  // Stopped for now, but more rain forecast within the signal's window: the rain may continue.
  const more = assessRain([{ catchmentId: 'A', stationId: 'S', observed: fell, forecast: series(1, [0, 0, 2, ...fill(21, 0)]) }], options);
  assert.equal(more.bySource.observed, 'blue', '72 mm in 12 h');
  assert.equal(more.bySource.forecast, 'blue', 'a window whose forecast hours carry rain is forecast evidence');
});

test('a gap is never read as the rain having stopped: an unknown last hour or a missing forecast keep the observed warning', () => {
  const options = { thresholds: cmaThresholds, nowUtcMs: NOW, lookAheadH: 24, observedRecentH: 1, wetHourMm: 0.5 };
  const lastUnknown = series(-12, [...fill(5, 0), ...fill(6, 12), 0, null]);
  assert.equal(assessRain([{ catchmentId: 'A', stationId: 'S', observed: lastUnknown, forecast: series(1, fill(24, 0)) }], options).bySource.observed, 'blue');
  const fell = series(-12, [...fill(5, 0), ...fill(6, 12), 0, 0]);
  assert.equal(assessRain([{ catchmentId: 'A', stationId: 'S', observed: fell, forecast: { timeUtcMs: [], mm: [] } }], options).bySource.observed, 'blue', 'no forecast: the rain may continue');
  assert.equal(assessRain([{ catchmentId: 'A', stationId: 'S', observed: fell, forecast: series(1, [0, null, ...fill(22, 0)]) }], options).bySource.observed, 'blue', 'a forecast gap may be rain');
});
