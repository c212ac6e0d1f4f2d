// The emergency plan on the reference network (drawdown timed before onset with the flood-season levels,
// transfer toward the plant with spare capacity, standby pumps, overflow ranking, crew tasks with
// locations, the approver by level) and the post-event report built from an event log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildEmergencyPlan, overflowPointWarnings, standDownPlan } from '../../flood/emergency-plan.js';
import { buildFloodReport, summariseObservedRain } from '../../flood/report.js';
import { floodConfig, type FloodAssessment, type FloodEventLog, type ResponseLevel, type WarningLevel } from '../../flood/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { insideEnvelope } from '../../planner/envelope.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const H = 3_600_000;
const NOW = Date.UTC(2026, 6, 1, 0);
const config = floodConfig({ overflowPoints: [{ stationId: 'E7', receivingWater: 'sea-outfall' }, { stationId: 'W7', receivingWater: 'river' }] });

function assessment(warning: WarningLevel, response: ResponseLevel, rainyPrefix: string, max3hMm: number): FloodAssessment {
  return {
    networkId: network.id,
    assessedAtUtcMs: NOW,
    warning,
    response,
    bySource: { observed: 'none', forecast: warning },
    evidence: [],
    catchments: network.catchments.map((c) => {
      const rainy = c.node.startsWith(rainyPrefix);
      return {
        catchmentId: c.id,
        stationId: c.node,
        observed: { mm3h: 0, mm6h: 0, mm12h: 0, lastHourMm: 0, gaps: 0 },
        forecast: { max3hMm: rainy ? max3hMm : 2, max6hMm: rainy ? max3hMm * 1.3 : 3, max12hMm: rainy ? max3hMm * 1.6 : 4, totalMm: rainy ? max3hMm * 2 : 5, gaps: 0 },
        onsetUtcMs: rainy ? NOW + 6 * H : null,
        endUtcMs: rainy ? NOW + 18 * H : null,
        level: rainy ? warning : 'none',
      };
    }),
    onsetUtcMs: NOW + 6 * H,
    endUtcMs: NOW + 18 * H,
    stations: network.stations.map((s) => ({ stationId: s.id, levelM: 2.2, inflowM3h: 100, overflowM3h: 0, pumpsAvailable: s.id === 'E2' ? 1 : s.pumps.length, pumpsRunning: 1, mode: 'remote' })),
    plants: [
      { plantId: 'WP', inflowM3h: 1800, bypassM3h: 0 },
      { plantId: 'EP', inflowM3h: 3000, bypassM3h: 0 },
    ],
    tanks: [{ tankId: 'T1', volumeM3: 5000 }],
    forecastIssuedAtUtcMs: NOW,
    forecastSource: 'test',
    notes: [],
  };
}

