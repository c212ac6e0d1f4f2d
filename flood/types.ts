// Flood season (汛期) as data: warning and response levels, the assessment of rain and network state,
// the emergency plan and the post-event report. Pure types and configuration defaults; no I/O, so the
// workflow sandbox may import them.
import type { Role } from '../contract/index.js';
import type { Audience, Severity } from '../notify/types.js';
import type { LocalisedText, Plan } from '../planner/types.js';

export type { Audience, Severity } from '../notify/types.js';

/** CMA rainstorm warning signals (暴雨预警信号), lowest to highest. */
export type WarningLevel = 'none' | 'blue' | 'yellow' | 'orange' | 'red';
/** Emergency response levels: IV 一般 (blue) → III 较重 (yellow) → II 严重 (orange) → I 特别严重 (red). */
export type ResponseLevel = 'IV' | 'III' | 'II' | 'I';

export const warningLevels: readonly WarningLevel[] = ['none', 'blue', 'yellow', 'orange', 'red'];
/** 0 (none) … 4 (red): the `warningLevel` field written to InfluxDB. */
export const warningRank = (level: WarningLevel): number => warningLevels.indexOf(level);
export const responseOfWarning: Readonly<Record<Exclude<WarningLevel, 'none'>, ResponseLevel>> = { blue: 'IV', yellow: 'III', orange: 'II', red: 'I' };
export const responseLevelNames: Readonly<Record<ResponseLevel, LocalisedText>> = {
  IV: { zh: 'Ⅳ级（一般）', en: 'level IV (general)' },
  III: { zh: 'Ⅲ级（较重）', en: 'level III (serious)' },
  II: { zh: 'Ⅱ级（严重）', en: 'level II (severe)' },
  I: { zh: 'Ⅰ级（特别严重）', en: 'level I (extremely severe)' },
};
export const warningNames: Readonly<Record<WarningLevel, LocalisedText>> = {
  none: { zh: '无预警', en: 'no warning' },
  blue: { zh: '暴雨蓝色预警', en: 'blue rainstorm warning' },
  yellow: { zh: '暴雨黄色预警', en: 'yellow rainstorm warning' },
  orange: { zh: '暴雨橙色预警', en: 'orange rainstorm warning' },
  red: { zh: '暴雨红色预警', en: 'red rainstorm warning' },
};

/** A warning is in force when rain over any `windowH`-hour window reaches `mm`. */
export interface WarningThreshold {
  level: Exclude<WarningLevel, 'none'>;
  windowH: number;
  mm: number;
}

/** China Meteorological Administration rainstorm warning signals. */
export const cmaThresholds: readonly WarningThreshold[] = [
  { level: 'blue', windowH: 12, mm: 50 },
  { level: 'yellow', windowH: 6, mm: 50 },
  { level: 'orange', windowH: 3, mm: 50 },
  { level: 'red', windowH: 3, mm: 100 },
];

export interface OverflowPointConfig {
  stationId: string;
  /** What the overflow would reach, e.g. "sea-outfall", "tidal-river", "river", "canal", "street". */
  receivingWater: string;
  /** Explicit harm (lower = less harmful); overrides the receiving water's harm. */
  harm?: number;
}

/** Names of the usual receiving waters (as the console's water.* labels); other codes are shown as configured. */
export const receivingWaterNames: Readonly<Record<string, LocalisedText>> = {
  'sea-outfall': { zh: '排海管', en: 'sea outfall' },
  'tidal-river': { zh: '感潮河道', en: 'tidal river' },
  river: { zh: '河道', en: 'river' },
  canal: { zh: '渠道', en: 'canal' },
  street: { zh: '路面积水', en: 'street flooding' },
};
export const receivingWaterName = (code: string): LocalisedText => receivingWaterNames[code] ?? { zh: code, en: code };

/** Role names for texts (the role codes are English words; Chinese texts need the names). */
export const roleNames: Readonly<Record<Role, LocalisedText>> = {
  viewer: { zh: '查看员', en: 'viewer' },
  dispatcher: { zh: '调度员', en: 'dispatcher' },
  supervisor: { zh: '主管', en: 'supervisor' },
  admin: { zh: '管理员', en: 'admin' },
};

