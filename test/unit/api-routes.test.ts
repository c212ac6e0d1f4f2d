// The whole API app (api/app.ts) called with `inject`, no port opened: the store is a temp SQLite file,
// InfluxDB and Temporal are stand-ins answering from fixed data (the routes' talk with the real servers is
// covered by the integration tests). Checked here: what the new routes compute (forecasts, alerts, the
// diff against the live plan, history, the flood board and report list), that every route is documented
// with schemas, that roles are enforced, and that malformed input of any kind gets a 4xx, never a 5xx.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApplicationFailure, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import { beijingTime, type AlertsBody } from '../../api/routes/alerts.js';
import type { FloodBoardBody } from '../../api/routes/flood.js';
import type { ForecastsBody } from '../../api/routes/forecasts.js';
import type { PlanDiffBody } from '../../api/routes/plans.js';
import type { InfluxConnector, QuerySeries } from '../../connectors/influx.js';
import { EMERGENCY_REPLACE_ROLE, EMERGENCY_REPLACE_UNCONFIRMED, coordinatorWorkflowId, floodSeasonWorkflowId, type CoordinatorState, type DispatchCycleState, type FloodSeasonState } from '../../contract/index.js';
import { buildEmergencyPlan } from '../../flood/emergency-plan.js';
import { floodConfig, type FloodAssessment } from '../../flood/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';
import type { Plan } from '../../planner/types.js';
import { openStore, type Store } from '../../store/db.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-api-routes-'));
const NOW = Date.now();
const H = 3_600_000;
const passwords = { admin: 'admin password 2026', wang: 'dispatcher password 2026', li: 'viewer password 2026', zhao: 'supervisor password 2026' };

// --- Stand-in InfluxDB: answers the queries the routes send, from fixed series. ---------------------

const rainIssue = NOW - H;
const inflowIssue = NOW - 2 * H;
/** Step starts of the stored forecasts (every forecast is stored at the start of its step). */
const hours = [0, 1, 2, 3].map((i) => rainIssue + i * H);
const series = (name: string, tags: Record<string, string>, columns: string[], values: unknown[][]): QuerySeries => ({ name, tags, columns, values });
const influxQueries: string[] = [];
/** Whether the stand-in holds a rain ensemble (five members, hourly) of the rain issue. */
let ensembleStored = true;
/** Member m's rain in hour i: m + i; member 4 has a gap in hour 1, every member in hour 3. */
const ensembleMm = (m: number, i: number) => (i === 3 || (m === 4 && i === 1) ? null : m + i);
/** Level per station in the live state (W1 above its high alarm, E1 overflowing). */
const liveLevels: Record<string, number> = { W1: 3.6, E1: 4.05 };

const influx: InfluxConnector = {
  write: (points) => Promise.resolve(points.length),
  ping: () => Promise.resolve({ latencyMs: 1, version: 'stand-in' }),
  query(q: string) {
    influxQueries.push(q);
    const out: QuerySeries[] = [];
    for (const statement of q.split('; ')) {
      // Forecast issues (forecasting/issues.ts): completion markers, point counts, then the data of one issue.
      const marker = (kind: string, issuedAtMs: number, points: number, more: Record<string, unknown>) => {
        const fields = { issuedAtMs, startUtcMs: hours[0]!, endUtcMs: hours[3]! + H, points, stepMin: 60, ...more };
        return series('forecast_issue', {}, ['time', 'kind', ...Object.keys(fields)], [[issuedAtMs, kind, ...Object.values(fields)]]);
      };
      const inflowPoints = network.stations.length * (4 * 4 - 1);
      const ensemblePoints = network.catchments.length * 5 * 4;
      const rainPoints = network.catchments.length * 4;
      if (statement.startsWith('SELECT * FROM "forecast_issue"')) {
        if (statement.includes(`"kind" = 'inflow'`)) {
          out.push(marker('inflow', inflowIssue, inflowPoints, { source: 'open-meteo:test', quality: 'fresh', members: 5, flags: JSON.stringify({ forecast: ['rain fresh'], stations: { W1: ['no observed rain before the start at C-W1: RDII state taken as dry'] } }) }));
        } else if (statement.includes('^cycle-')) {
          // The newest cycle ran on a stale forecast issued an hour before it.
          out.push(marker('cycle-60min', rainIssue, rainPoints, { source: 'open-meteo:test;quality=stale,age=60min;60min', quality: 'stale', rainIssuedAtMs: rainIssue - H }));
        } else if (statement.includes('^ensemble-') && ensembleStored) {
          out.push(marker('ensemble-60min', rainIssue, ensemblePoints, { source: 'open-meteo-ensemble:test', quality: 'fresh', members: 5 }));
        }
      } else if (statement.startsWith('SELECT count("issuedAtMs") FROM')) {
        const n = statement.includes('"inflow_forecast"') ? inflowPoints : statement.includes('"rain_ensemble"') ? ensemblePoints : rainPoints;
        out.push(series('x', {}, ['time', 'count'], [[0, n]]));
      } else if (statement.includes('FROM "rain_ensemble" WHERE')) {
        assert.match(statement, new RegExp(`"issuedAtMs" = ${rainIssue} AND`), 'the newest complete ensemble issue is read');
        assert.match(statement, /GROUP BY "catchment", "member"/);
        for (const c of network.catchments) {
          for (let m = 0; m < 5; m++) {
            const values = hours.map((t, i) => {
              const mm = ensembleMm(m, i);
              return [t, mm, mm === null ? true : null];
            });
            out.push(series('rain_ensemble', { catchment: c.id, member: String(m) }, ['time', 'precipitationMm', 'gap'], values));
          }
        }
      } else if (statement.includes('FROM "rain_forecast" WHERE')) {
        assert.match(statement, new RegExp(`"kind" = 'cycle-60min' AND "issuedAtMs" = ${rainIssue} AND`), 'the newest cycle is read');
        for (const c of network.catchments) {
          if (!statement.includes(`'${c.id}'`)) continue;
          // One gap (no precipitation) in the third hour: never counted as dry.
          out.push(series('rain_forecast', { catchment: c.id }, ['time', 'precipitationMm', 'gap'], hours.map((t, i) => [t, i === 2 ? null : i + 0.5, i === 2 ? true : null])));
        }
      } else if (statement.includes('FROM "inflow_forecast"')) {
        assert.match(statement, new RegExp(`"issuedAtMs" = ${inflowIssue} AND`));
        for (const st of network.stations) {
          if (statement.includes('"station" = ') && !statement.includes(`'${st.id}'`)) continue;
          for (const [quantile, factor] of [['det', 1], ['p10', 0.8], ['p50', 1], ['p90', 1.3]] as const) {
            // p90 lacks the last step: it must stay null, aligned by time.
            const steps = quantile === 'p90' ? hours.slice(0, 3) : hours;
            out.push(series('inflow_forecast', { station: st.id, quantile }, ['time', 'flowM3h'], steps.map((t, i) => [t, 100 * factor + i])));
          }
        }
      } else if (/^SELECT last\(\*\) FROM "station"/.test(statement) || /^SELECT \* FROM "station"/.test(statement)) {
        const last = statement.startsWith('SELECT last');
        for (const st of network.stations) {
          const level = liveLevels[st.id] ?? 1.2;
          const values = { levelM: level, overflowM3h: st.id === 'E1' ? 40 : 0, mode: st.id === 'E9' ? 0 : 1, pumpsAvailable: st.id === 'W2' ? st.pumps.length - 2 : st.pumps.length };
          const columns = ['time', ...Object.keys(values).map((k) => (last ? `last_${k}` : k))];
          out.push(series('station', { id: st.id }, columns, [[last ? NOW - 86_400_000 : NOW - 60_000, ...Object.values(values)]]));
        }
      } else if (statement.includes('FROM "plant"')) {
        const last = statement.startsWith('SELECT last');
        out.push(series('plant', { id: 'EP' }, ['time', last ? 'last_inflowM3h' : 'inflowM3h', last ? 'last_bypassM3h' : 'bypassM3h'], [[NOW - 60_000, 7000, 500]]));
      } else if (statement.includes('FROM "sensor_flag"')) {
        out.push(series('sensor_flag', { object: 'W3', tag: 'levelM', kind: 'flatline' }, ['time', 'active', 'detail', 'detailZh'], [[NOW - 5 * 60_000, true, 'no change for 2 h', '2 小时无变化']]));
        out.push(series('sensor_flag', { object: 'W4', tag: 'levelM', kind: 'range' }, ['time', 'active', 'detail'], [[NOW - 5 * 60_000, false, 'cleared']]));
      } else if (statement.includes('FROM "tag_status"')) {
        out.push(series('tag_status', { object: 'E5', tag: 'inflowM3h' }, ['time', 'statusCode'], [[NOW - 2 * 60_000, 'BadCommunicationError']]));
      } else if (statement.includes('FROM "plan_event"')) {
        out.push(series('plan_event', { status: 'escalated' }, ['time', 'bucket', 'decidedBy', 'detail', 'failed', 'planId', 'skipped', 'verified'], [[NOW - 3 * H, 'b3', '', 'notified the supervisor after 15 min', 0, 'plan-a', 0, 0]]));
        out.push(series('plan_event', { status: 'dispatched' }, ['time', 'bucket', 'decidedBy', 'detail', 'failed', 'planId', 'skipped', 'step', 'verified'], [[NOW - 2 * H, 'b3', 'wang', null, 0, 'plan-a', 6, 0, 90]]));
      } else if (statement.includes('FROM "flood_report"')) {
        out.push(series('flood_report', { event: 'ev-old' }, ['time', 'peakWarningLevel', 'overflowM3'], [[NOW - 30 * 86_400_000, 3, 1200]]));
      } else if (statement.includes('first("levelM")')) {
        for (const st of network.stations) out.push(series('station', { id: st.id }, ['time', 'first'], [[NOW - H, 2.5]]));
      }
    }
    return Promise.resolve(out);
  },
};

