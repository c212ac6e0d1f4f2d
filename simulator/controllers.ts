// Simulation options of the controllers a run can be measured under: one definition for the scenario CLI,
// docs/baseline.md and the benchmarks (bench/plan.ts), so every "baseline" number is the same baseline.
import type { SimulationOptions } from './model.js';

/**
 * Controllers a scenario can be run under. `baseline` is the reference every planner is measured against
 * (domain.md): every station on its own local level control — PLC mode switches in LOCAL, no remote
 * setpoints, no forecast (no flood-season start levels), no transfers (interconnections at 0) and tanks
 * idle: no gate setpoints, and the automatic inlet opening at the station's high alarm switched off too, so
 * no water enters a tank unless a plan sends it there.
 */
export const CONTROLLERS = ['baseline'] as const;
export type ControllerName = (typeof CONTROLLERS)[number];

/** Simulation options a controller needs from the start. */
export function controllerSimulationOptions(controller: ControllerName): Pick<SimulationOptions, 'initialModes' | 'tankHighLevelProtection'> {
  switch (controller) {
    case 'baseline':
      return { initialModes: 'local', tankHighLevelProtection: false };
  }
}
