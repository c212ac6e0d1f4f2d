// The optimisation model on small networks whose optimum can be worked out by hand, the LP text export,
// the solver adapter's status handling, and the pure helpers (time grid, inflow, wet-well geometry).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import highsPackage from 'highs';
import type { Highs } from 'highs';
import type { NetworkConfig } from '../../network/schema.js';
import { exampleNetwork } from '../../planner/examples.js';
import { buildTimeGrid, formulate, readSolution, volumeLeftM3, type Formulation, type FormulationOptions, type GridOptions, type InitialState, type InitialStation, type OutflowHistory, type ScenarioResult } from '../../planner/formulation.js';
import { dryWeatherByNode, meanOverWindow, rdiiFromRain } from '../../planner/inflow.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { LpBuilder, objectiveValue, rowActivities, toCplexLp } from '../../planner/lp.js';
import { solveLexicographic, type LexicographicResult } from '../../planner/solver.js';
import { levelAtVolume, normalCeilingM, volumeAtLevel } from '../../planner/wet-well.js';

const HOUR = 3_600_000;
// highs runs as ESM (default export = loader) but its types describe CommonJS (default = module): accept both.
type Loader = () => Promise<Highs>;
const loadHighs: Loader = (highsPackage as unknown as { default?: Loader }).default ?? (highsPackage as unknown as Loader);
const noon = Date.UTC(2026, 6, 1, 12, 0);

interface Case {
  network: NetworkConfig;
  nowUtcMs: number;
  grid: GridOptions;
  /** Inflow m³/h of a node over [fromUtcMs, toUtcMs). */
  inflow: (nodeId: string, fromUtcMs: number, toUtcMs: number) => number;
  levelM: Record<string, number>;
  /** Initial state per station beyond its level (pumped flow now, recent outflow). */
  initial?: Record<string, Partial<InitialStation>>;
  /** Transfer over the recent past per interconnection (signed, positive a→b). */
  transferHistory?: Map<string, OutflowHistory>;
  options?: Partial<FormulationOptions>;
}

async function solveCase(c: Case): Promise<{ f: Formulation; result: LexicographicResult; r: ScenarioResult }> {
  const grid = buildTimeGrid(c.nowUtcMs, c.grid);
  const nodes = [...c.network.stations.map((s) => s.id), ...c.network.plants.map((p) => p.id), ...c.network.tanks.map((t) => t.id)];
  const inflowM3h = new Map(nodes.map((id) => [id, grid.durationH.map((_, k) => c.inflow(id, grid.boundariesUtcMs[k]!, grid.boundariesUtcMs[k + 1]!))]));
  const f = formulate({
    network: c.network,
    grid,
    scenarios: [{ id: 'deterministic', weight: 1, inflowM3h }],
    initial: {
      stations: new Map(c.network.stations.map((s) => [s.id, { levelM: c.levelM[s.id] ?? 1, pumpsAvailable: s.pumps.length, outflowM3h: 0, flowSetpointM3h: null, locked: false, ...c.initial?.[s.id] }])),
      tanks: new Map(),
      transfers: new Map(),
      ...(c.transferHistory ? { transferHistory: c.transferHistory } : {}),
    },
    constraints: {},
    options: {
      sharedSteps: 1,
      robustness: 'expected',
      reserveLookAheadH: 6,
      alarmMarginFraction: 0.1,
      plantRampFractionPerH: 0.15,
      plantBalanceBand: 0.1,
      overflowHarm: {},
      relaxed: false,
      economy: 'nominal',
      ...c.options,
    },
  });
  const result = await solveLexicographic(f.problem, { timeLimitS: 20 });
  assert.equal(result.status, 'optimal', result.error);
  return { f, result, r: readSolution(f, result.colValue!)[0]! };
}

/**
 * The reference network formulated for 24 h from noon on its dry-weather flow, with `wetFactor` times that flow
 * from the fourth hour on at the stations `wetAt` picks (wet-weather excess ahead of them).
 */