test('level II (orange): every station drawn down to its flood-season level before onset, a supervisor approves', () => {
  const plan = buildEmergencyPlan({ emergencyPlanId: 'plan-flood-t-e1-r1', revision: 1, network, assessment: assessment('orange', 'II', 'W', 60), config, nowUtcMs: NOW });
  assert.equal(plan.response, 'II');
  assert.equal(plan.requiredRole, 'supervisor');
  assert.equal(plan.flowMode, 'high-flow');
  assert.equal(plan.drawdown.length, network.stations.length, 'level II draws every station down');
  for (const d of plan.drawdown) {
    const station = network.stations.find((s) => s.id === d.stationId)!;
    assert.equal(d.targetStartLevelM, station.levels.floodSeasonStartM);
    assert.equal(d.pumpsAllowed, station.pumps.length, 'standby pumps released');
    assert.ok(d.startByUtcMs <= NOW + 6 * H - config.drawdownMarginMin * 60_000, `${d.stationId} starts before onset minus the margin`);
    assert.ok(d.startByUtcMs >= NOW);
  }
  // The schedule: flood band from the drawdown start, normal band before it; always inside the envelopes.
  const w1 = plan.drawdown.find((d) => d.stationId === 'W1')!;
  for (const step of plan.setpointPlan.steps) {
    for (const sp of step.stations) {
      const s = network.stations.find((x) => x.id === sp.stationId)!;
      assert.ok(insideEnvelope(sp.startLevelM, s.envelope.startLevelM) && insideEnvelope(sp.stopLevelM, s.envelope.stopLevelM), `${sp.stationId} inside its envelope`);
    }
    const spW1 = step.stations.find((x) => x.stationId === 'W1')!;
    const inFlood = step.startUtcMs + network.planning.stepMin * 60_000 > w1.startByUtcMs;
    assert.equal(spW1.startLevelM, inFlood ? 1.5 : 2, `W1 at ${new Date(step.startUtcMs).toISOString()}`);
  }
  // Transfer toward the east plant, which has the spare capacity (6500 − 3000 vs 2500 − 1800).
  assert.equal(plan.transfers[0]?.interconnectionId, 'X1');
  assert.ok(plan.transfers[0].transferM3h > 0, 'W6 → E4 (a → b) toward EP');
  assert.equal(plan.transfers[0]?.towardPlantId, 'EP');
  assert.ok(plan.setpointPlan.steps.some((s) => s.transfers[0]!.transferM3h > 0));
  // Overflow ranking from the configuration: the sea outfall is least harmful.
  assert.deepEqual(plan.overflowPriority.slice(0, 2).map((p) => p.stationId), ['E7', 'W7']);
  // Crew tasks carry the station's coordinates; the station with a failed pump gets a mobile pump.
  assert.ok(plan.crewTasks.length > 0);
  for (const t of plan.crewTasks) assert.deepEqual(t.location, network.stations.find((s) => s.id === t.stationId)!.location);
  assert.ok(plan.crewTasks.some((t) => t.kind === 'mobile-pump' && t.stationId === 'E2'), JSON.stringify(plan.crewTasks.map((t) => `${t.kind}:${t.stationId}`)));
  assert.ok(plan.crewTasks.some((t) => t.kind === 'standby-pump-check'));
  assert.ok(plan.crewTasks.some((t) => t.kind === 'overflow-standby' && t.stationId === 'E7'));
  assert.deepEqual(new Set(plan.notifications.map((n) => n.audience)), new Set(['dispatcher', 'supervisor', 'crew']));
  // The tank is emptied before onset and takes the peak after it.
  const beforeOnset = plan.setpointPlan.steps.find((s) => s.startUtcMs < NOW + 6 * H)!;
  const duringRain = plan.setpointPlan.steps.find((s) => s.startUtcMs > NOW + 7 * H)!;
  assert.ok(beforeOnset.tanks[0]!.outletM3h > 0 && beforeOnset.tanks[0]!.inletM3h === 0);
  assert.ok(duringRain.tanks[0]!.inletM3h > 0 && duringRain.tanks[0]!.outletM3h === 0);
});

test('level IV (blue) on the west only: west stations drawn down, a dispatcher approves; stand-down restores normal bands', () => {
  const plan = buildEmergencyPlan({ emergencyPlanId: 'plan-flood-t-e1-r1', revision: 1, network, assessment: assessment('blue', 'IV', 'W', 25), config, nowUtcMs: NOW });
  assert.equal(plan.requiredRole, 'dispatcher');
  assert.deepEqual(plan.drawdown.map((d) => d.stationId).sort(), network.stations.filter((s) => s.id.startsWith('W')).map((s) => s.id).sort());
  assert.deepEqual(new Set(plan.notifications.map((n) => n.audience)), new Set(['dispatcher', 'crew']));
  const e1 = plan.setpointPlan.steps.at(-1)!.stations.find((s) => s.stationId === 'E1')!;
  assert.equal(e1.startLevelM, 2, 'east keeps its normal band');
  const back = standDownPlan(network, 'plan-flood-t-e1-standdown', NOW);
  assert.equal(back.steps.length, 1);
  assert.ok(back.steps[0]!.stations.every((s) => s.startLevelM === 2 && s.stopLevelM === 1));
  assert.ok(back.steps[0]!.transfers.every((t) => t.transferM3h === 0));
});

