// How fast the model runs: simulated days per wall-clock second on a network and rain scenario.
//   tsx simulator/speed.ts [--network file] [--scenario name] [--days n] [--repeat n] [--step s]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile } from '../network/load.js';
import { createSimulation } from './model.js';
import { scenarioRain } from './rain-adapter.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    network: { type: 'string', default: 'config/reference-network.json' },
    scenario: { type: 'string', default: 'typhoon' },
    days: { type: 'string', default: '30' },
    repeat: { type: 'string', default: '3' },
    step: { type: 'string', default: '60' },
  },
});
const days = Number(values.days);
const repeat = Number(values.repeat);
const stepS = Number(values.step);
if (!(days > 0)) throw new RangeError(`--days must be positive, got ${values.days}`);
if (!(Number.isInteger(repeat) && repeat > 0)) throw new RangeError(`--repeat must be a positive integer, got ${values.repeat}`);

const network = await loadNetworkFile(path.resolve(repoRoot, values.network));
const startUtcMs = Date.UTC(2026, 6, 1);
const { rainMmPerMin } = scenarioRain(values.scenario, startUtcMs);
for (let run = 1; run <= repeat; run++) {
  const simulation = createSimulation({ network, startUtcMs, stepS, seed: run, rainMmPerMin });
  const started = performance.now();
  simulation.runUntil(startUtcMs + days * 86_400_000);
  const seconds = (performance.now() - started) / 1000;
  const { totals, massBalance } = simulation.summary();
  console.log(
    `run ${run}: ${days} days of ${values.scenario} at ${stepS}-s steps in ${seconds.toFixed(3)} s = ${(days / seconds).toFixed(0)} simulated days/s` +
      ` (overflow ${totals.overflowM3.toFixed(0)} m3, mass error ${massBalance.errorM3.toExponential(1)} m3)`,
  );
}
