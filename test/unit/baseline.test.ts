// The baseline writer (activities/baseline.ts) on an in-memory InfluxDB stand-in and rain from a scenario:
// deterministic points, idempotent re-runs, a counter that continues across the day boundary, measured start
// levels, and bad input (missing rain stops the baseline and says where; bad depths and periods are refused).
// Also the periods the hourly workflow asks for (workflows/baseline.ts baselinePeriods).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BaselineInputError, createBaselineActivities, type BaselineOptions } from '../../activities/baseline.js';
import type { ObservedRain, ObservedRainSource } from '../../activities/flood.js';
import type { InfluxConnector, QuerySeries, SeriesPoint } from '../../connectors/influx.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createRainScenario } from '../../scenarios/rain.js';
import { baselinePeriods } from '../../workflows/baseline.js';

const H = 3_600_000;
const DAY = 24 * H;
/** 2026-07-01 00:00 Asia/Shanghai. */
const DAY_START = Date.UTC(2026, 5, 30, 16);
const network = await loadNetworkFile(referenceNetworkPath);
const storm = createRainScenario('rainstorm', { startUtcMs: DAY_START });

/** InfluxDB stand-in: points keyed as InfluxDB keys them (measurement, tags, time), and the two reads the writer makes. */
function memoryInflux(levels: Record<string, { timeUtcMs: number; levelM: number }> = {}) {
  const store = new Map<string, SeriesPoint>();
  const connector: InfluxConnector = {
    async write(points) {
      for (const p of points) store.set(`${p.measurement}|${JSON.stringify(p.tags)}|${p.timeUtcMs}`, structuredClone(p));
      return points.length;
    },
    async query(q): Promise<QuerySeries[]> {
      const m = /FROM "(\w+)" WHERE time > (-?\d+)ms AND time <= (-?\d+)ms GROUP BY "id"$/.exec(q);
      assert.ok(m, `unexpected query ${q}`);
      const [measurement, from, to] = [m[1], Number(m[2]), Number(m[3])];
      const inRange = (t: number) => t > from && t <= to;
      if (measurement === 'station') {
        return Object.entries(levels)
          .filter(([, r]) => inRange(r.timeUtcMs))
          .map(([id, r]) => ({ name: 'station', tags: { id }, columns: ['time', 'levelM'], values: [[r.timeUtcMs, r.levelM]] }));
      }
      assert.equal(measurement, 'baseline');
      const latest = new Map<string, SeriesPoint>();
      for (const p of store.values()) {
        if (p.measurement !== 'baseline' || !inRange(p.timeUtcMs)) continue;
        const prev = latest.get(p.tags['id']!);
        if (!prev || prev.timeUtcMs < p.timeUtcMs) latest.set(p.tags['id']!, p);
      }
      return [...latest].map(([id, p]) => ({ name: 'baseline', tags: { id }, columns: ['time', 'energyKwh', 'costCny'], values: [[0, p.fields['energyKwh'], p.fields['costCny']]] }));
    },
    async ping() {
      return { latencyMs: 0, version: 'memory' };
    },
  };
  const baseline = () => [...store.values()].filter((p) => p.measurement === 'baseline').sort((a, b) => a.timeUtcMs - b.timeUtcMs || a.tags['id']!.localeCompare(b.tags['id']!));
  return { connector, store, baseline };
}

/** Hourly rain of the storm per catchment, as the archive reports it; `edit` changes single hours. */
function scenarioRain(edit: (catchmentId: string, hourEndUtcMs: number, mm: number) => number | null = (_c, _t, mm) => mm): ObservedRainSource & { calls: [number, number][] } {
  const calls: [number, number][] = [];
  return {
    calls,
    async fetchObservedRain(net, fromUtcMs, toUtcMs): Promise<ObservedRain> {
      calls.push([fromUtcMs, toUtcMs]);
      return {
        source: 'scenario-rainstorm',
        catchments: net.catchments.map((c) => {
          const timeUtcMs: number[] = [];
          for (let t = Math.floor(fromUtcMs / H) * H + H; t <= toUtcMs; t += H) timeUtcMs.push(t);
          return { catchmentId: c.id, hourly: { timeUtcMs, mm: timeUtcMs.map((t) => edit(c.id, t, storm.rainMmBetween(c.location.latDeg, c.location.lonDeg, t - H, t))) } };
        }),
      };
    },
  };
}

