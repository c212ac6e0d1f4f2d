// Floors of the planner benchmark (bench/lib/start-floor.ts, cost-floor.ts, start-budget-cost.ts): answers worked out by hand.
import assert from 'node:assert/strict';
import test from 'node:test';
import { perfectForesightCostFloor } from '../../bench/lib/cost-floor.js';
import { startBudgetCost } from '../../bench/lib/start-budget-cost.js';
import { fixedSpeedStartFloor, fixedSpeedWell } from '../../bench/lib/start-floor.js';
import { exampleNetwork } from '../../planner/examples.js';
import { closeSolverWorkers } from '../../planner/solver.js';

test.after(closeSolverWorkers);

test('start floor: 100 m³/h into a 50 m² well with one 200 m³/h duty pump needs three runs in 8 h', () => {
  // Stop 1 m to high alarm 3.5 m = 125 m³; the run starts at 1.5 m (25 m³ above stop). 800 m³ arrive and at
  // most 125 m³ may stay, so at least 700 m³ = 3.5 pump-hours are pumped. One run lasts at most 1.25 h (125 m³
  // at a net 100 m³/h), so two runs are too few, and three (3.75 h) are enough.
  const network = exampleNetwork({ stations: [{ id: 'A', areaM2: 50, pumpCount: 2, standbyPumps: 1, pumpM3h: 200, to: 'P' }], plants: [{ id: 'P', capacityM3h: 1000 }] });
  const floor = fixedSpeedStartFloor(network, { A: new Array<number>(32).fill(100) }, 15, 32);
  assert.deepEqual(floor.byStation, { A: 3 });
  assert.equal(floor.total, 3);
  assert.throws(() => fixedSpeedStartFloor(network, {}, 15, 32), /no local inflow series for station A/);
});

test('start floor in the normal band: the same station kept between 1.15 m and the 3.2 m ceiling needs five runs', () => {
  // Normal ceiling 3.5 − 0.1 × (4 − 1) = 3.2 m, floor 1 + 0.15 m: 102.5 m³, of which 17.5 m³ are filled at the
  // start (1.5 m). At most 85 m³ may stay, so at least 715 m³ = 15 pump quarter-hours (50 m³ each) are pumped.
  // Each quarter-hour moves the well by ±25 m³, so it holds 17.5 + 25·k m³: at most 92.5 m³ when a run starts,
  // and a run lasts at most 3 quarter-hours (92.5 → 17.5 m³). 15 quarter-hours need five runs. (Up to the
  // high alarm, 125 m³ above the stop level, a run lasts 5 quarter-hours: three runs, as above.)
  const network = exampleNetwork({ stations: [{ id: 'A', areaM2: 50, pumpCount: 2, standbyPumps: 1, pumpM3h: 200, to: 'P' }], plants: [{ id: 'P', capacityM3h: 1000 }] });
  const floor = fixedSpeedStartFloor(network, { A: new Array<number>(32).fill(100) }, 15, 32, { alarmMarginFraction: 0.1, floorMarginM: 0.15 });
  assert.deepEqual(floor.byStation, { A: 5 });
});

test('start floor at the 1-min step: the same normal band needs four runs when pumps may switch at any minute', () => {
  // As above, at least 715 m³ are pumped, but a run is no longer cut to whole quarter-hours: it may start at
  // the ceiling (102.5 m³) and run until the floor, 1.025 h at a net 100 m³/h, moving 205 m³. 715 / 205 = 3.5,
  // so four runs, and four are enough: fill 0.85 h, three full runs and fills, a half-hour run, a half-hour fill
  // (8 h). The 15-min floor above (five runs) is what the plan's step costs, not what the well allows.
  const network = exampleNetwork({ stations: [{ id: 'A', areaM2: 50, pumpCount: 2, standbyPumps: 1, pumpM3h: 200, to: 'P' }], plants: [{ id: 'P', capacityM3h: 1000 }] });
  const band = { alarmMarginFraction: 0.1, floorMarginM: 0.15 };
  assert.deepEqual(fixedSpeedStartFloor(network, { A: new Array<number>(480).fill(100) }, 1, 480, band).byStation, { A: 4 });
  // Up to the high alarm the quarter-hours cost nothing: three runs either way.
  assert.deepEqual(fixedSpeedStartFloor(network, { A: new Array<number>(480).fill(100) }, 1, 480).byStation, { A: 3 });
});

