// RDII by the RTK method (EPA SSOAP / SWMM): up to three triangular unit hydrographs per catchment,
// each with R (share of the rain volume that enters the sewer), T (time to peak, h) and K (recession
// time / T), fed by rain net of an initial abstraction that fills in dry weather. Pure functions.
//
// Discretisation. Rain is a depth per step, taken as uniform within the step; flow is the mean over
// each step. For block-uniform input the exact per-step weights of a unit hydrograph with cumulative
// F(t) follow from G(t) = ∫₀ᵗ F: w[d] = (G((d+1)Δ) − 2G(dΔ) + G((d−1)Δ)) / Δ, summing to 1, so the
// RDII volume is R × effective rain × area whatever the step.
//
// Initial abstraction: a store of `initialAbstractionMm` that rain fills first (no RDII until it is
// full) and that empties at `iaRecoveryMmPerDay` in steps without rain — as the simulator does.
//
// Calibration (calibrateRtk): observed RDII = local inflow − learned dry-weather flow (which already
// holds the dry-weather groundwater). Fitted on event windows only (rain onset − 2 h to 72 h after the
// last rain). RDII is linear in R for fixed T, K and IA, so:
//   1. grid: for every initial abstraction on a grid and every (T, K) on a grid per slot (fast,
//      medium, slow; T ordered), the best R ≥ 0 is a 3-variable non-negative least squares solved
//      exactly (all active sets) from precomputed inner products;
//   2. refine: a pattern search over (T, K) of each triangle and IA from the best grid point, R again
//      by NNLS at every trial;
//   3. report R, T, K per triangle, total R, the fit's NSE and RMSE on the windows, and warnings.
import { MS_PER_MIN } from './calendar.js';

export interface RtkTriangle {
  /** Share of the rain volume entering the sewer (0..1). */
  r: number;
  /** Time to peak, h. */
  tH: number;
  /** Recession time over time to peak. */
  k: number;
}

export interface RtkParams {
  initialAbstractionMm: number;
  iaRecoveryMmPerDay: number;
  /** Sorted fast → slow. */
  triangles: RtkTriangle[];
}

/** The simulator's default, and a typical value for a small urban catchment. */
export const DEFAULT_IA_RECOVERY_MM_PER_DAY = 1;
const M3_PER_MM_HA = 10;

export function checkRtkParams(params: RtkParams, what: string): void {
  const bad = (reason: string) => new RangeError(`${what}: ${reason}`);
  if (!(params.initialAbstractionMm >= 0)) throw bad(`initialAbstractionMm must be ≥ 0, got ${params.initialAbstractionMm}`);
  if (!(params.iaRecoveryMmPerDay >= 0)) throw bad(`iaRecoveryMmPerDay must be ≥ 0, got ${params.iaRecoveryMmPerDay}`);
  if (params.triangles.length < 1 || params.triangles.length > 3) throw bad(`needs 1 to 3 triangles, got ${params.triangles.length}`);
  params.triangles.forEach((t, i) => {
    if (!(t.r >= 0 && t.r <= 1)) throw bad(`triangle ${i + 1}: r must be in [0, 1], got ${t.r}`);
    if (!(t.tH > 0 && Number.isFinite(t.tH))) throw bad(`triangle ${i + 1}: tH must be > 0, got ${t.tH}`);
    if (!(t.k > 0 && Number.isFinite(t.k))) throw bad(`triangle ${i + 1}: k must be > 0, got ${t.k}`);
  });
}

// --- Unit hydrographs ---------------------------------------------------------------------------

/** ∫₀ᵗ F(τ) dτ for a unit triangle with peak at tH and base bH (hours). */
function triangleG(t: number, tH: number, bH: number): number {
  if (t <= 0) return 0;
  if (t <= tH) return (t * t * t) / (3 * tH * bH);
  const gPeak = (tH * tH) / (3 * bH);
  const fall = bH - tH;
  if (t <= bH) return gPeak + (t - tH) - (fall ** 3 - (bH - t) ** 3) / (3 * bH * fall);
  return gPeak + fall - (fall * fall) / (3 * bH) + (t - bH);
}

