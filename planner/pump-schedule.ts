// Whole-pump schedules for fixed-speed stations: how many pumps run in each plan step. Pure, no I/O.
//
// The LP plans a continuous pumped flow, but a fixed-speed pump is either off or at full flow. Sent as a
// level band, the PLC's own staging decides when pumps start, which neither follows the tariff nor keeps
// starts low: with two duty pumps the second cycles over a band the PLC fixes (half of stop…high alarm),
// whatever band the plan sends. Sent as a pump count (a flow setpoint of whole pumps), the plan decides.
//
// The schedule comes from dynamic programming over (step, well volume, pumps running): it keeps the well
// between its planned floor and the normal ceiling, and minimises electricity cost plus a cost per pump
// start (the wear and inrush of a start, from configuration) plus the value of water left in the well at
// the end (what pumping it later will cost). The volume axis is binned; each bin keeps the exact volume of
// its best path, so binning chooses between paths but never changes the water balance of the one kept.

import type { NetworkConfig, PumpStation } from '../network/schema.js';
import { dailyMeanTariffPrice, meanTariffPrice } from './calendar.js';
import { volumeLeftM3, wetExcess, type DispatcherConstraints, type InitialState, type InitialStation, type TimeGrid } from './formulation.js';
import { dryWeatherByNode } from './inflow.js';
import { normalCeilingM, volumeAtLevel } from './wet-well.js';

export interface WholePumpProblem {
  /** Length of each step, h. */
  durationH: number[];
  /** Inflow to the well in each step, m³/h (local inflow and what upstream mains deliver). */
  inflowM3h: number[];
  /** Electricity price in each step, CNY/kWh. */
  priceCnyPerKwh: number[];
  specificEnergyKwhM3: number;
  /** Flow of one running pump, m³/h (the station's mean pump). */
  pumpM3h: number;
  /** Pumps that may run (duty pumps available). */
  maxPumps: number;
  /** Pumps running now: starting more than these counts as starts. */
  runningNow: number;
  initialVolumeM3: number;
  /** The schedule keeps the volume within [min, max] at the end of every step (when it can). */
  minVolumeM3: number;
  maxVolumeM3: number;
  /** Cost of one pump start, CNY. */
  startCostCny: number;
  /** Value of water left in the well at the end, CNY/m³ (what pumping it later costs). */
  terminalCnyPerM3: number;
  /** Volume bins (resolution of the search); default 120. */
  bins?: number;
  /** Pumps in the first step, when decided beforehand. */
  firstStepPumps?: number;
}

export interface WholePumpSchedule {
  /** Pumps running in each step. */
  pumps: number[];
  /** Volume at the end of each step, m³. */
  volumeM3: number[];
  starts: number;
  energyCostCny: number;
  /** Volume outside [min, max] summed over steps (m³·steps); 0 when the schedule keeps the band. */
  bandExcessM3: number;
  /** What the search minimised: energy, starts, band excess, the water left and the later-change tie-break, CNY. */
  objectiveCny: number;
}

/**
 * Between schedules of equal cost, the one that changes the pumps later: a change costs this much more for
 * every step it comes earlier (at most ~0.01 CNY, below any real difference). A plan that pauses a pump now
 * for a cycle's alignment hours ahead, which costs nothing on its forecast, starts it again on the next
 * plan's forecast — a start for nothing; deciding late lets the next plan decide on the fresher forecast.
 */
const LATER_CHANGE_TIE_BREAK_CNY = 1e-4;

/** Cost of one m³ outside the band: far above any energy or start cost, so the band is kept whenever possible. */
const OUTSIDE_BAND_CNY_PER_M3 = 1e4;