test('cost floor: a day of 50 m³/h pumped in the valley hours as far as the well allows', async () => {
  // 1,000 m² well from 1.5 m (1,500 m³); it must end there, so the day's 1,200 m³ are pumped. In the valley
  // (00–08 UTC, 0.3 CNY/kWh) the well can fall to the stop level (1,000 m³): 1,500 + 400 − 1,000 = 900 m³.
  // The other 300 m³ go at 1.0 CNY/kWh. At 0.1 kWh/m³: 900 × 0.03 + 300 × 0.1 = 57 CNY.
  const network = exampleNetwork({ stations: [{ id: 'A', areaM2: 1000, pumpCount: 1, pumpM3h: 200, to: 'P', specificEnergyKwhM3: 0.1 }], plants: [{ id: 'P', capacityM3h: 1000 }] });
  const floor = await perfectForesightCostFloor({
    network,
    startUtcMs: Date.UTC(2026, 6, 1),
    hours: 24,
    stepMin: 15,
    localInflowM3h: { A: new Array<number>(96).fill(50) },
    formulation: { reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 100, plantBalanceBand: 10 },
    timeLimitS: 30,
  });
  assert.equal(floor.status, 'optimal');
  // The energy priority is held to 0.01 CNY while smoothness is solved.
  assert.ok(Math.abs(floor.costCny! - 57) <= 0.011, `cost ${floor.costCny}`);
  assert.ok(Math.abs(floor.energyKwh! - 120) < 0.01, `energy ${floor.energyKwh}`);
  await assert.rejects(
    perfectForesightCostFloor({ network, startUtcMs: Date.UTC(2026, 6, 1), hours: 24, stepMin: 15, localInflowM3h: { A: [50] }, formulation: { reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 100, plantBalanceBand: 10 }, timeLimitS: 30 }),
    /inflow of A has 1 steps, the run needs 96/,
  );
});

test('cost floor with a VFD start budget: pump starts counted by their relaxation, and what the budget costs', async () => {
  // The station of the cost floor above on three 100 m³/h VFD pumps (none running at the start). Unbounded, it
  // pays 57 CNY (above). Every m³ of the day's 1,200 must be pumped, so some step pumps at least the mean
  // 50 m³/h: half a pump, half a start. Below that budget the well must overflow; at it the station pumps 50 m³/h
  // all day (any step above it would need more pump running, more starts): 400 m³ × 0.03 + 800 m³ × 0.1 = 92.
  const network = exampleNetwork({ stations: [{ id: 'A', areaM2: 1000, pumpCount: 3, pumpM3h: 100, kind: 'vfd', to: 'P', specificEnergyKwhM3: 0.1 }], plants: [{ id: 'P', capacityM3h: 1000 }] });
  const floor = (vfdStartBudget?: number) =>
    perfectForesightCostFloor({
      network,
      startUtcMs: Date.UTC(2026, 6, 1),
      hours: 24,
      stepMin: 15,
      localInflowM3h: { A: new Array<number>(96).fill(50) },
      formulation: { reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 100, plantBalanceBand: 10, cutoutMarginM: 0 },
      timeLimitS: 30,
      ...(vfdStartBudget === undefined ? {} : { vfdStartBudget }),
    });
  const free = await floor();
  assert.ok(Math.abs(free.costCny! - 57) <= 0.011, `cost ${free.costCny}`);
  assert.equal(free.overflowM3, 0);
  assert.equal(free.vfdStartsRelaxedByStation, undefined);
  // 45 m³/h at most: 120 m³ of the day spill (less what the well can keep: it must end where it began).
  const tooFew = await floor(0.45);
  assert.ok(Math.abs(tooFew.overflowM3! - 120) < 0.01, `overflow ${tooFew.overflowM3}`);
  const least = await floor(0.5);
  assert.equal(least.status, 'optimal');
  assert.ok(least.overflowM3! < 1e-6, `overflow ${least.overflowM3}`);
  assert.ok(Math.abs(least.costCny! - 92) <= 0.011, `cost ${least.costCny}`);
  assert.ok(least.vfdStartsRelaxedByStation!.A! <= 0.5 + 1e-6, `starts ${least.vfdStartsRelaxedByStation!.A}`);
  // In between: 0.8 of a pump at most, 80 m³/h through the valley (640 m³ at 0.03), the other 560 m³ at 0.1.
  const between = await floor(0.8);
  assert.ok(Math.abs(between.costCny! - 75.2) <= 0.011, `cost ${between.costCny}`);
  assert.ok(between.vfdStartsRelaxedByStation!.A! <= 0.8 + 1e-6);
});

