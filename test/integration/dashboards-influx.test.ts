// Every query of every generated dashboard, run against a real InfluxDB holding a simulated day written by
// the service itself: the simulator (reference network, rainstorm scenario) is read through the dispatch
// activities every 5 simulated minutes (readNetworkState → writeTelemetry), and every 3 hours the service
// fetches a rain forecast, builds a rule-based plan, applies its first step and records the outcome — the
// same activities the dispatch workflow runs. The `baseline` measurement is written by the service's baseline
// activity (activities/baseline.ts) on the observed rain the local forecast server's archive serves. Measurements
// other engineers are still adding (inflow_forecast, sensor_flag, flood_status) get a few points in the layout
// documented in dashboards/README.md.
// Grafana's macros and variables are then replaced by concrete values and each query must return non-empty
// series with its expected fields; math expressions are evaluated on their inputs' results.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { createBaselineActivities, type BaselineResult } from '../../activities/baseline.js';
import { createDispatchActivities, type RainForecastSource } from '../../activities/dispatch.js';
import { createMpcPlanner } from '../../activities/mpc-planner.js';
import { planPredictionPoints, planSeriesSlot, planSetpointPoints } from '../../activities/plan-points.js';
import type { Plan } from '../../planner/types.js';
import { archiveObservedRain, type ObservedRainSource } from '../../activities/flood.js';
import type { RainForecast } from '../../activities/types.js';
import { createInfluxConnector, type InfluxConnector, type QuerySeries, type SeriesPoint } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import { createOpenMeteoConnector } from '../../connectors/openmeteo.js';
import { buildDashboards } from '../../dashboards/build.js';
import { periodEnergyQuery, totalCostQuery } from '../../dashboards/common/energy.js';
import { tariffPeriods } from '../../dashboards/common/network.js';
import { stationsAboveHighAlarmQuery } from '../../dashboards/common/queries.js';
import { startForecastServer, type ForecastServer } from '../../forecast-server/server.js';
import { issueMarkerPoint } from '../../forecasting/issues.js';
import { localInflowPoints } from '../../forecasting/write.js';
import { saveGoodRain } from '../../forecasting/rain-store.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import type { RainScenario } from '../../scenarios/rain.js';
import { createSimulation, type Simulation } from '../../simulator/model.js';
import { scenarioRain } from '../../simulator/rain-adapter.js';
import { startTestServers, type TestServers } from '../support/servers.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** 2025-07-01 00:00 in Asia/Shanghai: a flood-season day, whole local day for the tariff periods. */
const DAY_START = Date.UTC(2025, 5, 30, 16);
const DAY_END = DAY_START + 24 * HOUR;
const TELEMETRY_EVERY_MIN = 5;
const PLAN_EVERY_H = 3;
const INTERVAL = '5m';
const FAULTY_STATION = 'W1';

/** The simulator as the service's OPC UA connector sees it (status codes as simulator/opcua-server.ts maps them). */
function simulatedScada(sim: Simulation, now: () => number): OpcUaConnector {
  return {
    async readTags(tags) {
      return tags.map((t) => {
        const r = sim.readTag(t.objectId, t.tag);
        const lost = sim.communicationLost(t.objectId);
        const statusCode = lost ? 'BadNoCommunication' : r.quality === 'good' ? 'Good' : r.quality === 'uncertain' ? 'UncertainSensorNotAccurate' : 'BadSensorFailure';
        return { objectId: t.objectId, tag: t.tag, nodeId: t.nodeId, value: r.value, statusCode, good: statusCode === 'Good', sourceTimeUtcMs: now() };
      });
    },
    async writeSetpoints(writes) {
      return writes.map((w) => {
        try {
          sim.writeSetpoint(w.tag.objectId, w.tag.tag, w.value);
          return { nodeId: w.tag.nodeId, statusCode: 'Good', good: true };
        } catch (error) {
          return { nodeId: w.tag.nodeId, statusCode: `Bad (${(error as Error).message})`, good: false };
        }
      });
    },
    async ping() {
      return { latencyMs: 0, serverState: 'Running' };
    },
    async close() {},
  };
}

