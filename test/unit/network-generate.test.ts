// Generated networks: valid, shaped like the reference network, deterministic, and runnable in the simulator.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNetwork, MIN_GENERATED_STATIONS } from '../../network/generate.js';
import type { NetworkConfig } from '../../network/schema.js';
import { parseNetwork } from '../../network/validate.js';
import { createSimulation } from '../../simulator/model.js';
import { scenarioRain } from '../../simulator/rain-adapter.js';

const START_UTC_MS = Date.UTC(2026, 6, 1);
const DAY_MS = 86_400_000;

/** Follow discharge mains from a station to where they end. */
function dischargeEnd(network: NetworkConfig, stationId: string): string {
  const mains = new Map(network.mains.map((m) => [m.id, m]));
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  let current = stationId;
  for (let hops = 0; hops <= network.stations.length; hops++) {
    const station = stations.get(current);
    if (!station) return current;
    current = mains.get(station.dischargeMainId)!.to;
  }
  throw new Error(`discharge path of ${stationId} does not end`);
}

function checkShape(network: NetworkConfig, stations: number): void {
  assert.equal(network.stations.length, stations);
  assert.ok(network.systems.length >= 2, 'two or more systems');
  assert.equal(network.interconnections.length, 1, 'one interconnection');
  assert.equal(network.tanks.length, 1, 'one tank');
  const systemOf = new Map(network.stations.map((s) => [s.id, s.system]));
  const x = network.interconnections[0]!;
  assert.notEqual(systemOf.get(x.a), systemOf.get(x.b), 'the interconnection joins two systems');
  assert.ok(systemOf.has(network.tanks[0]!.node), 'the tank sits beside a station');
  const plantOfSystem = new Map(network.plants.map((p) => [p.system, p]));
  assert.equal(plantOfSystem.size, network.systems.length, 'one plant per system');
  for (const plant of network.plants) assert.ok(network.analysers.some((a) => a.node === plant.id), `analyser at ${plant.id}`);

  // Tree-shaped collection: every station drains to its own system's plant; transfer stations receive from others.
  const dwfM3h = new Map<string, number>();
  for (const c of network.catchments) dwfM3h.set(c.node, (dwfM3h.get(c.node) ?? 0) + c.dwf.meanM3d / 24);
  const systemDwfM3h = new Map<string, number>();
  for (const s of network.stations) {
    const end = dischargeEnd(network, s.id);
    assert.equal(end, plantOfSystem.get(s.system)!.id, `${s.id} drains to its system's plant`);
    systemDwfM3h.set(s.system, (systemDwfM3h.get(s.system) ?? 0) + (dwfM3h.get(s.id) ?? 0));
  }
  const receiving = new Set(network.mains.map((m) => m.to));
  for (const system of network.systems) {
    const members = network.stations.filter((s) => s.system === system.id);
    assert.ok(members.some((s) => receiving.has(s.id) && s.pumps.every((p) => p.kind === 'vfd')), `system ${system.id} has a transfer station`);
    const plant = plantOfSystem.get(system.id)!;
    assert.ok(plant.capacityM3h >= 1.5 * systemDwfM3h.get(system.id)!, `plant ${plant.id} sized for the DWF with margin`);
  }
  // Catchments with RTK parameters, one per station.
  assert.equal(network.catchments.length, stations);
  for (const c of network.catchments) {
    assert.ok(c.rdii.triangles.length >= 1 && c.rdii.triangles.every((t) => t.r > 0 && t.tH > 0 && t.k > 0), `${c.id} RTK`);
    assert.ok(c.dwf.meanM3d > 0 && c.areaHa > 0);
  }
  // Pumps sized a little above the peak dry-weather flow arriving (duty pumps without the standby).
  for (const s of network.stations) {
    assert.equal(s.standbyPumps, 1);
    assert.ok(s.levels.pumpStopM < s.levels.pumpStartM && s.levels.highAlarmM < s.levels.overflowM);
  }
}

