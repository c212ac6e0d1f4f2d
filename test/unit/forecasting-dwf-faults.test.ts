// Learning must not learn nonsense: zero and flat-lined flow are missing (not samples), a learned profile
// from too few days or far from the configured level is refused with a reason (zh and en), and an upstream
// station without flow telemetry is not subtracted as zero from the station below.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MS_PER_DAY, MS_PER_H } from '../../forecasting/calendar.js';
import { FLATLINE_MIN_MIN, judgeLearnedDwf, learnDwf, maskFaultyFlow, MAX_LEVEL_DEVIATION_FRACTION, MIN_ACCEPTED_DRY_DAYS_PER_TYPE } from '../../forecasting/dwf.js';
import { localInflow, localInflowWithNotes } from '../../forecasting/routing.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { Series } from '../../forecasting/series.js';

const TZ = 'Asia/Shanghai';
const PATTERN = [0.5, 0.45, 0.4, 0.4, 0.4, 0.5, 0.8, 1.2, 1.5, 1.3, 1.1, 1.0, 1.0, 0.95, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.25, 1.1, 0.9, 0.7];
const PATTERN_MEAN = PATTERN.reduce((a, b) => a + b, 0) / 24;
/** Local midnight, Sunday 1 March 2026. */
const START_UTC_MS = Date.UTC(2026, 2, 1) - 8 * MS_PER_H;
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function hourly(days: number, at: (day: number, hour: number) => number | null): Series {
  const values: (number | null)[] = [];
  for (let d = 0; d < days; d++) for (let h = 0; h < 24; h++) values.push(at(d, h));
  return { startUtcMs: START_UTC_MS, stepMin: 60, values };
}
const dryRain = (days: number): Series => ({ startUtcMs: START_UTC_MS - 3 * MS_PER_DAY, stepMin: 60, values: new Array<number>((days + 3) * 24).fill(0) });
/** 200 m³/h × pattern, with a little meter noise (real flow never repeats exactly). */
const real = (d: number, h: number) => 200 * PATTERN[h]! * (1 + 0.01 * Math.sin(d * 24 + h));
const configured = { weekdayM3h: PATTERN.map((p) => 200 * p), weekendM3h: PATTERN.map((p) => 200 * p), residualSdFraction: 0.05, residualLag1: 0.8 };

