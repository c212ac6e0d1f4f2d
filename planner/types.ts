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
  clamped: { objectId: string; setpoint: string; wanted: number; sent: number }[];
}
