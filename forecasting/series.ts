// Regular time series on a UTC grid, and the small statistics the forecasting code needs.
// A value at index i describes the step [startUtcMs + i·step, startUtcMs + (i+1)·step): a mean flow
// (m³/h) or a depth (mm) over that step. null is "no data", never zero.
import { MS_PER_MIN } from './calendar.js';

export interface Series {
  startUtcMs: number;
  stepMin: number;
  values: (number | null)[];
}

export interface Grid {
  startUtcMs: number;
  stepMin: number;
  steps: number;
}

export function checkGrid(grid: Grid, what: string): void {
  const { startUtcMs, stepMin, steps } = grid;
  if (!Number.isFinite(startUtcMs)) throw new RangeError(`${what}: startUtcMs must be a finite number, got ${startUtcMs}`);
  if (!(Number.isInteger(stepMin) && stepMin >= 1)) throw new RangeError(`${what}: stepMin must be a whole number ≥ 1, got ${stepMin}`);
  if (startUtcMs % (stepMin * MS_PER_MIN) !== 0) throw new RangeError(`${what}: startUtcMs ${new Date(startUtcMs).toISOString()} is not on the ${stepMin}-min grid`);
  if (!(Number.isInteger(steps) && steps >= 0)) throw new RangeError(`${what}: steps must be a whole number ≥ 0, got ${steps}`);
}

export function gridTimes(grid: Grid): number[] {
  const stepMs = grid.stepMin * MS_PER_MIN;
  return Array.from({ length: grid.steps }, (_, i) => grid.startUtcMs + i * stepMs);
}

/** Values of `series` on `grid` (same step, aligned); null outside the series. */
export function alignTo(series: Series, grid: Grid): (number | null)[] {
  if (series.stepMin !== grid.stepMin) throw new RangeError(`alignTo: series step ${series.stepMin} min ≠ grid step ${grid.stepMin} min`);
  const stepMs = grid.stepMin * MS_PER_MIN;
  const offset = (grid.startUtcMs - series.startUtcMs) / stepMs;
  if (!Number.isInteger(offset)) throw new RangeError('alignTo: series and grid are not aligned');
  return Array.from({ length: grid.steps }, (_, i) => series.values[i + offset] ?? null);
}

/**
 * Coarser steps from finer ones: mean (flows) or sum (depths). A coarse step with fewer than
 * `minValidShare` of its fine values present is null; a sum scales the present values up.
 */
export function aggregate(series: Series, stepMin: number, how: 'mean' | 'sum', minValidShare = 0.5): Series {
  const ratio = stepMin / series.stepMin;
  if (!Number.isInteger(ratio) || ratio < 1) throw new RangeError(`aggregate: ${stepMin} min is not a multiple of ${series.stepMin} min`);
  const stepMs = stepMin * MS_PER_MIN;
  const startUtcMs = Math.floor(series.startUtcMs / stepMs) * stepMs;
  const lead = Math.round((series.startUtcMs - startUtcMs) / (series.stepMin * MS_PER_MIN));
  const count = Math.ceil((series.values.length + lead) / ratio);
  const values: (number | null)[] = [];
  for (let k = 0; k < count; k++) {
    let sum = 0;
    let n = 0;
    for (let j = 0; j < ratio; j++) {
      const v = series.values[k * ratio + j - lead];
      if (v !== null && v !== undefined && Number.isFinite(v)) {
        sum += v;
        n++;
      }
    }
    if (n === 0 || n < minValidShare * ratio) values.push(null);
    else values.push(how === 'mean' ? sum / n : (sum * ratio) / n);
  }
  return { startUtcMs, stepMin, values };
}

/** values[i − lagSteps] with linear interpolation for fractional lags; outside the array: `outside(index)`. */
export function shifted(values: readonly number[], lagSteps: number, outside: (index: number) => number = () => 0): number[] {
  const whole = Math.floor(lagSteps);
  const frac = lagSteps - whole;
  const at = (i: number) => (i >= 0 && i < values.length ? values[i]! : outside(i));
  return values.map((_, i) => (frac === 0 ? at(i - whole) : (1 - frac) * at(i - whole) + frac * at(i - whole - 1)));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : 0.5 * (sorted[mid - 1]! + sorted[mid]!);
}

