// Dry-weather flow learning: dry-day choice from rain, local hours (UTC+8), weekday/weekend profiles,
// robustness to gaps and outliers; and on simulator telemetry against the network's configured DWF.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createCalendar, MS_PER_DAY, MS_PER_H, parseZonedTimestamp } from '../../forecasting/calendar.js';
import { dwfSeries, learnDwf, toNetworkDwf } from '../../forecasting/dwf.js';
import { localInflow, plantRoutes, upstreamSources } from '../../forecasting/routing.js';
import { aggregate, type Series } from '../../forecasting/series.js';
import { simulateHistory } from '../../forecasting/simulated-history.js';

const network = await loadNetworkFile(referenceNetworkPath);
const TZ = 'Asia/Shanghai';
/** Local Monday 2026-06-01 00:00 (UTC+8). */
const START_UTC_MS = Date.UTC(2026, 4, 31, 16);
const calendar = createCalendar(TZ);
const residential = network.dwfPatterns.find((p) => p.id === 'residential')!;
const MEAN_M3H = 200;

/** 15-min synthetic flow: pattern of the local hour × mean, a small deterministic wiggle, and extras. */
function synthetic(days: number, extra: (i: number, t: number) => number | null = () => 0): Series {
  const values: (number | null)[] = [];
  for (let i = 0; i < days * 96; i++) {
    const t = START_UTC_MS + i * 15 * 60_000;
    const h = calendar.hour(t);
    const base = MEAN_M3H * (calendar.isWeekend(t) ? residential.weekendHourly[h]! * 0.9 : residential.weekdayHourly[h]!);
    const e = extra(i, t);
    values.push(e === null ? null : base * (1 + 0.02 * Math.sin(i * 1.7)) + e);
  }
  return { startUtcMs: START_UTC_MS, stepMin: 15, values };
}

function rainDays(days: number, wet: Record<number, number>, unknown: number[] = []): Series {
  // Hourly rain; wet days get their depth spread over 06:00–12:00 local.
  const values: (number | null)[] = [];
  for (let i = 0; i < days * 24; i++) {
    const day = Math.floor(i / 24);
    const hour = i % 24;
    if (unknown.includes(day)) values.push(null);
    else values.push(wet[day] !== undefined && hour >= 6 && hour < 12 ? wet[day] / 6 : 0);
  }
  return { startUtcMs: START_UTC_MS, stepMin: 60, values };
}

