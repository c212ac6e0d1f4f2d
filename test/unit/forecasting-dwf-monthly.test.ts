// Monthly (seasonal) dry-weather factors: learned when the dry days cover several local months, 1 for
// every month otherwise; applied by the forecast's dry-weather series.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createCalendar, MS_PER_DAY } from '../../forecasting/calendar.js';
import { dwfSeries, learnDwf, toNetworkDwf } from '../../forecasting/dwf.js';
import { modelsFromNetwork } from '../../forecasting/inflow.js';
import type { Series } from '../../forecasting/series.js';

const TZ = 'Asia/Shanghai';
const calendar = createCalendar(TZ);
/** Local 2026-01-01 00:00 (UTC+8). */
const START_UTC_MS = Date.UTC(2025, 11, 31, 16);
/** The true seasonal level per local month (wetter months: more infiltration in the dry-weather flow). */
const SEASON = [0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.25, 1.2, 1.1, 1.0, 0.95, 0.9];
const HOURLY = Array.from({ length: 24 }, (_, h) => 0.6 + 0.8 * Math.max(0, Math.sin(((h - 5) / 24) * 2 * Math.PI)));

function history(days: number, withSeason: boolean): { flow: Series; rain: Series } {
  const flow: (number | null)[] = [];
  const rain: (number | null)[] = [];
  for (let i = 0; i < days * 24; i++) {
    const t = START_UTC_MS + i * 3_600_000;
    const month = Number(calendar.dateKey(t).slice(5, 7)) - 1;
    const season = withSeason ? SEASON[month]! : 1;
    const dayType = calendar.isWeekend(t) ? 0.85 : 1;
    flow.push(300 * HOURLY[calendar.hour(t)]! * dayType * season * (1 + 0.01 * Math.sin(i * 2.3)));
    rain.push(0);
  }
  return { flow: { startUtcMs: START_UTC_MS, stepMin: 60, values: flow }, rain: { startUtcMs: START_UTC_MS, stepMin: 60, values: rain } };
}

void describe('monthly dry-weather factors', () => {
  void it('are learned from several months of history: their ratios follow the true seasonal level', () => {
    const { flow, rain } = history(151, true); // January to May
    const learned = learnDwf({ stationId: 'S', flow, rain, timeZone: TZ });
    const learnedMonths = learned.monthlyFactors.map((f, m) => [m, f] as const).filter(([, f]) => f !== 1);
    assert.deepEqual(
      learnedMonths.map(([m]) => m),
      [0, 1, 2, 3, 4],
    );
    for (const [m, f] of learnedMonths) {
      const expected = SEASON[m]! / SEASON[0]!;
      const got = f / learned.monthlyFactors[0]!;
      assert.ok(Math.abs(got / expected - 1) < 0.02, `month ${m + 1}: ratio ${got.toFixed(3)} vs ${expected.toFixed(3)}`);
    }
    // Months without data stay 1.
    assert.deepEqual(learned.monthlyFactors.slice(5), new Array<number>(7).fill(1));
    // With the factors the forecast follows the season: a May day is higher than a January day.
    const day = (utcMs: number) => dwfSeries(learned, calendar, { startUtcMs: utcMs, stepMin: 60, steps: 24 }).reduce((a, b) => a + b, 0) / 24;
    const jan = day(START_UTC_MS + 13 * MS_PER_DAY); // Wednesday 14 January
    const may = day(START_UTC_MS + 139 * MS_PER_DAY); // Wednesday 20 May
    assert.ok(Math.abs(may / jan / (SEASON[4]! / SEASON[0]!) - 1) < 0.02, `May/January ${(may / jan).toFixed(3)}`);
    // The spread is measured around the seasonal profile, so the season is not mistaken for noise.
    assert.ok(learned.residualSdFraction < 0.03, `residual sd ${learned.residualSdFraction}`);
    assert.deepEqual(toNetworkDwf(learned, 'learned', 0).pattern.monthly, learned.monthlyFactors);
  });

  void it('are 1 for every month when the history covers fewer months, with a warning', () => {
    const { flow, rain } = history(45, false); // January and half of February
    const learned = learnDwf({ stationId: 'S', flow, rain, timeZone: TZ });
    assert.deepEqual(learned.monthlyFactors, new Array<number>(12).fill(1));
    assert.ok(learned.warnings.some((w) => /monthly factors not learned: 2 month\(s\)/.test(w)), learned.warnings.join('; '));
    assert.equal(toNetworkDwf(learned, 'learned', 0).pattern.monthly, undefined);
  });

  void it('stay 1 for a history without a season', () => {
    const { flow, rain } = history(151, false);
    const learned = learnDwf({ stationId: 'S', flow, rain, timeZone: TZ });
    for (const f of learned.monthlyFactors) assert.ok(Math.abs(f - 1) < 0.01, String(f));
  });

  void it('come from the network file\'s pattern when it has them, weighted by the catchments\' flow', async () => {
    const network = await loadNetworkFile(referenceNetworkPath);
    assert.ok(modelsFromNetwork(network).every((m) => m.dwf.monthlyFactors === undefined), 'the reference network has no monthly factors');
    const first = network.catchments[0]!;
    const monthly = SEASON;
    const seasonal = { ...network, dwfPatterns: network.dwfPatterns.map((p) => (p.id === first.dwf.pattern ? { ...p, monthly } : p)) };
    const model = modelsFromNetwork(seasonal).find((m) => m.stationId === first.node)!;
    const sameNode = seasonal.catchments.filter((c) => c.node === first.node);
    const weight = (c: (typeof sameNode)[number]) => c.dwf.meanM3d;
    const expectedJune = sameNode.reduce((a, c) => a + weight(c) * (c.dwf.pattern === first.dwf.pattern ? SEASON[5]! : 1), 0) / sameNode.reduce((a, c) => a + weight(c), 0);
    assert.ok(Math.abs(model.dwf.monthlyFactors![5]! - expectedJune) < 1e-9);
  });
});
