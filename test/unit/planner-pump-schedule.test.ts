// Whole-pump schedules (planner/pump-schedule.ts): small cases with answers worked out by hand, and the
// choice of stations on the reference network.
import assert from 'node:assert/strict';
import test from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { buildTimeGrid, type InitialState } from '../../planner/formulation.js';
import { catchmentInflow, dryWeatherByNode } from '../../planner/inflow.js';
import { meanTariffPrice } from '../../planner/calendar.js';
import { hedgedWholePumpSchedule, scheduleFixedSpeedStations, stationsDownstream, wholePumpSchedule, type ScheduleStep } from '../../planner/pump-schedule.js';

const reference = await loadNetworkFile(referenceNetworkPath);

test('fewest starts: inflow at half a pump over a 100 m³ band needs exactly two starts in 4 h', () => {
  // ±25 m³ per 15-min step: the well fills in 4 steps and empties in 4, so one run cannot pump the 300 m³
  // that must go (400 m³ in, at most 100 m³ may stay): at least two runs.
  const K = 16;
  const r = wholePumpSchedule({
    durationH: new Array<number>(K).fill(0.25),
    inflowM3h: new Array<number>(K).fill(100),
    priceCnyPerKwh: new Array<number>(K).fill(0),
    specificEnergyKwhM3: 0.1,
    pumpM3h: 200,
    maxPumps: 2,
    runningNow: 0,
    initialVolumeM3: 0,
    minVolumeM3: 0,
    maxVolumeM3: 100,
    startCostCny: 1,
    terminalCnyPerM3: 0,
  });
  assert.equal(r.starts, 2);
  assert.equal(r.bandExcessM3, 0);
  assert.ok(r.volumeM3.every((v) => v >= -1e-9 && v <= 100 + 1e-9), r.volumeM3.join(','));
  assert.ok(r.pumps.every((n) => n <= 1), 'never the second pump');
  // The water balance is exact: what came in, less what was pumped, is what is left.
  const pumped = r.pumps.reduce((a, n) => a + n * 200 * 0.25, 0);
  assert.ok(Math.abs(400 - pumped - r.volumeM3[K - 1]!) < 1e-9);
});

test('between schedules of equal cost, the pumps change as late as the band allows (the next plan decides on a fresher forecast)', () => {
  // Flat price and water left priced as pumping it now: starting now or later costs the same. 60 m³/h in,
  // 15 m³ a step: from 150 m³ the well would pass 200 m³ in the fourth step, so the start waits until then.
  const K = 12;
  const r = wholePumpSchedule({
    durationH: new Array<number>(K).fill(0.25),
    inflowM3h: new Array<number>(K).fill(60),
    priceCnyPerKwh: new Array<number>(K).fill(0.3),
    specificEnergyKwhM3: 0.05,
    pumpM3h: 100,
    maxPumps: 1,
    runningNow: 0,
    initialVolumeM3: 150,
    minVolumeM3: 20,
    maxVolumeM3: 200,
    startCostCny: 20,
    terminalCnyPerM3: 0.05 * 0.3,
  });
  assert.equal(r.pumps.join(''), '000111111111');
  assert.equal(r.starts, 1);
  assert.equal(r.bandExcessM3, 0);
});

test('the hedged schedule sends the first step with the lowest mean cost over the inflow and a spread either side of it', () => {
  const base = {
    durationH: new Array<number>(16).fill(0.25),
    priceCnyPerKwh: Array.from({ length: 16 }, (_, i) => (i < 6 ? 0.3 : 1.1)),
    specificEnergyKwhM3: 0.05,
    pumpM3h: 100,
    maxPumps: 2,
    minVolumeM3: 20,
    maxVolumeM3: 200,
    startCostCny: 20,
    terminalCnyPerM3: 0.03,
  };
  let cases = 0;
  for (const q of [45, 70, 95, 130]) {
    for (const initialVolumeM3 of [60, 120, 180]) {
      for (const runningNow of [0, 1, 2]) {
        const problem = { ...base, inflowM3h: new Array<number>(16).fill(q), initialVolumeM3, runningNow };
        // A forced first step is kept, and the objective is what the search minimised.
        const forced = wholePumpSchedule({ ...problem, firstStepPumps: 1 });
        assert.equal(forced.pumps[0], 1);
        assert.ok(forced.objectiveCny >= wholePumpSchedule(problem).objectiveCny - 1e-9);
        // No spread: the forecast's own optimum.
        assert.deepEqual(hedgedWholePumpSchedule(problem, 0), wholePumpSchedule(problem));
        const hedged = hedgedWholePumpSchedule(problem, 0.05);
        const mean = (m: number) => [0.95, 1, 1.05].reduce((a, f) => a + wholePumpSchedule({ ...problem, inflowM3h: problem.inflowM3h.map((x) => x * f), firstStepPumps: m }).objectiveCny, 0) / 3;
        for (let m = 0; m <= 2; m++) assert.ok(mean(hedged.pumps[0]!) <= mean(m) + 1e-9, `q ${q}, V ${initialVolumeM3}, running ${runningNow}: first step ${hedged.pumps[0]} against ${m}`);
        // After the first step, the forecast's optimum.
        assert.deepEqual(hedged, wholePumpSchedule({ ...problem, firstStepPumps: hedged.pumps[0]! }));
        cases++;
      }
    }
  }
  assert.equal(cases, 36);
});