void describe('dry-weather flow learning', () => {
  void it('learns weekday and weekend profiles on local hours (UTC+8)', () => {
    const learned = learnDwf({ stationId: 'S', flow: synthetic(21), rain: rainDays(21, {}), timeZone: TZ });
    // The first two days have no known antecedent rain (the record starts there).
    assert.equal(learned.dryDays.weekday.length + learned.dryDays.weekend.length, 19);
    assert.equal(learned.dryDays.weekend.length, 6);
    for (let h = 0; h < 24; h++) {
      assert.ok(Math.abs(learned.weekdayM3h[h]! - MEAN_M3H * residential.weekdayHourly[h]!) < 0.02 * MEAN_M3H, `weekday hour ${h}: ${learned.weekdayM3h[h]}`);
      assert.ok(Math.abs(learned.weekendM3h[h]! - 0.9 * MEAN_M3H * residential.weekendHourly[h]!) < 0.02 * MEAN_M3H, `weekend hour ${h}`);
    }
    // Peak at 08:00 local = 00:00 UTC, low at 03:00–04:00 local.
    assert.equal(learned.weekdayPattern.indexOf(Math.max(...learned.weekdayPattern)), 8);
    assert.ok(learned.weekdayPattern[3]! < 0.45);
    assert.ok(learned.weekendFactor < 1 && learned.weekdayFactor > 1);
    assert.ok(learned.residualSdFraction < 0.03, `sd ${learned.residualSdFraction}`);
    // The learned profile as a network DWF pattern (groundwater 10 m³/h taken out).
    const asNetwork = toNetworkDwf(learned, 'learned', 10);
    assert.ok(Math.abs(asNetwork.meanM3d / 24 + 10 - learned.meanM3h) < 1e-9);
    const week = (5 * asNetwork.pattern.weekdayFactor + 2 * asNetwork.pattern.weekendFactor) / 7;
    assert.ok(Math.abs(week - 1) < 1e-9);
  });

  void it('chooses dry days from rain: no rain that day and the two days before, known rain only', () => {
    // Day 5 wet, so 5, 6, 7 are not dry; rain unknown on day 12, so 12, 13, 14 are not dry either.
    const learned = learnDwf({ stationId: 'S', flow: synthetic(21, (_, t) => (calendar.dayNumber(t) - calendar.dayNumber(START_UTC_MS) === 5 ? 300 : 0)), rain: rainDays(21, { 5: 25 }, [12]), timeZone: TZ });
    const dates = [...learned.dryDays.weekday, ...learned.dryDays.weekend];
    const dayDate = (d: number) => calendar.dateKey(START_UTC_MS + d * MS_PER_DAY);
    for (const d of [0, 1, 5, 6, 7, 12, 13, 14]) assert.ok(!dates.includes(dayDate(d)), `${dayDate(d)} should not be dry`);
    assert.equal(dates.length, 21 - 8);
    const reasons = Object.fromEntries(learned.leftOut.map((l) => [l.date, l.reason]));
    assert.match(reasons[dayDate(5)]!, /wet \(25\.0 mm\)/);
    assert.match(reasons[dayDate(7)]!, /wet 2 day\(s\) before/);
    assert.match(reasons[dayDate(12)]!, /rain unknown that day/);
    // The wet day's extra flow did not leak into the profile.
    assert.ok(Math.abs(learned.weekdayM3h[10]! - MEAN_M3H * residential.weekdayHourly[10]!) < 0.02 * MEAN_M3H);
  });

  void it('is robust to gaps, spikes and an outlier day', () => {
    const flow = synthetic(28, (i, t) => {
      const day = calendar.dayNumber(t) - calendar.dayNumber(START_UTC_MS);
      if (i % 97 === 0) return null; // scattered gaps
      if (day === 9 && calendar.hour(t) < 10) return null; // a long gap: day 9 dropped
      if (i % 211 === 0) return 5000; // meter spikes
      if (day === 16) return 400; // a stuck / holiday-like day
      return 0;
    });
    const learned = learnDwf({ stationId: 'S', flow, rain: rainDays(28, {}), timeZone: TZ });
    const reasons = learned.leftOut.map((l) => `${l.date} ${l.reason}`).join('; ');
    assert.match(reasons, new RegExp(`${calendar.dateKey(START_UTC_MS + 9 * MS_PER_DAY)} only \\d+ of 24 hours`));
    assert.match(reasons, new RegExp(`${calendar.dateKey(START_UTC_MS + 16 * MS_PER_DAY)} outlier`));
    for (let h = 0; h < 24; h++) {
      assert.ok(Math.abs(learned.weekdayM3h[h]! - MEAN_M3H * residential.weekdayHourly[h]!) < 0.03 * MEAN_M3H, `weekday hour ${h}: ${learned.weekdayM3h[h]}`);
    }
  });

  void it('borrows a missing day type with a warning, and fails clearly without dry days', () => {
    // Rain every weekend: no dry weekend day, weekday profile used.
    const wet: Record<number, number> = {};
    for (let d = 0; d < 21; d++) if (calendar.isWeekend(START_UTC_MS + d * MS_PER_DAY + 12 * MS_PER_H)) wet[d] = 10;
    const learned = learnDwf({ stationId: 'S', flow: synthetic(21), rain: rainDays(21, wet), timeZone: TZ, options: { antecedentDryDays: 0 } });
    assert.equal(learned.dryDays.weekend.length, 0);
    assert.match(learned.warnings.join(' '), /weekend profile copied from weekdays/);
    const allWet: Record<number, number> = {};
    for (let d = 0; d < 10; d++) allWet[d] = 5;
    assert.throws(() => learnDwf({ stationId: 'S9', flow: synthetic(10), rain: rainDays(10, allWet), timeZone: TZ }), /learnDwf S9: no dry days/);
  });

  void it('rejects timestamps without a zone (the UTC vs UTC+8 mistake)', () => {
    assert.equal(parseZonedTimestamp('2026-07-01T08:00:00+08:00'), Date.UTC(2026, 6, 1, 0));
    assert.equal(parseZonedTimestamp('2026-07-01T00:00Z'), Date.UTC(2026, 6, 1, 0));
    assert.throws(() => parseZonedTimestamp('2026-07-01 08:00'), /no time zone.*\+08:00/);
    assert.throws(() => parseZonedTimestamp('yesterday'), /not an ISO 8601/);
  });
});

