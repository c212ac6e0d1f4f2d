// The fallbacks and what the planner assumes: the previous plan shifted to now and the rule-based plan keep
// every setpoint (stations, tanks, transfers, every step) inside its envelope; defaulted inputs are said in
// plan.assumptions; pumps out of service are neither allowed nor hidden.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import type { NetworkConfig } from '../../network/schema.js';
import { exampleNetwork } from '../../planner/examples.js';
import { planWithOptimiser, shiftPreviousPlan, type PlannerState } from '../../planner/mpc.js';
import type { Plan } from '../../planner/types.js';
import { assertInsideEnvelopes } from '../support/plan-envelopes.js';

const HOUR = 3_600_000;
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

/** The reference network (for a real catchment and dry-weather pattern). */
const reference = (): NetworkConfig => parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));

const flat = (nodeId: string, v: number, n = 60) => ({ nodeId, flowM3h: Array<number>(n).fill(v) });


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

test('a station with no pump available is allowed none, and its reason says how many are out', async () => {
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 50, pumpCount: 3, pumpM3h: 100, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }], planning: { stepMin: 15, horizonH: 6, cycleMin: 15 } });
  const run = (pumpsAvailable: number) =>
    planWithOptimiser({ planId: `p${pumpsAvailable}`, network, state: { readAtUtcMs: t0, stations: [{ stationId: 'S1', levelM: 1.5, pumpsAvailable, mode: 'remote' }] }, inflow: { startUtcMs: t0, stepMin: 15, series: [flat('S1', 120, 24)] }, nowUtcMs: t0 });
  const none = await run(0);
  assert.equal(none.planner, 'mpc', JSON.stringify(none.fallback));
  for (const step of none.steps) assert.equal(step.stations[0]!.pumpsAllowed, 0, `step ${new Date(step.startUtcMs).toISOString()}`);
  const reason = none.reasons.find((r) => r.objectId === 'S1')!.reason;
  assert.match(reason.en, /0\/3 pumps available/);
  assert.match(reason.zh, /可用泵0\/3台/);
  assert.doesNotMatch(reason.en, /up to 1 pump/);
  const one = await run(1);
  assert.ok(one.steps.every((s) => s.stations[0]!.pumpsAllowed <= 1));
  assert.match(one.reasons.find((r) => r.objectId === 'S1')!.reason.en, /1\/3 pumps available/);
  const all = await run(3);
  assert.doesNotMatch(all.reasons.find((r) => r.objectId === 'S1')!.reason.en, /pumps available/);
});

test('every defaulted state field is said in the plan; an unknown tank volume is taken as full', async () => {
  const network = linkedNetwork();
  const state: PlannerState = {
    readAtUtcMs: t0,
    stations: [
      { stationId: 'W1', levelM: 1.5, pumpsAvailable: null, mode: null },
      { stationId: 'E1', levelM: 1.5, pumpsAvailable: 2, mode: 'remote' },
    ],
    tanks: [{ tankId: 'CS1', volumeM3: null }],
    transfers: [{ interconnectionId: 'X1', transferM3h: null }],
  };
  const plan = await planWithOptimiser({ planId: 'nulls', network, state, inflow: { startUtcMs: t0, stepMin: 15, series: [flat('W1', 100), flat('E1', 100)] }, nowUtcMs: t0 });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  const notes = plan.assumptions ?? [];
  const find = (re: RegExp, zh: RegExp) => {
    const n = notes.find((a) => re.test(a.en));
    assert.ok(n && zh.test(n.zh), `${re}: ${JSON.stringify(notes)}`);
  };
  find(/Pumps available unknown at W1: all installed pumps assumed available/, /W1可用泵数未知/);
  find(/Control mode unknown at W1: remote control assumed/, /W1控制方式未知/);
  find(/Tank volume unknown at CS1: assumed full/, /CS1池容未知，按满池计/);
  find(/Transfer unknown at X1: none assumed under way/, /X1调水流量未知/);
  assert.ok(!notes.some((a) => /E1/.test(a.en)), 'E1 gave every field');
  // Full, not empty: the plan starts from the tank's capacity (and empties it through the gate).
  const cs1 = plan.predicted!.tanks.find((t) => t.tankId === 'CS1')!;
  assert.ok(cs1.volumeM3[0]! > 1500 - 80, `CS1 starts at ${cs1.volumeM3[0]} m³`);
});

