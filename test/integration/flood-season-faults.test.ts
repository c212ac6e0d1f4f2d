// The flood season when things go wrong, on the project's Temporal dev server with the real flood and dispatch
// activities over fake connectors (test/support/flood-harness.ts), in accelerated time: a forecast outage during
// an event, a plan nobody answers, InfluxDB away at stand-down, an approval during stand-down, an emergency plan
// replaced by a cycle plan, messages that do not arrive. With RECORD_HISTORIES=1 each season's history is written
// to test/histories/flood-season-faults-<case>.json (recorded on the code before the markers, as *-v0).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { approveEmergencyPlanUpdate, approvePlanUpdate, autonomyConfig, coordinatorStateQuery, coordinatorWorkflowId, dispatchStateQuery, floodStatusQuery, type DispatchPlanInput, type DomainClock, type FloodSeasonState } from '../../contract/index.js';
import { standDownPlan } from '../../flood/emergency-plan.js';
import { floodConfig, type FloodAction } from '../../flood/types.js';
import { dispatchPlan, floodSeason } from '../../workflows/index.js';
import { H, fakes, seasonInput, setup, sleep, worker, type Ctx, type Script } from '../support/flood-harness.js';

const historiesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'histories');
const recording = process.env['RECORD_HISTORIES'] === '1';
const origin = Date.parse('2026-07-14T16:00:00Z'); // 00:00 Asia/Shanghai
let ctx: Ctx;

before(async () => {
  ctx = await setup();
});
after(async () => {
  await ctx?.env.teardown();
});

async function record(handle: WorkflowHandle, name: string) {
  if (!recording) return;
  const json = historyToJSON(await handle.fetchHistory()).replaceAll(`${path.resolve(historiesDir, '..', '..')}/`, './');
  writeFileSync(path.join(historiesDir, `flood-season-faults-${name}${process.env['HISTORY_SUFFIX'] ?? ''}.json`), json);
}

/** Run a season under a script until `untilH` domain hours (or `done`), calling `each` every 100 ms; returns its last state. */
async function runSeason(
  name: string,
  script: Script,
  opts: { speed?: number; untilH: number; extra?: Partial<Parameters<typeof seasonInput>[2]>; each?: (s: FloodSeasonState | null, handle: WorkflowHandle<typeof floodSeason>, now: number, clock: DomainClock) => Promise<boolean | void> },
) {
  const clock = { originUtcMs: origin, wallOriginUtcMs: Date.now(), speed: opts.speed ?? 1800 };
  // A network id of its own: each case has its own coordinator (one per network) on its own task queue.
  const network = { ...ctx.network, id: `faults-${name}` };
  const f = fakes(network, clock, script);
  const taskQueue = `faults-${name}`;
  const w = await worker(ctx, taskQueue, f.activities);
  const handle = await ctx.env.client.workflow.start(floodSeason, { taskQueue, workflowId: `flood-season-faults-${name}`, args: [seasonInput(network, clock, { config: floodConfig(), ...opts.extra })] });
  const state = await w.runUntil(async () => {
    let s: FloodSeasonState | null = null;
    while (f.domainNow() < origin + opts.untilH * H) {
      s = await handle.query(floodStatusQuery).catch(() => s);
      if ((await opts.each?.(s, handle, f.domainNow(), clock)) === true) break;
      await sleep(100);
    }
    const final = await handle.query(floodStatusQuery);
    await record(handle, name);
    await handle.terminate('test done');
    return final;
  });
  return { state, f };
}
const actionsOf = (s: FloodSeasonState) => [...(s.event?.actions ?? []), ...s.reports.flatMap((r) => r.actions)];
const kinds = (actions: FloodAction[], kind: FloodAction['kind']) => actions.filter((a) => a.kind === kind);