test('emergency and stand-down plans move from the bands SCADA holds no faster than the envelope allows', () => {
  const slow = structuredClone(network);
  for (const s of slow.stations) {
    s.envelope.startLevelM.maxChangePerMin = 0.005;
    s.envelope.stopLevelM.maxChangePerMin = 0.005;
  }
  const w1 = slow.stations.find((s) => s.id === 'W1')!;
  // Stand-down from a flood band held at W1: 0.075 m per 15-min step, so several steps, each within the rate.
  const held = { stationId: 'W1', startLevelSpM: w1.levels.pumpStartM - 0.5, stopLevelSpM: w1.levels.pumpStopM };
  const back = standDownPlan(slow, 'plan-standdown', NOW, [held]);
  const w1Steps = back.steps.map((st) => st.stations.find((x) => x.stationId === 'W1')!);
  assert.ok(back.steps.length > 2, `${back.steps.length} steps`);
  assert.ok(Math.abs(w1Steps[0]!.startLevelM - (held.startLevelSpM + 0.005 * slow.planning.cycleMin)) < 1e-9, `first step ${w1Steps[0]!.startLevelM}`);
  for (let k = 1; k < back.steps.length; k++) {
    const minutes = (back.steps[k]!.startUtcMs - back.steps[k - 1]!.startUtcMs) / 60_000;
    assert.ok(Math.abs(w1Steps[k]!.startLevelM - w1Steps[k - 1]!.startLevelM) <= 0.005 * minutes + 1e-9, `step ${k} within the rate`);
  }
  assert.equal(w1Steps.at(-1)!.startLevelM, w1.levels.pumpStartM, 'the last step is the normal band');
  assert.ok(back.clamped.some((c) => c.objectId === 'W1' && c.setpoint === 'startLevelM'));
  assert.equal(standDownPlan(slow, 'plan-standdown', NOW).steps.length, 1, 'nothing held known: one step, the range alone');

  // The emergency plan starts from the band held too (an assessment that read it).
  const a = assessment('orange', 'II', 'W', 60);
  a.stations = a.stations.map((c) => (c.stationId === 'W1' ? { ...c, startLevelSpM: w1.levels.pumpStartM, stopLevelSpM: w1.levels.pumpStopM } : c));
  const plan = buildEmergencyPlan({ emergencyPlanId: 'plan-flood-slow', revision: 1, network: slow, assessment: a, config, nowUtcMs: NOW });
  const steps = plan.setpointPlan.steps;
  const w1Flood = steps.map((st) => st.stations.find((x) => x.stationId === 'W1')!);
  for (let k = 1; k < steps.length; k++) {
    const minutes = (steps[k]!.startUtcMs - steps[k - 1]!.startUtcMs) / 60_000;
    assert.ok(Math.abs(w1Flood[k]!.startLevelM - w1Flood[k - 1]!.startLevelM) <= 0.005 * minutes + 1e-9, `emergency step ${k} within the rate`);
  }
  assert.ok(Math.abs(w1Flood[0]!.startLevelM - w1.levels.pumpStartM) <= 0.005 * slow.planning.cycleMin + 1e-9, 'the first step moves from the band held');
});

