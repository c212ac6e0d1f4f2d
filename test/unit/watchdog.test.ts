// The PLC watchdog is refreshed only for stations the dispatch stands behind: a step writes a station's
// heartbeat only once its setpoints read back right; a hand-back writes none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createDispatchActivities } from '../../activities/dispatch.js';
import type { TagReading } from '../../activities/types.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import type { OpcUaConnector, SetpointWrite } from '../../connectors/opcua.js';
import { referenceNetworkPath } from '../../network/load.js';
import { StationMode, resolveTagMap } from '../../network/tags.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const NOW = Date.UTC(2026, 6, 1, 0, 7);
const stationIds = network.stations.map((s) => s.id);

/** SCADA in memory: every station REMOTE; `refusing` stations reject writes; `holding` tags keep their own value (read back wrong). */
function fakeScada() {
  const values = new Map<string, number>();
  for (const t of resolveTagMap(network)) values.set(t.nodeId, t.tag === 'mode' ? StationMode.remote : 0);
  const batches: SetpointWrite[][] = [];
  const refusing = new Set<string>();
  const holding = new Map<string, number>();
  const opcua: OpcUaConnector = {
    readTags: async (tags) => tags.map((t): TagReading => ({ objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: values.get(t.nodeId) ?? null, statusCode: 'Good', good: true, sourceTimeUtcMs: NOW })),
    writeSetpoints: async (ws) => {
      batches.push(ws.filter((w) => !refusing.has(w.tag.objectId)));
      return ws.map((w) => {
        if (refusing.has(w.tag.objectId)) return { nodeId: w.tag.nodeId, statusCode: 'BadNoCommunication', good: false };
        values.set(w.tag.nodeId, holding.get(w.tag.nodeId) ?? w.value);
        return { nodeId: w.tag.nodeId, statusCode: 'Good', good: true };
      });
    },
    ping: async () => ({ latencyMs: 0, serverState: 'Running' }),
    close: async () => undefined,
  };
  return { opcua, values, batches, refusing, holding };
}
const influx: InfluxConnector = { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };
const forecast = { fetchCatchmentRain: () => Promise.reject(new Error('unused')) };
const step = () => ruleBasedPlan({ planId: 'p', network, snapshot: { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 }, forecast: null, nowUtcMs: NOW }).steps[0]!;
const nodeOf = (objectId: string, tag: string) => resolveTagMap(network).find((t) => t.objectId === objectId && t.tag === tag)!.nodeId;
const heartbeatsIn = (batches: SetpointWrite[][]) => batches.flat().filter((w) => w.tag.tag === 'heartbeat').map((w) => w.tag.objectId);

test('a step writes the heartbeat only of stations whose setpoints read back right, after them; a retry that succeeds writes it then', async () => {
  const scada = fakeScada();
  scada.refusing.add('W2'); // does not answer
  scada.holding.set(nodeOf('W3', 'startLevelSpM'), 9.99); // answers, but the PLC holds another value
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77 });

  const beaten = heartbeatsIn(scada.batches);
  assert.deepEqual(beaten.sort(), stationIds.filter((id) => id !== 'W2' && id !== 'W3').sort(), 'every station but the failed and the mismatched one');
  assert.ok(!scada.batches[0]!.some((w) => w.tag.tag === 'heartbeat'), 'no heartbeat in the setpoint batch');
  assert.equal(scada.values.get(nodeOf('W3', 'heartbeat')), 0, 'W3 watchdog not refreshed');
  const of = (id: string) => out.writes.filter((w) => w.objectId === id);
  assert.ok(!of('W3').some((w) => w.tag === 'heartbeat'));
  assert.equal(of('W3').find((w) => w.tag === 'startLevelSpM')?.status, 'mismatch');
  assert.equal(of('W1').find((w) => w.tag === 'heartbeat')?.status, 'verified');
  assert.equal(out.verified, (stationIds.length - 2) * 6 + 5 - 1, 'W3: four setpoints verified, no heartbeat');

  // The workflow retries W3 once the PLC takes the value: its heartbeat goes out with it.
  scada.holding.clear();
  scada.batches.length = 0;
  const again = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77, onlyStations: ['W3'], stationsOnly: true, compareFirst: true });
  assert.deepEqual(heartbeatsIn(scada.batches), ['W3']);
  assert.equal(scada.values.get(nodeOf('W3', 'heartbeat')), 77);
  assert.ok(again.writes.every((w) => w.status === 'verified'));

  // A retried attempt (the worker died after the heartbeats) writes nothing again, heartbeats included.
  scada.batches.length = 0;
  const retried = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77, onlyStations: ['W1'], stationsOnly: true, compareFirst: true });
  assert.deepEqual(scada.batches.flat(), []);
  assert.equal(retried.alreadyInForce, 6);
});

test('a hand-back writes the local band and no heartbeat', async () => {
  const scada = fakeScada();
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const back = await io.handBackToLocal({ planId: 'p', stepIndex: 0, stationIds: ['W2'], reason: 'test' });
  assert.equal(back[0]?.written, true);
  assert.deepEqual(heartbeatsIn(scada.batches), []);
});
