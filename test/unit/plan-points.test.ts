// A plan's predictions as plan_prediction points (activities/plan-points.ts), and buildPlan writing them beside
// plan_setpoint: every predicted trajectory at its step's time, bounded tags, nothing written for a broken prediction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createDispatchActivities } from '../../activities/dispatch.js';
import { PLAN_PREDICTION, PLAN_SLOT_CYCLE_DAYS, PlanPredictionError, planEventBucket, planPredictionPoints, planSeriesSlot } from '../../activities/plan-points.js';
import type { Planner } from '../../activities/planner.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import type { InfluxConnector, SeriesPoint } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan, PlanPrediction } from '../../planner/types.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const NOW = Date.UTC(2026, 6, 1, 0, 0);
const MIN = 60_000;
const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 };

/** A rule-based plan with a prediction shaped as planner/mpc.ts makes it: value = object index + step / 100. */
function predictedPlan(planId = 'plan-dispatch-cycle-test'): Plan {
  const plan = ruleBasedPlan({ planId, network, snapshot, forecast: null, nowUtcMs: NOW });
  const n = plan.steps.length;
  const ramp = (base: number) => Array.from({ length: n }, (_, k) => base + k / 100);
  const predicted: PlanPrediction = {
    scenarioId: 'det',
    scenarioCount: 3,
    stations: network.stations.map((s, i) => ({ stationId: s.id, levelM: ramp(i), inflowM3h: ramp(100 + i), pumpedM3h: ramp(200 + i), standbyM3h: ramp(0), overflowM3h: ramp(0) })),
    plants: network.plants.map((p, i) => ({ plantId: p.id, inflowM3h: ramp(1000 + i), bypassM3h: ramp(0) })),
    tanks: network.tanks.map((t, i) => ({ tankId: t.id, volumeM3: ramp(500 + i), inletM3h: ramp(10), outletM3h: ramp(0), overflowM3h: ramp(0) })),
    transfers: network.interconnections.map((x, i) => ({ interconnectionId: x.id, transferM3h: ramp(300 + i) })),
    energyKwh: 1234,
    costCny: 567,
    overflowM3: 8,
    bypassM3: 0,
    energyKwhByStep: ramp(50),
    costCnyByStep: ramp(30),
    risk: [
      { objectId: network.stations[0]!.id, probability: 1 / 3, expectedVolumeM3: 8, worstVolumeM3: 24, scenarioCount: 3 },
      ...network.tanks.map((t) => ({ objectId: t.id, probability: 0, expectedVolumeM3: 0, worstVolumeM3: 0, scenarioCount: 3 })),
    ],
  };
  return { ...plan, planner: 'mpc', predicted };
}

const find = (points: SeriesPoint[], kind: string, id: string, timeUtcMs: number) => points.find((p) => p.tags['kind'] === kind && p.tags['id'] === id && p.timeUtcMs === timeUtcMs);

const SLOT = 'cycle-0';

test('every predicted trajectory becomes plan_prediction points at its step times, tagged slot, id and kind, with the plan id a field', () => {
  const plan = predictedPlan();
  const points = planPredictionPoints(plan, SLOT);
  const steps = plan.steps;
  const start = (k: number) => steps[k]!.startUtcMs;
  const end = (k: number) => steps[k]!.startUtcMs + (steps[k]!.durationMin ?? plan.stepMin) * MIN;
  assert.ok(steps.length > 10);
  for (const p of points) {
    assert.equal(p.measurement, PLAN_PREDICTION);
    assert.deepEqual(Object.keys(p.tags).sort(), ['id', 'kind', 'slot']);
    assert.equal(p.tags['slot'], SLOT);
    assert.equal(p.fields['planId'], plan.planId);
  }
  const s0 = network.stations[0]!.id;
  // Flows are step means at the step's start; the level is the level at the step's end.
  assert.equal(find(points, 'station', s0, start(3))!.fields['pumpedM3h'], 200.03);
  assert.equal(find(points, 'station', s0, end(3))!.fields['levelM'], 0.03);
  assert.equal(find(points, 'plant', network.plants[1]!.id, start(5))!.fields['inflowM3h'], 1001.05);
  assert.equal(find(points, 'interconnection', network.interconnections[0]!.id, start(2))!.fields['transferM3h'], 300.02);
  assert.equal(find(points, 'tank', network.tanks[0]!.id, end(0))!.fields['volumeM3'], 500);
  assert.equal(find(points, 'network', network.id, start(7))!.fields['energyKwh'], 50.07);
  assert.equal(find(points, 'network', network.id, start(7))!.fields['costCny'], 30.07);
  // Risk at the first step, on the object's own series.
  assert.equal(find(points, 'station', s0, start(0))!.fields['overflowProbability'], 1 / 3);
  assert.equal(find(points, 'station', s0, start(0))!.fields['worstOverflowM3'], 24);
  // The plan's index point at its creation time, with the horizon totals.
  const index = find(points, 'plan', network.id, plan.createdAtUtcMs)!;
  assert.deepEqual(index.fields, { planId: plan.planId, planner: 'mpc', operatingMode: plan.operatingMode, steps: steps.length, energyKwh: 1234, costCny: 567, overflowM3: 8, bypassM3: 0, scenarioCount: 3 });
  // One point per series and time: a step's end level and the next step's flows share a point.
  const keys = points.map((p) => `${p.tags['kind']}/${p.tags['id']}/${p.timeUtcMs}`);
  assert.equal(new Set(keys).size, keys.length);
  const stationPoints = points.filter((p) => p.tags['kind'] === 'station' && p.tags['id'] === s0);
  assert.equal(stationPoints.length, steps.length + 1, 'step starts plus the last step’s end');
});

