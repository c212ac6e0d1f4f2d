// A dispatcher's modification of a plan, applied to whatever the planner produced: a station's level
// band, a station locked to local control, a cap on an interconnection transfer. Every change is clamped
// to the safety envelope and explained in the plan's reasons (and in `clamped` when the envelope won).
import { mergeConstraints, type PlanConstraints } from '../contract/index.js';

export { mergeConstraints };
import type { NetworkConfig, PumpStation } from '../network/schema.js';
import { clampLevelBand, ownLevelBand } from '../planner/envelope.js';
import type { Plan, StationReason, StationSetpoint } from '../planner/types.js';

export class InvalidConstraint extends Error {
  override readonly name = 'InvalidConstraint';
}

/** Least gap between stop and start level kept when a band squeezes them together. */
const MIN_BAND_GAP_M = 0.2;

/** Check constraints against the network; returns every problem in plain words (empty when valid). */
export function constraintProblems(constraints: PlanConstraints, network: NetworkConfig): string[] {
  const problems: string[] = [];
  const stations = new Set(network.stations.map((s) => s.id));
  const links = new Set(network.interconnections.map((x) => x.id));
  for (const b of constraints.stationBands ?? []) {
    if (!stations.has(b.stationId)) problems.push(`band: unknown station ${b.stationId}`);
    if (b.minLevelM === undefined && b.maxLevelM === undefined) problems.push(`band of ${b.stationId}: give minLevelM and/or maxLevelM`);
    for (const v of [b.minLevelM, b.maxLevelM]) if (v !== undefined && !Number.isFinite(v)) problems.push(`band of ${b.stationId}: ${v} is not a number`);
    if (b.minLevelM !== undefined && b.maxLevelM !== undefined && b.minLevelM > b.maxLevelM) problems.push(`band of ${b.stationId}: min ${b.minLevelM} above max ${b.maxLevelM}`);
  }
  for (const id of constraints.lockedStations ?? []) if (!stations.has(id)) problems.push(`lock: unknown station ${id}`);
  for (const c of constraints.transferCaps ?? []) {
    if (!links.has(c.interconnectionId)) problems.push(`cap: unknown interconnection ${c.interconnectionId}`);
    if (!(Number.isFinite(c.maxAbsM3h) && c.maxAbsM3h >= 0)) problems.push(`cap of ${c.interconnectionId}: ${c.maxAbsM3h} must be a number ≥ 0`);
  }
  return problems;
}

/** The band a station's PLC keeps on its own: what "local control" means when written as remote setpoints. */
export function localBandSetpoint(station: PumpStation): StationSetpoint {
  return {
    stationId: station.id,
    remoteControl: 'levelBand',
    ...ownLevelBand(station),
    flowM3h: 0,
    pumpsAllowed: station.pumps.length - station.standbyPumps,
  };
}

const fmt = (x: number) => (Math.round(x * 100) / 100).toString();

/**
 * Apply `constraints` to every step of `plan`; returns a new plan with reasons for each change. `inForce` (the
 * snapshot's stations) gives the setpoints SCADA holds now: a changed band then moves from them no faster than
 * the envelope's rate, step by step, as the planners' own setpoints do; without it only the ranges apply.
 */