test('inflow defaults are said per node and member; a forecast off the horizon is refused; members alone are planned on', async () => {
  const network = exampleNetwork({
    stations: [
      { id: 'A', areaM2: 50, pumpCount: 3, pumpM3h: 100, to: 'P1' },
      { id: 'B', areaM2: 50, pumpCount: 3, pumpM3h: 100, to: 'P1' },
    ],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
    planning: { stepMin: 15, horizonH: 12, cycleMin: 15 },
  });
  const state: PlannerState = { readAtUtcMs: t0, stations: ['A', 'B'].map((stationId) => ({ stationId, levelM: 1.5, pumpsAvailable: 3, mode: 'remote' as const })) };
  const plan = (inflow: Parameters<typeof planWithOptimiser>[0]['inflow']) => planWithOptimiser({ planId: 'i', network, state, inflow, nowUtcMs: t0 });
  const notesOf = (p: Plan) => (p.assumptions ?? []).map((a) => `${a.en} | ${a.zh}`).join('\n');

  // B has no series and no catchment; A's member m1 gives two values only; m2 has no B either.
  const unequal = await plan({ startUtcMs: t0, stepMin: 15, series: [flat('A', 150)], members: [{ id: 'm1', series: [{ nodeId: 'A', flowM3h: [500, 500] }, flat('B', 80)] }, { id: 'm2', series: [flat('A', 150, 20)] }] });
  assert.equal(unequal.planner, 'mpc', JSON.stringify(unequal.fallback));
  const notes = notesOf(unequal);
  assert.match(notes, /No inflow series and no catchment for B \(deterministic\); B \(m2\): zero inflow assumed\. \| .*无进水预测且无汇水区/);
  assert.match(notes, /Inflow forecast ends before the horizon \(A \(m1\); A \(m2\)\); its last values are held\. \| 进水预测短于计划时域/);

  // A forecast starting 4 h after now: its first value back-filled, and said.
  const future = await plan({ startUtcMs: t0 + 4 * HOUR, stepMin: 15, series: [flat('A', 150), flat('B', 150)] });
  assert.match(notesOf(future), /Inflow forecast starts 4\.0 h after the plan \(A, B\): its first values are held back to now\. \| 进水预测晚于方案起点4\.0小时开始/);

  // A forecast from a year ago does not overlap the horizon: refused (the fallback says why).
  const old = await plan({ startUtcMs: t0 - 365 * 24 * HOUR, stepMin: 15, series: [flat('A', 150), flat('B', 150)] });
  assert.equal(old.planner, 'rule-based');
  assert.match(old.fallback!.reason.en, /does not overlap the planning horizon/);

  // Members only: the first member is planned on and shown, not an all-zero deterministic scenario.
  const membersOnly = await plan({ startUtcMs: t0, stepMin: 15, series: [], members: [{ id: 'm1', series: [flat('A', 150), flat('B', 150)] }, { id: 'm2', series: [flat('A', 200), flat('B', 200)] }] });
  assert.equal(membersOnly.planner, 'mpc', JSON.stringify(membersOnly.fallback));
  assert.equal(membersOnly.predicted!.scenarioId, 'm1');
  assert.equal(membersOnly.predicted!.scenarioCount, 2);
  assert.ok(Math.abs(membersOnly.predicted!.stations[0]!.inflowM3h[3]! - 150) < 1e-6);
  assert.ok(membersOnly.predicted!.energyKwh > 100, `energy ${membersOnly.predicted!.energyKwh} kWh`);
  assert.match(notesOf(membersOnly), /No deterministic inflow series: ensemble member m1 is shown/);
});

