// The planner's LP for small hand-made networks in unit tests: 24 hourly steps from `startUtcMs`, every
// station remote at 1.5 m pumping 50 m³/h, the planner's default options.
import type { NetworkConfig } from '../../network/schema.js';
import { buildTimeGrid, formulate, type Formulation, type FormulationOptions } from '../../planner/formulation.js';

/** `inflow` gives each station's local inflow in m³/h at hourly step k; `options` replace the defaults named. */
export function hourlyDayModel(network: NetworkConfig, startUtcMs: number, inflow: (stationId: string, k: number) => number, options: Partial<FormulationOptions> = {}): Formulation {
  const grid = buildTimeGrid(startUtcMs, { fineStepMin: 60, fineHorizonH: 24, coarseStepMin: 60, horizonH: 24 });
  return formulate({
    network,
    grid,
    scenarios: [{ id: 'deterministic', weight: 1, inflowM3h: new Map(network.stations.map((s) => [s.id, grid.durationH.map((_, k) => inflow(s.id, k))])) }],
    initial: {
      stations: new Map(network.stations.map((s) => [s.id, { levelM: 1.5, pumpsAvailable: s.pumps.length, outflowM3h: 50, flowSetpointM3h: null, locked: false }])),
      tanks: new Map(),
      transfers: new Map(),
    },
    constraints: {},
    options: { sharedSteps: 1, robustness: 'expected', reserveLookAheadH: 6, alarmMarginFraction: 0.1, plantRampFractionPerH: 0.15, plantBalanceBand: 0.1, overflowHarm: {}, relaxed: false, economy: 'nominal', ...options },
  });
}
