// Whether a new plan is "close to" the last approved one (autonomy: auto within bounds). Pure and
// deterministic; it decides a workflow branch, so a change of its rules must be versioned (patched()).
import type { ApprovedPlanRef, AutonomyBounds } from '../contract/index.js';
import type { Plan, PlanStep } from '../planner/types.js';

export interface BoundsVerdict {
  within: boolean;
  reason: string;
  comparedSteps: number;
}

const fmt = (x: number) => String(Math.round(x * 100) / 100);

/** The approved step in force at `t` (the latest one starting at or before it). */
function stepInForce(steps: readonly PlanStep[], t: number): PlanStep | undefined {
  let found: PlanStep | undefined;
  for (const s of steps) if (s.startUtcMs <= t) found = s;
  return found;
}

export function withinBounds(plan: Plan, last: ApprovedPlanRef, bounds: AutonomyBounds): BoundsVerdict {
  const no = (reason: string, comparedSteps = 0): BoundsVerdict => ({ within: false, reason, comparedSteps });
  if (last.kind === 'emergency') return no(`the plan in force (${last.planId}) is an emergency plan; only a dispatcher replaces it`);
  if (plan.operatingMode !== last.operatingMode) return no(`operating mode changes from ${last.operatingMode} to ${plan.operatingMode}`);
  const first = plan.steps[0];
  if (!first) return no('the plan has no steps');
  const until = first.startUtcMs + bounds.compareHorizonMin * 60_000;
  const compared = plan.steps.filter((s) => s.startUtcMs < until);
  let n = 0;
  for (const step of compared) {
    const old = stepInForce(last.steps, step.startUtcMs) ?? (step === first ? last.steps[0] : undefined);
    if (!old) return no(`the last approved plan ${last.planId} does not cover ${new Date(step.startUtcMs).toISOString()}`, n);
    n++;
    for (const sp of step.stations) {
      const o = old.stations.find((x) => x.stationId === sp.stationId);
      if (!o) return no(`${sp.stationId} is not in the last approved plan`, n);
      if (o.remoteControl !== sp.remoteControl) return no(`${sp.stationId} control changes from ${o.remoteControl} to ${sp.remoteControl}`, n);
      if (Math.abs(o.startLevelM - sp.startLevelM) > bounds.levelM + 1e-9) return no(`${sp.stationId} start level ${fmt(o.startLevelM)} → ${fmt(sp.startLevelM)} m exceeds ±${bounds.levelM} m`, n);
      if (Math.abs(o.stopLevelM - sp.stopLevelM) > bounds.levelM + 1e-9) return no(`${sp.stationId} stop level ${fmt(o.stopLevelM)} → ${fmt(sp.stopLevelM)} m exceeds ±${bounds.levelM} m`, n);
      if (sp.remoteControl === 'flow' && Math.abs(o.flowM3h - sp.flowM3h) > bounds.flowM3h + 1e-9) return no(`${sp.stationId} flow ${fmt(o.flowM3h)} → ${fmt(sp.flowM3h)} m³/h exceeds ±${bounds.flowM3h}`, n);
      if (Math.abs(o.pumpsAllowed - sp.pumpsAllowed) > bounds.pumpsAllowed) return no(`${sp.stationId} pumps allowed ${o.pumpsAllowed} → ${sp.pumpsAllowed}`, n);
    }
    for (const t of step.transfers) {
      const o = old.transfers.find((x) => x.interconnectionId === t.interconnectionId)?.transferM3h ?? 0;
      if (Math.abs(o - t.transferM3h) > bounds.transferM3h + 1e-9) return no(`${t.interconnectionId} transfer ${fmt(o)} → ${fmt(t.transferM3h)} m³/h exceeds ±${bounds.transferM3h}`, n);
    }
  }
  return { within: true, reason: `within bounds of ${last.planId} over ${n} step(s) (levels ±${bounds.levelM} m, transfers ±${bounds.transferM3h} m³/h)`, comparedSteps: n };
}
