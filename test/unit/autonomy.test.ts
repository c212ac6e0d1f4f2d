// auto-within-bounds, pure: what a new plan is compared with (the coordinator's referenceFor) and the verdict
// (withinBounds). Outside a workflow the rules of the autonomy-reference-guards marker always apply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { defaultAutonomy, type ApprovedPlanRef } from '../../contract/index.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan } from '../../planner/types.js';
import { withinBounds } from '../../workflows/autonomy.js';
import { planEndUtcMs, referenceFor } from '../../workflows/dispatch-coordinator.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const T0 = Date.UTC(2026, 4, 28, 20, 0);
const tankId = network.tanks[0]!.id;
const plan = (planId: string, atUtcMs = T0): Plan =>
  ruleBasedPlan({ planId, network, snapshot: { networkId: network.id, readAtUtcMs: atUtcMs, readings: [], badTagCount: 0, stations: [] }, forecast: null, nowUtcMs: atUtcMs });
const ref = (p: Plan, approvedBy = 'wang', extra: Partial<ApprovedPlanRef> = {}): ApprovedPlanRef => ({
  workflowId: p.planId,
  planId: p.planId,
  kind: 'cycle',
  approvedAtUtcMs: T0,
  approvedBy,
  operatingMode: p.operatingMode,
  steps: p.steps,
  ...extra,
});
const withTanks = (p: Plan, inletM3h: number, outletM3h: number): Plan => ({ ...p, steps: p.steps.map((s) => ({ ...s, tanks: [{ tankId, inletM3h, outletM3h }] })) });
/** The context a coordinator would send for `p`: the reference over p's compared window. */
const context = (state: { lastApproved: ApprovedPlanRef | null; lastHumanApproved?: ApprovedPlanRef | null }, p: Plan) =>
  referenceFor(state, p.steps[0]!.startUtcMs, p.steps[0]!.startUtcMs + defaultAutonomy.bounds.compareHorizonMin * 60_000);

test('tank inlet and outlet setpoints are compared with ±tankM3h (default 100 m³/h)', () => {
  const p0 = ref(withTanks(plan('p0'), 0, 800));
  const filling = withinBounds(withTanks(plan('p1'), 2000, 0), { ...p0, endsUtcMs: planEndUtcMs(p0.steps)! }, defaultAutonomy.bounds);
  assert.equal(filling.within, false);
  assert.match(filling.reason, new RegExp(`^${tankId} 调蓄池进水 0 → 2000 m³/h 超出 ±100 / ${tankId} tank inlet 0 → 2000 m³/h exceeds ±100$`));
  const drawing = withinBounds(withTanks(plan('p1'), 0, 650), { ...p0, endsUtcMs: planEndUtcMs(p0.steps)! }, defaultAutonomy.bounds);
  assert.match(drawing.reason, /tank outlet 800 → 650 m³\/h exceeds ±100/);
  const close = withinBounds(withTanks(plan('p1'), 60, 740), { ...p0, endsUtcMs: planEndUtcMs(p0.steps)! }, defaultAutonomy.bounds);
  assert.equal(close.within, true, close.reason);
  // A bound given in the input, and an input from before the field (the default applies).
  assert.equal(withinBounds(withTanks(plan('p1'), 60, 740), { ...p0, endsUtcMs: planEndUtcMs(p0.steps)! }, { ...defaultAutonomy.bounds, tankM3h: 50 }).within, false);
  const { tankM3h: _omitted, ...older } = defaultAutonomy.bounds;
  assert.equal(withinBounds(withTanks(plan('p1'), 2000, 0), { ...p0, endsUtcMs: planEndUtcMs(p0.steps)! }, older).within, false);
});