export function wholePumpSchedule(p: WholePumpProblem): WholePumpSchedule {
  const K = p.durationH.length;
  if (p.inflowM3h.length !== K || p.priceCnyPerKwh.length !== K) throw new RangeError(`whole-pump schedule: ${K} steps but ${p.inflowM3h.length} inflow values and ${p.priceCnyPerKwh.length} prices`);
  if (!(p.pumpM3h > 0)) throw new RangeError(`whole-pump schedule: pump flow must be positive, got ${p.pumpM3h}`);
  const maxPumps = Math.max(0, Math.floor(p.maxPumps));
  const N = maxPumps + 1;
  const B = Math.max(4, Math.round(p.bins ?? 120));
  // Bins span the band plus a margin each side, so paths that must leave it are still ranked.
  const span = Math.max(1, p.maxVolumeM3 - p.minVolumeM3);
  const lo = Math.min(p.initialVolumeM3, p.minVolumeM3 - 0.25 * span);
  const hi = Math.max(p.initialVolumeM3, p.maxVolumeM3 + 0.25 * span);
  const binOf = (v: number) => Math.min(B - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * B)));
  const S = B * N;
  let cost = new Float64Array(S).fill(Number.POSITIVE_INFINITY);
  let vol = new Float64Array(S);
  // Back-pointers per step: the previous state index (−1 none).
  const from: Int32Array[] = [];
  const running0 = Math.min(maxPumps, Math.max(0, Math.round(p.runningNow)));
  const s0 = binOf(p.initialVolumeM3) * N + running0;
  cost[s0] = 0;
  vol[s0] = p.initialVolumeM3;
  const outside = (v: number) => Math.max(0, p.minVolumeM3 - v) + Math.max(0, v - p.maxVolumeM3);
  for (let k = 0; k < K; k++) {
    const nextCost = new Float64Array(S).fill(Number.POSITIVE_INFINITY);
    const nextVol = new Float64Array(S);
    const back = new Int32Array(S).fill(-1);
    const dt = p.durationH[k]!;
    const q = p.inflowM3h[k]!;
    const energyPerPump = p.pumpM3h * dt * p.specificEnergyKwhM3 * p.priceCnyPerKwh[k]!;
    for (let s = 0; s < S; s++) {
      const c = cost[s]!;
      if (c === Number.POSITIVE_INFINITY) continue;
      const n = s % N;
      const v = vol[s]!;
      for (let m = 0; m < N; m++) {
        if (k === 0 && p.firstStepPumps !== undefined && m !== p.firstStepPumps) continue;
        // Below the floor is not clamped: the pumps would cut out there, so such a path pays as outside the band.
        const v1 = v + (q - m * p.pumpM3h) * dt;
        const c1 = c + m * energyPerPump + Math.max(0, m - n) * p.startCostCny + Math.abs(m - n) * LATER_CHANGE_TIE_BREAK_CNY * (K - k) + OUTSIDE_BAND_CNY_PER_M3 * outside(v1);
        const t = binOf(v1) * N + m;
        if (c1 < nextCost[t]!) {
          nextCost[t] = c1;
          nextVol[t] = v1;
          back[t] = s;
        }
      }
    }
    from.push(back);
    cost = nextCost;
    vol = nextVol;
  }
  let best = -1;
  let bestCost = Number.POSITIVE_INFINITY;
  for (let s = 0; s < S; s++) {
    const c = cost[s]! + p.terminalCnyPerM3 * vol[s]!;
    if (c < bestCost) {
      bestCost = c;
      best = s;
    }
  }
  // Walk back for the pump counts, then replay forward for exact volumes and totals.
  const pumps = new Array<number>(K).fill(0);
  for (let k = K - 1, s = best; k >= 0; k--) {
    pumps[k] = s % N;
    s = from[k]![s]!;
  }
  const volumeM3: number[] = [];
  let v = p.initialVolumeM3;
  let n = running0;
  let starts = 0;
  let energyCostCny = 0;
  let bandExcessM3 = 0;
  for (let k = 0; k < K; k++) {
    const m = pumps[k]!;
    v = v + (p.inflowM3h[k]! - m * p.pumpM3h) * p.durationH[k]!;
    volumeM3.push(v);
    starts += Math.max(0, m - n);
    energyCostCny += m * p.pumpM3h * p.durationH[k]! * p.specificEnergyKwhM3 * p.priceCnyPerKwh[k]!;
    bandExcessM3 += outside(v);
    n = m;
  }
  return { pumps, volumeM3, starts, energyCostCny, bandExcessM3, objectiveCny: bestCost };
}

/**
 * Where a whole-pump schedule keeps the well: from `floorMarginM` above the pump-stop level (where the PLC cuts
 * out) to the normal ceiling, the floor at least 0.2 m below the ceiling.
 */
export function wholePumpBandM(levels: PumpStation['levels'], alarmMarginFraction: number, floorMarginM: number): { floorM: number; ceilingM: number } {
  const ceilingM = normalCeilingM(levels, alarmMarginFraction);
  return { floorM: Math.min(ceilingM - 0.2, levels.pumpStopM + floorMarginM), ceilingM };
}

