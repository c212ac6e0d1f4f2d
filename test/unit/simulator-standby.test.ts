// The standby pump of a VFD station under local control: it joins at the high alarm and stays enabled until
// the stop level or until the PI no longer needs it, so it neither short-cycles around the alarm nor makes the
// results depend on the step length. Short runs, sized for a 2-core machine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { createSimulation } from '../../simulator/model.js';
import type { Simulation } from '../../simulator/model.js';
import { scenarioRain } from '../../simulator/rain-adapter.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 5, 30, 16); // 2026-07-01 00:00 Asia/Shanghai
const MIN_MS = 60_000;

function baseline(scenario: string, stepS: number): Simulation {
  const { rainMmPerMin } = scenarioRain(scenario, START_UTC_MS);
  return createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1, stepS, rainMmPerMin, initialModes: 'local', tankHighLevelProtection: false });
}

void describe('simulator model: VFD standby pump in local control', () => {
  void it('keeps the standby running after it joins at the high alarm: no restart of a W6 or E8 pump within 5 min in the typhoon', () => {
    const s = baseline('typhoon', 60);
    const ids = ['W6', 'E8'];
    const allRunning = new Set<string>();
    const pumps = Object.fromEntries(ids.map((id) => [id, network.stations.find((st) => st.id === id)!.pumps.length]));
    // Until 2026-07-03 06:00Z: the typhoon core and the hours around it.
    const minutes = Math.round((Date.UTC(2026, 6, 3, 6) - START_UTC_MS) / MIN_MS);
    for (let m = 0; m < minutes; m++) {
      s.step();
      for (const id of ids) if (s.readTag(id, 'pumpsRunning').value === pumps[id]) allRunning.add(id);
    }
    // Not vacuous: the standby did join at both stations.
    assert.deepEqual([...allRunning].sort(), [...ids].sort(), 'the standby pump joined at W6 and E8');
    const last = new Map<string, number>();
    const quick: string[] = [];
    for (const p of s.pumpStartLog()) {
      if (!ids.includes(p.stationId)) continue;
      const key = `${p.stationId}.${p.pumpId}`;
      const prev = last.get(key);
      if (prev !== undefined && p.atUtcMs - prev <= 5 * MIN_MS) quick.push(`${key}@${new Date(p.atUtcMs).toISOString().slice(5, 16)}`);
      last.set(key, p.atUtcMs);
    }
    assert.deepEqual(quick, [], 'restarts within 5 min of the same pump\'s previous start');
  });

  void it('gives nearly the same starts, overflow and bypass at 60-s and 15-s steps (chicago-10y, 2 days)', () => {
    const run = (stepS: number) => {
      const s = baseline('chicago-10y', stepS);
      s.runUntil(START_UTC_MS + 2 * 86_400_000);
      return s.summary().totals;
    };
    const a = run(60);
    const b = run(15);
    const rel = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1);
    assert.ok(a.pumpStarts > 0 && a.bypassM3 > 0 && a.overflowM3 > 0, 'the storm makes starts, bypass and overflow');
    assert.ok(rel(a.pumpStarts, b.pumpStarts) <= 0.05, `pump starts 60 s ${a.pumpStarts} vs 15 s ${b.pumpStarts}`);
    assert.ok(rel(a.bypassM3, b.bypassM3) <= 0.05, `bypass m³ 60 s ${a.bypassM3.toFixed(0)} vs 15 s ${b.bypassM3.toFixed(0)}`);
    assert.ok(rel(a.overflowM3, b.overflowM3) <= 0.02, `overflow m³ 60 s ${a.overflowM3.toFixed(0)} vs 15 s ${b.overflowM3.toFixed(0)}`);
  });
});