/** Per-step share of a unit volume of block-uniform input released in each later step (sums to 1). */
export function triangleUnitKernel(tH: number, k: number, stepMin: number): Float64Array {
  if (!(tH > 0 && k > 0)) throw new RangeError(`triangleUnitKernel: tH and k must be > 0, got ${tH}, ${k}`);
  const dH = stepMin / 60;
  const bH = tH * (1 + k);
  const n = Math.ceil(bH / dH) + 2;
  const kernel = new Float64Array(n);
  for (let d = 0; d < n; d++) {
    kernel[d] = (triangleG((d + 1) * dH, tH, bH) - 2 * triangleG(d * dH, tH, bH) + triangleG((d - 1) * dH, tH, bH)) / dH;
  }
  return kernel;
}

/** m³/h of RDII in each step per mm of effective rain in step 0, for a catchment of `areaHa`. */
export function rtkKernelM3h(triangles: readonly RtkTriangle[], areaHa: number, stepMin: number): Float64Array {
  const kernels = triangles.map((t) => triangleUnitKernel(t.tH, t.k, stepMin));
  const out = new Float64Array(Math.max(1, ...kernels.map((k) => k.length)));
  const perStepToPerH = 60 / stepMin;
  triangles.forEach((t, i) => {
    const kernel = kernels[i]!;
    const scale = t.r * areaHa * M3_PER_MM_HA * perStepToPerH;
    for (let d = 0; d < kernel.length; d++) out[d] = out[d]! + scale * kernel[d]!;
  });
  return out;
}

// --- Initial abstraction and convolution ------------------------------------------------------

/**
 * Rain net of the initial abstraction. `iaMm` is the abstraction still available at the start
 * (the store's capacity when dry). null rain (a gap) counts as dry here; callers flag gaps.
 */
export function effectiveRain(
  rainMm: readonly (number | null)[],
  params: Pick<RtkParams, 'initialAbstractionMm' | 'iaRecoveryMmPerDay'>,
  stepMin: number,
  iaMm = params.initialAbstractionMm,
): { effectiveMm: Float64Array; iaMm: number } {
  const effectiveMm = new Float64Array(rainMm.length);
  const recoveryPerStep = (params.iaRecoveryMmPerDay * stepMin) / 1440;
  let ia = Math.min(Math.max(iaMm, 0), params.initialAbstractionMm);
  for (let i = 0; i < rainMm.length; i++) {
    const depth = rainMm[i] ?? 0;
    if (depth > 0) {
      const absorbed = Math.min(ia, depth);
      ia -= absorbed;
      effectiveMm[i] = depth - absorbed;
    } else {
      ia = Math.min(params.initialAbstractionMm, ia + recoveryPerStep);
    }
  }
  return { effectiveMm, iaMm: ia };
}

/** out[i] += Σ input[j] · kernel[i − j + offset] for i in [0, out.length); skips zero inputs. */
export function convolveInto(out: Float64Array, input: ArrayLike<number>, kernel: ArrayLike<number>, offset = 0): Float64Array {
  const n = out.length;
  for (let j = 0; j < input.length; j++) {
    const x = input[j]!;
    if (x === 0) continue;
    const first = Math.max(0, j - offset);
    const last = Math.min(n, j - offset + kernel.length);
    for (let i = first; i < last; i++) out[i] = out[i]! + x * kernel[i - j + offset]!;
  }
  return out;
}

/** RDII (m³/h per step) of a rain series from a given initial-abstraction state. */
export function simulateRdii(
  rainMm: readonly (number | null)[],
  params: RtkParams,
  areaHa: number,
  stepMin: number,
  iaMm = params.initialAbstractionMm,
): { rdiiM3h: Float64Array; iaMm: number } {
  const { effectiveMm, iaMm: iaEnd } = effectiveRain(rainMm, params, stepMin, iaMm);
  const kernel = rtkKernelM3h(params.triangles, areaHa, stepMin);
  return { rdiiM3h: convolveInto(new Float64Array(rainMm.length), effectiveMm, kernel), iaMm: iaEnd };
}

export interface RdiiState {
  /** Initial abstraction still available at the forecast start. */
  iaMm: number;
  /** RDII (m³/h) that past effective rain still delivers in each future step (the water already in the ground). */
  tailM3h: Float64Array;
}

/**
 * State at a forecast start from the observed rain before it (`pastRainMm` ends at the start; the
 * store is taken as `iaAtPastStartMm`, default full, at its beginning): the remaining abstraction
 * and the RDII tail of past rain over the next `steps`.
 */
