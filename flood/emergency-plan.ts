// The flood-season emergency plan (防汛应急预案) for one assessment: pre-storm drawdown (预降水位) timed
// before rain onset using each station's flood-season start level, interconnection transfer toward the
// plant with spare capacity, standby pumps released, the least harmful overflow points ranked, crew tasks
// with locations, notifications, and the setpoint schedule that is dispatched once approved. Pure.
import type { Role } from '../contract/index.js';
import type { Envelope, NetworkConfig, PumpStation } from '../network/schema.js';
import { clampLevelBand, clampToEnvelope, ownLevelBand } from '../planner/envelope.js';
import type { LocalisedText, Plan, PlanStep, StationReason, StationSetpoint } from '../planner/types.js';
import {
  receivingWaterName,
  responseLevelNames,
  roleNames,
  warningNames,
  type Audience,
  type CrewTask,
  type DrawdownAction,
  type EmergencyPlan,
  type FloodAssessment,
  type FloodConfig,
  type OverflowPriority,
  type PlannedNotification,
  type ResponseLevel,
  type TankAction,
  type TransferAction,
} from './types.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;

export interface EmergencyPlanInput {
  emergencyPlanId: string;
  revision: number;
  network: NetworkConfig;
  assessment: FloodAssessment;
  config: FloodConfig;
  nowUtcMs: number;
}

/** Stored volume between two levels of a wet well (m³). */
export function wetWellVolumeBetweenM3(station: PumpStation, lowM: number, highM: number): number {
  if (highM <= lowM) return 0;
  const ww = station.wetWell;
  if (ww.kind === 'prismatic') return ww.areaM2 * (highM - lowM);
  const volumeAt = (levelM: number) => {
    const pts = ww.points;
    if (levelM <= pts[0]!.levelM) return pts[0]!.volumeM3;
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1]!;
      const b = pts[i]!;
      if (levelM <= b.levelM) return a.volumeM3 + ((levelM - a.levelM) / (b.levelM - a.levelM)) * (b.volumeM3 - a.volumeM3);
    }
    return pts.at(-1)!.volumeM3;
  };
  return volumeAt(highM) - volumeAt(lowM);
}

export const requiredRoleFor = (response: ResponseLevel, config: FloodConfig): Role => config.approvalRoles[response];

/** Who hears about an emergency at each level. */
export function audiencesFor(response: ResponseLevel): Audience[] {
  switch (response) {
    case 'IV':
    case 'III':
      return ['dispatcher'];
    case 'II':
      return ['dispatcher', 'supervisor'];
    case 'I':
      return ['dispatcher', 'supervisor', 'admin'];
  }
}

