// Plan storage in a real InfluxDB 1.8, through the dispatch activities' writers (buildPlan, recordOutcome) and
// the readers that select a plan by its id (the flood report's plan_event query, the history route's):
// - series stay bounded: a plan's id is a field, its series are its slot's (activities/plan-points.ts), so
//   plans a slot cycle apart add no series, while plans of one day each add their own;
// - plans sharing a slot a cycle apart, and plans created the same minute by the cycle and the flood season,
//   keep every point: each reads back whole by its id.
// InfluxDB 1.8 (inmem index, this project's setting) counts series over the whole database and refuses any
// write past max-series-per-database (default 1,000,000) with "partial write: max-series-per-database limit
// exceeded": with the plan id as a tag, a year of 15-minute plans reached it, and telemetry writes with it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatchActivities } from '../../activities/dispatch.js';
import { PLAN_SLOT_CYCLE_DAYS } from '../../activities/plan-points.js';
import type { Planner } from '../../activities/planner.js';
import type { NetworkSnapshot } from '../../activities/types.js';
import { createInfluxConnector, type InfluxConnector } from '../../connectors/influx.js';
import type { DispatchOutcome, SetpointWriteResult } from '../../contract/index.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan } from '../../planner/types.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const network = await loadNetworkFile(referenceNetworkPath);
const START_UTC_MS = Date.UTC(2026, 6, 3, 2, 0);
const MIN = 60_000;
const CYCLE_MS = PLAN_SLOT_CYCLE_DAYS * 86_400_000;

/** The rule-based plan with a predicted trajectory, shaped as planner/mpc.ts makes it (values from the plan's time). */
const predictingPlanner: Planner = {
  name: 'rule-based with prediction',
  plan: async (r) => {
    const plan = ruleBasedPlan({ planId: r.planId, network: r.network, snapshot: r.snapshot, forecast: null, nowUtcMs: r.nowUtcMs });
    const ramp = (base: number) => plan.steps.map((_, k) => base + k / 100);
    const predicted: Plan['predicted'] = {
      scenarioId: 'det',
      scenarioCount: 1,
      stations: network.stations.map((s, i) => ({ stationId: s.id, levelM: ramp(i), inflowM3h: ramp(100), pumpedM3h: ramp(200), standbyM3h: ramp(0), overflowM3h: ramp(0) })),
      plants: network.plants.map((p) => ({ plantId: p.id, inflowM3h: ramp(1000), bypassM3h: ramp(0) })),
      tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: ramp(0), inletM3h: ramp(0), outletM3h: ramp(0), overflowM3h: ramp(0) })),
      transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferM3h: ramp(0) })),
      energyKwh: 1,
      costCny: 1,
      overflowM3: 0,
      bypassM3: 0,
      energyKwhByStep: ramp(1),
      costCnyByStep: ramp(1),
      risk: [],
    };
    return { ...plan, planner: 'mpc', predicted };
  },
};

