// The post-event report: only approved plans count as approvals; drawdown targets only from dispatched plans,
// measured from their approval; planned overflow from a prediction or unknown; missing rain unknown, never 0;
// overflow and maxima from telemetry over the event (the season's checks only as a flagged fallback); the
// dispatch outcomes. And the report activity that reads these from InfluxDB (a fake connector: unit test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InfluxConnector, QuerySeries, SeriesPoint } from '../../connectors/influx.js';
import type { OpcUaConnector } from '../../connectors/opcua.js';
import { createFloodActivities, type ObservedRainSource } from '../../activities/flood.js';
import type { RainForecastSource } from '../../activities/dispatch.js';
import { buildFloodReport, summariseObservedRain } from '../../flood/report.js';
import { floodConfig, type FloodEventLog } from '../../flood/types.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { readFileSync } from 'node:fs';

const H = 3_600_000;
const T0 = Date.UTC(2026, 6, 14, 16);
type PlanEntry = FloodEventLog['plans'][number];
const plan = (id: string, revision: number, outcome: string, decidedBy: string | null, over: Partial<PlanEntry> = {}): PlanEntry => ({
  emergencyPlanId: id,
  revision,
  response: 'III',
  proposedAtUtcMs: T0,
  decidedAtUtcMs: decidedBy ? T0 + H : null,
  decidedBy,
  role: decidedBy ? 'dispatcher' : null,
  outcome,
  planWorkflowId: outcome === 'approved' ? id : null,
  drawdownStations: 1,
  earliestStartByUtcMs: T0,
  targetLevels: { W1: 1.5 },
  ...over,
});
const event = (plans: PlanEntry[], over: Partial<FloodEventLog> = {}): FloodEventLog => ({
  eventId: 'ev',
  networkId: 'n',
  startedAtUtcMs: T0,
  endedAtUtcMs: T0 + 10 * H,
  peakWarning: 'yellow',
  peakResponse: 'III',
  levels: [],
  actions: [],
  stations: [{ stationId: 'W1', maxLevelM: 3.9, maxLevelAtUtcMs: T0 + 8 * H, minLevelBeforeOnsetM: 1.45, overflowM3: 1234, overflowSamples: 2 }],
  firstForecast: { atUtcMs: T0, onsetUtcMs: T0 + 6 * H, endUtcMs: T0 + 12 * H, catchments: [{ catchmentId: 'C-W1', max3hMm: 40, max12hMm: 70, totalMm: 72 }] },
  observedOnsetUtcMs: null,
  plans,
  ...over,
});

test('a rejected or expired plan is no approval and sets no drawdown target; planned overflow is unknown without a prediction', () => {
  const r = buildFloodReport(event([plan('r1', 1, 'rejected', 'li'), plan('r2', 2, 'expired', null)]), [], T0 + 10 * H);
  assert.match(r.summary.zh, /应急预案2版，批准0版/);
  assert.doesNotMatch(r.summary.zh, /li/);
  assert.match(r.summary.en, /2 emergency plan revision\(s\), 0 approved/);
  assert.deepEqual(r.planAgainstActual.drawdown, [{ stationId: 'W1', planId: null, targetStartLevelM: null, minLevelBeforeOnsetM: null, minLevelSource: null, reachedTarget: null }]);
  assert.equal(r.planAgainstActual.overflow.plannedM3, null, 'no dispatched plan predicted an overflow: unknown, not 0');

  // A later approved revision: it counts, names its approver, and its target is the one measured.
  const ok = buildFloodReport(event([plan('r1', 1, 'rejected', 'li'), plan('r2', 2, 'approved', 'wang', { targetLevels: { W1: 1.4 } })]), [], T0 + 10 * H, { plannedOverflow: { planId: 'r2', overflowM3: 310.4 } });
  assert.match(ok.summary.zh, /批准1版（首个批准：第2版，wang）/);
  assert.equal(ok.planAgainstActual.drawdown[0]!.targetStartLevelM, 1.4);
  assert.equal(ok.planAgainstActual.drawdown[0]!.planId, 'r2');
  assert.deepEqual(ok.planAgainstActual.overflow, { plannedM3: 310, plannedByPlanId: 'r2', actualM3: 1234 });
});