export interface FloodConfig {
  thresholds: WarningThreshold[];
  /** Least senior role that may approve an emergency plan at each response level. */
  approvalRoles: Record<ResponseLevel, Role>;
  /** Forecast look-ahead for the warning and the plan. */
  lookAheadH: number;
  /** Observed windows ending within this many hours before now count as "observed now". */
  observedRecentH: number;
  /** Rain per hour that counts as raining (onset / end). */
  wetHourMm: number;
  /** Drawdown should be complete this long before rain onset. */
  drawdownMarginMin: number;
  /** Keep the flood bands this long after the forecast end of rain. */
  recoveryH: number;
  /** Stand down after this many consecutive checks without any warning. */
  standDownAfterQuietChecks: number;
  /** Re-plan when the forecast onset moves by more than this. */
  replanOnsetShiftMin: number;
  /** Re-plan when the forecast 12-h maximum changes by more than this fraction. */
  replanRainChangeFraction: number;
  overflowPoints: OverflowPointConfig[];
  /** Harm of an overflow by receiving water (lower = less harmful); unknown waters count 5. */
  receivingWaterHarm: Record<string, number>;
  crew: { mobilePumps: number; patrolStations: number };
  /** Escalation and final timeout of an unanswered emergency plan (domain minutes). */
  approval: { escalateAfterMin: number; approvalTimeoutMin: number };
  /** Longest emergency setpoint schedule. */
  emergencyHorizonH: number;
  /** Step of the emergency setpoint schedule; null = the network's planning step. */
  emergencyStepMin: number | null;
}

export const defaultFloodConfig: FloodConfig = {
  thresholds: cmaThresholds.map((t) => ({ ...t })),
  approvalRoles: { IV: 'dispatcher', III: 'dispatcher', II: 'supervisor', I: 'admin' },
  lookAheadH: 24,
  observedRecentH: 1,
  wetHourMm: 0.5,
  drawdownMarginMin: 60,
  recoveryH: 6,
  standDownAfterQuietChecks: 2,
  replanOnsetShiftMin: 120,
  replanRainChangeFraction: 0.3,
  overflowPoints: [],
  receivingWaterHarm: { 'sea-outfall': 1, 'tidal-river': 2, river: 3, canal: 4, street: 10 },
  crew: { mobilePumps: 2, patrolStations: 3 },
  approval: { escalateAfterMin: 15, approvalTimeoutMin: 60 },
  emergencyHorizonH: 24,
  emergencyStepMin: null,
};

/** Merge a partial configuration over the defaults (one level deep). */
export function floodConfig(partial: Partial<FloodConfig> = {}): FloodConfig {
  return {
    ...defaultFloodConfig,
    ...partial,
    approvalRoles: { ...defaultFloodConfig.approvalRoles, ...partial.approvalRoles },
    receivingWaterHarm: { ...defaultFloodConfig.receivingWaterHarm, ...partial.receivingWaterHarm },
    crew: { ...defaultFloodConfig.crew, ...partial.crew },
    approval: { ...defaultFloodConfig.approval, ...partial.approval },
  };
}

/** Hourly rain: value i fell over the hour ending at timeUtcMs[i]; null is a gap, never zero. */
export interface HourlyRain {
  timeUtcMs: number[];
  mm: (number | null)[];
}

export type RainSource = 'observed' | 'forecast';

/** The window that set a catchment's level from one source. */
export interface WarningEvidence {
  catchmentId: string;
  source: RainSource;
  level: WarningLevel;
  windowH: number;
  mm: number;
  windowEndUtcMs: number | null;
}

export interface CatchmentRain {
  catchmentId: string;
  stationId: string;
  observed: { mm3h: number; mm6h: number; mm12h: number; lastHourMm: number; gaps: number };
  forecast: { max3hMm: number; max6hMm: number; max12hMm: number; totalMm: number; gaps: number };
  onsetUtcMs: number | null;
  endUtcMs: number | null;
  level: WarningLevel;
}

export interface StationCondition {
  stationId: string;
  levelM: number | null;
  inflowM3h: number | null;
  overflowM3h: number | null;
  pumpsAvailable: number | null;
  pumpsRunning: number | null;
  mode: 'local' | 'remote' | null;
  /** The band SCADA holds (absent in assessments recorded before it was read): plans move from it at the envelope's rate. */
  startLevelSpM?: number | null;
  stopLevelSpM?: number | null;
}

export interface FloodAssessment {
  networkId: string;
  assessedAtUtcMs: number;
  warning: WarningLevel;
  response: ResponseLevel | null;
  /** Highest level per source (就高不就低: the higher applies). */
  bySource: Record<RainSource, WarningLevel>;
  /** The evidence behind the network level (highest windows first). */
  evidence: WarningEvidence[];
  catchments: CatchmentRain[];
  /** Earliest forecast (or ongoing) rain onset and latest end over the catchments with rain. */
  onsetUtcMs: number | null;
  endUtcMs: number | null;
  stations: StationCondition[];
  plants: { plantId: string; inflowM3h: number | null; bypassM3h: number | null }[];
  /** Tank state; the inlet/outlet setpoints SCADA holds are absent in assessments recorded before they were read. */
  tanks: { tankId: string; volumeM3: number | null; inletSpM3h?: number | null; outletSpM3h?: number | null }[];
  /** Transfer setpoints SCADA holds (absent in older assessments): plans move from them at the envelope's rate. */
  transfers?: { interconnectionId: string; transferSpM3h: number | null }[];
  forecastIssuedAtUtcMs: number | null;
  forecastSource: string;
  /** Problems with the inputs (missing forecast, unreadable tags...), in plain words. */
  notes: string[];
}