/** Median absolute deviation scaled to a normal standard deviation (1.4826 · MAD). */
export function robustSd(values: readonly number[], centre = median(values)): number {
  return 1.4826 * median(values.map((v) => Math.abs(v - centre)));
}

/** Mean of the values within `k` robust standard deviations of the median (median-based outlier rejection). */
export function robustMean(values: readonly number[], k = 3.5): { mean: number; kept: number; rejected: number } {
  if (values.length === 0) return { mean: Number.NaN, kept: 0, rejected: 0 };
  const centre = median(values);
  const sd = robustSd(values, centre);
  const kept = sd > 0 ? values.filter((v) => Math.abs(v - centre) <= k * sd) : values.filter((v) => v === centre);
  const used = kept.length > 0 ? kept : values;
  return { mean: used.reduce((a, b) => a + b, 0) / used.length, kept: used.length, rejected: values.length - used.length };
}

/** Quantile q of an ascending array, linear between order statistics (type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = Math.min(Math.max(q, 0), 1) * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile: p must be in (0, 1), got ${p}`);
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  const poly = (coef: number[], x: number) => coef.reduce((acc, k) => acc * x + k, 0);
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

// --- Skill scores ------------------------------------------------------------------------------

/** Nash–Sutcliffe efficiency of `simulated` against `observed` (pairs with a null are skipped). */
export function nashSutcliffe(observed: readonly (number | null)[], simulated: readonly (number | null)[]): number {
  const pairs = pairsOf(observed, simulated);
  if (pairs.length === 0) return Number.NaN;
  const mean = pairs.reduce((a, [o]) => a + o, 0) / pairs.length;
  let num = 0;
  let den = 0;
  for (const [o, s] of pairs) {
    num += (s - o) ** 2;
    den += (o - mean) ** 2;
  }
  return den > 0 ? 1 - num / den : Number.NaN;
}

/** (Σ simulated − Σ observed) / Σ observed, in %. */
export function volumeErrorPct(observed: readonly (number | null)[], simulated: readonly (number | null)[]): number {
  const pairs = pairsOf(observed, simulated);
  const o = pairs.reduce((a, [x]) => a + x, 0);
  const s = pairs.reduce((a, [, x]) => a + x, 0);
  return o !== 0 ? (100 * (s - o)) / o : Number.NaN;
}

/** Share of observations inside [lower, upper]. */
export function coverage(observed: readonly (number | null)[], lower: readonly number[], upper: readonly number[]): number {
  let inside = 0;
  let n = 0;
  observed.forEach((o, i) => {
    if (o === null || lower[i] === undefined || upper[i] === undefined) return;
    n++;
    if (o >= lower[i] && o <= upper[i]) inside++;
  });
  return n > 0 ? inside / n : Number.NaN;
}

function pairsOf(a: readonly (number | null)[], b: readonly (number | null)[]): [number, number][] {
  const out: [number, number][] = [];
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== null && x !== undefined && y !== null && y !== undefined && Number.isFinite(x) && Number.isFinite(y)) out.push([x, y]);
  }
  return out;
}

/**
 * Means over `stepMin` steps of the last `windowMin` of a per-minute series ending at `endUtcMs` (the last
 * value is the minute before it); a step with any minute unknown (null, or before the series) is null.
 */
export function stepMeansOfLastMinutes(perMinute: readonly (number | null | undefined)[], endUtcMs: number, stepMin: number, windowMin: number): Series {
  const steps = Math.max(1, Math.floor(windowMin / stepMin));
  const first = perMinute.length - steps * stepMin;
  return {
    startUtcMs: endUtcMs - steps * stepMin * MS_PER_MIN,
    stepMin,
    values: Array.from({ length: steps }, (_, k) => {
      let sum = 0;
      for (let j = first + k * stepMin; j < first + (k + 1) * stepMin; j++) {
        const v = j >= 0 ? perMinute[j] : null;
        if (v === null || v === undefined || !Number.isFinite(v)) return null;
        sum += v;
      }
      return sum / stepMin;
    }),
  };
}