test('missing observed rain is unknown (null), never 0 mm', () => {
  const r = buildFloodReport(event([]), null, T0 + 10 * H, { rainProblem: 'archive HTTP 503' });
  assert.equal(r.rain.networkMaxTotalMm, null);
  assert.equal(r.rain.networkMax3hMm, null);
  assert.deepEqual(r.planAgainstActual.rain.map((x) => [x.observedMax3hMm, x.observedTotalMm]), [[null, null]]);
  assert.match(r.summary.zh, /最大累计降雨未知/);
  assert.doesNotMatch(r.summary.zh, /降雨0毫米/);
  assert.ok(r.notes?.some((n) => n.en.includes('archive HTTP 503') && n.zh.includes('实测降雨不可用')));
  // An archive that has not caught up yet: no hour known is unknown; the missing hours are gaps.
  const lagging = summariseObservedRain('C-W1', { timeUtcMs: [], mm: [] }, T0 - 12 * H, T0 + 10 * H);
  assert.deepEqual([lagging.totalMm, lagging.max3hMm, lagging.gaps], [null, null, 22]);
  const partial = summariseObservedRain('C-W1', { timeUtcMs: [T0 - 11 * H, T0 - 10 * H], mm: [3, null] }, T0 - 12 * H, T0 + 10 * H);
  assert.deepEqual([partial.totalMm, partial.gaps], [3, 21]);
  assert.equal(buildFloodReport(event([]), [lagging], T0 + 10 * H).rain.networkMaxTotalMm, null);
});

test('overflow and maxima come from telemetry over the event; the checks are a flagged fallback; dispatch outcomes are reported', () => {
  const approved = [plan('r1', 1, 'approved', 'wang')];
  const fallback = buildFloodReport(event(approved), [], T0 + 10 * H);
  assert.equal(fallback.overflows.source, 'snapshots');
  assert.equal(fallback.overflows.totalM3, 1234);
  assert.match(fallback.summary.zh, /按巡检采样估算/);
  assert.ok(fallback.notes?.some((n) => /telemetry unavailable/.test(n.en) && /遥测不可用/.test(n.zh)));
  assert.equal(fallback.planAgainstActual.drawdown[0]!.minLevelSource, 'snapshots-since-event-start');

  const r = buildFloodReport(event(approved), [], T0 + 10 * H, {
    telemetry: [{ stationId: 'W1', maxLevelM: 4.05, maxLevelAtUtcMs: T0 + 7.5 * H, overflowM3: 200.2, minLevelAfterApprovalM: 1.8 }],
    dispatch: [{ planId: 'r1', stepsApplied: 30, failedSteps: [{ stepNumber: 4, failed: 2, atUtcMs: T0 + 2 * H }], handBacks: [{ atUtcMs: T0 + 2 * H, detail: 'W3: writes failed' }], linkWriteFailures: [], dispatchFailed: null }],
  });
  assert.equal(r.overflows.source, 'telemetry');
  assert.equal(r.overflows.totalM3, 200);
  assert.deepEqual(r.overflows.stations, [{ stationId: 'W1', overflowM3: 200 }]);
  assert.equal(r.levels.stations[0]!.maxLevelM, 4.05);
  assert.equal(r.levels.stations[0]!.maxLevelAtUtcMs, T0 + 7.5 * H);
  // The level was low (1.45) before the approval, not after it: the drawdown did not reach 1.5 m.
  assert.deepEqual(r.planAgainstActual.drawdown[0], { stationId: 'W1', planId: 'r1', targetStartLevelM: 1.5, minLevelBeforeOnsetM: 1.8, minLevelSource: 'after-approval', reachedTarget: false });
  assert.match(r.summary.zh, /下发失败1步，交回本地控制1次/);
  // Approved only after the rain began: no drawdown before onset, whatever the level was.
  const late = buildFloodReport(event([plan('r1', 1, 'approved', 'wang', { decidedAtUtcMs: T0 + 7 * H })], { observedOnsetUtcMs: T0 + 6 * H }), [], T0 + 10 * H);
  assert.deepEqual([late.planAgainstActual.drawdown[0]!.minLevelSource, late.planAgainstActual.drawdown[0]!.reachedTarget], ['approved-after-onset', false]);
  assert.match(r.summary.en, /1 hand-back\(s\)/);
  assert.equal(r.dispatch?.[0]?.failedSteps[0]?.stepNumber, 4);
});

