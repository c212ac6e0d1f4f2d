// The planner's input inflow: per node (station, tank or plant) series of m³/h per step. In this issue
// inflow is given; the helpers here build it from the network's catchments so tests and the CLI can make
// inputs: dry-weather flow (pattern × mean) + groundwater, plus an optional RDII series per catchment.
import type { Catchment, NetworkConfig } from '../network/schema.js';
import { localTime, usesWeekendPattern } from './calendar.js';

export interface InflowSeries {
  nodeId: string;
  /** Mean inflow over each step, m³/h. */
  flowM3h: number[];
}

export interface InflowMember {
  id: string;
  series: InflowSeries[];
}

/** Inflow forecast: one deterministic set of series and optional ensemble members, on one step grid. */
export interface InflowForecast {
  startUtcMs: number;
  stepMin: number;
  series: InflowSeries[];
  members?: InflowMember[];
  source?: string;
  issuedAtUtcMs?: number | null;
}

/**
 * Dry-weather flow plus groundwater of one catchment at an instant (hourly pattern of the local hour; the
 * weekend pattern on weekends and holidays, the weekday one on make-up working days: usesWeekendPattern).
 */
export function dryWeatherFlowM3h(network: NetworkConfig, catchment: Catchment, utcMs: number): number {
  const pattern = network.dwfPatterns.find((p) => p.id === catchment.dwf.pattern);
  const t = localTime(utcMs, network.timezone);
  const weekend = usesWeekendPattern(network, utcMs);
  let factor = 1;
  if (pattern) {
    factor = (weekend ? pattern.weekendHourly[t.hour] : pattern.weekdayHourly[t.hour]) ?? 1;
    factor *= weekend ? pattern.weekendFactor : pattern.weekdayFactor;
    factor *= pattern.monthly?.[t.monthIndex] ?? 1;
  }
  return (catchment.dwf.meanM3d / 24) * factor + catchment.groundwaterM3h;
}

/** Mean dry-weather inflow of a catchment over [fromUtcMs, toUtcMs), sampled every 5 minutes. */
export function meanDryWeatherFlowM3h(network: NetworkConfig, catchment: Catchment, fromUtcMs: number, toUtcMs: number): number {
  const sampleMs = 5 * 60_000;
  const n = Math.max(1, Math.round((toUtcMs - fromUtcMs) / sampleMs));
  const dt = (toUtcMs - fromUtcMs) / n;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += dryWeatherFlowM3h(network, catchment, fromUtcMs + (i + 0.5) * dt);
  return sum / n;
}

export interface CatchmentInflowOptions {
  startUtcMs: number;
  stepMin: number;
  steps: number;
  /** RDII per catchment id (m³/h per step on the same grid); missing catchments get none. */
  rdiiM3hByCatchment?: Record<string, readonly number[]>;
}

/** Inflow per station from its catchments: DWF pattern × mean + groundwater (+ RDII). */
export function catchmentInflow(network: NetworkConfig, options: CatchmentInflowOptions): InflowSeries[] {
  const stepMs = options.stepMin * 60_000;
  const byNode = new Map<string, number[]>();
  for (const c of network.catchments) {
    let series = byNode.get(c.node);
    if (!series) {
      series = new Array<number>(options.steps).fill(0);
      byNode.set(c.node, series);
    }
    const rdii = options.rdiiM3hByCatchment?.[c.id];
    for (let k = 0; k < options.steps; k++) {
      const from = options.startUtcMs + k * stepMs;
      series[k] = series[k]! + meanDryWeatherFlowM3h(network, c, from, from + stepMs) + Math.max(0, rdii?.[k] ?? 0);
    }
  }
  return [...byNode].map(([nodeId, flowM3h]) => ({ nodeId, flowM3h }));
}

/** Cumulative share of a triangular unit hydrograph (peak at tH, base tH·(1+k)) released by time tH hours. */
function triangleCumulative(tH: number, peakH: number, k: number): number {
  const baseH = peakH * (1 + k);
  if (tH <= 0) return 0;
  if (tH >= baseH) return 1;
  const height = 2 / baseH;
  if (tH <= peakH) return (0.5 * height * tH * tH) / peakH;
  const rest = baseH - tH;
  return 1 - (0.5 * height * rest * rest) / (baseH - peakH);
}

/**
 * RDII of one catchment from rain depth per step (EPA SSOAP RTK: up to three triangular unit hydrographs,
 * R = share of rain volume entering the sewer). Initial abstraction is taken from the first rain.
 */
