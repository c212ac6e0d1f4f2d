// How cheap the run could be at all: a floor for the dry-week cost target.
//
// The whole run as one linear program (planner/formulation.ts, the planner's own priorities and options)
// given the true local inflow of every step in advance: perfect foresight over the whole run instead of a
// 24-h receding horizon, continuous pump flows instead of whole pumps, no forecast error. Every well and
// tank ends where it started, so no cost is hidden in water left for later (a controller that ends the run
// with fuller or emptier wells differs by that water's pumping cost: for the reference network's wells,
// ±0.5 m in every well is ¥281 — Σ area × 0.5 m × energy to the plant × the day's mean price). No controller working to the same priorities (overflow, bypass, reserve, plant
// steadiness before cost) can pay less, up to the LP's model of the network.
import type { NetworkConfig } from '../../network/schema.js';
import { buildTimeGrid, formulate, readSolution, type FormulationOptions } from '../../planner/formulation.js';
import { solveLexicographic } from '../../planner/solver.js';

export interface CostFloor {
  status: string;
  costCny: number | null;
  energyKwh: number | null;
  /** Overflow (wells and tanks) and plant bypass of the solution, m³ (null when no solution): above zero, the run's constraints cannot be kept without them. */
  overflowM3: number | null;
  bypassM3: number | null;
  /** Cost per station, tank outlet and interconnection, CNY (empty when no solution). */
  costByObjectCny: Record<string, number>;
  steps: number;
  columns: number;
  solveMs: number;
  /** With a VFD start budget: the relaxed starts per VFD station at the optimum (what the budget allows each). */
  vfdStartsRelaxedByStation?: Record<string, number>;
}

export async function perfectForesightCostFloor(options: {
  network: NetworkConfig;
  startUtcMs: number;
  hours: number;
  stepMin: number;
  /** True local inflow per node on `stepMin` steps from `startUtcMs`. */
  localInflowM3h: Record<string, number[]>;
  formulation: Omit<FormulationOptions, 'sharedSteps' | 'robustness' | 'relaxed' | 'economy' | 'overflowHarm'>;
  timeLimitS: number;
  /** Pumped flow per step fixed at these stations (whole-pump schedules made outside the LP), m³/h. */
  wholePumpM3h?: ReadonlyMap<string, readonly number[]>;
  /** At most this many pump starts at the VFD stations together, counted by their relaxation (formulation.ts vfdStartRows). */
  vfdStartBudget?: number;
}): Promise<CostFloor> {
  const { network, startUtcMs, hours, stepMin } = options;
  const grid = buildTimeGrid(startUtcMs, { fineStepMin: stepMin, fineHorizonH: hours, coarseStepMin: stepMin, horizonH: hours });
  const K = grid.durationH.length;
  const inflowM3h = new Map<string, number[]>();
  for (const [id, series] of Object.entries(options.localInflowM3h)) {
    if (series.length < K) throw new RangeError(`cost floor: inflow of ${id} has ${series.length} steps, the run needs ${K}`);
    inflowM3h.set(id, series.slice(0, K));
  }
  const f = formulate({
    network,
    grid,
    scenarios: [{ id: 'truth', weight: 1, inflowM3h }],
    // The simulation starts every well midway between its stop and start levels, tanks empty, pumps off.
    initial: {
      stations: new Map(network.stations.map((s) => [s.id, { levelM: 0.5 * (s.levels.pumpStopM + s.levels.pumpStartM), pumpsAvailable: s.pumps.length, outflowM3h: 0, flowSetpointM3h: null, locked: false }])),
      tanks: new Map(),
      transfers: new Map(),
    },
    constraints: {},
    options: {
      ...options.formulation,
      sharedSteps: 1,
      robustness: 'expected',
      relaxed: false,
      economy: 'nominal',
      overflowHarm: {},
      ...(options.vfdStartBudget === undefined ? {} : { vfdStartBudget: options.vfdStartBudget }),
    },
    ...(options.wholePumpM3h ? { wholePumpM3h: options.wholePumpM3h } : {}),
  });
  const { colLower, colUpper } = f.problem;
  const endAt = (col: number, volumeM3: number) => {
    colLower[col] = volumeM3;
    colUpper[col] = volumeM3;
  };
  // A station whose flows are fixed ends where its schedule leaves it.
  for (const s of f.stations) if (!options.wholePumpM3h?.has(s.station.id)) endAt(s.V[0]![K - 1]!, s.initialVolumeM3);
  for (const t of f.tanks) endAt(t.VT[0]![K - 1]!, t.initialVolumeM3);
  const t0 = performance.now();
  const result = await solveLexicographic(f.problem, { timeLimitS: options.timeLimitS });
  const solveMs = performance.now() - t0;
  // A model where nothing costs energy has no energy priority: any solution of the others is its optimum.
  const energyDone = f.problem.objectives.some((o) => o.name === 'energy')
    ? result.stats.priorities.some((p) => p.name === 'energy' && p.status === 'optimal')
    : result.status === 'optimal';
  if (!result.colValue || !energyDone) return { status: result.status, costCny: null, energyKwh: null, overflowM3: null, bypassM3: null, costByObjectCny: {}, steps: K, columns: f.problem.numCols, solveMs };
  const shown = readSolution(f, result.colValue)[0]!;
  const priced = (flowM3h: number[], kwhPerM3: number) => flowM3h.reduce((a, q, k) => a + Math.abs(q) * grid.durationH[k]! * kwhPerM3 * f.priceCnyPerKwh[k]!, 0);
  const costByObjectCny: Record<string, number> = {};
  for (const s of f.stations) costByObjectCny[s.station.id] = priced(shown.stations.get(s.station.id)!.pumpedM3h, s.station.specificEnergyKwhM3);
  for (const t of f.tanks) costByObjectCny[t.tank.id] = priced(shown.tanks.get(t.tank.id)!.outletM3h, t.tank.outletSpecificEnergyKwhM3);
  for (const x of f.transfers) costByObjectCny[x.interconnection.id] = priced(shown.transfers.get(x.interconnection.id)!, x.interconnection.specificEnergyKwhM3);
  const volume = (flowM3h: number[]) => flowM3h.reduce((a, q, k) => a + q * grid.durationH[k]!, 0);
  const overflowM3 = [...shown.stations.values(), ...shown.tanks.values()].reduce((a, o) => a + volume(o.overflowM3h), 0);
  const bypassM3 = [...shown.plants.values()].reduce((a, p) => a + volume(p.bypassM3h), 0);
  return {
    status: result.status,
    costCny: shown.costCnyByStep.reduce((a, b) => a + b, 0),
    overflowM3,
    bypassM3,
    energyKwh: shown.energyKwhByStep.reduce((a, b) => a + b, 0),
    costByObjectCny,
    steps: K,
    columns: f.problem.numCols,
    solveMs,
    ...(options.vfdStartBudget === undefined
      ? {}
      : { vfdStartsRelaxedByStation: Object.fromEntries(f.stations.filter((s) => s.vfdStarts).map((s) => [s.station.id, s.vfdStarts![0]!.reduce((a, col) => a + (col >= 0 ? result.colValue![col]! : 0), 0)])) }),
  };
}