export function rdiiState(
  pastRainMm: readonly (number | null)[],
  params: RtkParams,
  areaHa: number,
  stepMin: number,
  steps: number,
  iaAtPastStartMm = params.initialAbstractionMm,
): RdiiState {
  const { effectiveMm, iaMm } = effectiveRain(pastRainMm, params, stepMin, iaAtPastStartMm);
  const kernel = rtkKernelM3h(params.triangles, areaHa, stepMin);
  // Future step i is pastRainMm.length + i steps after the first past step.
  const tailM3h = convolveInto(new Float64Array(steps), effectiveMm, kernel, pastRainMm.length);
  return { iaMm, tailM3h };
}

/** RDII over the future steps for one future rain series, from a state. */
export function forecastRdii(futureRainMm: readonly (number | null)[], params: RtkParams, areaHa: number, stepMin: number, state: RdiiState): Float64Array {
  const { effectiveMm } = effectiveRain(futureRainMm, params, stepMin, state.iaMm);
  const kernel = rtkKernelM3h(params.triangles, areaHa, stepMin);
  const out = Float64Array.from(state.tailM3h.subarray(0, futureRainMm.length));
  if (out.length < futureRainMm.length) throw new RangeError(`forecastRdii: state covers ${state.tailM3h.length} steps, rain has ${futureRainMm.length}`);
  return convolveInto(out, effectiveMm, kernel);
}

// --- Calibration ----------------------------------------------------------------------------------

export interface RtkCalibrationInput {
  /** Rain per step (mm), aligned with observedRdiiM3h; null = gap. */
  rainMm: readonly (number | null)[];
  /** Observed RDII (m³/h per step) = flow − learned dry-weather flow; null = no data. */
  observedRdiiM3h: readonly (number | null)[];
  stepMin: number;
  areaHa: number;
  /** 1..3 (default 3). */
  triangles?: number;
  iaRecoveryMmPerDay?: number;
  /** Initial-abstraction candidates for the grid, mm (default 0, 2, 4); refined afterwards. */
  iaGridMm?: readonly number[];
  /** Fit window after the last rain of an event, h (default 72). */
  tailH?: number;
}

export interface RtkCalibration {
  params: RtkParams;
  totalR: number;
  /** On the fit windows; relativeRmse = RMSE / root-mean-square of the observed RDII (a model-error share for forecasts). */
  fit: { nse: number; rmseM3h: number; relativeRmse: number; samples: number; events: number; evaluations: number };
  warnings: string[];
}

interface SlotGrid {
  tH: readonly number[];
  k: readonly number[];
  tMin: number;
  tMax: number;
}

const SLOTS: readonly SlotGrid[] = [
  { tH: [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3], k: [1, 1.5, 2, 2.5, 3], tMin: 0.25, tMax: 4 },
  { tH: [3, 4, 5, 6, 7, 8], k: [1.5, 2, 2.5, 3, 4], tMin: 1, tMax: 12 },
  { tH: [8, 10, 12, 15, 18, 24], k: [2, 3, 4], tMin: 4, tMax: 36 },
];
const K_MIN = 0.5;
const K_MAX = 6;
const IA_MAX_MM = 15;
const EVENT_GAP_H = 12;
const PRE_EVENT_H = 2;

/** Event windows (start/end indices, end exclusive) from a rain series. */
export function eventWindows(rainMm: readonly (number | null)[], stepMin: number, tailH = 72): { startIndex: number; endIndex: number; rainMm: number }[] {
  const perH = 60 / stepMin;
  const events: { startIndex: number; lastWet: number; rainMm: number }[] = [];
  rainMm.forEach((v, i) => {
    if (!(v !== null && v > 0)) return;
    const last = events[events.length - 1];
    if (last && i - last.lastWet <= EVENT_GAP_H * perH) {
      last.lastWet = i;
      last.rainMm += v;
    } else events.push({ startIndex: i, lastWet: i, rainMm: v });
  });
  return events.map((e) => ({
    startIndex: Math.max(0, e.startIndex - Math.round(PRE_EVENT_H * perH)),
    endIndex: Math.min(rainMm.length, e.lastWet + 1 + Math.round(tailH * perH)),
    rainMm: e.rainMm,
  }));
}