const fmtTime = (utcMs: number | null, timeZone: string) =>
  utcMs === null ? '—' : new Date(utcMs).toLocaleString('zh-CN', { timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

/**
 * The configured overflow points of the network, least harmful first. A station without a configured receiving
 * water is not ranked: nothing is known of where its overflow goes, so no crew is sent to let it overflow there.
 * No overflow points configured: no ranking at all (overflowPointWarnings says so at start-up).
 */
export function overflowPriorities(network: NetworkConfig, config: FloodConfig): OverflowPriority[] {
  const stationIds = new Set(network.stations.map((s) => s.id));
  const configured = new Map<string, FloodConfig['overflowPoints'][number]>();
  for (const p of config.overflowPoints) if (stationIds.has(p.stationId) && !configured.has(p.stationId)) configured.set(p.stationId, p);
  const rows = [...configured.values()].map((p) => ({ stationId: p.stationId, receivingWater: p.receivingWater, harm: p.harm ?? config.receivingWaterHarm[p.receivingWater] ?? 5 }));
  rows.sort((a, b) => a.harm - b.harm || a.stationId.localeCompare(b.stationId));
  return rows.map((r, i) => {
    const water = receivingWaterName(r.receivingWater);
    return { ...r, rank: i + 1, reason: { zh: `溢流进入${water.zh}，危害系数${r.harm}`, en: `overflow reaches the ${water.en}, harm ${r.harm}` } };
  });
}

/** What the flood configuration leaves the emergency plans without, for the start-up log (zh/en). */
export function overflowPointWarnings(network: NetworkConfig, config: FloodConfig): LocalisedText[] {
  const warnings: LocalisedText[] = [];
  const stationIds = new Set(network.stations.map((s) => s.id));
  if (config.overflowPoints.length === 0) {
    warnings.push({ zh: '防汛配置未设溢流点（overflowPoints）：应急预案不排溢流优先顺序，也不安排溢流值守', en: 'flood config has no overflow points (overflowPoints): emergency plans rank no overflows and send no overflow-standby crew' });
  }
  for (const p of config.overflowPoints) {
    if (!stationIds.has(p.stationId)) warnings.push({ zh: `溢流点${p.stationId}不是本管网的泵站，已忽略`, en: `overflow point ${p.stationId} is not a station of this network; ignored` });
    else if (p.harm === undefined && config.receivingWaterHarm[p.receivingWater] === undefined) {
      warnings.push({ zh: `溢流点${p.stationId}的受纳水体“${p.receivingWater}”无危害系数，按5计`, en: `overflow point ${p.stationId}: receiving water "${p.receivingWater}" has no harm configured; counted as 5` });
    }
  }
  return warnings;
}

/** The transfer and tank setpoints SCADA holds (null where unknown: the first step then keeps to the range alone). */
export interface HeldFlowSetpoints {
  transfers: readonly { interconnectionId: string; transferSpM3h: number | null }[];
  tanks: readonly { tankId: string; inletSpM3h?: number | null; outletSpM3h?: number | null }[];
}

const heldFlowsOf = (a: FloodAssessment): HeldFlowSetpoints => ({ transfers: a.transfers ?? [], tanks: a.tanks });

/**
 * Move one flow setpoint over the steps at the envelope's rate. A fall in magnitude (a transfer ending, a tank
 * outlet closing at onset) is started early enough to be done by the step that wants it (`anticipate`); then
 * every step is clamped from the one before, the first from the value held (`inForce`) over `firstMinutes`.
 */
function rampFlow(objectId: string, setpoint: string, wanted: number[], times: number[], envelope: Envelope, inForce: number | null, firstMinutes: number, clamped: Plan['clamped'], anticipate: boolean): number[] {
  const w = [...wanted];
  if (anticipate) {
    for (let k = w.length - 2; k >= 0; k--) {
      const room = (envelope.maxChangePerMin * (times[k + 1]! - times[k]!)) / MS_PER_MIN;
      if (Math.abs(w[k]!) > Math.abs(w[k + 1]!)) w[k] = Math.min(w[k + 1]! + room, Math.max(w[k + 1]! - room, w[k]!));
    }
  }
  let previous = inForce;
  return w.map((value, k) => {
    const r = clampToEnvelope(value, envelope, previous, k === 0 ? firstMinutes : (times[k]! - times[k - 1]!) / MS_PER_MIN);
    // Recorded against what the plan wanted, so an early ramp-down shows too.
    if (Math.abs(r.value - wanted[k]!) > 1e-9) clamped.push({ objectId, setpoint, wanted: wanted[k]!, sent: r.value, startUtcMs: times[k]! });
    previous = r.value;
    return r.value;
  });
}

/** Rate-limit every transfer and tank inlet/outlet of `steps` in place (clampToEnvelope, chained from the values held). */
function rampFlowSetpoints(network: NetworkConfig, steps: PlanStep[], held: HeldFlowSetpoints, firstMinutes: number, clamped: Plan['clamped'], anticipate: boolean): void {
  const times = steps.map((s) => s.startUtcMs);
  network.interconnections.forEach((x, i) => {
    const inForce = held.transfers.find((t) => t.interconnectionId === x.id)?.transferSpM3h ?? null;
    const sent = rampFlow(x.id, 'transferM3h', steps.map((s) => s.transfers[i]!.transferM3h), times, x.envelope.transferM3h, inForce, firstMinutes, clamped, anticipate);
    steps.forEach((s, k) => (s.transfers[i]!.transferM3h = sent[k]!));
  });
  network.tanks.forEach((t, i) => {
    const h = held.tanks.find((x) => x.tankId === t.id);
    const inlet = rampFlow(t.id, 'inletM3h', steps.map((s) => s.tanks[i]!.inletM3h), times, t.envelope.inletM3h, h?.inletSpM3h ?? null, firstMinutes, clamped, anticipate);
    const outlet = rampFlow(t.id, 'outletM3h', steps.map((s) => s.tanks[i]!.outletM3h), times, t.envelope.outletM3h, h?.outletSpM3h ?? null, firstMinutes, clamped, anticipate);
    steps.forEach((s, k) => {
      s.tanks[i]!.inletM3h = inlet[k]!;
      s.tanks[i]!.outletM3h = outlet[k]!;
    });
  });
}

export function buildEmergencyPlan(input: EmergencyPlanInput): EmergencyPlan {
  const { network, assessment, config, nowUtcMs } = input;
  const response = assessment.response ?? 'IV';
  const warning = assessment.warning === 'none' ? 'blue' : assessment.warning;
  const tz = network.timezone;
  const stepMin = config.emergencyStepMin ?? network.planning.stepMin;
  const stepMs = stepMin * MS_PER_MIN;
  const onset = assessment.onsetUtcMs;
  const rainEnd = assessment.endUtcMs ?? (onset !== null ? onset + 12 * MS_PER_H : null);
  const floodUntil = Math.min(nowUtcMs + config.emergencyHorizonH * MS_PER_H, (rainEnd ?? nowUtcMs) + config.recoveryH * MS_PER_H);
  const conditionOf = new Map(assessment.stations.map((s) => [s.stationId, s]));
  const rainOf = new Map(assessment.catchments.map((c) => [c.stationId, c]));
  const stationReasons: StationReason[] = [];

  // --- Drawdown: every station at level II and above; below it, stations whose catchment expects rain.
  const drawdown: DrawdownAction[] = [];
  for (const station of network.stations) {
    const rain = rainOf.get(station.id);
    const expectsRain = rain ? rain.level !== 'none' || rain.forecast.totalMm >= 20 || rain.observed.mm3h >= 10 : false;
    if (!(expectsRain || response === 'II' || response === 'I')) continue;
    const cond = conditionOf.get(station.id);
    const target = station.levels.floodSeasonStartM ?? station.levels.pumpStopM + 0.5;
    const band = clampLevelBand({ startLevelM: target, stopLevelM: station.levels.pumpStopM }, station.envelope, { startLevelM: null, stopLevelM: null }, 0, 0.2);
    const targetStart = band.startLevelM.value;
    const stop = band.stopLevelM.value;
    const capacityM3h = station.pumps.reduce((a, p) => a + p.capacityM3h, 0) * ((cond?.pumpsAvailable ?? station.pumps.length) / station.pumps.length);
    const netM3h = Math.max(capacityM3h - (cond?.inflowM3h ?? 0), capacityM3h * 0.1);
    // An unknown level is the worst case (the high alarm), never an empty well: the drawdown starts early enough for it.
    const levelKnown = cond?.levelM !== null && cond?.levelM !== undefined;
    const fromLevelM = levelKnown ? cond.levelM! : station.levels.highAlarmM;
    const volumeM3 = wetWellVolumeBetweenM3(station, targetStart, fromLevelM);
    const durationMin = Math.ceil((volumeM3 / netM3h) * 60);
    const stationOnset = rain?.onsetUtcMs ?? onset;
    const startBy = stationOnset === null ? nowUtcMs : Math.max(nowUtcMs, stationOnset - (durationMin + config.drawdownMarginMin) * MS_PER_MIN);
    const unknownLevel: LocalisedText = levelKnown
      ? { zh: '', en: '' }
      : { zh: `液位未知（未从SCADA读到），按高报警液位${fromLevelM}米估算；`, en: `Level unknown (not read from SCADA), estimated from the high-alarm level ${fromLevelM} m. ` };
    drawdown.push({
      stationId: station.id,
      fromLevelM: levelKnown ? cond.levelM! : null,
      ...(levelKnown ? {} : { assumedFromLevelM: fromLevelM }),
      targetStartLevelM: targetStart,
      stopLevelM: stop,
      pumpsAllowed: station.pumps.length,
      startByUtcMs: startBy,
      estimatedDurationMin: durationMin,
      reason: {
        zh: `${unknownLevel.zh}预计${fmtTime(stationOnset, tz)}降雨（汇水区预报最大3小时${rain?.forecast.max3hMm ?? 0}毫米），${fmtTime(startBy, tz)}起启泵液位降至防汛应急水位${targetStart}米，约需${durationMin}分钟，允许备用泵。`,
        en: `${unknownLevel.en}Rain expected from ${fmtTime(stationOnset, tz)} (catchment forecast max ${rain?.forecast.max3hMm ?? 0} mm in 3 h): from ${fmtTime(startBy, tz)} lower the start level to the flood-season level ${targetStart} m (about ${durationMin} min), standby pumps allowed.`,
      },
    });
  }
  const drawdownOf = new Map(drawdown.map((d) => [d.stationId, d]));
  const earliestStart = drawdown.length > 0 ? Math.min(...drawdown.map((d) => d.startByUtcMs)) : nowUtcMs;

  // --- Transfers toward the plant with spare capacity.
  const transfers: TransferAction[] = [];
  const plantOfSystem = new Map(network.plants.map((p) => [p.system, p]));
  const spareOf = (plantId: string | undefined) => {
    const plant = network.plants.find((p) => p.id === plantId);
    if (!plant) return 0;
    const inflow = assessment.plants.find((p) => p.plantId === plant.id)?.inflowM3h ?? plant.preferredInflowM3h;
    return plant.capacityM3h - inflow;
  };
  for (const x of network.interconnections) {
    const stationA = network.stations.find((s) => s.id === x.a);
    const stationB = network.stations.find((s) => s.id === x.b);
    const plantA = plantOfSystem.get(stationA?.system ?? '');
    const plantB = plantOfSystem.get(stationB?.system ?? '');
    const spareA = spareOf(plantA?.id);
    const spareB = spareOf(plantB?.id);
    const wanted = Math.min(x.capacityM3h, Math.abs(spareB - spareA) / 2);
    const sign = spareB > spareA ? 1 : -1;
    const limit = sign > 0 ? x.envelope.transferM3h.max : -x.envelope.transferM3h.min;
    const amount = Math.round(Math.max(0, Math.min(wanted, limit)));
    if (amount < 1) continue;
    const toward = sign > 0 ? plantB : plantA;
    transfers.push({
      interconnectionId: x.id,
      transferM3h: sign * amount,
      towardPlantId: toward?.id ?? null,
      fromUtcMs: earliestStart,
      untilUtcMs: floodUntil,
      reason: {
        zh: `${toward?.name.zh ?? '下游'}余量较大（${Math.round(Math.max(spareA, spareB))}立方米/时），经${x.name.zh}输送${amount}立方米/时。`,
        en: `${toward?.name.en ?? 'downstream'} has more spare capacity (${Math.round(Math.max(spareA, spareB))} m³/h): transfer ${amount} m³/h over ${x.name.en}.`,
      },
    });
  }

  // --- Tanks: empty before onset, take the peak after it.
  const tanks: TankAction[] = network.tanks.map((t) => {
    const volume = assessment.tanks.find((x) => x.tankId === t.id)?.volumeM3 ?? 0;
    return {
      tankId: t.id,
      emptyUntilUtcMs: volume > 0 && onset !== null ? onset : null,
      fillFromUtcMs: onset,
      fillUntilUtcMs: rainEnd,
      reason: {
        zh: `${t.name.zh}：降雨前排空（现存${Math.round(volume)}立方米），降雨期间蓄存削峰。`,
        en: `${t.name.en}: empty before the rain (${Math.round(volume)} m³ stored), store the peak during it.`,
      },
    };
  });

  const overflowPriority = overflowPriorities(network, config);

  // --- Crew tasks with locations.
  const crewTasks: CrewTask[] = [];
  const riskOf = (s: PumpStation) => {
    const cond = conditionOf.get(s.id);
    const rain = rainOf.get(s.id);
    const unavailable = cond?.pumpsAvailable !== null && cond?.pumpsAvailable !== undefined ? s.pumps.length - cond.pumpsAvailable : 0;
    const fill = cond?.levelM !== null && cond?.levelM !== undefined ? cond.levelM / s.levels.overflowM : 0.5;
    return (rain?.forecast.max3hMm ?? 0) * (1 + fill) + unavailable * 50;
  };
  const byRisk = [...network.stations].sort((a, b) => riskOf(b) - riskOf(a) || a.id.localeCompare(b.id));
  const taskDue = onset !== null ? Math.max(nowUtcMs, onset - MS_PER_H) : nowUtcMs + MS_PER_H;
  let taskNo = 0;
  const task = (kind: CrewTask['kind'], s: PumpStation, dueUtcMs: number, reason: LocalisedText) =>
    crewTasks.push({ taskId: `${input.emergencyPlanId}-t${++taskNo}`, kind, stationId: s.id, location: { ...s.location }, dueUtcMs, reason });
  for (const s of byRisk.slice(0, config.crew.mobilePumps)) {
    task('mobile-pump', s, taskDue, { zh: `移动泵车前往${s.name.zh}待命（风险最高站之一）`, en: `Mobile pump unit to ${s.name.en} on standby (among the highest-risk stations)` });
  }
  for (const s of byRisk.slice(0, config.crew.patrolStations)) {
    task('patrol', s, Math.max(nowUtcMs, onset ?? taskDue), { zh: `降雨期间巡查${s.name.zh}及其管网`, en: `Patrol ${s.name.en} and its sewers during the rain` });
  }
  if (response !== 'IV') {
    for (const d of drawdown) {
      const s = network.stations.find((x) => x.id === d.stationId)!;
      task('standby-pump-check', s, d.startByUtcMs, { zh: `预降开始前检查${s.name.zh}备用泵`, en: `Check the standby pump at ${s.name.en} before drawdown` });
    }
  }
  // Only a configured overflow point gets a crew on watch: without one, the least harmful place is not known.
  for (const p of overflowPriority.slice(0, 1)) {
    const s = network.stations.find((x) => x.id === p.stationId)!;
    const water = receivingWaterName(p.receivingWater);
    task('overflow-standby', s, Math.max(nowUtcMs, onset ?? taskDue), { zh: `如无法避免溢流，优先在${s.name.zh}（${water.zh}）溢流，安排人员值守`, en: `If overflow cannot be avoided, let it happen at ${s.name.en} (${water.en}); crew on watch` });
  }

  // --- The setpoint schedule.
  const firstAligned = Math.ceil((nowUtcMs + 1) / stepMs) * stepMs;
  const stepCount = Math.max(1, Math.ceil((floodUntil - firstAligned) / stepMs) + 1);
  const steps: PlanStep[] = [];
  const clamped: Plan['clamped'] = [];
  // Each band moves from the one SCADA holds (when the assessment read it) no faster than the envelope's rate.
  const bandSent = new Map(assessment.stations.map((c) => [c.stationId, { startLevelM: c.startLevelSpM ?? null, stopLevelM: c.stopLevelSpM ?? null }]));
  for (let k = 0; k < stepCount; k++) {
    const startUtcMs = k === 0 ? nowUtcMs : firstAligned + (k - 1) * stepMs;
    const minutesSince = k === 0 ? network.planning.cycleMin : (startUtcMs - steps[k - 1]!.startUtcMs) / MS_PER_MIN;
    const stations: StationSetpoint[] = network.stations.map((s) => {
      const d = drawdownOf.get(s.id);
      const inFlood = d !== undefined && startUtcMs + stepMs > d.startByUtcMs && startUtcMs < floodUntil;
      const wantedStart = inFlood ? d.targetStartLevelM : s.levels.pumpStartM;
      const { startLevelM: start, stopLevelM: stop } = clampLevelBand({ startLevelM: wantedStart, stopLevelM: s.levels.pumpStopM }, s.envelope, bandSent.get(s.id) ?? { startLevelM: null, stopLevelM: null }, minutesSince, 0.2);
      bandSent.set(s.id, { startLevelM: start.value, stopLevelM: stop.value });
      if (k === 0 && start.clamped) clamped.push({ objectId: s.id, setpoint: 'startLevelM', wanted: wantedStart, sent: start.value });
      return {
        stationId: s.id,
        remoteControl: 'levelBand',
        startLevelM: start.value,
        stopLevelM: stop.value,
        flowM3h: 0,
        pumpsAllowed: inFlood ? s.pumps.length : s.pumps.length - s.standbyPumps,
      };
    });
    // Transfers and tank flows as wanted here; rampFlows below moves them at the envelope's rate.
    const transfersAt = network.interconnections.map((x) => {
      const t = transfers.find((tr) => tr.interconnectionId === x.id);
      const on = t !== undefined && startUtcMs + stepMs > t.fromUtcMs && startUtcMs < t.untilUtcMs;
      return { interconnectionId: x.id, transferM3h: on ? t.transferM3h : 0 };
    });
    const tanksAt = network.tanks.map((t) => {
      const a = tanks.find((x) => x.tankId === t.id)!;
      const emptying = a.emptyUntilUtcMs !== null && startUtcMs < a.emptyUntilUtcMs;
      const filling = a.fillFromUtcMs !== null && startUtcMs + stepMs > a.fillFromUtcMs && (a.fillUntilUtcMs === null || startUtcMs < a.fillUntilUtcMs);
      return {
        tankId: t.id,
        inletM3h: filling ? Math.min(t.inletMaxM3h, t.envelope.inletM3h.max) : 0,
        outletM3h: emptying && !filling ? Math.min(t.outletMaxM3h, t.envelope.outletM3h.max) : 0,
      };
    });
    steps.push({ startUtcMs, stations, transfers: transfersAt, tanks: tanksAt });
  }
  rampFlowSetpoints(network, steps, heldFlowsOf(assessment), network.planning.cycleMin, clamped, true);
  for (const s of network.stations) {
    const d = drawdownOf.get(s.id);
    stationReasons.push({ objectId: s.id, reason: d?.reason ?? { zh: '本站汇水区无明显降雨，保持正常液位区间。', en: 'No significant rain on this catchment: normal band.' } });
  }
  for (const t of transfers) stationReasons.push({ objectId: t.interconnectionId, reason: t.reason });

  const levelName = responseLevelNames[response];
  const warningName = warningNames[warning];
  const summary: LocalisedText = {
    zh: `${warningName.zh}，启动${levelName.zh}应急响应：${drawdown.length}座泵站预降水位（最早${fmtTime(earliestStart, tz)}开始），预计${fmtTime(onset, tz)}起降雨；大流量模式运行。`,
    en: `${warningName.en}: ${levelName.en} response. Drawdown at ${drawdown.length} stations (first from ${fmtTime(earliestStart, tz)}), rain expected from ${fmtTime(onset, tz)}; high-flow mode.`,
  };
  const requiredRole = requiredRoleFor(response, config);
  const notifications: PlannedNotification[] = [
    ...audiencesFor(response).map((audience) => ({
      audience,
      severity: 'emergency' as const,
      title: `${warningName.zh}·${levelName.zh}应急预案待${roleNames[requiredRole].zh}批准 / ${warningName.en}: emergency plan for ${roleNames[requiredRole].en} approval`,
      text: `${summary.zh}\n\n${summary.en}`,
    })),
    {
      audience: 'crew',
      severity: 'warning',
      title: `防汛任务 ${crewTasks.length} 项 / ${crewTasks.length} flood tasks`,
      // Chinese first, then the same tasks in English.
      text: [
        ...crewTasks.map((t) => `- ${t.reason.zh}（${fmtTime(t.dueUtcMs, tz)}前，${t.location.latDeg.toFixed(4)},${t.location.lonDeg.toFixed(4)}）`),
        '',
        ...crewTasks.map((t) => `- ${t.reason.en} (by ${fmtTime(t.dueUtcMs, tz)}, ${t.location.latDeg.toFixed(4)},${t.location.lonDeg.toFixed(4)})`),
      ].join('\n'),
    },
  ];

  const setpointPlan: Plan = {
    planId: input.emergencyPlanId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: 'rule-based',
    operatingMode: 'flood-drawdown',
    stepMin,
    basis: { telemetryAtUtcMs: assessment.assessedAtUtcMs, forecastIssuedAtUtcMs: assessment.forecastIssuedAtUtcMs, forecastSource: assessment.forecastSource },
    steps,
    reasons: stationReasons,
    clamped,
  };

  return {
    emergencyPlanId: input.emergencyPlanId,
    revision: input.revision,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    warning,
    response,
    requiredRole,
    operatingMode: 'flood-drawdown',
    flowMode: 'high-flow',
    rainOnsetUtcMs: onset,
    rainEndUtcMs: rainEnd,
    basis: { assessedAtUtcMs: assessment.assessedAtUtcMs, forecastIssuedAtUtcMs: assessment.forecastIssuedAtUtcMs, forecastSource: assessment.forecastSource },
    drawdown,
    transfers,
    tanks,
    standbyPumps: drawdown.map((d) => ({ stationId: d.stationId, pumpsAllowed: d.pumpsAllowed })),
    overflowPriority,
    crewTasks,
    notifications,
    setpointPlan,
    summary,
  };
}

/**
 * The plan that returns every station to its normal band with duty pumps, and every transfer and tank flow to 0
 * (stand-down). One step, unless a band or flow SCADA holds (`inForce`, `heldFlows`) is further from where it
 * goes than the envelope's rate allows in one cycle: then a step each plan step until every setpoint is back.
 */
export function standDownPlan(
  network: NetworkConfig,
  planId: string,
  nowUtcMs: number,
  inForce: readonly { stationId: string; startLevelSpM: number | null; stopLevelSpM: number | null }[] = [],
  heldFlows: HeldFlowSetpoints = { transfers: [], tanks: [] },
): Plan {
  const stepMs = network.planning.stepMin * MS_PER_MIN;
  const bandSent = new Map(inForce.map((c) => [c.stationId, { startLevelM: c.startLevelSpM, stopLevelM: c.stopLevelSpM }]));
  const flowSent = new Map<string, number | null>([
    ...heldFlows.transfers.map((t) => [`x:${t.interconnectionId}`, t.transferSpM3h] as const),
    ...heldFlows.tanks.flatMap((t) => [[`in:${t.tankId}`, t.inletSpM3h ?? null] as const, [`out:${t.tankId}`, t.outletSpM3h ?? null] as const]),
  ]);
  const steps: PlanStep[] = [];
  const clamped: Plan['clamped'] = [];
  const MAX_STEPS = 96;
  for (let k = 0; k < MAX_STEPS; k++) {
    const startUtcMs = k === 0 ? nowUtcMs : Math.ceil((nowUtcMs + 1) / stepMs) * stepMs + (k - 1) * stepMs;
    const minutesSince = k === 0 ? network.planning.cycleMin : (startUtcMs - steps[k - 1]!.startUtcMs) / MS_PER_MIN;
    let reached = true;
    const stations: StationSetpoint[] = network.stations.map((s) => {
      const own = ownLevelBand(s);
      const band = clampLevelBand(own, s.envelope, bandSent.get(s.id) ?? { startLevelM: null, stopLevelM: null }, minutesSince);
      bandSent.set(s.id, { startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value });
      if (band.startLevelM.clamped || band.stopLevelM.clamped) {
        reached = false;
        if (band.startLevelM.clamped) clamped.push({ objectId: s.id, setpoint: 'startLevelM', wanted: own.startLevelM, sent: band.startLevelM.value, startUtcMs });
        if (band.stopLevelM.clamped) clamped.push({ objectId: s.id, setpoint: 'stopLevelM', wanted: own.stopLevelM, sent: band.stopLevelM.value, startUtcMs });
      }
      return { stationId: s.id, remoteControl: 'levelBand', startLevelM: band.startLevelM.value, stopLevelM: band.stopLevelM.value, flowM3h: 0, pumpsAllowed: s.pumps.length - s.standbyPumps };
    });
    // Transfers and tank flows ramp down to 0 from the values held, as the bands do.
    const toZero = (objectId: string, setpoint: string, key: string, envelope: Envelope): number => {
      const off = Math.min(envelope.max, Math.max(envelope.min, 0)); // an envelope that excludes 0 stops at its nearest bound
      const r = clampToEnvelope(off, envelope, flowSent.get(key) ?? null, minutesSince);
      flowSent.set(key, r.value);
      if (r.clamped) {
        reached = false;
        clamped.push({ objectId, setpoint, wanted: off, sent: r.value, startUtcMs });
      }
      return r.value;
    };
    steps.push({
      startUtcMs,
      stations,
      transfers: network.interconnections.map((x) => ({ interconnectionId: x.id, transferM3h: toZero(x.id, 'transferM3h', `x:${x.id}`, x.envelope.transferM3h) })),
      tanks: network.tanks.map((t) => ({ tankId: t.id, inletM3h: toZero(t.id, 'inletM3h', `in:${t.id}`, t.envelope.inletM3h), outletM3h: toZero(t.id, 'outletM3h', `out:${t.id}`, t.envelope.outletM3h) })),
    });
    if (reached) break;
  }
  return {
    planId,
    networkId: network.id,
    createdAtUtcMs: nowUtcMs,
    planner: 'rule-based',
    operatingMode: 'normal',
    stepMin: network.planning.stepMin,
    basis: { telemetryAtUtcMs: nowUtcMs, forecastIssuedAtUtcMs: null, forecastSource: 'none' },
    steps,
    reasons: network.stations.map((s) => ({ objectId: s.id, reason: { zh: '汛情解除：恢复正常液位区间，仅主泵运行。', en: 'Stand-down: normal band, duty pumps only.' } })),
    clamped,
  };
}