export interface CrewTask {
  taskId: string;
  kind: 'mobile-pump' | 'patrol' | 'standby-pump-check' | 'overflow-standby';
  stationId: string;
  location: { latDeg: number; lonDeg: number };
  dueUtcMs: number;
  reason: LocalisedText;
}

export interface PlannedNotification {
  audience: Audience;
  severity: Severity;
  title: string;
  text: string;
}

export interface DrawdownAction {
  stationId: string;
  fromLevelM: number | null;
  /** Level the timing assumed when fromLevelM was unknown (the high alarm: the worst case). */
  assumedFromLevelM?: number;
  targetStartLevelM: number;
  stopLevelM: number;
  pumpsAllowed: number;
  startByUtcMs: number;
  estimatedDurationMin: number;
  reason: LocalisedText;
}

export interface TransferAction {
  interconnectionId: string;
  transferM3h: number;
  towardPlantId: string | null;
  fromUtcMs: number;
  untilUtcMs: number;
  reason: LocalisedText;
}

export interface TankAction {
  tankId: string;
  emptyUntilUtcMs: number | null;
  fillFromUtcMs: number | null;
  fillUntilUtcMs: number | null;
  reason: LocalisedText;
}

export interface OverflowPriority {
  stationId: string;
  rank: number;
  receivingWater: string;
  harm: number;
  reason: LocalisedText;
}

export interface EmergencyPlan {
  emergencyPlanId: string;
  revision: number;
  networkId: string;
  createdAtUtcMs: number;
  warning: WarningLevel;
  response: ResponseLevel;
  requiredRole: Role;
  operatingMode: 'flood-drawdown';
  /** Named operating mode the plan assumes (大流量模式). */
  flowMode: 'high-flow';
  rainOnsetUtcMs: number | null;
  rainEndUtcMs: number | null;
  basis: { assessedAtUtcMs: number; forecastIssuedAtUtcMs: number | null; forecastSource: string };
  drawdown: DrawdownAction[];
  transfers: TransferAction[];
  tanks: TankAction[];
  /** Stations where standby pumps are released, and how many pumps in all may run. */
  standbyPumps: { stationId: string; pumpsAllowed: number }[];
  overflowPriority: OverflowPriority[];
  crewTasks: CrewTask[];
  notifications: PlannedNotification[];
  /** The setpoint schedule that is dispatched once approved. */
  setpointPlan: Plan;
  summary: LocalisedText;
}

export interface FloodAction {
  atUtcMs: number;
  kind:
    | 'warning-raised'
    | 'warning-lowered'
    | 'plan-proposed'
    | 'plan-approved'
    | 'plan-rejected'
    | 'plan-auto-approved'
    | 'plan-escalated'
    | 'plan-expired'
    | 'plan-superseded'
    | 'dispatch-started'
    | 'notification'
    | 'crew-task'
    | 'stand-down'
    /** A message that was not delivered (its audience was not told). */
    | 'notification-failed'
    /** The forecast was missing: the check neither lowered the level nor counted as quiet. */
    | 'inputs-missing'
    /** The emergency plan in force ended early: replaced by another plan, or its dispatch failed. */
    | 'plan-replaced'
    /** An activity of the season failed (plan build, dispatch start, report write); retried where it can be. */
    | 'activity-failed';
  detail: string;
  by?: string;
  planId?: string;
}

export interface StationEventStats {
  stationId: string;
  maxLevelM: number | null;
  maxLevelAtUtcMs: number | null;
  /** Lowest level seen between the first plan and rain onset (did the drawdown happen?). */
  minLevelBeforeOnsetM: number | null;
  /** Overflow volume estimated from the sampled overflow flow × check interval. */
  overflowM3: number;
  overflowSamples: number;
}