test('a forecast outage during an event is "unknown": no stand-down, the level and the approved plan stay, the dispatcher is alarmed once', async () => {
  const rain = (t: number) => (t > origin + 6 * H && t <= origin + 12 * H ? 12 : 0);
  let approved: string | null = null;
  let eventBefore: string | null = null;
  const { state, f } = await runSeason('forecast-outage', { rain, forecast: (now) => (now > origin + 1.2 * H && now < origin + 2.9 * H ? 'fail' : rain), observed: () => 'truth' }, {
    untilH: 3.6,
    each: async (s, handle) => {
      if (s?.pending && !approved) {
        approved = s.pending.plan.emergencyPlanId;
        eventBefore = s.event?.eventId ?? null;
        await handle.executeUpdate(approveEmergencyPlanUpdate, { args: [{ emergencyPlanId: approved, userName: 'wang', role: 'dispatcher' }] }).catch(() => (approved = null));
      }
    },
  });
  assert.ok(approved, 'the first plan was approved before the outage');
  const actions = actionsOf(state);
  assert.deepEqual(kinds(actions, 'stand-down'), [], 'no stand-down during the outage');
  assert.equal(state.eventsCompleted, 0);
  assert.equal(state.event?.eventId, eventBefore, 'the same event goes on: no second event, no second approval');
  assert.equal(state.live?.emergencyPlanId, approved, 'the approved plan stays in force');
  assert.equal(state.warning, 'yellow');
  assert.ok(kinds(actions, 'inputs-missing').length >= 2, 'each check without a forecast is recorded');
  const alarms = f.notifications.filter((n) => n.key.includes(':forecast-missing:') && !n.key.endsWith(':back'));
  assert.equal(alarms.length, 1, 'one alarm for the outage');
  assert.equal(alarms[0]?.audience, 'dispatcher');
  assert.match(alarms[0]?.title ?? '', /降雨预报缺失.* \/ Rain forecast missing/);
  assert.ok(f.notifications.some((n) => n.key.endsWith(':back')), 'told when the forecast is back');
  // Nothing sent the stations back to their normal band before the rain.
  assert.ok(!f.notifications.some((n) => n.key.includes('stand-down')));
});

test('after an expiry a new revision is proposed at the next check, with its own escalation; an escalation nobody received is recorded as such', async () => {
  const rain = (t: number) => (t > origin + 8 * H && t <= origin + 14 * H ? 12 : 0);
  // The supervisor has no webhook: the channel answers delivered:false (no throw, so no retries either).
  const { state, f } = await runSeason('expiry-replan', { rain, notifyUndelivered: (n) => n.audience === 'supervisor' }, {
    untilH: 3.4,
    extra: { config: floodConfig({ approval: { escalateAfterMin: 15, approvalTimeoutMin: 45 } }) },
  });
  const actions = actionsOf(state);
  const expired = kinds(actions, 'plan-expired');
  assert.ok(expired.length >= 1, 'the first plan expired unanswered');
  const firstExpired = expired[0]!;
  const next = kinds(actions, 'plan-proposed').find((a) => a.atUtcMs > firstExpired.atUtcMs);
  assert.ok(next, 'a new revision was proposed after the expiry');
  assert.ok(next.atUtcMs - firstExpired.atUtcMs <= 31 * 60_000, `within one check interval (${(next.atUtcMs - firstExpired.atUtcMs) / 60_000} min)`);
  assert.match(next.planId ?? '', /-r2$/);
  assert.ok(kinds(actions, 'plan-escalated').some((a) => a.planId === next.planId) || state.pending?.plan.emergencyPlanId === next.planId, 'the new revision waits with its own escalation clock');
  // The supervisor's webhook failed: the log says so, and never that the supervisor was told.
  const escalated = kinds(actions, 'plan-escalated').find((a) => a.planId === firstExpired.planId)!;
  assert.match(escalated.detail, /supervisor could NOT be notified/);
  assert.ok(kinds(actions, 'notification-failed').some((a) => a.detail.startsWith('supervisor NOT told')));
  assert.ok(!kinds(actions, 'notification').some((a) => a.detail.startsWith('supervisor')), 'no supervisor message counted as sent');
  assert.ok((state.notificationFailures ?? []).some((x) => x.audience === 'supervisor'));
  assert.equal(f.writes.length, 0, 'nothing written while no plan was approved');
});

