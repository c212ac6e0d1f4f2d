// Whether a new plan is "close to" the last plan a dispatcher approved (autonomy: auto within bounds).
// Deterministic; it decides a workflow branch, so a change of its rules is versioned: in a workflow the rules
// of AUTONOMY_REFERENCE_GUARDS apply only on runs that recorded the marker (outside a workflow, always).
import { inWorkflowContext, patched } from '@temporalio/workflow';
import { defaultAutonomy, type ApprovedPlanRef, type AutonomyBounds } from '../contract/index.js';
import type { Plan, PlanStep } from '../planner/types.js';

/**
 * Version marker: the reference must be a plan a dispatcher approved (not the system: no ratchet, where each
 * auto-approved plan became the yardstick of the next), that has not ended before the new plan starts and whose
 * dispatch did not fail; and tank inlet/outlet setpoints are compared (±tankM3h). Before, a plan 0.15 m lower
 * each cycle went live by itself cycle after cycle, one close to a plan that ended days ago or never reached
 * SCADA too, and tanks were not looked at.
 */
export const AUTONOMY_REFERENCE_GUARDS = 'autonomy-reference-guards';

/** Whether the guards apply: in a workflow, on runs with the marker (older histories replay on the old rules). */
const referenceGuardsApply = (): boolean => !inWorkflowContext() || patched(AUTONOMY_REFERENCE_GUARDS);

/** The user name of automatic decisions (dispatch-plan.ts, flood-season.ts). */
export const SYSTEM_USER = 'system';

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

/** Why `last` cannot be the yardstick for `plan`, in both languages (the console shows it as written); null when it can. */
export function referenceProblem(plan: Plan, last: ApprovedPlanRef): string | null {
  const id = last.planId;
  if (last.approvedBy === SYSTEM_USER) {
    return `参照计划 ${id} 由系统自动批准，自动批准只与调度员批准的计划对比，由调度员决定 / the reference plan ${id} was approved automatically; plans are compared only with one a dispatcher approved: a dispatcher decides`;
  }
  if (last.endedAs === 'dispatch-failed') {
    return `参照计划 ${id} 下发失败，SCADA可能未执行其设定值，由调度员决定 / the reference plan ${id} failed to dispatch (SCADA may not hold its setpoints): a dispatcher decides`;
  }
  const first = plan.steps[0];
  if (!first) return null;
  if (last.endsUtcMs === undefined) return `参照计划 ${id} 的结束时间未知，由调度员决定 / the end of the reference plan ${id} is not known: a dispatcher decides`;
  if (first.startUtcMs >= last.endsUtcMs) {
    const hours = fmt((first.startUtcMs - last.endsUtcMs) / 3_600_000);
    return `参照计划 ${id} 已结束（比本计划第一步早 ${hours} 小时），由调度员决定 / the reference plan ${id} ended ${hours} h before this plan's first step: a dispatcher decides`;
  }
  return null;
}

export function withinBounds(plan: Plan, last: ApprovedPlanRef, bounds: AutonomyBounds): BoundsVerdict {
  const no = (reason: string, comparedSteps = 0): BoundsVerdict => ({ within: false, reason, comparedSteps });
  const guarded = referenceGuardsApply();
  if (last.kind === 'emergency') return no(`the plan in force (${last.planId}) is an emergency plan; only a dispatcher replaces it`);
  const problem = guarded ? referenceProblem(plan, last) : null;
  if (problem) return no(problem);
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
    if (!guarded) continue;
    // Tank fill/draw moves as much water as a transfer; a tank absent from the reference was at 0.
    const tankM3h = bounds.tankM3h ?? defaultAutonomy.bounds.tankM3h ?? bounds.transferM3h;
    for (const t of step.tanks) {
      const o = old.tanks.find((x) => x.tankId === t.tankId);
      const sides = [['inlet', '进水', o?.inletM3h ?? 0, t.inletM3h], ['outlet', '出水', o?.outletM3h ?? 0, t.outletM3h]] as const;
      for (const [en, zh, from, to] of sides) {
        if (Math.abs(from - to) > tankM3h + 1e-9) return no(`${t.tankId} 调蓄池${zh} ${fmt(from)} → ${fmt(to)} m³/h 超出 ±${tankM3h} / ${t.tankId} tank ${en} ${fmt(from)} → ${fmt(to)} m³/h exceeds ±${tankM3h}`, n);
      }
    }
  }
  return { within: true, reason: `within bounds of ${last.planId} over ${n} step(s) (levels ±${bounds.levelM} m, transfers ±${bounds.transferM3h} m³/h)`, comparedSteps: n };
}
