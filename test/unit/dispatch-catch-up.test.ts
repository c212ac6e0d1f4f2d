// applyPlanStep as the last line before SCADA: a step sent late in place of earlier ones (rateLimitMin) moves
// every setpoint at most one step's change at the envelope's rate from what SCADA holds, the level band as a
// pair; and every setpoint is written at a sensible resolution (1 mm, 0.1 m³/h), never 1.7000000000000002.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createDispatchActivities, roundSetpoint } from '../../activities/dispatch.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import type { SetpointWrite } from '../../connectors/opcua.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { resolveTagMap } from '../../network/tags.js';
import { memoryScada } from '../support/memory-scada.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { PlanStep } from '../../planner/types.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
// A slow level envelope (a valid network setting): 0.01 m/min, 0.15 m per 15-min step.
for (const s of network.stations) {
  s.envelope.startLevelM.maxChangePerMin = 0.01;
  s.envelope.stopLevelM.maxChangePerMin = 0.01;
}
const NOW = Date.UTC(2026, 6, 15, 0, 0);

/** SCADA in memory with every station on its normal band. */
function scada() {
  const s = memoryScada(network, NOW);
  const station = (id: string, tag: string) => resolveTagMap(network).find((t) => t.objectId === id && t.tag === tag)!.nodeId;
  for (const st of network.stations) {
    s.values.set(station(st.id, 'startLevelSpM'), st.levels.pumpStartM);
    s.values.set(station(st.id, 'stopLevelSpM'), st.levels.pumpStopM);
  }
  return s;
}
const influx: InfluxConnector = { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };
const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 };
/** A drawdown step: W1 from its band 2.0 / 1.0 m to 1.7 / 1.0 m, with the float noise plan arithmetic leaves. */
const drawdownStep = (): PlanStep => {
  const step = ruleBasedPlan({ planId: 'p', network, snapshot, forecast: null, nowUtcMs: NOW }).steps[0]!;
  return { ...step, stations: step.stations.map((s) => (s.stationId === 'W1' ? { ...s, startLevelM: 1.4 + 0.3000000000000002, stopLevelM: 1, flowM3h: 123.45000000001 } : s)) };
};
const written = (writes: SetpointWrite[], id: string, tag: string) => writes.filter((w) => w.tag.objectId === id && w.tag.tag === tag).map((w) => w.value);

test('a step sent late (rateLimitMin) moves the band at most one step of change from what SCADA holds, and says so', async () => {
  const s = scada();
  const io = createDispatchActivities({ network, opcua: s.opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('unused')) }, now: () => NOW });
  const outcome = await io.applyPlanStep({ planId: 'p', stepIndex: 4, step: drawdownStep(), heartbeat: 1, rateLimitMin: 15 });
  // 2.0 m held, 0.01 m/min over 15 min: 1.85 m, not the plan's 1.7 m.
  assert.deepEqual(written(s.writes, 'W1', 'startLevelSpM'), [1.85]);
  assert.deepEqual(written(s.writes, 'W1', 'stopLevelSpM'), [1]);
  const w1 = outcome.writes.find((w) => w.objectId === 'W1' && w.tag === 'startLevelSpM')!;
  assert.equal(w1.status, 'verified');
  assert.match(w1.detail ?? '', /planned 1\.7, limited to 1\.85 by the envelope's rate from 2 over 15 min/);
  // Every written value is inside its envelope and within the rate from what was held.
  for (const w of s.writes.filter((x) => x.tag.tag === 'startLevelSpM')) {
    const st = network.stations.find((x) => x.id === w.tag.objectId)!;
    assert.ok(Math.abs(w.value - st.levels.pumpStartM) <= 0.15 + 1e-9, `${w.tag.objectId} moved ${w.value - st.levels.pumpStartM} m`);
  }
});

test('on time (no rateLimitMin) the plan value goes as planned, at 1 mm and 0.1 m³/h resolution', async () => {
  const s = scada();
  const io = createDispatchActivities({ network, opcua: s.opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('unused')) }, now: () => NOW });
  await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: drawdownStep(), heartbeat: 1 });
  assert.deepEqual(written(s.writes, 'W1', 'startLevelSpM'), [1.7], 'not 1.7000000000000002');
  assert.deepEqual(written(s.writes, 'W1', 'flowSpM3h'), [123.5]);
  assert.equal(roundSetpoint('startLevelSpM', 1.0004999), 1);
  assert.equal(roundSetpoint('transferSpM3h', 899.96), 900);
  assert.equal(roundSetpoint('pumpsAllowedSp', 2), 2);
});

test('a missing step is named counted from 1', async () => {
  const s = scada();
  const io = createDispatchActivities({ network, opcua: s.opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('unused')) }, now: () => NOW });
  const plan = ruleBasedPlan({ planId: 'p', network, snapshot, forecast: null, nowUtcMs: NOW });
  await assert.rejects(io.applyPlanStep({ planId: 'p', stepIndex: plan.steps.length, plan, heartbeat: 1 }), new RegExp(`plan p has no step ${plan.steps.length + 1} \\(the plan has ${plan.steps.length} steps\\)`));
});
