// The day-type calendar (statutory holidays take the weekend dry-weather profile, make-up working days the
// weekday one) in learning, the inflow forecast and the planner; its validation in the network file.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCalendar, dayKind, MS_PER_DAY, MS_PER_H } from '../../forecasting/calendar.js';
import { dwfAt, learnDwf, withDayCalendar } from '../../forecasting/dwf.js';
import { forecastInflow, modelsFromNetwork } from '../../forecasting/inflow.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { ConfigError, parseNetwork } from '../../network/validate.js';
import { dryWeatherByNode, dryWeatherFlowM3h } from '../../planner/inflow.js';
import type { Series } from '../../forecasting/series.js';

const network = await loadNetworkFile(referenceNetworkPath);
const TZ = network.timezone;
const calendar = createCalendar(TZ);
/** 09:00 local (UTC+8) on a local date. */
const nineAm = (date: string) => Date.parse(`${date}T01:00:00Z`);

const WEEKDAY = Array.from({ length: 24 }, (_, h) => 200 + 100 * Math.sin((Math.PI * h) / 12));
const WEEKEND = WEEKDAY.map((v) => 0.7 * v);

void describe('day-type calendar (statutory holidays and make-up working days)', () => {
  void it('the reference network lists the 2026 State Council calendar: Spring Festival and National Day off, 调休 Saturdays worked', () => {
    assert.equal(dayKind(calendar, nineAm('2026-02-17'), network.dayCalendar), 'holiday'); // Tuesday, 春节
    assert.equal(dayKind(calendar, nineAm('2026-10-01'), network.dayCalendar), 'holiday'); // Thursday, 国庆
    assert.equal(dayKind(calendar, nineAm('2026-02-14'), network.dayCalendar), 'makeUpWorkday'); // Saturday worked
    assert.equal(dayKind(calendar, nineAm('2026-09-20'), network.dayCalendar), 'makeUpWorkday'); // Sunday worked
    assert.equal(dayKind(calendar, nineAm('2026-02-24'), network.dayCalendar), 'weekday');
    assert.equal(dayKind(calendar, nineAm('2026-03-01'), network.dayCalendar), 'weekend');
    // Local dates: 23:30 local on 30 September (15:30 UTC) is not yet National Day.
    assert.equal(dayKind(calendar, Date.parse('2026-09-30T15:30:00Z'), network.dayCalendar), 'weekday');
    assert.equal(dayKind(calendar, Date.parse('2026-09-30T16:30:00Z'), network.dayCalendar), 'holiday');
  });

  void it('the forecast profile takes the weekend values on holidays and the weekday values on make-up working days', () => {
    const profile = { weekdayM3h: WEEKDAY, weekendM3h: WEEKEND, residualSdFraction: 0.05, residualLag1: 0.8, dayCalendar: network.dayCalendar! };
    for (const date of ['2026-02-17', '2026-10-01', '2026-03-01']) assert.equal(dwfAt(profile, calendar, nineAm(date)), WEEKEND[9], date);
    for (const date of ['2026-02-14', '2026-09-20', '2026-02-24']) assert.equal(dwfAt(profile, calendar, nineAm(date)), WEEKDAY[9], date);
  });

  void it('the cycle\'s configured models and the inflow forecast follow the calendar', () => {
    const models = withDayCalendar(modelsFromNetwork(network), network.dayCalendar);
    const plain = modelsFromNetwork(network);
    const startUtcMs = Date.parse('2026-09-30T16:00:00Z'); // 1 October, local midnight (国庆, a Thursday)
    const rain = {
      startUtcMs,
      stepMin: 60,
      steps: 24,
      quality: 'fresh' as const,
      reason: null,
      source: 'test',
      issuedAtUtcMs: startUtcMs,
      ageMin: 0,
      catchments: network.catchments.map((c) => ({ catchmentId: c.id, precipitationMm: new Array<number>(24).fill(0), members: [] })),
    };
    const forecast = forecastInflow({ models, timeZone: TZ, issuedAtUtcMs: startUtcMs, rain });
    const w1 = forecast.stations.find((s) => s.stationId === 'W1')!;
    const model = plain.find((m) => m.stationId === 'W1')!;
    const f = model.dwf.monthlyFactors?.[9] ?? 1;
    // 09:00 local: the weekend profile (the dry-weather part without groundwater).
    assert.ok(Math.abs(w1.dwfM3h[9]! + w1.groundwaterM3h[9]! - model.dwf.weekendM3h[9]! * f) < 1e-6, `${w1.dwfM3h[9]} vs weekend ${model.dwf.weekendM3h[9]}`);
    assert.ok(Math.abs(model.dwf.weekendM3h[9]! - model.dwf.weekdayM3h[9]!) > 1, 'the patterns differ at 09:00');
  });

  void it('the planner\'s dry-weather inflow follows the calendar (dryWeatherFlowM3h and dryWeatherByNode)', () => {
    const c = network.catchments.find((x) => x.id === 'C-W1')!;
    const pattern = network.dwfPatterns.find((p) => p.id === c.dwf.pattern)!;
    const expected = (weekend: boolean, t: number) =>
      (c.dwf.meanM3d / 24) *
        (weekend ? pattern.weekendHourly[9]! * pattern.weekendFactor : pattern.weekdayHourly[9]! * pattern.weekdayFactor) *
        (pattern.monthly?.[new Date(t + 8 * MS_PER_H).getUTCMonth()] ?? 1) +
      c.groundwaterM3h;
    for (const [date, weekend] of [
      ['2026-02-17', true],
      ['2026-10-01', true],
      ['2026-02-14', false],
      ['2026-02-24', false],
    ] as const) {
      const t = nineAm(date);
      assert.ok(Math.abs(dryWeatherFlowM3h(network, c, t) - expected(weekend, t)) < 1e-9, `${date}: ${dryWeatherFlowM3h(network, c, t)} vs ${expected(weekend, t)}`);
      const byNode = dryWeatherByNode({ ...network, catchments: [c] }, [t - 2 * 60_000, t + 2 * 60_000]);
      assert.ok(Math.abs(byNode.get('W1')![0]! - expected(weekend, t)) < 1e-9, `${date} by node`);
    }
  });

  void it('learning counts holidays as weekend days and make-up working days as weekdays', () => {
    // 1 Feb – 15 Mar 2026, hourly, dry: weekday flow on working days (调休 Saturdays included), weekend flow on
    // weekends and the Spring Festival holiday.
    const startUtcMs = Date.parse('2026-01-31T16:00:00Z');
    const days = 43;
    const values: number[] = [];
    for (let i = 0; i < days * 24; i++) {
      const t = startUtcMs + i * MS_PER_H;
      const rest = dayKind(calendar, t, network.dayCalendar);
      const h = calendar.hour(t);
      values.push((rest === 'weekend' || rest === 'holiday' ? WEEKEND[h]! : WEEKDAY[h]!) * (1 + 0.01 * Math.sin(i * 1.7)));
    }
    const flow: Series = { startUtcMs, stepMin: 60, values };
    const rain: Series = { startUtcMs: startUtcMs - 3 * MS_PER_DAY, stepMin: 60, values: new Array<number>((days + 3) * 24).fill(0) };
    const learned = learnDwf({ stationId: 'S', flow, rain, timeZone: TZ, dayCalendar: network.dayCalendar! });
    assert.ok(learned.dryDays.weekend.includes('2026-02-17'), 'a Spring Festival Tuesday is a weekend-type day');
    assert.ok(learned.dryDays.weekday.includes('2026-02-14'), 'the 调休 Saturday is a weekday');
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(Math.abs(mean(learned.weekdayM3h) / mean(WEEKDAY) - 1) < 0.01, `weekday ${mean(learned.weekdayM3h)} vs ${mean(WEEKDAY)}`);
    assert.ok(Math.abs(mean(learned.weekendM3h) / mean(WEEKEND) - 1) < 0.01, `weekend ${mean(learned.weekendM3h)} vs ${mean(WEEKEND)}`);
    assert.equal(learned.dayCalendar, network.dayCalendar, 'the profile keeps the calendar for the forecast');
  });

  void it('a calendar that does not cover a year says so when learning', () => {
    const startUtcMs = Date.parse('2025-12-20T16:00:00Z');
    const values = Array.from({ length: 20 * 24 }, (_, i) => WEEKDAY[i % 24]! * (1 + 0.01 * Math.sin(i)));
    const learned = learnDwf({
      stationId: 'S',
      flow: { startUtcMs, stepMin: 60, values },
      rain: { startUtcMs: startUtcMs - 3 * MS_PER_DAY, stepMin: 60, values: new Array<number>(23 * 24).fill(0) },
      timeZone: TZ,
      dayCalendar: network.dayCalendar!,
    });
    assert.ok(learned.warnings.some((w) => /does not cover 2025/.test(w)), learned.warnings.join(' | '));
  });

  void it('refuses a bad calendar in the network file, naming file, path and value', () => {
    const bad = structuredClone(network) as unknown as Record<string, unknown>;
    bad['dayCalendar'] = {
      coversYears: [2026],
      holidays: [
        { name: { zh: '春节', en: 'Spring Festival' }, from: '2026-02-15', to: '2026-02-23' },
        { name: { zh: '重复', en: 'Overlap' }, from: '2026-02-23', to: '2026-02-24' },
        { name: { zh: '错日', en: 'Bad date' }, from: '2026-02-30', to: '2026-03-01' },
        { name: { zh: '未覆盖', en: 'Uncovered' }, from: '2027-01-01', to: '2027-01-01' },
      ],
      makeUpWorkdays: [
        { date: '2026-03-02', name: { zh: '春节', en: 'Spring Festival' } },
        { date: '2026-02-21', name: { zh: '春节', en: 'Spring Festival' } },
      ],
    };
    let error: unknown;
    try {
      parseNetwork(bad, 'config/my-network.json');
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ConfigError, String(error));
    const text = error.message;
    assert.match(text, /^config\/my-network\.json: /);
    assert.match(text, /\/dayCalendar\/holidays\/1: overlaps \/dayCalendar\/holidays\/0 on 2026-02-23/);
    assert.match(text, /\/dayCalendar\/holidays\/2\/from: not a real date.*"2026-02-30"/);
    assert.match(text, /\/dayCalendar\/holidays\/3: year not in coversYears/);
    assert.match(text, /\/dayCalendar\/makeUpWorkdays\/0\/date: a Monday is a working day anyway.*"2026-03-02"/);
    assert.match(text, /\/dayCalendar\/makeUpWorkdays\/1\/date: .*also a holiday \(\/dayCalendar\/holidays\/0\)/);
    const typo = structuredClone(network) as unknown as Record<string, unknown>;
    typo['dayCalendar'] = { coversYears: [2026], holidays: [{ name: { zh: 'x', en: 'x' }, from: '2026-2-15', to: '2026-02-23' }], makeUpWorkdays: [] };
    assert.throws(() => parseNetwork(typo, 'n.json'), /\/dayCalendar\/holidays\/0\/from: .*pattern.*"2026-2-15"/s);
  });
});