async function referenceDay(wetAt: (stationId: string) => boolean, wetFactor: number, options: Partial<FormulationOptions>, tanks: InitialState['tanks'] = new Map()) {
  const network = await loadNetworkFile(referenceNetworkPath);
  const grid = buildTimeGrid(noon, { fineStepMin: 15, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 });
  const dry = dryWeatherByNode(network, grid.boundariesUtcMs);
  const inflowM3h = new Map([...dry].map(([id, q]) => [id, q.map((v, k) => (wetAt(id) && grid.offsetH[k]! >= 4 ? v * wetFactor : v))]));
  const f = formulate({
    network,
    grid,
    scenarios: [{ id: 'deterministic', weight: 1, inflowM3h }],
    initial: { stations: new Map(network.stations.map((s) => [s.id, { levelM: s.levels.pumpStartM, pumpsAvailable: s.pumps.length, outflowM3h: 0, flowSetpointM3h: null, locked: false }])), tanks, transfers: new Map() },
    constraints: {},
    options: { sharedSteps: 1, robustness: 'expected', reserveLookAheadH: 12, alarmMarginFraction: 0.1, plantRampFractionPerH: 0.15, plantBalanceBand: 0.2, overflowHarm: {}, relaxed: false, economy: 'nominal', ...options },
  });
  return { grid, f };
}

/** Two stations in a chain with wells too small to store anything (S1 → 40-min main → S2 → P1): what arrives passes on at once. */
const chainNetwork = () =>
  exampleNetwork({
    stations: [
      { id: 'S1', areaM2: 0.1, pumpCount: 1, pumpM3h: 300, to: 'S2', travelMin: 40 },
      { id: 'S2', areaM2: 0.1, pumpCount: 1, pumpM3h: 300, to: 'P1' },
    ],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
  });

const volumeOf = (values: number[], f: Formulation, where: (k: number) => boolean = () => true) =>
  values.reduce((sum, q, k) => sum + (where(k) ? q * f.grid.durationH[k]! : 0), 0);

test('time grid: fine steps from now, a short first step merged, coarse steps from a round hour', () => {
  const options = { fineStepMin: 15, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 };
  const grid = buildTimeGrid(Date.UTC(2026, 6, 1, 2, 7), options);
  const b = grid.boundariesUtcMs;
  assert.equal(b[0], Date.UTC(2026, 6, 1, 2, 7));
  assert.equal(b[1], Date.UTC(2026, 6, 1, 2, 15), 'an 8-minute first step is kept (a third of a step or more)');
  const firstCoarse = grid.durationH.findIndex((h) => h === 1);
  assert.equal(b[firstCoarse], Date.UTC(2026, 6, 1, 9, 0), 'coarse steps start on the first round hour after 6 h');
  assert.ok(grid.durationH.slice(1, firstCoarse).every((h) => h === 0.25), 'fine steps of 15 minutes');
  assert.ok(grid.durationH.slice(firstCoarse).every((h) => h === 1), 'coarse steps of 60 minutes');
  assert.equal(b[b.length - 1], Date.UTC(2026, 6, 2, 3, 0), 'the horizon is covered to the next whole step');
  assert.equal(grid.durationH.length, 1 + 27 + 18);
  const merged = buildTimeGrid(Date.UTC(2026, 6, 1, 2, 12), options);
  assert.equal(merged.boundariesUtcMs[1], Date.UTC(2026, 6, 1, 2, 30), 'a 3-minute stub before 02:15 is merged into the first step');
  assert.equal(merged.durationH.length, 1 + 26 + 18);
});

test('single station: storage moves pumping into valley hours exactly as far as the well allows', async () => {
  // Duty 100 m³/h, inflow 50 m³/h, 100 m² well (stop 1 m, normal ceiling 3.2 m), valley 00–08 at 0.3, flat at 1.0.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }] });
  const { f, r } = await solveCase({ network, nowUtcMs: noon, grid: { fineStepMin: 60, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 }, inflow: (id) => (id === 'S1' ? 50 : 0), levelM: { S1: 2 } });
  const s1 = r.stations.get('S1')!;
  const valley = (k: number) => f.priceCnyPerKwh[k]! < 0.5;
  // By hand: fill to the ceiling (320 m³) before midnight, pump down to the stop level (100 m³) in the valley,
  // then store the morning's inflow rather than pump it at the flat price (the stored water is worth the mean price).
  assert.ok(Math.abs(volumeOf(s1.pumpedM3h, f, (k) => !valley(k)) - 480) < 1, `flat-hour pumping ${volumeOf(s1.pumpedM3h, f, (k) => !valley(k))}`);
  assert.ok(Math.abs(volumeOf(s1.pumpedM3h, f, valley) - 620) < 1, `valley pumping ${volumeOf(s1.pumpedM3h, f, valley)}`);
  const midnight = f.grid.boundariesUtcMs.indexOf(Date.UTC(2026, 6, 2, 0, 0));
  assert.ok(Math.abs(s1.volumeM3[midnight - 1]! - 320) < 0.5, 'full to the normal ceiling at midnight');
  const endLevelM = levelAtVolume(network.stations[0]!.wetWell, s1.volumeM3[s1.volumeM3.length - 1]!);
  assert.ok(Math.abs(endLevelM - 3) < 0.01, `the morning's 200 m³ stay in the well: end level ${endLevelM}`);
  assert.ok(volumeOf(s1.overflowM3h, f) < 1e-6 && volumeOf(s1.standbyM3h, f) < 1e-6, 'no overflow, no standby pump');
});

