// What a plan is: per-step setpoints for SCADA, with the reasons a dispatcher reads. Pure data.

export interface LocalisedText {
  zh: string;
  en: string;
}

export type RemoteControlKind = 'levelBand' | 'flow';

export interface StationSetpoint {
  stationId: string;
  remoteControl: RemoteControlKind;
  startLevelM: number;
  stopLevelM: number;
  /** Only followed when remoteControl is 'flow'. */
  flowM3h: number;
  pumpsAllowed: number;
}

export interface TransferSetpoint {
  interconnectionId: string;
  /** Positive from the interconnection's `a` to `b`. */
  transferM3h: number;
}

export interface TankSetpoint {
  tankId: string;
  inletM3h: number;
  outletM3h: number;
}

export interface PlanStep {
  startUtcMs: number;
  /** Length of the step; absent means `Plan.stepMin` (the optimiser's first step may be shorter, to align later steps). */
  durationMin?: number;
  stations: StationSetpoint[];
  transfers: TransferSetpoint[];
  tanks: TankSetpoint[];
}

export interface StationReason {
  objectId: string;
  reason: LocalisedText;
}

export type OperatingMode = 'normal' | 'flood-drawdown';

export interface Plan {
  planId: string;
  networkId: string;
  createdAtUtcMs: number;
  planner: 'rule-based' | 'mpc';
  operatingMode: OperatingMode;
  stepMin: number;
  /** What the plan was built on, so a dispatcher can judge its freshness. */
  basis: { telemetryAtUtcMs: number; forecastIssuedAtUtcMs: number | null; forecastSource: string };
  steps: PlanStep[];
  reasons: StationReason[];
  /** Setpoints the planner wanted but the safety envelope would not allow, and what was sent instead. */
  clamped: { objectId: string; setpoint: string; wanted: number; sent: number; /** Step the clamp applies to (absent: the first). */ startUtcMs?: number }[];
  /** What the optimiser expects to happen if the plan is followed (mpc only). */
  predicted?: PlanPrediction;
  /** How the optimisation went (mpc only). */
  solver?: SolverStats;
  /** Present when the plan is not the optimiser's full answer: which fallback produced it, and why. */
  fallback?: PlanFallback;
  /** Inputs the planner had to assume (unknown levels, missing inflow series, ...). */
  assumptions?: LocalisedText[];
}

/** Predicted trajectories on the plan's step grid (one value per plan step). Flows are step means. */
export interface PlanPrediction {
  /** Which inflow the trajectories follow: the deterministic forecast, or member 0 when only members were given. */
  scenarioId: string;
  /** Number of inflow scenarios optimised together (deterministic plus ensemble members). */
  scenarioCount: number;
  stations: PredictedStation[];
  plants: PredictedPlant[];
  tanks: PredictedTank[];
  transfers: PredictedTransfer[];
  /** Totals over the horizon for the shown scenario. */
  energyKwh: number;
  costCny: number;
  overflowM3: number;
  bypassM3: number;
  energyKwhByStep: number[];
  costCnyByStep: number[];
  /** Overflow risk over all scenarios, per station and tank. */
  risk: OverflowRisk[];
}

export interface PredictedStation {
  stationId: string;
  /** Level at the end of each step. */
  levelM: number[];
  inflowM3h: number[];
  pumpedM3h: number[];
  /** Part of the pumped flow that needs standby pumps. */
  standbyM3h: number[];
  overflowM3h: number[];
}

export interface PredictedPlant {
  plantId: string;
  inflowM3h: number[];
  bypassM3h: number[];
}

export interface PredictedTank {
  tankId: string;
  /** Volume at the end of each step. */
  volumeM3: number[];
  inletM3h: number[];
  outletM3h: number[];
  overflowM3h: number[];
}

export interface PredictedTransfer {
  interconnectionId: string;
  /** Positive from the interconnection's `a` to `b`. */
  transferM3h: number[];
}

export interface OverflowRisk {
  objectId: string;
  /** Share of scenarios in which the object overflows (more than a trace volume). */
  probability: number;
  /** Overflow volume averaged over scenarios. */
  expectedVolumeM3: number;
  worstVolumeM3: number;
  scenarioCount: number;
}

export interface SolverPriorityStats {
  name: string;
  status: string;
  objective: number | null;
  iterations: number;
  solveMs: number;
}

export interface SolverStats {
  engine: 'highs';
  algorithm: 'simplex' | 'ipm' | 'choose';
  /** 'optimal' when every priority was solved; otherwise the status that stopped the sequence. */
  status: string;
  /** Which formulation produced the schedule. */
  formulation: 'strict' | 'relaxed';
  /** Objective of the last priority solved. */
  objective: number | null;
  iterations: number;
  solveMs: number;
  wallMs: number;
  columns: number;
  rows: number;
  nonzeros: number;
  priorities: SolverPriorityStats[];
}

export type PlanFallbackKind = 'partial' | 'relaxed' | 'previous-plan' | 'rule-based';

export interface PlanFallback {
  kind: PlanFallbackKind;
  reason: LocalisedText;
}
