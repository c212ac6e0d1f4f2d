// The PLC watchdog is refreshed only for stations the dispatch stands behind: a step writes a station's
// heartbeat only once its setpoints read back right; a hand-back writes none; the keeper refreshes only the
// stations whose last dispatch outcome was verified (read from the plan that went live last, while it is live
// or its last step's time is not over), so a station that failed, mismatched or was handed back lapses to
// local control until a later plan writes it, and every station does once no plan is live.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { createDispatchActivities } from '../../activities/dispatch.js';
import type { TagReading } from '../../activities/types.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import type { OpcUaConnector, SetpointWrite } from '../../connectors/opcua.js';
import { coordinatorWorkflowId, type CoordinatorState, type DispatchCycleState, type SetpointWriteResult } from '../../contract/index.js';
import { referenceNetworkPath } from '../../network/load.js';
import { StationMode, resolveTagMap } from '../../network/tags.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import { dispatchedStations, startHeartbeat, stationsVerifiedBy } from '../../worker/heartbeat.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const NOW = Date.UTC(2026, 6, 1, 0, 7);
const stationIds = network.stations.map((s) => s.id);

/** SCADA in memory: every station REMOTE; `refusing` stations reject writes; `holding` tags keep their own value (read back wrong). */
function fakeScada() {
  const values = new Map<string, number>();
  for (const t of resolveTagMap(network)) values.set(t.nodeId, t.tag === 'mode' ? StationMode.remote : 0);
  const batches: SetpointWrite[][] = [];
  const refusing = new Set<string>();
  const holding = new Map<string, number>();
  const opcua: OpcUaConnector = {
    readTags: async (tags) => tags.map((t): TagReading => ({ objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: values.get(t.nodeId) ?? null, statusCode: 'Good', good: true, sourceTimeUtcMs: NOW })),
    writeSetpoints: async (ws) => {
      batches.push(ws.filter((w) => !refusing.has(w.tag.objectId)));
      return ws.map((w) => {
        if (refusing.has(w.tag.objectId)) return { nodeId: w.tag.nodeId, statusCode: 'BadNoCommunication', good: false };
        values.set(w.tag.nodeId, holding.get(w.tag.nodeId) ?? w.value);
        return { nodeId: w.tag.nodeId, statusCode: 'Good', good: true };
      });
    },
    ping: async () => ({ latencyMs: 0, serverState: 'Running' }),
    close: async () => undefined,
  };
  return { opcua, values, batches, refusing, holding };
}
const influx: InfluxConnector = { write: async (p) => p.length, query: async () => [], ping: async () => ({ latencyMs: 0, version: 'test' }) };
const forecast = { fetchCatchmentRain: () => Promise.reject(new Error('unused')) };
const step = () => ruleBasedPlan({ planId: 'p', network, snapshot: { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 }, forecast: null, nowUtcMs: NOW }).steps[0]!;
const nodeOf = (objectId: string, tag: string) => resolveTagMap(network).find((t) => t.objectId === objectId && t.tag === tag)!.nodeId;
const heartbeatsIn = (batches: SetpointWrite[][]) => batches.flat().filter((w) => w.tag.tag === 'heartbeat').map((w) => w.tag.objectId);

test('a step writes the heartbeat only of stations whose setpoints read back right, after them; a retry that succeeds writes it then', async () => {
  const scada = fakeScada();
  scada.refusing.add('W2'); // does not answer
  scada.holding.set(nodeOf('W3', 'startLevelSpM'), 9.99); // answers, but the PLC holds another value
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const out = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77 });

  const beaten = heartbeatsIn(scada.batches);
  assert.deepEqual(beaten.sort(), stationIds.filter((id) => id !== 'W2' && id !== 'W3').sort(), 'every station but the failed and the mismatched one');
  assert.ok(!scada.batches[0]!.some((w) => w.tag.tag === 'heartbeat'), 'no heartbeat in the setpoint batch');
  assert.equal(scada.values.get(nodeOf('W3', 'heartbeat')), 0, 'W3 watchdog not refreshed');
  const of = (id: string) => out.writes.filter((w) => w.objectId === id);
  assert.ok(!of('W3').some((w) => w.tag === 'heartbeat'));
  assert.equal(of('W3').find((w) => w.tag === 'startLevelSpM')?.status, 'mismatch');
  assert.equal(of('W1').find((w) => w.tag === 'heartbeat')?.status, 'verified');
  assert.equal(out.verified, (stationIds.length - 2) * 6 + 5 - 1, 'W3: four setpoints verified, no heartbeat');

  // The workflow retries W3 once the PLC takes the value: its heartbeat goes out with it.
  scada.holding.clear();
  scada.batches.length = 0;
  const again = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77, onlyStations: ['W3'], stationsOnly: true, compareFirst: true });
  assert.deepEqual(heartbeatsIn(scada.batches), ['W3']);
  assert.equal(scada.values.get(nodeOf('W3', 'heartbeat')), 77);
  assert.ok(again.writes.every((w) => w.status === 'verified'));

  // A retried attempt (the worker died after the heartbeats) writes nothing again, heartbeats included.
  scada.batches.length = 0;
  const retried = await io.applyPlanStep({ planId: 'p', stepIndex: 0, step: step(), heartbeat: 77, onlyStations: ['W1'], stationsOnly: true, compareFirst: true });
  assert.deepEqual(scada.batches.flat(), []);
  assert.equal(retried.alreadyInForce, 6);
});

