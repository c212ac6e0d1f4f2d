// Data that activities hand to workflows: plain, serialisable, with units in names.

export interface TagReading {
  objectId: string;
  tag: string;
  nodeId: string;
  value: number | boolean | null;
  /** OPC UA status code name, e.g. "Good", "BadSensorFailure", "UncertainLastUsableValue". */
  statusCode: string;
  good: boolean;
  sourceTimeUtcMs: number | null;
}

export interface StationState {
  stationId: string;
  levelM: number | null;
  inflowM3h: number | null;
  outflowM3h: number | null;
  pumpsRunning: number | null;
  pumpsAvailable: number | null;
  mode: 'local' | 'remote' | null;
  remoteActive: boolean | null;
  startLevelSpM: number | null;
  stopLevelSpM: number | null;
  flowSpM3h: number | null;
}

export interface NetworkSnapshot {
  networkId: string;
  readAtUtcMs: number;
  stations: StationState[];
  readings: TagReading[];
  /** Tags whose status was not Good: their values are not used for planning. */
  badTagCount: number;
}

export interface LocationRainForecast {
  catchmentId: string;
  timeUtcMs: number[];
  /** Rain over the step ending at the time; null marks a gap in the forecast, never a silent zero. */
  precipitationMm: (number | null)[];
}

export interface RainForecast {
  issuedAtUtcMs: number;
  source: string;
  stepMin: number;
  locations: LocationRainForecast[];
}