/** One plan step as the schedule sees it: its grid step and its span. */
export interface ScheduleStep {
  /** Grid step (formulation) the plan step lies in. */
  k: number;
  startUtcMs: number;
  durationMin: number;
}

/**
 * A whole-pump schedule whose first step (what is sent now) is chosen for the mean cost over the inflow and
 * `spread` either side of it, the rest the forecast's optimum after that step: a change that pays only if the
 * forecast is exactly right waits for the next plan. Ties keep the forecast's own first step.
 */
export function hedgedWholePumpSchedule(problem: WholePumpProblem, spread: number): WholePumpSchedule {
  const nominal = wholePumpSchedule(problem);
  if (!(spread > 0) || nominal.pumps.length === 0) return nominal;
  const nominalFirst = nominal.pumps[0]!;
  // Each first step: its schedules on the lower, forecast and higher inflow, and their mean cost. At the
  // forecast, the nominal first step's schedule is the nominal one.
  const evaluate = (firstStepPumps: number) => {
    const [lower, atForecast, higher] = [1 - spread, 1, 1 + spread].map((f) =>
      f === 1 && firstStepPumps === nominalFirst ? nominal : wholePumpSchedule({ ...problem, inflowM3h: problem.inflowM3h.map((q) => q * f), firstStepPumps }),
    ) as [WholePumpSchedule, WholePumpSchedule, WholePumpSchedule];
    return { atForecast, meanCny: (lower.objectiveCny + atForecast.objectiveCny + higher.objectiveCny) / 3 };
  };
  let best = evaluate(nominalFirst);
  for (let m = 0; m <= Math.max(0, Math.floor(problem.maxPumps)); m++) {
    if (m === nominalFirst) continue;
    const candidate = evaluate(m);
    if (candidate.meanCny < best.meanCny - 1e-9) best = candidate;
  }
  return best.atForecast;
}

export interface FixedSpeedInput {
  network: NetworkConfig;
  grid: TimeGrid;
  /** The plan's steps (each grid step split into plan steps). */
  steps: readonly ScheduleStep[];
  /**
   * Local inflow per node per grid step of every scenario: a station is scheduled only when none of them
   * brings rain to it, on the first (the deterministic forecast).
   */
  scenarios: readonly { inflowM3h: ReadonlyMap<string, readonly number[]> }[];
  initial: InitialState;
  constraints: DispatcherConstraints;
  /** Normal ceiling: the level stays this share of the working depth below the high alarm. */
  alarmMarginFraction: number;
  /** The planned floor lies this far above the pump-stop level (where the PLC cuts out), m. */
  floorMarginM: number;
  startCostCny: number;
  /** Share of the energy met downstream counted in the price of pumping (0: own energy only). */
  downstreamEnergyWeight?: number;
  /**
   * The first step is chosen for the mean cost over the forecast inflow and this share either side of it
   * (0: the forecast's optimum).
   */
  inflowSpread?: number;
}

export interface FixedSpeedSchedule {
  stationId: string;
  pumpM3h: number;
  /** Pumps running per plan step. */
  pumps: number[];
  /** Mean pumped flow per grid step, m³/h (what the formulation fixes). */
  flowByGridStepM3h: number[];
  starts: number;
  bandExcessM3: number;
  /** Stations downstream whose energy the schedule's prices count (empty: its own energy only). */
  pricedDownstream: string[];
}

/**
 * Whole-pump schedules for the fixed-speed stations that can have one: all pumps fixed-speed, in remote
 * control, no dispatcher band, no rain ahead in any scenario, and fed only by their catchments and by other
 * stations scheduled here (so their inflow is known before the LP). Upstream stations come first; their
 * schedules arrive downstream after the main's travel time.
 */