test('a hand-back writes the local band and no heartbeat', async () => {
  const scada = fakeScada();
  const io = createDispatchActivities({ network, opcua: scada.opcua, influx, forecast, now: () => NOW });
  const back = await io.handBackToLocal({ planId: 'p', stepIndex: 0, stationIds: ['W2'], reason: 'test' });
  assert.equal(back[0]?.written, true);
  assert.deepEqual(heartbeatsIn(scada.batches), []);
});

const write = (objectId: string, tag: string, status: SetpointWriteResult['status']): SetpointWriteResult => ({ objectId, tag, nodeId: `${objectId}.${tag}`, value: 1, readBack: status === 'verified' ? 1 : null, status });
const planState = (overrides: Partial<DispatchCycleState>): DispatchCycleState => ({
  status: 'dispatched',
  planId: 'plan-a',
  handedBack: [],
  outcome: {
    planId: 'plan-a',
    stepIndex: 3,
    appliedAtUtcMs: NOW,
    writes: [write('W1', 'startLevelSpM', 'verified'), write('W1', 'heartbeat', 'verified'), write('W2', 'startLevelSpM', 'verified'), write('W2', 'heartbeat', 'verified'), write('W3', 'startLevelSpM', 'mismatch'), write('E9', 'startLevelSpM', 'skipped-local'), write('X1', 'transferSpM3h', 'verified')],
    verified: 5,
    skipped: 1,
    failed: 1,
  },
  ...overrides,
});

test('the stations a plan stands behind: verified in its latest step, not handed back; none after a failed step; not known before its first step', () => {
  assert.deepEqual([...stationsVerifiedBy(planState({}))!].sort(), ['W1', 'W2', 'X1']);
  assert.deepEqual([...stationsVerifiedBy(planState({ handedBack: [{ stationId: 'W2', atUtcMs: NOW, stepIndex: 1, reason: 'x', written: true }] }))!].sort(), ['W1', 'X1']);
  assert.deepEqual([...stationsVerifiedBy(planState({ status: 'completed' }))!].sort(), ['W1', 'W2', 'X1']);
  assert.deepEqual(stationsVerifiedBy(planState({ status: 'dispatch-failed' })), new Set(), 'the failed step\'s writes are not known');
  assert.deepEqual(stationsVerifiedBy(planState({ status: 'dispatch-failed', outcome: undefined })), new Set());
  assert.equal(stationsVerifiedBy(planState({ status: 'approved', outcome: undefined })), null, 'gone live, first step not finished');
});

test('dispatchedStations asks the coordinator for the plan that went live last, then that plan', async () => {
  const workflows: Record<string, unknown> = {};
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        query: () => (workflowId in workflows ? Promise.resolve(workflows[workflowId]) : Promise.reject(new WorkflowNotFoundError(`no ${workflowId}`, workflowId, undefined))),
      }),
    },
  } as unknown as Pick<Client, 'workflow'>;
  const source = dispatchedStations(client, network.id);
  assert.deepEqual(await source(), new Set(), 'no coordinator: no plan ever live');
  const coordinator: Partial<CoordinatorState> = { lastApproved: null };
  workflows[coordinatorWorkflowId(network.id)] = coordinator;
  assert.deepEqual(await source(), new Set(), 'no plan ever live');
  coordinator.lastApproved = { workflowId: 'plan-a', planId: 'plan-a', kind: 'cycle', approvedAtUtcMs: NOW, approvedBy: 'wang', operatingMode: 'normal', steps: [] };
  coordinator.live = { workflowId: 'plan-a', planId: 'plan-a', kind: 'cycle' };
  assert.deepEqual(await source(), new Set(), 'the plan\'s history is gone (retention): nothing to stand behind');
  workflows['plan-a'] = planState({ handedBack: [{ stationId: 'W1', atUtcMs: NOW, stepIndex: 0, reason: 'x', written: false }] });
  assert.deepEqual([...(await source())!].sort(), ['W2', 'X1']);
});

const until = async (what: () => boolean, ms = 2_000) => {
  for (const end = Date.now() + ms; Date.now() < end && !what(); ) await new Promise((r) => setTimeout(r, 5));
  assert.ok(what());
};

