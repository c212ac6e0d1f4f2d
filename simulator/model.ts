// Digital twin of the sewer network: a mass-balance simulation with station PLC logic, exposed as tag values.
// Pure and deterministic: no I/O, no wall clock, no Math.random; all randomness comes from the seed.
// The hot loop works on preallocated typed arrays indexed by station / pump / link number.
import { DEFAULT_VFD_MIN_SPEED_FRACTION, MIN_LEVEL_BAND_GAP_M, VFD_DESTAGE_FRACTION, type NetworkConfig, type QualityParameter } from '../network/schema.js';
import { RemoteControl, StationMode, resolveTagMap } from '../network/tags.js';
import type { ResolvedTag, TagDataType } from '../network/tags.js';
import { createCalendar, usesWeekendProfile, type LocalCalendar } from '../forecasting/calendar.js';
import type { DayCalendar } from '../network/day-calendar.js';
import { mulberry32 } from '../scenarios/random.js';
export { mulberry32 } from '../scenarios/random.js';

/** Rain intensity at a point and time (mm/min); the simulation multiplies by its step length. */
export type RainMmPerMin = (latDeg: number, lonDeg: number, timeUtcMs: number) => number;

export type ControlMode = 'local' | 'remote';
export type TagQuality = 'good' | 'uncertain' | 'bad';
export type TagValue = number | boolean;

export interface TagReading {
  value: TagValue;
  quality: TagQuality;
  dataType: TagDataType;
}

export type TagErrorCode = 'UnknownObject' | 'UnknownTag' | 'ReadOnly' | 'TypeMismatch' | 'OutOfRange' | 'NoCommunication';