test('a storm in the inflow of a station without catchments, or upstream of a transfer station, is not planned as dry weather: the pumps the plan uses are allowed', async () => {
  // One station, no catchment: 330 m³/h for three hours against two duty pumps of 100 m³/h and one standby.
  const network = exampleNetwork({ stations: [{ id: 'S1', areaM2: 50, pumpCount: 3, pumpM3h: 100, standbyPumps: 1, to: 'P1' }], plants: [{ id: 'P1', capacityM3h: 1000 }], planning: { stepMin: 15, horizonH: 12, cycleMin: 15 } });
  const flow = Array.from({ length: 48 }, (_, i) => (i >= 12 && i < 24 ? 330 : 60));
  const plan = await planWithOptimiser({ planId: 'storm', network, state: { readAtUtcMs: t0, stations: [{ stationId: 'S1', levelM: 1.5, pumpsAvailable: 3, mode: 'remote' }] }, inflow: { startUtcMs: t0, stepMin: 15, series: [{ nodeId: 'S1', flowM3h: flow }] }, nowUtcMs: t0 });
  assert.equal(plan.planner, 'mpc', JSON.stringify(plan.fallback));
  const p = plan.predicted!.stations[0]!;
  let standbySteps = 0;
  plan.steps.forEach((step, i) => {
    const needed = Math.ceil(p.pumpedM3h[i]! / 100 - 0.05);
    assert.ok(step.stations[0]!.pumpsAllowed >= needed, `${new Date(step.startUtcMs).toISOString()}: ${step.stations[0]!.pumpsAllowed} allowed for ${p.pumpedM3h[i]} m³/h`);
    if (p.standbyM3h[i]! >= 1) standbySteps++;
  });
  assert.ok(standbySteps > 0, 'the plan uses the standby pump');
  assert.equal(plan.operatingMode, 'flood-drawdown');
  const reason = plan.reasons.find((r) => r.objectId === 'S1')!.reason;
  assert.doesNotMatch(reason.en, /dry weather\)/);
  assert.match(reason.en, /No dry-weather baseline \(no catchment\), so rain cannot be told from dry weather; inflow exceeds the duty pumps \(200 m³\/h\) from 09:00/);
  assert.match(reason.zh, /无旱季流量基线/);

  // A transfer station fed only from above: A's catchment rains, B has none of its own.
  const chain = exampleNetwork({
    stations: [
      { id: 'A', areaM2: 50, pumpCount: 3, pumpM3h: 200, to: 'B', travelMin: 15 },
      { id: 'B', areaM2: 50, pumpCount: 3, pumpM3h: 150, standbyPumps: 1, to: 'P1' },
    ],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
    planning: { stepMin: 15, horizonH: 12, cycleMin: 15 },
  });
  chain.catchments.push({ ...structuredClone(reference().catchments[0]!), id: 'C-A', node: 'A' });
  chain.dwfPatterns.push(...structuredClone(reference().dwfPatterns));
  // The catchment's dry-weather flow is 150–320 m³/h over these hours.
  const wet = Array.from({ length: 48 }, (_, i) => (i >= 8 && i < 20 ? 600 : 250));
  const fed = await planWithOptimiser({ planId: 'fed', network: chain, state: { readAtUtcMs: t0, stations: ['A', 'B'].map((stationId) => ({ stationId, levelM: 1.5, pumpsAvailable: 3, mode: 'remote' as const })) }, inflow: { startUtcMs: t0, stepMin: 15, series: [{ nodeId: 'A', flowM3h: wet }] }, nowUtcMs: t0 });
  assert.equal(fed.planner, 'mpc', JSON.stringify(fed.fallback));
  const b = fed.predicted!.stations.find((s) => s.stationId === 'B')!;
  assert.ok(b.standbyM3h.some((q) => q >= 1), 'B needs its standby pump');
  fed.steps.forEach((step, i) => {
    const sp = step.stations.find((s) => s.stationId === 'B')!;
    assert.ok(sp.pumpsAllowed >= Math.ceil(b.pumpedM3h[i]! / 150 - 0.05), `B ${new Date(step.startUtcMs).toISOString()}: ${sp.pumpsAllowed} allowed for ${b.pumpedM3h[i]} m³/h`);
  });
  assert.match(fed.reasons.find((r) => r.objectId === 'B')!.reason.en, /Rain upstream: inflow at A above dry weather/);
});