test('the post-event report: rain, levels, overflows, actions in time order, and the plan against the actual', () => {
  const rain = summariseObservedRain('C-W1', { timeUtcMs: [1, 2, 3, 4, 5, 6].map((h) => NOW + h * H), mm: [0, 10, 30, 25, 5, 0] }, NOW, NOW + 8 * H);
  assert.deepEqual([rain.totalMm, rain.max3hMm, rain.onsetUtcMs, rain.endUtcMs], [70, 65, NOW + H, NOW + 5 * H]);
  const event: FloodEventLog = {
    eventId: 'ref-2026-e1',
    networkId: network.id,
    startedAtUtcMs: NOW - 4 * H,
    endedAtUtcMs: NOW + 20 * H,
    peakWarning: 'orange',
    peakResponse: 'II',
    levels: [{ atUtcMs: NOW - 4 * H, warning: 'blue', response: 'IV', observed: 'none', forecast: 'blue' }],
    actions: [
      { atUtcMs: NOW - 3 * H, kind: 'plan-approved', detail: 'r1', by: 'wang' },
      { atUtcMs: NOW - 4 * H, kind: 'warning-raised', detail: 'blue' },
    ],
    stations: [
      { stationId: 'W1', maxLevelM: 3.2, maxLevelAtUtcMs: NOW + 3 * H, minLevelBeforeOnsetM: 1.5, overflowM3: 0, overflowSamples: 0 },
      { stationId: 'W2', maxLevelM: 4.0, maxLevelAtUtcMs: NOW + 3 * H, minLevelBeforeOnsetM: 2.1, overflowM3: 420.4, overflowSamples: 2 },
    ],
    firstForecast: { atUtcMs: NOW - 4 * H, onsetUtcMs: NOW, endUtcMs: NOW + 6 * H, catchments: [{ catchmentId: 'C-W1', max3hMm: 50, max12hMm: 70, totalMm: 80 }] },
    plans: [{ emergencyPlanId: 'p1', revision: 1, response: 'IV', proposedAtUtcMs: NOW - 4 * H, decidedAtUtcMs: NOW - 3 * H, decidedBy: 'wang', role: 'dispatcher', outcome: 'approved', planWorkflowId: 'p1', drawdownStations: 2, earliestStartByUtcMs: NOW - 3 * H, targetLevels: { W1: 1.5, W2: 1.5 } }],
    observedOnsetUtcMs: null,
  };
  const report = buildFloodReport(event, [rain], NOW + 21 * H);
  assert.equal(report.durationH, 24);
  assert.deepEqual(report.actions.map((a) => a.kind), ['warning-raised', 'plan-approved']);
  assert.equal(report.overflows.totalM3, 420);
  assert.deepEqual(report.overflows.stations.map((s) => s.stationId), ['W2']);
  assert.deepEqual(report.planAgainstActual.onset, { forecastUtcMs: NOW, observedUtcMs: NOW + H, errorMin: 60 });
  assert.deepEqual(report.planAgainstActual.rain[0], { catchmentId: 'C-W1', forecastMax3hMm: 50, observedMax3hMm: 65, forecastMax12hMm: 70, observedMax12hMm: 70, forecastTotalMm: 80, observedTotalMm: 70 });
  assert.deepEqual(report.planAgainstActual.drawdown.map((d) => d.reachedTarget), [true, false]);
  assert.match(report.summary.en, /peak level II/);
});

/** Worst breach of maxChangePerMin over a plan's transfers and tank flows, from the values held (first step over one cycle). */
function flowRateBreaches(net: typeof network, steps: { startUtcMs: number; transfers: { transferM3h: number }[]; tanks: { inletM3h: number; outletM3h: number }[] }[], held: { transfer: number; inlet: number; outlet: number }): string[] {
  const breaches: string[] = [];
  const check = (what: string, a: number, b: number, minutes: number, perMin: number) => {
    if (Math.abs(b - a) > perMin * minutes + 1e-9) breaches.push(`${what}: ${a} → ${b} in ${minutes} min (limit ${perMin}/min)`);
  };
  steps.forEach((st, k) => {
    const minutes = k === 0 ? net.planning.cycleMin : (st.startUtcMs - steps[k - 1]!.startUtcMs) / 60_000;
    const before = k === 0 ? { transfers: [{ transferM3h: held.transfer }], tanks: [{ inletM3h: held.inlet, outletM3h: held.outlet }] } : steps[k - 1]!;
    check(`step ${k} transfer`, before.transfers[0]!.transferM3h, st.transfers[0]!.transferM3h, minutes, net.interconnections[0]!.envelope.transferM3h.maxChangePerMin);
    check(`step ${k} tank inlet`, before.tanks[0]!.inletM3h, st.tanks[0]!.inletM3h, minutes, net.tanks[0]!.envelope.inletM3h.maxChangePerMin);
    check(`step ${k} tank outlet`, before.tanks[0]!.outletM3h, st.tanks[0]!.outletM3h, minutes, net.tanks[0]!.envelope.outletM3h.maxChangePerMin);
  });
  return breaches;
}