const writer = (influx: InfluxConnector, observed: ObservedRainSource | undefined, baseline?: BaselineOptions) =>
  createBaselineActivities({ network, influx, ...(observed ? { observed } : {}), ...(baseline ? { baseline } : {}) });
const day = { fromUtcMs: DAY_START, toUtcMs: DAY_START + DAY };
const pointsPerDay = network.stations.length * (24 * 12 + 1);

test('the baseline of a day: one point per station every 5 min, counters rising from 0, the storm costing energy', async () => {
  const influx = memoryInflux();
  const rain = scenarioRain();
  const result = await writer(influx.connector, rain).writeBaseline(day);
  assert.equal(result.points, pointsPerDay);
  assert.equal(result.writtenUntilUtcMs, day.toUtcMs);
  assert.equal(result.rainGap, null);
  assert.equal(result.simulatedFromUtcMs, DAY_START - DAY, '24-h spin-up');
  assert.deepEqual(rain.calls, [[DAY_START - DAY, DAY_START + DAY]]);
  assert.equal(result.countersContinued, 0);
  const points = influx.baseline();
  assert.equal(points.length, pointsPerDay);
  for (const id of network.stations.map((s) => s.id)) {
    const series = points.filter((p) => p.tags['id'] === id).map((p) => p.fields['energyKwh'] as number);
    assert.equal(series[0], 0, `${id} starts at 0`);
    assert.ok(series.every((e, i) => i === 0 || e >= series[i - 1]!), `${id}: a counter never falls`);
    assert.ok(series.at(-1)! > 0, `${id} pumped`);
  }
  const total = points.filter((p) => p.timeUtcMs === day.toUtcMs).reduce((sum, p) => sum + (p.fields['energyKwh'] as number), 0);
  assert.ok(Math.abs(total - result.energyKwh) < 1e-6 * total, `closing readings ${total} vs result ${result.energyKwh}`);
  assert.ok(result.costCny > 0.3 * result.energyKwh && result.costCny < 1.1 * result.energyKwh, `cost ${result.costCny} CNY for ${result.energyKwh} kWh within the tariff's prices`);

  // The same day without rain: the storm's inflow has to be pumped, so the rain must reach the simulation.
  const dry = await writer(memoryInflux().connector, scenarioRain((_c, _t) => 0)).writeBaseline(day);
  assert.ok(result.energyKwh > dry.energyKwh * 1.05, `storm ${result.energyKwh.toFixed(0)} kWh vs dry ${dry.energyKwh.toFixed(0)} kWh`);
});

test('deterministic and idempotent: the same period gives the same points, and a re-run overwrites them unchanged', async () => {
  const a = memoryInflux();
  const b = memoryInflux();
  const ra = await writer(a.connector, scenarioRain()).writeBaseline(day);
  const rb = await writer(b.connector, scenarioRain()).writeBaseline(day);
  assert.deepEqual(rb, ra);
  assert.deepEqual(b.baseline(), a.baseline());

  const before = structuredClone(a.baseline());
  const again = await writer(a.connector, scenarioRain()).writeBaseline(day);
  // The re-run finds its own opening point (0) and continues from it: same values.
  assert.equal(again.countersContinued, network.stations.length);
  assert.deepEqual({ ...again, countersContinued: 0 }, ra);
  assert.deepEqual(a.baseline(), before);
  assert.equal(a.store.size, pointsPerDay);
});

