// How few pump starts the fixed-speed stations can make at all: a floor for the dry-week start target.
//
// A fixed-speed pump is off or at full flow, so between starts the well must hold what the pumps cannot
// follow. With the whole well from the pump-stop level to the high alarm, no regard to cost, and the true
// inflow known in advance, the fewest starts per station come from a whole-pump schedule that minimises
// starts alone (planner/pump-schedule.ts with zero prices). Stations fed by other stations get those
// stations' local inflow after the main's travel time (the smoothest arrival an upstream station can give).
// VFD stations are left out (they can run continuously), so this is a floor for the fixed-speed part only.
// Pumps switch only at step boundaries: on the simulation's 1-min step that is what a PLC's level control
// can do; on the plan's 15-min step, what pump-count setpoints per plan step can do (more starts: a run
// cannot stop exactly when the well reaches its floor, nor start exactly at its ceiling).
// With `normalBand`, the well is kept where the planner keeps it in normal operation (a margin above the
// pump-stop level up to the normal ceiling below the high alarm): the fewest starts within the planner's rules.
import type { NetworkConfig, PumpStation } from '../../network/schema.js';
import { wholePumpBandM, wholePumpSchedule } from '../../planner/pump-schedule.js';
import { volumeAtLevel } from '../../planner/wet-well.js';

export interface StartFloor {
  /** Fewest starts per fixed-speed station over the series. */
  byStation: Record<string, number>;
  total: number;
}

/**
 * @param localInflowM3h true local inflow per station on a regular step of `stepMin` (from a simulation of the same seed)
 * @param stepMin the step of the series, and where pumps may switch
 * @param steps how many steps of the series to cover
 */
export function fixedSpeedStartFloor(
  network: NetworkConfig,
  localInflowM3h: Record<string, number[]>,
  stepMin: number,
  steps: number,
  normalBand?: { alarmMarginFraction: number; floorMarginM: number },
): StartFloor {
  const byStation: Record<string, number> = {};
  let total = 0;
  const stepH = stepMin / 60;
  for (const s of fixedSpeedStations(network)) {
    const inflow = stationInflowM3h(network, localInflowM3h, s, stepMin, steps);
    const result = wholePumpSchedule({
      ...fixedSpeedWell(s, normalBand),
      durationH: inflow.map(() => stepH),
      inflowM3h: inflow,
      priceCnyPerKwh: inflow.map(() => 0),
      specificEnergyKwhM3: s.specificEnergyKwhM3,
      startCostCny: 1,
      terminalCnyPerM3: 0,
      bins: 300,
    });
    byStation[s.id] = result.starts;
    total += result.starts;
  }
  return { byStation, total };
}

/**
 * A fixed-speed station's well and pumps for a whole-pump schedule over a run of the simulation: its duty
 * pumps, none running and the well midway between its stop and start levels at the start (as the simulation
 * begins), kept within the planner's normal band when given, else the whole well from stop to high alarm.
 */
export function fixedSpeedWell(s: PumpStation, normalBand?: { alarmMarginFraction: number; floorMarginM: number }) {
  const { pumpStopM, pumpStartM, highAlarmM } = s.levels;
  const { floorM, ceilingM } = normalBand ? wholePumpBandM(s.levels, normalBand.alarmMarginFraction, normalBand.floorMarginM) : { floorM: pumpStopM, ceilingM: highAlarmM };
  return {
    pumpM3h: s.pumps.reduce((a, p) => a + p.capacityM3h, 0) / s.pumps.length,
    maxPumps: s.pumps.length - s.standbyPumps,
    runningNow: 0,
    initialVolumeM3: volumeAtLevel(s.wetWell, 0.5 * (pumpStopM + pumpStartM)),
    minVolumeM3: volumeAtLevel(s.wetWell, floorM),
    maxVolumeM3: volumeAtLevel(s.wetWell, ceilingM),
  };
}

/** Stations whose pumps are all fixed-speed (VFD stations can run continuously). */
export function fixedSpeedStations(network: NetworkConfig): PumpStation[] {
  return network.stations.filter((s) => !s.pumps.some((p) => p.kind === 'vfd'));
}

/**
 * Inflow to a station's well per step: its catchment's, and what each station pumping into it sends, after
 * the main's travel time — `pumpedM3h` of that station when given (nothing arrives before the first of it),
 * else that station's own local inflow (the smoothest arrival it can give).
 */
export function stationInflowM3h(
  network: NetworkConfig,
  localInflowM3h: Record<string, number[]>,
  station: PumpStation,
  stepMin: number,
  steps: number,
  pumpedM3h?: ReadonlyMap<string, readonly number[]>,
): number[] {
  const own = localInflowM3h[station.id];
  if (!own) throw new RangeError(`no local inflow series for station ${station.id}`);
  const inflow = own.slice(0, steps);
  for (const u of network.stations) {
    const main = network.mains.find((m) => m.id === u.dischargeMainId);
    if (!main || main.to !== station.id) continue;
    const lag = Math.round(main.travelMin / stepMin);
    const pumped = pumpedM3h?.get(u.id);
    const up = pumped ?? localInflowM3h[u.id] ?? [];
    for (let i = 0; i < inflow.length; i++) inflow[i] = inflow[i]! + (pumped ? (i >= lag ? (up[i - lag] ?? 0) : 0) : (up[Math.max(0, i - lag)] ?? 0));
  }
  return inflow;
}