// --- Stand-in Temporal client: workflows by id, answering queries and Updates. --------------------------

const snapshot = {
  networkId: network.id,
  readAtUtcMs: NOW - 10 * 60_000,
  readings: [],
  badTagCount: 0,
  stations: network.stations.map((s) => ({ stationId: s.id, levelM: 1.2, inflowM3h: 100, outflowM3h: 100, pumpsRunning: 1, pumpsAvailable: s.pumps.length, mode: 'remote' as const, remoteActive: true, startLevelSpM: s.levels.pumpStartM, stopLevelSpM: s.levels.pumpStopM, flowSpM3h: 0 })),
};
const planOf = (planId: string, levelShiftM = 0): Plan => {
  const plan = ruleBasedPlan({ planId, network, snapshot, forecast: null, nowUtcMs: NOW });
  return { ...plan, steps: plan.steps.map((step) => ({ ...step, stations: step.stations.map((s) => (s.stationId === 'W1' ? { ...s, startLevelM: s.startLevelM + levelShiftM } : s)) })) };
};
const livePlanId = 'plan-dispatch-cycle-pinghu-reference-live';
const pendingPlanId = 'plan-dispatch-cycle-pinghu-reference-pending';
const plans: Record<string, DispatchCycleState> = {
  [livePlanId]: { status: 'dispatched', planId: livePlanId, plan: planOf(livePlanId), snapshot },
  [pendingPlanId]: { status: 'proposed', planId: pendingPlanId, plan: planOf(pendingPlanId, -0.3), snapshot, proposedAtUtcMs: NOW - 40 * 60_000, escalatedAtUtcMs: NOW - 10 * 60_000, deadlineUtcMs: NOW + 20 * 60_000, requiredRole: 'dispatcher' },
};
const coordinator: CoordinatorState = {
  networkId: network.id,
  pending: { workflowId: pendingPlanId, planId: pendingPlanId, kind: 'cycle' },
  live: { workflowId: livePlanId, planId: livePlanId, kind: 'cycle' },
  lastApproved: null,
  log: [],
  eventsThisRun: 0,
};

const assessment: FloodAssessment = {
  networkId: network.id,
  assessedAtUtcMs: NOW - 5 * 60_000,
  warning: 'yellow',
  response: 'III',
  bySource: { observed: 'none', forecast: 'yellow' },
  evidence: [],
  catchments: network.catchments.map((c) => ({
    catchmentId: c.id,
    stationId: c.node,
    observed: { mm3h: 0, mm6h: 0, mm12h: 0, lastHourMm: 0, gaps: 0 },
    forecast: { max3hMm: 40, max6hMm: 55, max12hMm: 60, totalMm: 70, gaps: 0 },
    onsetUtcMs: NOW + 3 * H,
    endUtcMs: NOW + 9 * H,
    level: c.node.startsWith('W') ? 'yellow' : 'none',
  })),
  onsetUtcMs: NOW - 5 * 60_000 + 3 * H,
  endUtcMs: NOW + 9 * H,
  stations: network.stations.map((s) => ({ stationId: s.id, levelM: s.id === 'W5' ? 2.2 : 1.2, inflowM3h: 100, overflowM3h: 0, pumpsAvailable: s.pumps.length, pumpsRunning: 1, mode: 'remote' })),
  plants: network.plants.map((p) => ({ plantId: p.id, inflowM3h: 1000, bypassM3h: 0 })),
  tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: 0 })),
  forecastIssuedAtUtcMs: NOW - H,
  forecastSource: 'test',
  notes: [],
};
const emergency = buildEmergencyPlan({ emergencyPlanId: 'plan-flood-pinghu-reference-e1-r1', revision: 1, assessment, config: floodConfig(), network, nowUtcMs: NOW - 4 * 60_000 });
const flood: FloodSeasonState = {
  networkId: network.id,
  seasonId: '2026',
  status: 'event',
  iteration: 3,
  runs: 1,
  warning: 'yellow',
  response: 'III',
  lastAssessment: assessment,
  event: null,
  pending: { plan: emergency, proposedAtUtcMs: NOW - 4 * 60_000, escalatedAtUtcMs: null, deadlineUtcMs: NOW + 56 * 60_000 },
  live: null,
  eventsCompleted: 1,
  reports: [],
  quietChecks: 0,
  planBasis: null,
};
let floodRunning = true;
const updates: { workflowId: string; name: string; args: unknown[] }[] = [];
const signals: { workflowId: string; name: string; arg: unknown }[] = [];
/** Updates the stand-in refuses, as a workflow's validator would (WorkflowUpdateFailedError). */
const refusedUpdates = new Set<string>();
/** When set, the failure a workflow's validator would answer an update with (undefined: accepted). */
let updateRefusal: ((name: string, args: unknown[]) => Error | undefined) | undefined;

const temporal = {
  workflow: {
    getHandle(workflowId: string) {
      const known = () => {
        if (workflowId === coordinatorWorkflowId(network.id)) return coordinator;
        if (workflowId === floodSeasonWorkflowId(network.id) && floodRunning) return flood;
        return plans[workflowId];
      };
      const missing = () => new WorkflowNotFoundError(`workflow ${workflowId} not found`, workflowId, undefined);
      return {
        workflowId,
        describe: () => (known() ? Promise.resolve({ status: { name: 'RUNNING' } }) : Promise.reject(missing())),
        query: (def: { name: string }) => {
          const state = known();
          if (!state) return Promise.reject(missing());
          if (def.name === 'floodReport') return Promise.resolve(null);
          return Promise.resolve(state);
        },
        signal: (def: { name: string }, arg: unknown) => {
          if (!known()) return Promise.reject(missing());
          signals.push({ workflowId, name: def.name, arg });
          return Promise.resolve();
        },
        executeUpdate: (def: { name: string }, options: { args: unknown[] }) => {
          const state = known();
          if (!state) return Promise.reject(missing());
          updates.push({ workflowId, name: def.name, args: options.args });
          const refused = updateRefusal?.(def.name, options.args);
          if (refused) return Promise.reject(new WorkflowUpdateFailedError('update failed', refused));
          if (refusedUpdates.has(def.name)) return Promise.reject(new WorkflowUpdateFailedError('update failed', new Error(`${def.name} refused by the stand-in`)));
          if (def.name === 'approvePlan' && (state as DispatchCycleState).status !== 'proposed') {
            return Promise.reject(new WorkflowUpdateFailedError('update failed', new Error(`plan is ${(state as DispatchCycleState).status}, not proposed`)));
          }
          return Promise.resolve(state);
        },
      };
    },
    async *list() {
      for (const id of Object.keys(plans)) yield { workflowId: id, status: { name: 'RUNNING' }, startTime: new Date(NOW - H) };
    },
  },
} as unknown as Client;

// --- The app ------------------------------------------------------------------------------------------

let store: Store;
let app: FastifyInstance;
/** What the app logs at level error (a lost audit record, a 5xx). */
const errorLog: string[] = [];
const tokens: Record<keyof typeof passwords, string> = { admin: '', wang: '', li: '', zhao: '' };
const bearer = (user: keyof typeof passwords) => ({ authorization: `Bearer ${tokens[user]}` });

before(async () => {
  store = await openStore(`sqlite:${path.join(tempDir, 'api.sqlite')}`);
  await store.users.create({ userName: 'admin', role: 'admin', password: passwords.admin });
  await store.users.create({ userName: 'wang', role: 'dispatcher', password: passwords.wang });
  await store.users.create({ userName: 'li', role: 'viewer', password: passwords.li });
  await store.users.create({ userName: 'zhao', role: 'supervisor', password: passwords.zhao });
  app = await buildApp(
    { network, store, influx, temporal, temporalNamespace: 'default', probes: {}, rateLimitPerMinute: 100_000 },
    { logger: { level: 'error', stream: { write: (line: string) => void errorLog.push(line) } } },
  );
  for (const user of Object.keys(passwords) as (keyof typeof passwords)[]) {
    const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName: user, password: passwords[user] }, remoteAddress: `10.9.0.${Object.keys(tokens).indexOf(user) + 1}` });
    assert.equal(res.statusCode, 200, res.body);
    tokens[user] = res.json<{ token: string }>().token;
  }
});
after(async () => {
  await app?.close();
  await store?.close();
  rmSync(tempDir, { recursive: true, force: true });
});

/** The standard error body: the status, its reason phrase, a message, perhaps a code; nothing else. */
function assertErrorBody(body: string, statusCode: number) {
  const b = JSON.parse(body) as Record<string, unknown>;
  assert.equal(b['statusCode'], statusCode, body);
  assert.equal(b['error'], STATUS_CODES[statusCode], body);
  assert.equal(typeof b['message'], 'string', body);
  for (const key of Object.keys(b)) assert.ok(['statusCode', 'error', 'message', 'code'].includes(key), `unexpected ${key} in ${body}`);
}