/** A rejected tag read or write; `code` lets the OPC UA layer map it to a status code. */
export class TagAccessError extends Error {
  override readonly name = 'TagAccessError';
  constructor(
    readonly code: TagErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface SimulationOptions {
  network: NetworkConfig;
  /** Simulation start (UTC ms); aligned to the step. */
  startUtcMs: number;
  /** Step length in seconds; must divide 60 (1 min or finer). Default 60. */
  stepS?: number;
  /** Seed of every random component (DWF noise, analyser noise). Default 1. */
  seed?: number;
  /** Rain input; no rain when omitted. */
  rainMmPerMin?: RainMmPerMin;
  /** Initial wet-well level per station id; default midway between pump-stop and pump-start. */
  initialLevelsM?: Record<string, number>;
  /** Initial tank volume per tank id; default empty. */
  initialTankVolumesM3?: Record<string, number>;
  /** PLC mode switch at start, for all stations or per station id; default remote. */
  initialModes?: ControlMode | Record<string, ControlMode>;
  /** PLC watchdog in simulated seconds; default network.opcua.watchdogTimeoutS. */
  watchdogTimeoutS?: number;
  /** Standard deviation of the hourly multiplicative DWF noise (AR(1)); default 0.03, 0 disables. */
  dwfNoiseFraction?: number;
  /** Standard deviation of analyser measurement noise as a fraction of the value; default 0.01. */
  analyserNoiseFraction?: number;
  /** How fast the RTK initial abstraction recovers in dry steps (mm/day); default 1. */
  iaRecoveryMmPerDay?: number;
  /** Concentrations carried by RDII water (diluting the dry-weather values); defaults are rain-like. */
  rdiiQuality?: Partial<Record<QualityParameter, number>>;
  /** Integral time of the VFD level PI controller (min); default 20. */
  piIntegralMin?: number;
  /** Depth used to report tank level from volume (m); default 6. */
  tankDepthM?: number;
  /** In REMOTE, at the high-alarm level the PLC overrides setpoints with local control until pump-start; default true. */
  highLevelOverride?: boolean;
  /** An offline/combined tank inlet opens fully while its station is at high alarm; default true. */
  tankHighLevelProtection?: boolean;
  /** Level rise above the cut-out level before a flow-controlled station may restart (m); default 0.2. */
  dryRunHysteresisM?: number;
}

export interface PollutionSpike {
  /** Station (wet well) or plant where the polluted water enters. */
  nodeId: string;
  parameter: QualityParameter;
  /** Excess concentration of the local inflow during the spike (mg/L, or pH units for ph). */
  excessValue: number;
  startUtcMs: number;
  durationMin: number;
}

export interface OverflowEvent {
  objectId: string;
  kind: 'station-overflow' | 'tank-overflow' | 'plant-bypass';
  startUtcMs: number;
  /** null while still going on. */
  endUtcMs: number | null;
  volumeM3: number;
}

export interface PumpStart {
  stationId: string;
  pumpId: string;
  atUtcMs: number;
}

export interface StationSummary {
  inflowM3: number;
  pumpedM3: number;
  overflowM3: number;
  overflowEvents: number;
  overflowMin: number;
  pumpStarts: number;
  peakLevelM: number;
  energyKwh: number;
  costCny: number;
}

export interface PlantSummary {
  inflowM3: number;
  treatedM3: number;
  bypassM3: number;
  bypassEvents: number;
  peakInflowM3h: number;
}

export interface TankSummary {
  inletM3: number;
  outletM3: number;
  overflowM3: number;
  peakVolumeM3: number;
  energyKwh: number;
  costCny: number;
}

export interface InterconnectionSummary {
  aToBM3: number;
  bToAM3: number;
  energyKwh: number;
  costCny: number;
}

/** inflowM3 = treatedM3 + bypassM3 + overflowM3 + storageChangeM3 + inTransitM3 + errorM3. */
export interface MassBalance {
  inflowM3: number;
  treatedM3: number;
  bypassM3: number;
  /** Station SSO plus tank overflow that leaves the network. */
  overflowM3: number;
  storageChangeM3: number;
  inTransitM3: number;
  errorM3: number;
}

export interface SimulationSummary {
  startUtcMs: number;
  endUtcMs: number;
  steps: number;
  stepS: number;
  seed: number;
  inflow: { dwfM3: number; groundwaterM3: number; rdiiM3: number; totalM3: number };
  rainDepthMm: Record<string, number>;
  stations: Record<string, StationSummary>;
  plants: Record<string, PlantSummary>;
  tanks: Record<string, TankSummary>;
  interconnections: Record<string, InterconnectionSummary>;
  totals: { overflowM3: number; overflowEvents: number; bypassM3: number; energyKwh: number; costCny: number; pumpStarts: number };
  massBalance: MassBalance;
}

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;
const M3_PER_MM_HA = 10; // 1 mm of rain on 1 ha
const QUALITY_PARAMETERS: readonly QualityParameter[] = ['codMgL', 'nh3nMgL', 'tpMgL', 'tnMgL', 'ssMgL', 'ph'];
const NQ = QUALITY_PARAMETERS.length;
const DEFAULT_RDII_QUALITY: Record<QualityParameter, number> = { codMgL: 40, nh3nMgL: 2, tpMgL: 0.3, tnMgL: 4, ssMgL: 60, ph: 7.0 };
const DWF_NOISE_AUTOCORRELATION = 0.8; // hour to hour

// Which logic drives a station in a step.
const Ctl = { Local: 0, Band: 1, Flow: 2 } as const;

// --- Randomness and time ---------------------------------------------------------------------------


/** Order-independent noise: a hash of (seed, step, a, b) → [0, 1), so reads never advance a stream. */
function hashUnit(seed: number, step: number, a: number, b: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step + 0x27d4eb2f, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(a + 0x165667b1, 0x9e3779b1) ^ Math.imul(b + 0x61c88647, 0x85ebca77);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4_294_967_296;
}

function normalFromUnits(u1: number, u2: number): number {
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

function minutesOfClock(clock: string): number {
  const [h, m] = clock.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

/** Fraction of a triangular unit hydrograph (peak at tH, base tH·(1+k)) released by time tH. */
function triangleCumulative(tH: number, peakH: number, baseH: number): number {
  if (tH <= 0) return 0;
  if (tH >= baseH) return 1;
  const height = 2 / baseH;
  if (tH <= peakH) return (height * tH * tH) / (2 * peakH);
  const rest = baseH - tH;
  return 1 - (height * rest * rest) / (2 * (baseH - peakH));
}

/**
 * RTK unit-hydrograph convolution in O(taps) per step. The per-step weights of a triangle are linear in the
 * lag on each limb, so their second difference is zero except near the start, the peak and the base: the
 * output follows y[i] = 2·y[i−1] − y[i−2] + Σ d2w[j]·x[i−j] over a handful of taps.
 */
export class RtkFilter {
  private readonly lags: Int32Array;
  private readonly coefs: Float64Array;
  /** Inputs, written twice (at pos and pos + len) so every lag reads without wrapping. */
  private readonly history: Float64Array;
  private readonly len: number;
  private readonly maxLag: number;
  /** y[i−1], y[i−2] and the step of the last non-zero input; a typed array keeps their representation fixed for the JIT. */
  private readonly state = Float64Array.of(0, 0, Number.NEGATIVE_INFINITY);

  /** `kernel[j]`: output per unit input j steps earlier. */
  constructor(readonly kernel: Float64Array) {
    const n = kernel.length;
    const w = (j: number) => (j >= 0 && j < n ? kernel[j]! : 0);
    let scale = 0;
    for (let j = 0; j < n; j++) scale = Math.max(scale, Math.abs(kernel[j]!));
    const lags: number[] = [];
    const coefs: number[] = [];
    for (let j = 0; j <= n + 1; j++) {
      const d2 = w(j) - 2 * w(j - 1) + w(j - 2);
      // Rounding leaves ~1e-17 on the straight limbs; dropping it changes the volume by far less than 1e-9.
      if (Math.abs(d2) > scale * 1e-11) {
        lags.push(j);
        coefs.push(d2);
      }
    }
    this.lags = Int32Array.from(lags);
    this.coefs = Float64Array.from(coefs);
    this.maxLag = n + 1;
    this.len = n + 2;
    this.history = new Float64Array(2 * this.len);
  }

  /** Feed the input of step `stepIndex` (steps must be consecutive) and return the output of that step. */
  step(stepIndex: number, input: number): number {
    const state = this.state;
    // Drained and reset, with dry input: every history slot is already 0, so there is nothing to do.
    if (input === 0 && stepIndex - state[2]! > this.maxLag && state[0] === 0 && state[1] === 0) return 0;
    const history = this.history;
    const len = this.len;
    const pos = stepIndex % len;
    history[pos] = input;
    history[pos + len] = input;
    if (input !== 0) state[2] = stepIndex;
    if (stepIndex - state[2]! > this.maxLag) {
      // Every earlier input has fully drained: reset, so rounding cannot drift the recursion.
      state[0] = 0;
      state[1] = 0;
      return 0;
    }
    const { lags, coefs } = this;
    const top = pos + len;
    let d2 = 0;
    for (let k = 0; k < lags.length; k++) d2 += coefs[k]! * history[top - lags[k]!]!;
    const y1 = state[0]!;
    const y = 2 * y1 - state[1]! + d2;
    state[1] = y1;
    state[0] = y;
    return y > 0 ? y : 0;
  }
}

function modPositive(value: number, modulus: number): number {
  const r = value % modulus;
  return r < 0 ? r + modulus : r;
}

// --- The simulation ----------------------------------------------------------------------------------

interface TagAddress {
  def: ResolvedTag;
  kind: ResolvedTag['objectKind'];
  index: number;
  /** For analysers: position in QUALITY_PARAMETERS. */
  qualityIndex: number;
}

export class Simulation {
  readonly network: NetworkConfig;
  readonly stepS: number;
  readonly seed: number;
  readonly startUtcMs: number;
  readonly tagMap: readonly ResolvedTag[];

  private tMs: number;
  private stepIndex = 0;
  private readonly dtH: number;
  private readonly rain: RainMmPerMin | undefined;
  private readonly random: () => number;
  private watchdogMs: number;
  /** The watchdog's time base (ms): simulated time by default; wall time under a fast clock (setWatchdogClock). */
  private watchdogNowMs: (() => number) | null = null;
  private readonly opts: Required<
    Pick<SimulationOptions, 'dwfNoiseFraction' | 'analyserNoiseFraction' | 'iaRecoveryMmPerDay' | 'piIntegralMin' | 'tankDepthM' | 'highLevelOverride' | 'tankHighLevelProtection' | 'dryRunHysteresisM'>
  >;
  private readonly rdiiQuality = new Float64Array(NQ);

  // Calendar (refreshed once per UTC hour).
  private readonly utcOffset: (utcMs: number) => number;
  private calendarHour = Number.NaN;
  private offsetMs = 0;
  private offsetCheckedHour = Number.NaN;
  private readonly fixedOffset: boolean;
  private monthIndex = 0;
  /** Whether the local day takes the weekend dry-weather pattern (weekends and listed holidays; not 调休 workdays). */
  private restDay = false;
  private readonly localCalendar: LocalCalendar;
  private readonly dayCalendar: DayCalendar | undefined;
  private readonly pricePerLocalMin = new Float64Array(24 * 60);
  private floodSeason = false;

  // Stations.
  private readonly S: number;
  private readonly stationIds: string[];
  private readonly stationIndex = new Map<string, number>();
  private readonly vol: Float64Array;
  private readonly levelM: Float64Array;
  private readonly vMax: Float64Array;
  private readonly vFloor: Float64Array;
  private readonly prismaticArea: Float64Array; // 0 for table wells
  private readonly tables: (Float64Array | null)[]; // level, volume interleaved
  private readonly areaAtTarget: Float64Array;
  private readonly pumpStopM: Float64Array;
  private readonly pumpStartM: Float64Array;
  private readonly floodStartM: Float64Array;
  private readonly highAlarmM: Float64Array;
  private readonly overflowM: Float64Array;
  private readonly dutyCount: Int32Array;
  private readonly meanCapM3h: Float64Array;
  private readonly allVfd: Uint8Array;
  private readonly specificEnergy: Float64Array;
  private readonly mainCapM3h: Float64Array;
  private readonly stationLink: Int32Array;
  private readonly mode: Uint8Array;
  private readonly hbValue: Float64Array;
  private readonly hbTimeMs: Float64Array;
  private readonly spStart: Float64Array;
  private readonly spStop: Float64Array;
  private readonly spFlow: Float64Array;
  private readonly spPumpsAllowed: Int32Array;
  private readonly spRemoteCtl: Int32Array;
  private readonly demand: Int32Array; // fixed-speed staging: pumps demanded
  private readonly vfdOn: Uint8Array;
  private readonly piIntegral: Float64Array;
  private readonly cutout: Uint8Array;
  private readonly override: Uint8Array;
  /** 1 while a station's standby pump(s) may run under local control: set at the high alarm, cleared at the stop level or when the PI destages to duty. */
  private readonly standbyLatch: Uint8Array;
  /** 1 while a well is at its stop level: transfers and tank inlets drawing on it stop (resume dryRunHysteresisM above). */
  private readonly drawCut: Uint8Array;
  private readonly stuck: Uint8Array;
  private readonly stuckLevel: Float64Array;
  private readonly stuckQuality: TagQuality[];
  private readonly flowCmdM3h: Float64Array;
  private readonly pumpDemandM3: Float64Array;
  private readonly otherDemandM3: Float64Array;
  private readonly drawFactor: Float64Array;
  private readonly rdiiFracOut: Float64Array;
  private readonly wellRdii: Float64Array;
  private readonly wellSpike: Float64Array; // S × NQ excess mass (conc × m3)
  private readonly spikeOut: Float64Array; // S × NQ excess concentration of outflow this step
  private readonly csTankAt: Int32Array;
  // Station statistics and last-step flows.
  private readonly lastInM3: Float64Array;
  private readonly lastPumpM3: Float64Array;
  private readonly lastOvfM3: Float64Array;
  private readonly stInflowM3: Float64Array;
  private readonly stPumpedM3: Float64Array;
  private readonly stOverflowM3: Float64Array;
  private readonly stOverflowEvents: Int32Array;
  private readonly stOverflowSteps: Int32Array;
  private readonly stPeakLevel: Float64Array;
  private readonly stEnergyKwh: Float64Array;
  private readonly stCostCny: Float64Array;
  private readonly stStarts: Float64Array;
  private readonly stOpenEvent: (OverflowEvent | null)[];

  // Pumps (flattened over stations).
  private readonly P: number;
  private readonly pumpFirst: Int32Array;
  private readonly pumpCount: Int32Array;
  private readonly pumpIds: string[];
  private readonly pumpStation: Int32Array;
  private readonly pumpCap: Float64Array;
  private readonly pumpMinSpeed: Float64Array;
  private readonly pumpAvail: Uint8Array;
  private readonly pumpRunning: Uint8Array;
  private readonly pumpSpeed: Float64Array;
  /** Run time (s) up to the pump's last start (while running) or stop; see runSeconds. */
  private readonly pumpRunS: Float64Array;
  /** Step index at which a running pump started. */
  private readonly pumpOnSince: Int32Array;
  /** Per station: pumps available (not tripped), and whether the running set changed since fixedFlow last ran. */
  private readonly availableCount: Int32Array;
  private readonly runningChanged: Uint8Array;
  private readonly maxStarts: Int32Array;
  private readonly startRingFirst: Int32Array;
  private readonly startRing: Float64Array;
  private readonly startRingPos: Int32Array;
  private readonly startLog: number[] = []; // pump index, time, pump index, time, ...

  // Catchments.
  private readonly C: number;
  private readonly catchNode: Int32Array;
  private readonly catchLat: Float64Array;
  private readonly catchLon: Float64Array;
  private readonly catchAreaHa: Float64Array;
  private readonly catchMeanM3h: Float64Array;
  private readonly catchGwM3h: Float64Array;
  private readonly catchPattern: Int32Array;
  private readonly catchIaMax: Float64Array;
  private readonly catchIa: Float64Array;
  private readonly catchNoise: Float64Array;
  private readonly catchRtk: RtkFilter[]; // m3 of RDII per mm of effective rain
  private readonly catchRain: Float64Array;
  private readonly patterns: { weekday: Float64Array; weekend: Float64Array; weekdayFactor: number; weekendFactor: number; monthly: Float64Array | null }[];
  private readonly inCatchM3: Float64Array;
  private readonly inCatchRdii: Float64Array;
  private totDwfM3 = 0;
  private totGwM3 = 0;
  private totRdiiM3 = 0;

  // Links: pure delay lines (mains, interconnection directions, tank outlets and weirs).
  private readonly L: number;
  private readonly linkDest: Int32Array;
  private readonly linkOff: Int32Array;
  private readonly linkLen: Int32Array;
  private readonly linkHead: Int32Array;
  private readonly buf: Float64Array;
  private readonly bufRdii: Float64Array;
  private readonly bufSpike: Float64Array; // × NQ
  private readonly arrV: Float64Array; // per node
  private readonly arrRdii: Float64Array;
  private readonly arrSpike: Float64Array; // per node × NQ
  private spikesOn = false;
  /** Excess pollutant mass entering each well with its local inflow this step (S × NQ); allocated on the first spike. */
  private spikeIn = new Float64Array(0);
  private readonly spikes: PollutionSpike[] = [];
  private readonly spikeNode: number[] = [];

  // Interconnections.
  private readonly X: number;
  private readonly xA: Int32Array;
  private readonly xB: Int32Array;
  private readonly xCap: Float64Array;
  private readonly xSe: Float64Array;
  private readonly xLinkAB: Int32Array;
  private readonly xLinkBA: Int32Array;
  private readonly xSp: Float64Array;
  private readonly xDemandM3: Float64Array;
  private readonly xLastM3: Float64Array; // signed
  private readonly xAB: Float64Array;
  private readonly xBA: Float64Array;
  private readonly xEnergy: Float64Array;
  private readonly xCost: Float64Array;

  // Tanks.
  private readonly K: number;
  private readonly tankCombined: Uint8Array;
  private readonly tankStation: Int32Array;
  private readonly tankCap: Float64Array;
  private readonly tankInMax: Float64Array;
  private readonly tankOutMax: Float64Array;
  private readonly tankSe: Float64Array;
  private readonly tankOutLink: Int32Array;
  /** Station the tank's return pump delivers into (−1 when it returns elsewhere, e.g. to a plant). */
  private readonly tankOutStation: Int32Array;
  /** 1 while the return pump is interlocked off by its receiving well's high alarm. */
  private readonly tankOutCut: Uint8Array;
  private readonly tankWeirLink: Int32Array;
  private readonly tankV: Float64Array;
  private readonly tankRdii: Float64Array;
  private readonly tankSpike: Float64Array;
  private readonly tankSpIn: Float64Array;
  private readonly tankSpOut: Float64Array;
  private readonly tankInDemand: Float64Array;
  private readonly tankInM3: Float64Array; // this step, actual
  private readonly tankSpillRdii: Float64Array;
  private readonly tankLastIn: Float64Array;
  private readonly tankLastOut: Float64Array;
  private readonly tankLastOvf: Float64Array;
  private readonly tkInlet: Float64Array;
  private readonly tkOutlet: Float64Array;
  private readonly tkOverflow: Float64Array;
  private readonly tkLost: Float64Array;
  private readonly tkPeak: Float64Array;
  private readonly tkEnergy: Float64Array;
  private readonly tkCost: Float64Array;
  private readonly tkOpenEvent: (OverflowEvent | null)[];

  // Plants.
  private readonly PL: number;
  private readonly plantCap: Float64Array;
  private readonly plLastIn: Float64Array;
  private readonly plLastBypass: Float64Array;
  private readonly plRdiiFrac: Float64Array;
  private readonly plSpike: Float64Array;
  private readonly plInflow: Float64Array;
  private readonly plTreated: Float64Array;
  private readonly plBypass: Float64Array;
  private readonly plBypassEvents: Int32Array;
  private readonly plPeak: Float64Array;
  private readonly plOpenEvent: (OverflowEvent | null)[];

  // Analysers and faults.
  private readonly analyserNode: Int32Array;
  private readonly analyserDry: Float64Array; // × NQ
  private readonly flatLine: (Float64Array | null)[];
  /** Status a flat-lined analyser reports (Good by default: a frozen analyser in the field usually does). */
  private readonly flatLineQuality: TagQuality[];
  private readonly commLoss = new Set<string>();
  private readonly events: OverflowEvent[] = [];

  private readonly tagByKey = new Map<string, TagAddress>();
  private readonly objectKinds = new Map<string, ResolvedTag['objectKind']>();
  private readonly initialStorageM3: number;

  constructor(options: SimulationOptions) {
    const n = options.network;
    this.network = n;
    const stepS = options.stepS ?? 60;
    if (!Number.isInteger(stepS) || stepS <= 0 || 60 % stepS !== 0) throw new RangeError(`stepS must be a whole number of seconds dividing 60 (1 min or finer), got ${stepS}`);
    if (!Number.isFinite(options.startUtcMs)) throw new RangeError(`startUtcMs must be a finite number, got ${options.startUtcMs}`);
    if (options.startUtcMs % (stepS * 1000) !== 0) throw new RangeError(`startUtcMs must be aligned to the ${stepS}-s step`);
    this.stepS = stepS;
    this.dtH = stepS / 3600;
    this.seed = options.seed ?? 1;
    if (!Number.isInteger(this.seed)) throw new RangeError(`seed must be an integer, got ${this.seed}`);
    this.startUtcMs = options.startUtcMs;
    this.tMs = options.startUtcMs;
    this.rain = options.rainMmPerMin;
    this.random = mulberry32(this.seed);
    this.watchdogMs = (options.watchdogTimeoutS ?? n.opcua.watchdogTimeoutS) * 1000;
    this.opts = {
      dwfNoiseFraction: options.dwfNoiseFraction ?? 0.03,
      analyserNoiseFraction: options.analyserNoiseFraction ?? 0.01,
      iaRecoveryMmPerDay: options.iaRecoveryMmPerDay ?? 1,
      piIntegralMin: options.piIntegralMin ?? 20,
      tankDepthM: options.tankDepthM ?? 6,
      highLevelOverride: options.highLevelOverride ?? true,
      tankHighLevelProtection: options.tankHighLevelProtection ?? true,
      dryRunHysteresisM: options.dryRunHysteresisM ?? 0.2,
    };
    QUALITY_PARAMETERS.forEach((p, i) => (this.rdiiQuality[i] = options.rdiiQuality?.[p] ?? DEFAULT_RDII_QUALITY[p]));
    const calendar = createCalendar(n.timezone);
    this.localCalendar = calendar;
    this.dayCalendar = n.dayCalendar;
    this.utcOffset = (utcMs) => calendar.offsetMs(utcMs);
    const year = new Date(options.startUtcMs).getUTCFullYear();
    const probes = [0, 3, 6, 9].map((month) => this.utcOffset(Date.UTC(year, month, 1)));
    this.fixedOffset = probes.every((o) => o === probes[0]);
    for (const period of n.tariff.periods) {
      for (const range of period.ranges) {
        for (let m = minutesOfClock(range.from); m < Math.min(minutesOfClock(range.to), 24 * 60); m++) this.pricePerLocalMin[m] = period.priceCnyPerKwh;
      }
    }

    // Node numbering: stations, tanks, plants.
    const S = (this.S = n.stations.length);
    const K = (this.K = n.tanks.length);
    const PL = (this.PL = n.plants.length);
    const nodeIndex = new Map<string, number>();
    n.stations.forEach((s, i) => nodeIndex.set(s.id, i));
    n.tanks.forEach((t, i) => nodeIndex.set(t.id, S + i));
    n.plants.forEach((p, i) => nodeIndex.set(p.id, S + K + i));
    const N = S + K + PL;
    const nodeOf = (id: string, what: string): number => {
      const index = nodeIndex.get(id);
      if (index === undefined) throw new Error(`${what}: unknown node ${id}`);
      return index;
    };

    // Links.
    const linkDest: number[] = [];
    const linkLen: number[] = [];
    const addLink = (dest: number, travelMin: number): number => {
      linkDest.push(dest);
      // A pure delay of at least one step keeps every step explicit (a zero-minute main delivers next step).
      linkLen.push(Math.max(1, Math.round((travelMin * 60) / stepS)));
      return linkDest.length - 1;
    };
    const mainsById = new Map(n.mains.map((m) => [m.id, m]));

    this.stationIds = n.stations.map((s) => s.id);
    this.stationIds.forEach((id, i) => this.stationIndex.set(id, i));
    this.vol = new Float64Array(S);
    this.levelM = new Float64Array(S);
    this.vMax = new Float64Array(S);
    this.vFloor = new Float64Array(S);
    this.prismaticArea = new Float64Array(S);
    this.tables = [];
    this.areaAtTarget = new Float64Array(S);
    this.pumpStopM = new Float64Array(S);
    this.pumpStartM = new Float64Array(S);
    this.floodStartM = new Float64Array(S);
    this.highAlarmM = new Float64Array(S);
    this.overflowM = new Float64Array(S);
    this.dutyCount = new Int32Array(S);
    this.meanCapM3h = new Float64Array(S);
    this.allVfd = new Uint8Array(S);
    this.specificEnergy = new Float64Array(S);
    this.mainCapM3h = new Float64Array(S);
    this.stationLink = new Int32Array(S);
    this.mode = new Uint8Array(S);
    this.hbValue = new Float64Array(S);
    this.hbTimeMs = new Float64Array(S).fill(Number.NEGATIVE_INFINITY);
    this.spStart = new Float64Array(S);
    this.spStop = new Float64Array(S);
    this.spFlow = new Float64Array(S);
    this.spPumpsAllowed = new Int32Array(S);
    this.spRemoteCtl = new Int32Array(S);
    this.demand = new Int32Array(S);
    this.vfdOn = new Uint8Array(S);
    this.piIntegral = new Float64Array(S);
    this.cutout = new Uint8Array(S);
    this.override = new Uint8Array(S);
    this.standbyLatch = new Uint8Array(S);
    this.drawCut = new Uint8Array(S);
    this.stuck = new Uint8Array(S);
    this.stuckLevel = new Float64Array(S);
    this.stuckQuality = new Array<TagQuality>(S).fill('good');
    this.flowCmdM3h = new Float64Array(S);
    this.pumpDemandM3 = new Float64Array(S);
    this.otherDemandM3 = new Float64Array(S);
    this.drawFactor = new Float64Array(S);
    this.rdiiFracOut = new Float64Array(S);
    this.wellRdii = new Float64Array(S);
    this.wellSpike = new Float64Array(S * NQ);
    this.spikeOut = new Float64Array(S * NQ);
    this.csTankAt = new Int32Array(S).fill(-1);
    this.lastInM3 = new Float64Array(S);
    this.lastPumpM3 = new Float64Array(S);
    this.lastOvfM3 = new Float64Array(S);
    this.stInflowM3 = new Float64Array(S);
    this.stPumpedM3 = new Float64Array(S);
    this.stOverflowM3 = new Float64Array(S);
    this.stOverflowEvents = new Int32Array(S);
    this.stOverflowSteps = new Int32Array(S);
    this.stPeakLevel = new Float64Array(S);
    this.stEnergyKwh = new Float64Array(S);
    this.stCostCny = new Float64Array(S);
    this.stStarts = new Float64Array(S);
    this.stOpenEvent = new Array<OverflowEvent | null>(S).fill(null);

    const P = (this.P = n.stations.reduce((sum, s) => sum + s.pumps.length, 0));
    this.pumpFirst = new Int32Array(S);
    this.pumpCount = new Int32Array(S);
    this.pumpIds = [];
    this.pumpStation = new Int32Array(P);
    this.pumpCap = new Float64Array(P);
    this.pumpMinSpeed = new Float64Array(P);
    this.pumpAvail = new Uint8Array(P).fill(1);
    this.pumpRunning = new Uint8Array(P);
    this.pumpSpeed = new Float64Array(P);
    this.pumpRunS = new Float64Array(P);
    this.pumpOnSince = new Int32Array(P);
    this.availableCount = Int32Array.from(n.stations, (st) => st.pumps.length);
    this.runningChanged = new Uint8Array(S).fill(1);
    this.maxStarts = new Int32Array(P);
    this.startRingFirst = new Int32Array(P);
    this.startRingPos = new Int32Array(P);
    let ringSize = 0;
    let p = 0;

    const initialModeOf = (id: string): ControlMode => {
      const m = options.initialModes;
      if (m === undefined) return 'remote';
      if (typeof m === 'string') return m;
      return m[id] ?? 'remote';
    };
    for (const id of Object.keys(options.initialLevelsM ?? {})) if (!this.stationIndex.has(id)) throw new Error(`initialLevelsM: unknown station ${id}`);
    if (typeof options.initialModes === 'object') {
      for (const id of Object.keys(options.initialModes)) if (!this.stationIndex.has(id)) throw new Error(`initialModes: unknown station ${id}`);
    }

    n.stations.forEach((st, s) => {
      const lv = st.levels;
      this.pumpStopM[s] = lv.pumpStopM;
      this.pumpStartM[s] = lv.pumpStartM;
      this.floodStartM[s] = lv.floodSeasonStartM ?? lv.pumpStartM;
      this.highAlarmM[s] = lv.highAlarmM;
      this.overflowM[s] = lv.overflowM;
      if (st.wetWell.kind === 'prismatic') {
        this.prismaticArea[s] = st.wetWell.areaM2;
        this.tables.push(null);
      } else {
        const table = new Float64Array(st.wetWell.points.length * 2);
        st.wetWell.points.forEach((pt, k) => {
          table[2 * k] = pt.levelM;
          table[2 * k + 1] = pt.volumeM3;
        });
        this.tables.push(table);
      }
      this.vMax[s] = this.volumeAt(s, lv.overflowM);
      // Pumps and transfers cannot draw the well below half the lowest stop level (suction / dry-run limit).
      this.vFloor[s] = this.volumeAt(s, 0.5 * Math.min(lv.pumpStopM, st.envelope.stopLevelM.min));
      const target = 0.5 * (lv.pumpStopM + lv.pumpStartM);
      this.areaAtTarget[s] = (this.volumeAt(s, target + 0.05) - this.volumeAt(s, target - 0.05)) / 0.1;
      this.dutyCount[s] = st.pumps.length - st.standbyPumps;
      this.meanCapM3h[s] = st.pumps.reduce((sum, pump) => sum + pump.capacityM3h, 0) / st.pumps.length;
      this.allVfd[s] = st.pumps.every((pump) => pump.kind === 'vfd') ? 1 : 0;
      this.specificEnergy[s] = st.specificEnergyKwhM3;
      const main = mainsById.get(st.dischargeMainId);
      if (!main) throw new Error(`station ${st.id}: unknown discharge main ${st.dischargeMainId}`);
      this.mainCapM3h[s] = main.capacityM3h;
      this.stationLink[s] = addLink(nodeOf(main.to, `main ${main.id}`), main.travelMin);
      this.mode[s] = initialModeOf(st.id) === 'remote' ? StationMode.remote : StationMode.local;
      this.spStart[s] = lv.pumpStartM;
      this.spStop[s] = lv.pumpStopM;
      this.spPumpsAllowed[s] = this.dutyCount[s]!;
      this.spRemoteCtl[s] = RemoteControl.levelBand;
      const level0 = options.initialLevelsM?.[st.id] ?? target;
      if (!(level0 >= 0 && level0 <= lv.overflowM)) throw new RangeError(`initialLevelsM.${st.id} must lie in [0, ${lv.overflowM}] m, got ${level0}`);
      this.vol[s] = this.volumeAt(s, level0);
      this.levelM[s] = this.levelAt(s, this.vol[s]);
      this.stPeakLevel[s] = this.levelM[s];
      this.pumpFirst[s] = p;
      this.pumpCount[s] = st.pumps.length;
      for (const pump of st.pumps) {
        this.pumpIds.push(pump.id);
        this.pumpStation[p] = s;
        this.pumpCap[p] = pump.capacityM3h;
        this.pumpMinSpeed[p] = pump.kind === 'vfd' ? (pump.minSpeedFraction ?? DEFAULT_VFD_MIN_SPEED_FRACTION) : 1;
        this.maxStarts[p] = st.maxStartsPerHour;
        this.startRingFirst[p] = ringSize;
        ringSize += st.maxStartsPerHour;
        p++;
      }
    });
    this.startRing = new Float64Array(ringSize).fill(Number.NEGATIVE_INFINITY);

    // Catchments and their RTK kernels.
    const C = (this.C = n.catchments.length);
    const patternIndex = new Map(n.dwfPatterns.map((pt, i) => [pt.id, i]));
    this.patterns = n.dwfPatterns.map((pt) => ({
      weekday: Float64Array.from(pt.weekdayHourly),
      weekend: Float64Array.from(pt.weekendHourly),
      weekdayFactor: pt.weekdayFactor,
      weekendFactor: pt.weekendFactor,
      monthly: pt.monthly ? Float64Array.from(pt.monthly) : null,
    }));
    this.catchNode = new Int32Array(C);
    this.catchLat = new Float64Array(C);
    this.catchLon = new Float64Array(C);
    this.catchAreaHa = new Float64Array(C);
    this.catchMeanM3h = new Float64Array(C);
    this.catchGwM3h = new Float64Array(C);
    this.catchPattern = new Int32Array(C);
    this.catchIaMax = new Float64Array(C);
    this.catchIa = new Float64Array(C);
    this.catchNoise = new Float64Array(C);
    this.catchRain = new Float64Array(C);
    this.catchRtk = [];
    n.catchments.forEach((c, i) => {
      const node = this.stationIndex.get(c.node);
      if (node === undefined) throw new Error(`catchment ${c.id}: node ${c.node} is not a station`);
      const pattern = patternIndex.get(c.dwf.pattern);
      if (pattern === undefined) throw new Error(`catchment ${c.id}: unknown DWF pattern ${c.dwf.pattern}`);
      this.catchNode[i] = node;
      this.catchLat[i] = c.location.latDeg;
      this.catchLon[i] = c.location.lonDeg;
      this.catchAreaHa[i] = c.areaHa;
      this.catchMeanM3h[i] = c.dwf.meanM3d / 24;
      this.catchGwM3h[i] = c.groundwaterM3h;
      this.catchPattern[i] = pattern;
      this.catchIaMax[i] = c.rdii.initialAbstractionMm;
      this.catchIa[i] = c.rdii.initialAbstractionMm;
      const baseSteps = Math.max(...c.rdii.triangles.map((tri) => Math.ceil((tri.tH * (1 + tri.k)) / this.dtH)));
      const kernel = new Float64Array(Math.max(1, baseSteps));
      for (const tri of c.rdii.triangles) {
        const baseH = tri.tH * (1 + tri.k);
        // Exact integral of the unit hydrograph over each step: the weights sum to 1, so RDII volume is R × rain × area.
        for (let j = 0; j < kernel.length; j++) {
          const w = triangleCumulative((j + 1) * this.dtH, tri.tH, baseH) - triangleCumulative(j * this.dtH, tri.tH, baseH);
          kernel[j] = kernel[j]! + tri.r * w * c.areaHa * M3_PER_MM_HA;
        }
      }
      this.catchRtk.push(new RtkFilter(kernel));
    });
    this.inCatchM3 = new Float64Array(S);
    this.inCatchRdii = new Float64Array(S);

    // Interconnections.
    const X = (this.X = n.interconnections.length);
    this.xA = new Int32Array(X);
    this.xB = new Int32Array(X);
    this.xCap = new Float64Array(X);
    this.xSe = new Float64Array(X);
    this.xLinkAB = new Int32Array(X);
    this.xLinkBA = new Int32Array(X);
    this.xSp = new Float64Array(X);
    this.xDemandM3 = new Float64Array(X);
    this.xLastM3 = new Float64Array(X);
    this.xAB = new Float64Array(X);
    this.xBA = new Float64Array(X);
    this.xEnergy = new Float64Array(X);
    this.xCost = new Float64Array(X);
    n.interconnections.forEach((x, i) => {
      const a = this.stationIndex.get(x.a);
      const b = this.stationIndex.get(x.b);
      if (a === undefined || b === undefined) throw new Error(`interconnection ${x.id}: both ends must be stations`);
      this.xA[i] = a;
      this.xB[i] = b;
      this.xCap[i] = x.capacityM3h;
      this.xSe[i] = x.specificEnergyKwhM3;
      // One delay line per direction: water already crossing still arrives where it was sent after a reversal.
      this.xLinkAB[i] = addLink(b, x.travelMin);
      this.xLinkBA[i] = addLink(a, x.travelMin);
    });

    // Tanks.
    this.tankCombined = new Uint8Array(K);
    this.tankStation = new Int32Array(K);
    this.tankCap = new Float64Array(K);
    this.tankInMax = new Float64Array(K);
    this.tankOutMax = new Float64Array(K);
    this.tankSe = new Float64Array(K);
    this.tankOutLink = new Int32Array(K);
    this.tankOutStation = new Int32Array(K);
    this.tankOutCut = new Uint8Array(K);
    this.tankWeirLink = new Int32Array(K).fill(-1);
    this.tankV = new Float64Array(K);
    this.tankRdii = new Float64Array(K);
    this.tankSpike = new Float64Array(K * NQ);
    this.tankSpIn = new Float64Array(K);
    this.tankSpOut = new Float64Array(K);
    this.tankInDemand = new Float64Array(K);
    this.tankInM3 = new Float64Array(K);
    this.tankSpillRdii = new Float64Array(K);
    this.tankLastIn = new Float64Array(K);
    this.tankLastOut = new Float64Array(K);
    this.tankLastOvf = new Float64Array(K);
    this.tkInlet = new Float64Array(K);
    this.tkOutlet = new Float64Array(K);
    this.tkOverflow = new Float64Array(K);
    this.tkLost = new Float64Array(K);
    this.tkPeak = new Float64Array(K);
    this.tkEnergy = new Float64Array(K);
    this.tkCost = new Float64Array(K);
    this.tkOpenEvent = new Array<OverflowEvent | null>(K).fill(null);
    for (const id of Object.keys(options.initialTankVolumesM3 ?? {})) if (!n.tanks.some((t) => t.id === id)) throw new Error(`initialTankVolumesM3: unknown tank ${id}`);
    n.tanks.forEach((t, k) => {
      const station = this.stationIndex.get(t.node);
      if (station === undefined) throw new Error(`tank ${t.id}: the simulator supports tanks beside a station only (node ${t.node})`);
      this.tankCombined[k] = t.kind === 'combined-sewer' ? 1 : 0;
      this.tankStation[k] = station;
      this.tankCap[k] = t.capacityM3;
      this.tankInMax[k] = t.inletMaxM3h;
      this.tankSe[k] = t.outletSpecificEnergyKwhM3;
      const outMain = n.mains.find((m) => m.from === t.id);
      this.tankOutMax[k] = Math.min(t.outletMaxM3h, outMain?.capacityM3h ?? Number.POSITIVE_INFINITY);
      this.tankOutLink[k] = outMain ? addLink(nodeOf(outMain.to, `main ${outMain.id}`), outMain.travelMin) : addLink(station, 0);
      this.tankOutStation[k] = outMain ? (this.stationIndex.get(outMain.to) ?? -1) : station;
      if (t.overflowTo !== undefined) this.tankWeirLink[k] = addLink(nodeOf(t.overflowTo, `tank ${t.id} overflowTo`), 0);
      if (t.kind === 'combined-sewer' && this.csTankAt[station] === -1) this.csTankAt[station] = k;
      const v0 = options.initialTankVolumesM3?.[t.id] ?? 0;
      if (!(v0 >= 0 && v0 <= t.capacityM3)) throw new RangeError(`initialTankVolumesM3.${t.id} must lie in [0, ${t.capacityM3}] m3, got ${v0}`);
      this.tankV[k] = v0;
      this.tkPeak[k] = v0;
    });

    // Plants.
    this.plantCap = Float64Array.from(n.plants.map((pl) => pl.capacityM3h));
    this.plLastIn = new Float64Array(PL);
    this.plLastBypass = new Float64Array(PL);
    this.plRdiiFrac = new Float64Array(PL);
    this.plSpike = new Float64Array(PL * NQ);
    this.plInflow = new Float64Array(PL);
    this.plTreated = new Float64Array(PL);
    this.plBypass = new Float64Array(PL);
    this.plBypassEvents = new Int32Array(PL);
    this.plPeak = new Float64Array(PL);
    this.plOpenEvent = new Array<OverflowEvent | null>(PL).fill(null);

    // Link buffers.
    const L = (this.L = linkDest.length);
    this.linkDest = Int32Array.from(linkDest);
    this.linkLen = Int32Array.from(linkLen);
    this.linkOff = new Int32Array(L);
    let total = 0;
    for (let l = 0; l < L; l++) {
      this.linkOff[l] = total;
      total += linkLen[l]!;
    }
    this.linkHead = new Int32Array(L);
    this.buf = new Float64Array(total);
    this.bufRdii = new Float64Array(total);
    this.bufSpike = new Float64Array(total * NQ);
    this.arrV = new Float64Array(N);
    this.arrRdii = new Float64Array(N);
    this.arrSpike = new Float64Array(N * NQ);

    // Analysers.
    this.analyserNode = new Int32Array(n.analysers.length);
    this.analyserDry = new Float64Array(n.analysers.length * NQ);
    this.flatLine = new Array<Float64Array | null>(n.analysers.length).fill(null);
    this.flatLineQuality = new Array<TagQuality>(n.analysers.length).fill('good');
    n.analysers.forEach((a, i) => {
      this.analyserNode[i] = nodeOf(a.node, `analyser ${a.id}`);
      QUALITY_PARAMETERS.forEach((q, j) => (this.analyserDry[i * NQ + j] = a.dryWeather[q] ?? 0));
    });

    // Tags.
    this.tagMap = resolveTagMap(n);
    const indexOf: Record<ResolvedTag['objectKind'], Map<string, number>> = {
      station: this.stationIndex,
      interconnection: new Map(n.interconnections.map((x, i) => [x.id, i])),
      tank: new Map(n.tanks.map((t, i) => [t.id, i])),
      plant: new Map(n.plants.map((pl, i) => [pl.id, i])),
      analyser: new Map(n.analysers.map((a, i) => [a.id, i])),
    };
    for (const def of this.tagMap) {
      this.objectKinds.set(def.objectId, def.objectKind);
      this.tagByKey.set(`${def.objectId}/${def.tag}`, {
        def,
        kind: def.objectKind,
        index: indexOf[def.objectKind].get(def.objectId) ?? -1,
        qualityIndex: QUALITY_PARAMETERS.indexOf(def.tag as QualityParameter),
      });
    }
    this.initialStorageM3 = this.storageM3();
  }

  // --- Geometry ------------------------------------------------------------------------------------

  private volumeAt(s: number, levelM: number): number {
    const area = this.prismaticArea[s]!;
    if (area > 0) return area * levelM;
    const table = this.tables[s]!;
    const last = table.length / 2 - 1;
    if (levelM <= table[0]!) return table[1]!;
    for (let k = 1; k <= last; k++) {
      const l1 = table[2 * k]!;
      if (levelM <= l1 || k === last) {
        const l0 = table[2 * k - 2]!;
        const v0 = table[2 * k - 1]!;
        const v1 = table[2 * k + 1]!;
        return v0 + ((v1 - v0) * (levelM - l0)) / (l1 - l0);
      }
    }
    return table[2 * last + 1]!;
  }

  private levelAt(s: number, volumeM3: number): number {
    const area = this.prismaticArea[s]!;
    if (area > 0) return volumeM3 / area;
    const table = this.tables[s]!;
    const last = table.length / 2 - 1;
    if (volumeM3 <= table[1]!) return table[0]!;
    for (let k = 1; k <= last; k++) {
      const v1 = table[2 * k + 1]!;
      if (volumeM3 <= v1 || k === last) {
        const v0 = table[2 * k - 1]!;
        const l0 = table[2 * k - 2]!;
        const l1 = table[2 * k]!;
        return v1 > v0 ? l0 + ((l1 - l0) * (volumeM3 - v0)) / (v1 - v0) : l1;
      }
    }
    return table[2 * last]!;
  }

  // --- Time ----------------------------------------------------------------------------------------

  get timeUtcMs(): number {
    return this.tMs;
  }

  get steps(): number {
    return this.stepIndex;
  }

  private refreshCalendar(t: number): void {
    const hour = Math.floor(t / MS_PER_H);
    if (hour === this.calendarHour) return;
    this.calendarHour = hour;
    // Intl is slow: zones without daylight saving (Asia/Shanghai) need the offset only once.
    if (!this.fixedOffset || Number.isNaN(this.offsetCheckedHour)) {
      this.offsetMs = this.utcOffset(t);
      this.offsetCheckedHour = hour;
    }
    this.monthIndex = new Date(t + this.offsetMs).getUTCMonth();
    // The network's day calendar (holidays, make-up working days) as the forecast and planner read it; without
    // one, Saturday and Sunday.
    const localMs = t + this.offsetMs;
    const weekday = modPositive(Math.floor(localMs / 86_400_000) + 4, 7); // 1970-01-01 was a Thursday
    this.restDay = this.dayCalendar ? usesWeekendProfile(this.localCalendar, t, this.dayCalendar) : weekday === 0 || weekday === 6;
    // Hourly AR(1) DWF noise; drawn in catchment order so the stream depends only on the seed.
    const sigma = this.opts.dwfNoiseFraction;
    if (sigma > 0) {
      const rho = DWF_NOISE_AUTOCORRELATION;
      const innovation = Math.sqrt(1 - rho * rho) * sigma;
      for (let c = 0; c < this.C; c++) {
        const z = normalFromUnits(this.random(), this.random());
        this.catchNoise[c] = rho * this.catchNoise[c]! + innovation * z;
      }
    }
  }

  /** Advance by `count` steps. */
  advance(count: number): void {
    for (let i = 0; i < count; i++) this.step();
  }

  /** Advance until the simulation time reaches `utcMs` (whole steps). */
  runUntil(utcMs: number): void {
    const stepMs = this.stepS * 1000;
    if (utcMs < this.tMs + stepMs) return;
    const steps = Math.floor((utcMs - this.tMs) / stepMs);
    for (let i = 0; i < steps; i++) this.step();
  }

  // --- One step ------------------------------------------------------------------------------------
  // Performance (bench/sim.ts): the per-entity loops read typed arrays hoisted into locals; the PLC scan is one
  // loop over the stations, and no per-station call takes or returns a double (a call that is not inlined
  // boxes doubles into heap numbers), so the helpers read the clock from this.tMs and leave their flows in
  // flowCmdM3h; pump run time is counted when asked (runSeconds), not added every step; a fixed-speed
  // station's flow is recomputed only when its running pumps change. The arithmetic and its order are
  // unchanged: results are bit-identical for a seed.

  step(): void {
    const t = this.tMs;
    const dtH = this.dtH;
    const stepS = this.stepS;
    const dtMin = stepS / 60;
    this.refreshCalendar(t);
    const localMs = t + this.offsetMs;
    const localMinOfDay = modPositive(Math.floor(localMs / MS_PER_MIN), 1440);
    const price = this.pricePerLocalMin[localMinOfDay]!;
    const localHour = (localMinOfDay / 60) | 0;
    const weekend = this.restDay;
    const spikesOn = this.spikesOn;
    const S = this.S;
    const stepIndex = this.stepIndex;

    // 1. Arrivals from every delay line.
    const { arrV, arrRdii, arrSpike, buf, bufRdii, bufSpike, linkOff, linkHead, linkDest } = this;
    arrV.fill(0);
    arrRdii.fill(0);
    if (spikesOn) arrSpike.fill(0);
    for (let l = 0, L = this.L; l < L; l++) {
      const idx = linkOff[l]! + linkHead[l]!;
      const dest = linkDest[l]!;
      arrV[dest] = arrV[dest]! + buf[idx]!;
      arrRdii[dest] = arrRdii[dest]! + bufRdii[idx]!;
      buf[idx] = 0;
      bufRdii[idx] = 0;
      if (spikesOn) {
        for (let q = 0; q < NQ; q++) {
          arrSpike[dest * NQ + q] = arrSpike[dest * NQ + q]! + bufSpike[idx * NQ + q]!;
          bufSpike[idx * NQ + q] = 0;
        }
      }
    }

    // 2. Catchment inflow: DWF + groundwater + RTK RDII.
    const { inCatchM3, inCatchRdii, patterns, catchPattern, catchNoise, catchMeanM3h, catchGwM3h, catchNode, catchIa, catchIaMax, catchRain, catchRtk, catchLat, catchLon } = this;
    inCatchM3.fill(0);
    inCatchRdii.fill(0);
    const rain = this.rain;
    const iaRecoveryMm = (this.opts.iaRecoveryMmPerDay * stepS) / 86_400;
    const monthIndex = this.monthIndex;
    let totDwfM3 = this.totDwfM3;
    let totGwM3 = this.totGwM3;
    let totRdiiM3 = this.totRdiiM3;
    for (let c = 0, C = this.C; c < C; c++) {
      const pattern = patterns[catchPattern[c]!]!;
      const hourly = weekend ? pattern.weekend[localHour]! : pattern.weekday[localHour]!;
      const dayFactor = weekend ? pattern.weekendFactor : pattern.weekdayFactor;
      const monthFactor = pattern.monthly ? pattern.monthly[monthIndex]! : 1;
      const noise = Math.max(0, 1 + catchNoise[c]!);
      const dwfM3 = catchMeanM3h[c]! * hourly * dayFactor * monthFactor * noise * dtH;
      const gwM3 = catchGwM3h[c]! * dtH;
      let rdiiM3 = 0;
      if (rain !== undefined) {
        let effectiveMm = 0;
        const rate = rain(catchLat[c]!, catchLon[c]!, t);
        if (!(rate >= 0 && Number.isFinite(rate))) throw new RangeError(`rain for catchment ${this.network.catchments[c]!.id} at ${new Date(t).toISOString()} is ${rate} mm/min`);
        const depthMm = rate * dtMin;
        if (depthMm > 0) {
          catchRain[c] = catchRain[c]! + depthMm;
          const ia = catchIa[c]!;
          const absorbed = Math.min(ia, depthMm);
          catchIa[c] = ia - absorbed;
          effectiveMm = depthMm - absorbed;
        } else {
          catchIa[c] = Math.min(catchIaMax[c]!, catchIa[c]! + iaRecoveryMm);
        }
        rdiiM3 = catchRtk[c]!.step(stepIndex, effectiveMm);
      }
      const s = catchNode[c]!;
      inCatchM3[s] = inCatchM3[s]! + dwfM3 + gwM3 + rdiiM3;
      inCatchRdii[s] = inCatchRdii[s]! + rdiiM3;
      totDwfM3 += dwfM3;
      totGwM3 += gwM3;
      totRdiiM3 += rdiiM3;
    }
    this.totDwfM3 = totDwfM3;
    this.totGwM3 = totGwM3;
    this.totRdiiM3 = totRdiiM3;
    if (spikesOn) {
      this.spikeIn.fill(0);
      this.applySpikes(t);
    }

    // 3. PLC logic: pumps and the station's pumped-flow demand.
    this.scan();
    const otherDemandM3 = this.otherDemandM3;
    otherDemandM3.fill(0);

    // 4. Draw demands of transfers and tank inlets on their source wells.
    const { xSp, xCap, xA, xB, xDemandM3, drawCut, highAlarmM } = this;
    for (let x = 0, X = this.X; x < X; x++) {
      const sp = xSp[x]!;
      const a = xA[x]!;
      const b = xB[x]!;
      const dst = sp >= 0 ? b : a;
      // The gate follows dispatch only while both ends hold REMOTE with a live heartbeat; otherwise it closes
      // (the stations fall back to their own level control, domain.md). Interlocks: nothing out of a well at its
      // stop level, nothing into a well at or above its high alarm.
      const open = this.isRemoteActive(a) && this.isRemoteActive(b) && drawCut[sp >= 0 ? a : b] === 0 && this.measuredLevel(dst) < highAlarmM[dst]!;
      const demandM3 = open ? Math.min(Math.abs(sp), xCap[x]!) * dtH : 0;
      xDemandM3[x] = demandM3;
      const src = sp >= 0 ? xA[x]! : xB[x]!;
      otherDemandM3[src] = otherDemandM3[src]! + demandM3;
    }
    const { tankStation, tankSpIn, tankInMax, tankCap, tankV, tankInDemand, tankInM3, tankSpillRdii } = this;
    for (let k = 0, K = this.K; k < K; k++) {
      const s = tankStation[k]!;
      // The gate setpoint holds only while dispatch holds the station; the PLC's own high-alarm opening works in LOCAL too.
      let inletM3h = this.isRemoteActive(s) ? Math.min(tankSpIn[k]!, tankInMax[k]!) : 0;
      if (this.opts.tankHighLevelProtection && this.measuredLevel(s) >= this.highAlarmM[s]!) inletM3h = tankInMax[k]!;
      if (drawCut[s] === 1) inletM3h = 0;
      const room = Math.max(0, tankCap[k]! - tankV[k]!);
      const demandM3 = Math.min(inletM3h * dtH, room);
      tankInDemand[k] = demandM3;
      otherDemandM3[s] = otherDemandM3[s]! + demandM3;
      tankInM3[k] = 0;
      tankSpillRdii[k] = 0;
    }

    // 5. Wet wells: dV = inflow − pumped − transfers − tank inlet − overflow.
    const { vol, vFloor, vMax, pumpDemandM3, drawFactor, rdiiFracOut, wellRdii, csTankAt, stationLink, specificEnergy } = this;
    const { stEnergyKwh, stCostCny, stInflowM3, stPumpedM3, lastInM3, lastPumpM3, lastOvfM3, stOverflowM3, stOverflowSteps, stOpenEvent } = this;
    const { wellSpike, spikeIn, spikeOut } = this;
    for (let s = 0; s < S; s++) {
      const v0 = vol[s]!;
      const inM3 = inCatchM3[s]! + arrV[s]!;
      const inRdii = inCatchRdii[s]! + arrRdii[s]!;
      const pumpDemand = pumpDemandM3[s]!;
      const drawDemand = pumpDemand + otherDemandM3[s]!;
      const available = Math.max(0, v0 + inM3 - vFloor[s]!);
      // Everything drawing on the well shares what it holds in proportion to its demand.
      const factor = drawDemand > available ? available / drawDemand : 1;
      drawFactor[s] = factor;
      const pumpedM3 = pumpDemand * factor;
      let v = v0 + inM3 - drawDemand * factor;
      let overflowM3 = 0;
      const mixed = v0 + inM3;
      const rdiiFrac = mixed > 0 ? (wellRdii[s]! + inRdii) / mixed : 0;
      rdiiFracOut[s] = rdiiFrac;
      const vMaxS = vMax[s]!;
      if (v > vMaxS) {
        overflowM3 = v - vMaxS;
        v = vMaxS;
        const k = csTankAt[s]!;
        if (k >= 0) {
          // In-line storage takes the spill before it becomes an SSO.
          const spill = Math.min(overflowM3, Math.max(0, tankCap[k]! - tankV[k]! - tankInDemand[k]!));
          tankInM3[k] = tankInM3[k]! + spill;
          tankSpillRdii[k] = tankSpillRdii[k]! + spill * rdiiFrac;
          overflowM3 -= spill;
        }
      }
      vol[s] = v;
      wellRdii[s] = rdiiFrac * v;
      if (spikesOn) {
        for (let q = 0; q < NQ; q++) {
          const conc = mixed > 0 ? (wellSpike[s * NQ + q]! + spikeIn[s * NQ + q]! + arrSpike[s * NQ + q]!) / mixed : 0;
          spikeOut[s * NQ + q] = conc;
          wellSpike[s * NQ + q] = conc * v;
        }
      }
      const l = stationLink[s]!;
      const idx = linkOff[l]! + linkHead[l]!;
      buf[idx] = buf[idx]! + pumpedM3;
      bufRdii[idx] = bufRdii[idx]! + pumpedM3 * rdiiFrac;
      if (spikesOn) for (let q = 0; q < NQ; q++) bufSpike[idx * NQ + q] = bufSpike[idx * NQ + q]! + pumpedM3 * spikeOut[s * NQ + q]!;

      const energyKwh = pumpedM3 * specificEnergy[s]!;
      stEnergyKwh[s] = stEnergyKwh[s]! + energyKwh;
      stCostCny[s] = stCostCny[s]! + energyKwh * price;
      stInflowM3[s] = stInflowM3[s]! + inM3;
      stPumpedM3[s] = stPumpedM3[s]! + pumpedM3;
      lastInM3[s] = inM3;
      lastPumpM3[s] = pumpedM3;
      lastOvfM3[s] = overflowM3;
      if (overflowM3 > 0) {
        stOverflowM3[s] = stOverflowM3[s]! + overflowM3;
        stOverflowSteps[s] = stOverflowSteps[s]! + 1;
        let event = stOpenEvent[s]!;
        if (event === null) {
          event = { objectId: this.stationIds[s]!, kind: 'station-overflow', startUtcMs: t, endUtcMs: null, volumeM3: 0 };
          this.events.push(event);
          stOpenEvent[s] = event;
          this.stOverflowEvents[s] = this.stOverflowEvents[s]! + 1;
        }
        event.volumeM3 += overflowM3;
      } else if (stOpenEvent[s] !== null) {
        stOpenEvent[s]!.endUtcMs = t;
        stOpenEvent[s] = null;
      }
    }

    // 6. Interconnection transfers (limited by what the source well held).
    if (this.X > 0) this.stepTransfers(price);

    // 7. Tanks: gate inlet (and in-line spill), return/outlet, weir overflow.
    if (this.K > 0) this.stepTanks(t, price);

    // 8. Plants: treat up to capacity, bypass the rest.
    const { plantCap, plInflow, plTreated, plBypass, plLastIn, plLastBypass, plPeak, plRdiiFrac, plOpenEvent } = this;
    const plantNode0 = S + this.K;
    for (let pl = 0, PL = this.PL; pl < PL; pl++) {
      const node = plantNode0 + pl;
      const inM3 = arrV[node]!;
      const capM3 = plantCap[pl]! * dtH;
      const treatedM3 = Math.min(inM3, capM3);
      const bypassM3 = inM3 - treatedM3;
      plInflow[pl] = plInflow[pl]! + inM3;
      plTreated[pl] = plTreated[pl]! + treatedM3;
      plBypass[pl] = plBypass[pl]! + bypassM3;
      plLastIn[pl] = inM3;
      plLastBypass[pl] = bypassM3;
      if (inM3 / dtH > plPeak[pl]!) plPeak[pl] = inM3 / dtH;
      if (inM3 > 0) {
        plRdiiFrac[pl] = arrRdii[node]! / inM3;
        if (spikesOn) for (let q = 0; q < NQ; q++) this.plSpike[pl * NQ + q] = arrSpike[node * NQ + q]! / inM3;
      }
      if (bypassM3 > 0) {
        let event = plOpenEvent[pl]!;
        if (event === null) {
          event = { objectId: this.network.plants[pl]!.id, kind: 'plant-bypass', startUtcMs: t, endUtcMs: null, volumeM3: 0 };
          this.events.push(event);
          plOpenEvent[pl] = event;
          this.plBypassEvents[pl] = this.plBypassEvents[pl]! + 1;
        }
        event.volumeM3 += bypassM3;
      } else if (plOpenEvent[pl] !== null) {
        plOpenEvent[pl]!.endUtcMs = t;
        plOpenEvent[pl] = null;
      }
    }

    // 9. Advance the delay lines and the clock; new levels for the next PLC scan.
    const linkLen = this.linkLen;
    for (let l = 0, L = this.L; l < L; l++) {
      const head = linkHead[l]! + 1;
      linkHead[l] = head === linkLen[l]! ? 0 : head;
    }
    const { levelM, stPeakLevel, prismaticArea } = this;
    for (let s = 0; s < S; s++) {
      const area = prismaticArea[s]!;
      const level = area > 0 ? vol[s]! / area : this.levelAt(s, vol[s]!);
      levelM[s] = level;
      if (level > stPeakLevel[s]!) stPeakLevel[s] = level;
    }
    this.stepIndex = stepIndex + 1;
    this.tMs = t + stepS * 1000;
  }

  private stepTransfers(price: number): void {
    const spikesOn = this.spikesOn;
    const { buf, bufRdii, bufSpike, linkOff, linkHead, drawFactor, rdiiFracOut, spikeOut } = this;
    for (let x = 0; x < this.X; x++) {
      const sp = this.xSp[x]!;
      const src = sp >= 0 ? this.xA[x]! : this.xB[x]!;
      const m3 = this.xDemandM3[x]! * drawFactor[src]!;
      const l = sp >= 0 ? this.xLinkAB[x]! : this.xLinkBA[x]!;
      const idx = linkOff[l]! + linkHead[l]!;
      buf[idx] = buf[idx]! + m3;
      bufRdii[idx] = bufRdii[idx]! + m3 * rdiiFracOut[src]!;
      if (spikesOn) for (let q = 0; q < NQ; q++) bufSpike[idx * NQ + q] = bufSpike[idx * NQ + q]! + m3 * spikeOut[src * NQ + q]!;
      this.xLastM3[x] = sp >= 0 ? m3 : -m3;
      if (sp >= 0) this.xAB[x] = this.xAB[x]! + m3;
      else this.xBA[x] = this.xBA[x]! + m3;
      const energyKwh = m3 * this.xSe[x]!;
      this.xEnergy[x] = this.xEnergy[x]! + energyKwh;
      this.xCost[x] = this.xCost[x]! + energyKwh * price;
    }
  }

  private stepTanks(t: number, price: number): void {
    const dtH = this.dtH;
    const spikesOn = this.spikesOn;
    const { buf, bufRdii, bufSpike, linkOff, linkHead, arrV, arrRdii, arrSpike, drawFactor, rdiiFracOut, spikeOut } = this;
    for (let k = 0; k < this.K; k++) {
      const s = this.tankStation[k]!;
      const node = this.S + k;
      const gateM3 = this.tankInDemand[k]! * drawFactor[s]!;
      const inM3 = gateM3 + this.tankInM3[k]! + arrV[node]!;
      const inRdii = gateM3 * rdiiFracOut[s]! + this.tankSpillRdii[k]! + arrRdii[node]!;
      const v0 = this.tankV[k]!;
      const mixed = v0 + inM3;
      // The return pump: dispatch's setpoint while it holds the station, else off; interlocked off while the
      // receiving well is at its high alarm (it would pump into a well the inlet is relieving), back on once the
      // well is dryRunHysteresisM below it.
      const d = this.tankOutStation[k]!;
      if (d >= 0) {
        const level = this.measuredLevel(d);
        if (level >= this.highAlarmM[d]!) this.tankOutCut[k] = 1;
        else if (level < this.highAlarmM[d]! - this.opts.dryRunHysteresisM) this.tankOutCut[k] = 0;
      }
      const outM3h = this.isRemoteActive(s) && this.tankOutCut[k] === 0 ? Math.min(this.tankSpOut[k]!, this.tankOutMax[k]!) : 0;
      const outM3 = Math.min(outM3h * dtH, mixed);
      let v = mixed - outM3;
      let overM3 = 0;
      if (v > this.tankCap[k]!) {
        overM3 = v - this.tankCap[k]!;
        v = this.tankCap[k]!;
      }
      const rdiiFrac = mixed > 0 ? (this.tankRdii[k]! + inRdii) / mixed : 0;
      this.tankV[k] = v;
      this.tankRdii[k] = rdiiFrac * v;
      const lo = this.tankOutLink[k]!;
      const io = linkOff[lo]! + linkHead[lo]!;
      buf[io] = buf[io]! + outM3;
      bufRdii[io] = bufRdii[io]! + outM3 * rdiiFrac;
      const lw = this.tankWeirLink[k]!;
      let iw = -1;
      if (overM3 > 0) {
        if (lw >= 0) {
          iw = linkOff[lw]! + linkHead[lw]!;
          buf[iw] = buf[iw]! + overM3;
          bufRdii[iw] = bufRdii[iw]! + overM3 * rdiiFrac;
        } else {
          this.tkLost[k] = this.tkLost[k]! + overM3;
        }
      }
      if (spikesOn) {
        for (let q = 0; q < NQ; q++) {
          const inMass = gateM3 * spikeOut[s * NQ + q]! + arrSpike[node * NQ + q]!;
          const conc = mixed > 0 ? (this.tankSpike[k * NQ + q]! + inMass) / mixed : 0;
          this.tankSpike[k * NQ + q] = conc * v;
          bufSpike[io * NQ + q] = bufSpike[io * NQ + q]! + outM3 * conc;
          if (iw >= 0) bufSpike[iw * NQ + q] = bufSpike[iw * NQ + q]! + overM3 * conc;
        }
      }
      const energyKwh = outM3 * this.tankSe[k]!;
      this.tkEnergy[k] = this.tkEnergy[k]! + energyKwh;
      this.tkCost[k] = this.tkCost[k]! + energyKwh * price;
      this.tkInlet[k] = this.tkInlet[k]! + inM3;
      this.tkOutlet[k] = this.tkOutlet[k]! + outM3;
      this.tkOverflow[k] = this.tkOverflow[k]! + overM3;
      if (v > this.tkPeak[k]!) this.tkPeak[k] = v;
      this.tankLastIn[k] = inM3;
      this.tankLastOut[k] = outM3;
      this.tankLastOvf[k] = overM3;
      if (overM3 > 0) {
        let event = this.tkOpenEvent[k]!;
        if (event === null) {
          event = { objectId: this.network.tanks[k]!.id, kind: 'tank-overflow', startUtcMs: t, endUtcMs: null, volumeM3: 0 };
          this.events.push(event);
          this.tkOpenEvent[k] = event;
        }
        event.volumeM3 += overM3;
      } else if (this.tkOpenEvent[k] !== null) {
        this.tkOpenEvent[k]!.endUtcMs = t;
        this.tkOpenEvent[k] = null;
      }
    }
  }

  private applySpikes(t: number): void {
    for (let i = 0; i < this.spikes.length; i++) {
      const spike = this.spikes[i]!;
      if (t < spike.startUtcMs || t >= spike.startUtcMs + spike.durationMin * MS_PER_MIN) continue;
      const node = this.spikeNode[i]!;
      const q = QUALITY_PARAMETERS.indexOf(spike.parameter);
      if (node < this.S) this.spikeIn[node * NQ + q] = this.spikeIn[node * NQ + q]! + spike.excessValue * this.inCatchM3[node]!;
      else this.arrSpike[node * NQ + q] = this.arrSpike[node * NQ + q]! + spike.excessValue * this.arrV[node]!;
    }
  }

  // --- PLC -----------------------------------------------------------------------------------------
  // The PLC scan runs at the current step time this.tMs.

  private measuredLevel(s: number): number {
    return this.stuck[s] === 1 ? this.stuckLevel[s]! : this.levelM[s]!;
  }

  private isRemoteActive(s: number): boolean {
    return this.mode[s] === StationMode.remote && this.watchdogTimeMs() - this.hbTimeMs[s]! <= this.watchdogMs;
  }

  private startPump(p: number): void {
    const t = this.tMs;
    this.pumpRunning[p] = 1;
    this.pumpOnSince[p] = this.stepIndex;
    this.runningChanged[this.pumpStation[p]!] = 1;
    this.startRing[this.startRingFirst[p]! + this.startRingPos[p]!] = t;
    const pos = this.startRingPos[p]! + 1;
    this.startRingPos[p] = pos === this.maxStarts[p]! ? 0 : pos;
    const s = this.pumpStation[p]!;
    this.stStarts[s] = this.stStarts[s]! + 1;
    this.startLog.push(p, t);
  }

  /**
   * Run time of a pump (s). A running pump accrues one step for every step it has been running in, counted
   * when asked: the same whole numbers a per-step sum would give, without a loop over every pump each step.
   */
  private runSeconds(p: number): number {
    return this.pumpRunning[p] === 1 ? this.pumpRunS[p]! + (this.stepIndex - this.pumpOnSince[p]!) * this.stepS : this.pumpRunS[p]!;
  }

  private stopPump(p: number): void {
    this.pumpRunS[p] = this.runSeconds(p);
    this.pumpRunning[p] = 0;
    this.runningChanged[this.pumpStation[p]!] = 1;
  }

  /** Bring the number of running pumps to `want`: start the least-used startable pump, stop the most-used (duty rotation). */
  private reconcile(s: number, want: number): number {
    const { pumpRunning, pumpAvail, pumpRunS, startRing, startRingFirst, startRingPos } = this;
    const first = this.pumpFirst[s]!;
    const end = first + this.pumpCount[s]!;
    let running = 0;
    for (let p = first; p < end; p++) running += pumpRunning[p]!;
    if (running === want) return running;
    const t = this.tMs;
    while (running < want) {
      let best = -1;
      for (let p = first; p < end; p++) {
        // A pump may start if its start maxStartsPerHour starts ago was an hour or more ago.
        if (pumpRunning[p] === 0 && pumpAvail[p] === 1 && t - startRing[startRingFirst[p]! + startRingPos[p]!]! >= MS_PER_H && (best < 0 || pumpRunS[p]! < pumpRunS[best]!)) best = p;
      }
      if (best < 0) break; // starts-per-hour limit or no pump available
      this.startPump(best);
      running++;
    }
    while (running > want) {
      let worst = -1;
      for (let p = first; p < end; p++) {
        if (pumpRunning[p] === 1 && (worst < 0 || this.runSeconds(p) > this.runSeconds(worst))) worst = p;
      }
      this.stopPump(worst);
      running--;
    }
    return running;
  }

  /** One PLC scan of every station: pumps on/off and speeds; leaves the pumped flow in flowCmdM3h and pumpDemandM3. */
  private scan(): void {
    const wdNow = this.watchdogTimeMs();
    const dtH = this.dtH;
    const watchdogMs = this.watchdogMs;
    const { highLevelOverride, dryRunHysteresisM, piIntegralMin } = this.opts;
    const floodSeason = this.floodSeason;
    const { stuck, stuckLevel, levelM, availableCount, pumpFirst, pumpCount, dutyCount, highAlarmM, mode, hbTimeMs, override, standbyLatch, drawCut, pumpStartM, spRemoteCtl, cutout } = this;
    const { floodStartM, pumpStopM, spStop, spStart, spPumpsAllowed, meanCapM3h, flowCmdM3h, spFlow, allVfd, pumpMinSpeed, vfdOn, piIntegral, demand, areaAtTarget, pumpDemandM3, mainCapM3h } = this;
    for (let s = 0, S = this.S; s < S; s++) {
      const level = stuck[s] === 1 ? stuckLevel[s]! : levelM[s]!;
      const first = pumpFirst[s]!;
      const count = pumpCount[s]!;
      const duty = dutyCount[s]!;
      const highAlarm = highAlarmM[s]!;
      const available = availableCount[s]!;

      // Which logic is in force: local levels, the remote band, or the remote flow setpoint.
      let ctl: (typeof Ctl)[keyof typeof Ctl] = Ctl.Local;
      if (mode[s] === StationMode.remote && wdNow - hbTimeMs[s]! <= watchdogMs) {
        if (highLevelOverride) {
          if (level >= highAlarm) override[s] = 1;
          else if (level < pumpStartM[s]!) override[s] = 0;
        }
        if (override[s] === 0) ctl = spRemoteCtl[s] === RemoteControl.flow ? Ctl.Flow : Ctl.Band;
      } else {
        override[s] = 0;
      }
      if (ctl !== Ctl.Flow) cutout[s] = 0;

      let startL: number;
      let stopL: number;
      let allowed: number; // pumps that may start now
      let maxRunning: number; // pumps that may keep running
      if (ctl === Ctl.Local) {
        startL = floodSeason ? floodStartM[s]! : pumpStartM[s]!;
        stopL = pumpStopM[s]!;
        // Standby pumps only join in an emergency (at the high-alarm level) and run down to their own stop level.
        // The latch keeps a VFD station's standby enabled once it has joined: without it the standby stopped the
        // step the level fell below the alarm and restarted the next time it rose, using up its starts per hour.
        if (level >= highAlarm) standbyLatch[s] = 1;
        else if (level <= stopL) standbyLatch[s] = 0;
        allowed = standbyLatch[s] === 1 ? count : duty;
        maxRunning = count;
      } else {
        standbyLatch[s] = 0;
        stopL = spStop[s]!;
        startL = Math.max(spStart[s]!, stopL + 0.05);
        allowed = spPumpsAllowed[s]!;
        maxRunning = allowed;
      }
      allowed = Math.min(allowed, available);
      maxRunning = Math.min(maxRunning, available);
      const capEach = meanCapM3h[s]!;
      // Transfers and tank inlets drawing on this well stop at the stop level in force (local, band or flow cut-out).
      if (level <= stopL) drawCut[s] = 1;
      else if (drawCut[s] === 1 && level >= stopL + dryRunHysteresisM) drawCut[s] = 0;

      if (ctl === Ctl.Flow) {
        const cutL = spStop[s]!;
        if (level <= cutL) cutout[s] = 1;
        else if (cutout[s] === 1 && level >= cutL + dryRunHysteresisM) cutout[s] = 0;
        const sp = cutout[s] === 1 ? 0 : Math.min(spFlow[s]!, allowed * capEach);
        if (allVfd[s] === 1) {
          const qMin = pumpMinSpeed[first]! * capEach;
          const q = sp <= 0 ? 0 : Math.max(sp, qMin);
          vfdOn[s] = q > 0 ? 1 : 0;
          piIntegral[s] = q;
          flowCmdM3h[s] = q;
          this.runVfd(s, allowed);
        } else {
          // Fixed-speed pumps give whole pumps: the nearest number to the setpoint (below half a pump, none).
          const want = Math.min(allowed, Math.round(sp / capEach));
          demand[s] = want;
          this.reconcile(s, want);
          this.fixedFlow(s);
        }
      } else if (allVfd[s] === 1) {
        // PI level control towards the middle of the band.
        const target = 0.5 * (startL + stopL);
        const qMax = allowed * capEach;
        const qMin = pumpMinSpeed[first]! * capEach;
        const kpStable = (0.5 * areaAtTarget[s]!) / dtH; // keeps the explicit loop well damped
        const kp = Math.min(Math.max(duty, 1) * capEach / Math.max(startL - target, 0.05), kpStable);
        let q = 0;
        if (vfdOn[s] === 0) {
          if (level >= startL && allowed > 0) {
            vfdOn[s] = 1;
            piIntegral[s] = 0;
          }
        } else if (level <= stopL || allowed === 0) {
          vfdOn[s] = 0;
        }
        if (vfdOn[s] === 1) {
          const error = level - target;
          const raw = kp * error + piIntegral[s]!;
          const saturatedHigh = raw >= qMax && error > 0;
          const saturatedLow = raw <= qMin && error < 0;
          if (!saturatedHigh && !saturatedLow) piIntegral[s] = piIntegral[s]! + (kp * error * this.stepS) / (piIntegralMin * 60);
          q = Math.min(Math.max(raw, qMin), qMax);
        }
        flowCmdM3h[s] = q;
        const running = this.runVfd(s, allowed);
        // Below the alarm, once the PI has destaged to duty pumps the standby is no longer needed: release it.
        if (ctl === Ctl.Local && level < highAlarm && running <= duty) standbyLatch[s] = 0;
      } else {
        // Fixed-speed staging: pump k starts at startL + (k−1)·stagger and stops at its own, lower level.
        const dutyN = Math.max(duty, 1);
        const stagger = Math.max(0.05, (highAlarm - startL) / dutyN);
        const stopStep = (startL - stopL) / dutyN;
        let d = demand[s]!;
        while (d < allowed && level >= startL + d * stagger) d++;
        while (d > 0 && level < Math.min(stopL + (d - 1) * stopStep, startL + (d - 1) * stagger - 0.05)) d--;
        if (d > maxRunning) d = maxRunning;
        demand[s] = d;
        this.reconcile(s, d);
        this.fixedFlow(s);
      }
      pumpDemandM3[s] = Math.min(flowCmdM3h[s]!, mainCapM3h[s]!) * dtH;
    }
  }

  /** Flow of the running fixed-speed pumps into flowCmdM3h[s]. */
  private fixedFlow(s: number): void {
    // Unchanged running set: the flow and speeds from the last call still hold.
    if (this.runningChanged[s] === 0) return;
    this.runningChanged[s] = 0;
    const { pumpRunning, pumpCap, pumpSpeed } = this;
    let q = 0;
    for (let p = this.pumpFirst[s]!, end = p + this.pumpCount[s]!; p < end; p++) {
      if (pumpRunning[p] === 1) {
        q += pumpCap[p]!;
        pumpSpeed[p] = 1;
      } else {
        pumpSpeed[p] = 0;
      }
    }
    this.flowCmdM3h[s] = q;
  }

  /**
   * Run enough VFD pumps for the flow demand in flowCmdM3h[s] (with hysteresis on the pump count), share the
   * flow between them and leave the delivered flow in flowCmdM3h[s].
   */
  private runVfd(s: number, allowed: number): number {
    const { pumpRunning, pumpCap, pumpMinSpeed, pumpSpeed } = this;
    const q = this.flowCmdM3h[s]!;
    const first = this.pumpFirst[s]!;
    const end = first + this.pumpCount[s]!;
    const capEach = this.meanCapM3h[s]!;
    let running = 0;
    for (let p = first; p < end; p++) running += pumpRunning[p]!;
    let want: number;
    if (q <= 0) want = 0;
    else if (running === 0) want = Math.ceil(q / capEach - 1e-9);
    else if (q > running * capEach) want = Math.ceil(q / capEach - 1e-9);
    else if (running > 1 && q < (running - 1) * capEach * VFD_DESTAGE_FRACTION) want = Math.max(1, Math.ceil(q / capEach - 1e-9));
    else want = running;
    want = Math.min(want, allowed);
    running = this.reconcile(s, want);
    if (running === 0) {
      for (let p = first; p < end; p++) pumpSpeed[p] = 0;
      this.flowCmdM3h[s] = 0;
      return 0;
    }
    let capRunning = 0;
    let minRunning = 0;
    for (let p = first; p < end; p++) {
      if (pumpRunning[p] === 1) {
        capRunning += pumpCap[p]!;
        minRunning += pumpCap[p]! * pumpMinSpeed[p]!;
      }
    }
    const flow = Math.min(Math.max(q, minRunning), capRunning);
    const speed = flow / capRunning;
    for (let p = first; p < end; p++) pumpSpeed[p] = pumpRunning[p] === 1 ? speed : 0;
    this.flowCmdM3h[s] = flow;
    return running;
  }

  // --- Faults and operator actions -----------------------------------------------------------------

  private stationIndexOf(stationId: string): number {
    const s = this.stationIndex.get(stationId);
    if (s === undefined) throw new Error(`unknown station ${stationId}`);
    return s;
  }

  private pumpIndexOf(stationId: string, pumpId: string): number {
    const s = this.stationIndexOf(stationId);
    for (let p = this.pumpFirst[s]!; p < this.pumpFirst[s]! + this.pumpCount[s]!; p++) if (this.pumpIds[p] === pumpId) return p;
    throw new Error(`station ${stationId} has no pump ${pumpId}`);
  }

  /** Trip a pump (motor protection): it stops now and is unavailable until reset. */
  tripPump(stationId: string, pumpId: string): void {
    const p = this.pumpIndexOf(stationId, pumpId);
    if (this.pumpAvail[p] === 1) this.availableCount[this.pumpStation[p]!]!--;
    this.pumpAvail[p] = 0;
    if (this.pumpRunning[p] === 1) this.stopPump(p);
    this.pumpSpeed[p] = 0;
  }

  resetPump(stationId: string, pumpId: string): void {
    const p = this.pumpIndexOf(stationId, pumpId);
    if (this.pumpAvail[p] === 0) this.availableCount[this.pumpStation[p]!]!++;
    this.pumpAvail[p] = 1;
  }

  /** The field mode switch: LOCAL ignores remote setpoints. */
  setMode(stationId: string, mode: ControlMode): void {
    this.mode[this.stationIndexOf(stationId)] = mode === 'remote' ? StationMode.remote : StationMode.local;
  }

  /** Freeze the level reading (the PLC controls on the frozen value too); reported with `quality`. */
  setLevelSensorStuck(stationId: string, stuck: boolean, quality: TagQuality = 'uncertain'): void {
    const s = this.stationIndexOf(stationId);
    this.stuck[s] = stuck ? 1 : 0;
    this.stuckLevel[s] = this.levelM[s]!;
    this.stuckQuality[s] = quality;
  }

  /**
   * Freeze an analyser's readings at their current values. A frozen analyser in the field usually keeps
   * reporting Good, so only a flat-line detector finds it (domain.md); `quality` 'uncertain' makes it say so.
   */
  setAnalyserFlatLine(analyserId: string, flat: boolean, quality: TagQuality = 'good'): void {
    const i = this.network.analysers.findIndex((a) => a.id === analyserId);
    if (i < 0) throw new Error(`unknown analyser ${analyserId}`);
    this.flatLineQuality[i] = quality;
    if (!flat) {
      this.flatLine[i] = null;
      return;
    }
    const frozen = new Float64Array(NQ);
    for (let q = 0; q < NQ; q++) frozen[q] = this.analyserValue(i, q);
    this.flatLine[i] = frozen;
  }

  /** Communication loss: reads of the object report Bad and writes are rejected (so its heartbeat goes stale). */
  setCommunicationLoss(objectId: string, lost: boolean): void {
    if (!this.objectKinds.has(objectId)) throw new Error(`unknown object ${objectId}`);
    if (lost) this.commLoss.add(objectId);
    else this.commLoss.delete(objectId);
  }

  /** Whether an object's PLC is currently unreachable (see setCommunicationLoss). */
  communicationLost(objectId: string): boolean {
    return this.commLoss.has(objectId);
  }

  /** Rainstorm warning in force: local control uses the flood-season start levels (防汛应急水位). */
  setFloodSeason(on: boolean): void {
    this.floodSeason = on;
  }

  /**
   * Count the PLC watchdog in another time base than simulated time: `nowMs` (e.g. Date.now) under a clock that
   * runs as fast as possible, where no client could beat a timeout in simulated seconds. The timeout is then in
   * seconds of that base; null returns to simulated time. Heartbeats already seen are forgotten (their times
   * were in the old base), so every station needs a fresh heartbeat to be in REMOTE.
   */
  setWatchdogClock(nowMs: (() => number) | null): void {
    this.watchdogNowMs = nowMs;
    this.hbTimeMs.fill(Number.NEGATIVE_INFINITY);
  }

  private watchdogTimeMs(): number {
    return this.watchdogNowMs === null ? this.tMs : this.watchdogNowMs();
  }

  /** The PLC watchdog, in simulated seconds (the runner scales it when the clock is accelerated). */
  setWatchdogTimeoutS(seconds: number): void {
    if (!(seconds > 0)) throw new RangeError(`watchdog timeout must be positive, got ${seconds}`);
    this.watchdogMs = seconds * 1000;
  }

  injectPollution(spike: PollutionSpike): void {
    const s = this.stationIndex.get(spike.nodeId);
    const pl = this.network.plants.findIndex((p) => p.id === spike.nodeId);
    if (s === undefined && pl < 0) throw new Error(`pollution spike: ${spike.nodeId} is not a station or plant`);
    if (!QUALITY_PARAMETERS.includes(spike.parameter)) throw new Error(`pollution spike: unknown parameter ${String(spike.parameter)}`);
    if (!Number.isFinite(spike.excessValue) || !(spike.durationMin > 0)) throw new RangeError('pollution spike: excessValue must be finite and durationMin positive');
    this.spikes.push({ ...spike });
    this.spikeNode.push(s ?? this.S + this.K + pl);
    if (!this.spikesOn) {
      this.spikesOn = true;
      this.spikeIn = new Float64Array(this.S * NQ);
    }
  }

  // --- Tags ----------------------------------------------------------------------------------------

  private address(objectId: string, tag: string): TagAddress {
    const found = this.tagByKey.get(`${objectId}/${tag}`);
    if (found) return found;
    if (!this.objectKinds.has(objectId)) throw new TagAccessError('UnknownObject', `unknown object "${objectId}"`);
    throw new TagAccessError('UnknownTag', `object "${objectId}" has no tag "${tag}"`);
  }

  private analyserValue(i: number, q: number): number {
    const node = this.analyserNode[i]!;
    let rdiiFrac: number;
    let excess = 0;
    if (node < this.S) {
      const v = this.vol[node]!;
      rdiiFrac = v > 0 ? this.wellRdii[node]! / v : 0;
      if (this.spikesOn && v > 0) excess = this.wellSpike[node * NQ + q]! / v;
    } else if (node < this.S + this.K) {
      const k = node - this.S;
      const v = this.tankV[k]!;
      rdiiFrac = v > 0 ? this.tankRdii[k]! / v : 0;
      if (this.spikesOn && v > 0) excess = this.tankSpike[k * NQ + q]! / v;
    } else {
      const pl = node - this.S - this.K;
      rdiiFrac = this.plRdiiFrac[pl]!;
      if (this.spikesOn) excess = this.plSpike[pl * NQ + q]!;
    }
    const value = this.analyserDry[i * NQ + q]! * (1 - rdiiFrac) + this.rdiiQuality[q]! * rdiiFrac + excess;
    const sigma = this.opts.analyserNoiseFraction;
    const noise = sigma > 0 ? 1 + sigma * normalFromUnits(hashUnit(this.seed, this.stepIndex, i, q), hashUnit(this.seed ^ 0x5bd1e995, this.stepIndex, i, q)) : 1;
    return Math.max(0, value * noise);
  }

  /** Current value of a tag as SCADA would report it, with its quality. */
  readTag(objectId: string, tag: string): TagReading {
    const a = this.address(objectId, tag);
    const dataType = a.def.dataType;
    const value = this.tagValue(a);
    let quality: TagQuality = 'good';
    if (this.commLoss.has(objectId)) quality = 'bad';
    else if (a.kind === 'station' && tag === 'levelM' && this.stuck[a.index] === 1) quality = this.stuckQuality[a.index]!;
    else if (a.kind === 'analyser' && this.flatLine[a.index] !== null) quality = this.flatLineQuality[a.index]!;
    return { value, quality, dataType };
  }

  private tagValue(a: TagAddress): TagValue {
    const i = a.index;
    const perH = 1 / this.dtH;
    switch (a.kind) {
      case 'station': {
        switch (a.def.tag) {
          case 'levelM':
            return this.measuredLevel(i);
          case 'inflowM3h':
            return this.lastInM3[i]! * perH;
          case 'outflowM3h':
            return this.lastPumpM3[i]! * perH;
          case 'overflowM3h':
            return this.lastOvfM3[i]! * perH;
          case 'pumpsRunning': {
            let n = 0;
            for (let p = this.pumpFirst[i]!; p < this.pumpFirst[i]! + this.pumpCount[i]!; p++) n += this.pumpRunning[p]!;
            return n;
          }
          case 'pumpsAvailable': {
            let n = 0;
            for (let p = this.pumpFirst[i]!; p < this.pumpFirst[i]! + this.pumpCount[i]!; p++) n += this.pumpAvail[p]!;
            return n;
          }
          case 'mode':
            return this.mode[i]!;
          case 'remoteActive':
            return this.isRemoteActive(i);
          case 'energyKwh':
            return this.stEnergyKwh[i]!;
          case 'pumpStarts':
            return this.stStarts[i]! % 4_294_967_296;
          case 'startLevelSpM':
            return this.spStart[i]!;
          case 'stopLevelSpM':
            return this.spStop[i]!;
          case 'flowSpM3h':
            return this.spFlow[i]!;
          case 'pumpsAllowedSp':
            return this.spPumpsAllowed[i]!;
          case 'remoteControlSp':
            return this.spRemoteCtl[i]!;
          case 'heartbeat':
            return this.hbValue[i]!;
        }
        break;
      }
      case 'interconnection':
        if (a.def.tag === 'transferM3h') return this.xLastM3[i]! * perH;
        if (a.def.tag === 'transferSpM3h') return this.xSp[i]!;
        break;
      case 'tank':
        switch (a.def.tag) {
          case 'levelM':
            return (this.tankV[i]! / this.tankCap[i]!) * this.opts.tankDepthM;
          case 'volumeM3':
            return this.tankV[i]!;
          case 'inletM3h':
            return this.tankLastIn[i]! * perH;
          case 'outletM3h':
            return this.tankLastOut[i]! * perH;
          case 'overflowM3h':
            return this.tankLastOvf[i]! * perH;
          case 'inletSpM3h':
            return this.tankSpIn[i]!;
          case 'outletSpM3h':
            return this.tankSpOut[i]!;
        }
        break;
      case 'plant':
        if (a.def.tag === 'inflowM3h') return this.plLastIn[i]! * perH;
        if (a.def.tag === 'bypassM3h') return this.plLastBypass[i]! * perH;
        break;
      case 'analyser': {
        const frozen = this.flatLine[i];
        return frozen ? frozen[a.qualityIndex]! : this.analyserValue(i, a.qualityIndex);
      }
    }
    throw new TagAccessError('UnknownTag', `tag "${a.def.tag}" of ${a.def.objectId} is not simulated`);
  }

  /** Write a remote setpoint as the dispatch would over OPC UA; throws TagAccessError naming the reason. */
  writeSetpoint(objectId: string, tag: string, value: TagValue): void {
    const a = this.address(objectId, tag);
    const def = a.def;
    if (def.access !== 'write') throw new TagAccessError('ReadOnly', `${objectId}.${tag} is a measurement (read-only)`);
    checkDataType(objectId, tag, def.dataType, value);
    const num = value as number;
    const range = this.rangeOfAddress(a);
    if (num < range.min || num > range.max) throw new TagAccessError('OutOfRange', `${objectId}.${tag} = ${num} is outside [${range.min}, ${range.max}]`);
    if (this.commLoss.has(objectId)) throw new TagAccessError('NoCommunication', `${objectId} does not answer (communication loss)`);
    const i = a.index;
    switch (tag) {
      case 'startLevelSpM':
        this.checkBandGap(objectId, num, this.spStop[i]!);
        this.spStart[i] = num;
        break;
      case 'stopLevelSpM':
        this.checkBandGap(objectId, this.spStart[i]!, num);
        this.spStop[i] = num;
        break;
      case 'flowSpM3h':
        this.spFlow[i] = num;
        break;
      case 'pumpsAllowedSp':
        this.spPumpsAllowed[i] = num;
        break;
      case 'remoteControlSp':
        this.spRemoteCtl[i] = num;
        break;
      case 'heartbeat':
        // The watchdog sees a change of value, not a rewrite of the same value.
        if (num !== this.hbValue[i]) this.hbTimeMs[i] = this.watchdogTimeMs();
        this.hbValue[i] = num;
        break;
      case 'transferSpM3h':
        this.xSp[i] = num;
        break;
      case 'inletSpM3h':
        this.tankSpIn[i] = num;
        break;
      case 'outletSpM3h':
        this.tankSpOut[i] = num;
        break;
      default:
        throw new TagAccessError('UnknownTag', `${objectId}.${tag} is not a simulated setpoint`);
    }
  }

  /**
   * Check a remote level band written as a pair (both levels in range, start at least MIN_LEVEL_BAND_GAP_M above
   * stop) without writing it; throws TagAccessError naming both values. The OPC UA server checks a request that
   * writes both levels with this, then writes them in an order that never inverts the band on the way.
   */
  checkLevelBand(stationId: string, startLevelM: number, stopLevelM: number): void {
    for (const [tag, v] of [['startLevelSpM', startLevelM], ['stopLevelSpM', stopLevelM]] as const) {
      const range = this.rangeOf(stationId, tag);
      if (!(v >= range.min && v <= range.max)) throw new TagAccessError('OutOfRange', `${stationId}.${tag} = ${v} is outside [${range.min}, ${range.max}]`);
    }
    this.checkBandGap(stationId, startLevelM, stopLevelM);
  }

  /** An inverted or too narrow band is refused, not silently widened: the PLC would run a band nobody wrote. */
  private checkBandGap(stationId: string, startLevelM: number, stopLevelM: number): void {
    if (!(startLevelM >= stopLevelM + MIN_LEVEL_BAND_GAP_M - 1e-9)) {
      throw new TagAccessError(
        'OutOfRange',
        `${stationId}: start level ${startLevelM} m must lie at least ${MIN_LEVEL_BAND_GAP_M} m above stop level ${stopLevelM} m (write the lower level first when lowering the band, the upper one first when raising it)`,
      );
    }
  }

  /** Accepted range of a writable tag (the network's envelopes, pump counts, enumerations). */
  rangeOf(objectId: string, tag: string): { min: number; max: number } {
    return this.rangeOfAddress(this.address(objectId, tag));
  }

  private rangeOfAddress(addr: TagAddress): { min: number; max: number } {
    const n = this.network;
    const i = addr.index;
    switch (addr.def.tag) {
      case 'startLevelSpM':
        return n.stations[i]!.envelope.startLevelM;
      case 'stopLevelSpM':
        return n.stations[i]!.envelope.stopLevelM;
      case 'flowSpM3h':
        return n.stations[i]!.envelope.flowSetpointM3h;
      case 'pumpsAllowedSp':
        return { min: 0, max: n.stations[i]!.pumps.length };
      case 'remoteControlSp':
        return { min: RemoteControl.levelBand, max: RemoteControl.flow };
      case 'heartbeat':
        return { min: 0, max: 4_294_967_295 };
      case 'transferSpM3h': {
        const x = n.interconnections[i]!;
        return { min: Math.max(x.envelope.transferM3h.min, -x.capacityM3h), max: Math.min(x.envelope.transferM3h.max, x.capacityM3h) };
      }
      case 'inletSpM3h':
        return n.tanks[i]!.envelope.inletM3h;
      case 'outletSpM3h':
        return n.tanks[i]!.envelope.outletM3h;
      default:
        return { min: Number.NEGATIVE_INFINITY, max: Number.POSITIVE_INFINITY };
    }
  }

  // --- Results -------------------------------------------------------------------------------------

  /** Every overflow, tank overflow and bypass event so far (open events have endUtcMs null). */
  overflowEvents(): OverflowEvent[] {
    return this.events.map((e) => ({ ...e }));
  }

  pumpStartLog(): PumpStart[] {
    const out: PumpStart[] = [];
    for (let i = 0; i < this.startLog.length; i += 2) {
      const p = this.startLog[i]!;
      out.push({ stationId: this.stationIds[this.pumpStation[p]!]!, pumpId: this.pumpIds[p]!, atUtcMs: this.startLog[i + 1]! });
    }
    return out;
  }

  /** Running state of each pump of a station. */
  pumps(stationId: string): { pumpId: string; available: boolean; running: boolean; speedFraction: number; runHours: number }[] {
    const s = this.stationIndexOf(stationId);
    const out = [];
    for (let p = this.pumpFirst[s]!; p < this.pumpFirst[s]! + this.pumpCount[s]!; p++) {
      out.push({ pumpId: this.pumpIds[p]!, available: this.pumpAvail[p] === 1, running: this.pumpRunning[p] === 1, speedFraction: this.pumpSpeed[p]!, runHours: this.runSeconds(p) / 3600 });
    }
    return out;
  }

  /** True wet-well level (not the possibly faulty measurement). */
  trueLevelM(stationId: string): number {
    return this.levelM[this.stationIndexOf(stationId)]!;
  }

  private storageM3(): number {
    let sum = 0;
    for (let s = 0; s < this.S; s++) sum += this.vol[s]!;
    for (let k = 0; k < this.K; k++) sum += this.tankV[k]!;
    return sum;
  }

  massBalance(): MassBalance {
    let inTransitM3 = 0;
    for (let i = 0; i < this.buf.length; i++) inTransitM3 += this.buf[i]!;
    const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
    const inflowM3 = this.totDwfM3 + this.totGwM3 + this.totRdiiM3;
    const treatedM3 = sum(this.plTreated);
    const bypassM3 = sum(this.plBypass);
    const overflowM3 = sum(this.stOverflowM3) + sum(this.tkLost);
    const storageChangeM3 = this.storageM3() - this.initialStorageM3;
    return { inflowM3, treatedM3, bypassM3, overflowM3, storageChangeM3, inTransitM3, errorM3: inflowM3 - treatedM3 - bypassM3 - overflowM3 - storageChangeM3 - inTransitM3 };
  }

  summary(): SimulationSummary {
    const n = this.network;
    const stations: Record<string, StationSummary> = {};
    n.stations.forEach((st, s) => {
      stations[st.id] = {
        inflowM3: this.stInflowM3[s]!,
        pumpedM3: this.stPumpedM3[s]!,
        overflowM3: this.stOverflowM3[s]!,
        overflowEvents: this.stOverflowEvents[s]!,
        overflowMin: (this.stOverflowSteps[s]! * this.stepS) / 60,
        pumpStarts: this.stStarts[s]!,
        peakLevelM: this.stPeakLevel[s]!,
        energyKwh: this.stEnergyKwh[s]!,
        costCny: this.stCostCny[s]!,
      };
    });
    const plants: Record<string, PlantSummary> = {};
    n.plants.forEach((pl, i) => {
      plants[pl.id] = { inflowM3: this.plInflow[i]!, treatedM3: this.plTreated[i]!, bypassM3: this.plBypass[i]!, bypassEvents: this.plBypassEvents[i]!, peakInflowM3h: this.plPeak[i]! };
    });
    const tanks: Record<string, TankSummary> = {};
    n.tanks.forEach((t, k) => {
      tanks[t.id] = { inletM3: this.tkInlet[k]!, outletM3: this.tkOutlet[k]!, overflowM3: this.tkOverflow[k]!, peakVolumeM3: this.tkPeak[k]!, energyKwh: this.tkEnergy[k]!, costCny: this.tkCost[k]! };
    });
    const interconnections: Record<string, InterconnectionSummary> = {};
    n.interconnections.forEach((x, i) => {
      interconnections[x.id] = { aToBM3: this.xAB[i]!, bToAM3: this.xBA[i]!, energyKwh: this.xEnergy[i]!, costCny: this.xCost[i]! };
    });
    const rainDepthMm: Record<string, number> = {};
    n.catchments.forEach((c, i) => (rainDepthMm[c.id] = this.catchRain[i]!));
    const st = Object.values(stations);
    const energyKwh = st.reduce((a, x) => a + x.energyKwh, 0) + Object.values(tanks).reduce((a, x) => a + x.energyKwh, 0) + Object.values(interconnections).reduce((a, x) => a + x.energyKwh, 0);
    const costCny = st.reduce((a, x) => a + x.costCny, 0) + Object.values(tanks).reduce((a, x) => a + x.costCny, 0) + Object.values(interconnections).reduce((a, x) => a + x.costCny, 0);
    return {
      startUtcMs: this.startUtcMs,
      endUtcMs: this.tMs,
      steps: this.stepIndex,
      stepS: this.stepS,
      seed: this.seed,
      inflow: { dwfM3: this.totDwfM3, groundwaterM3: this.totGwM3, rdiiM3: this.totRdiiM3, totalM3: this.totDwfM3 + this.totGwM3 + this.totRdiiM3 },
      rainDepthMm,
      stations,
      plants,
      tanks,
      interconnections,
      totals: {
        overflowM3: st.reduce((a, x) => a + x.overflowM3, 0) + this.tkLost.reduce((a, x) => a + x, 0),
        overflowEvents: st.reduce((a, x) => a + x.overflowEvents, 0),
        bypassM3: Object.values(plants).reduce((a, x) => a + x.bypassM3, 0),
        energyKwh,
        costCny,
        pumpStarts: st.reduce((a, x) => a + x.pumpStarts, 0),
      },
      massBalance: this.massBalance(),
    };
  }
}

function checkDataType(objectId: string, tag: string, dataType: TagDataType, value: TagValue): void {
  const bad = (what: string) => new TagAccessError('TypeMismatch', `${objectId}.${tag} expects ${what}, got ${typeof value === 'number' ? value : typeof value}`);
  switch (dataType) {
    case 'Double':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw bad('a finite Double');
      return;
    case 'Int32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < -2_147_483_648 || value > 2_147_483_647) throw bad('an Int32');
      return;
    case 'UInt32':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 4_294_967_295) throw bad('a UInt32');
      return;
    case 'Boolean':
      if (typeof value !== 'boolean') throw bad('a Boolean');
      return;
  }
}

/** Build a simulation; see SimulationOptions for defaults. */
export function createSimulation(options: SimulationOptions): Simulation {
  return new Simulation(options);
}