void describe('dry-weather flow from simulator telemetry', () => {
  void it('derives local inflow from station telemetry and learns the configured DWF (mean hourly error < 1.5 %)', () => {
    const history = simulateHistory({ network, startUtcMs: START_UTC_MS, durationMs: 16 * MS_PER_DAY, stepMin: 5, seed: 9, events: [] });
    // Mass balance: the local inflows add up to everything the catchments produced.
    const totalM3 = Object.values(history.localInflowM3h).reduce((a, v) => a + v.reduce((x, y) => x + y, 0), 0) * (5 / 60);
    assert.ok(Math.abs(totalM3 - history.summary.inflow.totalM3) < 1e-6 * totalM3, `${totalM3} vs ${history.summary.inflow.totalM3}`);
    // At 5-min steps every travel time of the reference network is whole: the same local inflow from step means.
    const fromSteps = localInflow(network, (id, tag) => history.telemetry[id]?.[tag], 5);
    const w6 = fromSteps['W6']!;
    const exact = history.localInflowM3h['W6']!;
    for (let i = 20; i < exact.length; i++) assert.ok(Math.abs(w6[i]! - exact[i]!) < 1e-6, `W6 step ${i}: ${w6[i]} vs ${exact[i]}`);
    assert.deepEqual(
      upstreamSources(network)['W6']!.map((s) => `${s.objectId}:${s.travelMin}`),
      ['W3:60', 'W4:50', 'W5:30', 'X1:30'],
    );
    assert.deepEqual(
      plantRoutes(network)['WP']!.find((r) => r.stationId === 'W1'),
      { stationId: 'W1', travelMin: 40 + 60 + 45 },
    );

    const rain = { startUtcMs: START_UTC_MS, stepMin: 60, values: new Array<number>(16 * 24).fill(0) };
    for (const id of ['W1', 'W5', 'E1', 'E4']) {
      const c = network.catchments.find((x) => x.node === id)!;
      const pattern = network.dwfPatterns.find((p) => p.id === c.dwf.pattern)!;
      const flow = aggregate({ startUtcMs: START_UTC_MS, stepMin: 5, values: history.localInflowM3h[id]! }, 15, 'mean');
      const learned = learnDwf({ stationId: id, flow, rain, timeZone: network.timezone });
      const grid = { startUtcMs: START_UTC_MS, stepMin: 60, steps: 7 * 24 };
      const configured = Array.from({ length: grid.steps }, (_, i) => {
        const t = START_UTC_MS + i * MS_PER_H;
        const h = calendar.hour(t);
        const we = calendar.isWeekend(t);
        return (c.dwf.meanM3d / 24) * (we ? pattern.weekendHourly[h]! * pattern.weekendFactor : pattern.weekdayHourly[h]! * pattern.weekdayFactor) + c.groundwaterM3h;
      });
      const learnedSeries = dwfSeries(learned, calendar, grid);
      // The simulator's DWF carries 3 % hourly AR(1) noise; 16 days hold 4 dry weekend days.
      const errors = configured.map((v, i) => Math.abs(learnedSeries[i]! - v) / v);
      const meanError = errors.reduce((a, b) => a + b, 0) / errors.length;
      assert.ok(meanError < 0.015, `${id}: mean hourly error ${(meanError * 100).toFixed(2)} %`);
      assert.ok(Math.max(...errors) < 0.06, `${id}: worst hourly error ${(Math.max(...errors) * 100).toFixed(1)} %`);
      const weekMean = configured.reduce((a, b) => a + b, 0) / configured.length;
      assert.ok(Math.abs(learned.meanM3h - weekMean) < 0.01 * weekMean, `${id}: mean ${learned.meanM3h} vs ${weekMean}`);
      assert.ok(learned.residualSdFraction > 0.01 && learned.residualSdFraction < 0.05, `${id}: sd ${learned.residualSdFraction}`);
    }
  });
});
