// One baseline for the scenario CLI, docs/baseline.md and the planner benchmark (simulator/controllers.ts).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { controllerSimulationOptions } from '../../simulator/controllers.js';
import { createSimulation } from '../../simulator/model.js';
import { scenarioRain } from '../../simulator/rain-adapter.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 5, 30, 16);

void describe('baseline controller', () => {
  void it('keeps tanks idle through the typhoon core: no water enters T1 although E8 reaches its high alarm', () => {
    const { rainMmPerMin } = scenarioRain('typhoon', START_UTC_MS);
    const sim = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1, rainMmPerMin, ...controllerSimulationOptions('baseline') });
    sim.runUntil(Date.UTC(2026, 6, 3, 6));
    const e8 = network.stations.find((s) => s.id === 'E8')!;
    assert.ok(sim.summary().stations.E8!.peakLevelM >= e8.levels.highAlarmM, 'E8 reaches its high alarm');
    assert.equal(sim.summary().tanks.T1!.inletM3, 0);
  });

  void it('is the one the planner benchmark uses for its baseline arm', async () => {
    // Static check: the benchmark's baseline arm takes its options from controllerSimulationOptions, not its own.
    const source = await readFile(new URL('../../bench/plan.ts', import.meta.url), 'utf8');
    const creates = source.split('\n').filter((line) => line.includes('createSimulation({'));
    assert.ok(creates.length > 0);
    for (const line of creates.filter((l) => l.includes("'baseline'"))) assert.match(line, /controllerSimulationOptions\('baseline'\)/);
    assert.ok(creates.some((l) => l.includes("controllerSimulationOptions('baseline')")), creates.join('\n'));
  });
});