test('cost at a start budget: the schedules found, their starts and whole-run cost, and the cheapest within the budget', async () => {
  // 100 m³/h for 8 h into the 50 m² well above, one 200 m³/h duty pump, 0.1 kWh/m³. At one price all day
  // (0.5 CNY/kWh) timing saves nothing, so any start cost gives the start floor: four runs in the normal band
  // at the minute (worked out above). The LP prices what was pumped, at 0.05 CNY/m³: the 800 m³ that came in,
  // less what the schedule leaves in the well above where it began (at most the 102.5 m³ band), or plus what
  // it takes out of the well down to the band's floor (equal in cost for the schedule, which takes the later
  // stop).
  const flat = exampleNetwork({
    stations: [{ id: 'A', areaM2: 50, pumpCount: 2, standbyPumps: 1, pumpM3h: 200, to: 'P', specificEnergyKwhM3: 0.1 }],
    plants: [{ id: 'P', capacityM3h: 1000 }],
    tariff: { periods: [{ name: 'flat', priceCnyPerKwh: 0.5, ranges: [{ from: '00:00', to: '24:00' }] }] },
  });
  const common = {
    startUtcMs: Date.UTC(2026, 6, 1),
    hours: 8,
    localInflowByMinuteM3h: { A: new Array<number>(480).fill(100) },
    localInflowM3h: { A: new Array<number>(32).fill(100) },
    lpStepMin: 15,
    band: { alarmMarginFraction: 0.1, floorMarginM: 0.15 },
    formulation: { reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 100, plantBalanceBand: 10 },
    timeLimitS: 30,
  };
  const enough = await startBudgetCost({ ...common, network: flat, budgetStarts: 4, pointStartCostsCny: [5] });
  assert.equal(enough.points[0]!.status, 'optimal');
  assert.equal(enough.points[0]!.fixedSpeedStarts, 4);
  assert.equal(enough.bestWithinBudget?.fixedSpeedStarts, 4);
  const cost = enough.bestWithinBudget.costCny!;
  const well = fixedSpeedWell(flat.stations[0]!, common.band);
  assert.ok(cost <= 40 + 0.05 * (well.initialVolumeM3 - well.minVolumeM3) + 1e-6 && cost >= 40 - 0.05 * 102.5, `cost ${cost}`);
  // Three starts cannot carry the water: nothing within that budget.
  const tooFew = await startBudgetCost({ ...common, network: flat, budgetStarts: 3, pointStartCostsCny: [5] });
  assert.equal(tooFew.bestWithinBudget, null);

  // With the default tariff of the example network (0.3 CNY/kWh 00–08, 1.0 after), from 04:00: the cheap hours
  // end half-way. A start costing nothing lets the pump run in short bursts before 08:00 and fill the well for
  // the dear hours; each dearer start costs no fewer starts and no less money.
  const tou = exampleNetwork({
    stations: [{ id: 'A', areaM2: 50, pumpCount: 2, standbyPumps: 1, pumpM3h: 200, to: 'P', specificEnergyKwhM3: 0.1 }],
    plants: [{ id: 'P', capacityM3h: 1000 }],
  });
  const grid = await startBudgetCost({ ...common, network: tou, startUtcMs: Date.UTC(2026, 6, 1, 4), budgetStarts: 1000, pointStartCostsCny: [0, 1, 1000] });
  const [free, cheap, dear] = grid.points;
  assert.ok(free!.fixedSpeedStarts >= cheap!.fixedSpeedStarts && cheap!.fixedSpeedStarts >= dear!.fixedSpeedStarts, grid.points.map((p) => p.fixedSpeedStarts).join(','));
  assert.ok(free!.fixedSpeedStarts > dear!.fixedSpeedStarts, 'a dear start makes fewer starts');
  assert.equal(dear!.fixedSpeedStarts, 4);
  assert.ok(free!.costCny! < dear!.costCny!, `cost ${free!.costCny} with free starts, ${dear!.costCny} with dear ones`);
  assert.equal(grid.bestWithinBudget, free);
});