test('cheapest hours: the pump runs when the price is low, and a start is not made for a saving smaller than its cost', () => {
  // 50 m³/h in, 100 m³ in a [0, 200] band: 200 m³ arrive over 4 h, so at least 100 m³ must be pumped (one pump-hour).
  const base = {
    durationH: [1, 1, 1, 1],
    inflowM3h: [50, 50, 50, 50],
    priceCnyPerKwh: [1, 1, 0.1, 0.1],
    specificEnergyKwhM3: 1,
    pumpM3h: 100,
    maxPumps: 1,
    runningNow: 0,
    initialVolumeM3: 100,
    minVolumeM3: 0,
    maxVolumeM3: 200,
    terminalCnyPerM3: 0,
  };
  const r = wholePumpSchedule({ ...base, startCostCny: 0 });
  assert.equal(r.pumps[0], 0);
  assert.equal(r.pumps[1], 0);
  assert.equal(r.pumps[2]! + r.pumps[3]!, 1, r.pumps.join(','));
  assert.ok(Math.abs(r.energyCostCny - 10) < 1e-9, `cost ${r.energyCostCny}`);
  // Already running: stopping now and starting in a cheap hour saves 90 CNY of energy. At 100 CNY a start
  // that is not worth it: the pump runs on for the one hour that must be pumped, then stops (no start at all).
  const running = wholePumpSchedule({ ...base, runningNow: 1, startCostCny: 100 });
  assert.equal(running.starts, 0);
  assert.deepEqual(running.pumps, [1, 0, 0, 0]);
  const cheapStart = wholePumpSchedule({ ...base, runningNow: 1, startCostCny: 1 });
  assert.equal(cheapStart.starts, 1);
  assert.equal(cheapStart.pumps[0], 0, 'stops at once when a later start is cheap');
});

test('more inflow than the pumps can take: the band cannot be kept and the schedule says by how much', () => {
  const r = wholePumpSchedule({
    durationH: [1, 1],
    inflowM3h: [300, 300],
    priceCnyPerKwh: [1, 1],
    specificEnergyKwhM3: 0.1,
    pumpM3h: 100,
    maxPumps: 2,
    runningNow: 2,
    initialVolumeM3: 50,
    minVolumeM3: 0,
    maxVolumeM3: 100,
    startCostCny: 1,
    terminalCnyPerM3: 0,
  });
  assert.deepEqual(r.pumps, [2, 2]);
  assert.ok(r.bandExcessM3 > 100, `excess ${r.bandExcessM3}`);
});

test('bad input is refused with what is wrong', () => {
  const ok = { durationH: [1], inflowM3h: [1], priceCnyPerKwh: [1], specificEnergyKwhM3: 0.1, pumpM3h: 100, maxPumps: 1, runningNow: 0, initialVolumeM3: 0, minVolumeM3: 0, maxVolumeM3: 10, startCostCny: 1, terminalCnyPerM3: 0 };
  assert.throws(() => wholePumpSchedule({ ...ok, inflowM3h: [1, 2] }), /1 steps but 2 inflow values/);
  assert.throws(() => wholePumpSchedule({ ...ok, pumpM3h: 0 }), /pump flow must be positive, got 0/);
});

