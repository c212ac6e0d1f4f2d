// Every setpoint of a plan inside its envelope, and each step within its rate of change from the step before
// (the first from the values in force in the planner's state): the check planner unit tests share.
import assert from 'node:assert/strict';
import type { Envelope, NetworkConfig } from '../../network/schema.js';
import { insideEnvelope } from '../../planner/envelope.js';
import type { PlannerState } from '../../planner/mpc.js';
import type { Plan } from '../../planner/types.js';

export function assertInsideEnvelopes(network: NetworkConfig, plan: Plan, state: PlannerState) {
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