test('plant steadiness: a band around a steady level holds the daily swing that the tariff and ramp limits allow', async () => {
  // The well of the test above, its pumps feeding a 200 m³/h plant: cheap valley pumping swings the plant's inflow
  // by about the pump's 100 m³/h (the ramp rows only slow it to 30 m³/h per hour); within ±10 % of capacity
  // (±20 m³/h) of one level, the swing stays under 40 m³/h — the well can hold what it does not pump.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 200 }] });
  const swing = async (options: Partial<FormulationOptions>) => {
    const { result, r } = await solveCase({ network, nowUtcMs: noon, grid: { fineStepMin: 60, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 }, inflow: (id) => (id === 'S1' ? 50 : 0), levelM: { S1: 2 }, options });
    const inflow = r.plants.get('P1')!.inflowM3h;
    return { swingM3h: Math.max(...inflow) - Math.min(...inflow), plant: result.stats.priorities.find((p) => p.name === 'plant')!.objective! };
  };
  const free = await swing({});
  const banded = await swing({ plantDeviationBand: 0.1 });
  assert.ok(free.swingM3h > 80, `without the band the valley pumping swings the plant by ${free.swingM3h} m³/h`);
  assert.ok(banded.swingM3h <= 40 + 1e-6, `with the band the swing is ${banded.swingM3h} m³/h`);
  assert.ok(Math.abs(banded.plant) < 1e-6, `the band can be kept, so it costs no steadiness (${banded.plant})`);
});

test('plant steadiness: the steady level is chosen per day, so a day of more flow is not unsteady', async () => {
  // No storage (what arrives passes on), 100 m³/h on the first day and 240 on the second, a 1,000 m³/h plant
  // and a ±5 % band: one level for both days would leave 40 m³/h outside it all along, a level per day none.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 0.1, pumpCount: 1, pumpM3h: 300, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }] });
  const { result, r } = await solveCase({
    network,
    nowUtcMs: Date.UTC(2026, 6, 1, 0, 0),
    grid: { fineStepMin: 60, fineHorizonH: 6, coarseStepMin: 60, horizonH: 48 },
    inflow: (id, from) => (id === 'S1' ? (from < Date.UTC(2026, 6, 2, 0, 0) ? 100 : 240) : 0),
    levelM: { S1: 1 },
    options: { plantDeviationBand: 0.05 },
  });
  const inflow = r.plants.get('P1')!.inflowM3h;
  assert.ok(Math.abs(inflow[30]! - 240) < 1 && Math.abs(inflow[10]! - 100) < 1, 'the plant takes what arrives');
  assert.ok(Math.abs(result.stats.priorities.find((p) => p.name === 'plant')!.objective!) < 1e-6, 'each day within its own band');
});

test('plant steadiness band: in dry weather only, not with rain ahead of any station', async () => {
  // Three times E1's dry-weather flow from the fourth hour on, when wetAtE1 is 3: wet-weather excess ahead.
  const levelColumns = async (wetAtE1: number) => {
    const { f } = await referenceDay((id) => id === 'E1', wetAtE1, { plantDeviationBand: 0.15 });
    return f.problem.colNames.filter((n) => n.startsWith('plantLevel')).length;
  };
  assert.equal(await levelColumns(1), 2, 'dry weather: a steady level per plant for the day');
  assert.equal(await levelColumns(3), 0, 'rain ahead at E1: no band');
});

