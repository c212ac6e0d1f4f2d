// Timed faults and field actions for the running twin (`simulator/main.ts --faults file.json`): a pump trip,
// a station switched to LOCAL, communication loss, a stuck level sensor, a frozen analyser, the flood season,
// a pollution spike — so the dispatch console's handling of them can be seen outside the tests.
//
// The file is a JSON array of events, each with `atMin` (simulated minutes after the simulation start) and an
// `action`:
//   { "atMin": 90,  "action": "tripPump", "stationId": "E4", "pumpId": "P1" }        (resetPump: back in service)
//   { "atMin": 120, "action": "mode", "stationId": "W6", "mode": "local" }           (or "remote")
//   { "atMin": 150, "action": "communicationLoss", "objectId": "E2", "lost": true }
//   { "atMin": 180, "action": "levelSensorStuck", "stationId": "W1", "stuck": true, "quality": "good" }
//   { "atMin": 200, "action": "analyserFlatLine", "analyserId": "Q-WP", "flat": true }  (quality: good by default)
//   { "atMin": 0,   "action": "floodSeason", "on": true }
//   { "atMin": 240, "action": "pollution", "nodeId": "W5", "parameter": "codMgL", "excessValue": 900, "durationMin": 45 }
// An event is applied at the first clock advance at or after its time (a paced clock advances every 200 ms of
// wall time). Every field is checked against the network before the server starts; an error names the event.
import type { NetworkConfig, QualityParameter } from '../network/schema.js';
import type { ControlMode, Simulation, TagQuality } from './model.js';

export type FaultEvent = { atMin: number } & (
  | { action: 'tripPump' | 'resetPump'; stationId: string; pumpId: string }
  | { action: 'mode'; stationId: string; mode: ControlMode }
  | { action: 'communicationLoss'; objectId: string; lost: boolean }
  | { action: 'levelSensorStuck'; stationId: string; stuck: boolean; quality: TagQuality }
  | { action: 'analyserFlatLine'; analyserId: string; flat: boolean; quality: TagQuality }
  | { action: 'floodSeason'; on: boolean }
  | { action: 'pollution'; nodeId: string; parameter: QualityParameter; excessValue: number; durationMin: number }
);

const QUALITIES: readonly TagQuality[] = ['good', 'uncertain', 'bad'];

/** Validate a parsed fault file against the network; throws an Error naming the event and field. */
export function parseFaultScript(raw: unknown, network: NetworkConfig): FaultEvent[] {
  if (!Array.isArray(raw)) throw new Error('the fault file must hold a JSON array of events');
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const objects = new Set([...network.stations.map((s) => s.id), ...network.interconnections.map((x) => x.id), ...network.tanks.map((t) => t.id), ...network.plants.map((p) => p.id), ...network.analysers.map((a) => a.id)]);
  const analysers = new Map(network.analysers.map((a) => [a.id, a]));
  const nodes = new Set([...network.stations.map((s) => s.id), ...network.plants.map((p) => p.id)]);
  const parameters = new Set<string>(network.analysers.flatMap((a) => a.parameters));
  return raw.map((e: unknown, i): FaultEvent => {
    const where = `event ${i}`;
    if (typeof e !== 'object' || e === null) throw new Error(`${where}: must be an object`);
    const ev = e as Record<string, unknown>;
    const str = (field: string, allowed?: ReadonlySet<string> | readonly string[]): string => {
      const v = ev[field];
      if (typeof v !== 'string') throw new Error(`${where} (${String(ev['action'])}): ${field} must be a string`);
      const ok = allowed === undefined || (Array.isArray(allowed) ? allowed.includes(v) : (allowed as ReadonlySet<string>).has(v));
      if (!ok) throw new Error(`${where} (${String(ev['action'])}): unknown ${field} "${v}"`);
      return v;
    };
    const bool = (field: string): boolean => {
      if (typeof ev[field] !== 'boolean') throw new Error(`${where} (${String(ev['action'])}): ${field} must be true or false`);
      return ev[field];
    };
    const num = (field: string, min: number): number => {
      const v = ev[field];
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new Error(`${where} (${String(ev['action'])}): ${field} must be a number ≥ ${min}`);
      return v;
    };
    const quality = (fallback: TagQuality): TagQuality => (ev['quality'] === undefined ? fallback : (str('quality', QUALITIES) as TagQuality));
    const atMin = num('atMin', 0);
    const action = ev['action'];
    switch (action) {
      case 'tripPump':
      case 'resetPump': {
        const stationId = str('stationId', new Set(stations.keys()));
        const pumpId = str('pumpId', stations.get(stationId)!.pumps.map((p) => p.id));
        return { atMin, action, stationId, pumpId };
      }
      case 'mode':
        return { atMin, action, stationId: str('stationId', new Set(stations.keys())), mode: str('mode', ['local', 'remote']) as ControlMode };
      case 'communicationLoss':
        return { atMin, action, objectId: str('objectId', objects), lost: bool('lost') };
      case 'levelSensorStuck':
        return { atMin, action, stationId: str('stationId', new Set(stations.keys())), stuck: bool('stuck'), quality: quality('uncertain') };
      case 'analyserFlatLine':
        return { atMin, action, analyserId: str('analyserId', new Set(analysers.keys())), flat: bool('flat'), quality: quality('good') };
      case 'floodSeason':
        return { atMin, action, on: bool('on') };
      case 'pollution':
        return { atMin, action, nodeId: str('nodeId', nodes), parameter: str('parameter', parameters) as QualityParameter, excessValue: num('excessValue', Number.NEGATIVE_INFINITY), durationMin: num('durationMin', 1) };
      default:
        throw new Error(`${where}: unknown action ${JSON.stringify(action)} (tripPump, resetPump, mode, communicationLoss, levelSensorStuck, analyserFlatLine, floodSeason, pollution)`);
    }
  });
}

/**
 * Apply the events due by the simulation's current time, each once. Call it after every clock advance;
 * returns the events applied by this call.
 */
export function faultApplier(simulation: Simulation, events: readonly FaultEvent[], startUtcMs: number): () => FaultEvent[] {
  const pending = [...events].sort((a, b) => a.atMin - b.atMin);
  return () => {
    const applied: FaultEvent[] = [];
    while (pending.length > 0 && startUtcMs + pending[0]!.atMin * 60_000 <= simulation.timeUtcMs) {
      const e = pending.shift()!;
      applyFault(simulation, e, startUtcMs);
      applied.push(e);
    }
    return applied;
  };
}

function applyFault(simulation: Simulation, e: FaultEvent, startUtcMs: number): void {
  switch (e.action) {
    case 'tripPump':
      return simulation.tripPump(e.stationId, e.pumpId);
    case 'resetPump':
      return simulation.resetPump(e.stationId, e.pumpId);
    case 'mode':
      return simulation.setMode(e.stationId, e.mode);
    case 'communicationLoss':
      return simulation.setCommunicationLoss(e.objectId, e.lost);
    case 'levelSensorStuck':
      return simulation.setLevelSensorStuck(e.stationId, e.stuck, e.quality);
    case 'analyserFlatLine':
      return simulation.setAnalyserFlatLine(e.analyserId, e.flat, e.quality);
    case 'floodSeason':
      return simulation.setFloodSeason(e.on);
    case 'pollution':
      // The spike starts when the event is applied (a late tick must not shorten it).
      return simulation.injectPollution({ nodeId: e.nodeId, parameter: e.parameter, excessValue: e.excessValue, startUtcMs: Math.max(simulation.timeUtcMs, startUtcMs + e.atMin * 60_000), durationMin: e.durationMin });
  }
}
