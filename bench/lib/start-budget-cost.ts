// What the dry week costs when the fixed-speed stations keep to a start budget: the two dry-week targets together.
//
// The cost floor (cost-floor.ts) ignores starts and the start floor (start-floor.ts) ignores cost. This puts
// them together with the true inflow known in advance: every fixed-speed station on a whole-pump schedule at
// the 1-min step (upstream first, each fed by what the stations above it pump), priced at the tariff of its
// own energy and of the energy its water meets at the stations downstream when it gets there, for a grid of
// start costs; then the cost floor's LP, with those flows fixed, runs everything else (VFD stations, tank,
// interconnection) with continuous flows. Each start cost gives a number of fixed-speed starts and a whole-run
// cost that a controller with perfect foresight can reach — the VFD stations' starts not counted, so at a
// budget of the whole network's starts these costs are optimistic. The cheapest within the budget is what
// this construction finds; it is not a floor (a cleverer schedule could pay less), the cost floor is.
import type { NetworkConfig, PumpStation } from '../../network/schema.js';
import { dailyMeanTariffPrice, meanTariffPrice } from '../../planner/calendar.js';
import { stationsDownstream, wholePumpSchedule } from '../../planner/pump-schedule.js';
import { perfectForesightCostFloor } from './cost-floor.js';
import { fixedSpeedStations, fixedSpeedWell, stationInflowM3h } from './start-floor.js';

type CostFloorFormulation = Parameters<typeof perfectForesightCostFloor>[0]['formulation'];

export interface StartBudgetCostPoint {
  startCostCny: number;
  fixedSpeedStarts: number;
  costCny: number | null;
  status: string;
}

export interface StartBudgetCost {
  budgetStarts: number;
  points: StartBudgetCostPoint[];
  /** The cheapest point within the budget. */
  bestWithinBudget: StartBudgetCostPoint | null;
  solveMs: number;
}

export interface StartBudgetCostOptions {
  network: NetworkConfig;
  startUtcMs: number;
  hours: number;
  /** True local inflow per node per minute from `startUtcMs` (at least `hours` long). */
  localInflowByMinuteM3h: Record<string, number[]>;
  /** The same on the LP's step. */
  localInflowM3h: Record<string, number[]>;
  lpStepMin: number;
  /** Fixed-speed starts allowed over the run. */
  budgetStarts: number;
  /** Where the schedules keep each well (the planner's normal band). */
  band: { alarmMarginFraction: number; floorMarginM: number };
  formulation: CostFloorFormulation;
  timeLimitS: number;
  /** Start costs of the schedules found, CNY. */
  pointStartCostsCny?: number[];
  /** Volume bins of the whole-pump schedules. */
  bins?: number;
}

const DEFAULT_POINT_START_COSTS_CNY = [5, 10, 20, 30, 50, 100];

export async function startBudgetCost(options: StartBudgetCostOptions): Promise<StartBudgetCost> {
  const { network, startUtcMs, hours, budgetStarts } = options;
  const t0 = performance.now();
  const minutes = Math.round(hours * 60);
  const tariff = Array.from({ length: minutes }, (_, m) => meanTariffPrice(network, startUtcMs + m * 60_000, startUtcMs + (m + 1) * 60_000));
  const meanPrice = dailyMeanTariffPrice(network);
  const fixed = fixedSpeedStations(network);

  const schedule = (s: PumpStation, inflowM3h: number[], priceCnyPerKwh: number[], startCostCny: number) => {
    const well = fixedSpeedWell(s, options.band);
    const result = wholePumpSchedule({
      ...well,
      durationH: inflowM3h.map(() => 1 / 60),
      inflowM3h,
      priceCnyPerKwh,
      specificEnergyKwhM3: s.specificEnergyKwhM3,
      startCostCny,
      terminalCnyPerM3: s.specificEnergyKwhM3 * meanPrice,
      bins: options.bins ?? 400,
    });
    return { pumpedM3h: result.pumps.map((n) => n * well.pumpM3h), starts: result.starts };
  };
  const floorLp = (wholePumpM3h: Map<string, number[]>) =>
    perfectForesightCostFloor({
      network,
      startUtcMs,
      hours,
      stepMin: options.lpStepMin,
      localInflowM3h: options.localInflowM3h,
      formulation: options.formulation,
      timeLimitS: options.timeLimitS,
      wholePumpM3h,
    });

  // Schedules found: upstream first, each station's schedule priced along its path to the plant.
  const points: StartBudgetCostPoint[] = [];
  for (const lambda of options.pointStartCostsCny ?? DEFAULT_POINT_START_COSTS_CNY) {
    const pumped = new Map<string, number[]>();
    let starts = 0;
    for (const s of upstreamFirst(network, fixed)) {
      const r = schedule(s, stationInflowM3h(network, options.localInflowByMinuteM3h, s, 1, minutes, pumped), pathPrice(network, s, tariff), lambda);
      pumped.set(s.id, r.pumpedM3h);
      starts += r.starts;
    }
    const perLpStep = new Map([...pumped].map(([id, q]) => [id, meanPerStep(q, options.lpStepMin)]));
    const lp = await floorLp(perLpStep);
    points.push({ startCostCny: lambda, fixedSpeedStarts: starts, costCny: lp.costCny, status: lp.status });
  }
  const within = points.filter((p) => p.costCny !== null && p.fixedSpeedStarts <= budgetStarts);
  const bestWithinBudget = within.length === 0 ? null : within.reduce((a, b) => (b.costCny! < a.costCny! ? b : a));
  return { budgetStarts, points, bestWithinBudget, solveMs: performance.now() - t0 };
}

/** Stations in an order where every station comes after the stations that pump into it. */
function upstreamFirst(network: NetworkConfig, stations: PumpStation[]): PumpStation[] {
  const depth = (s: PumpStation): number => {
    const feeders = network.stations.filter((u) => network.mains.find((m) => m.id === u.dischargeMainId)?.to === s.id);
    return feeders.length === 0 ? 0 : 1 + Math.max(...feeders.map(depth));
  };
  return [...stations].sort((a, b) => depth(a) - depth(b));
}

/**
 * Price per kWh of a station's own energy, minute by minute, plus the energy its water meets at each station
 * downstream at the tariff when it arrives there (in kWh of the station's own energy).
 */
function pathPrice(network: NetworkConfig, s: PumpStation, tariff: number[]): number[] {
  const prices = tariff.slice();
  if (!(s.specificEnergyKwhM3 > 0)) return prices;
  for (const { station, lagMin } of stationsDownstream(network, s)) {
    const share = station.specificEnergyKwhM3 / s.specificEnergyKwhM3;
    for (let m = 0; m < prices.length; m++) prices[m] = prices[m]! + share * tariff[Math.min(tariff.length - 1, m + lagMin)]!;
  }
  return prices;
}

function meanPerStep(perMinute: number[], stepMin: number): number[] {
  const out: number[] = [];
  for (let k = 0; k * stepMin < perMinute.length; k++) {
    const part = perMinute.slice(k * stepMin, (k + 1) * stepMin);
    out.push(part.reduce((a, b) => a + b, 0) / part.length);
  }
  return out;
}