test('VFD starts priced: a dear start keeps the pumps running now, a free one lets the well empty faster before the dear hours', async () => {
  // Three 100 m³/h VFD pumps, 400 m² well at 2 m (800 m³; flow control plans no lower than 1.3 m, 520 m³),
  // inflow 50 m³/h, 06:00 in the valley (0.3 CNY/kWh until 08:00, then 1.0). Draining 280 m³ + the inflow before
  // 08:00 takes 190 m³/h: two pumps. At ¥10,000 a start, the fine steps keep to the pumps running now.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 400, pumpCount: 3, pumpM3h: 100, kind: 'vfd', to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }] });
  const run = (pumpsRunning: number, vfdStartCostCny: number) =>
    solveCase({
      network,
      nowUtcMs: Date.UTC(2026, 6, 1, 6, 0),
      grid: { fineStepMin: 15, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 },
      inflow: (id) => (id === 'S1' ? 50 : 0),
      levelM: { S1: 2 },
      initial: { S1: { outflowM3h: 50, pumpsRunning } },
      options: { vfdStartCostCny, plantRampFractionPerH: 100 },
    });
  const fineMaxM3h = ({ f, r }: Awaited<ReturnType<typeof run>>) => Math.max(...r.stations.get('S1')!.pumpedM3h.filter((_, k) => f.grid.durationH[k]! < 0.5));
  const free = await run(1, 0);
  assert.ok(fineMaxM3h(free) > 150, `free starts: ${fineMaxM3h(free)} m³/h at most`);
  assert.equal(free.f.stations[0]!.vfdStarts, null);
  const oneRunning = await run(1, 10_000);
  assert.ok(fineMaxM3h(oneRunning) <= 100 + 1e-6, `one pump running, dear starts: ${fineMaxM3h(oneRunning)} m³/h at most`);
  const twoRunning = await run(2, 10_000);
  assert.ok(fineMaxM3h(twoRunning) > 150 && fineMaxM3h(twoRunning) <= 200 + 1e-6, `two pumps running, dear starts: ${fineMaxM3h(twoRunning)} m³/h at most`);
  // Counted over the fine steps only.
  const counted = twoRunning.f.stations[0]!.vfdStarts![0]!;
  assert.deepEqual(counted.map((col) => col >= 0), twoRunning.f.grid.durationH.map((d) => d < 0.5));
});

test('two-station chain: flow arrives after the travel time, interpolated over the steps it overlaps', async () => {
  // Wells too small to store anything: S1 passes a 1-hour pulse on at once; the 40-minute main spreads it over 15-minute steps.
  const network = chainNetwork();
  const midnight = Date.UTC(2026, 6, 1, 0, 0);
  const inflow = (id: string, from: number, to: number) => (id === 'S1' ? (120 * Math.max(0, Math.min(to, midnight + 2 * HOUR) - Math.max(from, midnight + HOUR))) / (to - from) : 0);
  const { f, r } = await solveCase({ network, nowUtcMs: midnight, grid: { fineStepMin: 15, fineHorizonH: 4, coarseStepMin: 60, horizonH: 4 }, inflow, levelM: {} });
  const plant = r.plants.get('P1')!.inflowM3h;
  const expected = f.grid.durationH.map((_, k) => {
    // The pulse left S1 during [60, 120) min and reaches S2 (and the plant) during [100, 160) min.
    const from = f.grid.offsetH[k]! * 60;
    const to = f.grid.offsetH[k + 1]! * 60;
    return (120 * Math.max(0, Math.min(to, 160) - Math.max(from, 100))) / (to - from);
  });
  assert.deepEqual(
    expected.map((v) => Math.round(v)),
    [0, 0, 0, 0, 0, 0, 40, 120, 120, 120, 80, 0, 0, 0, 0, 0],
  );
  plant.forEach((q, k) => assert.ok(Math.abs(q - expected[k]!) < 2, `step ${k}: plant inflow ${q.toFixed(2)} vs ${expected[k]!.toFixed(2)}`));
  assert.ok(Math.abs(volumeOf(plant, f) - 120) < 0.5, `plant volume ${volumeOf(plant, f)}`);
});