test('InfluxDB away at stand-down: the season goes on, the report is written once InfluxDB is back; auto-approved plans are announced; ids carry the run', async () => {
  const rainAhead = (t: number) => (t > origin + 6 * H && t <= origin + 12 * H ? 12 : 0);
  let reportWrites = 0;
  const { state, f } = await runSeason(
    'influx-down',
    {
      rain: () => 0,
      forecast: (now) => (now < origin + 1 * H ? rainAhead : () => 0),
      // InfluxDB refuses the report for the activity's three attempts and the first retry at the next check.
      influxFails: (points) => points.some((p) => p.measurement === 'flood_report') && ++reportWrites <= 4,
    },
    { speed: 3600, untilH: 30, extra: { autonomy: { mode: 'emergency-auto', preApprovedFloodLevels: ['IV', 'III'] } }, each: async (s) => (s?.reports.length ?? 0) > 0 && (s?.unwrittenReports?.length ?? 0) === 0 },
  );
  assert.notEqual(state.status, 'ended');
  assert.equal(state.eventsCompleted, 1, 'the event stood down');
  assert.equal(state.reports.length, 1, 'its report was written on a later check');
  assert.deepEqual(state.unwrittenReports ?? [], []);
  assert.equal(reportWrites, 5, 'written at the second check after the stand-down');
  const report = state.reports[0]!;
  if (process.env['DEBUG_FAULTS']) console.log(report.actions.map((a) => `${((a.atUtcMs - origin) / H).toFixed(2)} ${a.kind} ${a.detail.slice(0, 80)}`).join('\n'));
  assert.ok(report.actions.some((a) => a.kind === 'activity-failed' && /writing the report/.test(a.detail)), 'the failed write is in the report');
  assert.ok(f.influxPoints.some((p) => p.measurement === 'flood_report'), 'the report reached InfluxDB');
  // The run's start tells this run's ids from a restarted season's.
  assert.match(report.eventId, /^faults-influx-down-2026-s\d{10}-e1$/);
  // Automatic approval: the dispatcher was told the plan went live, not only the crew.
  const auto = f.notifications.filter((n) => n.key.endsWith(':auto-approved'));
  assert.ok(auto.some((n) => n.audience === 'dispatcher'), 'the dispatcher heard of the auto-approved plan');
  assert.match(auto[0]!.title, /^应急预案已自动执行 \/ Emergency plan put in force automatically/);
});

test('an approval sent while stand-down notifications are going out is refused; nothing goes live after the event is over', async () => {
  const rainAhead = (t: number) => (t > origin + 6 * H && t <= origin + 12 * H ? 12 : 0);
  let refusal: string | null = null;
  let pendingId: string | null = null;
  const { state } = await runSeason(
    'stand-down-race',
    { rain: () => 0, forecast: (now) => (now < origin + 1 * H ? rainAhead : () => 0), notifyDelayMs: (n) => (n.key.includes('stand-down') ? 3000 : 0) },
    {
      untilH: 8,
      extra: { config: floodConfig({ approval: { escalateAfterMin: 60, approvalTimeoutMin: 600 } }) },
      each: async (s, handle) => {
        if (s?.pending) pendingId = s.pending.plan.emergencyPlanId;
        if (refusal === null && pendingId && s?.event?.actions.some((a) => a.kind === 'stand-down')) {
          refusal = await handle
            .executeUpdate(approveEmergencyPlanUpdate, { args: [{ emergencyPlanId: pendingId, userName: 'wang', role: 'dispatcher', comment: '同意' }] })
            .then(() => 'accepted', (e: unknown) => (e instanceof WorkflowUpdateFailedError ? String(e.cause?.message) : String(e)));
        }
        return s?.eventsCompleted === 1;
      },
    },
  );
  assert.ok(pendingId, 'a plan was waiting');
  assert.match(refusal ?? '', /standing down|no emergency plan is waiting/, `the approval was refused (${refusal})`);
  const report = state.reports.at(-1)!;
  assert.equal(report.actions.filter((a) => a.kind === 'plan-approved' || a.kind === 'dispatch-started' || a.kind === 'crew-task').length, 0, 'no plan went live, no crew task after the stand-down');
  await assert.rejects(ctx.env.client.workflow.getHandle(pendingId).describe(), 'the withdrawn plan never got a dispatch workflow');
});

