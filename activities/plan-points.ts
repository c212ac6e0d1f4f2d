// A plan as time series beside its setpoints: what the optimiser expects (Plan.predicted) as the measurement
// `plan_prediction`, and one index point per plan so the plan-vs-actual dashboard can list plans by time.
// Pure: the activities write what this returns.
//
// Layout (tags are bounded: plan id, object id, object kind — as plan_setpoint's plan and id):
//   kind station          levelM (at the step's end); inflowM3h, pumpedM3h, standbyM3h, overflowM3h (step means, at the step's start);
//                         overflowProbability, expectedOverflowM3, worstOverflowM3 (over all scenarios, at the first step's start)
//   kind plant            inflowM3h, bypassM3h (step means)
//   kind tank             volumeM3 (at the step's end); inletM3h, outletM3h, overflowM3h (step means); the risk fields as for stations
//   kind interconnection  transferM3h (step mean, positive from a to b)
//   kind network          energyKwh, costCny (per step, at the step's start); id = the network id
//   kind plan             planId, planner, operatingMode, steps and, with a prediction, the horizon totals
//                         (energyKwh, costCny, overflowM3, bypassM3) and scenarioCount; at the plan's creation time, id = the network id
// A re-planned revision keeps its plan id and overwrites the same points (same series, same times).
import type { SeriesPoint } from '../connectors/influx.js';
import type { Plan } from '../planner/types.js';

export const PLAN_PREDICTION = 'plan_prediction';

export type PredictionKind = 'station' | 'plant' | 'tank' | 'interconnection' | 'network' | 'plan';

/** A prediction the writer cannot store as it is (wrong length, non-finite value): names the plan, object and field. */
export class PlanPredictionError extends Error {
  override name = 'PlanPredictionError';
}

type Fields = Record<string, number | string>;

/** Points of one plan: the index point always, the predicted trajectories when the plan has them (mpc). */
export function planPredictionPoints(plan: Plan): SeriesPoint[] {
  const byKey = new Map<string, SeriesPoint>();
  const put = (kind: PredictionKind, id: string, timeUtcMs: number, fields: Fields) => {
    const key = `${kind}\u0000${id}\u0000${timeUtcMs}`;
    const point = byKey.get(key);
    // One point per series and time: a step's end level and the next step's flows share a timestamp.
    if (point) Object.assign(point.fields, fields);
    else byKey.set(key, { measurement: PLAN_PREDICTION, tags: { plan: plan.planId, id, kind }, fields: { ...fields }, timeUtcMs });
  };

  const p = plan.predicted;
  put('plan', plan.networkId, plan.createdAtUtcMs, {
    planId: plan.planId,
    planner: plan.planner,
    operatingMode: plan.operatingMode,
    steps: plan.steps.length,
    ...(p ? { energyKwh: finite(plan, 'totals', 'energyKwh', p.energyKwh), costCny: finite(plan, 'totals', 'costCny', p.costCny), overflowM3: finite(plan, 'totals', 'overflowM3', p.overflowM3), bypassM3: finite(plan, 'totals', 'bypassM3', p.bypassM3), scenarioCount: p.scenarioCount } : {}),
  });
  if (!p) return [...byKey.values()];

  const starts = plan.steps.map((s) => s.startUtcMs);
  const ends = plan.steps.map((s) => s.startUtcMs + (s.durationMin ?? plan.stepMin) * 60_000);
  /** One value per step, checked: the arrays are on the plan's step grid. */
  const series = (kind: PredictionKind, id: string, field: string, values: readonly number[], at: 'start' | 'end') => {
    if (values.length !== starts.length) {
      throw new PlanPredictionError(`plan ${plan.planId}: predicted ${kind} ${id} ${field} has ${values.length} values for ${starts.length} steps`);
    }
    values.forEach((v, k) => put(kind, id, (at === 'start' ? starts : ends)[k]!, { [field]: finite(plan, `${kind} ${id}`, `${field}[${k}]`, v) }));
  };

  for (const s of p.stations) {
    series('station', s.stationId, 'levelM', s.levelM, 'end');
    series('station', s.stationId, 'inflowM3h', s.inflowM3h, 'start');
    series('station', s.stationId, 'pumpedM3h', s.pumpedM3h, 'start');
    series('station', s.stationId, 'standbyM3h', s.standbyM3h, 'start');
    series('station', s.stationId, 'overflowM3h', s.overflowM3h, 'start');
  }
  for (const pl of p.plants) {
    series('plant', pl.plantId, 'inflowM3h', pl.inflowM3h, 'start');
    series('plant', pl.plantId, 'bypassM3h', pl.bypassM3h, 'start');
  }
  for (const t of p.tanks) {
    series('tank', t.tankId, 'volumeM3', t.volumeM3, 'end');
    series('tank', t.tankId, 'inletM3h', t.inletM3h, 'start');
    series('tank', t.tankId, 'outletM3h', t.outletM3h, 'start');
    series('tank', t.tankId, 'overflowM3h', t.overflowM3h, 'start');
  }
  for (const x of p.transfers) series('interconnection', x.interconnectionId, 'transferM3h', x.transferM3h, 'start');
  series('network', plan.networkId, 'energyKwh', p.energyKwhByStep, 'start');
  series('network', plan.networkId, 'costCny', p.costCnyByStep, 'start');

  const stationIds = new Set(p.stations.map((s) => s.stationId));
  const tankIds = new Set(p.tanks.map((t) => t.tankId));
  const firstStart = starts[0];
  for (const r of p.risk) {
    const kind = stationIds.has(r.objectId) ? 'station' : tankIds.has(r.objectId) ? 'tank' : null;
    if (!kind) throw new PlanPredictionError(`plan ${plan.planId}: overflow risk for ${r.objectId}, which is neither a predicted station nor a tank`);
    if (firstStart === undefined) continue;
    put(kind, r.objectId, firstStart, {
      overflowProbability: finite(plan, `risk ${r.objectId}`, 'probability', r.probability),
      expectedOverflowM3: finite(plan, `risk ${r.objectId}`, 'expectedVolumeM3', r.expectedVolumeM3),
      worstOverflowM3: finite(plan, `risk ${r.objectId}`, 'worstVolumeM3', r.worstVolumeM3),
    });
  }
  return [...byKey.values()];
}

function finite(plan: Plan, where: string, field: string, value: number): number {
  // Line protocol cannot carry NaN or ±Infinity, and a dashboard would draw a gap without saying why.
  if (!Number.isFinite(value)) throw new PlanPredictionError(`plan ${plan.planId}: predicted ${where} ${field} is ${value}, not a finite number`);
  return value;
}