test('water in a main arrives as it left: from the recent outflow, not the flow now held over the travel time', async () => {
  // S1 pumped 300 m³/h from 30 to 10 minutes ago and is stopped now. Its 40-minute main delivers that pulse to
  // S2 (a well too small to store) during [10, 30) min from now: 100 m³/h over the first 15-min step (5 of its
  // minutes), 300 over the second, then nothing: 100 m³ in all. Taking the flow now (0) as the main's content
  // would deliver nothing.
  const network = chainNetwork();
  const history = { stepMin: 1, valuesM3h: Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 50 ? 300 : 0)) };
  const grid = { fineStepMin: 15, fineHorizonH: 2, coarseStepMin: 60, horizonH: 2 };
  const withHistory = await solveCase({ network, nowUtcMs: noon, grid, inflow: () => 0, levelM: {}, initial: { S1: { outflowM3h: 0, recentOutflowM3h: history } } });
  const plant = withHistory.r.plants.get('P1')!.inflowM3h;
  [100, 300, 0, 0].forEach((q, k) => assert.ok(Math.abs(plant[k]! - q) < 2, `step ${k}: plant inflow ${plant[k]!.toFixed(2)} vs ${q}`));
  assert.ok(Math.abs(volumeOf(plant, withHistory.f) - 100) < 0.5, `plant volume ${volumeOf(plant, withHistory.f)}`);
  const flowNowOnly = await solveCase({ network, nowUtcMs: noon, grid, inflow: () => 0, levelM: {}, initial: { S1: { outflowM3h: 0 } } });
  assert.ok(volumeOf(flowNowOnly.r.plants.get('P1')!.inflowM3h, flowNowOnly.f) < 0.5, 'without a history the stopped pump sends nothing');
});

test('water crossing an interconnection arrives as it was sent: a reversal within the travel time is not lost', async () => {
  // B sent 300 m³/h across to A from 30 to 10 minutes ago (negative: b→a) and sends nothing now. The 40-minute
  // link delivers that pulse to A (a well too small to store, passing it to plant PA) during [10, 30) min from
  // now: 100 m³/h over the first 15-min step, 300 over the second, 100 m³ in all; none of it reaches PB. With
  // the transfer now (0) taken as what is travelling, nothing would arrive.
  const network = exampleNetwork({
    stations: [
      { id: 'A', areaM2: 0.1, pumpCount: 1, pumpM3h: 300, to: 'PA' },
      { id: 'B', areaM2: 0.1, pumpCount: 1, pumpM3h: 300, to: 'PB' },
    ],
    plants: [
      { id: 'PA', capacityM3h: 1000 },
      { id: 'PB', capacityM3h: 1000 },
    ],
    interconnections: [{ id: 'X', a: 'A', b: 'B', capacityM3h: 300, travelMin: 40 }],
  });
  const history = { stepMin: 1, valuesM3h: Array.from({ length: 60 }, (_, i) => (i >= 30 && i < 50 ? -300 : 0)) };
  const grid = { fineStepMin: 15, fineHorizonH: 2, coarseStepMin: 60, horizonH: 2 };
  // No plant ramps or balance: they would send part of the pulse back across to smooth and even the plants.
  const options = { plantBalanceBand: 1, plantRampFractionPerH: 10 };
  const withHistory = await solveCase({ network, nowUtcMs: noon, grid, inflow: () => 0, levelM: {}, transferHistory: new Map([['X', history]]), options });
  const pa = withHistory.r.plants.get('PA')!.inflowM3h;
  [100, 300, 0, 0].forEach((q, k) => assert.ok(Math.abs(pa[k]! - q) < 2, `step ${k}: PA inflow ${pa[k]!.toFixed(2)} vs ${q}`));
  assert.ok(volumeOf(withHistory.r.plants.get('PB')!.inflowM3h, withHistory.f) < 0.5, 'the a→b direction carried nothing');
  const flowNowOnly = await solveCase({ network, nowUtcMs: noon, grid, inflow: () => 0, levelM: {}, options });
  assert.ok(volumeOf(flowNowOnly.r.plants.get('PA')!.inflowM3h, flowNowOnly.f) < 0.5, 'without a history the stopped transfer sends nothing');
});