export function scheduleFixedSpeedStations(input: FixedSpeedInput): Map<string, FixedSpeedSchedule> {
  const { network, grid, steps, initial, constraints } = input;
  const K = grid.durationH.length;
  const locked = new Set(constraints.lockedStations ?? []);
  const banded = new Set((constraints.stationBands ?? []).map((b) => b.stationId));
  const mainsById = new Map(network.mains.map((m) => [m.id, m]));
  const dryWeather = dryWeatherByNode(network, grid.boundariesUtcMs);
  const meanPrice = dailyMeanTariffPrice(network);
  const stepPrice = steps.map((s) => meanTariffPrice(network, s.startUtcMs, s.startUtcMs + s.durationMin * 60_000));
  const stepOffsetH = steps.map((s) => (s.startUtcMs - grid.boundariesUtcMs[0]!) / 3_600_000);
  const stepH = steps.map((s) => s.durationMin / 60);

  // Nodes something other than a station's discharge main flows into: not schedulable.
  const otherFeeds = new Set<string>();
  for (const x of network.interconnections) otherFeeds.add(x.a).add(x.b);
  for (const t of network.tanks) {
    otherFeeds.add(t.node);
    const out = network.mains.find((m) => m.from === t.id);
    if (out) otherFeeds.add(out.to);
  }
  const upstreamOf = new Map<string, { stationId: string; lagH: number }[]>();
  for (const s of network.stations) {
    const main = mainsById.get(s.dischargeMainId);
    if (!main) continue;
    const list = upstreamOf.get(main.to) ?? [];
    list.push({ stationId: s.id, lagH: main.travelMin / 60 });
    upstreamOf.set(main.to, list);
  }

  const candidate = (s: PumpStation): boolean => {
    if (s.pumps.some((p) => p.kind === 'vfd') || otherFeeds.has(s.id) || banded.has(s.id) || locked.has(s.id)) return false;
    const st = initial.stations.get(s.id);
    if (!st || st.locked || st.pumpsAvailable < 1) return false;
    const base = dryWeather.get(s.id);
    if (!base) return false;
    return input.scenarios.every((sc) => {
      const inflow = sc.inflowM3h.get(s.id);
      return !inflow || wetExcess(inflow, base).reduce((a, e, k) => a + e * grid.durationH[k]!, 0) < 1;
    });
  };

  const done = new Map<string, FixedSpeedSchedule>();
  const pending = network.stations.filter(candidate);
  // Upstream first: a station waits until every station feeding it is scheduled (or drops out if one cannot be).
  for (let progress = true; progress; ) {
    progress = false;
    for (let i = 0; i < pending.length; i++) {
      const s = pending[i]!;
      const feeders = upstreamOf.get(s.id) ?? [];
      if (feeders.some((f) => !done.has(f.stationId) && !pending.some((p) => p.id === f.stationId))) {
        pending.splice(i--, 1);
        progress = true;
        continue;
      }
      if (feeders.some((f) => !done.has(f.stationId))) continue;
      pending.splice(i--, 1);
      progress = true;
      const schedule = scheduleOne(s, feeders);
      if (schedule) done.set(s.id, schedule);
    }
  }
  return done;

  function scheduleOne(s: PumpStation, feeders: { stationId: string; lagH: number }[]): FixedSpeedSchedule | null {
    const st = initial.stations.get(s.id)!;
    const main = mainsById.get(s.dischargeMainId);
    const local = input.scenarios[0]?.inflowM3h.get(s.id);
    const inflow = steps.map((step) => Math.max(0, local?.[step.k] ?? 0));
    for (const f of feeders) {
      const up = done.get(f.stationId)!;
      const before = initial.stations.get(f.stationId);
      steps.forEach((_, i) => (inflow[i] = inflow[i]! + meanArriving(up.pumps.map((n) => n * up.pumpM3h), before, stepOffsetH[i]! - f.lagH, stepOffsetH[i]! + stepH[i]! - f.lagH)));
    }
    const dutyAvailable = Math.min(s.pumps.length - s.standbyPumps, Math.round(st.pumpsAvailable));
    if (dutyAvailable < 1) return null;
    const pumpM3h = s.pumps.reduce((a, p) => a + p.capacityM3h, 0) / s.pumps.length;
    const { floorM, ceilingM } = wholePumpBandM(s.levels, input.alarmMarginFraction, input.floorMarginM);
    const mainCapM3h = main?.capacityM3h ?? Number.POSITIVE_INFINITY;
    // Pumps beyond what the main carries add nothing: the schedule stops at the main's capacity.
    const maxPumps = Math.max(1, Math.min(dutyAvailable, Math.floor(mainCapM3h / pumpM3h + 1e-9)));
    // The stations whose energy the prices count (none with own energy only).
    const downstream = (input.downstreamEnergyWeight ?? 0) > 0 && s.specificEnergyKwhM3 > 0 ? stationsDownstream(network, s) : [];
    const problem = {
      durationH: stepH,
      inflowM3h: inflow,
      priceCnyPerKwh: pathPrice(s, downstream),
      specificEnergyKwhM3: s.specificEnergyKwhM3,
      pumpM3h,
      maxPumps,
      runningNow: Math.min(maxPumps, Math.round(st.outflowM3h / pumpM3h)),
      initialVolumeM3: volumeAtLevel(s.wetWell, st.levelM),
      minVolumeM3: volumeAtLevel(s.wetWell, floorM),
      maxVolumeM3: volumeAtLevel(s.wetWell, ceilingM),
      startCostCny: input.startCostCny,
      terminalCnyPerM3: meanPrice * s.specificEnergyKwhM3,
    };
    const result = hedgedWholePumpSchedule(problem, input.inflowSpread ?? 0);
    // The band cannot be kept (inflow beyond the pumps, a well already out of it): leave the station to the LP.
    if (result.bandExcessM3 > 1) return null;
    const flowByGridStepM3h = new Array<number>(K).fill(0);
    const hoursByGridStep = new Array<number>(K).fill(0);
    steps.forEach((step, i) => {
      flowByGridStepM3h[step.k] = flowByGridStepM3h[step.k]! + result.pumps[i]! * pumpM3h * stepH[i]!;
      hoursByGridStep[step.k] = hoursByGridStep[step.k]! + stepH[i]!;
    });
    for (let k = 0; k < K; k++) flowByGridStepM3h[k] = hoursByGridStep[k]! > 0 ? flowByGridStepM3h[k]! / hoursByGridStep[k]! : 0;
    return { stationId: s.id, pumpM3h, pumps: result.pumps, flowByGridStepM3h, starts: result.starts, bandExcessM3: result.bandExcessM3, pricedDownstream: downstream.map((d) => d.station.id) };
  }

  /**
   * Price per kWh of the station's own energy in each plan step, with the energy its water meets at the
   * stations downstream (weighted by downstreamEnergyWeight) at the tariff when it gets there.
   */
  function pathPrice(s: PumpStation, downstream: { station: PumpStation; lagMin: number }[]): number[] {
    const weight = input.downstreamEnergyWeight ?? 0;
    const prices = stepPrice.slice();
    for (const { station, lagMin } of downstream) {
      const share = (weight * station.specificEnergyKwhM3) / s.specificEnergyKwhM3;
      const lagMs = lagMin * 60_000;
      steps.forEach((step, i) => (prices[i] = prices[i]! + share * meanTariffPrice(network, step.startUtcMs + lagMs, step.startUtcMs + lagMs + step.durationMin * 60_000)));
    }
    return prices;
  }

  /**
   * Mean over [fromH, toH) (hours from now) of a flow given per plan step; before now what the station pumped
   * (its recent outflow, else its flow now), after the last step its value.
   */
  function meanArriving(flowM3h: number[], before: InitialStation | undefined, fromH: number, toH: number): number {
    const beforeM3h = before?.outflowM3h ?? 0;
    let sum = 0;
    if (fromH < 0) sum += volumeLeftM3(beforeM3h, before?.recentOutflowM3h, fromH, toH);
    for (let i = 0; i < flowM3h.length; i++) {
      const h = Math.min(toH, stepOffsetH[i]! + stepH[i]!) - Math.max(fromH, stepOffsetH[i]!);
      if (h > 1e-9) sum += flowM3h[i]! * h;
    }
    const last = flowM3h.length - 1;
    const endH = last >= 0 ? stepOffsetH[last]! + stepH[last]! : 0;
    if (toH > endH) sum += (last >= 0 ? flowM3h[last]! : beforeM3h) * (toH - Math.max(fromH, endH));
    return sum / Math.max(1e-9, toH - fromH);
  }
}

/** The stations a station's water passes on its way to a plant, each with its travel time from the station, min. */
export function stationsDownstream(network: NetworkConfig, station: PumpStation): { station: PumpStation; lagMin: number }[] {
  const path: { station: PumpStation; lagMin: number }[] = [];
  let lagMin = 0;
  for (let here = station; path.length < network.stations.length; ) {
    const main = network.mains.find((m) => m.id === here.dischargeMainId);
    const next = main ? network.stations.find((x) => x.id === main.to) : undefined;
    if (!main || !next) break;
    lagMin += main.travelMin;
    path.push({ station: next, lagMin });
    here = next;
  }
  return path;
}
