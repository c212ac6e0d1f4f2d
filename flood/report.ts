// The post-event report (汛后复盘): rain, levels, overflows, actions with their times, dispatch outcomes, and
// the plan against what actually happened. Pure: built from the flood-season workflow's event log, the
// observed rain over the event and, when the report activity could read them, the station telemetry and the
// dispatched plans' outcomes from InfluxDB. What is unknown stays null, never 0.
import type { LocalisedText } from '../planner/types.js';
import { rollingMaxMm } from './warning.js';
import {
  responseLevelNames,
  warningNames,
  type DispatchOutcomeSummary,
  type FigureSource,
  type FloodEventLog,
  type FloodReport,
  type HourlyRain,
  type ObservedRainSummary,
  type StationEventStats,
  type StationTelemetrySummary,
} from './types.js';

const MS_PER_H = 3_600_000;
const round1 = (x: number) => Math.round(x * 10) / 10;

/**
 * Totals, rolling maxima and onset/end of observed hourly rain over (fromUtcMs, toUtcMs]. Hours of the period
 * that are missing or null are gaps; with no known hour at all the totals are null (unknown, never 0).
 */
export function summariseObservedRain(catchmentId: string, series: HourlyRain, fromUtcMs: number, toUtcMs: number, wetHourMm = 0.5): ObservedRainSummary {
  let totalMm = 0;
  let known = 0;
  let onsetUtcMs: number | null = null;
  let endUtcMs: number | null = null;
  series.timeUtcMs.forEach((t, i) => {
    if (t <= fromUtcMs || t > toUtcMs) return;
    const mm = series.mm[i];
    if (mm === null || mm === undefined) return;
    known++;
    totalMm += mm;
    if (mm >= wetHourMm) {
      onsetUtcMs ??= t - MS_PER_H;
      endUtcMs = t;
    }
  });
  // Hour ends expected in the period: an archive that lags returns fewer hours, and those are gaps too.
  const expected = Math.max(0, Math.floor(toUtcMs / MS_PER_H) - Math.floor(fromUtcMs / MS_PER_H));
  const max = (h: number) => (known === 0 ? null : round1(rollingMaxMm(series, h, fromUtcMs, toUtcMs).mm));
  return {
    catchmentId,
    totalMm: known === 0 ? null : round1(totalMm),
    max3hMm: max(3),
    max6hMm: max(6),
    max12hMm: max(12),
    onsetUtcMs,
    endUtcMs,
    gaps: Math.max(0, expected - known),
    knownHours: known,
  };
}

/** What the report activity read besides the event log. Absent or null: unknown (the report says so). */
export interface ReportExtras {
  /** Station figures from InfluxDB telemetry over the event; null: the season's 30-min checks are used, flagged. */
  telemetry?: StationTelemetrySummary[] | null;
  /** Why telemetry is missing (a failed query...). */
  telemetryProblem?: string;
  /** Why the observed rain is missing. */
  rainProblem?: string;
  /** The first dispatched plan's predicted overflow, when it had a prediction. */
  plannedOverflow?: { planId: string; overflowM3: number } | null;
  dispatch?: DispatchOutcomeSummary[] | null;
  dispatchProblem?: string;
}

type PlanEntry = FloodEventLog['plans'][number];

/** Plans an approver (or the playbook) approved and the season dispatched. */
export const dispatchedPlans = (event: FloodEventLog): PlanEntry[] => event.plans.filter((p) => p.outcome === 'approved' && p.planWorkflowId !== null && p.decidedAtUtcMs !== null);

/** The dispatched plan that first set a drawdown target for each station. */
export function drawdownTargets(event: FloodEventLog): Map<string, { planId: string; targetStartLevelM: number; approvedAtUtcMs: number }> {
  const out = new Map<string, { planId: string; targetStartLevelM: number; approvedAtUtcMs: number }>();
  for (const p of dispatchedPlans(event)) {
    for (const [stationId, target] of Object.entries(p.targetLevels)) {
      if (!out.has(stationId)) out.set(stationId, { planId: p.emergencyPlanId, targetStartLevelM: target, approvedAtUtcMs: p.decidedAtUtcMs! });
    }
  }
  return out;
}

const maxOrNull = (values: readonly (number | null)[]): number | null => {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : round1(Math.max(...known));
};