void describe('dry-weather learning on faulty telemetry', () => {
  void it('takes zero and flat-lined flow as missing', () => {
    const steps = FLATLINE_MIN_MIN / 60;
    const values = [5, 0, -1, 7, ...new Array<number>(steps).fill(42), 8, ...new Array<number>(steps - 1).fill(9), null, 10];
    const masked = maskFaultyFlow(values, 60);
    assert.deepEqual(masked.values, [5, null, null, 7, ...new Array<null>(steps).fill(null), 8, ...new Array<number>(steps - 1).fill(9), null, 10]);
    assert.equal(masked.zeroSteps, 2);
    assert.equal(masked.flatSteps, steps);
  });

  void it('a meter reading 0 for 80 of 120 days does not make the learned dry-weather flow 0', () => {
    const learned = learnDwf({ stationId: 'A', flow: hourly(120, (d, h) => (d < 80 ? 0 : real(d, h))), rain: dryRain(120), timeZone: TZ });
    // Before: every real day was an "outlier" around a median day of 0, and the profile was 0 m³/h.
    assert.ok(Math.abs(mean(learned.weekdayM3h) / (200 * PATTERN_MEAN) - 1) < 0.02, `learned weekday mean ${mean(learned.weekdayM3h)}`);
    assert.equal(learned.dryDays.weekday.length + learned.dryDays.weekend.length, 40);
    assert.ok(learned.leftOut.some((l) => /flat-lined flow \(stuck, or reading 0\) taken as missing/.test(l.reason)), JSON.stringify(learned.leftOut.slice(0, 2)));
    assert.ok(learned.warnings.some((w) => /1920 h of flat-lined flow/.test(w)), learned.warnings.join(' | '));
    assert.equal(judgeLearnedDwf(learned, configured).accepted, true);
  });

  void it('a transmitter stuck at its last value is not learned as flow', () => {
    // Stuck at 150 m³/h for the first 60 days.
    const learned = learnDwf({ stationId: 'F', flow: hourly(90, (d, h) => (d < 60 ? 150 : real(d, h))), rain: dryRain(90), timeZone: TZ });
    assert.ok(Math.abs(learned.weekdayM3h[3]! / (200 * PATTERN[3]!) - 1) < 0.03, `night hour ${learned.weekdayM3h[3]} (stuck value 150)`);
    assert.equal(learned.dryDays.weekday.length + learned.dryDays.weekend.length, 30);
  });

  void it(`refuses a profile from fewer than ${MIN_ACCEPTED_DRY_DAYS_PER_TYPE} kept days of a day type, with the reason in Chinese and English`, () => {
    // Two days of history (Wed, Thu), the first a commissioning flush at 1.6×.
    const learned = learnDwf({ stationId: 'B3', flow: hourly(120, (d, h) => (d < 115 || d > 116 ? null : real(d, h) * (d === 115 ? 1.6 : 1))), rain: dryRain(120), timeZone: TZ });
    const verdict = judgeLearnedDwf(learned, configured);
    assert.equal(verdict.accepted, false);
    assert.match(verdict.reason.en, /B3.*only 2 dry weekday\(s\), only 0 dry weekend\/holiday day\(s\) kept \(need 7 of each\); the network file's pattern is used/);
    assert.match(verdict.reason.zh, /晴天工作日仅2天.*晴天周末及节假日仅0天.*至少需7天.*沿用管网文件/);
    // A configured minimum applies (e.g. a short test history).
    assert.equal(judgeLearnedDwf(learned, configured, { minAcceptedDryDaysPerType: 0 }).accepted, true);
  });

  void it(`refuses a profile whose level is more than ±${MAX_LEVEL_DEVIATION_FRACTION * 100} % off the configured pattern`, () => {
    const twice = learnDwf({ stationId: 'W3', flow: hourly(60, (d, h) => 2 * real(d, h)), rain: dryRain(60), timeZone: TZ });
    const verdict = judgeLearnedDwf(twice, configured);
    assert.equal(verdict.accepted, false);
    assert.match(verdict.reason.en, /weekly mean 365\.\d m³\/h is 200 % of the network file's 182\.5 m³\/h \(accepted 50–150 %\)/);
    assert.match(verdict.reason.zh, /为管网文件模式182\.5 m³\/h的200%/);
    const low = learnDwf({ stationId: 'L', flow: hourly(60, (d, h) => 0.45 * real(d, h)), rain: dryRain(60), timeZone: TZ });
    assert.equal(judgeLearnedDwf(low, configured).accepted, false);
    const near = learnDwf({ stationId: 'N', flow: hourly(60, (d, h) => 1.3 * real(d, h)), rain: dryRain(60), timeZone: TZ });
    assert.deepEqual(judgeLearnedDwf(near, configured), { accepted: true, reason: null });
  });
});

void describe('local inflow below an upstream station without flow telemetry', async () => {
  const network = await loadNetworkFile(referenceNetworkPath);
  // W3 receives W1 and W2; W1 has no flow telemetry (level only), W2 pumps 150 m³/h.
  const n = 48;
  const series: Record<string, Record<string, number[]>> = {
    W2: { inflowM3h: new Array<number>(n).fill(150), outflowM3h: new Array<number>(n).fill(150) },
    W3: { inflowM3h: new Array<number>(n).fill(462.5), outflowM3h: new Array<number>(n).fill(462.5) },
  };
  const lookup = (id: string, tag: string) => series[id]?.[tag];

  void it('is unknown (null), with the reason, rather than counting the upstream station as zero', () => {
    const { flows, notes } = localInflowWithNotes(network, lookup, 60, { missingUpstream: 'zero', upstreamBeforeStart: 'zero' });
    // Before: 462.5 − 150 = 312.5 m³/h "local", W1's 229 m³/h learned as W3's own dry-weather flow.
    assert.ok(flows['W3']!.every((v) => v === null), JSON.stringify(flows['W3']!.slice(0, 3)));
    assert.match(notes['W3']!.en, /upstream station W1 has no outflow telemetry/);
    assert.match(notes['W3']!.zh, /上游泵站W1无出水流量遥测/);
    // W2 itself has no upstream: measured inflow is its local inflow.
    assert.deepEqual(flows['W2'], series['W2']!['inflowM3h']);
    // A station whose upstream reports only nulls is unknown too.
    const allNull = (id: string, tag: string) => (id === 'W1' && tag === 'outflowM3h' ? new Array<number | null>(n).fill(null) : lookup(id, tag));
    assert.ok(localInflow(network, allNull, 60, { missingUpstream: 'zero', upstreamBeforeStart: 'zero' })['W3']!.every((v) => v === null));
  });

  void it('still takes a tank or interconnection without telemetry as idle (missingUpstream "zero")', () => {
    // W6 receives W3, W4, W5 and the interconnection X1 (no telemetry).
    const withUpstream: Record<string, Record<string, number[]>> = {
      W3: { outflowM3h: new Array<number>(n).fill(100) },
      W4: { outflowM3h: new Array<number>(n).fill(50) },
      W5: { outflowM3h: new Array<number>(n).fill(60) },
      W6: { inflowM3h: new Array<number>(n).fill(300) },
    };
    const flows = localInflow(network, (id, tag) => withUpstream[id]?.[tag], 60, { missingUpstream: 'zero', upstreamBeforeStart: 'zero' });
    assert.ok(Math.abs(flows['W6']!.at(-1)! - 90) < 1e-9, String(flows['W6']!.at(-1)));
  });
});
