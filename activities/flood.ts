// Activities of the flood-season workflow: assess forecast and observed rain with the network's state,
// build the emergency plan, and write the post-event report. A factory over its connectors.
import { planPredictionPoints, planSeriesSlot, planSetpointPoints } from './plan-points.js';
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { OpcUaConnector } from '../connectors/opcua.js';
import type { OpenMeteoConnector } from '../connectors/openmeteo.js';
import { buildEmergencyPlan, standDownPlan } from '../flood/emergency-plan.js';
import { buildFloodReport, dispatchedPlans, drawdownTargets, summariseObservedRain, type ReportExtras } from '../flood/report.js';
import { warningRank, type DispatchOutcomeSummary, type EmergencyPlan, type FloodAssessment, type FloodConfig, type FloodEventLog, type FloodReport, type HourlyRain, type ObservedRainSummary, type StationTelemetrySummary } from '../flood/types.js';
import { assessRain } from '../flood/warning.js';
import { quoteString } from '../forecasting/influxql.js';
import type { NetworkConfig } from '../network/schema.js';
import { StationMode, resolveTagMap } from '../network/tags.js';
import type { Plan } from '../planner/types.js';
import type { RainForecastSource } from './dispatch.js';

const MS_PER_H = 3_600_000;

export interface ObservedRain {
  source: string;
  catchments: { catchmentId: string; hourly: HourlyRain }[];
}

export interface ObservedRainSource {
  /** Hourly rain that has fallen per catchment over (fromUtcMs, toUtcMs]; hours not yet observed are null. */
  fetchObservedRain(network: NetworkConfig, fromUtcMs: number, toUtcMs: number): Promise<ObservedRain>;
}

const utcDate = (utcMs: number) => new Date(utcMs).toISOString().slice(0, 10);

/**
 * Observed rain from the Open-Meteo archive API (the local forecast server serves the scenario's truth there).
 * In production a rain-gauge source belongs here: the public archive lags by days.
 */
export function archiveObservedRain(connector: OpenMeteoConnector, sourceName = 'open-meteo-archive'): ObservedRainSource {
  return {
    async fetchObservedRain(network, fromUtcMs, toUtcMs) {
      const locations = network.catchments.map((c) => ({ id: c.id, latDeg: c.location.latDeg, lonDeg: c.location.lonDeg }));
      const byId = await connector.fetchArchive(locations, { startDate: utcDate(fromUtcMs), endDate: utcDate(toUtcMs) });
      return {
        source: sourceName,
        catchments: network.catchments.map((c) => {
          const series = byId[c.id];
          if (!series) throw new Error(`archive answer has no series for catchment ${c.id}`);
          const keep = series.hourly.timeUtcMs.map((t, i) => ({ t, mm: series.hourly.precipitationMm[i] ?? null })).filter((x) => x.t > fromUtcMs && x.t <= toUtcMs);
          return { catchmentId: c.id, hourly: { timeUtcMs: keep.map((x) => x.t), mm: keep.map((x) => x.mm) } };
        }),
      };
    },
  };
}

export interface FloodDependencies {
  network: NetworkConfig;
  opcua: OpcUaConnector;
  influx: InfluxConnector;
  forecast: RainForecastSource;
  /** Without it the assessment uses the forecast only and says so. */
  observed?: ObservedRainSource;
  now?: () => number;
}

/** Largest InfluxDB string field we write (InfluxDB 1.x limits a string field to 64 KB). */
const MAX_REPORT_JSON_BYTES = 60_000;

