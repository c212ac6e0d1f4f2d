// The dispatch activities alone, over an in-memory SCADA: idempotent step writes (a retried attempt does
// not write what SCADA already holds), REMOTE-only, envelope, transfers written when they change, hand-back
// to the local band; the planner as an injected dependency; the dispatcher's constraints on any plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyConstraints, constraintProblems, localBandSetpoint } from '../../activities/constraints.js';
import { createDispatchActivities } from '../../activities/dispatch.js';
import type { Planner } from '../../activities/planner.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { StationMode, resolveTagMap } from '../../network/tags.js';
import { memoryScada } from '../support/memory-scada.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { PlanStep } from '../../planner/types.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const NOW = Date.UTC(2026, 6, 1, 0, 7);

/** SCADA in memory: every tag's value, stations in LOCAL, stations that refuse writes. */
const fakeScada = (localStations: string[] = []) => memoryScada(network, NOW, { modes: Object.fromEntries(localStations.map((id) => [id, StationMode.local])) });
const influx: InfluxConnector = { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };
const forecast = { fetchCatchmentRain: () => Promise.reject(new Error('unused')) };
const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 };
const step = (): PlanStep => ruleBasedPlan({ planId: 'p', network, snapshot, forecast: null, nowUtcMs: NOW }).steps[0]!;

test('a step is written once: a retried attempt reads first and writes only what SCADA does not hold yet', async () => {
  const scada = fakeScada(['E9']);
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const s = step();
  const first = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: s, heartbeat: 42 });
  assert.equal(first.verified, 15 * 6);
  assert.equal(first.skipped, 6, 'the LOCAL station is not written');
  assert.equal(scada.writes.length, 15 * 6, 'transfers and tanks already at 0 are left alone');
  assert.ok(!scada.writes.some((w) => w.tag.objectId === 'E9'));

  // The worker died after writing: the retry writes nothing and reports every value verified.
  const retry = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: s, heartbeat: 42, compareFirst: true });
  assert.equal(scada.writes.length, 15 * 6, 'no write repeated');
  assert.equal(retry.verified, 15 * 6);
  assert.equal(retry.alreadyInForce, 15 * 6);

  // Died half-way: only the missing values are written.
  const w3 = resolveTagMap(network).filter((t) => t.objectId === 'W3' && t.access === 'write');
  for (const t of w3) scada.values.set(t.nodeId, -1);
  await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: s, heartbeat: 42, compareFirst: true });
  assert.deepEqual(scada.writes.slice(15 * 6).map((w) => `${w.tag.objectId}.${w.tag.tag}`).sort(), ['W3.flowSpM3h', 'W3.heartbeat', 'W3.pumpsAllowedSp', 'W3.remoteControlSp', 'W3.startLevelSpM', 'W3.stopLevelSpM']);
});

