// Rain scenarios for benchmarks, demos and the local forecast server (reference-network.md,
// "Rain scenarios the benchmarks use"), and the forecast error model applied to them.
//
// Pure and deterministic: no I/O, no clock, no Math.random. Every scenario is a rain field
// depth(lat, lon, [from, to)) built from an analytic cumulative curve, so any accumulation
// (1 min, 15 min, 1 h, the whole event) is exact and series at different steps add up.

import { mulberry32 } from './random.js';

export { mulberry32 };

const MS_PER_MIN = 60_000;
const MS_PER_H = 60 * MS_PER_MIN;
const KM_PER_DEG_LAT = 111.2;

export const SCENARIO_NAMES = ['dry-week', 'moderate', 'rainstorm', 'typhoon', 'chicago-2y', 'chicago-10y'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export function isScenarioName(value: string): value is ScenarioName {
  return (SCENARIO_NAMES as readonly string[]).includes(value);
}

export interface RainScenario {
  readonly name: string;
  readonly description: string;
  /** Scenario start (what a simulation starts from), UTC epoch ms. */
  readonly startUtcMs: number;
  /** Scenario length, long enough for the network to drain after the rain. */
  readonly durationMs: number;
  /** When rain starts at the storm's reference point (other places may start later). */
  readonly rainOnsetUtcMs: number;
  /** No location gets rain outside this window; lets callers skip dry stretches. */
  readonly rainWindowUtcMs: { readonly startUtcMs: number; readonly endUtcMs: number };
  /** Rain depth in mm falling at the point over [fromUtcMs, toUtcMs). */
  rainMmBetween(latDeg: number, lonDeg: number, fromUtcMs: number, toUtcMs: number): number;
}

export interface ScenarioOptions {
  startUtcMs: number;
  /** Rain onset after the scenario start; the default leaves plans time to see it coming. */
  rainOnsetOffsetMin?: number;
  /** Chicago storms only: the local storm-intensity formula. */
  stormFormula?: StormIntensityFormula;
}

export const DEFAULT_RAIN_ONSET_OFFSET_MIN = 6 * 60;
/** Time after the last rain that a scenario keeps running, for RDII recession and drawdown. */
const DRAIN_TAIL_MIN = 24 * 60;

/**
 * Storm-intensity formula i = A(1 + C·lgP) / (t + b)^n, i in mm/min, t in min, P in years.
 * Plausible values of the order of the published formulas for the Hangzhou Bay plain
 * (Shanghai/Jiaxing); not an official formula — replace with the utility's own.
 */
export interface StormIntensityFormula {
  aMmPerMin: number;
  c: number;
  bMin: number;
  n: number;
}
export const JIAXING_LIKE_STORM_FORMULA: StormIntensityFormula = { aMmPerMin: 9.6, c: 0.85, bMin: 7, n: 0.66 };
/** Chicago hyetograph: peak position as a share of the storm duration. */
export const CHICAGO_PEAK_RATIO = 0.4;
export const CHICAGO_DURATION_MIN = 120;

// --- Storm fields -----------------------------------------------------------------------------

/** A storm as a cumulative curve at its reference point, scaled and delayed per location. */
interface StormField {
  rainDurationMin: number;
  /** Depth in mm accumulated at the reference point from rain onset to elapsedMin. */
  cumulativeMm(elapsedMin: number): number;
  spatialFactor(latDeg: number, lonDeg: number): number;
  /** Arrival delay relative to the reference point, within [0, maxLagMin]. */
  lagMin(latDeg: number, lonDeg: number): number;
  maxLagMin: number;
}

/** A sin² hump of `totalMm` between startMin and startMin + widthMin; cumulative in closed form. */
function sinSquaredHumpMm(elapsedMin: number, startMin: number, widthMin: number, totalMm: number): number {
  const x = Math.min(Math.max(elapsedMin - startMin, 0), widthMin);
  return (totalMm * (x - (widthMin / (2 * Math.PI)) * Math.sin((2 * Math.PI * x) / widthMin))) / widthMin;
}

function distanceKm(latDeg: number, lonDeg: number, refLatDeg: number, refLonDeg: number): number {
  const dyKm = (latDeg - refLatDeg) * KM_PER_DEG_LAT;
  const dxKm = (lonDeg - refLonDeg) * KM_PER_DEG_LAT * Math.cos((refLatDeg * Math.PI) / 180);
  return Math.hypot(dxKm, dyKm);
}

const clamp = (value: number, low: number, high: number): number => Math.min(Math.max(value, low), high);
const uniformField = { spatialFactor: () => 1, lagMin: () => 0, maxLagMin: 0 };

const MODERATE_TOTAL_MM = 30;
const MODERATE_DURATION_MIN = 6 * 60;

function moderateField(): StormField {
  return {
    ...uniformField,
    rainDurationMin: MODERATE_DURATION_MIN,
    cumulativeMm: (t) => sinSquaredHumpMm(t, 0, MODERATE_DURATION_MIN, MODERATE_TOTAL_MM),
  };
}

// Rainstorm: 80 mm in 12 h on the west side, fading to about 55 % east of lon 121.0, moving east.
const RAINSTORM_WEST_TOTAL_MM = 80;
const RAINSTORM_DURATION_MIN = 12 * 60;
const RAINSTORM_EAST_FACTOR = 0.55;
const RAINSTORM_SPLIT_LON_DEG = 121.0;
const RAINSTORM_SPLIT_WIDTH_DEG = 0.03;
const RAINSTORM_WEST_EDGE_LON_DEG = 120.85;
const RAINSTORM_SPEED_KM_PER_H = 30;
const RAINSTORM_MAX_LAG_MIN = 120;

function rainstormField(): StormField {
  return {
    rainDurationMin: RAINSTORM_DURATION_MIN,
    cumulativeMm: (t) => sinSquaredHumpMm(t, 0, RAINSTORM_DURATION_MIN, RAINSTORM_WEST_TOTAL_MM),
    spatialFactor: (_latDeg, lonDeg) => {
      const westShare = 1 / (1 + Math.exp((lonDeg - RAINSTORM_SPLIT_LON_DEG) / RAINSTORM_SPLIT_WIDTH_DEG));
      return RAINSTORM_EAST_FACTOR + (1 - RAINSTORM_EAST_FACTOR) * westShare;
    },
    lagMin: (latDeg, lonDeg) => {
      const eastKm = (lonDeg - RAINSTORM_WEST_EDGE_LON_DEG) * KM_PER_DEG_LAT * Math.cos((latDeg * Math.PI) / 180);
      return clamp((eastKm / RAINSTORM_SPEED_KM_PER_H) * 60, 0, RAINSTORM_MAX_LAG_MIN);
    },
    maxLagMin: RAINSTORM_MAX_LAG_MIN,
  };
}

// Typhoon: outer bands over 36 h plus an eyewall core at landfall on the Hangzhou Bay coast
// (Zhapu–Dushangang). Totals are at the landfall point; inland gets less, and later.
const TYPHOON_TOTAL_MM = 220;
const TYPHOON_CORE_3H_MM = 60;
const TYPHOON_DURATION_MIN = 36 * 60;
const TYPHOON_CORE_CENTRE_MIN = 20 * 60;
const TYPHOON_CORE_WIDTH_MIN = 4 * 60;
const TYPHOON_LANDFALL_LAT_DEG = 30.6;
const TYPHOON_LANDFALL_LON_DEG = 121.15;
const TYPHOON_INLAND_FACTOR = 0.75;
const TYPHOON_DECAY_KM = 30;
const TYPHOON_TRANSLATION_KM_PER_H = 25;
const TYPHOON_MAX_LAG_MIN = 180;

function typhoonField(): StormField {
  const coreStartMin = TYPHOON_CORE_CENTRE_MIN - TYPHOON_CORE_WIDTH_MIN / 2;
  const windowFrom = TYPHOON_CORE_CENTRE_MIN - 90;
  const windowTo = TYPHOON_CORE_CENTRE_MIN + 90;
  // Split the total between bands and core so the 3 h around landfall holds the core amount.
  const baseShare3h =
    sinSquaredHumpMm(windowTo, 0, TYPHOON_DURATION_MIN, 1) - sinSquaredHumpMm(windowFrom, 0, TYPHOON_DURATION_MIN, 1);
  const coreShare3h =
    sinSquaredHumpMm(windowTo, coreStartMin, TYPHOON_CORE_WIDTH_MIN, 1) -
    sinSquaredHumpMm(windowFrom, coreStartMin, TYPHOON_CORE_WIDTH_MIN, 1);
  const coreMm = (TYPHOON_CORE_3H_MM - TYPHOON_TOTAL_MM * baseShare3h) / (coreShare3h - baseShare3h);
  const bandsMm = TYPHOON_TOTAL_MM - coreMm;
  return {
    rainDurationMin: TYPHOON_DURATION_MIN,
    cumulativeMm: (t) =>
      sinSquaredHumpMm(t, 0, TYPHOON_DURATION_MIN, bandsMm) +
      sinSquaredHumpMm(t, coreStartMin, TYPHOON_CORE_WIDTH_MIN, coreMm),
    spatialFactor: (latDeg, lonDeg) => {
      const km = distanceKm(latDeg, lonDeg, TYPHOON_LANDFALL_LAT_DEG, TYPHOON_LANDFALL_LON_DEG);
      return TYPHOON_INLAND_FACTOR + (1 - TYPHOON_INLAND_FACTOR) * Math.exp(-km / TYPHOON_DECAY_KM);
    },
    lagMin: (latDeg, lonDeg) => {
      const km = distanceKm(latDeg, lonDeg, TYPHOON_LANDFALL_LAT_DEG, TYPHOON_LANDFALL_LON_DEG);
      return clamp((km / TYPHOON_TRANSLATION_KM_PER_H) * 60, 0, TYPHOON_MAX_LAG_MIN);
    },
    maxLagMin: TYPHOON_MAX_LAG_MIN,
  };
}

/** Design depth (mm) of a storm of durationMin and returnPeriodYears from the formula. */
export function designDepthMm(formula: StormIntensityFormula, returnPeriodYears: number, durationMin: number): number {
  const aPrime = formula.aMmPerMin * (1 + formula.c * Math.log10(returnPeriodYears));
  return (aPrime * durationMin) / (durationMin + formula.bMin) ** formula.n;
}

/**
 * Chicago hyetograph (Keifer & Chu): any window around the peak, split r : (1 − r), holds the
 * formula's design depth for its length; the cumulative curve below follows from that.
 */
function chicagoField(returnPeriodYears: number, formula: StormIntensityFormula): StormField {
  const { bMin, n } = formula;
  const r = CHICAGO_PEAK_RATIO;
  const aPrime = formula.aMmPerMin * (1 + formula.c * Math.log10(returnPeriodYears));
  const peakMin = r * CHICAGO_DURATION_MIN;
  const beforePeakMm = (tb: number): number => (tb <= 0 ? 0 : (aPrime * tb) / (tb / r + bMin) ** n);
  const afterPeakMm = (ta: number): number => (ta <= 0 ? 0 : (aPrime * ta) / (ta / (1 - r) + bMin) ** n);
  return {
    ...uniformField,
    rainDurationMin: CHICAGO_DURATION_MIN,
    cumulativeMm: (t) => {
      const x = clamp(t, 0, CHICAGO_DURATION_MIN);
      return x <= peakMin ? beforePeakMm(peakMin) - beforePeakMm(peakMin - x) : beforePeakMm(peakMin) + afterPeakMm(x - peakMin);
    },
  };
}

function scenarioFromField(name: string, description: string, field: StormField, options: ScenarioOptions): RainScenario {
  const { startUtcMs } = options;
  const onsetOffsetMin = options.rainOnsetOffsetMin ?? DEFAULT_RAIN_ONSET_OFFSET_MIN;
  if (!Number.isFinite(startUtcMs)) throw new RangeError(`scenario ${name}: startUtcMs must be a finite number, got ${startUtcMs}`);
  if (!Number.isFinite(onsetOffsetMin) || onsetOffsetMin < 0) {
    throw new RangeError(`scenario ${name}: rainOnsetOffsetMin must be ≥ 0, got ${onsetOffsetMin}`);
  }
  const rainOnsetUtcMs = startUtcMs + Math.round(onsetOffsetMin) * MS_PER_MIN;
  const rainEndUtcMs = rainOnsetUtcMs + (field.rainDurationMin + field.maxLagMin) * MS_PER_MIN;
  const durationMs = Math.ceil((rainEndUtcMs + DRAIN_TAIL_MIN * MS_PER_MIN - startUtcMs) / MS_PER_H) * MS_PER_H;
  return {
    name,
    description,
    startUtcMs,
    durationMs,
    rainOnsetUtcMs,
    rainWindowUtcMs: { startUtcMs: rainOnsetUtcMs, endUtcMs: rainEndUtcMs },
    rainMmBetween(latDeg, lonDeg, fromUtcMs, toUtcMs) {
      if (toUtcMs <= fromUtcMs) return 0;
      const lagMin = field.lagMin(latDeg, lonDeg);
      const fromMin = (fromUtcMs - rainOnsetUtcMs) / MS_PER_MIN - lagMin;
      const toMin = (toUtcMs - rainOnsetUtcMs) / MS_PER_MIN - lagMin;
      const depthMm = field.cumulativeMm(toMin) - field.cumulativeMm(fromMin);
      // Cancellation in the difference of two large cumulatives can leave -1e-15 in dry minutes.
      return Math.max(0, depthMm * field.spatialFactor(latDeg, lonDeg));
    },
  };
}

function dryWeek(options: ScenarioOptions): RainScenario {
  const { startUtcMs } = options;
  if (!Number.isFinite(startUtcMs)) throw new RangeError(`scenario dry-week: startUtcMs must be a finite number, got ${startUtcMs}`);
  return {
    name: 'dry-week',
    description: 'Seven dry days: dry-weather flow only; energy cost and smoothness matter.',
    startUtcMs,
    durationMs: 7 * 24 * MS_PER_H,
    rainOnsetUtcMs: startUtcMs,
    rainWindowUtcMs: { startUtcMs, endUtcMs: startUtcMs },
    rainMmBetween: () => 0,
  };
}

export interface ScenarioDefinition {
  readonly description: string;
  create(options: ScenarioOptions): RainScenario;
}

export const RAIN_SCENARIOS: Readonly<Record<ScenarioName, ScenarioDefinition>> = {
  'dry-week': { description: 'Seven dry days (DWF only).', create: dryWeek },
  moderate: {
    description: 'Moderate rain: 30 mm over 6 h on the whole county.',
    create: (o) => scenarioFromField('moderate', RAIN_SCENARIOS.moderate.description, moderateField(), o),
  },
  rainstorm: {
    description: 'Rainstorm: 80 mm in 12 h on the west side (blue → yellow warning), about 55 % of that east of lon 121.0, moving east.',
    create: (o) => scenarioFromField('rainstorm', RAIN_SCENARIOS.rainstorm.description, rainstormField(), o),
  },
  typhoon: {
    description: 'Typhoon landfall on the Hangzhou Bay coast: 220 mm over 36 h with a 60 mm / 3 h core (orange) at the coast, less inland.',
    create: (o) => scenarioFromField('typhoon', RAIN_SCENARIOS.typhoon.description, typhoonField(), o),
  },
  'chicago-2y': {
    description: 'Chicago design storm (芝加哥雨型), 2-year return period, 2 h, peak ratio 0.4, county-wide.',
    create: (o) =>
      scenarioFromField('chicago-2y', RAIN_SCENARIOS['chicago-2y'].description, chicagoField(2, o.stormFormula ?? JIAXING_LIKE_STORM_FORMULA), o),
  },
  'chicago-10y': {
    description: 'Chicago design storm (芝加哥雨型), 10-year return period, 2 h, peak ratio 0.4, county-wide.',
    create: (o) =>
      scenarioFromField('chicago-10y', RAIN_SCENARIOS['chicago-10y'].description, chicagoField(10, o.stormFormula ?? JIAXING_LIKE_STORM_FORMULA), o),
  },
};

export function createRainScenario(name: ScenarioName, options: ScenarioOptions): RainScenario {
  return RAIN_SCENARIOS[name].create(options);
}

// --- Sampling ---------------------------------------------------------------------------------

export interface PointDeg {
  latDeg: number;
  lonDeg: number;
}

/** Rain in mm in the UTC minute containing timeUtcMs (the scenarios' native resolution). */
export function rainMmInMinute(scenario: RainScenario, latDeg: number, lonDeg: number, timeUtcMs: number): number {
  const minuteStartUtcMs = Math.floor(timeUtcMs / MS_PER_MIN) * MS_PER_MIN;
  return scenario.rainMmBetween(latDeg, lonDeg, minuteStartUtcMs, minuteStartUtcMs + MS_PER_MIN);
}

export interface RainSeries {
  /** Start of each step; rainMm[i] fell over [timeUtcMs[i], timeUtcMs[i] + stepMin). */
  timeUtcMs: number[];
  rainMm: number[];
  stepMin: number;
}

/** Rain per step at a point over [startUtcMs, endUtcMs); steps are whole minutes. */
export function rainSeries(
  scenario: RainScenario,
  point: PointDeg,
  range: { startUtcMs: number; endUtcMs: number; stepMin: number },
): RainSeries {
  const { startUtcMs, endUtcMs, stepMin } = range;
  if (!Number.isInteger(stepMin) || stepMin < 1) throw new RangeError(`rainSeries: stepMin must be a whole number ≥ 1, got ${stepMin}`);
  if (startUtcMs % MS_PER_MIN !== 0) throw new RangeError(`rainSeries: startUtcMs must be on a whole minute, got ${startUtcMs}`);
  const stepMs = stepMin * MS_PER_MIN;
  if (endUtcMs < startUtcMs || (endUtcMs - startUtcMs) % stepMs !== 0) {
    throw new RangeError(`rainSeries: [${startUtcMs}, ${endUtcMs}) is not a whole number of ${stepMin}-min steps`);
  }
  const timeUtcMs: number[] = [];
  const rainMm: number[] = [];
  const { startUtcMs: wetFromUtcMs, endUtcMs: wetToUtcMs } = scenario.rainWindowUtcMs;
  for (let t = startUtcMs; t < endUtcMs; t += stepMs) {
    timeUtcMs.push(t);
    const dry = t + stepMs <= wetFromUtcMs || t >= wetToUtcMs;
    rainMm.push(dry ? 0 : scenario.rainMmBetween(point.latDeg, point.lonDeg, t, t + stepMs));
  }
  return { timeUtcMs, rainMm, stepMin };
}

/** Largest rain depth in any window of windowMin (sliding by stepMin) at a point. */
export function maxRainMmInWindow(scenario: RainScenario, point: PointDeg, windowMin: number, stepMin = 1): number {
  const { startUtcMs, endUtcMs } = scenario.rainWindowUtcMs;
  let maxMm = 0;
  const windowMs = windowMin * MS_PER_MIN;
  for (let t = startUtcMs - windowMs; t <= endUtcMs; t += stepMin * MS_PER_MIN) {
    maxMm = Math.max(maxMm, scenario.rainMmBetween(point.latDeg, point.lonDeg, t, t + windowMs));
  }
  return maxMm;
}

// --- Randomness and forecast error ------------------------------------------------------------


/** Independent streams per (seed, stream): neighbouring seeds must not give correlated members. */
function streamSeed(seed: number, stream: number): number {
  let h = Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 0x85ebca6b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function standardNormal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) would be -Infinity
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface ForecastPerturbation {
  /** Forecast rain arrives this much later than the truth (negative: earlier). */
  timeShiftMin: number;
  /** Forecast depth = truth depth × amountFactor. */
  amountFactor: number;
  /** The forecast rain field is the truth displaced by this much. */
  dLatDeg: number;
  dLonDeg: number;
}

/**
 * Error model. A forecast error shared by the whole run (from the seed) plus a member's own
 * spread, of similar size, so the truth looks like one more member: a calibrated ensemble
 * whose mean is still wrong, as real ones are.
 */
export const FORECAST_ERROR = {
  commonTimeSigmaMin: 60,
  memberTimeSigmaMin: 60,
  maxTimeShiftMin: 180,
  commonLogAmountSigma: 0.2,
  memberLogAmountSigma: 0.15,
  maxLogAmount: 0.5,
  commonShiftSigmaDeg: 0.025,
  memberShiftSigmaDeg: 0.02,
  maxShiftDeg: 0.05,
} as const;

const COMMON_STREAM = 0x7fffffff;

/** Perturbation of ensemble member `member` of forecast run `seed`; member 0 is the deterministic run. */
export function forecastPerturbation(seed: number, member: number): ForecastPerturbation {
  if (!Number.isInteger(seed)) throw new RangeError(`forecastPerturbation: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(member) || member < 0 || member >= COMMON_STREAM) {
    throw new RangeError(`forecastPerturbation: member must be a whole number ≥ 0, got ${member}`);
  }
  const e = FORECAST_ERROR;
  const common = mulberry32(streamSeed(seed, COMMON_STREAM));
  let timeMin = e.commonTimeSigmaMin * standardNormal(common);
  let logAmount = e.commonLogAmountSigma * standardNormal(common);
  let dLatDeg = e.commonShiftSigmaDeg * standardNormal(common);
  let dLonDeg = e.commonShiftSigmaDeg * standardNormal(common);
  if (member > 0) {
    const own = mulberry32(streamSeed(seed, member));
    timeMin += e.memberTimeSigmaMin * standardNormal(own);
    logAmount += e.memberLogAmountSigma * standardNormal(own);
    dLatDeg += e.memberShiftSigmaDeg * standardNormal(own);
    dLonDeg += e.memberShiftSigmaDeg * standardNormal(own);
  }
  return {
    // Whole minutes keep forecast series on the same minute grid as the truth.
    timeShiftMin: Math.round(clamp(timeMin, -e.maxTimeShiftMin, e.maxTimeShiftMin)),
    amountFactor: Math.exp(clamp(logAmount, -e.maxLogAmount, e.maxLogAmount)),
    dLatDeg: clamp(dLatDeg, -e.maxShiftDeg, e.maxShiftDeg),
    dLonDeg: clamp(dLonDeg, -e.maxShiftDeg, e.maxShiftDeg),
  };
}

/** Apply a perturbation to any scenario: the rain field shifted in time and space and rescaled. */
export function applyPerturbation(truth: RainScenario, perturbation: ForecastPerturbation, name: string): RainScenario {
  const { timeShiftMin, amountFactor, dLatDeg, dLonDeg } = perturbation;
  const shiftMs = timeShiftMin * MS_PER_MIN;
  return {
    name,
    description: `${truth.description} Forecast: ${timeShiftMin >= 0 ? '+' : ''}${timeShiftMin} min, ×${amountFactor.toFixed(2)}, shifted ${dLatDeg.toFixed(3)}° N ${dLonDeg.toFixed(3)}° E.`,
    startUtcMs: truth.startUtcMs,
    durationMs: truth.durationMs,
    rainOnsetUtcMs: truth.rainOnsetUtcMs + shiftMs,
    rainWindowUtcMs: { startUtcMs: truth.rainWindowUtcMs.startUtcMs + shiftMs, endUtcMs: truth.rainWindowUtcMs.endUtcMs + shiftMs },
    rainMmBetween: (latDeg, lonDeg, fromUtcMs, toUtcMs) =>
      amountFactor * truth.rainMmBetween(latDeg - dLatDeg, lonDeg - dLonDeg, fromUtcMs - shiftMs, toUtcMs - shiftMs),
  };
}

/** The forecast of `scenario` that forecast run `seed`, ensemble member `member`, would show. */
export function perturbForecast(scenario: RainScenario, options: { seed: number; member: number }): RainScenario {
  const { seed, member } = options;
  return applyPerturbation(scenario, forecastPerturbation(seed, member), `${scenario.name}~forecast(seed=${seed},member=${member})`);
}