export function applyConstraints(
  plan: Plan,
  constraints: PlanConstraints | undefined,
  network: NetworkConfig,
  inForce: readonly { stationId: string; startLevelSpM: number | null; stopLevelSpM: number | null }[] = [],
): Plan {
  if (!constraints) return plan;
  const problems = constraintProblems(constraints, network);
  if (problems.length > 0) throw new InvalidConstraint(problems.join('; '));
  const stationsById = new Map(network.stations.map((s) => [s.id, s]));
  const locked = new Set(constraints.lockedStations ?? []);
  const bands = new Map((constraints.stationBands ?? []).map((b) => [b.stationId, b]));
  const caps = new Map((constraints.transferCaps ?? []).map((c) => [c.interconnectionId, c]));
  const clamped: Plan['clamped'] = [...plan.clamped];
  const notes = new Map<string, StationReason['reason']>();
  // The band last sent per station (in force before the first step), for the rate of change.
  const previous = new Map(inForce.map((s) => [s.stationId, { startLevelM: s.startLevelSpM, stopLevelM: s.stopLevelSpM }]));
  const clampBand = (station: PumpStation, wanted: { startLevelM: number; stopLevelM: number }, minutesSince: number) => {
    const band = clampLevelBand(wanted, station.envelope, previous.get(station.id) ?? { startLevelM: null, stopLevelM: null }, minutesSince);
    previous.set(station.id, { startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value });
    return band;
  };

  const steps = plan.steps.map((step, k) => ({
    ...step,
    stations: step.stations.map((sp) => {
      const station = stationsById.get(sp.stationId);
      if (!station) return sp;
      // As in the planners: the first write replaces values written one cycle ago, later ones the step before.
      const minutesSince = k === 0 ? network.planning.cycleMin : (step.startUtcMs - plan.steps[k - 1]!.startUtcMs) / 60_000;
      if (locked.has(sp.stationId)) {
        notes.set(sp.stationId, {
          zh: `调度员将本站锁定为本地控制：下发本地液位区间（启泵${station.levels.pumpStartM}米/停泵${station.levels.pumpStopM}米，仅主泵）。`,
          en: `Locked to local control by the dispatcher: its local band is sent (start ${station.levels.pumpStartM} m, stop ${station.levels.pumpStopM} m, duty pumps).`,
        });
        const local = localBandSetpoint(station);
        const { startLevelM: s, stopLevelM: p } = clampBand(station, local, minutesSince);
        if (s.clamped) clamped.push({ objectId: sp.stationId, setpoint: 'startLevelM', wanted: local.startLevelM, sent: s.value, startUtcMs: step.startUtcMs });
        if (p.clamped) clamped.push({ objectId: sp.stationId, setpoint: 'stopLevelM', wanted: local.stopLevelM, sent: p.value, startUtcMs: step.startUtcMs });
        return { ...local, startLevelM: s.value, stopLevelM: p.value };
      }
      const band = bands.get(sp.stationId);
      if (!band) return sp;
      let start = sp.startLevelM;
      let stop = sp.stopLevelM;
      if (band.maxLevelM !== undefined) start = Math.min(start, band.maxLevelM);
      if (band.minLevelM !== undefined) stop = Math.max(stop, band.minLevelM);
      if (start < stop + MIN_BAND_GAP_M) {
        // Squeezed: a full band is taken as given (down to the least gap a PLC may get); a bare maximum
        // lowers the stop level, a bare minimum raises the start level.
        if (band.minLevelM !== undefined && band.maxLevelM !== undefined) {
          stop = band.minLevelM;
          start = band.maxLevelM;
        } else if (band.maxLevelM !== undefined) stop = start - MIN_BAND_GAP_M;
        else start = stop + MIN_BAND_GAP_M;
      }
      const { startLevelM: s, stopLevelM: p } = clampBand(station, { startLevelM: start, stopLevelM: stop }, minutesSince);
      if (s.clamped) clamped.push({ objectId: sp.stationId, setpoint: 'startLevelM', wanted: start, sent: s.value, startUtcMs: step.startUtcMs });
      if (p.clamped) clamped.push({ objectId: sp.stationId, setpoint: 'stopLevelM', wanted: stop, sent: p.value, startUtcMs: step.startUtcMs });
      if (k === 0) {
        notes.set(sp.stationId, {
          zh: `调度员限定液位区间${band.minLevelM ?? '—'}–${band.maxLevelM ?? '—'}米：启泵${fmt(sp.startLevelM)}→${fmt(s.value)}米，停泵${fmt(sp.stopLevelM)}→${fmt(p.value)}米${s.clamped || p.clamped ? '（受安全包络的范围或变化速率限制）' : ''}。`,
          en: `Dispatcher band ${band.minLevelM ?? '—'}–${band.maxLevelM ?? '—'} m: start ${fmt(sp.startLevelM)}→${fmt(s.value)} m, stop ${fmt(sp.stopLevelM)}→${fmt(p.value)} m${s.clamped || p.clamped ? ' (limited by the safety envelope: its range or rate of change)' : ''}.`,
        });
      }
      return { ...sp, startLevelM: s.value, stopLevelM: p.value };
    }),
    transfers: step.transfers.map((t) => {
      const cap = caps.get(t.interconnectionId);
      if (!cap || Math.abs(t.transferM3h) <= cap.maxAbsM3h) {
        if (cap && k === 0) notes.set(t.interconnectionId, { zh: `调度员限定互联输送不超过${cap.maxAbsM3h}立方米/时（计划值在限内）。`, en: `Dispatcher caps the transfer at ${cap.maxAbsM3h} m³/h (the plan is within it).` });
        return t;
      }
      const sent = Math.sign(t.transferM3h) * cap.maxAbsM3h;
      clamped.push({ objectId: t.interconnectionId, setpoint: 'transferM3h', wanted: t.transferM3h, sent, startUtcMs: step.startUtcMs });
      notes.set(t.interconnectionId, { zh: `调度员限定互联输送不超过${cap.maxAbsM3h}立方米/时（原计划${fmt(t.transferM3h)}）。`, en: `Dispatcher caps the transfer at ${cap.maxAbsM3h} m³/h (planned ${fmt(t.transferM3h)}).` });
      return { ...t, transferM3h: sent };
    }),
  }));

  const reasons: StationReason[] = plan.reasons.map((r) => {
    const note = notes.get(r.objectId);
    return note ? { objectId: r.objectId, reason: { zh: `${note.zh}${r.reason.zh ? ` 原因：${r.reason.zh}` : ''}`, en: `${note.en}${r.reason.en ? ` Planner: ${r.reason.en}` : ''}` } } : r;
  });
  for (const [objectId, reason] of notes) if (!plan.reasons.some((r) => r.objectId === objectId)) reasons.push({ objectId, reason });
  return { ...plan, steps, reasons, clamped };
}
