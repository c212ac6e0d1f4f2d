// The dispatch activities when a system they talk to is half there: a station whose mode cannot be read is a
// failed write (retried, alarmed, handed back by the workflow), not a station "in LOCAL"; and a plan whose
// trajectory InfluxDB does not take still goes to the dispatcher, saying so in its assumptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createDispatchActivities } from '../../activities/dispatch.js';
import type { Planner } from '../../activities/planner.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { InfluxConnector, SeriesPoint } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { StationMode } from '../../network/tags.js';
import { memoryScada } from '../support/memory-scada.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan, PlanStep } from '../../planner/types.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const NOW = Date.UTC(2026, 6, 1, 0, 7);
const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 };
/** SCADA in memory; `modeStatus` gives a station's mode reading a status code other than Good (value then null). */
const fakeScada = (modes: Record<string, number> = {}, modeStatus: Record<string, string> = {}) => memoryScada(network, NOW, { modes, modeStatus });
const forecast = { fetchCatchmentRain: () => Promise.reject(new Error('unused')) };
const step = (): PlanStep => ruleBasedPlan({ planId: 'p', network, snapshot, forecast: null, nowUtcMs: NOW }).steps[0]!;

const influxUp: InfluxConnector = { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };

test('a station whose mode reading is Bad is a failed write naming the status code; a Good LOCAL stays skipped-local', async () => {
  const scada = fakeScada({ E9: StationMode.local }, { W2: 'BadNoCommunication' });
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx: influxUp, forecast, now: () => NOW });
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 7 });
  const of = (id: string) => out.writes.filter((w) => w.objectId === id);

  assert.equal(of('W2').length, 6, 'each of W2\'s setpoints and its heartbeat is reported');
  assert.ok(of('W2').every((w) => w.status === 'failed'), JSON.stringify(of('W2').map((w) => w.status)));
  assert.ok(of('W2').every((w) => /BadNoCommunication/.test(w.detail ?? '')), of('W2')[0]?.detail);
  assert.ok(!scada.writes.some((w) => w.tag.objectId === 'W2'), 'nothing written to a station whose mode is not known');

  assert.ok(of('E9').every((w) => w.status === 'skipped-local' && w.detail === 'station not in REMOTE mode'));
  assert.equal(out.failed, 6);
  assert.equal(out.skipped, 6);
  assert.equal(out.verified, (network.stations.length - 2) * 6);
});

test('a station whose mode reading is missing from the answer, or Good but neither REMOTE nor LOCAL, is a failed write too', async () => {
  const scada = fakeScada({ W3: 7 });
  const opcua: OpcUaConnector = { ...scada.opcua, readTags: async (tags) => (await scada.opcua.readTags(tags)).filter((r) => !(r.tag === 'mode' && r.objectId === 'W1')) };
  const io = createDispatchActivities({ network, opcua, influx: influxUp, forecast, now: () => NOW });
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 7 });
  const of = (id: string) => out.writes.filter((w) => w.objectId === id);
  assert.ok(of('W1').every((w) => w.status === 'failed' && /no reading/.test(w.detail ?? '')), JSON.stringify(of('W1')[0]));
  assert.ok(of('W3').every((w) => w.status === 'failed' && /mode 7/.test(w.detail ?? '')), JSON.stringify(of('W3')[0]));
  assert.equal(out.skipped, 0);
});

test('buildPlan goes on when InfluxDB does not take the trajectory: the plan says so in both languages', async () => {
  const tried: (readonly SeriesPoint[])[] = [];
  const influxDown: InfluxConnector = {
    ...influxUp,
    write: async (p) => {
      tried.push(p);
      throw new Error('InfluxDB unreachable: connect ECONNREFUSED 127.0.0.1:8086');
    },
  };
  const base = ruleBasedPlan({ planId: 'p-down', network, snapshot, forecast: null, nowUtcMs: NOW });
  const planner: Planner = { name: 'fixed', plan: async () => ({ ...base, assumptions: [{ zh: '已有假设', en: 'an earlier assumption' }] }) };
  const io = createDispatchActivities({ network, opcua: fakeScada().opcua, influx: influxDown, forecast, planner, now: () => NOW });
  const plan: Plan = await io.buildPlan({ planId: 'p-down', snapshot, forecast: null });
  assert.equal(tried.length, 1, 'the write was tried');
  assert.ok(tried[0]!.some((p) => p.measurement === 'plan_setpoint'));
  assert.deepEqual(plan.steps, base.steps, 'the plan itself is unchanged');
  assert.equal(plan.assumptions?.length, 2, 'the planner\'s assumptions are kept');
  const note = plan.assumptions.at(-1)!;
  assert.match(note.en, /not stored in InfluxDB.*ECONNREFUSED/);
  assert.match(note.zh, /InfluxDB/);
  assert.match(note.zh, /未能写入/);

  // InfluxDB up: no note.
  const ok = await createDispatchActivities({ network, opcua: fakeScada().opcua, influx: influxUp, forecast, planner, now: () => NOW }).buildPlan({ planId: 'p-down', snapshot, forecast: null });
  assert.equal(ok.assumptions?.length, 1);
});
