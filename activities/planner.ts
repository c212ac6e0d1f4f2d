// The planner as a dependency of the activities. The rule-based planner is the default of
// createDispatchActivities; the worker selects one by the PLANNER setting (activities/mpc-planner.ts
// plannerByName): `mpc`, the optimising planner (planner/mpc.ts planWithOptimiser) on the inflow forecast
// the cycle's forecast activity issued (forecasting/cycle.ts; found by the issue time the RainForecast
// names), or `rule-based`.
//
// Constraints are passed to the planner and applied again to its output (activities/constraints.ts), so
// a planner that ignores them still yields a plan that honours the dispatcher's change.
import type { PlanConstraints } from '../contract/index.js';
import type { NetworkConfig } from '../network/schema.js';
import { ruleBasedPlan } from '../planner/rule-based.js';
import type { Plan } from '../planner/types.js';
import type { NetworkSnapshot, RainForecast } from './types.js';

export interface PlannerRequest {
  planId: string;
  network: NetworkConfig;
  snapshot: NetworkSnapshot;
  forecast: RainForecast | null;
  nowUtcMs: number;
  constraints?: PlanConstraints;
  previousPlan?: Plan | null;
}

export interface Planner {
  readonly name: string;
  /** Never rejects for bad luck with the inputs: fall back to a simpler plan and say why in the plan. */
  plan(request: PlannerRequest): Promise<Plan>;
}

export const ruleBasedPlanner: Planner = {
  name: 'rule-based',
  plan: async (r) => ruleBasedPlan({ planId: r.planId, network: r.network, snapshot: r.snapshot, forecast: r.forecast, nowUtcMs: r.nowUtcMs }),
};