/**
 * Exact non-negative least squares for 3 variables: min ‖y − Bx‖² over x ≥ 0 from the Gram matrix
 * G = BᵀB = [[a, b, e], [b, d, f], [e, f, h]] and c = Bᵀy. Convex, so the unconstrained optimum is the
 * answer when feasible; otherwise the best feasible optimum over the smaller active sets (closed
 * forms). Writes x into `out`, returns the gain ‖y‖² − SSE. Unused variables: pass a zero row/column
 * with a positive diagonal and c = 0 (they come out as 0).
 */
export function nnls3(a: number, b: number, e: number, d: number, f: number, h: number, c0: number, c1: number, c2: number, out: Float64Array): number {
  const m0 = d * h - f * f;
  const m1 = e * f - b * h;
  const m2 = b * f - d * e;
  const det = a * m0 + b * m1 + e * m2;
  // Near-singular (two almost identical bases): give way to the smaller active sets.
  if (Math.abs(det) > 1e-10 * Math.abs(a * d * h) && Number.isFinite(det)) {
    const x0 = (m0 * c0 + m1 * c1 + m2 * c2) / det;
    const x1 = (m1 * c0 + (a * h - e * e) * c1 + (b * e - a * f) * c2) / det;
    const x2 = (m2 * c0 + (b * e - a * f) * c1 + (a * d - b * b) * c2) / det;
    if (x0 >= 0 && x1 >= 0 && x2 >= 0) {
      out[0] = x0;
      out[1] = x1;
      out[2] = x2;
      return x0 * c0 + x1 * c1 + x2 * c2;
    }
  }
  let best = 0;
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  // Pairs: (0,1), (0,2), (1,2).
  const pair = (gii: number, gij: number, gjj: number, ci: number, cj: number, i: number, j: number) => {
    const dt = gii * gjj - gij * gij;
    if (!(Math.abs(dt) > 1e-12 * Math.abs(gii * gjj))) return;
    const xi = (ci * gjj - gij * cj) / dt;
    const xj = (gii * cj - gij * ci) / dt;
    if (!(xi >= 0 && xj >= 0)) return;
    const gain = xi * ci + xj * cj;
    if (gain > best) {
      best = gain;
      out[0] = 0;
      out[1] = 0;
      out[2] = 0;
      out[i] = xi;
      out[j] = xj;
    }
  };
  pair(a, b, d, c0, c1, 0, 1);
  pair(a, e, h, c0, c2, 0, 2);
  pair(d, f, h, c1, c2, 1, 2);
  // Singles.
  const single = (gii: number, ci: number, i: number) => {
    if (!(gii > 0 && ci > 0)) return;
    const gain = (ci * ci) / gii;
    if (gain > best) {
      best = gain;
      out[0] = 0;
      out[1] = 0;
      out[2] = 0;
      out[i] = ci / gii;
    }
  };
  single(a, c0, 0);
  single(d, c1, 1);
  single(h, c2, 2);
  return best;
}