void describe('what the new routes answer', () => {
  void test('forecasts: the rain the newest cycle used per catchment with its quality and gaps kept, inflow quantiles aligned by time, the forecast flags', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/forecasts', headers: bearer('li') });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<ForecastsBody>();
    assert.equal(body.rain.issuedAtUtcMs, rainIssue - H);
    assert.equal(body.rain.usedAtUtcMs, rainIssue);
    assert.equal(body.rain.source, 'open-meteo:test;quality=stale,age=60min;60min');
    assert.equal(body.rain.quality, 'stale');
    assert.deepEqual(body.rain.catchments[0]!.timeUtcMs, hours);
    assert.equal(body.rain.catchments.length, network.catchments.length);
    const c = body.rain.catchments[0]!;
    assert.deepEqual(c.mm, [0.5, 1.5, null, 3.5]);
    assert.equal(c.stepMin, 60);
    assert.equal(c.gaps, 1);
    assert.equal(c.totalMm, 5.5);
    // The ensemble band: type-7 quantiles across members; member 4's gap in hour 1 is left out, and the
    // hour where every member has a gap stays null, not zero.
    assert.deepEqual(body.rain.ensemble, { issuedAtUtcMs: rainIssue, source: 'open-meteo-ensemble:test', members: 5 });
    assert.ok(c.ensemble, 'a band per catchment');
    assert.deepEqual(c.ensemble.timeUtcMs, hours);
    assert.equal(c.ensemble.stepMin, 60);
    assert.deepEqual(c.ensemble.members, [5, 4, 5, 0]);
    assert.deepEqual(c.ensemble.p10Mm, [0.4, 1.3, 2.4, null]);
    assert.deepEqual(c.ensemble.p50Mm, [2, 2.5, 4, null]);
    assert.deepEqual(c.ensemble.p90Mm, [3.6, 3.7, 5.6, null]);
    assert.equal(body.inflow.issuedAtUtcMs, inflowIssue);
    assert.equal(body.inflow.rainQuality, 'fresh');
    const w1 = body.inflow.stations.find((s) => s.stationId === 'W1')!;
    assert.deepEqual(w1.timeUtcMs, hours);
    assert.deepEqual(w1.p10M3h, [80, 81, 82, 83]);
    assert.deepEqual(w1.p90M3h, [130, 131, 132, null]);
    assert.deepEqual(body.inflow.flags, ['rain fresh']);
    assert.deepEqual(w1.flags, ['no observed rain before the start at C-W1: RDII state taken as dry']);
    assert.deepEqual(body.inflow.stations.find((s) => s.stationId === 'W2')!.flags, []);

    const one = await app.inject({ method: 'GET', url: '/api/forecasts?station=E2', headers: bearer('li') });
    assert.equal(one.statusCode, 200, one.body);
    const oneBody = one.json<ForecastsBody>();
    assert.deepEqual(oneBody.inflow.stations.map((s) => s.stationId), ['E2']);
    assert.deepEqual(oneBody.rain.catchments.map((x) => x.stationId), ['E2']);
    const unknown = await app.inject({ method: 'GET', url: '/api/forecasts?station=Z9', headers: bearer('li') });
    assert.equal(unknown.statusCode, 404, unknown.body);
    assertErrorBody(unknown.body, 404);
  });

  void test('forecasts: with no rain ensemble stored the answer says so and no catchment has a band', async () => {
    ensembleStored = false;
    try {
      const res = await app.inject({ method: 'GET', url: '/api/forecasts', headers: bearer('li') });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<ForecastsBody>();
      assert.equal(body.rain.ensemble, null);
      assert.ok(body.rain.catchments.length > 0);
      for (const c of body.rain.catchments) assert.equal(c.ensemble, null, c.catchmentId);
    } finally {
      ensembleStored = true;
    }
  });

  void test('alerts: overflow, bypass, high level, local, pumps out, sensor flag, bad tag, escalated plan and flood plan; most severe first', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/alerts', headers: bearer('li') });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<AlertsBody>();
    assert.ok(body.sources.every((s) => s.ok), JSON.stringify(body.sources));
    const ids = body.alerts.map((a) => a.alertId);
    for (const id of ['overflow:E1', 'plant-bypass:EP', 'level-high:W1', 'station-local:E9', 'pumps-unavailable:W2', 'sensor-flag:W3:levelM:flatline', 'tag-status:E5:inflowM3h', `plan-escalated:${pendingPlanId}`, 'flood-warning:yellow', `flood-plan-pending:${emergency.emergencyPlanId}`]) {
      assert.ok(ids.includes(id), `${id} in ${ids.join(', ')}`);
    }
    assert.ok(!ids.includes('sensor-flag:W4:levelM:range'), 'a cleared flag is no alert');
    const flag = body.alerts.find((a) => a.alertId === 'sensor-flag:W3:levelM:flatline')!;
    assert.deepEqual(flag.message, { zh: 'W3.levelM 数据质量异常（数值不变）：2 小时无变化', en: 'W3.levelM sensor quality flag (flatline): no change for 2 h' });
    assert.ok(!ids.some((id) => id.startsWith('level-high:E1')), 'an overflowing station is one overflow alert, not also a high level');
    const rank = { critical: 0, warning: 1, info: 2 };
    assert.deepEqual(body.alerts.map((a) => rank[a.severity]), [...body.alerts.map((a) => rank[a.severity])].sort((a, b) => a - b));
    const escalated = body.alerts.find((a) => a.kind === 'plan-escalated')!;
    assert.equal(escalated.link, `#/plans/${pendingPlanId}`);
    assert.match(escalated.message.zh, /上报主管/);
    // The deadline as a field (the console formats it in Beijing time), and the text in Beijing time, not ISO UTC.
    assert.equal(escalated.deadlineUtcMs, NOW + 20 * 60_000);
    assert.ok(escalated.message.zh.includes(`${beijingTime(NOW + 20 * 60_000)}（北京时间）`), escalated.message.zh);
    assert.doesNotMatch(`${escalated.message.zh} ${escalated.message.en}`, /\d{4}-\d\d-\d\dT\d\d:\d\d/);
    assert.equal(body.alerts.find((a) => a.kind === 'flood-plan-pending')?.deadlineUtcMs, NOW + 56 * 60_000);
    assert.equal(body.alerts.find((a) => a.kind === 'overflow')?.deadlineUtcMs, undefined, 'only plans waiting carry a deadline');
  });

  void test('a failing source is reported and the others still answer', async () => {
    floodRunning = true;
    const broken = { ...influx, query: (q: string) => (q.includes('sensor_flag') ? Promise.reject(new Error('influx down')) : influx.query(q)) };
    const other = await buildApp({ network, store, influx: broken, temporal, temporalNamespace: 'default', probes: {} });
    try {
      const res = await other.inject({ method: 'GET', url: '/api/alerts', headers: bearer('li') });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json<AlertsBody>();
      assert.deepEqual(body.sources.filter((s) => !s.ok).map((s) => `${s.source}:${s.detail}`), ['sensor_flag:influx down']);
      assert.ok(body.alerts.some((a) => a.kind === 'overflow'));
    } finally {
      await other.close();
    }
  });

  void test('diff: the pending plan against the live plan, only W1 changes', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/plans/${pendingPlanId}/diff`, headers: bearer('li') });
    assert.equal(res.statusCode, 200, res.body);
    const diff = res.json<PlanDiffBody>();
    assert.equal(diff.baseline, 'live-plan');
    assert.equal(diff.livePlanId, livePlanId);
    assert.deepEqual(diff.stations.filter((s) => s.changed).map((s) => s.stationId), ['W1']);
    const w1 = diff.stations.find((s) => s.stationId === 'W1')!;
    assert.ok(Math.abs(w1.startLevelM.live! - w1.startLevelM.proposed! - 0.3) < 1e-9);
    assert.equal(diff.changedStations, 1);
    // The live plan against itself: compared with SCADA instead.
    const self = await app.inject({ method: 'GET', url: `/api/plans/${livePlanId}/diff`, headers: bearer('li') });
    assert.equal(self.json<PlanDiffBody>().baseline, 'scada');
  });

  void test('history: plan events from InfluxDB, newest first, within the asked period', async () => {
    const from = NOW - 86_400_000;
    const res = await app.inject({ method: 'GET', url: `/api/history?fromUtcMs=${from}&toUtcMs=${NOW}&limit=50`, headers: bearer('li') });
    assert.equal(res.statusCode, 200, res.body);
    const { events } = res.json<{ events: { status: string; decidedBy: string | null; verified: number; step: number | null }[] }>();
    assert.deepEqual(events.map((e) => e.status), ['dispatched', 'escalated']);
    assert.deepEqual([events[0]!.decidedBy, events[0]!.verified, events[0]!.step], ['wang', 90, 0]);
    assert.equal(events[1]!.decidedBy, null);
    assert.ok(influxQueries.some((q) => q.includes(`time >= ${from}ms AND time < ${NOW}ms`)), 'the period is in the query');
  });

  void test('flood board: onset countdown, stations at risk, drawdown of the waiting plan, its crew tasks', async () => {
    floodRunning = true;
    const res = await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') });
    assert.equal(res.statusCode, 200, res.body);
    const board = res.json<FloodBoardBody>();
    assert.equal(board.warning, 'yellow');
    assert.equal(board.response, 'III');
    assert.equal(board.rain.minutesToOnset, 180);
    assert.deepEqual(board.stationsAtRisk.slice(0, 2).map((s) => `${s.stationId}:${s.risk}`), ['E1:overflow', 'W1:high']);
    assert.equal(board.drawdown.source, 'pending');
    assert.equal(board.drawdown.emergencyPlanId, emergency.emergencyPlanId);
    assert.equal(board.drawdown.stations.length, emergency.drawdown.length);
    assert.ok(emergency.drawdown.length > 0, 'the yellow warning draws stations down');
    assert.equal(board.crewTasks.length, emergency.crewTasks.length);
    assert.ok(board.crewTasks.every((c) => c.state === 'proposed'));
    assert.equal(board.pending?.requiredRole, 'dispatcher');
  });

  void test('flood board: the plan in force from the workflow state (crew tasks with reasons, transfers, tanks, overflow order); older runs read the log', async () => {
    floodRunning = true;
    const saved = { pending: flood.pending, live: flood.live, event: flood.event, livePlan: flood.livePlan };
    const { setpointPlan: _setpoints, ...inForce } = emergency;
    assert.ok(emergency.crewTasks.length > 0, 'the plan has crew tasks');
    // The log as the workflow writes it; a task of another plan must not show.
    const actions = [...emergency.crewTasks, { ...emergency.crewTasks[0]!, stationId: 'W9' }].map((t, i) => ({
      atUtcMs: NOW - 60_000,
      kind: 'crew-task' as const,
      detail: `${t.kind} @ ${t.stationId} (${t.location.latDeg},${t.location.lonDeg}) due ${new Date(t.dueUtcMs).toISOString()}`,
      planId: i < emergency.crewTasks.length ? emergency.emergencyPlanId : 'plan-other',
    }));
    const event = { eventId: 'ev-1', networkId: network.id, startedAtUtcMs: NOW - H, endedAtUtcMs: null, peakWarning: 'yellow' as const, peakResponse: 'III' as const, levels: [], actions, stations: [], firstForecast: null, plans: [], observedOnsetUtcMs: null };
    const expectedTasks = [...emergency.crewTasks].sort((x, y) => x.dueUtcMs - y.dueUtcMs);
    try {
      Object.assign(flood, { pending: null, event, live: { emergencyPlanId: emergency.emergencyPlanId, revision: 1, planWorkflowId: emergency.emergencyPlanId, response: 'III', approvedBy: 'wang' }, livePlan: inForce });
      const res = await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') });
      assert.equal(res.statusCode, 200, res.body);
      const board = res.json<FloodBoardBody>();
      assert.deepEqual(board.inForce, { emergencyPlanId: emergency.emergencyPlanId, transfers: emergency.transfers, tanks: emergency.tanks, overflowPriority: emergency.overflowPriority });
      assert.deepEqual(
        board.crewTasks.map((c) => [c.planId, c.state, c.kind, c.stationId, c.dueUtcMs, c.reason]),
        expectedTasks.map((t) => [emergency.emergencyPlanId, 'dispatched', t.kind, t.stationId, t.dueUtcMs, t.reason]),
      );

      // A run started before the plan was kept in state: crew tasks from the log (no reason), no plan details.
      delete flood.livePlan;
      const old = await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') });
      assert.equal(old.statusCode, 200, old.body);
      const oldBoard = old.json<FloodBoardBody>();
      assert.equal(oldBoard.inForce, null);
      assert.deepEqual(
        oldBoard.crewTasks.map((c) => [c.planId, c.state, c.kind, c.stationId, c.dueUtcMs, c.reason]),
        expectedTasks.map((t) => [emergency.emergencyPlanId, 'dispatched', t.kind, t.stationId, Math.floor(t.dueUtcMs), null]),
      );
    } finally {
      Object.assign(flood, saved);
      if (saved.livePlan === undefined) delete flood.livePlan;
    }
  });

  void test('flood board during a forecast outage: the notes, the forecast issue time and source, maxima unknown (not 0), the level kept, notifications not delivered (F12)', async () => {
    floodRunning = true;
    const saved = { lastAssessment: flood.lastAssessment, inputsMissing: flood.inputsMissing, notificationFailures: flood.notificationFailures, replanDue: flood.replanDue };
    // As the season keeps it (workflows/flood-season.ts, flood-unknown-assessment): the check without a
    // forecast is the last assessment; the warning stays yellow; SCADA unreadable too. Newer than any telemetry.
    const outage: FloodAssessment = {
      ...assessment,
      assessedAtUtcMs: NOW + 60_000,
      warning: 'none',
      response: null,
      bySource: { observed: 'none', forecast: 'none' },
      catchments: assessment.catchments.map((c) => ({ ...c, forecast: { max3hMm: 0, max6hMm: 0, max12hMm: 0, totalMm: 0, gaps: 0 }, onsetUtcMs: null, endUtcMs: null, level: 'none' as const })),
      onsetUtcMs: null,
      endUtcMs: null,
      stations: assessment.stations.map((x) => ({ ...x, levelM: null, overflowM3h: null })),
      forecastIssuedAtUtcMs: null,
      forecastSource: 'none',
      notes: ['forecast unavailable: forecast server: HTTP 503', 'observed rain unavailable: archive: HTTP 500', 'SCADA unavailable: connect ECONNREFUSED'],
    };
    const failure = { atUtcMs: NOW - 60_000, key: 'k1', audience: 'supervisor', title: '应急预案超时未批准 / Emergency plan not approved', error: 'webhook: HTTP 502' };
    try {
      Object.assign(flood, { lastAssessment: outage, inputsMissing: { sinceUtcMs: NOW - 30 * 60_000, notes: ['forecast unavailable: forecast server: HTTP 503'], alarmed: true }, notificationFailures: [failure], replanDue: 'expired' });
      const res = await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') });
      assert.equal(res.statusCode, 200, res.body);
      const b = res.json<FloodBoardBody>();
      assert.equal(b.warning, 'yellow', 'the level in force, not the unknown check');
      assert.deepEqual(b.inputs, {
        notes: outage.notes,
        forecastIssuedAtUtcMs: null,
        forecastSource: 'none',
        forecastMissing: true,
        levelKeptSinceUtcMs: NOW - 30 * 60_000,
        alarmed: true,
        levelsUnknown: network.stations.map((x) => x.id),
      });
      assert.ok(b.rain.catchments.length > 0 && b.rain.catchments.every((c) => c.forecastMax3hMm === null && c.forecastMax12hMm === null), 'no forecast: maxima unknown, not 0 mm');
      assert.ok(b.rain.catchments.every((c) => c.observed3hMm === null), 'no observed rain: unknown, not 0 mm');
      assert.deepEqual(b.notificationFailures, [failure]);
      assert.equal(b.replanDue, 'expired');

      // With a forecast: its issue time and source, nothing missing, the maxima as forecast.
      Object.assign(flood, saved);
      const ok = (await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') })).json<FloodBoardBody>();
      assert.deepEqual([ok.inputs.forecastIssuedAtUtcMs, ok.inputs.forecastSource, ok.inputs.forecastMissing, ok.inputs.levelKeptSinceUtcMs, ok.inputs.notes], [NOW - H, 'test', false, null, []]);
      assert.equal(ok.rain.catchments[0]!.forecastMax12hMm, 60);
      assert.equal(ok.rain.catchments[0]!.observed3hMm, 0);
      assert.deepEqual(ok.notificationFailures, []);
    } finally {
      Object.assign(flood, saved);
    }
  });

  void test('re-plan: a dispatcher asks for a new emergency plan revision (signal requestFloodReplan), audited; refused while a plan waits, without an event, or to a viewer', async () => {
    floodRunning = true;
    const saved = { pending: flood.pending, event: flood.event };
    const event = { eventId: 'ev-replan', networkId: network.id, startedAtUtcMs: NOW - H, endedAtUtcMs: null, peakWarning: 'yellow' as const, peakResponse: 'III' as const, levels: [], actions: [], stations: [], firstForecast: null, plans: [], observedOnsetUtcMs: null };
    const post = (user: 'wang' | 'li', payload: object) => app.inject({ method: 'POST', url: '/api/flood/replan', headers: bearer(user), payload });
    const message = (res: { body: string }) => (JSON.parse(res.body) as { message: string }).message;
    try {
      flood.event = event;
      // A plan waits: decide it first; nothing reaches the workflow, the refusal is audited.
      const waiting = await post('wang', { reason: '雨量预报上调' });
      assert.equal(waiting.statusCode, 409, waiting.body);
      assertErrorBody(waiting.body, 409);
      assert.match(message(waiting), /is waiting for a decision; approve or reject it first/);
      assert.equal(signals.length, 0);
      const [refused] = await store.audit.search({ action: 'flood.replan.refused', limit: 1, offset: 0 });
      assert.deepEqual([refused?.userName, refused?.target], ['wang', 'ev-replan']);

      // Nothing waits (the last plan expired): sent to the season, audited with the event.
      flood.pending = null;
      const viewer = await post('li', {});
      assert.equal(viewer.statusCode, 403, viewer.body);
      assert.equal(signals.length, 0, "a viewer's request reaches nothing");
      const res = await post('wang', { reason: '雨量预报上调' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json<{ eventId: string; requestedBy: string }>().eventId, 'ev-replan');
      assert.deepEqual(signals, [{ workflowId: floodSeasonWorkflowId(network.id), name: 'requestFloodReplan', arg: { userName: 'wang', reason: '雨量预报上调' } }]);
      const [written] = await store.audit.search({ action: 'flood.replan', limit: 1, offset: 0 });
      assert.deepEqual([written?.userName, written?.role, written?.target, (written?.detail as { comment: string }).comment], ['wang', 'dispatcher', 'ev-replan', '雨量预报上调']);

      // No event in progress: refused (the workflow would ignore it).
      flood.event = null;
      const none = await post('wang', {});
      assert.equal(none.statusCode, 409, none.body);
      assert.match(message(none), /no flood event/);
      assert.equal(signals.length, 1);
      // Bad input: a 400, nothing sent.
      for (const bad of [{ reason: 5 }, { reason: 'x'.repeat(2001) }, { extra: true }]) assert.equal((await post('wang', bad)).statusCode, 400, JSON.stringify(bad));
      assert.equal(signals.length, 1);
    } finally {
      Object.assign(flood, saved);
      signals.length = 0;
    }
  });

  void test('flood routes without a flood-season workflow: 404 with a clear message; the report list still answers from InfluxDB', async () => {
    floodRunning = false;
    try {
      const board = await app.inject({ method: 'GET', url: '/api/flood/board', headers: bearer('li') });
      assert.equal(board.statusCode, 404, board.body);
      assert.deepEqual(board.json(), { statusCode: 404, error: 'Not Found', message: `no flood-season workflow for ${network.id}` });
      const reports = await app.inject({ method: 'GET', url: '/api/flood/reports', headers: bearer('li') });
      assert.equal(reports.statusCode, 200, reports.body);
      assert.deepEqual(reports.json<{ reports: { eventId: string; peakWarning: string }[] }>().reports.map((r) => `${r.eventId}:${r.peakWarning}`), ['ev-old:orange']);
    } finally {
      floodRunning = true;
    }
  });

  void test('modify: the form fields reach the workflow as constraints, the decision is audited with its user', async () => {
    const body = { stationBands: [{ stationId: 'W1', minLevelM: 0.8, maxLevelM: 1.6 }], lockedStations: ['E2'], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 200 }], comment: '西片预降' };
    const res = await app.inject({ method: 'POST', url: `/api/plans/${pendingPlanId}/modify`, headers: bearer('wang'), payload: body });
    assert.equal(res.statusCode, 200, res.body);
    const update = updates.at(-1)!;
    assert.equal(update.name, 'modifyPlan');
    const { comment, ...constraints } = body;
    assert.deepEqual(update.args, [{ userName: 'wang', role: 'dispatcher', comment, constraints }]);
    const audit = await store.audit.search({ action: 'plan.modify', limit: 1, offset: 0 });
    assert.equal(audit[0]?.userName, 'wang');
    assert.deepEqual((audit[0]?.detail as { constraints: unknown }).constraints, constraints);
  });

  void test('approving a plan that would replace the emergency plan in force: the plan says so, the confirmation reaches the workflow, a role refusal is 403 and a missing confirmation 409', async () => {
    const pending = plans[pendingPlanId] as DispatchCycleState;
    const emergencyPlanId = 'plan-flood-pinghu-reference-e2-r1';
    pending.replacesEmergency = { planId: emergencyPlanId, requiredRole: 'supervisor' };
    // The stand-in answers as dispatchPlan's approvePlan validator does (the integration test runs the real one).
    updateRefusal = (name, args) => {
      const d = args[0] as { userName: string; role: string; replaceEmergencyPlan?: boolean };
      if (name !== 'approvePlan') return undefined;
      if (d.role === 'dispatcher') return ApplicationFailure.nonRetryable(`emergency plan ${emergencyPlanId} is in force: approving plan ${pendingPlanId} replaces it and needs a supervisor or higher; ${d.userName} is ${d.role}`, EMERGENCY_REPLACE_ROLE);
      if (d.replaceEmergencyPlan !== true) return ApplicationFailure.nonRetryable(`emergency plan ${emergencyPlanId} is in force: approving plan ${pendingPlanId} replaces it; confirm with replaceEmergencyPlan: true`, EMERGENCY_REPLACE_UNCONFIRMED);
      return undefined;
    };
    try {
      const detail = await app.inject({ method: 'GET', url: `/api/plans/${pendingPlanId}`, headers: bearer('li') });
      assert.equal(detail.statusCode, 200, detail.body);
      assert.deepEqual(detail.json<DispatchCycleState>().replacesEmergency, { planId: emergencyPlanId, requiredRole: 'supervisor' }, 'the plan page knows it would replace the emergency plan');

      const url = `/api/plans/${pendingPlanId}/approve`;
      const byDispatcher = await app.inject({ method: 'POST', url, headers: bearer('wang'), payload: { replaceEmergencyPlan: true } });
      assert.equal(byDispatcher.statusCode, 403, byDispatcher.body);
      assertErrorBody(byDispatcher.body, 403);
      assert.match(byDispatcher.json<{ message: string }>().message, new RegExp(`emergency plan ${emergencyPlanId} is in force.*needs a supervisor or higher`));
      const [refused] = await store.audit.search({ action: 'plan.approve.refused', target: pendingPlanId, limit: 1, offset: 0 });
      assert.match((refused?.detail as { reason: string }).reason, /needs a supervisor or higher; wang is dispatcher/);

      const unconfirmed = await app.inject({ method: 'POST', url, headers: bearer('zhao'), payload: { comment: '雨停' } });
      assert.equal(unconfirmed.statusCode, 409, unconfirmed.body);
      assertErrorBody(unconfirmed.body, 409);
      assert.match(unconfirmed.json<{ message: string }>().message, /confirm with replaceEmergencyPlan: true/);
      assert.equal((updates.at(-1)!.args[0] as { replaceEmergencyPlan?: boolean }).replaceEmergencyPlan, undefined, 'left out, nothing is confirmed for the user');

      const before = updates.length;
      const notBoolean = await app.inject({ method: 'POST', url, headers: bearer('zhao'), payload: { replaceEmergencyPlan: 'yes' } });
      assert.equal(notBoolean.statusCode, 400, notBoolean.body);
      assert.equal(updates.length, before, 'a malformed confirmation never reaches the workflow');

      const confirmed = await app.inject({ method: 'POST', url, headers: bearer('zhao'), payload: { replaceEmergencyPlan: true, comment: '雨停，恢复常规调度' } });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal((updates.at(-1)!.args[0] as { replaceEmergencyPlan?: boolean }).replaceEmergencyPlan, true);
      const [approved] = await store.audit.search({ action: 'plan.approve', target: pendingPlanId, limit: 1, offset: 0 });
      assert.equal((approved?.detail as { replaceEmergencyPlan?: boolean }).replaceEmergencyPlan, true, 'the audit log says the emergency plan was replaced knowingly');
    } finally {
      updateRefusal = undefined;
      delete pending.replacesEmergency;
    }
  });

  void test('approve, reject and modify carry the revision the dispatcher reviewed to the workflow validator; a bad revision is a 400', async () => {
    for (const [action, payload] of [
      ['approve', { revision: 2 }],
      ['reject', { reason: '西片水位过高', revision: 2 }],
      ['modify', { lockedStations: ['E2'], revision: 2 }],
    ] as const) {
      const res = await app.inject({ method: 'POST', url: `/api/plans/${pendingPlanId}/${action}`, headers: bearer('wang'), payload });
      assert.equal(res.statusCode, 200, `${action}: ${res.body}`);
      const update = updates.at(-1)!;
      assert.equal((update.args[0] as { revision?: number }).revision, 2, `${action}: the reviewed revision reaches ${update.name}`);
      if (action === 'modify') assert.deepEqual((update.args[0] as { constraints: unknown }).constraints, { lockedStations: ['E2'] }, 'the revision is not taken for a constraint');
    }
    const audit = await store.audit.search({ action: 'plan.approve', limit: 1, offset: 0 });
    assert.equal((audit[0]?.detail as { revision?: number }).revision, 2, 'the audit log names the revision decided on');
    const before = updates.length;
    for (const revision of [0, -1, 1.5, 'two']) {
      for (const [action, payload] of [['approve', { revision }], ['reject', { reason: 'x', revision }], ['modify', { lockedStations: ['E2'], revision }]] as const) {
        const res = await app.inject({ method: 'POST', url: `/api/plans/${pendingPlanId}/${action}`, headers: bearer('wang'), payload });
        assert.equal(res.statusCode, 400, `${action} with revision ${JSON.stringify(revision)}: ${res.body}`);
      }
    }
    assert.equal(updates.length, before, 'nothing sent to the workflow');
    const doc = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json<{ paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { type?: string; minimum?: number; description?: string }> } }> } } }> }>();
    for (const action of ['approve', 'reject', 'modify']) {
      const revision = doc.paths[`/api/plans/{planId}/${action}`]!.post.requestBody.content['application/json']!.schema.properties['revision']!;
      assert.equal(revision.type, 'integer');
      assert.equal(revision.minimum, 1);
      assert.match(revision.description ?? '', /revision the dispatcher reviewed/);
    }
  });
});

void describe('the API contract', () => {
  const documented = async () => {
    const res = await app.inject({ method: 'GET', url: '/api/docs/json' });
    assert.equal(res.statusCode, 200);
    return res.json<{ paths: Record<string, Record<string, { responses?: Record<string, { content?: unknown }>; requestBody?: unknown; parameters?: { in: string }[] }>> }>();
  };

  void test('every route is in the OpenAPI document with a described 200 and error responses', async () => {
    const doc = await documented();
    const expected = ['/api/forecasts', '/api/alerts', '/api/plans/{planId}/diff', '/api/history', '/api/flood/board', '/api/flood/reports', '/api/flood/report', '/api/flood/status', '/api/flood/replan', '/api/plans/{planId}/modify'];
    for (const p of expected) assert.ok(doc.paths[p], `${p} is documented`);
    for (const [p, methods] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        const ok = op.responses?.['200'] ?? op.responses?.['201'];
        assert.ok(ok?.content, `${method.toUpperCase()} ${p} documents its success body`);
        if (p !== '/api/health' && p !== '/api/auth/login') assert.ok(op.responses?.['401'], `${method.toUpperCase()} ${p} documents 401`);
        if (method === 'post' && !p.endsWith('/logout') && !p.endsWith('/disable') && !p.endsWith('/enable')) assert.ok(op.requestBody, `POST ${p} documents its body`);
      }
    }
  });

  void test('without a token every route but login and health is 401; a bad token is 401 too', async () => {
    const doc = await documented();
    for (const [p, methods] of Object.entries(doc.paths)) {
      if (p === '/api/health' || p === '/api/auth/login') continue;
      const url = p.replace('{planId}', pendingPlanId).replace('{userName}', 'li');
      for (const method of Object.keys(methods)) {
        for (const headers of [{}, { authorization: 'Bearer not-a-real-token' }]) {
          const res = await app.inject({ method: method.toUpperCase() as 'GET', url, headers, payload: method === 'post' ? {} : undefined });
          assert.equal(res.statusCode, 401, `${method} ${url} ${JSON.stringify(headers)}: ${res.body}`);
          assertErrorBody(res.body, 401);
        }
      }
    }
  });

  void test('roles: a viewer cannot decide or modify, a dispatcher cannot read the audit log or manage users', async () => {
    const viewerRefused: [string, string, unknown][] = [
      ['POST', `/api/plans/${pendingPlanId}/approve`, {}],
      ['POST', `/api/plans/${pendingPlanId}/reject`, { reason: 'x' }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { lockedStations: ['W1'] }],
      ['POST', '/api/flood/approve', { emergencyPlanId: emergency.emergencyPlanId }],
      ['POST', '/api/flood/reject', { emergencyPlanId: emergency.emergencyPlanId, reason: 'x' }],
    ];
    const before = updates.length;
    for (const [method, url, payload] of viewerRefused) {
      const res = await app.inject({ method: method as 'POST', url, headers: bearer('li'), payload: payload as object });
      assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
      assertErrorBody(res.body, 403);
    }
    assert.equal(updates.length, before, 'nothing reached a workflow');
    for (const [method, url] of [['GET', '/api/audit'], ['GET', '/api/users'], ['POST', '/api/tokens']]) {
      const res = await app.inject({ method: method as 'GET', url, headers: bearer('wang'), payload: method === 'POST' ? { userName: 'li', name: 'x' } : undefined });
      assert.equal(res.statusCode, 403, `${url}: ${res.body}`);
    }
    const supervisor = await app.inject({ method: 'GET', url: '/api/audit', headers: bearer('zhao') });
    assert.equal(supervisor.statusCode, 200, supervisor.body);
  });

  void test('malformed input of every kind is refused with a 4xx and the error body, never a 5xx', async () => {
    const cases: [string, string, unknown?, Record<string, string>?][] = [
      ['GET', '/api/plans/not-a-plan'],
      ['GET', `/api/plans/plan-${'x'.repeat(300)}`],
      ['GET', '/api/plans/plan-a%27%20OR%201=1'],
      ['GET', '/api/plans?limit=0'],
      ['GET', '/api/plans?limit=abc'],
      ['GET', '/api/plans?limit=100000'],
      ['GET', `/api/plans/${pendingPlanId}/diff/extra`],
      ['GET', '/api/plans/plan-%00/diff'],
      ['GET', '/api/history?fromUtcMs=-5'],
      ['GET', '/api/history?fromUtcMs=abc'],
      ['GET', `/api/history?fromUtcMs=${NOW}&toUtcMs=${NOW - 1}`],
      ['GET', "/api/history?plan=plan-a'%20OR%20''='"],
      ['GET', '/api/history?limit=5000'],
      ['GET', '/api/history?unknown=1'],
      ['GET', '/api/forecasts?station='],
      ['GET', "/api/forecasts?station=W1'%20OR"],
      ['GET', '/api/forecasts?station=W1&other=2'],
      ['GET', "/api/flood/report?eventId=ev\\'x"],
      ['GET', '/api/flood/report?eventId='],
      ['GET', '/api/audit?limit=-1'],
      ['GET', '/api/audit?fromUtcMs=yesterday'],
      ['POST', `/api/plans/${pendingPlanId}/approve`, '{"comment":'],
      ['POST', `/api/plans/${pendingPlanId}/approve`, { comment: 5 }],
      ['POST', `/api/plans/${pendingPlanId}/approve`, { comment: 'x'.repeat(2001) }],
      ['POST', `/api/plans/${pendingPlanId}/approve`, { extra: true }],
      ['POST', `/api/plans/${pendingPlanId}/approve`, 'plain text', { 'content-type': 'text/plain' }],
      ['POST', `/api/plans/${pendingPlanId}/reject`, {}],
      ['POST', `/api/plans/${pendingPlanId}/reject`, { reason: '' }],
      ['POST', `/api/plans/${pendingPlanId}/reject`, [1, 2]],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { stationBands: [{ stationId: 'W1', minLevelM: 'low' }] }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { stationBands: [{ stationId: 'W1', extra: 1 }] }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: -5 }] }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { lockedStations: 'W1' }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, { lockedStations: Array.from({ length: 201 }, (_, i) => `S${i}`) }],
      ['POST', `/api/plans/${pendingPlanId}/modify`, null],
      ['POST', '/api/flood/approve', {}],
      ['POST', '/api/flood/approve', { emergencyPlanId: '' }],
      ['POST', '/api/flood/reject', { emergencyPlanId: emergency.emergencyPlanId }],
      ['POST', '/api/users', { userName: 'x', role: 'emperor', password: 'long enough password' }],
      ['POST', '/api/users', { userName: 'new-user', role: 'viewer', password: 'short' }],
      ['POST', '/api/users/li/role', { role: 7 }],
      ['POST', '/api/tokens', { userName: 'nobody-here', name: 'x' }],
      ['POST', '/api/auth/login', { userName: 'admin' }],
      ['POST', '/api/auth/login', '{'],
    ];
    for (const [method, url, payload, headers] of cases) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...bearer('admin'), ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(payload === undefined ? {} : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
      });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${method} ${url} ${JSON.stringify(payload)} → ${res.statusCode} ${res.body}`);
      if (typeof payload === 'object' && payload !== null) assert.notEqual(res.statusCode, 415, `${url} ${JSON.stringify(payload)} is read as JSON`);
      assertErrorBody(res.body, res.statusCode);
    }
  });

  void test('junk in every documented parameter and body never makes a 5xx', async () => {
    const doc = await documented();
    const junk = ['', ' ', "'", '"', '\\', '%00', '../..', 'x'.repeat(5000), '-1', '1e309', '[]', '{}', 'null', '中文', "'; DROP MEASUREMENT station; --"];
    let sent = 0;
    for (const [p, methods] of Object.entries(doc.paths)) {
      // Login takes no token; logout would end the admin's session and every later request would be a 401.
      if (p.startsWith('/api/auth/login') || p === '/api/auth/logout') continue;
      for (const [method, op] of Object.entries(methods)) {
        for (const value of junk) {
          const url = p.replace('{planId}', encodeURIComponent(value) || 'x').replace('{userName}', encodeURIComponent(value) || 'x');
          const query = (op.parameters ?? []).filter((x) => x.in === 'query').map((x) => `${(x as unknown as { name: string }).name}=${encodeURIComponent(value)}`).join('&');
          const res = await app.inject({
            method: method.toUpperCase() as 'GET',
            url: query ? `${url}?${query}` : url,
            headers: { ...bearer('admin'), 'content-type': 'application/json' },
            ...(method === 'post' ? { payload: value } : {}),
          });
          sent++;
          const sentAs = `${method.toUpperCase()} ${url}?${query} body ${JSON.stringify(value).slice(0, 40)} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          assert.ok(res.statusCode < 500, sentAs);
          assert.notEqual(res.statusCode, 401, `${sentAs}: the admin is still signed in, so the route itself answered`);
        }
      }
    }
    assert.ok(sent > 300, `requests sent: ${sent}`);
  });
});

void describe('input is checked where it enters, and every error has the same body', () => {
  const get = (url: string, user: keyof typeof passwords = 'admin') => app.inject({ method: 'GET', url, headers: bearer(user) });
  const postJson = (url: string, body: string, user: keyof typeof passwords = 'wang') =>
    app.inject({ method: 'POST', url, headers: { ...bearer(user), 'content-type': 'application/json' }, payload: body });
  const message = (res: { body: string }) => (JSON.parse(res.body) as { message: string }).message;

  void test('a number that is not finite is a 400 naming the field and value; offsets and times have upper bounds', async () => {
    const influxBefore = influxQueries.length;
    const cases: [string, string][] = [
      ['/api/audit?offset=1e20', 'querystring/offset: must be <= 1000000000 (value: 100000000000000000000)'],
      ['/api/audit?limit=1e309', 'querystring/limit: Infinity is not a finite number'],
      ['/api/audit?limit=Infinity', 'querystring/limit: Infinity is not a finite number'],
      ['/api/audit?fromUtcMs=1e300', 'querystring/fromUtcMs: must be <= 9223372036854 (value: 1e+300)'],
      ['/api/history?limit=1e309', 'querystring/limit: Infinity is not a finite number'],
      ['/api/history?toUtcMs=1e21', 'querystring/toUtcMs: must be <= 9223372036854 (value: 1e+21)'],
      ['/api/history?fromUtcMs=-Infinity', 'querystring/fromUtcMs: -Infinity is not a finite number'],
      ['/api/plans?limit=Infinity', 'querystring/limit: Infinity is not a finite number'],
      ['/api/plans?limit=1e400', 'querystring/limit: Infinity is not a finite number'],
    ];
    for (const [url, expected] of cases) {
      const res = await get(url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assertErrorBody(res.body, 400);
      assert.equal(message(res), expected, url);
    }
    assert.equal(influxQueries.length, influxBefore, 'no InfluxQL was built from them');
    // In a JSON body too: JSON.parse reads 1e309 as Infinity.
    const before = updates.length;
    const body = await postJson(`/api/plans/${pendingPlanId}/modify`, '{"transferCaps":[{"interconnectionId":"X1","maxAbsM3h":1e309}]}');
    assert.equal(body.statusCode, 400, body.body);
    assert.equal(message(body), 'body/transferCaps/0/maxAbsM3h: Infinity is not a finite number');
    assert.equal(updates.length, before, 'nothing reached the workflow');
    // The bounds themselves are accepted.
    assert.equal((await get('/api/history?toUtcMs=9223372036854&limit=1000')).statusCode, 200);
    assert.equal((await get('/api/plans?limit=200')).statusCode, 200);
  });

  void test('unknown query parameters are refused on /api/audit and /api/plans, not ignored', async () => {
    const audit = await get('/api/audit?user=li');
    assert.equal(audit.statusCode, 400, audit.body);
    assert.match(message(audit), /^querystring\/user: unknown property \(allowed: userName, /);
    const plans = await get('/api/plans?limt=5', 'li');
    assert.equal(plans.statusCode, 400, plans.body);
    assert.equal(message(plans), 'querystring/limt: unknown property (allowed: limit)');
  });

  void test('JSON bodies are taken as sent (query strings are still read as numbers)', async () => {
    const before = updates.length;
    const reject = await postJson(`/api/plans/${pendingPlanId}/reject`, '{"reason":5}');
    assert.equal(reject.statusCode, 400, reject.body);
    assert.equal(message(reject), 'body/reason: must be string (value: 5)');
    const approve = await postJson(`/api/plans/${pendingPlanId}/approve`, '{"comment":["a"]}');
    assert.equal(approve.statusCode, 400, approve.body);
    const user = await postJson('/api/users', '{"userName":123,"role":"viewer","password":"long enough password"}', 'admin');
    assert.equal(user.statusCode, 400, user.body);
    assert.equal(message(user), 'body/userName: must be string (value: 123)');
    assert.equal(await store.users.get('123'), null);
    assert.equal(updates.length, before, 'nothing reached a workflow');
    const query = await get('/api/audit?limit=2&offset=0');
    assert.equal(query.statusCode, 200, query.body);
    assert.equal(query.json<{ limit: number }>().limit, 2);
  });

  void test('modify is checked against the network first: 400 naming every problem by path and value, the workflow never asked', async () => {
    const before = updates.length;
    const cases: [unknown, string[]][] = [
      [{}, ['body: a modification needs at least one of stationBands, lockedStations, transferCaps']],
      [{ comment: 'only a comment' }, ['body: a modification needs at least one of stationBands, lockedStations, transferCaps']],
      [{ lockedStations: ['NOPE'] }, ['body/lockedStations/0: unknown station "NOPE" (not in network pinghu-reference)']],
      [{ stationBands: [{ stationId: 'W1', minLevelM: 2.5, maxLevelM: 1 }] }, ['body/stationBands/0: minLevelM 2.5 is above maxLevelM 1']],
      [{ stationBands: [{ stationId: 'W1' }] }, ['body/stationBands/0: the band of "W1" needs minLevelM, maxLevelM or both']],
      // Levels above the station's overflow (4 m in the reference network), bands narrower than a PLC may get.
      [{ stationBands: [{ stationId: 'W1', maxLevelM: 4.5 }] }, ['body/stationBands/0/maxLevelM: 4.5 is above the overflow level of W1 (4 m)']],
      [
        { stationBands: [{ stationId: 'E3', minLevelM: 4.2, maxLevelM: 5 }] },
        ['body/stationBands/0/minLevelM: 4.2 is above the overflow level of E3 (4 m)', 'body/stationBands/0/maxLevelM: 5 is above the overflow level of E3 (4 m)'],
      ],
      [{ stationBands: [{ stationId: 'W1', minLevelM: 1.5, maxLevelM: 1.53 }] }, ['body/stationBands/0: maxLevelM 1.53 − minLevelM 1.5 = 0.03 m is under the least band gap a PLC may get (0.05 m)']],
      [{ stationBands: [{ stationId: 'W2', minLevelM: 2, maxLevelM: 2 }] }, ['body/stationBands/0: maxLevelM 2 − minLevelM 2 = 0 m is under the least band gap a PLC may get (0.05 m)']],
      // One-sided bands take the other side from the envelope (W1: start at most 3.5 m, stop at least 1 m).
      [{ stationBands: [{ stationId: 'W1', minLevelM: 3.48 }] }, ['body/stationBands/0/minLevelM: 3.48 leaves under 0.05 m below the highest start level of W1 (3.5 m); give a lower minLevelM or a maxLevelM as well']],
      [{ stationBands: [{ stationId: 'W1', maxLevelM: 1.02 }] }, ['body/stationBands/0/maxLevelM: 1.02 leaves under 0.05 m above the lowest stop level of W1 (1 m); give a higher maxLevelM']],
      [{ transferCaps: [{ interconnectionId: 'X9', maxAbsM3h: 10 }] }, ['body/transferCaps/0/interconnectionId: unknown interconnection "X9" (not in network pinghu-reference)']],
      [
        { stationBands: [{ stationId: 'W1', maxLevelM: 2 }, { stationId: 'Z9', minLevelM: 1 }, { stationId: 'W1', minLevelM: 1 }], lockedStations: ['E2', 'Q1'], transferCaps: [{ interconnectionId: 'X1', maxAbsM3h: 5 }, { interconnectionId: 'X1', maxAbsM3h: 9 }] },
        [
          'body/stationBands/1/stationId: unknown station "Z9" (not in network pinghu-reference)',
          'body/stationBands/2/stationId: W1 already has a band at body/stationBands/0',
          'body/lockedStations/1: unknown station "Q1" (not in network pinghu-reference)',
          'body/transferCaps/1/interconnectionId: X1 already has a cap at body/transferCaps/0',
        ],
      ],
    ];
    for (const [body, problems] of cases) {
      const res = await postJson(`/api/plans/${pendingPlanId}/modify`, JSON.stringify(body));
      assert.equal(res.statusCode, 400, `${JSON.stringify(body)}: ${res.body}`);
      assertErrorBody(res.body, 400);
      assert.equal(message(res), `invalid modification: ${problems.join('; ')}`);
    }
    // Ids are 1–64 characters before the network is asked.
    for (const [body, expected] of [
      [{ lockedStations: [''] }, 'body/lockedStations/0: must NOT have fewer than 1 characters (value: "")'],
      [{ stationBands: [{ stationId: 'W'.repeat(65), minLevelM: 1 }] }, `body/stationBands/0/stationId: must NOT have more than 64 characters (value: "${'W'.repeat(65)}")`],
      [{ transferCaps: [{ interconnectionId: '', maxAbsM3h: 1 }] }, 'body/transferCaps/0/interconnectionId: must NOT have fewer than 1 characters (value: "")'],
    ] as const) {
      const res = await postJson(`/api/plans/${pendingPlanId}/modify`, JSON.stringify(body));
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(message(res), expected);
    }
    assert.equal(updates.length, before, 'nothing reached the workflow');
    // At the limits: a level at the overflow, a band exactly the least gap wide (in floating point a hair under),
    // one-sided bands the least gap inside the envelope.
    for (const band of [{ stationId: 'W1', minLevelM: 3.95, maxLevelM: 4 }, { stationId: 'W1', minLevelM: 1, maxLevelM: 1.05 }, { stationId: 'W1', maxLevelM: 4 }, { stationId: 'W1', minLevelM: 3.45 }, { stationId: 'W1', maxLevelM: 1.05 }]) {
      const res = await postJson(`/api/plans/${pendingPlanId}/modify`, JSON.stringify({ stationBands: [band] }));
      assert.equal(res.statusCode, 200, `${JSON.stringify(band)}: ${res.body}`);
      assert.deepEqual((updates.at(-1)?.args[0] as { constraints: unknown }).constraints, { stationBands: [band] });
    }
  });


  /** The store's audit writes, made to fail the next `failures` times ('audit log unavailable'); `calls` counts every attempt. */
  function flakyAudit() {
    const record = store.audit.record.bind(store.audit);
    const audit = { failures: 0, calls: 0, restore: () => void (store.audit.record = record) };
    store.audit.record = (entry) => {
      audit.calls++;
      if (audit.failures > 0) {
        audit.failures--;
        return Promise.reject(new Error('audit log unavailable'));
      }
      return record(entry);
    };
    return audit;
  }

  void test('a decision stands when its audit record cannot be written: tried again, then logged in full, and answered 200', async () => {
    const audit = flakyAudit();
    try {
      // Fails once: the second try writes it.
      audit.failures = 1;
      const once = await postJson(`/api/plans/${pendingPlanId}/approve`, '{"comment":"retried"}');
      assert.equal(once.statusCode, 200, once.body);
      assert.equal(audit.calls, 2);
      const [written] = await store.audit.search({ action: 'plan.approve', text: 'retried', limit: 1, offset: 0 });
      assert.equal(written?.userName, 'wang');

      // Fails twice: the decision is still answered, and the error log holds the whole record.
      for (const [url, body, action, target] of [
        [`/api/plans/${pendingPlanId}/reject`, '{"reason":"audit down"}', 'plan.reject', pendingPlanId],
        ['/api/flood/approve', JSON.stringify({ emergencyPlanId: emergency.emergencyPlanId, comment: 'audit down' }), 'flood.approve', emergency.emergencyPlanId],
      ] as const) {
        audit.failures = 2;
        audit.calls = 0;
        const logged = errorLog.length;
        const updatesBefore = updates.length;
        const res = await postJson(url, body);
        assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
        assert.equal(updates.length, updatesBefore + 1, 'the decision reached the workflow');
        assert.equal(audit.calls, 2, 'written twice, then given up');
        const lines = errorLog.slice(logged).map((line) => JSON.parse(line) as { msg: string; audit?: { action: string; target: string; userName: string; role: string; detail: { comment: string } } });
        const lost = lines.find((l) => l.audit?.action === action);
        assert.ok(lost, `the lost record is logged: ${JSON.stringify(lines)}`);
        assert.equal(lost.audit?.target, target);
        assert.equal(lost.audit?.userName, 'wang');
        assert.equal(lost.audit?.role, 'dispatcher');
        assert.equal(lost.audit?.detail.comment, 'audit down');
        assert.match(lost.msg, /audit record lost/);
      }
    } finally {
      audit.restore();
    }
  });

  void test('a refusal keeps its 409 (or 403) when its audit record cannot be written: tried again, then logged in full', async () => {
    const audit = flakyAudit();
    const pending = flood.pending!;
    try {
      // Fails once: the second try writes it. The live plan is dispatched, so approving it is refused.
      audit.failures = 1;
      const once = await postJson(`/api/plans/${livePlanId}/approve`, '{"comment":"refused, retried"}');
      assert.equal(once.statusCode, 409, once.body);
      assertErrorBody(once.body, 409);
      assert.equal(message(once), 'plan is dispatched, not proposed');
      assert.equal(audit.calls, 2);
      const [written] = await store.audit.search({ action: 'plan.approve.refused', target: livePlanId, limit: 1, offset: 0 });
      assert.deepEqual({ userName: written?.userName, reason: (written?.detail as { reason: string } | undefined)?.reason }, { userName: 'wang', reason: 'plan is dispatched, not proposed' });

      // Fails twice: the refusal is still answered with its status, and the error log holds the whole record.
      const cases = [
        { url: `/api/plans/${livePlanId}/approve`, body: '{"revision":3}', status: 409, action: 'plan.approve.refused', target: livePlanId, reason: 'plan is dispatched, not proposed', refuse: null },
        { url: `/api/plans/${pendingPlanId}/modify`, body: '{"lockedStations":["E2"]}', status: 409, action: 'plan.modify.refused', target: pendingPlanId, reason: 'modifyPlan refused by the stand-in', refuse: 'modifyPlan' },
        { url: '/api/flood/reject', body: JSON.stringify({ emergencyPlanId: emergency.emergencyPlanId, reason: 'audit down' }), status: 409, action: 'flood.reject.refused', target: emergency.emergencyPlanId, reason: 'rejectEmergencyPlan refused by the stand-in', refuse: 'rejectEmergencyPlan' },
        { url: '/api/flood/approve', body: JSON.stringify({ emergencyPlanId: emergency.emergencyPlanId }), status: 403, action: 'flood.approve.refused', target: emergency.emergencyPlanId, reason: 'needs supervisor', refuse: null },
      ] as const;
      for (const c of cases) {
        if (c.refuse) refusedUpdates.add(c.refuse);
        // The flood plan waiting needs a supervisor: the dispatcher's approval is refused before the workflow.
        if (c.status === 403) flood.pending = { ...pending, plan: { ...pending.plan, requiredRole: 'supervisor' } };
        audit.failures = 2;
        audit.calls = 0;
        const logged = errorLog.length;
        try {
          const res = await postJson(c.url, c.body);
          assert.equal(res.statusCode, c.status, `${c.url}: ${res.body}`);
          assertErrorBody(res.body, c.status);
        } finally {
          refusedUpdates.clear();
          flood.pending = pending;
        }
        assert.equal(audit.calls, 2, `${c.action}: written twice, then given up`);
        const lines = errorLog.slice(logged).map((line) => JSON.parse(line) as { msg: string; audit?: { action: string; target: string; userName: string; role: string; ip: string; detail: { reason: string } } });
        const lost = lines.find((l) => l.audit?.action === c.action);
        assert.ok(lost, `the lost record is logged: ${JSON.stringify(lines)}`);
        assert.deepEqual(
          { target: lost.audit?.target, userName: lost.audit?.userName, role: lost.audit?.role, reason: lost.audit?.detail.reason },
          { target: c.target, userName: 'wang', role: 'dispatcher', reason: c.reason },
        );
        assert.equal(typeof lost.audit?.ip, 'string');
        assert.match(lost.msg, new RegExp(`^audit record lost: ${c.action.replace(/\./g, '\\.')} .* by wang; the refusal stands`));
      }
    } finally {
      audit.restore();
      refusedUpdates.clear();
      flood.pending = pending;
    }
  });

  void test('error bodies: the reason phrase in error, a code beside it; the parser, the router and the rate limiter alike', async () => {
    const invalidJson = await postJson(`/api/plans/${pendingPlanId}/approve`, '{"comment":');
    assert.equal(invalidJson.statusCode, 400);
    assertErrorBody(invalidJson.body, 400);
    assert.equal(invalidJson.json<{ code: string }>().code, 'FST_ERR_CTP_INVALID_JSON_BODY');
    assert.match(message(invalidJson), /^body is not valid JSON: .*JSON/, 'the parser says what is wrong');

    const validation = await get('/api/audit?limit=0');
    assert.deepEqual(validation.json(), { statusCode: 400, error: 'Bad Request', message: 'querystring/limit: must be >= 1 (value: 0)', code: 'FST_ERR_VALIDATION' });

    const badUrl = await app.inject({ method: 'POST', url: '/api/users/%ZZ/role', headers: bearer('admin'), payload: { role: 'viewer' } });
    assert.equal(badUrl.statusCode, 400);
    assertErrorBody(badUrl.body, 400);
    assert.equal(badUrl.json<{ code: string }>().code, 'FST_ERR_BAD_URL');

    // A plan id may have 205 characters; the router's parameter limit is above that.
    const longId = `plan-${'a'.repeat(200)}`;
    const found = await get(`/api/plans/${longId}`, 'li');
    assert.equal(found.statusCode, 404, found.body);
    assert.equal(message(found), `no plan ${longId}`, 'the route answered, not the router');
    const tooLong = await app.inject({ method: 'POST', url: `/api/plans/plan-${'a'.repeat(300)}/approve`, headers: bearer('wang') });
    assert.equal(tooLong.statusCode, 414, tooLong.body);
    assertErrorBody(tooLong.body, 414);
    assert.equal(tooLong.json<{ code: string }>().code, 'FST_ERR_MAX_PARAM_LENGTH');
    assert.ok(tooLong.body.length < 500, 'the path is cut in the message');

    const limited = await buildApp({ network, store, influx, temporal, temporalNamespace: 'default', probes: {}, rateLimitPerMinute: 1 });
    try {
      await limited.inject({ method: 'GET', url: '/api/health' });
      const res = await limited.inject({ method: 'GET', url: '/api/health' });
      assert.equal(res.statusCode, 429);
      assertErrorBody(res.body, 429);
    } finally {
      await limited.close();
    }
  });

  void test('the not-found message cuts the path at 200 characters', async () => {
    const res = await get(`/api/nope/${'x'.repeat(100_000)}`);
    assert.equal(res.statusCode, 404);
    assertErrorBody(res.body, 404);
    assert.ok(res.body.length < 400, `body of ${res.body.length} characters`);
    assert.match(message(res), /^no route GET \/api\/nope\/x+…$/);
  });
});