test('reference network: which fixed-speed stations get a whole-pump schedule', () => {
  const nowUtcMs = Date.UTC(2026, 6, 1, 2, 0);
  const grid = buildTimeGrid(nowUtcMs, { fineStepMin: 15, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 });
  const K = grid.durationH.length;
  const steps: ScheduleStep[] = [];
  grid.durationH.forEach((h, k) => {
    const n = Math.round((h * 60) / 15);
    for (let i = 0; i < n; i++) steps.push({ k, startUtcMs: grid.boundariesUtcMs[k]! + i * 15 * 60_000, durationMin: 15 });
  });
  const series = catchmentInflow(reference, { startUtcMs: nowUtcMs, stepMin: 15, steps: 25 * 4 });
  const dry = new Map<string, number[]>();
  for (const s of series) {
    dry.set(
      s.nodeId,
      Array.from({ length: K }, (_, k) => {
        const i0 = Math.round((grid.boundariesUtcMs[k]! - nowUtcMs) / 900_000);
        const i1 = Math.round((grid.boundariesUtcMs[k + 1]! - nowUtcMs) / 900_000);
        let sum = 0;
        for (let i = i0; i < i1; i++) sum += s.flowM3h[i]!;
        return sum / Math.max(1, i1 - i0);
      }),
    );
  }
  const initial: InitialState = {
    stations: new Map(reference.stations.map((s) => [s.id, { levelM: 1.8, pumpsAvailable: s.pumps.length, outflowM3h: 0, flowSetpointM3h: null, locked: s.id === 'E9' }])),
    tanks: new Map(),
    transfers: new Map(),
  };
  const schedule = (inflowM3h: Map<string, number[]>, constraints = {}) =>
    scheduleFixedSpeedStations({ network: reference, grid, steps, scenarios: [{ inflowM3h }], initial, constraints, alarmMarginFraction: 0.1, floorMarginM: 0.15, startCostCny: 5 });

  const all = schedule(dry);
  // Every fixed-speed station but E9 (LOCAL); no VFD station.
  assert.deepEqual([...all.keys()].sort(), ['E1', 'E2', 'E3', 'E5', 'E6', 'E7', 'W1', 'W2', 'W4', 'W5', 'W7']);
  for (const s of all.values()) {
    assert.equal(s.pumps.length, steps.length);
    assert.equal(s.bandExcessM3 <= 1, true);
    const station = reference.stations.find((x) => x.id === s.stationId)!;
    const duty = station.pumps.length - station.standbyPumps;
    assert.ok(s.pumps.every((n) => Number.isInteger(n) && n >= 0 && n <= duty), `${s.stationId}: ${s.pumps.join(',')}`);
    assert.equal(s.flowByGridStepM3h.length, K);
  }
  // Fewer starts than a day of local control makes at these stations (5–9 each in the closed-loop benchmark).
  const w2 = all.get('W2')!;
  assert.ok(w2.starts <= 7, `W2 starts ${w2.starts}`);

  // Rain on E5's catchment: E5 is left to the LP, and E6 (fed by E5) with it; a dispatcher band takes W1 out.
  const base = dryWeatherByNode(reference, grid.boundariesUtcMs);
  const wet = new Map(dry);
  wet.set('E5', dry.get('E5')!.map((q, k) => (k >= 8 && k < 12 ? q + 3 * base.get('E5')![k]! : q)));
  const some = schedule(wet, { stationBands: [{ stationId: 'W1', minLevelM: 1.2 }] });
  assert.equal(some.has('E5'), false);
  assert.equal(some.has('E6'), false);
  assert.equal(some.has('W1'), false);
  assert.equal(some.has('W2'), true);

  // Priced with the energy its water meets downstream (at the tariff when it gets there), each schedule pays
  // less for the whole path than the schedule priced at its own energy alone — which does not look there.
  const withPath = scheduleFixedSpeedStations({ network: reference, grid, steps, scenarios: [{ inflowM3h: dry }], initial, constraints: {}, alarmMarginFraction: 0.1, floorMarginM: 0.15, startCostCny: 5, downstreamEnergyWeight: 1 });
  const pathCostCny = (sc: { stationId: string; pumps: number[]; pumpM3h: number }) => {
    const station = reference.stations.find((x) => x.id === sc.stationId)!;
    const path = [{ station, lagMin: 0 }, ...stationsDownstream(reference, station)];
    return sc.pumps.reduce((sum, n, i) => {
      const m3 = (n * sc.pumpM3h * steps[i]!.durationMin) / 60;
      const from = steps[i]!.startUtcMs;
      const to = from + steps[i]!.durationMin * 60_000;
      return sum + path.reduce((a, p) => a + m3 * p.station.specificEnergyKwhM3 * meanTariffPrice(reference, from + p.lagMin * 60_000, to + p.lagMin * 60_000), 0);
    }, 0);
  };
  let ownPricedCny = 0;
  let pathPricedCny = 0;
  for (const [id, sc] of all) {
    ownPricedCny += pathCostCny(sc);
    pathPricedCny += pathCostCny(withPath.get(id)!);
  }
  assert.ok(pathPricedCny < ownPricedCny - 1, `along the path: ${pathPricedCny.toFixed(1)} CNY priced so, ${ownPricedCny.toFixed(1)} CNY priced at their own energy`);
});

test('the stations water passes on its way to a plant, with travel times', () => {
  const path = (id: string) => stationsDownstream(reference, reference.stations.find((s) => s.id === id)!).map((p) => `${p.station.id}+${p.lagMin}`);
  // E1 → E4 (25 min) → E8 (50 min more) → East plant; W1 → W3 (40) → W6 (60 more); E7 straight to the plant.
  assert.deepEqual(path('E1'), ['E4+25', 'E8+75']);
  assert.deepEqual(path('W1'), ['W3+40', 'W6+100']);
  assert.deepEqual(path('E5'), ['E6+60', 'E8+115']);
  assert.deepEqual(path('E7'), []);
});
