// A plan as time series beside its setpoints: what the optimiser expects (Plan.predicted) as the measurement
// `plan_prediction`, and one index point per plan so the plan-vs-actual dashboard can list plans by time.
// Pure: the activities write what this returns.
//
// Layout — series stay bounded (planSeriesSlot below): tags are the plan's slot, object id and object kind;
// the plan id is a FIELD (planId) on every point, so readers select a plan with `"planId" = '…'` and a time range:
//   kind station          levelM (at the step's end); inflowM3h, pumpedM3h, standbyM3h, overflowM3h (step means, at the step's start);
//                         overflowProbability, expectedOverflowM3, worstOverflowM3 (over all scenarios, at the first step's start)
//   kind plant            inflowM3h, bypassM3h (step means)
//   kind tank             volumeM3 (at the step's end); inletM3h, outletM3h, overflowM3h (step means); the risk fields as for stations
//   kind interconnection  transferM3h (step mean, positive from a to b)
//   kind network          energyKwh, costCny (per step, at the step's start); id = the network id
//   kind plan             planner, operatingMode, steps and, with a prediction, the horizon totals
//                         (energyKwh, costCny, overflowM3, bypassM3) and scenarioCount; at the plan's creation time, id = the network id
// A re-planned revision keeps its plan id and slot and overwrites the same points (same series, same times).
import type { SeriesPoint } from '../connectors/influx.js';
import type { Plan } from '../planner/types.js';

export const PLAN_PREDICTION = 'plan_prediction';

/**
 * Days a plan slot takes to come round again. A plan's points lie within its horizon (at most 168 h, the network
 * schema's limit) from about its slot time, so two plans that share a slot a cycle apart never share a time.
 */
export const PLAN_SLOT_CYCLE_DAYS = 8;

/**
 * The bounded tag that keeps plans apart in plan_setpoint and plan_prediction. Tagging the plan id itself made
 * every plan new series for good (96 cycle plans a day × ~40 series: past InfluxDB 1.8's default limit of a
 * million series per database within a year, and that limit stops telemetry writes too). The slot is the
 * plan's origin (flood emergency plans apart from cycle plans: both may start in the same minute on the same
 * step grid) and its minute within an 8-day cycle: at most 2 × 11,520 values, in practice one per plan of
 * the last 8 days. `slotTimeUtcMs` must not change between revisions of one plan id (cycle plans: the
 * snapshot's read time, which a modification re-plans from; emergency plans: each revision has its own id).
 */
export function planSeriesSlot(planId: string, slotTimeUtcMs: number): string {
  if (!Number.isFinite(slotTimeUtcMs)) throw new PlanPredictionError(`plan ${planId}: slot time ${slotTimeUtcMs} is not a time`);
  const origin = planId.startsWith('plan-flood-') ? 'flood' : 'cycle';
  const minute = Math.floor(slotTimeUtcMs / 60_000) % (PLAN_SLOT_CYCLE_DAYS * 24 * 60);
  return `${origin}-${minute}`;
}

/**
 * The bounded tag for a plan's events (plan_event, setpoint_write), which are written at their own millisecond:
 * two plans' records could only meet in one series and time by landing in the same millisecond, and then
 * only when the plan ids also share one of these 16 buckets.
 */
export function planEventBucket(planId: string): string {
  let hash = 0x811c9dc5; // FNV-1a, 32 bit: stable across processes and versions, unlike a runtime hash
  for (let i = 0; i < planId.length; i++) hash = Math.imul(hash ^ planId.charCodeAt(i), 0x01000193) >>> 0;
  return `b${hash % 16}`;
}

export type PredictionKind = 'station' | 'plant' | 'tank' | 'interconnection' | 'network' | 'plan';

/** A prediction the writer cannot store as it is (wrong length, non-finite value): names the plan, object and field. */
export class PlanPredictionError extends Error {
  override name = 'PlanPredictionError';
}

type Fields = Record<string, number | string>;

/** Points of one plan: the index point always, the predicted trajectories when the plan has them (mpc). */
export function planPredictionPoints(plan: Plan, slot: string): SeriesPoint[] {
  const byKey = new Map<string, SeriesPoint>();
  const put = (kind: PredictionKind, id: string, timeUtcMs: number, fields: Fields) => {
    const key = `${kind}\u0000${id}\u0000${timeUtcMs}`;
    const point = byKey.get(key);
    // One point per series and time: a step's end level and the next step's flows share a timestamp.
    if (point) Object.assign(point.fields, fields);
    else byKey.set(key, { measurement: PLAN_PREDICTION, tags: { slot, id, kind }, fields: { planId: plan.planId, ...fields }, timeUtcMs });
  };

  const p = plan.predicted;
  put('plan', plan.networkId, plan.createdAtUtcMs, {
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

/** plan_setpoint: each step's station setpoints at the step's start (tags slot and station id, field planId). */
export function planSetpointPoints(plan: Plan, slot: string): SeriesPoint[] {
  return plan.steps.flatMap((step) =>
    step.stations.map((s) => ({
      measurement: 'plan_setpoint',
      tags: { slot, id: s.stationId },
      fields: { planId: plan.planId, startLevelM: s.startLevelM, stopLevelM: s.stopLevelM, pumpsAllowed: s.pumpsAllowed, flowM3h: s.flowM3h },
      timeUtcMs: step.startUtcMs,
    })),
  );
}

function finite(plan: Plan, where: string, field: string, value: number): number {
  // Line protocol cannot carry NaN or ±Infinity, and a dashboard would draw a gap without saying why.
  if (!Number.isFinite(value)) throw new PlanPredictionError(`plan ${plan.planId}: predicted ${where} ${field} is ${value}, not a finite number`);
  return value;
}