test('transfers are written when they change; values outside the envelope are refused before any write', async () => {
  const scada = fakeScada();
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const s = { ...step(), transfers: [{ interconnectionId: 'X1', transferM3h: 600 }] };
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: s, heartbeat: 1 });
  assert.ok(out.writes.some((w) => w.objectId === 'X1' && w.status === 'verified' && w.value === 600));
  // A retry of transfers and tanks alone (no station): only the transfer that changed is written.
  const linksOnly = await io.applyPlanStep({ planId: 'p', stepIndex: 1, step: { ...s, transfers: [{ interconnectionId: 'X1', transferM3h: 400 }] }, heartbeat: 1, onlyStations: [], compareFirst: true });
  assert.deepEqual(linksOnly.writes.map((w) => [w.objectId, w.tag, w.value, w.status]), [['X1', 'transferSpM3h', 400, 'verified']]);
  const before = scada.writes.length;
  const bad = { ...s, stations: s.stations.map((x) => (x.stationId === 'W1' ? { ...x, startLevelM: 9 } : x)) };
  await assert.rejects(io.applyPlanStep({ planId: 'p', stepIndex: 0, step: bad, heartbeat: 2 }), (e: Error & { type?: string; nonRetryable?: boolean }) => {
    assert.equal(e.type, 'EnvelopeViolation');
    assert.equal(e.nonRetryable, true);
    assert.match(e.message, /W1\.startLevelSpM = 9 lies outside/);
    return true;
  });
  assert.equal(scada.writes.length, before, 'nothing written');

  // Each level inside its envelope, but the pair inverted (start below stop), or a fractional pump count: refused.
  const inverted = { ...s, stations: s.stations.map((x) => (x.stationId === 'W1' ? { ...x, startLevelM: 2.0, stopLevelM: 2.2 } : x)) };
  const w1Envelope = network.stations.find((x) => x.id === 'W1')!.envelope;
  assert.ok(2.0 >= w1Envelope.startLevelM.min && 2.2 <= w1Envelope.stopLevelM.max, 'each level alone is inside its envelope');
  await assert.rejects(io.applyPlanStep({ planId: 'p', stepIndex: 0, step: inverted, heartbeat: 3 }), (e: Error & { type?: string }) => {
    assert.equal(e.type, 'EnvelopeViolation');
    assert.match(e.message, /W1: start level 2 m must lie at least 0\.05 m above stop level 2\.2 m/);
    return true;
  });
  const halfPump = { ...s, stations: s.stations.map((x) => (x.stationId === 'W1' ? { ...x, pumpsAllowed: 1.5 } : x)) };
  await assert.rejects(io.applyPlanStep({ planId: 'p', stepIndex: 0, step: halfPump, heartbeat: 4 }), /W1\.pumpsAllowedSp = 1\.5 is not a whole number of pumps/);
  assert.equal(scada.writes.length, before, 'nothing written');
});

test('a station that refuses writes is reported failed; handing it back writes its local band where it answers', async () => {
  const scada = fakeScada();
  scada.refusing.add('W2');
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 1 });
  assert.deepEqual([...new Set(out.writes.filter((w) => w.status === 'failed').map((w) => w.objectId))], ['W2']);
  const refused = await io.handBackToLocal({ planId: 'p', stepIndex: 0, stationIds: ['W2'], reason: 'test' });
  assert.equal(refused[0]?.written, false);
  scada.refusing.clear();
  const back = await io.handBackToLocal({ planId: 'p', stepIndex: 0, stationIds: ['W2'], reason: 'test' });
  assert.equal(back[0]?.written, true);
  const band = localBandSetpoint(network.stations.find((s) => s.id === 'W2')!);
  const held = (tag: string) => scada.values.get(resolveTagMap(network).find((t) => t.objectId === 'W2' && t.tag === tag)!.nodeId);
  assert.deepEqual([held('startLevelSpM'), held('stopLevelSpM'), held('pumpsAllowedSp'), held('remoteControlSp')], [band.startLevelM, band.stopLevelM, band.pumpsAllowed, 0]);
});

test('the planner is injected; constraints reach it and are applied to its output even if it ignores them', async () => {
  const seen: unknown[] = [];
  const planner: Planner = {
    name: 'ignores-constraints',
    plan: async (r) => {
      seen.push(r.constraints);
      const plan = ruleBasedPlan({ planId: r.planId, network, snapshot: r.snapshot, forecast: null, nowUtcMs: r.nowUtcMs });
      return { ...plan, steps: plan.steps.map((s) => ({ ...s, transfers: [{ interconnectionId: 'X1', transferM3h: -900 }] })) };
    },
  };
  const io = createDispatchActivities({ network, opcua: fakeScada().opcua, influx, forecast, planner, now: () => NOW });
  const constraints = { lockedStations: ['W1'], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 250 }] };
  const plan = await io.buildPlan({ planId: 'p', snapshot, forecast: null, constraints });
  assert.deepEqual(seen, [constraints]);
  assert.ok(plan.steps.every((s) => s.transfers[0]!.transferM3h === -250), 'the cap holds, keeping the direction');
  assert.ok(plan.clamped.some((c) => c.objectId === 'X1' && c.wanted === -900 && c.sent === -250));
  await assert.rejects(io.buildPlan({ planId: 'p', snapshot, forecast: null, constraints: { lockedStations: ['NOPE'] } }), (e: Error & { type?: string }) => e.type === 'InvalidConstraint');
});

