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
          if (found) inflow = found.inflow;
          else missing = text(`Inflow forecast issued at ${new Date(issuedAtUtcMs).toISOString()} not found`, `未找到${new Date(issuedAtUtcMs).toISOString()}发布的来水预测`);
        } catch (error) {
          missing = text(`Inflow forecast could not be read (${(error as Error).message})`, `来水预测读取失败（${(error as Error).message}）`);
        }
      }
      const state = plannerStateFromSnapshot(r.snapshot, r.network);
      const notes: LocalisedText[] = [];
      if (deps.recentOutflow) {
        try {
          const recent = await deps.recentOutflow(state.readAtUtcMs);
          state.stations = state.stations.map((st) => (recent.has(st.stationId) ? { ...st, recentOutflowM3h: recent.get(st.stationId)! } : st));
          const unknown = r.network.stations.filter((s) => !recent.has(s.id)).map((s) => s.id);
          if (unknown.length > 0) notes.push(text(`No recent pumping on record for ${unknown.join(', ')}: their flow now is taken as what is in their mains.`, `${unknown.join('、')}无近期泵送记录：按当前流量估计管道在途水量。`));
        } catch (error) {
          notes.push(text(`Recent pumping could not be read (${(error as Error).message}): the flow now is taken as what is in the mains.`, `近期泵送流量读取失败（${(error as Error).message}）：按当前流量估计管道在途水量。`));
        }
      }
      if (deps.recentTransfer && r.network.interconnections.length > 0) {
        try {
          const recent = await deps.recentTransfer(state.readAtUtcMs);
          state.transfers = (state.transfers ?? []).map((x) => (recent.has(x.interconnectionId) ? { ...x, recentTransferM3h: recent.get(x.interconnectionId)! } : x));
          const unknown = r.network.interconnections.filter((x) => !recent.has(x.id)).map((x) => x.id);
          if (unknown.length > 0) notes.push(text(`No recent transfer on record for ${unknown.join(', ')}: the transfer now is taken as what is travelling across.`, `${unknown.join('、')}无近期调水记录：按当前调水流量估计在途水量。`));
        } catch (error) {
          notes.push(text(`Recent transfers could not be read (${(error as Error).message}): the transfer now is taken as what is travelling across.`, `近期调水流量读取失败（${(error as Error).message}）：按当前调水流量估计在途水量。`));
        }
      }
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

function emptyInflow(network: NetworkConfig, nowUtcMs: number, rainSource: string): InflowForecast {
  const stepMs = network.planning.stepMin * 60_000;
  return { startUtcMs: Math.floor(nowUtcMs / stepMs) * stepMs, stepMin: network.planning.stepMin, series: [], source: `dry-weather flow only;rain=${rainSource}`, issuedAtUtcMs: null };
}

export type PlannerName = 'mpc' | 'rule-based';

/** The planner a setting names (settings/env.ts PLANNER). */
export function plannerByName(name: PlannerName, deps: MpcPlannerDependencies = {}): Planner {
  return name === 'mpc' ? createMpcPlanner(deps) : ruleBasedPlanner;
}