test('the counter continues across the day boundary: the closing reading of a day is the next day’s opening reading', async () => {
  const influx = memoryInflux();
  const write = writer(influx.connector, scenarioRain());
  await write.writeBaseline(day);
  const closing = new Map(influx.baseline().filter((p) => p.timeUtcMs === day.toUtcMs).map((p) => [p.tags['id']!, p.fields['energyKwh'] as number]));
  const next = await write.writeBaseline({ fromUtcMs: day.toUtcMs, toUtcMs: day.toUtcMs + 6 * H });
  assert.equal(next.countersContinued, network.stations.length);
  const points = influx.baseline();
  assert.equal(points.length, pointsPerDay + network.stations.length * 6 * 12, 'the boundary point is shared, not doubled');
  for (const [id, kwh] of closing) {
    const after = points.filter((p) => p.tags['id'] === id && p.timeUtcMs >= day.toUtcMs).map((p) => p.fields['energyKwh'] as number);
    assert.equal(after[0], kwh, `${id} opens the next day where it closed`);
    assert.ok(after.at(-1)! > kwh, `${id} keeps counting`);
  }
  // Re-running the first day again leaves the second day's opening reading as it was.
  await write.writeBaseline(day);
  assert.deepEqual(new Map(influx.baseline().filter((p) => p.timeUtcMs === day.toUtcMs).map((p) => [p.tags['id']!, p.fields['energyKwh'] as number])), closing);
});

test('measured levels at the simulation start are used where telemetry has them; out-of-range ones are clamped', async () => {
  const simStart = DAY_START - DAY;
  const levels = { W1: { timeUtcMs: simStart - 60_000, levelM: 1.9 }, E8: { timeUtcMs: simStart, levelM: 99 }, W2: { timeUtcMs: simStart - 20 * 60_000, levelM: 2 } };
  const result = await writer(memoryInflux(levels).connector, scenarioRain()).writeBaseline(day);
  assert.deepEqual(result.levels.measured, ['W1', 'E8'].sort((a, b) => network.stations.findIndex((s) => s.id === a) - network.stations.findIndex((s) => s.id === b)));
  assert.deepEqual(result.levels.clamped, ['E8']);
  assert.ok(result.levels.defaulted.includes('W2'), 'a reading older than 15 min is not used');
  assert.equal(result.levels.defaulted.length, network.stations.length - 2);

  // Without a spin-up the period starts from the levels measured at its own start, and they change the result.
  const atStart = { W1: { timeUtcMs: DAY_START, levelM: network.stations.find((s) => s.id === 'W1')!.levels.highAlarmM } };
  const cold = await writer(memoryInflux(atStart).connector, scenarioRain(), { spinUpH: 0 }).writeBaseline(day);
  const coldDefault = await writer(memoryInflux().connector, scenarioRain(), { spinUpH: 0 }).writeBaseline(day);
  assert.equal(cold.simulatedFromUtcMs, DAY_START);
  assert.deepEqual(cold.levels.measured, ['W1']);
  assert.notEqual(cold.energyKwh, coldDefault.energyKwh);
});

test('missing rain stops the baseline before the missing hour and says where — never simulated as dry', async () => {
  const gapEnd = DAY_START + 10 * H;
  const full = memoryInflux();
  await writer(full.connector, scenarioRain()).writeBaseline(day);
  const gapped = memoryInflux();
  const result = await writer(gapped.connector, scenarioRain((c, t, mm) => (c === 'C-E4' && t === gapEnd ? null : mm))).writeBaseline(day);
  assert.deepEqual(result.rainGap, { catchmentId: 'C-E4', hourEndUtcMs: gapEnd });
  assert.equal(result.writtenUntilUtcMs, gapEnd - H);
  const written = gapped.baseline();
  assert.ok(written.length > 0 && written.every((p) => p.timeUtcMs <= gapEnd - H), 'nothing after the gap');
  assert.deepEqual(written, full.baseline().filter((p) => p.timeUtcMs <= gapEnd - H), 'before the gap the same points as with complete rain');

  // A gap in the spin-up: nothing can be written, and the result says why.
  const early = await writer(memoryInflux().connector, scenarioRain((c, t, mm) => (t === DAY_START - 5 * H ? null : mm))).writeBaseline(day);
  assert.equal(early.points, 0);
  assert.equal(early.writtenUntilUtcMs, null);
  assert.equal(early.rainGap?.hourEndUtcMs, DAY_START - 5 * H);
});