export function rdiiFromRain(catchment: Catchment, rainMm: readonly number[], stepMin: number): number[] {
  const dtH = stepMin / 60;
  const out = new Array<number>(rainMm.length).fill(0);
  let abstractionLeftMm = catchment.rdii.initialAbstractionMm;
  const areaM2 = catchment.areaHa * 10_000;
  for (let i = 0; i < rainMm.length; i++) {
    const depthMm = Math.max(0, rainMm[i] ?? 0);
    const absorbed = Math.min(abstractionLeftMm, depthMm);
    abstractionLeftMm -= absorbed;
    const effectiveM = (depthMm - absorbed) / 1000;
    if (effectiveM <= 0) continue;
    for (const tri of catchment.rdii.triangles) {
      const volumeM3 = tri.r * effectiveM * areaM2;
      // The rain of step i falls at its midpoint; step j receives the unit hydrograph's share over its window.
      for (let j = i; j < rainMm.length; j++) {
        const a = (j - i - 0.5) * dtH;
        const share = triangleCumulative(a + dtH, tri.tH, tri.k) - triangleCumulative(a, tri.tH, tri.k);
        if (share <= 0 && a > tri.tH * (1 + tri.k)) break;
        out[j] = out[j]! + (volumeM3 * share) / dtH;
      }
    }
  }
  return out;
}

/** Mean of a piecewise-constant series (start, step) over [fromUtcMs, toUtcMs); beyond its ends the edge value holds. */
export function meanOverWindow(series: readonly number[], startUtcMs: number, stepMin: number, fromUtcMs: number, toUtcMs: number): number {
  if (series.length === 0) return 0;
  const stepMs = stepMin * 60_000;
  if (toUtcMs <= fromUtcMs) {
    const i = Math.min(series.length - 1, Math.max(0, Math.floor((fromUtcMs - startUtcMs) / stepMs)));
    return series[i]!;
  }
  let sum = 0;
  let t = fromUtcMs;
  while (t < toUtcMs) {
    const raw = Math.floor((t - startUtcMs) / stepMs);
    const i = Math.min(series.length - 1, Math.max(0, raw));
    // End of the piece containing t (edge pieces extend to infinity).
    const pieceEnd = raw < 0 ? startUtcMs : raw >= series.length - 1 ? Number.POSITIVE_INFINITY : startUtcMs + (raw + 1) * stepMs;
    const end = Math.min(toUtcMs, pieceEnd);
    sum += series[i]! * (end - t);
    t = end;
  }
  return sum / (toUtcMs - fromUtcMs);
}

/**
 * Dry-weather inflow (DWF + groundwater) per node averaged over each interval [b[k], b[k+1]); nodes
 * without catchments are absent. Samples every 5 minutes, one local-time lookup per sample for all catchments.
 */
export function dryWeatherByNode(network: NetworkConfig, boundariesUtcMs: readonly number[]): Map<string, number[]> {
  const steps = boundariesUtcMs.length - 1;
  const out = new Map<string, number[]>();
  for (const c of network.catchments) if (!out.has(c.node)) out.set(c.node, new Array<number>(steps).fill(0));
  if (out.size === 0) return out;
  const patterns = new Map(network.dwfPatterns.map((p) => [p.id, p]));
  for (let k = 0; k < steps; k++) {
    const from = boundariesUtcMs[k]!;
    const to = boundariesUtcMs[k + 1]!;
    const n = Math.max(1, Math.round((to - from) / (5 * 60_000)));
    for (let i = 0; i < n; i++) {
      const at = from + ((i + 0.5) * (to - from)) / n;
      const t = localTime(at, network.timezone);
      const weekend = usesWeekendPattern(network, at);
      for (const c of network.catchments) {
        const pattern = patterns.get(c.dwf.pattern);
        let factor = 1;
        if (pattern) {
          factor = (weekend ? pattern.weekendHourly[t.hour] : pattern.weekdayHourly[t.hour]) ?? 1;
          factor *= (weekend ? pattern.weekendFactor : pattern.weekdayFactor) * (pattern.monthly?.[t.monthIndex] ?? 1);
        }
        const series = out.get(c.node)!;
        series[k] = series[k]! + ((c.dwf.meanM3d / 24) * factor + c.groundwaterM3h) / n;
      }
    }
  }
  return out;
}