test('emergency and stand-down plans ramp transfers and tank inlet/outlet at the envelope rate, from the values SCADA holds', () => {
  // 5-min emergency steps on the reference envelopes (transfer 100, inlet 200, outlet 80 m³/h per min).
  const fast = floodConfig({ ...config, emergencyStepMin: 5 });
  const a = assessment('orange', 'II', 'W', 60);
  a.transfers = [{ interconnectionId: 'X1', transferSpM3h: 0 }];
  a.tanks = [{ tankId: 'T1', volumeM3: 5000, inletSpM3h: 0, outletSpM3h: 0 }];
  const plan = buildEmergencyPlan({ emergencyPlanId: 'plan-flood-ramp', revision: 1, network, assessment: a, config: fast, nowUtcMs: NOW });
  const steps = plan.setpointPlan.steps;
  assert.deepEqual(flowRateBreaches(network, steps, { transfer: 0, inlet: 0, outlet: 0 }), []);
  // The full amounts are still reached: the ramp limits the rate, not the plan.
  const transfer = plan.transfers[0]!.transferM3h;
  assert.ok(steps.some((s) => s.transfers[0]!.transferM3h === transfer), `transfer reaches ${transfer}`);
  assert.ok(steps.some((s) => s.tanks[0]!.inletM3h === 2000) && steps.some((s) => s.tanks[0]!.outletM3h === 800));
  // The outlet is closed by onset (its ramp down starts early), so the tank does not return water into the storm.
  for (const s of steps.filter((x) => x.startUtcMs >= NOW + 6 * H)) assert.equal(s.tanks[0]!.outletM3h, 0, new Date(s.startUtcMs).toISOString());
  assert.ok(plan.setpointPlan.clamped.some((c) => c.objectId === 'X1' && c.setpoint === 'transferM3h'));
  // An older assessment without the held flows still plans (the first step keeps to the range alone).
  const older = assessment('orange', 'II', 'W', 60);
  assert.ok(buildEmergencyPlan({ emergencyPlanId: 'plan-flood-old', revision: 1, network, assessment: older, config: fast, nowUtcMs: NOW }).setpointPlan.steps.length > 1);

  // Stand-down with slow flow envelopes from a transfer and a tank running at full: several steps, each within the rate, ending at 0.
  const slow = structuredClone(network);
  slow.interconnections[0]!.envelope.transferM3h.maxChangePerMin = 10;
  slow.tanks[0]!.envelope.inletM3h.maxChangePerMin = 20;
  slow.tanks[0]!.envelope.outletM3h.maxChangePerMin = 8;
  const held = { transfer: 900, inlet: 2000, outlet: 800 };
  const back = standDownPlan(slow, 'plan-standdown', NOW, [], { transfers: [{ interconnectionId: 'X1', transferSpM3h: held.transfer }], tanks: [{ tankId: 'T1', inletSpM3h: held.inlet, outletSpM3h: held.outlet }] });
  assert.ok(back.steps.length > 2, `${back.steps.length} steps`);
  assert.deepEqual(flowRateBreaches(slow, back.steps, held), []);
  const last = back.steps.at(-1)!;
  assert.deepEqual([last.transfers[0]!.transferM3h, last.tanks[0]!.inletM3h, last.tanks[0]!.outletM3h], [0, 0, 0]);
  assert.equal(back.steps[0]!.transfers[0]!.transferM3h, 900 - 10 * slow.planning.cycleMin, 'the first step moves from the transfer held');
});