test('the keeper refreshes only the stations its source names, keeps the last answer when the source cannot say, and every station without a source', async () => {
  const scada = fakeScada();
  let answer: () => Promise<Iterable<string> | null> = async () => ['W1', 'W2', 'X1'];
  const errors: string[] = [];
  const keeper = startHeartbeat({ network, opcua: scada.opcua, intervalMs: 20, stations: () => answer(), onError: (e) => errors.push(e.message) });
  try {
    await until(() => keeper.beats() >= 2);
    assert.deepEqual(keeper.refreshing(), ['W1', 'W2'], 'only stations of the network that the source names');
    const batchesOf = (from: number) => scada.batches.slice(from).filter((b) => b.length > 0);
    let from = scada.batches.length;
    await until(() => batchesOf(from).length >= 2);
    assert.ok(batchesOf(from).every((b) => b.map((w) => `${w.tag.objectId}.${w.tag.tag}`).join() === 'W1.heartbeat,W2.heartbeat'));

    // Not known yet (a plan gone live, its first step running), then the source failing: the last answer holds.
    answer = async () => null;
    from = keeper.beats();
    await until(() => keeper.beats() >= from + 2);
    assert.deepEqual(keeper.refreshing(), ['W1', 'W2']);
    answer = () => Promise.reject(new Error('temporal away'));
    from = keeper.failures();
    await until(() => keeper.failures() >= from + 2);
    assert.deepEqual(keeper.refreshing(), ['W1', 'W2']);
    assert.match(errors.at(-1) ?? '', /stations to refresh not known, kept the last 3: temporal away/);

    // W2 handed back: it is refreshed no more; nothing left: no write at all.
    answer = async () => ['W1'];
    await until(() => keeper.refreshing().join() === 'W1');
    answer = async () => [];
    await until(() => keeper.refreshing().length === 0);
    from = scada.batches.length;
    const beats = keeper.beats();
    await until(() => keeper.beats() >= beats + 2);
    assert.deepEqual(batchesOf(from), [], 'no station is refreshed');
  } finally {
    await keeper.stop();
  }

  const all = startHeartbeat({ network, opcua: scada.opcua, intervalMs: 20 });
  try {
    await until(() => all.beats() >= 1);
    assert.deepEqual(all.refreshing(), [...stationIds].sort());
  } finally {
    await all.stop();
  }
});

test('once no plan is live the keeper stands behind no station: a completed plan until its last step\'s time is over, a plan the coordinator no longer holds live not at all', async () => {
  const workflows: Record<string, unknown> = {};
  const queries: string[] = [];
  const client = {
    workflow: {
      getHandle: (workflowId: string) => ({
        query: () => {
          queries.push(workflowId);
          return workflowId in workflows ? Promise.resolve(workflows[workflowId]) : Promise.reject(new WorkflowNotFoundError(`no ${workflowId}`, workflowId, undefined));
        },
      }),
    },
  } as unknown as Pick<Client, 'workflow'>;
  let now = NOW;
  const source = dispatchedStations(client, network.id, () => now);
  // Two 15-min steps from NOW: the last one ends at NOW + 30 min.
  const plan = { ...ruleBasedPlan({ planId: 'plan-a', network, snapshot: { networkId: network.id, readAtUtcMs: NOW, stations: [], readings: [], badTagCount: 0 }, forecast: null, nowUtcMs: NOW }) };
  plan.steps = plan.steps.slice(0, 2);
  const endsUtcMs = plan.steps[1]!.startUtcMs + plan.stepMin * 60_000;
  const ref = { workflowId: 'plan-a', planId: 'plan-a', kind: 'cycle' as const };
  const coordinator: Partial<CoordinatorState> = { live: ref, lastApproved: { ...ref, approvedAtUtcMs: NOW, approvedBy: 'wang', operatingMode: 'normal', steps: plan.steps } };
  workflows[coordinatorWorkflowId(network.id)] = coordinator;

  // Live, dispatched: its verified stations.
  workflows['plan-a'] = planState({ plan });
  assert.deepEqual([...(await source())!].sort(), ['W1', 'W2', 'X1']);

  // Completed (its last step applied): the coordinator holds it live no more, but the last step is in force until it ends.
  coordinator.live = null;
  workflows['plan-a'] = planState({ plan, status: 'completed' });
  now = endsUtcMs - 60_000;
  assert.deepEqual([...(await source())!].sort(), ['W1', 'W2', 'X1'], 'the last step\'s time is not over');
  now = endsUtcMs;
  assert.deepEqual(await source(), new Set(), 'the plan is over: every watchdog lapses to local control');
  const asked = queries.filter((q) => q === 'plan-a').length;
  now = endsUtcMs + 3 * 86_400_000;
  assert.deepEqual(await source(), new Set(), 'days later, still none');
  assert.equal(queries.filter((q) => q === 'plan-a').length, asked, 'a closed plan is not asked again');

  // A plan still 'dispatched' that the coordinator does not hold live (terminated, its close never told): none.
  const b = { workflowId: 'plan-b', planId: 'plan-b', kind: 'cycle' as const };
  coordinator.lastApproved = { ...b, approvedAtUtcMs: NOW, approvedBy: 'wang', operatingMode: 'normal', steps: plan.steps };
  workflows['plan-b'] = planState({ plan, planId: 'plan-b' });
  now = NOW;
  assert.deepEqual(await source(), new Set());
  // Live, but past its last step's end (its workflow stopped without closing): none either.
  coordinator.live = b;
  assert.deepEqual([...(await source())!].sort(), ['W1', 'W2', 'X1']);
  now = endsUtcMs + 1;
  assert.deepEqual(await source(), new Set());
});