test('emergency-auto: a cycle plan is not auto-approved over the emergency plan; approved by hand, it replaces it and the season shows no emergency plan in force', async () => {
  const rain = (t: number) => (t > origin + 6 * H && t <= origin + 12 * H ? 12 : 0);
  const autonomy = { mode: 'emergency-auto' as const, preApprovedFloodLevels: ['IV' as const, 'III' as const] };
  const seen: { cycle: { autoApproved: boolean; reason: string } | null; plainRefused?: string; approveError?: string } = { cycle: null };
  let emergencyId: string | null = null;
  const { state } = await runSeason('replaced', { rain }, {
    speed: 600,
    untilH: 3,
    extra: { autonomy },
    each: async (s, _handle, now, clock) => {
      if (!s?.live || seen.cycle) return s?.liveEnded != null;
      // The coordinator learns of the emergency plan by its planLive signal, a moment after the season shows it
      // live; a cycle plan proposed in between is not held back (see the workflows README). Wait for it here.
      const coordinator = await ctx.env.client.workflow.getHandle(coordinatorWorkflowId('faults-replaced')).query(coordinatorStateQuery).catch(() => null);
      if (coordinator?.live?.workflowId !== s.live.planWorkflowId) return false;
      emergencyId = s.live.emergencyPlanId;
      const plan = { ...standDownPlan(ctx.network, 'plan-dispatch-cycle-faults-1', now), operatingMode: 'flood-drawdown' as const };
      const input: DispatchPlanInput = { networkId: 'faults-replaced', kind: 'cycle', plan, snapshot: null, forecast: null, approval: { escalateAfterMin: 60, approvalTimeoutMin: 120 }, autonomy: autonomyConfig(autonomy), requiredRole: 'dispatcher', clock, timing: { contextWaitMs: 5_000 } };
      const c = await ctx.env.client.workflow.start(dispatchPlan, { taskQueue: 'faults-replaced', workflowId: 'plan-dispatch-cycle-faults-1', args: [input] });
      let cs = await c.query(dispatchStateQuery).catch(() => null);
      while (!cs?.autonomy) {
        await sleep(100);
        cs = await c.query(dispatchStateQuery).catch(() => null);
      }
      seen.cycle = { autoApproved: cs.autonomy.autoApproved, reason: cs.autonomy.reason };
      // A plain approval is refused while the emergency plan is in force; confirmed, a dispatcher (the level-III
      // plan's role) approves it: it replaces the emergency plan, and the season must know.
      await c.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher' }] }).catch((e: unknown) => (seen.plainRefused = String((e as { cause?: unknown }).cause ?? e)));
      await c.executeUpdate(approvePlanUpdate, { args: [{ userName: 'wang', role: 'dispatcher', replaceEmergencyPlan: true }] }).catch((e: unknown) => (seen.approveError = String((e as { cause?: unknown }).cause ?? e)));
    },
  });
  const cycle = seen.cycle;
  assert.ok(cycle, 'a cycle plan was proposed while the emergency plan was live');
  assert.equal(cycle.autoApproved, false, 'not auto-approved over the emergency plan');
  assert.match(cycle.reason, /emergency plan .* is in force/);
  assert.match(seen.plainRefused ?? '', /EmergencyReplaceUnconfirmed|replaceEmergencyPlan/, 'an unconfirmed approval is refused');
  assert.equal(seen.approveError, undefined, 'the dispatcher could approve the cycle plan by hand, confirmed');
  assert.equal(state.live, null, 'the season no longer shows the replaced plan in force');
  assert.equal(state.livePlan, null);
  assert.equal(state.liveEnded?.planId, emergencyId);
  assert.equal(state.liveEnded?.replacedBy, 'plan-dispatch-cycle-faults-1');
  assert.ok(kinds(actionsOf(state), 'plan-replaced').some((a) => a.planId === emergencyId));
});

test("the event's tail: a lower level once the rain has begun proposes no new drawdown plan", async () => {
  // 25 mm/h for 3 h (orange), then 5 mm/h: orange → yellow → blue while it still rains, all after onset.
  const rain = (t: number) => (t > origin + 1 * H && t <= origin + 4 * H ? 25 : t > origin + 4 * H && t <= origin + 14 * H ? 5 : 0);
  let approved: string | null = null;
  let approvedAt = 0;
  const { state } = await runSeason('tail', { rain, observed: () => 'truth' }, {
    untilH: 11,
    each: async (s, handle, now) => {
      if (s?.pending && !approved) {
        approved = s.pending.plan.emergencyPlanId;
        approvedAt = now;
        await handle.executeUpdate(approveEmergencyPlanUpdate, { args: [{ emergencyPlanId: approved, userName: 'zhou', role: 'admin' }] }).catch(() => (approved = null));
      }
    },
  });
  const actions = actionsOf(state);
  assert.ok(approved, 'the first plan was approved');
  const lowered = kinds(actions, 'warning-lowered').filter((a) => a.atUtcMs > approvedAt && !a.detail.endsWith('→ none'));
  assert.ok(lowered.length >= 1, `the level went down while it still rained: ${kinds(actions, 'warning-lowered').map((a) => a.detail).join(' | ')}`);
  const proposedAfter = kinds(actions, 'plan-proposed').filter((a) => a.atUtcMs > approvedAt);
  assert.deepEqual(proposedAfter.map((a) => a.planId), [], 'no new drawdown plan after the storm began');
  assert.equal(state.live?.emergencyPlanId, approved, 'the approved plan stays in force');
});
