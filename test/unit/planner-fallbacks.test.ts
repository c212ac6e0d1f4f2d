// The fallbacks and what the planner assumes: the previous plan shifted to now and the rule-based plan keep
// every setpoint (stations, tanks, transfers, every step) inside its envelope; defaulted inputs are said in
// plan.assumptions; pumps out of service are neither allowed nor hidden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope, NetworkConfig } from '../../network/schema.js';
import { insideEnvelope } from '../../planner/envelope.js';
import { exampleNetwork } from '../../planner/examples.js';
import { planWithOptimiser, shiftPreviousPlan, type PlannerState } from '../../planner/mpc.js';
import type { Plan } from '../../planner/types.js';

const t0 = Date.UTC(2026, 6, 1, 6);

/** W1 (fixed speed) and E1 (VFD) joined by X1; E1 spills into the combined-sewer tank CS1, whose gate never fully shuts. */
function linkedNetwork(): NetworkConfig {
  const net = structuredClone(
    exampleNetwork({
      stations: [
        { id: 'W1', areaM2: 80, pumpCount: 3, pumpM3h: 120, standbyPumps: 1, to: 'WP', travelMin: 30 },
        { id: 'E1', areaM2: 60, pumpCount: 2, pumpM3h: 150, kind: 'vfd', to: 'EP', travelMin: 20 },
      ],
      plants: [{ id: 'WP', capacityM3h: 300 }, { id: 'EP', capacityM3h: 400 }],
      interconnections: [{ id: 'X1', a: 'W1', b: 'E1', capacityM3h: 100, travelMin: 15 }],
      tanks: [{ id: 'CS1', kind: 'combined-sewer', node: 'E1', capacityM3: 1500, inletMaxM3h: 100, outletMaxM3h: 80, outletSpecificEnergyKwhM3: 0, overflowTo: 'EP', outletMain: { to: 'EP', travelMin: 10 } }],
      planning: { stepMin: 15, horizonH: 12, cycleMin: 15 },
    }),
  );
  net.tanks[0]!.envelope.outletM3h.min = 10; // a throttle minimum: the gate never fully shuts
  net.stations[1]!.envelope.flowSetpointM3h.min = 45; // the VFD's minimum-speed flow
  return net;
}

const flat = (nodeId: string, v: number, n = 60) => ({ nodeId, flowM3h: Array<number>(n).fill(v) });

/** Every setpoint of every step inside its envelope and within its rate of change from the value before (the first from the state's). */
function assertInsideEnvelopes(network: NetworkConfig, plan: Plan, state: PlannerState) {
  const previous = new Map<string, number>();
  const check = (key: string, value: number, envelope: Envelope, minutes: number, initial: number | null | undefined) => {
    assert.ok(insideEnvelope(value, envelope), `${key} = ${value} outside [${envelope.min}, ${envelope.max}]`);
    const before = previous.get(key) ?? initial ?? null;
    if (before !== null && before >= envelope.min && before <= envelope.max) {
      assert.ok(Math.abs(value - before) <= envelope.maxChangePerMin * minutes + 1e-9, `${key} moves ${before} → ${value} in ${minutes} min`);
    }
    previous.set(key, value);
  };
  plan.steps.forEach((step, i) => {
    const minutes = i === 0 ? network.planning.cycleMin : (plan.steps[i - 1]!.durationMin ?? plan.stepMin);
    for (const sp of step.stations) {
      const station = network.stations.find((s) => s.id === sp.stationId)!;
      const st = state.stations.find((s) => s.stationId === sp.stationId);
      check(`${sp.stationId}.start`, sp.startLevelM, station.envelope.startLevelM, minutes, st?.startLevelSpM);
      check(`${sp.stationId}.stop`, sp.stopLevelM, station.envelope.stopLevelM, minutes, st?.stopLevelSpM);
      check(`${sp.stationId}.flow`, sp.flowM3h, station.envelope.flowSetpointM3h, minutes, st?.flowSpM3h);
      assert.ok(sp.stopLevelM < sp.startLevelM, `${sp.stationId}: stop ${sp.stopLevelM} below start ${sp.startLevelM}`);
      assert.ok(Number.isInteger(sp.pumpsAllowed) && sp.pumpsAllowed >= 0 && sp.pumpsAllowed <= station.pumps.length, `${sp.stationId}: pumps allowed ${sp.pumpsAllowed}`);
    }
    for (const x of step.transfers) {
      const link = network.interconnections.find((l) => l.id === x.interconnectionId)!;
      check(`${x.interconnectionId}.transfer`, x.transferM3h, link.envelope.transferM3h, minutes, state.transfers?.find((t) => t.interconnectionId === x.interconnectionId)?.transferM3h);
    }
    for (const t of step.tanks) {
      const tank = network.tanks.find((k) => k.id === t.tankId)!;
      const tk = state.tanks?.find((k) => k.tankId === t.tankId);
      check(`${t.tankId}.inlet`, t.inletM3h, tank.envelope.inletM3h, minutes, tk?.inletSpM3h);
      check(`${t.tankId}.outlet`, t.outletM3h, tank.envelope.outletM3h, minutes, tk?.outletSpM3h);
    }
  });
}