test('the reference is the last plan a dispatcher approved: an auto-approved plan never becomes the yardstick', () => {
  const p0 = ref(plan('p0'));
  const auto1 = ref(plan('p1'), 'system');
  // A plan 0.3 m lower than the dispatcher's plan, 0.15 m lower than the system's.
  const lower = plan('p2');
  lower.steps = lower.steps.map((s) => ({ ...s, stations: s.stations.map((x) => ({ ...x, startLevelM: x.startLevelM - 0.3, stopLevelM: x.stopLevelM - 0.3 })) }));
  const sent = context({ lastApproved: auto1, lastHumanApproved: p0 }, lower)!;
  assert.equal(sent.planId, 'p0');
  assert.equal(sent.endsUtcMs, p0.steps.at(-1)!.startUtcMs + plan('p0').stepMin * 60_000);
  assert.match(withinBounds(lower, sent, defaultAutonomy.bounds).reason, /start level .* exceeds ±0.2 m/);

  // No dispatcher's plan known (a coordinator from before it kept one): the system's is sent and refused as such.
  const only = context({ lastApproved: auto1 }, lower)!;
  const v = withinBounds(lower, only, defaultAutonomy.bounds);
  assert.equal(v.within, false);
  assert.match(v.reason, /^参照计划 p1 由系统自动批准.* \/ the reference plan p1 was approved automatically/);

  // An emergency plan that went live last is sent whoever approved it: only a dispatcher replaces it.
  const emergency = ref(plan('e1'), 'system', { kind: 'emergency' });
  assert.equal(context({ lastApproved: emergency, lastHumanApproved: p0 }, lower)?.planId, 'e1');
  assert.match(withinBounds(lower, context({ lastApproved: emergency, lastHumanApproved: p0 }, lower)!, defaultAutonomy.bounds).reason, /is an emergency plan/);
  assert.equal(context({ lastApproved: null }, lower), null);
});

test('a reference that ended before the new plan starts, whose dispatch failed, or whose end is not known is refused, saying why in both languages', () => {
  const p0 = ref(plan('p0'));
  const later = plan('p3', T0 + 3 * 86_400_000);
  const ended = withinBounds(later, context({ lastApproved: p0, lastHumanApproved: p0 }, later)!, defaultAutonomy.bounds);
  assert.equal(ended.within, false);
  const gapH = (later.steps[0]!.startUtcMs - planEndUtcMs(p0.steps)!) / 3_600_000;
  assert.ok(gapH > 40, `the 24-h plan ended ${gapH} h before`);
  assert.match(ended.reason, new RegExp(`^参照计划 p0 已结束（比本计划第一步早 ${gapH} 小时），由调度员决定 / the reference plan p0 ended ${gapH} h before this plan's first step`));

  // Still running: the same setpoints an hour later are within bounds.
  const soon = plan('p4', T0 + 3_600_000);
  assert.equal(withinBounds(soon, context({ lastApproved: p0, lastHumanApproved: p0 }, soon)!, defaultAutonomy.bounds).within, true);

  const failed = { ...p0, endedAs: 'dispatch-failed' as const };
  const f = withinBounds(soon, context({ lastApproved: failed, lastHumanApproved: failed }, soon)!, defaultAutonomy.bounds);
  assert.match(f.reason, /^参照计划 p0 下发失败.* \/ the reference plan p0 failed to dispatch/);
  // Replaced by a plan the system approved: the dispatcher's values are still the yardstick.
  const replaced = { ...p0, endedAs: 'replaced' as const };
  assert.equal(withinBounds(soon, context({ lastApproved: replaced, lastHumanApproved: replaced }, soon)!, defaultAutonomy.bounds).within, true);

  // One step of unknown length: its end is not known.
  const oneStep = { ...p0, steps: [{ ...p0.steps[0]! }] };
  assert.equal(planEndUtcMs(oneStep.steps), undefined);
  assert.equal(planEndUtcMs([{ ...p0.steps[0]!, durationMin: 10 }]), p0.steps[0]!.startUtcMs + 600_000);
  assert.match(withinBounds(soon, context({ lastApproved: oneStep, lastHumanApproved: oneStep }, soon)!, defaultAutonomy.bounds).reason, /the end of the reference plan p0 is not known/);
});