export function buildFloodReport(event: FloodEventLog, observed: readonly ObservedRainSummary[] | null, generatedAtUtcMs: number, extras: ReportExtras = {}): FloodReport {
  const notes: LocalisedText[] = [];
  const why = (problem: string | undefined) => (problem ? `: ${problem}` : '');
  const endedAtUtcMs = event.endedAtUtcMs ?? generatedAtUtcMs;
  const rain = observed ?? [];
  const gapHours = rain.reduce((a, o) => a + o.gaps, 0);
  if (observed === null) notes.push({ zh: `实测降雨不可用，降雨数据未知${why(extras.rainProblem)}`, en: `observed rain unavailable, rain figures unknown${why(extras.rainProblem)}` });
  else if (gapHours > 0) notes.push({ zh: `实测降雨缺测${gapHours}个汇水区·小时，累计值为下限`, en: `observed rain has gaps (${gapHours} catchment-hours missing): totals are lower bounds` });
  const onsets = rain.flatMap((o) => (o.onsetUtcMs === null ? [] : [o.onsetUtcMs]));
  const observedOnset = event.observedOnsetUtcMs ?? (onsets.length > 0 ? Math.min(...onsets) : null);
  const forecastOnset = event.firstForecast?.onsetUtcMs ?? null;

  // Station maxima and overflow: telemetry over the event where it has the station, else the checks (flagged).
  const telemetryOf = new Map((extras.telemetry ?? []).map((t) => [t.stationId, t]));
  if (!extras.telemetry) {
    notes.push({
      zh: `泵站遥测不可用，溢流量和最高液位按巡检采样（流量×间隔）估算，短时溢流可能漏计或多计${why(extras.telemetryProblem)}`,
      en: `station telemetry unavailable: overflow and maximum levels are estimated from the season's checks (sampled flow × interval), which miss or over-count short overflows${why(extras.telemetryProblem)}`,
    });
  }
  let fromTelemetry = 0;
  const stations: StationEventStats[] = event.stations.map((s) => {
    const t = telemetryOf.get(s.stationId);
    if (!t || (t.maxLevelM === null && t.overflowM3 === null)) return s;
    fromTelemetry++;
    return {
      ...s,
      maxLevelM: t.maxLevelM ?? s.maxLevelM,
      maxLevelAtUtcMs: t.maxLevelM !== null ? t.maxLevelAtUtcMs : s.maxLevelAtUtcMs,
      overflowM3: t.overflowM3 ?? s.overflowM3,
    };
  });
  const source: FigureSource = fromTelemetry === 0 ? 'snapshots' : fromTelemetry === event.stations.length ? 'telemetry' : 'mixed';
  if (extras.telemetry && source !== 'telemetry') notes.push({ zh: `${event.stations.length - fromTelemetry}座泵站无遥测数据，按巡检采样估算`, en: `telemetry had no data for ${event.stations.length - fromTelemetry} station(s): their figures come from the season's checks` });
  const overflowStations = stations.map((s) => ({ stationId: s.stationId, overflowM3: Math.round(s.overflowM3) }));
  const totalOverflow = overflowStations.reduce((a, s) => a + s.overflowM3, 0);

  // Drawdown: only plans that were dispatched set a target; the minimum level counts from that plan's approval.
  const targets = drawdownTargets(event);
  const drawdown = event.stations.map((s) => {
    const target = targets.get(s.stationId) ?? null;
    // Approved once the rain had begun: no drawdown could happen before it.
    if (target !== null && observedOnset !== null && target.approvedAtUtcMs >= observedOnset) {
      return { stationId: s.stationId, planId: target.planId, targetStartLevelM: target.targetStartLevelM, minLevelBeforeOnsetM: null, minLevelSource: 'approved-after-onset' as const, reachedTarget: false };
    }
    const afterApproval = telemetryOf.get(s.stationId)?.minLevelAfterApprovalM ?? null;
    const minLevel = target === null ? null : (afterApproval ?? s.minLevelBeforeOnsetM);
    const minLevelSource = minLevel === null ? null : afterApproval !== null ? ('after-approval' as const) : ('snapshots-since-event-start' as const);
    return {
      stationId: s.stationId,
      planId: target?.planId ?? null,
      targetStartLevelM: target?.targetStartLevelM ?? null,
      minLevelBeforeOnsetM: minLevel,
      minLevelSource,
      // The start level is where pumps start: drawdown worked if the level got down to it before the rain.
      reachedTarget: target === null || minLevel === null ? null : minLevel <= target.targetStartLevelM + 0.05,
    };
  });
  if (drawdown.some((d) => d.minLevelSource === 'snapshots-since-event-start')) notes.push({ zh: '部分预降最低液位取自事件开始以来的巡检，而非预案批准之后', en: "some drawdown minima come from the season's checks since the event began, not from the plan's approval" });

  const approved = event.plans.filter((p) => p.outcome === 'approved');
  const firstApproved = approved[0];
  const dispatch = extras.dispatch === undefined ? null : extras.dispatch;
  if (dispatch === null) notes.push({ zh: `下发结果不可用${why(extras.dispatchProblem)}`, en: `dispatch outcomes unavailable${why(extras.dispatchProblem)}` });
  const failedSteps = (dispatch ?? []).reduce((a, d) => a + d.failedSteps.length, 0);
  const handBacks = (dispatch ?? []).reduce((a, d) => a + d.handBacks.length, 0);
  const linkFailures = (dispatch ?? []).reduce((a, d) => a + d.linkWriteFailures.length, 0);
  const dispatchFailed = (dispatch ?? []).filter((d) => d.dispatchFailed !== null).length;

  const peak = event.peakResponse ? responseLevelNames[event.peakResponse] : { zh: '无', en: 'none' };
  const maxTotal = observed === null ? null : maxOrNull(rain.map((o) => o.totalMm));
  const durationH = round1((endedAtUtcMs - event.startedAtUtcMs) / MS_PER_H);
  const rainText = maxTotal === null ? { zh: '最大累计降雨未知（无实测降雨）', en: 'largest rain total unknown (no observed rain)' } : { zh: `最大累计降雨${maxTotal}毫米`, en: `largest rain total ${maxTotal} mm` };
  const overflowText = source === 'telemetry' ? { zh: `溢流约${totalOverflow}立方米`, en: `overflow about ${totalOverflow} m³` } : { zh: `溢流约${totalOverflow}立方米（按巡检采样估算）`, en: `overflow about ${totalOverflow} m³ (estimated from the checks' samples)` };
  const approvalText = {
    zh: `应急预案${event.plans.length}版，批准${approved.length}版${firstApproved ? `（首个批准：第${firstApproved.revision}版，${firstApproved.decidedBy}）` : ''}`,
    en: `${event.plans.length} emergency plan revision(s), ${approved.length} approved${firstApproved ? ` (first: revision ${firstApproved.revision} by ${firstApproved.decidedBy})` : ''}`,
  };
  const dispatchText =
    dispatch === null
      ? { zh: '；下发结果未知', en: '; dispatch outcomes unknown' }
      : failedSteps + handBacks + linkFailures + dispatchFailed > 0
        ? { zh: `；下发失败${failedSteps}步，交回本地控制${handBacks}次，联动写入失败${linkFailures}次${dispatchFailed ? `，${dispatchFailed}个预案下发中止` : ''}`, en: `; ${failedSteps} step(s) with failed writes, ${handBacks} hand-back(s) to local control, ${linkFailures} link-write failure(s)${dispatchFailed ? `, ${dispatchFailed} plan(s) stopped dispatching` : ''}` }
        : { zh: '', en: '' };

  return {
    reportId: `${event.eventId}-report`,
    eventId: event.eventId,
    networkId: event.networkId,
    startedAtUtcMs: event.startedAtUtcMs,
    endedAtUtcMs,
    durationH,
    peakWarning: event.peakWarning,
    peakResponse: event.peakResponse,
    rain: {
      catchments: [...rain],
      networkMaxTotalMm: maxTotal,
      networkMax3hMm: observed === null ? null : maxOrNull(rain.map((o) => o.max3hMm)),
      networkMax12hMm: observed === null ? null : maxOrNull(rain.map((o) => o.max12hMm)),
    },
    levels: { timeline: event.levels, stations, source },
    overflows: { totalM3: totalOverflow, stations: overflowStations.filter((s) => s.overflowM3 > 0), source },
    actions: [...event.actions].sort((a, b) => a.atUtcMs - b.atUtcMs),
    planAgainstActual: {
      onset: { forecastUtcMs: forecastOnset, observedUtcMs: observedOnset, errorMin: forecastOnset !== null && observedOnset !== null ? Math.round((observedOnset - forecastOnset) / 60_000) : null },
      rain: (event.firstForecast?.catchments ?? []).map((f) => {
        const o = rain.find((x) => x.catchmentId === f.catchmentId);
        return {
          catchmentId: f.catchmentId,
          forecastMax3hMm: f.max3hMm,
          observedMax3hMm: o?.max3hMm ?? null,
          forecastMax12hMm: f.max12hMm,
          observedMax12hMm: o?.max12hMm ?? null,
          forecastTotalMm: f.totalMm,
          observedTotalMm: o?.totalMm ?? null,
        };
      }),
      drawdown,
      overflow: { plannedM3: extras.plannedOverflow ? Math.round(extras.plannedOverflow.overflowM3) : null, plannedByPlanId: extras.plannedOverflow?.planId ?? null, actualM3: totalOverflow },
      plans: event.plans,
    },
    dispatch,
    notes,
    summary: {
      zh: `${warningNames[event.peakWarning].zh}，最高${peak.zh}响应，历时${durationH}小时；${rainText.zh}；${overflowText.zh}；${approvalText.zh}${dispatchText.zh}。`,
      en: `${warningNames[event.peakWarning].en}, peak ${peak.en} response over ${durationH} h; ${rainText.en}; ${overflowText.en}; ${approvalText.en}${dispatchText.en}.`,
    },
    generatedAtUtcMs,
  };
}