test('volume left in the past: the history where it reaches, its oldest value before, the flow now without one', () => {
  const history = { stepMin: 5, valuesM3h: [60, 120, 0] }; // [-15, -10) 60, [-10, -5) 120, [-5, 0) 0
  const near = (actual: number, expected: number, what: string) => assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} vs ${expected}`);
  near(volumeLeftM3(30, history, -10 / 60, -5 / 60), 10, 'one whole step');
  near(volumeLeftM3(30, history, -12 / 60, -4 / 60), 2 + 10, 'parts of two steps');
  near(volumeLeftM3(30, history, -25 / 60, -15 / 60), 10, 'before the history: its oldest value');
  near(volumeLeftM3(30, history, -5 / 60, 1), 0, 'only the past counts');
  near(volumeLeftM3(30, undefined, -1, -0.5), 15, 'no history: the flow now');
});

test('plant capacity forces storage: the plant never exceeds capacity, the well holds the excess', async () => {
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 150, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 100 }] });
  const start = Date.UTC(2026, 6, 1, 0, 0);
  const inflow = (id: string, from: number) => (id !== 'S1' ? 0 : from < start + 4 * HOUR ? 150 : 20);
  const { f, r } = await solveCase({ network, nowUtcMs: start, grid: { fineStepMin: 60, fineHorizonH: 12, coarseStepMin: 60, horizonH: 12 }, inflow, levelM: { S1: 1 } });
  const plant = r.plants.get('P1')!;
  assert.ok(Math.max(...plant.inflowM3h) <= 100 + 1e-6, `plant peak ${Math.max(...plant.inflowM3h)}`);
  assert.ok(volumeOf(plant.bypassM3h, f) < 1e-6 && volumeOf(r.stations.get('S1')!.overflowM3h, f) < 1e-6, 'no bypass, no overflow');
  // 4 h × (150 − 100) m³/h = 200 m³ must be in the well after hour 4: level ≥ 1 + 200/100 = 3 m.
  assert.ok(r.stations.get('S1')!.volumeM3[3]! >= 300 - 0.5, `volume after hour 4: ${r.stations.get('S1')!.volumeM3[3]}`);
});

test('priorities are ordered: avoiding overflow comes before plant capacity, which comes before reserve', async () => {
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 150, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 100 }] });
  const start = Date.UTC(2026, 6, 1, 0, 0);
  // 8 h × 50 m³/h above plant capacity = 400 m³, but the well holds only 300 m³ up to the overflow level.
  const inflow = (id: string, from: number) => (id !== 'S1' ? 0 : from < start + 8 * HOUR ? 150 : 0);
  const { f, r } = await solveCase({ network, nowUtcMs: start, grid: { fineStepMin: 60, fineHorizonH: 12, coarseStepMin: 60, horizonH: 12 }, inflow, levelM: { S1: 1 } });
  assert.ok(volumeOf(r.stations.get('S1')!.overflowM3h, f) < 0.5, 'no overflow');
  assert.ok(Math.abs(volumeOf(r.plants.get('P1')!.bypassM3h, f) - 100) < 1, `bypass ${volumeOf(r.plants.get('P1')!.bypassM3h, f)}`);
  assert.ok(Math.abs(Math.max(...r.stations.get('S1')!.volumeM3) - 400) < 0.5, 'the well is used up to the overflow level, above the normal ceiling');
});

test('the LP text export is the same model: HiGHS solves it to the objective the adapter found', async () => {
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 100, pumpCount: 2, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }] });
  const { f, result } = await solveCase({ network, nowUtcMs: noon, grid: { fineStepMin: 60, fineHorizonH: 6, coarseStepMin: 60, horizonH: 24 }, inflow: (id) => (id === 'S1' ? 50 : 0), levelM: { S1: 2 } });
  const highs = await loadHighs();
  const energyIndex = f.problem.objectives.findIndex((o) => o.name === 'energy');
  const earlier = result.stats.priorities.slice(0, energyIndex).map((p) => p.objective!);
  const text = toCplexLp(f.problem, energyIndex, earlier);
  assert.match(text, /^Minimize/m);
  const solved = highs.solve(text, { output_flag: false });
  assert.equal(solved.Status, 'Optimal');
  const adapterEnergy = result.stats.priorities[energyIndex]!.objective!;
  // Text and adapter differ only in how zero optima are held: a row with tolerance (a slight relaxation)
  // instead of pinned bounds, so the text model may do a little better, never worse.
  assert.ok(solved.ObjectiveValue <= adapterEnergy + 1e-6 && solved.ObjectiveValue >= adapterEnergy * 0.995, `${solved.ObjectiveValue} vs ${adapterEnergy}`);
  // The adapter's solution satisfies every row of the model.
  const activity = rowActivities(f.problem, result.colValue!);
  for (let i = 0; i < f.problem.numRows; i++) {
    assert.ok(activity[i]! >= f.problem.rowLower[i]! - 1e-5 && activity[i]! <= f.problem.rowUpper[i]! + 1e-5, `row ${f.problem.rowNames[i]}`);
  }
  // Lower priorities may spend the energy tolerance (0.01 CNY absolute), no more.
  const finalEnergy = objectiveValue(f.problem.objectives[energyIndex]!, result.colValue!);
  assert.ok(finalEnergy >= adapterEnergy - 1e-6 && finalEnergy <= adapterEnergy + 0.01 + 1e-6, `final energy ${finalEnergy} vs optimum ${adapterEnergy}`);
});

test('solver adapter: an infeasible model is reported as such, a time limit stops the worker', async () => {
  const lp = new LpBuilder();
  const x = lp.addCol('x', 0, 10);
  lp.addRow('impossible', [[x, 1]], 20, 30);
  lp.addObjective('min-x', 0, 0)(x, 1);
  const infeasible = await solveLexicographic(lp.build(), { timeLimitS: 5 });
  assert.equal(infeasible.status, 'infeasible');
  assert.equal(infeasible.completed, 0);
  assert.equal(infeasible.colValue, null);
  assert.equal(infeasible.stats.priorities[0]?.status, 'infeasible');

  // A chain of 200 stations over 48 steps cannot be solved in 50 ms: the hard kill ends the worker.
  const stations = Array.from({ length: 200 }, (_, i) => ({ id: `S${i}`, areaM2: 50, pumpCount: 2, pumpM3h: 100, to: i === 199 ? 'P1' : `S${i + 1}`, travelMin: 20 }));
  const big = exampleNetwork({ stations, plants: [{ id: 'P1', capacityM3h: 500 }] });
  const grid = buildTimeGrid(noon, { fineStepMin: 60, fineHorizonH: 48, coarseStepMin: 60, horizonH: 48 });
  const f = formulate({
    network: big,
    grid,
    scenarios: [{ id: 'd', weight: 1, inflowM3h: new Map(stations.map((s) => [s.id, grid.durationH.map(() => 30)])) }],
    initial: { stations: new Map(), tanks: new Map(), transfers: new Map() },
    constraints: {},
    options: { sharedSteps: 1, robustness: 'expected', reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 0.15, plantBalanceBand: 0.1, overflowHarm: {}, relaxed: false, economy: 'nominal' },
  });
  const started = performance.now();
  const stopped = await solveLexicographic(f.problem, { timeLimitS: 0.05, hardKillGraceMs: 0 });
  assert.ok(['killed', 'time-limit'].includes(stopped.status), stopped.status);
  assert.ok(performance.now() - started < 3000, 'the adapter returns promptly after its limit');
});

test('helpers: RTK conserves rain volume, series are averaged over windows, table wells invert', () => {
  const catchment = {
    id: 'C1',
    node: 'S1',
    location: { latDeg: 30, lonDeg: 120 },
    areaHa: 100,
    dwf: { meanM3d: 0, pattern: 'x' },
    groundwaterM3h: 0,
    rdii: { initialAbstractionMm: 2, triangles: [{ r: 0.02, tH: 1.5, k: 1.5 }, { r: 0.01, tH: 5, k: 2.5 }] },
  };
  const rain = Array.from({ length: 4 * 48 }, (_, i) => (i < 8 ? 2.5 : 0)); // 20 mm in 2 h, 15-minute steps
  const rdii = rdiiFromRain(catchment, rain, 15);
  const volumeM3 = rdii.reduce((a, q) => a + q * 0.25, 0);
  const expectedM3 = (0.02 + 0.01) * ((20 - 2) / 1000) * 100 * 10_000;
  assert.ok(Math.abs(volumeM3 - expectedM3) / expectedM3 < 0.01, `${volumeM3} vs ${expectedM3}`);
  assert.ok(rdiiFromRain(catchment, [1, 0.9, 0, 0, 0, 0], 15).every((q) => q === 0), 'rain within the initial abstraction gives no RDII');
  assert.ok(rdiiFromRain(catchment, rain.map((v) => v * 2), 15).every((q, i) => q >= rdii[i]! - 1e-9), 'more rain, more RDII');

  const t0 = Date.UTC(2026, 0, 1);
  assert.equal(meanOverWindow([10, 20, 30], t0, 60, t0 + 30 * 60_000, t0 + 90 * 60_000), 15);
  assert.equal(meanOverWindow([10, 20, 30], t0, 60, t0 - HOUR, t0), 10, 'before the series: first value held');
  assert.equal(meanOverWindow([10, 20, 30], t0, 60, t0 + 5 * HOUR, t0 + 6 * HOUR), 30, 'after the series: last value held');

  const table = { kind: 'table' as const, points: [{ levelM: 0, volumeM3: 0 }, { levelM: 1, volumeM3: 50 }, { levelM: 4, volumeM3: 350 }] };
  for (const level of [0, 0.5, 1, 2.5, 4]) assert.ok(Math.abs(levelAtVolume(table, volumeAtLevel(table, level)) - level) < 1e-9, `level ${level}`);
  assert.equal(volumeAtLevel(table, 2), 150);
});

test('tank turnover: in dry weather the tank holds at the end of the window no more than its outlet cannot move; not with rain ahead', async () => {
  const turnoverRows = async (wet: number, tankTurnoverH: number | undefined) => {
    // `wet` times every east station's dry-weather flow from the fourth hour on: wet-weather excess upstream of T1.
    const { f, grid } = await referenceDay((id) => id.startsWith('E'), wet, tankTurnoverH === undefined ? {} : { tankTurnoverH }, new Map([['T1', { volumeM3: 20_000, inletM3h: 0, outletM3h: 0 }]]));
    const columnsOf = (r: number) => [...f.problem.indices.subarray(f.problem.starts[r], f.problem.starts[r + 1])].map((c) => f.problem.colNames[c]!);
    return f.problem.rowNames.flatMap((name, r) => (name.startsWith('turnover.') ? [{ name, upper: f.problem.rowUpper[r]!, volume: columnsOf(r).find((c) => c.startsWith('VT.')), steps: grid.durationH.length }] : []));
  };
  // 20,000 m³ less 800 m³/h × 24 h: 800 m³ may be left at the end of the 24th hour (the last step).
  const day = await turnoverRows(1, 24);
  assert.deepEqual(day.map((r) => [r.name, r.upper]), [['turnover.T1.0', 800]]);
  assert.equal(day[0]!.volume, `VT.T1.0.${day[0]!.steps - 1}`, 'the volume at the end of the last step');
  // Over 12 h the outlet moves 9,600 m³.
  assert.deepEqual((await turnoverRows(1, 12)).map((r) => r.upper), [10_400]);
  assert.equal((await turnoverRows(1, undefined)).length, 0, 'not asked for');
  assert.equal((await turnoverRows(3, 24)).length, 0, 'rain ahead upstream of T1: the reserve rows decide');
});

test('the fixed-speed wells\' own alarm margin holds in dry weather only: a well with rain ahead keeps the standard margin', async () => {
  // Three times W2's dry-weather flow from the fourth hour on, when wetAtW2 is 3: wet-weather excess at W2 only.
  const headroomM3 = async (wetAtW2: number) => {
    const { f } = await referenceDay((id) => id === 'W2', wetAtW2, { fixedSpeedAlarmMarginFraction: 0.04 });
    return (id: string) => f.stations.find((s) => s.station.id === id)!.headroomVolumeM3;
  };
  const network = await loadNetworkFile(referenceNetworkPath);
  const volumeAtCeiling = (id: string, margin: number) => {
    const station = network.stations.find((s) => s.id === id)!;
    return volumeAtLevel(station.wetWell, normalCeilingM(station.levels, margin));
  };
  const dryPlan = await headroomM3(1);
  const wetPlan = await headroomM3(3);
  // W2 (all fixed-speed): 3.38 m in dry weather, 3.2 m (the standard 0.1 of its 3 m working depth) with rain ahead.
  assert.ok(Math.abs(dryPlan('W2') - volumeAtCeiling('W2', 0.04)) < 1e-6, `W2 dry: ${dryPlan('W2')} m³`);
  assert.ok(Math.abs(wetPlan('W2') - volumeAtCeiling('W2', 0.1)) < 1e-6, `W2 with rain ahead: ${wetPlan('W2')} m³`);
  assert.ok(wetPlan('W2') < dryPlan('W2'));
  // W1, dry in both, keeps the fixed-speed margin; W3 (VFD) the standard one in both.
  assert.ok(Math.abs(wetPlan('W1') - volumeAtCeiling('W1', 0.04)) < 1e-6, `W1: ${wetPlan('W1')} m³`);
  assert.ok(Math.abs(dryPlan('W3') - volumeAtCeiling('W3', 0.1)) < 1e-6, `W3: ${dryPlan('W3')} m³`);
});