/** nnls3 for 1..3 bases given as a Gram matrix and c. */
function nnls(g: readonly number[][], c: readonly number[]): { x: number[]; gain: number } {
  const n = c.length;
  const at = (i: number, j: number) => (i < n && j < n ? g[i]![j]! : i === j ? 1 : 0);
  const x = new Float64Array(3);
  const gain = nnls3(at(0, 0), at(0, 1), at(0, 2), at(1, 1), at(1, 2), at(2, 2), c[0] ?? 0, c[1] ?? 0, c[2] ?? 0, x);
  return { x: Array.from(x.subarray(0, n)), gain };
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

/** Calibrate R, T, K (and the initial abstraction) of up to three triangles; see the file header. */
export function calibrateRtk(input: RtkCalibrationInput): RtkCalibration {
  const { rainMm, observedRdiiM3h, stepMin, areaHa } = input;
  const nTri = input.triangles ?? 3;
  const iaRecoveryMmPerDay = input.iaRecoveryMmPerDay ?? DEFAULT_IA_RECOVERY_MM_PER_DAY;
  const iaGrid = input.iaGridMm ?? [0, 2, 4];
  const warnings: string[] = [];
  if (rainMm.length !== observedRdiiM3h.length) throw new RangeError(`calibrateRtk: ${rainMm.length} rain steps but ${observedRdiiM3h.length} flow steps`);
  if (!(nTri >= 1 && nTri <= 3 && Number.isInteger(nTri))) throw new RangeError(`calibrateRtk: triangles must be 1, 2 or 3, got ${nTri}`);
  if (!(areaHa > 0)) throw new RangeError(`calibrateRtk: areaHa must be > 0, got ${areaHa}`);
  if (stepMin * MS_PER_MIN <= 0) throw new RangeError(`calibrateRtk: bad stepMin ${stepMin}`);

  // Fit samples: event windows with a flow value and no rain gap in the preceding day.
  const perH = 60 / stepMin;
  const rainGaps = rainMm.filter((v) => v === null).length;
  if (rainGaps > 0) warnings.push(`${rainGaps} rain step(s) missing: treated as dry, and flows within 24 h after them left out of the fit`);
  const events = eventWindows(rainMm, stepMin, input.tailH ?? 72);
  const use = new Uint8Array(rainMm.length);
  for (const e of events) for (let i = e.startIndex; i < e.endIndex; i++) use[i] = 1;
  let lastGap = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < rainMm.length; i++) {
    if (rainMm[i] === null) lastGap = i;
    const y = observedRdiiM3h[i];
    if (y === null || y === undefined || !Number.isFinite(y) || i - lastGap <= 24 * perH) use[i] = 0;
  }
  const sampleIdx: number[] = [];
  use.forEach((u, i) => u && sampleIdx.push(i));
  if (events.length === 0) throw new RangeError('calibrateRtk: the rain history has no rain events to calibrate on');
  if (sampleIdx.length < 8 * perH) throw new RangeError(`calibrateRtk: only ${sampleIdx.length} usable flow samples in the event windows`);
  const y = new Float64Array(sampleIdx.length);
  sampleIdx.forEach((i, s) => (y[s] = observedRdiiM3h[i]!));
  const yy = dot(y, y);
  const lastSample = sampleIdx[sampleIdx.length - 1]! + 1;

  const unitScale = areaHa * M3_PER_MM_HA * (60 / stepMin);
  const basis = (effectiveMm: Float64Array, tH: number, k: number): Float64Array => {
    const kernel = triangleUnitKernel(tH, k, stepMin);
    const full = convolveInto(new Float64Array(lastSample), effectiveMm.subarray(0, lastSample), kernel);
    // A plain loop: TypedArray.from with a map function is slow in V8.
    const out = new Float64Array(sampleIdx.length);
    for (let s = 0; s < sampleIdx.length; s++) out[s] = full[sampleIdx[s]!]! * unitScale;
    return out;
  };
  let evaluations = 0;
  const effCache = new Map<number, Float64Array>();
  const eff = (iaMm: number): Float64Array => {
    let e = effCache.get(iaMm);
    if (!e) {
      e = effectiveRain(rainMm, { initialAbstractionMm: iaMm, iaRecoveryMmPerDay }, stepMin).effectiveMm;
      if (effCache.size > 64) effCache.clear();
      effCache.set(iaMm, e);
    }
    return e;
  };

  // 1. Grid.
  type Candidate = { tH: number; k: number; b: Float64Array; c: number; g: number };
  let best = { sse: Number.POSITIVE_INFINITY, ia: iaGrid[0] ?? 0, tri: [] as { tH: number; k: number; r: number }[] };
  const x = new Float64Array(3);
  for (const ia of iaGrid) {
    const e = eff(ia);
    const slots: Candidate[][] = SLOTS.slice(0, nTri).map((slot) =>
      slot.tH.flatMap((tH) =>
        slot.k.map((k) => {
          const b = basis(e, tH, k);
          return { tH, k, b, c: dot(b, y), g: dot(b, b) };
        }),
      ),
    );
    // Unused slots: a dummy basis orthogonal to everything (zero cross terms, c = 0).
    const dummy: Candidate = { tH: Number.POSITIVE_INFINITY, k: 1, b: new Float64Array(0), c: 0, g: 1 };
    const s0 = slots[0]!;
    const s1 = slots[1] ?? [dummy];
    const s2 = slots[2] ?? [dummy];
    const cross = (p: Candidate[], q: Candidate[]) => p.map((u) => Float64Array.from(q.map((v) => (u.b.length && v.b.length ? dot(u.b, v.b) : 0))));
    const g01 = cross(s0, s1);
    const g02 = cross(s0, s2);
    const g12 = cross(s1, s2);
    for (let ai = 0; ai < s0.length; ai++) {
      const A = s0[ai]!;
      for (let bi = 0; bi < s1.length; bi++) {
        const B = s1[bi]!;
        if (nTri >= 2 && B.tH <= A.tH * 1.2) continue;
        const gab = g01[ai]![bi]!;
        for (let ci = 0; ci < s2.length; ci++) {
          const C = s2[ci]!;
          if (nTri >= 3 && C.tH <= B.tH * 1.2) continue;
          evaluations++;
          const gain = nnls3(A.g, gab, g02[ai]![ci]!, B.g, g12[bi]![ci]!, C.g, A.c, B.c, C.c, x);
          const sse = yy - gain;
          if (sse < best.sse) {
            best = {
              sse,
              ia,
              tri: [A, B, C].slice(0, nTri).map((cand, i) => ({ tH: cand.tH, k: cand.k, r: x[i]! })),
            };
          }
        }
      }
    }
  }

  // 2. Pattern search on (T, K) per triangle and IA, R by NNLS at every trial.
  const evaluate = (theta: number[]): { sse: number; r: number[] } => {
    evaluations++;
    const ia = theta[theta.length - 1]!;
    const e = eff(Math.round(ia * 1000) / 1000);
    const bases = Array.from({ length: nTri }, (_, i) => basis(e, theta[2 * i]!, theta[2 * i + 1]!));
    const g = bases.map((bi) => bases.map((bj) => dot(bi, bj)));
    const c = bases.map((bi) => dot(bi, y));
    const { x, gain } = nnls(g, c);
    return { sse: yy - gain, r: x };
  };
  const feasible = (theta: number[]): boolean => {
    for (let i = 0; i < nTri; i++) {
      const tH = theta[2 * i]!;
      const k = theta[2 * i + 1]!;
      const slot = SLOTS[i]!;
      if (tH < slot.tMin || tH > slot.tMax || k < K_MIN || k > K_MAX) return false;
      if (i > 0 && tH <= theta[2 * (i - 1)]! * 1.2) return false;
    }
    const ia = theta[theta.length - 1]!;
    return ia >= 0 && ia <= IA_MAX_MM;
  };
  let theta = [...best.tri.flatMap((t) => [t.tH, t.k]), best.ia];
  let current = evaluate(theta);
  const steps = [...best.tri.flatMap((_, i) => [i === 0 ? 0.25 : i === 1 ? 1 : 2, 0.5]), 0.5];
  const minSteps = steps.map((s) => s / 16);
  for (let round = 0; round < 60 && steps.some((s, i) => s > minSteps[i]!); round++) {
    let improved = false;
    for (let p = 0; p < theta.length; p++) {
      if (steps[p]! <= minSteps[p]!) continue;
      for (const dir of [1, -1]) {
        const trial = [...theta];
        trial[p] = trial[p]! + dir * steps[p]!;
        if (!feasible(trial)) continue;
        const result = evaluate(trial);
        if (result.sse < current.sse * (1 - 1e-9)) {
          theta = trial;
          current = result;
          improved = true;
          break;
        }
      }
    }
    if (!improved) for (let p = 0; p < steps.length; p++) steps[p] = steps[p]! / 2;
  }

  const triangles = Array.from({ length: nTri }, (_, i) => ({ r: current.r[i]!, tH: theta[2 * i]!, k: theta[2 * i + 1]! }));
  const params: RtkParams = { initialAbstractionMm: theta[theta.length - 1]!, iaRecoveryMmPerDay, triangles };
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  let ssTot = 0;
  for (const v of y) ssTot += (v - mean) ** 2;
  const nse = ssTot > 0 ? 1 - current.sse / ssTot : Number.NaN;
  triangles.forEach((t, i) => {
    if (t.r === 0) warnings.push(`triangle ${i + 1} got R = 0: the events do not support it (its T and K are meaningless)`);
  });
  if (nse < 0.7) warnings.push(`poor fit on the event windows (NSE ${nse.toFixed(2)}): check the dry-weather flow and the rain data`);
  if (events.length < 2) warnings.push('only one rain event: R, T and K are poorly constrained');
  return {
    params,
    totalR: triangles.reduce((a, t) => a + t.r, 0),
    fit: {
      nse,
      rmseM3h: Math.sqrt(Math.max(0, current.sse) / y.length),
      relativeRmse: yy > 0 ? Math.sqrt(Math.max(0, current.sse) / yy) : Number.NaN,
      samples: y.length,
      events: events.length,
      evaluations,
    },
    warnings,
  };
}