const linkedState = (readAtUtcMs: number): PlannerState => ({
  readAtUtcMs,
  stations: [
    { stationId: 'W1', levelM: 1.5, pumpsAvailable: 3, mode: 'remote' },
    { stationId: 'E1', levelM: 1.5, pumpsAvailable: 2, mode: 'remote' },
  ],
  tanks: [{ tankId: 'CS1', volumeM3: 0, inletSpM3h: 0, outletSpM3h: 10 }],
  transfers: [{ interconnectionId: 'X1', transferM3h: 0 }],
});

test('the previous plan shifted to now: every step of every station, tank and transfer is clamped, chained from the setpoints in force', async () => {
  const network = linkedNetwork();
  const good = await planWithOptimiser({ planId: 'good', network, state: linkedState(t0), inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 100), flat('E1', 100)] }, nowUtcMs: t0 });
  assert.equal(good.planner, 'mpc');
  // A plan made under older, wider envelopes (or edited): later steps far outside today's envelopes.
  const previous = structuredClone(good);
  previous.steps[3]!.stations[0]!.startLevelM = 3.9; // W1 start envelope max 3.5
  previous.steps[3]!.stations[1]!.flowM3h = 5000; // E1 flow max 300
  previous.steps[3]!.tanks[0]!.outletM3h = 500; // CS1 outlet max 80
  previous.steps[1]!.tanks[0]!.inletM3h = 999; // CS1 inlet max 100
  previous.steps[1]!.transfers[0]!.transferM3h = 777; // X1 ±100
  previous.steps[5]!.tanks[0]!.outletM3h = 0; // below the gate's minimum 10
  const now = t0 + 20 * 60_000;
  const state = linkedState(now);
  const shifted = shiftPreviousPlan(previous, network, state, 'again', now);
  assert.ok(shifted);
  assertInsideEnvelopes(network, shifted, state);
  // The clamps are listed with their step.
  for (const [objectId, setpoint] of [['W1', 'startLevelM'], ['E1', 'flowM3h'], ['CS1', 'outletM3h'], ['CS1', 'inletM3h'], ['X1', 'transferM3h']] as const) {
    assert.ok(shifted.clamped.some((c) => c.objectId === objectId && c.setpoint === setpoint && c.startUtcMs !== undefined && c.startUtcMs > shifted.steps[0]!.startUtcMs - 1), `${objectId}.${setpoint} clamp listed: ${JSON.stringify(shifted.clamped)}`);
  }
  // Through the planner's own fallback too (an inflow the model cannot use forces it).
  const fallback = await planWithOptimiser({ planId: 'again', network, state, inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 1e308), flat('E1', 100)] }, nowUtcMs: now, previousPlan: previous });
  assert.equal(fallback.fallback?.kind, 'previous-plan');
  assertInsideEnvelopes(network, fallback, state);
});

