// Why the baseline (activities/baseline.ts) simulates a spin-up before its period: the error of a day's baseline
// energy when the simulation starts cold at the period start, against one continuous baseline simulation.
//   npx tsx dashboards/baseline-spin-up.ts            # Markdown table for dashboards/README.md
// Every scenario of scenarios/rain.ts starts 2026-07-01 00:00 local on the reference network; the continuous run
// starts two days earlier; rain is hourly, as the observed rain the baseline reads. Deterministic (seed 1).
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import { SCENARIO_NAMES, createRainScenario } from '../scenarios/rain.js';
import { createSimulation, type Simulation, type SimulationOptions } from '../simulator/model.js';

const H = 3_600_000;
const DAY = 24 * H;
/** 2026-07-01 00:00 Asia/Shanghai. */
const START = Date.UTC(2026, 5, 30, 16);

const network = await loadNetworkFile(referenceNetworkPath);
const ids = network.stations.map((s) => s.id);
const energyKwh = (sim: Simulation) => ids.reduce((sum, id) => sum + (sim.readTag(id, 'energyKwh').value as number), 0);
const pct = (value: number, truth: number) => `${value >= truth ? '+' : '−'}${Math.abs(((value - truth) / truth) * 100).toFixed(2)} %`;

console.log('| scenario, day | continuous (kWh) | cold start at the day, exact levels | 24-h spin-up, default levels | 24-h spin-up, exact levels |');
console.log('|---|---|---|---|---|');
for (const name of SCENARIO_NAMES) {
  const scenario = createRainScenario(name, { startUtcMs: START });
  const rainMmPerMin = (latDeg: number, lonDeg: number, t: number) => {
    const hour = Math.floor(t / H) * H;
    return scenario.rainMmBetween(latDeg, lonDeg, hour, hour + H) / 60;
  };
  const base: Omit<SimulationOptions, 'startUtcMs'> = { network, rainMmPerMin, seed: 1, initialModes: 'local', tankHighLevelProtection: false };
  const continuous = createSimulation({ ...base, startUtcMs: START - 2 * DAY });
  const at = new Map<number, { kwh: number; levels: Record<string, number> }>();
  for (const t of [START - DAY, START, START + DAY, START + 2 * DAY]) {
    continuous.runUntil(t);
    at.set(t, { kwh: energyKwh(continuous), levels: Object.fromEntries(ids.map((id) => [id, continuous.trueLevelM(id)])) });
  }
  for (const day of [START, START + DAY]) {
    const truth = at.get(day + DAY)!.kwh - at.get(day)!.kwh;
    const run = (startUtcMs: number, levels?: Record<string, number>) => {
      const sim = createSimulation({ ...base, startUtcMs, ...(levels ? { initialLevelsM: levels } : {}) });
      sim.runUntil(day);
      const opening = energyKwh(sim);
      sim.runUntil(day + DAY);
      return energyKwh(sim) - opening;
    };
    const cells = [run(day, at.get(day)!.levels), run(day - DAY), run(day - DAY, at.get(day - DAY)!.levels)].map((kwh) => pct(kwh, truth));
    console.log(`| ${name}, day ${(day - START) / DAY + 1} | ${Math.round(truth).toLocaleString('en-US')} | ${cells.join(' | ')} |`);
  }
}