test('a plan without a prediction (rule-based, emergency) writes only its index point', () => {
  const plan = ruleBasedPlan({ planId: 'plan-flood-x-e1-r2', network, snapshot, forecast: null, nowUtcMs: NOW });
  const points = planPredictionPoints(plan, 'flood-5');
  assert.equal(points.length, 1);
  assert.deepEqual(points[0]!.tags, { slot: 'flood-5', id: network.id, kind: 'plan' });
  assert.equal(points[0]!.fields['planId'], 'plan-flood-x-e1-r2');
});

test('a prediction off the step grid or not finite is refused, naming plan, object and field', () => {
  const short = predictedPlan();
  short.predicted!.stations[1]!.levelM.pop();
  assert.throws(() => planPredictionPoints(short, SLOT), (e: Error) => e instanceof PlanPredictionError && e.message.includes(`station ${network.stations[1]!.id} levelM has`) && e.message.includes(short.planId));
  const nan = predictedPlan();
  nan.predicted!.plants[0]!.bypassM3h[4] = Number.NaN;
  assert.throws(() => planPredictionPoints(nan, SLOT), (e: Error) => e instanceof PlanPredictionError && e.message.includes(`plant ${network.plants[0]!.id} bypassM3h[4] is NaN`));
});

test('buildPlan writes the predictions with the setpoints in one write, and nothing when the prediction is broken', async () => {
  const writes: SeriesPoint[][] = [];
  const influx: InfluxConnector = { write: async (p) => (writes.push([...p]), p.length), query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };
  const opcua = {} as OpcUaConnector;
  let next = predictedPlan();
  const planner: Planner = { name: 'fixed', plan: async (r) => ({ ...next, planId: r.planId }) };
  const io = createDispatchActivities({ network, opcua, influx, forecast: { fetchCatchmentRain: () => Promise.reject(new Error('unused')) }, planner, now: () => NOW });
  await io.buildPlan({ planId: 'p1', snapshot, forecast: null });
  assert.equal(writes.length, 1);
  const measurements = new Set(writes[0]!.map((p) => p.measurement));
  assert.deepEqual([...measurements].sort(), ['plan_prediction', 'plan_setpoint']);
  const levels = writes[0]!.filter((p) => p.measurement === PLAN_PREDICTION && p.tags['kind'] === 'station' && 'levelM' in p.fields);
  assert.equal(levels.length, network.stations.length * next.steps.length);
  assert.ok(writes[0]!.every((p) => p.fields['planId'] === 'p1' && p.tags['slot'] === planSeriesSlot('p1', snapshot.readAtUtcMs) && !('plan' in p.tags)));

  next = predictedPlan();
  next.predicted!.transfers[0]!.transferM3h[0] = Number.POSITIVE_INFINITY;
  await assert.rejects(io.buildPlan({ planId: 'p2', snapshot, forecast: null }), (e: Error & { type?: string; nonRetryable?: boolean }) => e.type === 'PlanPredictionError' && e.nonRetryable === true);
  assert.equal(writes.length, 1, 'no partial write');
});

test('plan slots are bounded and keep apart every two plans whose points could share a time', () => {
  const DAY = 86_400_000;
  const cycleMin = PLAN_SLOT_CYCLE_DAYS * 24 * 60;
  // Every cycle plan of a year at 15-minute cycles, and a flood plan each 30 minutes beside them.
  const slots = new Set<string>();
  for (let t = NOW; t < NOW + 365 * DAY; t += 15 * MIN) {
    slots.add(planSeriesSlot(`plan-dispatch-cycle-ref-${t}`, t));
    if ((t / MIN) % 30 === 0) slots.add(planSeriesSlot(`plan-flood-ref-${t}-e1-r1`, t));
  }
  assert.equal(slots.size, (cycleMin / 15) * 1.5, 'a year of plans uses the slots of one cycle, no more');
  // Plans created within the horizon's reach of each other (168 h, the schema's limit) never share a slot.
  const seen = new Map<string, number>();
  for (let t = NOW; t < NOW + 30 * DAY; t += 7 * MIN) {
    const slot = planSeriesSlot('plan-dispatch-cycle-x', t);
    const before = seen.get(slot);
    if (before !== undefined) assert.ok(t - before >= 168 * 3_600_000, `${slot} reused after ${(t - before) / 3_600_000} h`);
    seen.set(slot, t);
  }
  // A cycle plan and a flood plan of the same minute stay apart; so do two minutes.
  assert.notEqual(planSeriesSlot('plan-dispatch-cycle-a', NOW), planSeriesSlot('plan-flood-ref-e1-r1', NOW));
  assert.notEqual(planSeriesSlot('plan-dispatch-cycle-a', NOW), planSeriesSlot('plan-dispatch-cycle-b', NOW + MIN));
  assert.throws(() => planSeriesSlot('p', Number.NaN), PlanPredictionError);
  // Event buckets: a fixed set, the same for the same id in every process.
  const buckets = new Set(Array.from({ length: 5000 }, (_, i) => planEventBucket(`plan-dispatch-cycle-ref-${i}`)));
  assert.equal(buckets.size, 16);
  assert.equal(planEventBucket('plan-dispatch-cycle-ref-2026-07-01T00:00:00Z'), planEventBucket('plan-dispatch-cycle-ref-2026-07-01T00:00:00Z'));
});