test('an unknown wet-well level is planned as the worst case (the high alarm), and the reason says the level is unknown', () => {
  const known = assessment('yellow', 'III', 'W', 40);
  const unknown = assessment('yellow', 'III', 'W', 40);
  unknown.stations = unknown.stations.map((c) => ({ ...c, levelM: null }));
  const w6 = network.stations.find((s) => s.id === 'W6')!;
  known.stations = known.stations.map((c) => (c.stationId === 'W6' ? { ...c, levelM: w6.levels.highAlarmM } : c));
  const atAlarm = buildEmergencyPlan({ emergencyPlanId: 'p-known', revision: 1, network, assessment: known, config, nowUtcMs: NOW }).drawdown.find((d) => d.stationId === 'W6')!;
  const d = buildEmergencyPlan({ emergencyPlanId: 'p-unknown', revision: 1, network, assessment: unknown, config, nowUtcMs: NOW }).drawdown.find((x) => x.stationId === 'W6')!;
  assert.ok(d.estimatedDurationMin > 0, `${d.estimatedDurationMin} min`);
  assert.equal(d.estimatedDurationMin, atAlarm.estimatedDurationMin, 'timed as a well at its high alarm');
  assert.equal(d.startByUtcMs, atAlarm.startByUtcMs);
  assert.equal(d.fromLevelM, null, 'the level itself stays unknown');
  assert.equal(d.assumedFromLevelM, w6.levels.highAlarmM);
  assert.match(d.reason.zh, /液位未知/);
  assert.match(d.reason.en, /level unknown/i);
});

test('no overflow points configured: no overflow ranking and no crew sent to let a station overflow; configured waters are named, not coded, in Chinese', () => {
  const none = floodConfig();
  const plan = buildEmergencyPlan({ emergencyPlanId: 'p-none', revision: 1, network, assessment: assessment('yellow', 'III', 'W', 40), config: none, nowUtcMs: NOW });
  assert.deepEqual(plan.overflowPriority, []);
  assert.ok(!plan.crewTasks.some((t) => t.kind === 'overflow-standby'), JSON.stringify(plan.crewTasks.map((t) => `${t.kind}:${t.stationId}`)));
  assert.ok(!plan.notifications.some((n) => n.text.includes('溢流')));
  const warnings = overflowPointWarnings(network, none);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.zh, /未设溢流点/);
  assert.match(warnings[0]!.en, /no overflow points/);
  assert.deepEqual(overflowPointWarnings(network, config), []);

  // Configured: only the configured points are ranked, and the Chinese texts name the receiving water.
  const seaOnly = floodConfig({ overflowPoints: [{ stationId: 'E8', receivingWater: 'sea-outfall' }] });
  const ranked = buildEmergencyPlan({ emergencyPlanId: 'p-sea', revision: 1, network, assessment: assessment('yellow', 'III', 'W', 40), config: seaOnly, nowUtcMs: NOW });
  assert.deepEqual(ranked.overflowPriority.map((p) => p.stationId), ['E8']);
  assert.equal(ranked.overflowPriority[0]!.reason.zh, '溢流进入排海管，危害系数1');
  const standby = ranked.crewTasks.find((t) => t.kind === 'overflow-standby')!;
  assert.equal(standby.stationId, 'E8');
  assert.match(standby.reason.zh, /（排海管）/);
  assert.match(standby.reason.en, /\(sea outfall\)/);
  for (const t of ranked.crewTasks) assert.doesNotMatch(t.reason.zh, /sea-outfall|unranked/);
});

test('dispatchers and crews read Chinese first, English second: crew message in both languages, role names (not codes) in Chinese titles', () => {
  const plan = buildEmergencyPlan({ emergencyPlanId: 'p-text', revision: 1, network, assessment: assessment('orange', 'II', 'W', 60), config, nowUtcMs: NOW });
  const crew = plan.notifications.find((n) => n.audience === 'crew')!;
  const [zh, en] = crew.text.split('\n\n');
  assert.equal(zh!.split('\n').length, plan.crewTasks.length);
  assert.equal(en!.split('\n').length, plan.crewTasks.length);
  for (const t of plan.crewTasks) {
    assert.ok(zh!.includes(t.reason.zh) && en!.includes(t.reason.en), t.taskId);
  }
  const toSupervisor = plan.notifications.find((n) => n.audience === 'supervisor')!;
  assert.match(toSupervisor.title, /待主管批准/);
  assert.doesNotMatch(toSupervisor.title.split(' / ')[0]!, /supervisor/);
});