/** What the flood-season workflow keeps about the event in progress. */
export interface FloodEventLog {
  eventId: string;
  networkId: string;
  startedAtUtcMs: number;
  endedAtUtcMs: number | null;
  peakWarning: WarningLevel;
  peakResponse: ResponseLevel | null;
  levels: { atUtcMs: number; warning: WarningLevel; response: ResponseLevel | null; observed: WarningLevel; forecast: WarningLevel }[];
  actions: FloodAction[];
  stations: StationEventStats[];
  /** The forecast behind the first plan, for plan against actual. */
  firstForecast: { atUtcMs: number; onsetUtcMs: number | null; endUtcMs: number | null; catchments: { catchmentId: string; max3hMm: number; max12hMm: number; totalMm: number }[] } | null;
  plans: { emergencyPlanId: string; revision: number; response: ResponseLevel; proposedAtUtcMs: number; decidedAtUtcMs: number | null; decidedBy: string | null; role: string | null; outcome: string; planWorkflowId: string | null; drawdownStations: number; earliestStartByUtcMs: number | null; targetLevels: Record<string, number> }[];
  observedOnsetUtcMs: number | null;
}

export interface ObservedRainSummary {
  catchmentId: string;
  /** Over the known hours; null when no hour of the period was observed (unknown, never 0). */
  totalMm: number | null;
  max3hMm: number | null;
  max6hMm: number | null;
  max12hMm: number | null;
  onsetUtcMs: number | null;
  endUtcMs: number | null;
  /** Hours of the period not observed (missing or null): the totals are then a lower bound. */
  gaps: number;
  knownHours?: number;
}

/** Where a report's station figures come from: InfluxDB telemetry over the event, or the season's checks (a fallback). */
export type FigureSource = 'telemetry' | 'snapshots' | 'mixed';

/** Station figures over the event from InfluxDB telemetry (integral of overflowM3h, max and min of levelM). */
export interface StationTelemetrySummary {
  stationId: string;
  maxLevelM: number | null;
  maxLevelAtUtcMs: number | null;
  /** null: no overflowM3h telemetry over the event. */
  overflowM3: number | null;
  /** Lowest level from the approval of the plan that set the station's drawdown target until rain onset (null: not asked or no data). */
  minLevelAfterApprovalM: number | null;
}

/** How a dispatched plan went, from its plan_event records. Step numbers count from 1. */
export interface DispatchOutcomeSummary {
  planId: string;
  stepsApplied: number;
  failedSteps: { stepNumber: number | null; failed: number; atUtcMs: number }[];
  handBacks: { atUtcMs: number; detail: string }[];
  linkWriteFailures: { atUtcMs: number; detail: string }[];
  dispatchFailed: { atUtcMs: number; detail: string } | null;
}

export interface FloodReport {
  reportId: string;
  eventId: string;
  networkId: string;
  startedAtUtcMs: number;
  endedAtUtcMs: number;
  durationH: number;
  peakWarning: WarningLevel;
  peakResponse: ResponseLevel | null;
  /** Network maxima are null when no observed rain was available (unknown, never 0). */
  rain: { catchments: ObservedRainSummary[]; networkMaxTotalMm: number | null; networkMax3hMm: number | null; networkMax12hMm: number | null };
  /** Station maxima from telemetry over the event, or from the season's checks (source says which). */
  levels: { timeline: FloodEventLog['levels']; stations: StationEventStats[]; source?: FigureSource };
  /** Overflow: the integral of overflowM3h over the event, or the checks' samples × interval (source says which). */
  overflows: { totalM3: number; stations: { stationId: string; overflowM3: number }[]; source?: FigureSource };
  actions: FloodAction[];
  planAgainstActual: {
    onset: { forecastUtcMs: number | null; observedUtcMs: number | null; errorMin: number | null };
    rain: { catchmentId: string; forecastMax3hMm: number; observedMax3hMm: number | null; forecastMax12hMm: number; observedMax12hMm: number | null; forecastTotalMm: number; observedTotalMm: number | null }[];
    /** Targets only from dispatched plans (planId); the minimum level from that plan's approval until onset when telemetry has it. */
    drawdown: { stationId: string; planId?: string | null; targetStartLevelM: number | null; minLevelBeforeOnsetM: number | null; minLevelSource?: 'after-approval' | 'snapshots-since-event-start' | 'approved-after-onset' | null; reachedTarget: boolean | null }[];
    /** plannedM3: the first dispatched plan's predicted overflow; null when no dispatched plan predicted one. */
    overflow: { plannedM3: number | null; plannedByPlanId?: string | null; actualM3: number };
    plans: FloodEventLog['plans'];
  };
  /** Dispatch outcomes of the event's dispatched plans; null when they could not be read. */
  dispatch?: DispatchOutcomeSummary[] | null;
  /** What the report had to fall back on or could not know, in plain words. */
  notes?: LocalisedText[];
  summary: LocalisedText;
  generatedAtUtcMs: number;
}
