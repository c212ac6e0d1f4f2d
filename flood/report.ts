// The post-event report (汛后复盘): rain, levels, overflows, actions with their times, and the plan
// against what actually happened. Pure: built from the flood-season workflow's event log and the
// observed rain over the event.
import { rollingMaxMm } from './warning.js';
import { responseLevelNames, warningNames, type FloodEventLog, type FloodReport, type HourlyRain, type ObservedRainSummary } from './types.js';

const MS_PER_H = 3_600_000;
const round1 = (x: number) => Math.round(x * 10) / 10;

/** Totals, rolling maxima and onset/end of observed hourly rain over [fromUtcMs, toUtcMs]. */
export function summariseObservedRain(catchmentId: string, series: HourlyRain, fromUtcMs: number, toUtcMs: number, wetHourMm = 0.5): ObservedRainSummary {
  let totalMm = 0;
  let gaps = 0;
  let onsetUtcMs: number | null = null;
  let endUtcMs: number | null = null;
  series.timeUtcMs.forEach((t, i) => {
    if (t <= fromUtcMs || t > toUtcMs) return;
    const mm = series.mm[i];
    if (mm === null || mm === undefined) {
      gaps++;
      return;
    }
    totalMm += mm;
    if (mm >= wetHourMm) {
      onsetUtcMs ??= t - MS_PER_H;
      endUtcMs = t;
    }
  });
  return {
    catchmentId,
    totalMm: round1(totalMm),
    max3hMm: round1(rollingMaxMm(series, 3, fromUtcMs, toUtcMs).mm),
    max6hMm: round1(rollingMaxMm(series, 6, fromUtcMs, toUtcMs).mm),
    max12hMm: round1(rollingMaxMm(series, 12, fromUtcMs, toUtcMs).mm),
    onsetUtcMs,
    endUtcMs,
    gaps,
  };
}

export function buildFloodReport(event: FloodEventLog, observed: readonly ObservedRainSummary[], generatedAtUtcMs: number): FloodReport {
  const endedAtUtcMs = event.endedAtUtcMs ?? generatedAtUtcMs;
  const onsets = observed.flatMap((o) => (o.onsetUtcMs === null ? [] : [o.onsetUtcMs]));
  const observedOnset = event.observedOnsetUtcMs ?? (onsets.length > 0 ? Math.min(...onsets) : null);
  const forecastOnset = event.firstForecast?.onsetUtcMs ?? null;
  const firstPlan = event.plans[0];
  const overflowStations = event.stations.map((s) => ({ stationId: s.stationId, overflowM3: Math.round(s.overflowM3) }));
  const totalOverflow = overflowStations.reduce((a, s) => a + s.overflowM3, 0);
  const targetOf = (stationId: string) => {
    for (const p of event.plans) if (p.targetLevels[stationId] !== undefined) return p.targetLevels[stationId];
    return null;
  };
  const peak = event.peakResponse ? responseLevelNames[event.peakResponse] : { zh: '无', en: 'none' };
  const maxTotal = Math.max(0, ...observed.map((o) => o.totalMm));
  const approvals = event.plans.filter((p) => p.decidedBy !== null);
  return {
    reportId: `${event.eventId}-report`,
    eventId: event.eventId,
    networkId: event.networkId,
    startedAtUtcMs: event.startedAtUtcMs,
    endedAtUtcMs,
    durationH: round1((endedAtUtcMs - event.startedAtUtcMs) / MS_PER_H),
    peakWarning: event.peakWarning,
    peakResponse: event.peakResponse,
    rain: {
      catchments: [...observed],
      networkMaxTotalMm: round1(maxTotal),
      networkMax3hMm: round1(Math.max(0, ...observed.map((o) => o.max3hMm))),
      networkMax12hMm: round1(Math.max(0, ...observed.map((o) => o.max12hMm))),
    },
    levels: { timeline: event.levels, stations: event.stations },
    overflows: { totalM3: totalOverflow, stations: overflowStations.filter((s) => s.overflowM3 > 0) },
    actions: [...event.actions].sort((a, b) => a.atUtcMs - b.atUtcMs),
    planAgainstActual: {
      onset: { forecastUtcMs: forecastOnset, observedUtcMs: observedOnset, errorMin: forecastOnset !== null && observedOnset !== null ? Math.round((observedOnset - forecastOnset) / 60_000) : null },
      rain: (event.firstForecast?.catchments ?? []).map((f) => {
        const o = observed.find((x) => x.catchmentId === f.catchmentId);
        return {
          catchmentId: f.catchmentId,
          forecastMax3hMm: f.max3hMm,
          observedMax3hMm: o?.max3hMm ?? 0,
          forecastMax12hMm: f.max12hMm,
          observedMax12hMm: o?.max12hMm ?? 0,
          forecastTotalMm: f.totalMm,
          observedTotalMm: o?.totalMm ?? 0,
        };
      }),
      drawdown: event.stations.map((s) => {
        const target = targetOf(s.stationId);
        return {
          stationId: s.stationId,
          targetStartLevelM: target,
          minLevelBeforeOnsetM: s.minLevelBeforeOnsetM,
          // The start level is where pumps start: drawdown worked if the level got down to it before the rain.
          reachedTarget: target === null || s.minLevelBeforeOnsetM === null ? null : s.minLevelBeforeOnsetM <= target + 0.05,
        };
      }),
      overflow: { plannedM3: 0, actualM3: totalOverflow },
      plans: event.plans,
    },
    summary: {
      zh: `${warningNames[event.peakWarning].zh}，最高${peak.zh}响应，历时${round1((endedAtUtcMs - event.startedAtUtcMs) / MS_PER_H)}小时；最大累计降雨${round1(maxTotal)}毫米；溢流约${totalOverflow}立方米；应急预案${event.plans.length}版，批准${approvals.length}版${firstPlan ? `（首版${firstPlan.decidedBy ?? '未批准'}）` : ''}。`,
      en: `${warningNames[event.peakWarning].en}, peak ${peak.en} response over ${round1((endedAtUtcMs - event.startedAtUtcMs) / MS_PER_H)} h; largest rain total ${round1(maxTotal)} mm; overflow about ${totalOverflow} m³; ${event.plans.length} emergency plan revision(s), ${approvals.length} approved${firstPlan ? ` (first by ${firstPlan.decidedBy ?? 'nobody'})` : ''}.`,
    },
    generatedAtUtcMs,
  };
}