test('explanations name what blocks a transfer and what keeps a tank full, instead of "not needed" and the turnover target', async () => {
  const network = linkedNetwork();
  network.tanks[0]!.envelope.outletM3h.min = 0;
  network.stations[1]!.envelope.flowSetpointM3h.min = 0;
  // E1 full with 600 m³/h coming in (its pumps give 300), CS1 full; W1's side has room.
  const state: PlannerState = { ...linkedState(t0), stations: [{ stationId: 'W1', levelM: 1.5, pumpsAvailable: 3, mode: 'remote' }, { stationId: 'E1', levelM: 4, pumpsAvailable: 2, mode: 'remote' }], tanks: [{ tankId: 'CS1', volumeM3: 1500 }] };
  const inflow = { startUtcMs: t0, stepMin: 15, series: [flat('W1', 100), flat('E1', 600)] };
  const capped = await planWithOptimiser({ planId: 'cap0', network, state, inflow, nowUtcMs: t0, constraints: { transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 0 }] } });
  assert.equal(capped.planner, 'mpc', JSON.stringify(capped.fallback));
  const x1 = capped.reasons.find((r) => r.objectId === 'X1')!.reason;
  assert.doesNotMatch(x1.en, /No transfer needed/);
  assert.match(x1.en, /No transfer although E1 .*E1→W1 is shut by the dispatcher's cap of 0 m³\/h/);
  assert.match(x1.zh, /E1→W1被调度员限值0立方米\/时关闭/);
  const e1 = capped.reasons.find((r) => r.objectId === 'E1')!.reason;
  assert.match(e1.en, /cannot be avoided .*it is the least possible with X1 capped by the dispatcher at 0 m³\/h/);
  assert.match(e1.zh, /X1调度员限值0立方米\/时/);
  // Without the cap the link is used, and the station's overflow reason blames no cap.
  const free = await planWithOptimiser({ planId: 'nocap', network, state, inflow, nowUtcMs: t0 });
  assert.match(free.reasons.find((r) => r.objectId === 'X1')!.reason.en, /moves about [\d,]+ m³ from E1 to W1/);
  assert.doesNotMatch(free.reasons.find((r) => r.objectId === 'E1')!.reason.en, /capped by the dispatcher/);

  // A storage tank whose outlet the envelope holds shut cannot empty: the reason says what stays, not the target.
  const shut = exampleNetwork({
    stations: [{ id: 'B', areaM2: 50, pumpCount: 3, pumpM3h: 100, to: 'P1' }],
    plants: [{ id: 'P1', capacityM3h: 1000 }],
    tanks: [{ id: 'T1', kind: 'offline', node: 'B', capacityM3: 800, inletMaxM3h: 200, outletMaxM3h: 100, outletSpecificEnergyKwhM3: 0 }],
    planning: { stepMin: 15, horizonH: 30, cycleMin: 15 },
  });
  shut.tanks[0]!.envelope.outletM3h = { min: 0, max: 0, maxChangePerMin: 1 };
  const standing = await planWithOptimiser({ planId: 'shut', network: shut, state: { readAtUtcMs: t0, stations: [{ stationId: 'B', levelM: 1.5, pumpsAvailable: 3, mode: 'remote' }], tanks: [{ tankId: 'T1', volumeM3: 260 }] }, inflow: { startUtcMs: t0, stepMin: 15, series: [flat('B', 100, 30 * 4)] }, nowUtcMs: t0 });
  assert.equal(standing.planner, 'mpc', JSON.stringify(standing.fallback));
  const t1 = standing.reasons.find((r) => r.objectId === 'T1')!.reason;
  assert.doesNotMatch(t1.en, /empty again by/);
  assert.match(t1.en, /drawn down as fast as its outlet allows \(0 m³\/h\): about 260 m³ still stands at 06:00 \(\+1d\), so some sewage stands longer than a day/);
  assert.match(t1.zh, /仍存约260立方米/);
});