void describe('plan storage in InfluxDB', () => {
  let servers: TestServers;
  let influx: InfluxConnector;
  let nowUtcMs = START_UTC_MS;
  let activities: ReturnType<typeof createDispatchActivities>;

  /** Series of the plan trajectories (plan_setpoint, plan_prediction) and of the plan records (plan_event, setpoint_write). */
  const seriesCount = async (measurements = ['plan_setpoint', 'plan_prediction']) => {
    const rows = await influx.query('SHOW SERIES EXACT CARDINALITY');
    return rows.filter((s) => measurements.includes(s.name)).reduce((n, s) => n + s.values.reduce((m, row) => m + Number(row[0]), 0), 0);
  };
  const RECORDS = ['plan_event', 'setpoint_write'];
  const count = async (q: string) => {
    const [s] = await influx.query(q);
    return s ? Number(s.values[0]![1]) : 0;
  };
  /** One cycle (or flood) plan at `atUtcMs`, built and stored as the service does, with a decision recorded. */
  const planAt = async (planId: string, atUtcMs: number): Promise<Plan> => {
    nowUtcMs = atUtcMs;
    const snapshot: NetworkSnapshot = { networkId: network.id, readAtUtcMs: atUtcMs, stations: [], readings: [], badTagCount: 0 };
    const plan = await activities.buildPlan({ planId, snapshot, forecast: null });
    const writes: SetpointWriteResult[] = plan.steps[0]!.stations.map((s) => ({ objectId: s.stationId, tag: 'startLevelSpM', nodeId: `ns=1;s=${s.stationId}.startLevelSpM`, value: s.startLevelM, readBack: s.startLevelM, status: 'verified' }));
    const outcome: DispatchOutcome = { planId, stepIndex: 0, appliedAtUtcMs: atUtcMs + 1_000, verified: writes.length, failed: 0, skipped: 0, writes };
    await activities.recordOutcome({ planId, status: 'dispatched', decidedBy: 'wang', outcome });
    return plan;
  };
  /** What a reader selecting by the plan id finds of the plan. */
  const readBack = async (plan: Plan) => {
    const where = `"planId" = '${plan.planId}' AND time >= ${plan.steps[0]!.startUtcMs - 3_600_000}ms`;
    return {
      setpoints: await count(`SELECT count("startLevelM") FROM "plan_setpoint" WHERE ${where}`),
      levels: await count(`SELECT count("levelM") FROM "plan_prediction" WHERE ${where} AND "kind" = 'station'`),
      index: await count(`SELECT count("steps") FROM "plan_prediction" WHERE ${where} AND "kind" = 'plan'`),
      events: await count(`SELECT count("verified") FROM "plan_event" WHERE ${where}`),
      writes: await count(`SELECT count("value") FROM "setpoint_write" WHERE ${where}`),
    };
  };
  const whole = (plan: Plan) => ({
    setpoints: network.stations.length * plan.steps.length,
    levels: network.stations.length * plan.steps.length,
    index: 1,
    events: 1,
    writes: network.stations.length,
  });

  before(async () => {
    servers = await startTestServers({ temporal: false });
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: '-', bucket: servers.influx.database, database: servers.influx.database });
    activities = createDispatchActivities({ network, influx, opcua: {} as never, forecast: {} as never, planner: predictingPlanner, now: () => nowUtcMs });
  });
  after(async () => {
    await servers?.stop();
  });

  it('plans a slot cycle apart reuse their series, and every one reads back whole by its id', async () => {
    const plans: Plan[] = [];
    const id = (k: number) => `plan-dispatch-cycle-${network.id}-${new Date(START_UTC_MS + k * CYCLE_MS).toISOString()}`;
    plans.push(await planAt(id(0), START_UTC_MS), await planAt(id(1), START_UTC_MS + CYCLE_MS));
    const afterTwo = await seriesCount();
    for (let k = 2; k < 8; k++) plans.push(await planAt(id(k), START_UTC_MS + k * CYCLE_MS));
    assert.equal(await seriesCount(), afterTwo, 'six more plans, each a slot cycle after the one before, add no series');
    for (const plan of plans) assert.deepEqual(await readBack(plan), whole(plan), plan.planId);
    // Records go to one of 16 buckets by plan id: at most 16 series per status (and per station and tag).
    const [event] = (await influx.query('SHOW SERIES EXACT CARDINALITY')).filter((s) => s.name === 'plan_event');
    assert.ok(Number(event!.values[0]![0]) <= 16, 'plan_event: one status, at most 16 buckets');

    // Plans of one day's cycles each add their own slot's series: bounded by the cycle, not by the plan count.
    const before = await seriesCount();
    const day: Plan[] = [];
    for (let k = 1; k <= 4; k++) day.push(await planAt(`plan-dispatch-cycle-${network.id}-day-${k}`, START_UTC_MS + k * 15 * MIN));
    assert.ok((await seriesCount()) > before, 'plans in new slots add series');
    assert.ok((await seriesCount(RECORDS)) <= 16 * (1 + network.stations.length), 'records stay within their buckets');
    // A flood plan created in the same minute as a cycle plan, on the same step grid: both stay whole.
    const flood = await planAt(`plan-flood-${network.id}-s1-e1-r1`, START_UTC_MS + 15 * MIN);
    for (const plan of [...day, flood]) assert.deepEqual(await readBack(plan), whole(plan), plan.planId);
    assert.ok(!(await influx.query('SHOW TAG KEYS FROM "plan_setpoint"')).some((s) => s.values.some((row) => row[0] === 'plan')), 'no plan tag');
  });
});