export function reportJson(report: FloodReport): string {
  let json = JSON.stringify(report);
  if (Buffer.byteLength(json, 'utf8') > MAX_REPORT_JSON_BYTES) {
    json = JSON.stringify({ ...report, levels: { timeline: report.levels.timeline.slice(-50), stations: report.levels.stations }, truncated: true });
  }
  if (Buffer.byteLength(json, 'utf8') > MAX_REPORT_JSON_BYTES) {
    json = JSON.stringify({ ...report, levels: { timeline: [], stations: report.levels.stations }, actions: report.actions.slice(-100), truncated: true });
  }
  return json;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const column = (series: { columns: string[]; values: unknown[][] }, row: unknown[] | undefined, name: string): unknown => row?.[series.columns.indexOf(name)];

/**
 * Station telemetry over the event (integral of overflowM3h, max of levelM; the lowest level from the approval
 * of the plan that set each station's drawdown target until onset), the first dispatched plan's predicted
 * overflow, and the dispatch outcomes of the event's plans (plan_event). A failed query leaves its part unknown.
 */
async function reportExtras(influx: InfluxConnector, event: FloodEventLog, endedAtUtcMs: number, onsetUtcMs: number | null): Promise<ReportExtras> {
  const extras: ReportExtras = {};
  const window = `time >= ${event.startedAtUtcMs}ms AND time <= ${endedAtUtcMs}ms`;
  try {
    const byId = new Map<string, StationTelemetrySummary>(event.stations.map((s) => [s.stationId, { stationId: s.stationId, maxLevelM: null, maxLevelAtUtcMs: null, overflowM3: null, minLevelAfterApprovalM: null }]));
    for (const s of await influx.query(`SELECT integral("overflowM3h", 1h) AS "overflowM3" FROM "station" WHERE ${window} GROUP BY "id"`)) {
      const t = byId.get(s.tags['id'] ?? '');
      if (t) t.overflowM3 = num(column(s, s.values[0], 'overflowM3'));
    }
    for (const s of await influx.query(`SELECT max("levelM") AS "maxLevelM" FROM "station" WHERE ${window} GROUP BY "id"`)) {
      const t = byId.get(s.tags['id'] ?? '');
      if (!t) continue;
      t.maxLevelM = num(column(s, s.values[0], 'maxLevelM'));
      t.maxLevelAtUtcMs = t.maxLevelM === null ? null : num(column(s, s.values[0], 'time'));
    }
    // Did the drawdown happen? Lowest level from each target's approval until the rain began.
    const until = onsetUtcMs ?? endedAtUtcMs;
    const byApproval = new Map<number, string[]>();
    for (const [stationId, target] of drawdownTargets(event)) byApproval.set(target.approvedAtUtcMs, [...(byApproval.get(target.approvedAtUtcMs) ?? []), stationId]);
    for (const [approvedAtUtcMs, stationIds] of byApproval) {
      if (approvedAtUtcMs > until) continue;
      const ids = stationIds.map((id) => `"id" = ${quoteString(id)}`).join(' OR ');
      for (const s of await influx.query(`SELECT min("levelM") AS "minLevelM" FROM "station" WHERE time >= ${approvedAtUtcMs}ms AND time <= ${until}ms AND (${ids}) GROUP BY "id"`)) {
        const t = byId.get(s.tags['id'] ?? '');
        if (t) t.minLevelAfterApprovalM = num(column(s, s.values[0], 'minLevelM'));
      }
    }
    extras.telemetry = [...byId.values()];
  } catch (error) {
    extras.telemetry = null;
    extras.telemetryProblem = (error as Error).message;
  }

  const dispatched = dispatchedPlans(event);
  const first = dispatched[0];
  if (first) {
    try {
      const [s] = await influx.query(`SELECT last("overflowM3") AS "overflowM3" FROM "plan_prediction" WHERE "kind" = 'plan' AND "planId" = ${quoteString(first.emergencyPlanId)} AND time >= ${event.startedAtUtcMs - 3_600_000}ms`);
      const overflowM3 = s ? num(column(s, s.values[0], 'overflowM3')) : null;
      extras.plannedOverflow = overflowM3 === null ? null : { planId: first.emergencyPlanId, overflowM3 };
    } catch {
      extras.plannedOverflow = null;
    }
  }

  // Every plan the season dispatched: approved revisions and the stand-down plan.
  const planIds = [...new Set([...dispatched.map((p) => p.planWorkflowId!), ...event.actions.filter((a) => a.kind === 'dispatch-started' && a.planId).map((a) => a.planId!)])];
  if (planIds.length === 0) extras.dispatch = [];
  else {
    try {
      // The plan id is a field (activities/plan-points.ts): select it and sort the rows by it here.
      const plans = planIds.map((id) => `"planId" = ${quoteString(id)}`).join(' OR ');
      const rows = await influx.query(`SELECT "planId", "failed", "step", "detail" FROM "plan_event" WHERE time >= ${event.startedAtUtcMs}ms AND (${plans}) GROUP BY "status"`);
      extras.dispatch = planIds.map((planId): DispatchOutcomeSummary => {
        const out: DispatchOutcomeSummary = { planId, stepsApplied: 0, failedSteps: [], handBacks: [], linkWriteFailures: [], dispatchFailed: null };
        for (const s of rows) {
          for (const row of s.values.filter((r) => column(s, r, 'planId') === planId)) {
            const atUtcMs = num(column(s, row, 'time')) ?? 0;
            const text = column(s, row, 'detail');
            const detail = typeof text === 'string' ? text : '';
            const failed = num(column(s, row, 'failed')) ?? 0;
            const step = num(column(s, row, 'step'));
            switch (s.tags['status']) {
              case 'dispatched':
              case 'step-applied':
                out.stepsApplied++;
                if (failed > 0) out.failedSteps.push({ stepNumber: step === null ? null : step + 1, failed, atUtcMs });
                break;
              case 'handed-back':
                out.handBacks.push({ atUtcMs, detail });
                break;
              case 'link-write-failed':
                out.linkWriteFailures.push({ atUtcMs, detail });
                break;
              case 'dispatch-failed':
                out.dispatchFailed = { atUtcMs, detail };
                break;
            }
          }
        }
        return out;
      });
    } catch (error) {
      extras.dispatch = null;
      extras.dispatchProblem = (error as Error).message;
    }
  }
  return extras;
}

export function createFloodActivities(deps: FloodDependencies) {
  const { network, opcua, influx } = deps;
  const now = deps.now ?? Date.now;
  const tags = resolveTagMap(network);
  const conditionTags = tags.filter(
    (t) =>
      (t.objectKind === 'station' && ['levelM', 'inflowM3h', 'overflowM3h', 'pumpsAvailable', 'pumpsRunning', 'mode', 'startLevelSpM', 'stopLevelSpM'].includes(t.tag)) ||
      (t.objectKind === 'plant' && ['inflowM3h', 'bypassM3h'].includes(t.tag)) ||
      (t.objectKind === 'tank' && ['volumeM3', 'inletSpM3h', 'outletSpM3h'].includes(t.tag)) ||
      (t.objectKind === 'interconnection' && t.tag === 'transferSpM3h'),
  );
  const catchmentStation = new Map(network.catchments.map((c) => [c.id, c.node]));

  return {
    /** Rain (observed and forecast) per catchment, warning and response level, and the network's state now. */
    async assessFlood(input: { config: FloodConfig }): Promise<FloodAssessment> {
      const { config } = input;
      const nowUtcMs = now();
      const notes: string[] = [];
      const [forecastResult, observedResult, readingsResult] = await Promise.allSettled([
        deps.forecast.fetchCatchmentRain(network, config.lookAheadH),
        deps.observed ? deps.observed.fetchObservedRain(network, nowUtcMs - 13 * MS_PER_H, nowUtcMs) : Promise.reject(new Error('no observed-rain source configured')),
        opcua.readTags(conditionTags),
      ]);
      if (forecastResult.status === 'rejected') notes.push(`forecast unavailable: ${String((forecastResult.reason as Error).message ?? forecastResult.reason)}`);
      if (observedResult.status === 'rejected') notes.push(`observed rain unavailable: ${String((observedResult.reason as Error).message ?? observedResult.reason)}`);
      if (readingsResult.status === 'rejected') notes.push(`SCADA unavailable: ${String((readingsResult.reason as Error).message ?? readingsResult.reason)}`);
      if (forecastResult.status === 'rejected' && observedResult.status === 'rejected') throw new Error(`no rain data: ${notes.join('; ')}`);
      const forecast = forecastResult.status === 'fulfilled' ? forecastResult.value : null;
      const observed = observedResult.status === 'fulfilled' ? observedResult.value : null;
      const empty: HourlyRain = { timeUtcMs: [], mm: [] };

      const rain = assessRain(
        network.catchments.map((c) => {
          const f = forecast?.locations.find((l) => l.catchmentId === c.id);
          return {
            catchmentId: c.id,
            stationId: catchmentStation.get(c.id) ?? c.node,
            observed: observed?.catchments.find((o) => o.catchmentId === c.id)?.hourly ?? empty,
            forecast: f ? { timeUtcMs: f.timeUtcMs, mm: f.precipitationMm } : empty,
          };
        }),
        { thresholds: config.thresholds, nowUtcMs, lookAheadH: config.lookAheadH, observedRecentH: config.observedRecentH, wetHourMm: config.wetHourMm },
      );

      const readings = readingsResult.status === 'fulfilled' ? readingsResult.value : [];
      const value = (objectId: string, tag: string) => {
        const r = readings.find((x) => x.objectId === objectId && x.tag === tag);
        return r?.good && typeof r.value === 'number' ? r.value : null;
      };
      const assessment: FloodAssessment = {
        networkId: network.id,
        assessedAtUtcMs: nowUtcMs,
        ...rain,
        stations: network.stations.map((s) => {
          const mode = value(s.id, 'mode');
          return {
            stationId: s.id,
            levelM: value(s.id, 'levelM'),
            inflowM3h: value(s.id, 'inflowM3h'),
            overflowM3h: value(s.id, 'overflowM3h'),
            pumpsAvailable: value(s.id, 'pumpsAvailable'),
            pumpsRunning: value(s.id, 'pumpsRunning'),
            mode: mode === StationMode.remote ? 'remote' : mode === StationMode.local ? 'local' : null,
            startLevelSpM: value(s.id, 'startLevelSpM'),
            stopLevelSpM: value(s.id, 'stopLevelSpM'),
          };
        }),
        plants: network.plants.map((p) => ({ plantId: p.id, inflowM3h: value(p.id, 'inflowM3h'), bypassM3h: value(p.id, 'bypassM3h') })),
        tanks: network.tanks.map((t) => ({ tankId: t.id, volumeM3: value(t.id, 'volumeM3'), inletSpM3h: value(t.id, 'inletSpM3h'), outletSpM3h: value(t.id, 'outletSpM3h') })),
        transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferSpM3h: value(x.id, 'transferSpM3h') })),
        forecastIssuedAtUtcMs: forecast?.issuedAtUtcMs ?? null,
        forecastSource: forecast?.source ?? 'none',
        notes,
      };
      try {
        await influx.write([
          {
            measurement: 'flood_status',
            tags: { network: network.id },
            // Without a forecast the level is unknown (the season keeps the one it had): writing the observed-only
            // level here would show the dashboards a warning lifted mid-event. Only what was observed is written.
            fields: forecast
              ? {
                  warningLevel: warningRank(assessment.warning),
                  responseLevel: assessment.response ?? 'none',
                  observedWarningLevel: warningRank(assessment.bySource.observed),
                  forecastWarningLevel: warningRank(assessment.bySource.forecast),
                  maxObserved3hMm: Math.max(0, ...assessment.catchments.map((c) => c.observed.mm3h)),
                  maxObserved12hMm: Math.max(0, ...assessment.catchments.map((c) => c.observed.mm12h)),
                  maxForecast12hMm: Math.max(0, ...assessment.catchments.map((c) => c.forecast.max12hMm)),
                }
              : {
                  forecastMissing: true,
                  observedWarningLevel: warningRank(assessment.bySource.observed),
                  maxObserved3hMm: Math.max(0, ...assessment.catchments.map((c) => c.observed.mm3h)),
                  maxObserved12hMm: Math.max(0, ...assessment.catchments.map((c) => c.observed.mm12h)),
                },
            timeUtcMs: nowUtcMs,
          },
        ]);
      } catch (error) {
        assessment.notes.push(`flood_status not written: ${(error as Error).message}`);
      }
      return assessment;
    },

    async buildEmergencyPlan(input: { emergencyPlanId: string; revision: number; assessment: FloodAssessment; config: FloodConfig }): Promise<EmergencyPlan> {
      const plan = buildEmergencyPlan({ ...input, network, nowUtcMs: now() });
      // Setpoints and the plan index point (activities/plan-points.ts): plan-vs-actual lists emergency plans too.
      // Each revision has its own id, so its creation time is its slot's time.
      const slot = planSeriesSlot(plan.emergencyPlanId, plan.setpointPlan.createdAtUtcMs);
      const points: SeriesPoint[] = [...planSetpointPoints(plan.setpointPlan, slot), ...planPredictionPoints(plan.setpointPlan, slot)];
      await influx.write(points).catch(() => 0);
      return plan;
    },

    /** The stand-down plan, from the bands and flows SCADA holds now (unknown where SCADA does not answer: the range alone). */
    async buildStandDownPlan(input: { planId: string }): Promise<Plan> {
      const heldTags = tags.filter(
        (t) =>
          (t.objectKind === 'station' && (t.tag === 'startLevelSpM' || t.tag === 'stopLevelSpM')) ||
          (t.objectKind === 'interconnection' && t.tag === 'transferSpM3h') ||
          (t.objectKind === 'tank' && (t.tag === 'inletSpM3h' || t.tag === 'outletSpM3h')),
      );
      const readings = await opcua.readTags(heldTags).catch(() => []);
      const held = (stationId: string, tag: string) => {
        const r = readings.find((x) => x.objectId === stationId && x.tag === tag);
        return r?.good && typeof r.value === 'number' ? r.value : null;
      };
      const inForce = network.stations.map((s) => ({ stationId: s.id, startLevelSpM: held(s.id, 'startLevelSpM'), stopLevelSpM: held(s.id, 'stopLevelSpM') }));
      const heldFlows = {
        transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferSpM3h: held(x.id, 'transferSpM3h') })),
        tanks: network.tanks.map((t) => ({ tankId: t.id, inletSpM3h: held(t.id, 'inletSpM3h'), outletSpM3h: held(t.id, 'outletSpM3h') })),
      };
      return standDownPlan(network, input.planId, now(), inForce, heldFlows);
    },

    /**
     * Build the post-event report from the event log, the observed rain, and what InfluxDB holds over the event
     * (station telemetry, the dispatched plans' outcomes and predictions), and store it in InfluxDB. What cannot
     * be read is reported as unknown, never as 0.
     */
    async writeFloodReport(input: { event: FloodEventLog; config: FloodConfig }): Promise<FloodReport> {
      const { event } = input;
      const endedAtUtcMs = event.endedAtUtcMs ?? now();
      const fromUtcMs = event.startedAtUtcMs - 12 * MS_PER_H;
      let summaries: ObservedRainSummary[] | null = null;
      let rainProblem: string | undefined;
      try {
        if (deps.observed) {
          const observed = await deps.observed.fetchObservedRain(network, fromUtcMs, endedAtUtcMs);
          summaries = observed.catchments.map((c) => summariseObservedRain(c.catchmentId, c.hourly, fromUtcMs, endedAtUtcMs, input.config.wetHourMm));
        } else rainProblem = 'no observed-rain source configured';
      } catch (error) {
        rainProblem = (error as Error).message;
      }
      const onsets = (summaries ?? []).flatMap((o) => (o.onsetUtcMs === null ? [] : [o.onsetUtcMs]));
      const onsetUtcMs = event.observedOnsetUtcMs ?? (onsets.length > 0 ? Math.min(...onsets) : null);
      const extras = await reportExtras(influx, event, endedAtUtcMs, onsetUtcMs);
      const report = buildFloodReport({ ...event, endedAtUtcMs }, summaries, now(), { ...extras, ...(rainProblem ? { rainProblem } : {}) });
      await influx.write([
        { measurement: 'flood_report', tags: { network: network.id, event: event.eventId }, fields: { json: reportJson(report), peakWarningLevel: warningRank(report.peakWarning), overflowM3: report.overflows.totalM3 }, timeUtcMs: endedAtUtcMs },
        { measurement: 'flood_status', tags: { network: network.id }, fields: { warningLevel: 0, responseLevel: 'none', standDown: true }, timeUtcMs: endedAtUtcMs },
      ]);
      return report;
    },
  };
}

export type FloodActivities = ReturnType<typeof createFloodActivities>;