/** A perfect hourly forecast from the scenario (totals over the hour ending at each time, as Open-Meteo reports). */
function scenarioForecast(scenario: RainScenario, now: () => number): RainForecastSource {
  return {
    async fetchCatchmentRain(network: NetworkConfig, hours: number): Promise<RainForecast> {
      const issuedAtUtcMs = now();
      const firstHour = Math.floor(issuedAtUtcMs / HOUR) * HOUR;
      return {
        issuedAtUtcMs,
        source: `scenario-${scenario.name}`,
        stepMin: 60,
        locations: network.catchments.map((c) => {
          const timeUtcMs = Array.from({ length: hours }, (_, i) => firstHour + (i + 1) * HOUR);
          return { catchmentId: c.id, timeUtcMs, precipitationMm: timeUtcMs.map((t) => scenario.rainMmBetween(c.location.latDeg, c.location.lonDeg, t - HOUR, t)) };
        }),
      };
    },
  };
}

interface WrittenDay {
  planIds: string[];
  emergencyPlanId?: string;
  rainIssues: string[];
  ensembleIssues: string[];
  inflowIssues: string[];
  pointsWritten: number;
  baseline: BaselineResult;
}

async function writeSimulatedDay(network: NetworkConfig, influx: InfluxConnector, observed: ObservedRainSource): Promise<WrittenDay> {
  const { scenario, rainMmPerMin } = scenarioRain('rainstorm', DAY_START);
  let nowMs = DAY_START;
  const now = () => nowMs;
  const sim = createSimulation({ network, startUtcMs: DAY_START, rainMmPerMin, seed: 11 });
  // The optimising planner (on the network's dry-weather flow: no inflow cycle here), so plans carry predictions.
  const planner = createMpcPlanner({ options: { timeLimitS: 20 } });
  const activities = createDispatchActivities({ network, opcua: simulatedScada(sim, now), influx, forecast: scenarioForecast(scenario, now), planner, now });
  const written: Omit<WrittenDay, 'baseline'> = { planIds: [], rainIssues: [], ensembleIssues: [], inflowIssues: [], pointsWritten: 0 };
  // Observed hourly inflow per station, for the inflow forecast points below.
  const inflowByHour = new Map<string, number[]>();

  for (let t = DAY_START; t <= DAY_END; t += TELEMETRY_EVERY_MIN * MIN) {
    nowMs = t;
    sim.runUntil(t);
    // A level sensor stuck for an hour: its readings are Uncertain and land in tag_status.
    if (t === DAY_START + 2 * HOUR) sim.setLevelSensorStuck(FAULTY_STATION, true);
    if (t === DAY_START + 3 * HOUR) sim.setLevelSensorStuck(FAULTY_STATION, false);
    const snapshot = await activities.readNetworkState();
    written.pointsWritten += await activities.writeTelemetry(snapshot);
    for (const s of snapshot.stations) {
      const hours = inflowByHour.get(s.stationId) ?? [];
      const h = Math.floor((t - DAY_START) / HOUR);
      hours[h] = s.inflowM3h ?? hours[h] ?? 0;
      inflowByHour.set(s.stationId, hours);
    }
    if ((t - DAY_START) % (PLAN_EVERY_H * HOUR) === 0 && t < DAY_END) {
      const forecast = await activities.fetchRainForecast();
      written.rainIssues.push(String(forecast.issuedAtUtcMs));
      const planId = `plan-dispatch-${network.id}-${new Date(t).toISOString()}`;
      const plan = await activities.buildPlan({ planId, snapshot, forecast });
      assert.ok(plan.predicted, `${planId}: ${plan.fallback?.reason.en ?? 'no prediction'}`);
      // An emergency plan an hour after the first cycle: its id sorts above every dispatch plan as text.
      if (t === DAY_START + PLAN_EVERY_H * HOUR) {
        const emergency = { ...plan, planId: `plan-flood-${network.id}-2025-s1-e1-r1`, createdAtUtcMs: DAY_START + HOUR, predicted: undefined } as Plan;
        // As activities/flood.ts buildEmergencyPlan stores it: setpoints and the plan's index point.
        const slot = planSeriesSlot(emergency.planId, emergency.createdAtUtcMs);
        written.pointsWritten += await influx.write([...planSetpointPoints(emergency, slot), ...planPredictionPoints(emergency, slot)]);
        written.emergencyPlanId = emergency.planId;
      }
      const outcome = await activities.applyPlanStep({ plan, stepIndex: 0, heartbeat: (t - DAY_START) / MIN });
      written.pointsWritten += await activities.recordOutcome({ planId, status: 'approved', decidedBy: 'wang', outcome });
      written.planIds.push(planId);
    }
  }

  // Baseline: the same day under local level control only (the domain's baseline), simulated by the service on the
  // rain the archive reports for the day.
  const baseline = await createBaselineActivities({ network, influx, observed }).writeBaseline({ fromUtcMs: DAY_START, toUtcMs: DAY_END });
  written.pointsWritten += baseline.points;

  // inflow_forecast (forecasting/write.ts layout): two issues per station, hourly from the step start, a band
  // around what was then observed, and the deterministic forecast; each issue's completion marker after its points.
  const inflowForecast: SeriesPoint[] = [];
  for (const issuedAt of [DAY_START, DAY_START + 12 * HOUR]) {
    written.inflowIssues.push(String(issuedAt));
    const issuePoints: SeriesPoint[] = [];
    for (const s of network.stations) {
      const hours = inflowByHour.get(s.id) ?? [];
      for (let h = (issuedAt - DAY_START) / HOUR; h < 24; h++) {
        const p50 = hours[h] ?? 0;
        for (const [quantile, factor] of [['det', 1.05], ['p10', 0.8], ['p50', 1], ['p90', 1.3]] as const) {
          const timeUtcMs = DAY_START + h * HOUR;
          issuePoints.push({
            measurement: 'inflow_forecast',
            tags: { station: s.id, quantile, step: String((timeUtcMs - issuedAt) / HOUR) },
            fields: { flowM3h: p50 * factor, issuedAtMs: issuedAt, leadMin: (timeUtcMs - issuedAt) / MIN, rainQuality: 'fresh' },
            timeUtcMs,
          });
        }
      }
    }
    inflowForecast.push(...issuePoints, issueMarkerPoint({ kind: 'inflow', issuedAtMs: issuedAt, startUtcMs: issuedAt, endUtcMs: DAY_END, points: issuePoints.length, stepMin: 60, quality: 'fresh' }));
  }

  // A rain ensemble as the rain store keeps it (forecasting/rain-store.ts saveGoodRain): 5 members, hourly from
  // the day's start, each catchment's members from 0.5× to 1.5× of a 3 mm/h shower from 06:00 to 12:00.
  const members = 5;
  const showerMm = (h: number) => (h >= 6 && h < 12 ? 3 : 0);
  written.ensembleIssues.push(String(DAY_START));
  written.pointsWritten += await saveGoodRain(influx, 'ensemble', {
    issuedAtUtcMs: DAY_START,
    source: 'open-meteo:ensemble;quality=fresh',
    startUtcMs: DAY_START,
    stepMin: 60,
    sourceStepMin: 60,
    deterministic: Object.fromEntries(network.catchments.map((c) => [c.id, Array.from({ length: 24 }, (_, h) => showerMm(h))])),
    members: Object.fromEntries(network.catchments.map((c) => [c.id, Array.from({ length: members }, (_, m) => Array.from({ length: 24 }, (_, h) => showerMm(h) * (0.5 + m / (members - 1))))])),
  });

  // local_inflow as the inflow cycle keeps it (forecasting/write.ts localInflowPoints): here the observed inflow
  // stands in for the local part, an hour unknown at each station (left out, never zero).
  const localInflow = localInflowPoints(
    Object.fromEntries(network.stations.map((s) => [s.id, { startUtcMs: DAY_START, stepMin: 60, values: (inflowByHour.get(s.id) ?? []).map((v, h) => (h === 5 ? null : v)) }])),
  );
  assert.ok(localInflow.length > 0 && localInflow.every((p) => p.timeUtcMs !== DAY_START + 5 * HOUR));
  inflowForecast.push(...localInflow);

  // sensor_flag and flood_status as ingest/service.ts and activities/flood.ts write them.
  const flags: SeriesPoint[] = [
    { measurement: 'sensor_flag', tags: { object: FAULTY_STATION, tag: 'levelM', kind: 'flatline' }, fields: { active: true, detail: 'no change for 15 min' }, timeUtcMs: DAY_START + 2 * HOUR + 15 * MIN },
    { measurement: 'sensor_flag', tags: { object: FAULTY_STATION, tag: 'levelM', kind: 'flatline' }, fields: { active: false }, timeUtcMs: DAY_START + 3 * HOUR + 15 * MIN },
    { measurement: 'sensor_flag', tags: { object: 'Q-W6', tag: 'codMgL', kind: 'drift' }, fields: { active: true }, timeUtcMs: DAY_START + 9 * HOUR },
    // A 3-minute connection loss of the ingest (ingest_gap, as ingest/service.ts encodes it).
    {
      measurement: 'ingest_gap',
      tags: { reason: 'connection-lost' },
      fields: { endUtcMs: DAY_START + 6 * HOUR + 3 * MIN, startWallUtcMs: DAY_START + 6 * HOUR, endWallUtcMs: DAY_START + 6 * HOUR + 3 * MIN, wallDurationMs: 3 * MIN, items: 96, tags: '*', open: false },
      timeUtcMs: DAY_START + 6 * HOUR,
    },
  ];
  const flood: SeriesPoint[] = [
    [0, 0, 'none'],
    [5, 1, 'IV'],
    [8, 2, 'III'],
    [20, 1, 'IV'],
  ].map(([h, level, response]) => ({
    measurement: 'flood_status',
    tags: { network: network.id },
    fields: { warningLevel: level as number, responseLevel: response as string },
    timeUtcMs: DAY_START + (h as number) * HOUR,
  }));
  written.pointsWritten += await influx.write([...inflowForecast, ...flags, ...flood]);
  return { ...written, baseline };
}

