// Adapter from the rain scenarios (scenarios/rain.ts: exact depths over intervals) to the simulation's
// rain input (intensity in mm/min at a point and time).
import { SCENARIO_NAMES, createRainScenario, isScenarioName, rainMmInMinute } from '../scenarios/rain.js';
import type { RainScenario } from '../scenarios/rain.js';
import type { RainMmPerMin } from './model.js';

export { SCENARIO_NAMES };

/** Rain of a scenario as mm/min: the depth of the UTC minute containing t, so 1-min steps get exact depths. */
export function rainFromScenario(scenario: RainScenario): RainMmPerMin {
  const { startUtcMs: wetFromUtcMs, endUtcMs: wetToUtcMs } = scenario.rainWindowUtcMs;
  return (latDeg, lonDeg, timeUtcMs) => {
    // Most of a scenario is dry: skip the storm field outside its window.
    if (timeUtcMs + 60_000 <= wetFromUtcMs || timeUtcMs >= wetToUtcMs) return 0;
    return rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs);
  };
}

/** The named scenario starting at startUtcMs and its rain input; throws naming the known scenarios. */
export function scenarioRain(name: string, startUtcMs: number): { scenario: RainScenario; rainMmPerMin: RainMmPerMin } {
  if (!isScenarioName(name)) throw new RangeError(`unknown rain scenario "${name}"; known: ${SCENARIO_NAMES.join(', ')}`);
  const scenario = createRainScenario(name, { startUtcMs });
  return { scenario, rainMmPerMin: rainFromScenario(scenario) };
}