test('bad input is refused with an error naming what and where', async () => {
  const influx = memoryInflux().connector;
  await assert.rejects(writer(influx, scenarioRain((c, t, mm) => (c === 'C-W1' && t === DAY_START + 3 * H ? -2 : mm))).writeBaseline(day), (error: Error) => {
    assert.ok(error instanceof BaselineInputError, `${error.name}: ${error.message}`);
    assert.match(error.message, /catchment C-W1, hour ending 2026-06-30T19:00:00.000Z: -2 mm is not a depth/);
    return true;
  });
  const missingCatchment: ObservedRainSource = { fetchObservedRain: async () => ({ source: 'gauges', catchments: [] }) };
  await assert.rejects(writer(influx, missingCatchment).writeBaseline(day), /observed rain from gauges has no series for catchment C-W1/);
  await assert.rejects(writer(influx, undefined).writeBaseline(day), /no observed-rain source configured/);
  await assert.rejects(writer(influx, scenarioRain()).writeBaseline({ fromUtcMs: DAY_START, toUtcMs: DAY_START }), /the end must be after the start/);
  await assert.rejects(writer(influx, scenarioRain()).writeBaseline({ fromUtcMs: DAY_START + 60_000, toUtcMs: DAY_START + H }), /on the 5-min point grid/);
  await assert.rejects(writer(influx, scenarioRain()).writeBaseline({ fromUtcMs: DAY_START, toUtcMs: DAY_START + 4 * DAY }), /longer than 72 h/);
  assert.throws(() => writer(influx, scenarioRain(), { pointEveryMin: 7 }), /pointEveryMin must be a whole number of minutes dividing 60, got 7/);
});

test('the hourly run writes the local day up to the last full hour, and closes the previous day after midnight', () => {
  const offset = 480; // UTC+8
  const local = (d: number, h: number, m: number) => DAY_START + d * DAY + h * H + m * 60_000;
  const p = (from: number, to: number) => ({ fromUtcMs: from, toUtcMs: to });
  assert.deepEqual(baselinePeriods(local(0, 10, 5), offset, 3), [p(local(0, 0, 0), local(0, 10, 0))]);
  // 00:05: the last full hour ends at 24:00 — the run closes the previous day.
  assert.deepEqual(baselinePeriods(local(1, 0, 5), offset, 3), [p(local(0, 0, 0), local(1, 0, 0))]);
  // 01:05 to 03:59: the previous day again (a run missed at midnight), then the new day.
  assert.deepEqual(baselinePeriods(local(1, 1, 5), offset, 3), [p(local(0, 0, 0), local(1, 0, 0)), p(local(1, 0, 0), local(1, 1, 0))]);
  assert.deepEqual(baselinePeriods(local(1, 3, 59), offset, 3), [p(local(0, 0, 0), local(1, 0, 0)), p(local(1, 0, 0), local(1, 3, 0))]);
  assert.deepEqual(baselinePeriods(local(1, 4, 0), offset, 3), [p(local(1, 0, 0), local(1, 4, 0))]);
  assert.deepEqual(baselinePeriods(local(1, 2, 0), offset, 0), [p(local(1, 0, 0), local(1, 2, 0))]);
  // Another zone: local midnight is 05:00 UTC at UTC−5.
  assert.deepEqual(baselinePeriods(Date.UTC(2026, 0, 10, 12, 30), -300, 3), [p(Date.UTC(2026, 0, 10, 5), Date.UTC(2026, 0, 10, 12))]);
});