// --- Grafana's side, done by hand ------------------------------------------------------------------

/** What Grafana substitutes: $timeFilter, $__interval and the dashboard variables. */
function interpolate(query: string, variables: Record<string, string>, range = { from: DAY_START, to: DAY_END }): string {
  let q = query
    .replaceAll('$timeFilter', `time >= ${range.from}ms and time <= ${range.to}ms`)
    .replaceAll('$__interval', INTERVAL)
    .replaceAll('${__to}', String(range.to))
    .replaceAll('${__from}', String(range.from));
  for (const name of Object.keys(variables).sort((a, b) => b.length - a.length)) q = q.replaceAll(`$${name}`, variables[name]!);
  assert.doesNotMatch(q, /\$[A-Za-z_]/, `unreplaced macro or variable in: ${q}`);
  return q;
}

/** The values of a query variable in the order Grafana shows them: first unique values as returned, then its sort. */
function grafanaOrder(values: string[], sort: dashboard.VariableSort | undefined): string[] {
  const unique = [...new Set(values)];
  if (sort === dashboard.VariableSort.AlphabeticalAsc) return unique.sort((a, b) => a.localeCompare(b));
  if (sort === dashboard.VariableSort.AlphabeticalDesc) return unique.sort((a, b) => b.localeCompare(a));
  if (sort === dashboard.VariableSort.NumericalDesc) return unique.sort((a, b) => Number(b) - Number(a));
  if (sort === undefined || sort === dashboard.VariableSort.Disabled) return unique;
  throw new Error(`variable sort ${sort} not emulated`);
}

