// Solver measurements on the reference network: `npx tsx bin/bench-planner.ts [--members N] [--rain-mm R]
// [--algorithm simplex|ipm|choose] [--runs 3] [--horizon-h 24] [--worker warm|cold]`. Prints per-priority
// statistics and the median planner wall time (whole plan: model, solve, setpoints, explanations). The
// solver keeps its worker warm between plans, as the service does; `--worker cold` ends it before each
// plan (a fresh thread and HiGHS load every time, as before). Sizes and the simplex/interior-point
// comparison over 16–500 stations: `npm run bench -- scale`.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import { catchmentInflow, rdiiFromRain, type InflowSeries } from '../planner/inflow.js';
import { planWithOptimiser } from '../planner/mpc.js';
import { closeSolverWorkers, type SolverAlgorithm } from '../planner/solver.js';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '0' },
    'rain-mm': { type: 'string', default: '0' },
    algorithm: { type: 'string', default: 'simplex' },
    runs: { type: 'string', default: '3' },
    'horizon-h': { type: 'string', default: '24' },
    'time-limit': { type: 'string', default: '120' },
    worker: { type: 'string', default: 'warm' },
  },
});
const network = await loadNetworkFile(referenceNetworkPath);
const nowUtcMs = Date.UTC(2026, 6, 1, 2, 7); // 10:07 local, a Wednesday
const startUtcMs = Math.floor(nowUtcMs / 3_600_000) * 3_600_000;
const stepMin = 15;
const steps = 54 * 4;
const members = Number(values.members);
const rainMm = Number(values['rain-mm']);

/** Rain of `totalMm` spread evenly from +4 h to +10 h, heavier on the west (×1.2) than the east (×0.8). */
function inflow(totalMm: number): InflowSeries[] {
  const rdii = Object.fromEntries(
    network.catchments.map((c) => {
      const side = c.location.lonDeg < 121 ? 1.2 : 0.8;
      const rain = Array.from({ length: steps }, (_, i) => (i >= 16 && i < 40 ? (totalMm * side) / 24 : 0));
      return [c.id, rdiiFromRain(c, rain, stepMin)];
    }),
  );
  return catchmentInflow(network, { startUtcMs, stepMin, steps, rdiiM3hByCatchment: rdii });
}

const input = {
  startUtcMs,
  stepMin,
  series: inflow(rainMm),
  members: Array.from({ length: members }, (_, m) => ({ id: `m${m + 1}`, series: inflow(rainMm * (0.4 + (1.2 * m) / Math.max(1, members - 1))) })),
};
const wall: number[] = [];
if (values.worker !== 'warm' && values.worker !== 'cold') throw new RangeError(`--worker must be warm or cold, got "${values.worker}"`);
for (let run = 0; run < Number(values.runs); run++) {
  if (values.worker === 'cold') await closeSolverWorkers();
  const t0 = performance.now();
  const plan = await planWithOptimiser({
    planId: `bench-${run}`,
    network,
    nowUtcMs,
    state: { readAtUtcMs: nowUtcMs, stations: network.stations.map((s) => ({ stationId: s.id, levelM: 1.8, pumpsAvailable: s.pumps.length, mode: 'remote', outflowM3h: 100 })) },
    inflow: input,
    options: { algorithm: values.algorithm as SolverAlgorithm, horizonH: Number(values['horizon-h']), timeLimitS: Number(values['time-limit']), maxScenarios: members + 1 },
  });
  wall.push(performance.now() - t0);
  const s = plan.solver;
  console.log(
    `run ${run}: ${plan.planner} ${plan.fallback?.kind ?? 'no fallback'}; ${s?.status} cols ${s?.columns} rows ${s?.rows} nnz ${s?.nonzeros}; solve ${s?.solveMs.toFixed(0)} ms, ${s?.iterations} it, planner wall ${wall[run]!.toFixed(0)} ms`,
  );
  console.log(`  ${s?.priorities.map((p) => `${p.name} ${p.iterations} it ${p.solveMs.toFixed(0)} ms`).join(' | ')}`);
  console.log(`  overflow ${plan.predicted?.overflowM3.toFixed(0)} m3, bypass ${plan.predicted?.bypassM3.toFixed(0)} m3, energy ${plan.predicted?.energyKwh.toFixed(0)} kWh, cost ${plan.predicted?.costCny.toFixed(0)} CNY`);
}
const sorted = [...wall].sort((a, b) => a - b);
console.log(`median planner wall time ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms over ${wall.length} runs (${values.algorithm}, ${members + 1} scenarios, ${values['horizon-h']} h, ${values.worker} worker; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')})`);
await closeSolverWorkers();
