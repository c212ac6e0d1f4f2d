// A transparent rule-based plan: the dispatcher's rule of thumb written down. It draws wet wells down
// ahead of forecast rain and otherwise keeps each station on its normal band with duty pumps only.
// The optimising planner replaces it; this one stays as the fallback that always yields a plan.
import type { Envelope, NetworkConfig, PumpStation } from '../network/schema.js';
import type { NetworkSnapshot, RainForecast, StationState } from '../activities/types.js';
import { localClock } from './calendar.js';
import { clampLevelBand, clampToEnvelope } from './envelope.js';
import type { Plan, PlanStep, StationReason, StationSetpoint } from './types.js';

export interface RuleBasedOptions {
  /** Rain within this look-ahead window triggers drawdown. */
  lookAheadH: number;
  /** Rain depth over the look-ahead window that triggers drawdown. */
  drawdownTriggerMm: number;
}

export const defaultRuleOptions: RuleBasedOptions = { lookAheadH: 6, drawdownTriggerMm: 10 };

interface RainOutlook {
  totalMm: number;
  onsetUtcMs: number | null;
  gaps: number;
  /** False when there is no forecast for this catchment (none given, or none for its location): totalMm says nothing. */
  covered?: boolean;
}

/** Rain over [fromUtcMs, fromUtcMs + windowH) for one catchment; gaps are counted, never read as zero rain. */
export function rainOutlook(forecast: RainForecast | null, catchmentId: string, fromUtcMs: number, windowH: number): RainOutlook {
  const location = forecast?.locations.find((l) => l.catchmentId === catchmentId);
  if (!forecast || !location) return { totalMm: 0, onsetUtcMs: null, gaps: 0, covered: false };
  const stepMs = forecast.stepMin * 60_000;
  const toUtcMs = fromUtcMs + windowH * 3_600_000;
  let totalMm = 0;
  let onsetUtcMs: number | null = null;
  let gaps = 0;
  location.timeUtcMs.forEach((t, i) => {
    // Values are totals over the step ending at t (Open-Meteo's convention).
    if (t <= fromUtcMs || t - stepMs >= toUtcMs) return;
    const mm = location.precipitationMm[i];
    if (mm === null || mm === undefined) {
      gaps++;
      return;
    }
    totalMm += mm;
    if (onsetUtcMs === null && mm >= 0.5) onsetUtcMs = t - stepMs;
  });
  return { totalMm, onsetUtcMs, gaps, covered: true };
}

const fmtHours = (ms: number) => (ms / 3_600_000).toFixed(1);

function stationSetpoint(
  station: PumpStation,
  state: StationState | undefined,
  drawdown: boolean,
  elapsedMin: number,
  clamped: Plan['clamped'],
): StationSetpoint {
  const dutyPumps = station.pumps.length - station.standbyPumps;
  const wantedStart = drawdown ? (station.levels.floodSeasonStartM ?? station.levels.pumpStopM + 0.5) : station.levels.pumpStartM;
  const wantedStop = station.levels.pumpStopM;
  const { startLevelM: start, stopLevelM: stop } = clampLevelBand(
    { startLevelM: wantedStart, stopLevelM: wantedStop },
    station.envelope,
    { startLevelM: state?.startLevelSpM ?? null, stopLevelM: state?.stopLevelSpM ?? null },
    elapsedMin,
    0.2,
  );
  if (start.clamped) clamped.push({ objectId: station.id, setpoint: 'startLevelM', wanted: wantedStart, sent: start.value });
  if (stop.clamped) clamped.push({ objectId: station.id, setpoint: 'stopLevelM', wanted: wantedStop, sent: stop.value });
  // The flow setpoint is not followed in level-band control, but what is written must still lie in its envelope.
  const flow = clampToEnvelope(0, station.envelope.flowSetpointM3h, state?.flowSpM3h ?? null, elapsedMin);
  return {
    stationId: station.id,
    remoteControl: 'levelBand',
    startLevelM: start.value,
    stopLevelM: stop.value,
    flowM3h: flow.value,
    // Standby pumps are released only for drawdown ahead of rain.
    pumpsAllowed: drawdown ? station.pumps.length : dutyPumps,
  };
}

export interface RuleBasedInput {
  planId: string;
  network: NetworkConfig;
  snapshot: NetworkSnapshot;
  forecast: RainForecast | null;
  nowUtcMs: number;
  options?: RuleBasedOptions;
}