/** Column names of the outermost SELECT (aliases, or quoted names). */
function outerColumns(query: string): string[] {
  assert.ok(query.startsWith('SELECT '), query);
  let depth = 0;
  let end = -1;
  for (let i = 7; i < query.length; i++) {
    const ch = query[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (depth === 0 && query.startsWith(' FROM ', i)) {
      end = i;
      break;
    }
  }
  const list = query.slice(7, end);
  const items: string[] = [];
  depth = 0;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    if (list[i] === '(') depth++;
    else if (list[i] === ')') depth--;
    else if (list[i] === ',' && depth === 0) {
      items.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(list.slice(start).trim());
  return items.map((item) => /AS "([^"]+)"$/.exec(item)?.[1] ?? /^"([^"]+)"$/.exec(item)?.[1] ?? item);
}

const nonNull = (series: QuerySeries[], column: string) =>
  series.some((s) => {
    const c = s.columns.indexOf(column);
    return c >= 0 && s.values.some((row) => row[c] !== null && row[c] !== undefined);
  });

/** Evaluate a math expression ($A * $B / 1000) on single-series results joined on time, as Grafana's SSE does. */
function evaluateExpression(expression: string, results: Map<string, QuerySeries[]>): number[] {
  const refs = [...expression.matchAll(/\$([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  const columns = new Map<string, Map<number, number>>();
  for (const ref of refs) {
    const series = results.get(ref);
    assert.ok(series && series.length === 1, `expression ${expression}: $${ref} should be one series, got ${series?.length}`);
    const s = series[0]!;
    const byTime = new Map<number, number>();
    for (const row of s.values) if (typeof row[1] === 'number') byTime.set(row[0] as number, row[1]);
    columns.set(ref, byTime);
  }
  const scalar = [...columns.values()].every((c) => c.size === 1);
  const times = scalar ? [0] : [...columns.get(refs[0]!)!.keys()].filter((t) => refs.every((r) => columns.get(r)!.has(t)));
  return times.map((t) => {
    const value = (ref: string) => (scalar ? [...columns.get(ref)!.values()][0]! : columns.get(ref)!.get(t)!);
    const tokens = expression.match(/\$[A-Za-z0-9_]+|\d+(?:\.\d+)?|[-+*/()]/g) ?? [];
    let i = 0;
    const primary = (): number => {
      const tok = tokens[i++]!;
      if (tok === '(') {
        const v = sum();
        i++;
        return v;
      }
      if (tok === '-') return -primary();
      return tok.startsWith('$') ? value(tok.slice(1)) : Number(tok);
    };
    const product = (): number => {
      let v = primary();
      while (tokens[i] === '*' || tokens[i] === '/') v = tokens[i++] === '*' ? v * primary() : v / primary();
      return v;
    };
    const sum = (): number => {
      let v = product();
      while (tokens[i] === '+' || tokens[i] === '-') v = tokens[i++] === '+' ? v + product() : v - product();
      return v;
    };
    return sum();
  });
}

interface Target {
  refId: string;
  query?: string;
  rawQuery?: boolean;
  type?: string;
  expression?: string;
  hide?: boolean;
}

void describe('dashboard queries against InfluxDB holding a simulated day', { timeout: 120_000 }, () => {
  let servers: TestServers;
  let forecastServer: ForecastServer;
  let network: NetworkConfig;
  let influx: InfluxConnector;
  let day: WrittenDay;
  let variables: Record<string, string>;

  before(async () => {
    [servers, network] = await Promise.all([startTestServers({ temporal: false }), loadNetworkFile(referenceNetworkPath)]);
    influx = createInfluxConnector({ url: servers.influx.url, token: servers.influx.token, org: 'sewer', bucket: servers.influx.database, database: servers.influx.database });
    // The archive serves the rainstorm's truth as observed rain; the whole day has been observed.
    forecastServer = await startForecastServer({ port: 0, scenario: 'rainstorm', scenarioStartUtcMs: DAY_START, nowUtcMs: () => DAY_END + HOUR });
    const observed = archiveObservedRain(createOpenMeteoConnector({ archiveUrl: `${forecastServer.url}/v1/archive`, timeoutMs: 10_000, retries: 1 }));
    day = await writeSimulatedDay(network, influx, observed);
    variables = {
      station: FAULTY_STATION,
      catchment: network.catchments[0]!.id,
      plan: day.planIds[0]!,
      rain_issue: day.rainIssues[0]!,
      inflow_issue: day.inflowIssues[0]!,
      ensemble_issue: day.ensembleIssues[0]!,
    };
  });

  after(async () => {
    await forecastServer?.close();
    await servers?.stop();
  });

  test('the service wrote a simulated day', () => {
    assert.equal(day.planIds.length, 24 / PLAN_EVERY_H);
    assert.ok(day.pointsWritten > 10_000, `only ${day.pointsWritten} points`);
    assert.equal(day.baseline.rainGap, null);
    assert.equal(day.baseline.writtenUntilUtcMs, DAY_END);
    assert.equal(day.baseline.points, network.stations.length * (24 * 12 + 1));
  });

  test('every template variable query lists the value the panels are tested with', async () => {
    for (const { dashboard: d } of buildDashboards(network)) {
      for (const v of d.templating.list ?? []) {
        if (v.type !== dashboard.VariableType.Query) continue;
        assert.equal(typeof v.query, 'string', `${d.uid} $${v.name}: InfluxQL text`);
        const series = await influx.query(interpolate(v.query as string, variables));
        const values = grafanaOrder(series.flatMap((s) => s.values.map((row) => String(row[1]))), v.sort);
        assert.ok(values.includes(variables[v.name]!), `${d.uid} $${v.name}: ${variables[v.name]} not among ${values.slice(0, 5).join(', ')}…`);
        // Grafana selects the first value on load: the newest plan, not the emergency plan whose id sorts first.
        if (v.name === 'plan') {
          assert.ok(day.emergencyPlanId && values.includes(day.emergencyPlanId), `the emergency plan is listed too: ${values.join(', ')}`);
          assert.equal(values[0], day.planIds.at(-1), `${d.uid} $plan opens on ${values[0]}`);
        }
      }
    }
  });

  for (const key of ['overview', 'station', 'plan', 'forecast', 'plants', 'flood', 'energy'] as const) {
    test(`${key}: every panel's query returns non-empty series with its fields`, async () => {
      const built = buildDashboards(network).find((d) => d.key === key);
      assert.ok(built, key);
      const panels = (built.dashboard.panels ?? []).filter((p): p is dashboard.Panel => p.type !== 'row');
      let queried = 0;
      for (const panel of panels) {
        const targets = (panel.targets ?? []) as unknown as Target[];
        const results = new Map<string, QuerySeries[]>();
        for (const target of targets.filter((t) => t.rawQuery)) {
          const query = interpolate(target.query!, variables);
          const where = `${built.dashboard.uid} / ${panel.title} / ${target.refId}`;
          const series = await influx.query(query);
          queried++;
          assert.ok(series.length > 0 && series.some((s) => s.values.length > 0), `${where}: no series for ${query}`);
          for (const column of outerColumns(query)) assert.ok(nonNull(series, column), `${where}: no value in column "${column}" (${series.map((s) => s.columns.join(',')).join(' | ')}) for ${query}`);
          results.set(target.refId, series);
        }
        for (const target of targets.filter((t) => t.type === 'math')) {
          const values = evaluateExpression(target.expression!, results);
          assert.ok(values.length > 0 && values.every(Number.isFinite), `${built.dashboard.uid} / ${panel.title} / ${target.refId}: ${target.expression} gave ${values.length} values`);
        }
      }
      assert.ok(queried > 0, `${key}: no queries`);
    });
  }

  test('energy per tariff period adds up to the counter increase of the day', async () => {
    const energy = buildDashboards(network).find((d) => d.key === 'energy')!.dashboard;
    const daily = (energy.panels ?? []).find((p) => p.title === '分时段日电耗') as dashboard.Panel;
    let periodsKwh = 0;
    for (const t of (daily.targets ?? []) as unknown as Target[]) {
      const [s] = await influx.query(interpolate(t.query!, variables));
      // The local day's bucket (the bucket at the range end holds only the closing reading).
      const row = s!.values.find((r) => r[0] === DAY_START);
      periodsKwh += row?.[1] as number;
    }
    const [total] = await influx.query(`SELECT sum("d") FROM (SELECT non_negative_difference("energyKwh") AS "d" FROM "station" WHERE time >= ${DAY_START}ms AND time <= ${DAY_END}ms GROUP BY "id")`);
    const totalKwh = total!.values[0]![1] as number;
    assert.ok(totalKwh > 0);
    // Readings at the period boundaries telescope: the periods add up to the day's counter increase exactly.
    assert.ok(Math.abs(periodsKwh - totalKwh) / totalKwh < 1e-9, `periods ${periodsKwh.toFixed(1)} kWh vs counters ${totalKwh.toFixed(1)} kWh`);
  });

  const single = async (query: string) => {
    const series = await influx.query(interpolate(query, variables));
    assert.equal(series.length, 1, query);
    return series[0]!.values.map((row) => row[1] as number);
  };

  test('the rain ensemble band spans the members hour by hour: p10, median and p90 across members', async () => {
    const forecast = buildDashboards(network).find((d) => d.key === 'forecast')!.dashboard;
    const panel = (forecast.panels ?? []).find((p) => p.title === '汇水区降雨集合预报区间') as dashboard.Panel;
    const [target] = (panel.targets ?? []) as unknown as Target[];
    const [series] = await influx.query(interpolate(target!.query!, variables));
    const at = (hour: number) => series!.values.find((row) => row[0] === DAY_START + hour * HOUR)?.slice(1);
    // Members 0.5×, 0.75×, 1×, 1.25×, 1.5× of 3 mm/h at 08:00; none of them rains at 14:00.
    assert.deepEqual(at(8), [1.5, 3, 4.5]);
    assert.deepEqual(at(14), [0, 0, 0]);
  });

  test('the baseline the service wrote: tariff periods add up to its counters, and priced by the dashboard they cost what the simulator charged', async () => {
    const source = { measurement: 'baseline', field: 'energyKwh' };
    let periodsKwh = 0;
    for (const period of tariffPeriods(network)) {
      const [kwh] = await single(periodEnergyQuery(source, period, { columns: ['energyKwh'] }));
      periodsKwh += kwh!;
    }
    const { baseline } = day;
    assert.ok(baseline.energyKwh > 0, `baseline ${baseline.energyKwh} kWh`);
    assert.ok(Math.abs(periodsKwh - baseline.energyKwh) < 1e-9 * baseline.energyKwh, `periods ${periodsKwh} kWh vs baseline ${baseline.energyKwh} kWh`);
    // The dashboard prices each tariff range from the network file; the simulator priced every step itself.
    const [costCny] = await single(totalCostQuery(source, tariffPeriods(network)));
    assert.ok(Math.abs(costCny! - baseline.costCny) < 1e-9 * baseline.costCny, `dashboard ${costCny} CNY vs simulator ${baseline.costCny} CNY`);
  });

  test('cost over all periods equals each period’s energy at its price, and per-station energy adds up to the network’s', async () => {
    const source = { measurement: 'station', field: 'energyKwh' };
    let expectedCny = 0;
    for (const period of tariffPeriods(network)) {
      const [totalKwh] = await single(periodEnergyQuery(source, period, { columns: ['energyKwh'] }));
      const perStation = await influx.query(interpolate(periodEnergyQuery(source, period, { byId: true, columns: ['energyKwh'] }), variables));
      assert.equal(perStation.length, network.stations.length, `${period.name}: one series per station`);
      const stationsKwh = perStation.reduce((sum, s) => sum + (s.values[0]![1] as number), 0);
      assert.ok(Math.abs(stationsKwh - totalKwh!) < 1e-6 * totalKwh!, `${period.name}: stations ${stationsKwh} vs network ${totalKwh}`);
      expectedCny += totalKwh! * period.priceCnyPerKwh;
    }
    const [costCny] = await single(totalCostQuery(source, tariffPeriods(network)));
    assert.ok(Math.abs(costCny! - expectedCny) < 1e-6 * expectedCny, `cost ${costCny} vs ${expectedCny}`);
  });

  test('energy against the baseline compares the same hours: a baseline ending at the last full hour (or earlier) shows no false saving', async () => {
    // The next local day, after the simulated one: station Z9 uses 120 kWh/h under the plans and under local control
    // alike. Telemetry runs to 10:50 ("today so far"); the baseline, written at :05 every hour, ends at 10:00.
    const start = DAY_END + 24 * HOUR;
    const range = { from: start, to: start + 10 * HOUR + 50 * MIN };
    const counter = (t: number) => ((t - start) / HOUR) * 120;
    const points: SeriesPoint[] = [];
    for (let t = start; t <= range.to; t += 5 * MIN) points.push({ measurement: 'station', tags: { id: 'Z9' }, fields: { energyKwh: counter(t) }, timeUtcMs: t });
    for (let t = start; t <= start + 10 * HOUR; t += 5 * MIN) points.push({ measurement: 'baseline', tags: { id: 'Z9' }, fields: { energyKwh: counter(t) }, timeUtcMs: t });
    await influx.write(points);
    // The hours 00:00–10:00 priced at the network's tariff (whole-hour ranges in the reference network).
    const priceAt = (localMin: number) => tariffPeriods(network).find((p) => p.ranges.some((r) => {
      const from = Number(r.from.slice(0, 2)) * 60 + Number(r.from.slice(3));
      return (localMin - from + 1440) % 1440 < r.lengthMin;
    }))!.priceCnyPerKwh;
    const expectedCny = Array.from({ length: 10 }, (_, h) => 120 * priceAt(h * 60)).reduce((a, b) => a + b, 0);

    const energy = buildDashboards(network).find((d) => d.key === 'energy')!.dashboard;
    const totals = async (title: string) => {
      const panel = (energy.panels ?? []).find((p) => p.title === title) as dashboard.Panel;
      const targets = (panel.targets ?? []) as unknown as Target[];
      const results = new Map<string, QuerySeries[]>();
      for (const t of targets.filter((x) => x.rawQuery)) results.set(t.refId, await influx.query(interpolate(t.query!, variables, range)));
      // What the stat shows: every visible target and expression, reduced by the panel's calculation.
      const calc = (panel.options as { reduceOptions: { calcs: string[] } }).reduceOptions.calcs[0];
      const reduce = (values: number[]) => (calc === 'sum' ? values.reduce((a, b) => a + b, 0) : values.at(-1)!);
      const shown = new Map<string, number>();
      for (const t of targets.filter((x) => x.rawQuery && !x.hide)) shown.set(t.refId, reduce(results.get(t.refId)!.flatMap((r) => r.values.map((v) => v[1] as number))));
      for (const t of targets.filter((x) => x.type === 'math')) shown.set(t.refId, reduce(evaluateExpression(t.expression!, results)));
      // Before the expressions, the stat showed its queries A (actual) and B (baseline) themselves.
      for (const [name, ref] of [['actual', 'A'], ['baseline', 'B']] as const) if (!shown.has(name) && shown.has(ref)) shown.set(name, shown.get(ref)!);
      return shown;
    };
    const kwh = await totals('时段总电耗');
    assert.ok(Math.abs(kwh.get('actual')! - 1200) < 1e-6, `actual ${kwh.get('actual')} kWh over the 10 hours both sides have`);
    assert.ok(Math.abs(kwh.get('baseline')! - 1200) < 1e-6, `baseline ${kwh.get('baseline')} kWh`);
    const cny = await totals('电费与节省');
    assert.ok(Math.abs(cny.get('actual')! - expectedCny) < 1e-6, `actual ${cny.get('actual')} CNY, expected ${expectedCny}`);
    assert.ok(Math.abs(cny.get('saving')!) < 1e-6, `saving ${cny.get('saving')} CNY with identical energy use`);

    // The baseline lagging (public archive): the day after, it ends at 04:00; the comparison stops there instead of going negative.
    const next = start + 24 * HOUR;
    const lag: SeriesPoint[] = [];
    for (let t = next; t <= next + 10 * HOUR + 50 * MIN; t += 5 * MIN) lag.push({ measurement: 'station', tags: { id: 'Z9' }, fields: { energyKwh: counter(t) }, timeUtcMs: t });
    for (let t = next; t <= next + 4 * HOUR; t += 5 * MIN) lag.push({ measurement: 'baseline', tags: { id: 'Z9' }, fields: { energyKwh: counter(t) }, timeUtcMs: t });
    await influx.write(lag);
    range.from = next;
    range.to = next + 10 * HOUR + 50 * MIN;
    assert.ok(Math.abs((await totals('电费与节省')).get('saving')!) < 1e-6, 'saving with the baseline ending at 04:00');
    assert.ok(Math.abs((await totals('时段总电耗')).get('actual')! - 480) < 1e-6, 'actual energy over the 4 hours the baseline has');
  });

  test('the overview\'s "now" stats count only stations that reported in the last 15 minutes', async () => {
    // Four days after the simulated one: W1 last reported 20 h before the range end (high level, 2 pumps, REMOTE),
    // W2 five minutes before it.
    const range = { from: DAY_END + 4 * 24 * HOUR, to: DAY_END + 5 * 24 * HOUR };
    const w1 = network.stations.find((s) => s.id === 'W1')!;
    await influx.write([
      { measurement: 'station', tags: { id: 'W1' }, fields: { levelM: w1.levels.highAlarmM + 0.2, pumpsRunning: 2, mode: 1 }, timeUtcMs: range.to - 20 * HOUR },
      { measurement: 'station', tags: { id: 'W2' }, fields: { levelM: 1, pumpsRunning: 1, mode: 1 }, timeUtcMs: range.to - 5 * MIN },
    ]);
    const overview = buildDashboards(network).find((d) => d.key === 'overview')!.dashboard;
    const stat = async (title: string) => {
      const panel = (overview.panels ?? []).find((p) => p.title === title) as dashboard.Panel;
      assert.ok(panel, title);
      const targets = (panel.targets ?? []) as unknown as Target[];
      const results = new Map<string, QuerySeries[]>();
      for (const t of targets.filter((x) => x.rawQuery)) results.set(t.refId, await influx.query(interpolate(t.query!, variables, range)));
      const math = targets.find((x) => x.type === 'math');
      if (math) return evaluateExpression(math.expression!, results).at(-1);
      const values = [...results.values()].flat().flatMap((r) => r.values.map((v) => v[1] as number));
      return values.at(-1) ?? 0;
    };
    assert.equal(await stat('在线泵站'), 1);
    assert.equal(await stat('失联泵站'), network.stations.length - 1);
    assert.equal(await stat('高液位泵站'), 0);
    assert.equal(await stat('运行泵数'), 1);
    assert.equal(await stat('远程控制泵站'), 1);
  });

  test('stations at risk counts each station against its own high-alarm level', async () => {
    // Two groups of levels, so the count merges one subquery per group.
    const varied = structuredClone(network);
    varied.stations.forEach((s, i) => (s.levels.highAlarmM = i % 2 === 0 ? 3.2 : 3.9));
    const series = await influx.query(`SELECT max("levelM") FROM "station" WHERE time >= ${DAY_START}ms AND time <= ${DAY_END}ms GROUP BY "id"`);
    const maxById = new Map(series.map((s) => [s.tags['id'], s.values[0]![1] as number]));
    const expected = varied.stations.filter((s) => maxById.get(s.id)! > s.levels.highAlarmM).length;
    const [count] = await single(stationsAboveHighAlarmQuery(varied, 'max-in-range'));
    assert.equal(count, expected);
    assert.ok(expected > 0 && expected < varied.stations.length, `the day should put some but not all stations at risk (${expected})`);
  });
});

