// The optimising planner (planner/mpc.ts planWithOptimiser) as the dispatch activities' Planner. Its inflow
// is the forecast issued with the cycle's rain (forecasting/cycle.ts), found by the issue time the forecast
// activity put into the RainForecast; ensemble members become the optimiser's scenarios. Without an inflow
// forecast it still plans — on the network file's dry-weather flow — and says so in the plan.
import type { NetworkConfig } from '../network/schema.js';
import { planWithOptimiser, plannerStateFromSnapshot, type MpcOptions } from '../planner/mpc.js';
import type { OutflowHistory } from '../planner/formulation.js';
import type { InflowForecast } from '../planner/inflow.js';
import type { LocalisedText } from '../planner/types.js';
import type { InflowCycle } from '../forecasting/cycle.js';
import type { ForecastFlag, ForecastFlags } from '../forecasting/write.js';
import { ruleBasedPlanner, type Planner } from './planner.js';
import { inflowIssueOf } from './rain-forecast.js';

export interface MpcPlannerDependencies {
  /** Where issued inflow forecasts are found (memory of this worker, else InfluxDB). */
  inflow?: Pick<InflowCycle, 'plannerInflow'>;
  /**
   * Optimiser options. The default time limit (40 s) keeps a plan within the planning activity's
   * one-minute start-to-close timeout, with room for building the model.
   */
  options?: Partial<MpcOptions>;
  /**
   * Each station's pumped flow over the recent past, ending at the snapshot's read time (the historian's
   * telemetry, forecasting/history.ts readRecentOutflow): what is in the mains now. Without it the flow now is
   * held over each main's travel time.
   */
  recentOutflow?: (untilUtcMs: number) => Promise<ReadonlyMap<string, OutflowHistory>>;
  /** Each interconnection's transfer over the recent past (readRecentTransfer): what is travelling across now. */
  recentTransfer?: (untilUtcMs: number) => Promise<ReadonlyMap<string, OutflowHistory>>;
}

/**
 * One recent-history read for the planner's state: the histories found (null when there is nothing to read or
 * the read failed) and the note for the plan when objects have no history or the read failed (the planner then
 * holds the flow now over the travel time).
 */
async function readRecent(
  read: ((untilUtcMs: number) => Promise<ReadonlyMap<string, OutflowHistory>>) | undefined,
  untilUtcMs: number,
  ids: string[],
  say: { none: (idsEn: string, idsZh: string) => LocalisedText; failed: (why: string) => LocalisedText },
): Promise<{ recent: ReadonlyMap<string, OutflowHistory> | null; note: LocalisedText | null }> {
  if (!read || ids.length === 0) return { recent: null, note: null };
  try {
    const recent = await read(untilUtcMs);
    const unknown = ids.filter((id) => !recent.has(id));
    return { recent, note: unknown.length > 0 ? say.none(unknown.join(', '), unknown.join('、')) : null };
  } catch (error) {
    return { recent: null, note: say.failed((error as Error).message) };
  }
}

export const DEFAULT_MPC_TIME_LIMIT_S = 40;

const text = (en: string, zh: string): LocalisedText => ({ en, zh });