void describe('generated networks', () => {
  for (const stations of [MIN_GENERATED_STATIONS, 16, 100]) {
    for (const seed of [1, 2, 3]) {
      void it(`${stations} stations, seed ${seed}: valid and shaped like the reference network`, () => {
        const network = generateNetwork({ stations, seed });
        // Through JSON, as a utility's file would arrive.
        assert.doesNotThrow(() => parseNetwork(JSON.parse(JSON.stringify(network)), 'generated'));
        checkShape(network, stations);
      });
    }
  }

  void it('500 stations: valid, several systems', () => {
    const network = generateNetwork({ stations: 500, seed: 1 });
    assert.doesNotThrow(() => parseNetwork(JSON.parse(JSON.stringify(network)), 'generated'));
    checkShape(network, 500);
    assert.ok(network.systems.length > 2);
  });

  void it('is deterministic for a seed and differs between seeds', () => {
    assert.deepEqual(generateNetwork({ stations: 100, seed: 42 }), generateNetwork({ stations: 100, seed: 42 }));
    assert.notDeepEqual(generateNetwork({ stations: 100, seed: 42 }), generateNetwork({ stations: 100, seed: 43 }));
  });

  void it('rejects impossible sizes and seeds', () => {
    assert.throws(() => generateNetwork({ stations: 3, seed: 1 }), /stations must be a whole number/);
    assert.throws(() => generateNetwork({ stations: 16.5, seed: 1 }), /stations must be a whole number/);
    assert.throws(() => generateNetwork({ stations: 16, seed: 0.5 }), /seed must be an integer/);
    assert.throws(() => generateNetwork({ stations: 16, seed: 1, systems: 9 }), /systems must be/);
  });

  void it('runs in the simulator: no overflow in dry weather, mass conserved to 1e-6 through a storm', () => {
    for (const stations of [16, 100]) {
      const network = generateNetwork({ stations, seed: 7 });
      const dry = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1, initialModes: 'local' });
      dry.runUntil(START_UTC_MS + DAY_MS);
      const drySummary = dry.summary();
      assert.equal(drySummary.totals.overflowM3, 0, `${stations} stations: no overflow in dry weather`);
      assert.equal(drySummary.totals.bypassM3, 0, `${stations} stations: no bypass in dry weather`);
      for (const [id, s] of Object.entries(drySummary.stations)) assert.ok(s.peakLevelM < network.stations.find((x) => x.id === id)!.levels.highAlarmM, `${id} stays below high alarm`);

      const { rainMmPerMin } = scenarioRain('rainstorm', START_UTC_MS);
      // Some dispatch activity too, so every term of the balance is exercised. Gates follow dispatch only while
      // its stations are in REMOTE with a live heartbeat (the simulator's watchdog fallback).
      const x1 = network.interconnections.find((x) => x.id === 'X1')!;
      const held = [x1.a, x1.b, network.tanks.find((t) => t.id === 'T1')!.node];
      const wet = createSimulation({ network, startUtcMs: START_UTC_MS, seed: 1, rainMmPerMin, initialModes: Object.fromEntries(network.stations.map((st) => [st.id, held.includes(st.id) ? 'remote' : 'local'])) });
      wet.advance(12 * 60);
      wet.writeSetpoint('X1', 'transferSpM3h', wet.rangeOf('X1', 'transferSpM3h').max / 2);
      wet.writeSetpoint('T1', 'inletSpM3h', wet.rangeOf('T1', 'inletSpM3h').max);
      for (let beat = 1; wet.timeUtcMs < START_UTC_MS + 1.5 * DAY_MS; beat++) {
        for (const id of held) wet.writeSetpoint(id, 'heartbeat', beat);
        wet.advance(1);
      }
      const summary = wet.summary();
      const balance = wet.massBalance();
      assert.ok(summary.inflow.rdiiM3 > 0, 'the storm produces RDII');
      assert.ok(summary.interconnections['X1']!.aToBM3 > 0 && summary.tanks['T1']!.inletM3 > 0);
      assert.ok(Math.abs(balance.errorM3) <= 1e-6 * balance.inflowM3, `${stations} stations: mass error ${balance.errorM3} m3 of ${balance.inflowM3} m3`);
    }
  });
});