test('a previous plan with a step of no length is refused at once (rule-based plan), not repeated for ever', async () => {
  const network = linkedNetwork();
  const good = await planWithOptimiser({ planId: 'good', network, state: linkedState(t0), inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 100), flat('E1', 100)] }, nowUtcMs: t0 });
  const negative = structuredClone(good);
  negative.steps[negative.steps.length - 1]!.durationMin = -15;
  assert.throws(() => shiftPreviousPlan(negative, network, linkedState(t0), 'again', t0 + 5 * 60_000), /steps\[\d+\]\.durationMin is not a positive number/);
  const zero = structuredClone(good);
  zero.stepMin = 0;
  for (const step of zero.steps) delete step.durationMin;
  assert.throws(() => shiftPreviousPlan(zero, network, linkedState(t0), 'again', t0 + 5 * 60_000), /stepMin is not a positive number of minutes/);
  const started = Date.now();
  const plan = await planWithOptimiser({ planId: 'again', network, state: linkedState(t0), inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 1e308)] }, nowUtcMs: t0 + 5 * 60_000, previousPlan: zero });
  assert.equal(plan.fallback?.kind, 'rule-based');
  assert.match(plan.fallback.reason.en, /stepMin is not a positive number/);
  assert.ok(Date.now() - started < 20_000, 'answered promptly');
});

test('the rule-based plan keeps tank, transfer and flow setpoints inside their envelopes, explains every object, and says when no rain forecast was given', async () => {
  const network = linkedNetwork();
  network.interconnections[0]!.envelope.transferM3h.min = 5; // a link that never fully closes
  const state: PlannerState = { ...linkedState(t0), tanks: [{ tankId: 'CS1', volumeM3: 400, inletSpM3h: 0, outletSpM3h: 10 }] };
  // An inflow the model cannot use: the rule-based plan (no previous plan).
  const plan = await planWithOptimiser({ planId: 'rb', network, state, inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 1e308), flat('E1', 100)] }, nowUtcMs: t0 });
  assert.equal(plan.planner, 'rule-based');
  assertInsideEnvelopes(network, plan, state);
  for (const id of ['W1', 'E1', 'CS1', 'X1', 'WP', 'EP']) {
    const reason = plan.reasons.find((r) => r.objectId === id)?.reason;
    assert.ok(reason && /[\u4e00-\u9fff]/.test(reason.zh) && /[A-Za-z]{3}/.test(reason.en), `reason for ${id}: ${JSON.stringify(reason)}`);
  }
  // No forecast was given: the reason says so, rather than "0.0 mm forecast".
  const w1 = plan.reasons.find((r) => r.objectId === 'W1')!.reason;
  assert.doesNotMatch(w1.en, /0\.0 mm/);
  assert.match(w1.en, /No rain forecast available/);
  assert.match(w1.zh, /无降雨预报/);
  // CS1 holds 400 m³ and no rain is expected: its gate empties it (80 m³/h for 5 h), then returns to its minimum.
  const outlets = plan.steps.map((s) => s.tanks[0]!.outletM3h);
  assert.ok(outlets[1]! > 10 && outlets[1]! <= 80, `CS1 outlet ${outlets.slice(0, 4).join(', ')}`);
  const drained = outlets.reduce((a, q) => a + (q * plan.stepMin) / 60, 0);
  assert.ok(drained >= 400 - 1e-6, `CS1 drained ${drained} m³ of 400`);
  assert.equal(outlets[outlets.length - 1], 10);
  assert.match(plan.reasons.find((r) => r.objectId === 'CS1')!.reason.en, /about 400 m³ in the tank, emptied through its outlet/);
});