export function createMpcPlanner(deps: MpcPlannerDependencies = {}): Planner {
  const options: Partial<MpcOptions> = { timeLimitS: DEFAULT_MPC_TIME_LIMIT_S, ...deps.options };
  return {
    name: 'mpc',
    async plan(r) {
      const issuedAtUtcMs = inflowIssueOf(r.forecast);
      let inflow: InflowForecast | null = null;
      let missing: LocalisedText | null = null;
      let flagNotes: LocalisedText[] = [];
      const rainSource = r.forecast?.source ?? 'none';
      if (issuedAtUtcMs === null) {
        missing = r.forecast
          ? text(`The rain forecast (${rainSource}) came without an inflow forecast`, `降雨预报（${rainSource}）未附来水预测`)
          : text('No rain forecast for this plan', '本方案无降雨预报');
      } else if (!deps.inflow) {
        missing = text('The planner has no access to issued inflow forecasts', '调度器无法读取已发布的来水预测');
      } else {
        try {
          const found = await deps.inflow.plannerInflow(issuedAtUtcMs);
          if (found) {
            inflow = found.inflow;
            flagNotes = forecastFlagNotes(found.flags);
          }
          else missing = text(`Inflow forecast issued at ${new Date(issuedAtUtcMs).toISOString()} not found`, `未找到${new Date(issuedAtUtcMs).toISOString()}发布的来水预测`);
        } catch (error) {
          missing = text(`Inflow forecast could not be read (${(error as Error).message})`, `来水预测读取失败（${(error as Error).message}）`);
        }
      }
      const state = plannerStateFromSnapshot(r.snapshot, r.network);
      const notes: LocalisedText[] = [];
      // What is in the mains and crossing the links now, both from the historian, read side by side.
      const [outflow, transfer] = await Promise.all([
        readRecent(deps.recentOutflow, state.readAtUtcMs, r.network.stations.map((s) => s.id), {
          none: (en, zh) => text(`No recent pumping on record for ${en}: their flow now is taken as what is in their mains.`, `${zh}无近期泵送记录：按当前流量估计管道在途水量。`),
          failed: (why) => text(`Recent pumping could not be read (${why}): the flow now is taken as what is in the mains.`, `近期泵送流量读取失败（${why}）：按当前流量估计管道在途水量。`),
        }),
        readRecent(deps.recentTransfer, state.readAtUtcMs, r.network.interconnections.map((x) => x.id), {
          none: (en, zh) => text(`No recent transfer on record for ${en}: the transfer now is taken as what is travelling across.`, `${zh}无近期调水记录：按当前调水流量估计在途水量。`),
          failed: (why) => text(`Recent transfers could not be read (${why}): the transfer now is taken as what is travelling across.`, `近期调水流量读取失败（${why}）：按当前调水流量估计在途水量。`),
        }),
      ]);
      // What the inflow forecast says of itself (gaps filled, stale rain, configured DWF, …) is part of the basis.
      notes.push(...flagNotes);
      for (const { note } of [outflow, transfer]) if (note) notes.push(note);
      const pumped = outflow.recent;
      const crossing = transfer.recent;
      if (pumped) state.stations = state.stations.map((st) => (pumped.has(st.stationId) ? { ...st, recentOutflowM3h: pumped.get(st.stationId)! } : st));
      if (crossing) state.transfers = (state.transfers ?? []).map((x) => (crossing.has(x.interconnectionId) ? { ...x, recentTransferM3h: crossing.get(x.interconnectionId)! } : x));
      const planned = await planWithOptimiser({
        planId: r.planId,
        network: r.network,
        state,
        // No series: the optimiser takes every node's dry-weather flow from the network file and says so.
        inflow: inflow ?? emptyInflow(r.network, r.nowUtcMs, rainSource),
        nowUtcMs: r.nowUtcMs,
        ...(r.previousPlan ? { previousPlan: r.previousPlan } : {}),
        ...(r.constraints ? { constraints: r.constraints } : {}),
        rainForecast: r.forecast,
        options,
      });
      if (missing) notes.unshift(text(`${missing.en}: rain-induced inflow is not in this plan.`, `${missing.zh}：本方案未计入降雨引起的来水。`));
      return notes.length === 0 ? planned : { ...planned, assumptions: [...notes, ...(planned.assumptions ?? [])] };
    },
  };
}

/**
 * The inflow forecast's flags as plan assumptions: one for the forecast's own flags, one per station with
 * flags. The flags are the forecast's English text (kept as written, so nothing is lost in translation); the
 * Chinese sentence frames them (a flag that comes localised is used in each language).
 */
export function forecastFlagNotes(flags: ForecastFlags | undefined): LocalisedText[] {
  if (!flags) return [];
  const join = (list: readonly ForecastFlag[], lang: 'zh' | 'en') => list.map((f) => (typeof f === 'string' ? f : f[lang])).join(lang === 'zh' ? '；' : '; ');
  const notes: LocalisedText[] = [];
  if (flags.forecast.length > 0) notes.push(text(`Inflow forecast: ${join(flags.forecast, 'en')}`, `来水预测说明：${join(flags.forecast, 'zh')}`));
  for (const [stationId, list] of Object.entries(flags.stations)) {
    if (list.length > 0) notes.push(text(`Inflow forecast at ${stationId}: ${join(list, 'en')}`, `${stationId}来水预测说明：${join(list, 'zh')}`));
  }
  return notes;
}

function emptyInflow(network: NetworkConfig, nowUtcMs: number, rainSource: string): InflowForecast {
  const stepMs = network.planning.stepMin * 60_000;
  return { startUtcMs: Math.floor(nowUtcMs / stepMs) * stepMs, stepMin: network.planning.stepMin, series: [], source: `dry-weather flow only;rain=${rainSource}`, issuedAtUtcMs: null };
}

export type PlannerName = 'mpc' | 'rule-based';

/** The planner a setting names (settings/env.ts PLANNER). */
export function plannerByName(name: PlannerName, deps: MpcPlannerDependencies = {}): Planner {
  return name === 'mpc' ? createMpcPlanner(deps) : ruleBasedPlanner;
}