test('bands are clamped to the envelope and its rate from the values in force, and explained; a band narrower than the usual gap is taken as given', () => {
  const plan = ruleBasedPlan({ planId: 'p', network, snapshot, forecast: null, nowUtcMs: NOW });
  const out = applyConstraints(plan, { stationBands: [{ stationId: 'W1', minLevelM: 1.8, maxLevelM: 1.9 }, { stationId: 'W2', maxLevelM: 0.5 }] }, network);
  const w1 = out.steps[0]!.stations.find((s) => s.stationId === 'W1')!;
  assert.deepEqual([w1.stopLevelM, w1.startLevelM], [1.8, 1.9]);
  const w2 = out.steps[0]!.stations.find((s) => s.stationId === 'W2')!;
  const env = network.stations.find((s) => s.id === 'W2')!.envelope;
  assert.equal(w2.startLevelM, env.startLevelM.min, 'clamped to the envelope');
  assert.ok(out.clamped.some((c) => c.objectId === 'W2' && c.setpoint === 'startLevelM'));
  assert.match(out.reasons.find((r) => r.objectId === 'W2')!.reason.en, /Dispatcher band —–0.5 m: .*limited by the safety envelope/);

  // With the values SCADA holds and a slow envelope, the dispatcher's band is reached step by step.
  const slow = structuredClone(network);
  const slowW1 = slow.stations.find((s) => s.id === 'W1')!;
  slowW1.envelope.startLevelM.maxChangePerMin = 0.01;
  slowW1.envelope.stopLevelM.maxChangePerMin = 0.01;
  const inForce = [{ stationId: 'W1', startLevelSpM: 2.6, stopLevelSpM: 1.4 }];
  const ramped = applyConstraints(plan, { stationBands: [{ stationId: 'W1', maxLevelM: 1.8 }] }, slow, inForce);
  const w1Steps = ramped.steps.map((st) => st.stations.find((x) => x.stationId === 'W1')!);
  assert.ok(Math.abs(w1Steps[0]!.startLevelM - (2.6 - 0.01 * slow.planning.cycleMin)) < 1e-9, `first step ${w1Steps[0]!.startLevelM}`);
  w1Steps.forEach((x, k) => {
    assert.ok(x.startLevelM >= x.stopLevelM + 0.05 - 1e-9, `step ${k} band ${x.startLevelM}/${x.stopLevelM}`);
    if (k > 0) {
      const minutes = (ramped.steps[k]!.startUtcMs - ramped.steps[k - 1]!.startUtcMs) / 60_000;
      assert.ok(Math.abs(x.startLevelM - w1Steps[k - 1]!.startLevelM) <= 0.01 * minutes + 1e-9, `step ${k} moves within the rate`);
    }
  });
  assert.ok(Math.abs(w1Steps.at(-1)!.startLevelM - 1.8) < 1e-9, 'and reaches the band');
  assert.ok(ramped.clamped.some((c) => c.objectId === 'W1' && c.setpoint === 'startLevelM' && c.wanted === 1.8));
  // Without the values in force, only the range applies (as before).
  assert.equal(applyConstraints(plan, { stationBands: [{ stationId: 'W1', maxLevelM: 1.8 }] }, slow).steps[0]!.stations.find((x) => x.stationId === 'W1')!.startLevelM, 1.8);
  assert.deepEqual(constraintProblems({ stationBands: [{ stationId: 'W1', minLevelM: 3, maxLevelM: 2 }], transferCaps: [{ interconnectionId: 'X9', maxAbsM3h: -1 }] }, network), [
    'band of W1: min 3 above max 2',
    'cap: unknown interconnection X9',
    'cap of X9: -1 must be a number ≥ 0',
  ]);
});