test('the report activity integrates overflowM3h and takes maxima from InfluxDB over the event, reads the dispatch outcomes, and falls back (flagged) when InfluxDB cannot answer', async () => {
  const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
  const queries: string[] = [];
  const written: SeriesPoint[] = [];
  let failQueries = false;
  const series = (name: string, tags: Record<string, string>, columns: string[], values: unknown[][]): QuerySeries => ({ name, tags, columns, values });
  const influx: InfluxConnector = {
    async write(points) {
      written.push(...points);
      return points.length;
    },
    async query(q) {
      queries.push(q);
      if (failQueries) throw new Error('InfluxDB unreachable');
      if (q.includes('integral("overflowM3h", 1h)')) return [series('station', { id: 'W1' }, ['time', 'overflowM3'], [[0, 200]])];
      if (q.includes('max("levelM")')) return [series('station', { id: 'W1' }, ['time', 'maxLevelM'], [[T0 + 7 * H, 4.1]])];
      if (q.includes('min("levelM")')) return [series('station', { id: 'W1' }, ['time', 'minLevelM'], [[T0 + 3 * H, 1.48]])];
      if (q.includes('"plan_event"'))
        return [
          series('plan_event', { status: 'step-applied' }, ['time', 'planId', 'failed', 'step', 'detail'], [[T0 + 2 * H, 'r1', 0, 1, null], [T0 + 3 * H, 'r1', 3, 5, null], [T0 + 3 * H, 'plan-other', 9, 2, null]]),
          series('plan_event', { status: 'link-write-failed' }, ['time', 'planId', 'failed', 'step', 'detail'], [[T0 + 3 * H, 'r1', 0, null, 'X1 transfer not written']]),
        ];
      return [];
    },
    async ping() {
      return { latencyMs: 1, version: 'fake' };
    },
  };
  const observed: ObservedRainSource = { fetchObservedRain: () => Promise.reject(new Error('archive lags')) };
  const forecast = { fetchCatchmentRain: () => Promise.reject(new Error('unused')) } as unknown as RainForecastSource;
  const acts = createFloodActivities({ network, opcua: {} as OpcUaConnector, influx, forecast, observed, now: () => T0 + 11 * H });
  const ev = event([plan('r1', 1, 'approved', 'wang')], { observedOnsetUtcMs: T0 + 6 * H, actions: [{ atUtcMs: T0 + H, kind: 'dispatch-started', detail: '', planId: 'r1' }] });
  const report = await acts.writeFloodReport({ event: ev, config: floodConfig() });
  assert.equal(report.overflows.source, 'telemetry');
  assert.equal(report.overflows.totalM3, 200, 'the integral, not the 1234 m³ of the checks');
  assert.equal(report.levels.stations[0]!.maxLevelM, 4.1);
  assert.equal(report.planAgainstActual.drawdown[0]!.minLevelBeforeOnsetM, 1.48);
  assert.ok(queries.some((q) => q.includes('min("levelM")') && q.includes(`time >= ${T0 + H}ms AND time <= ${T0 + 6 * H}ms`)), 'the minimum counts from the approval until onset');
  assert.deepEqual(report.dispatch?.[0], { planId: 'r1', stepsApplied: 2, failedSteps: [{ stepNumber: 6, failed: 3, atUtcMs: T0 + 3 * H }], handBacks: [], linkWriteFailures: [{ atUtcMs: T0 + 3 * H, detail: 'X1 transfer not written' }], dispatchFailed: null });
  assert.equal(report.rain.networkMaxTotalMm, null, 'observed rain failed: unknown');
  assert.equal(report.planAgainstActual.overflow.plannedM3, null);

  failQueries = true;
  const fallback = await acts.writeFloodReport({ event: ev, config: floodConfig() });
  assert.equal(fallback.overflows.source, 'snapshots');
  assert.equal(fallback.overflows.totalM3, 1234);
  assert.equal(fallback.dispatch, null);
  assert.ok(fallback.notes?.some((n) => n.en.includes('InfluxDB unreachable')));
  assert.ok(written.some((p) => p.measurement === 'flood_report'));
});

test('without a forecast the assessment writes no warning level to flood_status (unknown, not lifted): only what was observed', async () => {
  const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
  const written: SeriesPoint[] = [];
  const influx = {
    write: async (points: readonly SeriesPoint[]) => (written.push(...points), points.length),
    query: async () => [],
    ping: async () => ({ latencyMs: 1, version: 'fake' }),
  } as unknown as InfluxConnector;
  const opcua = { readTags: () => Promise.reject(new Error('SCADA away')) } as unknown as OpcUaConnector;
  const observed: ObservedRainSource = { fetchObservedRain: async (net) => ({ source: 'archive', catchments: net.catchments.map((c) => ({ catchmentId: c.id, hourly: { timeUtcMs: [T0], mm: [2] } })) }) };
  let forecastUp = false;
  const forecast = {
    fetchCatchmentRain: async () => {
      if (!forecastUp) throw new Error('HTTP 503 Service Unavailable');
      return { issuedAtUtcMs: T0, source: 'open-meteo:best_match;quality=fresh', stepMin: 60, locations: [] };
    },
  } as unknown as RainForecastSource;
  const acts = createFloodActivities({ network, opcua, influx, forecast, observed, now: () => T0 });
  await acts.assessFlood({ config: floodConfig() });
  const [down] = written.filter((p) => p.measurement === 'flood_status');
  assert.equal(down?.fields['forecastMissing'], true);
  assert.equal(down?.fields['warningLevel'], undefined, 'no level written while it is unknown');
  assert.equal(down?.fields['observedWarningLevel'], 0);
  forecastUp = true;
  written.length = 0;
  await acts.assessFlood({ config: floodConfig() });
  const [up] = written.filter((p) => p.measurement === 'flood_status');
  assert.equal(up?.fields['warningLevel'], 0);
  assert.equal(up?.fields['forecastMissing'], undefined);
});