export function ruleBasedPlan(input: RuleBasedInput): Plan {
  const { network, snapshot, forecast, nowUtcMs } = input;
  const options = input.options ?? defaultRuleOptions;
  const stepMin = network.planning.stepMin;
  const stepCount = Math.round((network.planning.horizonH * 60) / stepMin);
  const firstStepUtcMs = Math.ceil(nowUtcMs / (stepMin * 60_000)) * stepMin * 60_000;
  const statesById = new Map(snapshot.stations.map((s) => [s.stationId, s]));
  const catchmentOf = new Map(network.catchments.map((c) => [c.node, c.id]));
  const clamped: Plan['clamped'] = [];
  const steps: PlanStep[] = [];
  let anyDrawdown = false;
  const outlookAt = (nodeId: string, fromUtcMs: number): RainOutlook => {
    const catchmentId = catchmentOf.get(nodeId);
    return catchmentId ? rainOutlook(forecast, catchmentId, fromUtcMs, options.lookAheadH) : { totalMm: 0, onsetUtcMs: null, gaps: 0, covered: false };
  };
  /** A good numeric reading of the snapshot (tank volumes and setpoints, transfers), else null. */
  const reading = (objectId: string, tag: string): number | null => {
    const r = snapshot.readings.find((x) => x.objectId === objectId && x.tag === tag);
    return r?.good && typeof r.value === 'number' && Number.isFinite(r.value) ? r.value : null;
  };
  /** A chain of one setpoint: range, then rate of change from the value in force (first step) or the step before. */
  const chain = (objectId: string, setpoint: string, envelope: Envelope, inForce: number | null) => {
    let previous = inForce;
    return (wanted: number, minutesSince: number, startUtcMs: number, record: boolean): number => {
      const r = clampToEnvelope(wanted, envelope, previous, minutesSince);
      if (r.clamped && record) clamped.push({ objectId, setpoint, wanted, sent: r.value, startUtcMs });
      previous = r.value;
      return r.value;
    };
  };
  // Tanks: no diversion into them (inlet shut as far as its envelope allows); a tank holding water is emptied
  // through its outlet while no rain is expected at its node, so its room is free before the next storm, and
  // kept shut while rain is expected (the network below has no room to spare then). The volume is followed
  // from the reading by what the outlet takes; unknown volume: the outlet stays shut.
  const tankPlans = network.tanks.map((tank) => ({
    tank,
    volumeM3: reading(tank.id, 'volumeM3'),
    inlet: chain(tank.id, 'inletM3h', tank.envelope.inletM3h, reading(tank.id, 'inletSpM3h')),
    outlet: chain(tank.id, 'outletM3h', tank.envelope.outletM3h, reading(tank.id, 'outletSpM3h')),
    emptyingUtcMs: [] as number[],
  }));
  // Interconnections: no transfer (as far as the envelope allows): the rule plan does not balance the systems.
  const transferPlans = network.interconnections.map((x) => ({ x, set: chain(x.id, 'transferM3h', x.envelope.transferM3h, reading(x.id, 'transferM3h')) }));

  for (let k = 0; k < stepCount; k++) {
    const startUtcMs = firstStepUtcMs + k * stepMin * 60_000;
    const minutesSince = k === 0 ? (startUtcMs - nowUtcMs) / 60_000 + stepMin : stepMin;
    const stations = network.stations.map((station) => {
      const drawdown = outlookAt(station.id, startUtcMs).totalMm >= options.drawdownTriggerMm;
      anyDrawdown ||= drawdown;
      // Only the first step is limited by the setpoint now in force; later steps chain from the previous step.
      const previous = k === 0 ? statesById.get(station.id) : undefined;
      return stationSetpoint(station, previous, drawdown, minutesSince, k === 0 ? clamped : []);
    });
    const tanks = tankPlans.map((tp) => {
      const rainAhead = outlookAt(tp.tank.node, startUtcMs).totalMm >= options.drawdownTriggerMm;
      const volume = tp.volumeM3;
      const wantedOutlet = volume !== null && volume > 0 && !rainAhead ? Math.min(tp.tank.envelope.outletM3h.max, (volume * 60) / stepMin) : 0;
      const inletM3h = tp.inlet(0, minutesSince, startUtcMs, k === 0);
      const outletM3h = tp.outlet(wantedOutlet, minutesSince, startUtcMs, k === 0);
      if (volume !== null) tp.volumeM3 = Math.max(0, volume + ((inletM3h - outletM3h) * stepMin) / 60);
      if (outletM3h > 0 && wantedOutlet > 0) tp.emptyingUtcMs.push(startUtcMs);
      return { tankId: tp.tank.id, inletM3h, outletM3h };
    });
    steps.push({
      startUtcMs,
      stations,
      transfers: transferPlans.map(({ x, set }) => ({ interconnectionId: x.id, transferM3h: set(0, minutesSince, startUtcMs, k === 0) })),
      tanks,
    });
  }

  const noForecast = (outlook: RainOutlook) =>
    outlook.covered === false
      ? { zh: '无降雨预报，', en: 'No rain forecast available; ' }
      : { zh: `${options.lookAheadH}小时内预报降雨${outlook.totalMm.toFixed(1)}毫米，低于预降阈值${options.drawdownTriggerMm}毫米：`, en: `${outlook.totalMm.toFixed(1)} mm forecast within ${options.lookAheadH} h, below the ${options.drawdownTriggerMm} mm drawdown trigger: ` };
  const stationReasons: StationReason[] = network.stations.map((station) => {
    const outlook = outlookAt(station.id, nowUtcMs);
    const state = statesById.get(station.id);
    const gapNote = outlook.gaps > 0 ? { zh: `（预报缺测${outlook.gaps}个时段）`, en: ` (forecast has ${outlook.gaps} missing steps)` } : { zh: '', en: '' };
    if (state?.mode === 'local') {
      return { objectId: station.id, reason: { zh: `泵站处于本地控制，远程设定不生效。${gapNote.zh}`, en: `Station is in LOCAL control; remote setpoints will not take effect.${gapNote.en}` } };
    }
    if (outlook.totalMm >= options.drawdownTriggerMm) {
      const inH = outlook.onsetUtcMs !== null ? fmtHours(Math.max(0, outlook.onsetUtcMs - nowUtcMs)) : '?';
      return {
        objectId: station.id,
        reason: {
          zh: `预计${inH}小时后降雨，${options.lookAheadH}小时内约${outlook.totalMm.toFixed(1)}毫米：降低启泵液位预降水位，允许备用泵运行。${gapNote.zh}`,
          en: `Rain expected in ${inH} h, about ${outlook.totalMm.toFixed(1)} mm within ${options.lookAheadH} h: lower start level to draw the wet well down and allow the standby pump.${gapNote.en}`,
        },
      };
    }
    const lead = noForecast(outlook);
    return {
      objectId: station.id,
      reason: { zh: `${lead.zh}保持正常液位区间，仅运行主泵。${gapNote.zh}`, en: `${lead.en}normal level band, duty pumps only.${gapNote.en}` },
    };
  });
  const tankReasons: StationReason[] = tankPlans.map((tp) => {
    const volume = reading(tp.tank.id, 'volumeM3');
    const { zh: inletZh, en: inletEn } = tp.tank.envelope.inletM3h.min > 0 ? { zh: `进水闸按安全范围下限${tp.tank.envelope.inletM3h.min}立方米/时`, en: `inlet at its envelope minimum of ${tp.tank.envelope.inletM3h.min} m³/h` } : { zh: '进水闸关闭', en: 'inlet shut' };
    if (volume === null) {
      return { objectId: tp.tank.id, reason: { zh: `规则调度：池容未知，${inletZh}，出水闸保持最小开度。`, en: `Rule-based plan: tank volume unknown, so the ${inletEn} and the outlet at its minimum.` } };
    }
    if (tp.emptyingUtcMs.length > 0) {
      const from = localClock(tp.emptyingUtcMs[0]!, network.timezone);
      return { objectId: tp.tank.id, reason: { zh: `规则调度：池内约${Math.round(volume)}立方米，无降雨预期时自${from}起经出水闸排空；${inletZh}。`, en: `Rule-based plan: about ${Math.round(volume)} m³ in the tank, emptied through its outlet from ${from} while no rain is expected; ${inletEn}.` } };
    }
    return volume > 0
      ? { objectId: tp.tank.id, reason: { zh: `规则调度：池内约${Math.round(volume)}立方米，预计降雨，出水闸保持最小开度以免加重下游负荷；${inletZh}。`, en: `Rule-based plan: about ${Math.round(volume)} m³ in the tank; rain is expected, so the outlet stays at its minimum to spare the network downstream; ${inletEn}.` } }
      : { objectId: tp.tank.id, reason: { zh: `规则调度：调蓄池为空，${inletZh}，出水闸保持最小开度。`, en: `Rule-based plan: the tank is empty; ${inletEn}, outlet at its minimum.` } };
  });
  const transferReasons: StationReason[] = transferPlans.map(({ x }) => {
    const env = x.envelope.transferM3h;
    const forced = env.min > 0 || env.max < 0;
    return forced
      ? { objectId: x.id, reason: { zh: `规则调度不做互联输送；安全范围不允许零输送，按最接近零的${env.min > 0 ? env.min : env.max}立方米/时。`, en: `The rule-based plan makes no transfer; the envelope does not allow zero, so the value nearest it is sent (${env.min > 0 ? env.min : env.max} m³/h).` } }
      : { objectId: x.id, reason: { zh: '规则调度不做互联输送（仅优化调度平衡两片系统）。', en: 'The rule-based plan makes no transfer (only the optimising planner balances the systems).' } };
  });
  const plantReasons: StationReason[] = network.plants.map((p) => ({
    objectId: p.id,
    reason: { zh: `规则调度不控制进厂流量：按上游泵站液位控制到达（处理能力${p.capacityM3h}立方米/时）。`, en: `The rule-based plan does not set plant inflow: it arrives as the stations upstream pump by their levels (capacity ${p.capacityM3h} m³/h).` },
  }));
  const reasons = [...stationReasons, ...tankReasons, ...transferReasons, ...plantReasons];

  return {
    planId: input.planId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: 'rule-based',
    operatingMode: anyDrawdown ? 'flood-drawdown' : 'normal',
    stepMin,
    basis: { telemetryAtUtcMs: snapshot.readAtUtcMs, forecastIssuedAtUtcMs: forecast?.issuedAtUtcMs ?? null, forecastSource: forecast?.source ?? 'none' },
    steps,
    reasons,
    clamped,
  };
}
