// Where flow comes from and where it goes, for inflow forecasting on a network description:
//  - a station's LOCAL inflow (its own catchments) from telemetry: measured inflow minus what arrives
//    from upstream (upstream stations' pumped flow, tank returns, interconnection transfers), each
//    delayed by its main's travel time — what dry-weather learning and RDII calibration need;
//  - the "natural" inflow of each plant: every station's local inflow delayed by the travel times
//    along the mains to the plant, as if stations passed flow straight through (no storage, no
//    transfers) — what the skill benchmark scores.
import type { NetworkConfig } from '../network/schema.js';
import { shifted } from './series.js';

export interface UpstreamSource {
  kind: 'station' | 'tank' | 'interconnection';
  objectId: string;
  /** Telemetry field carrying the flow: outflowM3h, outletM3h or transferM3h. */
  tag: 'outflowM3h' | 'outletM3h' | 'transferM3h';
  /** Transfers are signed a→b: +1 for the b end, −1 for the a end (counting only that direction). */
  sign: 1 | -1;
  travelMin: number;
}

/** What flows into each station from elsewhere in the network, with travel times. */
export function upstreamSources(network: NetworkConfig): Record<string, UpstreamSource[]> {
  const out: Record<string, UpstreamSource[]> = {};
  for (const s of network.stations) out[s.id] = [];
  const mains = new Map(network.mains.map((m) => [m.id, m]));
  for (const s of network.stations) {
    const main = mains.get(s.dischargeMainId);
    if (main && out[main.to]) out[main.to]!.push({ kind: 'station', objectId: s.id, tag: 'outflowM3h', sign: 1, travelMin: main.travelMin });
  }
  for (const t of network.tanks) {
    // A tank returns water through the main that starts at it.
    for (const m of network.mains) if (m.from === t.id && out[m.to]) out[m.to]!.push({ kind: 'tank', objectId: t.id, tag: 'outletM3h', sign: 1, travelMin: m.travelMin });
  }
  for (const x of network.interconnections) {
    if (out[x.b]) out[x.b]!.push({ kind: 'interconnection', objectId: x.id, tag: 'transferM3h', sign: 1, travelMin: x.travelMin });
    if (out[x.a]) out[x.a]!.push({ kind: 'interconnection', objectId: x.id, tag: 'transferM3h', sign: -1, travelMin: x.travelMin });
  }
  return out;
}

/** The longest travel time of anything arriving at a station from upstream, whole minutes (0: none). */
export function longestUpstreamTravelMin(network: NetworkConfig): number {
  return Math.ceil(Math.max(0, ...Object.values(upstreamSources(network)).flat().map((src) => src.travelMin)));
}

/** Telemetry lookup: the series of one object's field on a common grid (null = missing). */
export type TelemetryLookup = (objectId: string, tag: string) => readonly (number | null)[] | undefined;

/** Why a station's local inflow is unknown, zh and en. */
export interface LocalInflowNote {
  zh: string;
  en: string;
}

/**
 * Local inflow per station on a grid of `stepMin`: inflowM3h − Σ upstream flow delayed by travel time
 * (linear interpolation when the travel time is not a whole number of steps; exact at a step that
 * divides every travel time, e.g. 5 min on the reference network). null where any input is missing.
 * A tank or interconnection series absent from the telemetry counts as zero flow when `missingUpstream` is
 * "zero" (e.g. no transfers ever), else makes the result null. An upstream STATION without outflow telemetry
 * always makes the result null: its flow is real sewage (never "idle"), and taking it as zero would make the
 * downstream station learn it as its own dry-weather flow while the planner adds the upstream forecast on top.
 * Upstream flow from before the series start is unknown (null) unless `upstreamBeforeStart` is "zero" (a
 * simulation starting with empty mains).
 */
export function localInflow(
  network: NetworkConfig,
  telemetry: TelemetryLookup,
  stepMin: number,
  options: { missingUpstream?: 'zero' | 'null'; upstreamBeforeStart?: 'zero' | 'null' } = {},
): Record<string, (number | null)[]> {
  return localInflowWithNotes(network, telemetry, stepMin, options).flows;
}

/** localInflow, and for each station whose local inflow is unknown throughout because of an upstream object, why. */
export function localInflowWithNotes(
  network: NetworkConfig,
  telemetry: TelemetryLookup,
  stepMin: number,
  options: { missingUpstream?: 'zero' | 'null'; upstreamBeforeStart?: 'zero' | 'null' } = {},
): { flows: Record<string, (number | null)[]>; notes: Record<string, LocalInflowNote> } {
  const sources = upstreamSources(network);
  const out: Record<string, (number | null)[]> = {};
  const notes: Record<string, LocalInflowNote> = {};
  for (const s of network.stations) {
    const inflow = telemetry(s.id, 'inflowM3h');
    if (!inflow) continue;
    const n = inflow.length;
    const result: (number | null)[] = [...inflow];
    for (const src of sources[s.id] ?? []) {
      const raw = telemetry(src.objectId, src.tag);
      if (!raw || (src.kind === 'station' && !raw.some((v) => v !== null))) {
        if (src.kind === 'station' || (options.missingUpstream ?? 'zero') === 'null') {
          result.fill(null);
          if (!notes[s.id]) {
            notes[s.id] =
              src.kind === 'station'
                ? {
                    zh: `上游泵站${src.objectId}无出水流量遥测，无法扣除其来水，${s.id}本地进水未知`,
                    en: `upstream station ${src.objectId} has no outflow telemetry (${src.tag}): its flow cannot be taken off, so ${s.id}'s local inflow is unknown`,
                  }
                : { zh: `上游${src.objectId}无流量遥测，${s.id}本地进水未知`, en: `upstream ${src.kind} ${src.objectId} has no ${src.tag} telemetry: ${s.id}'s local inflow is unknown` };
          }
        }
        continue;
      }
      const before = (options.upstreamBeforeStart ?? 'null') === 'zero' ? 0 : 1;
      const nullMask = shifted(raw.map((v) => (v === null ? 1 : 0)), src.travelMin / stepMin, (i) => (i < 0 ? before : 1));
      const values = raw.map((v) => {
        const x = v ?? 0;
        return src.kind === 'interconnection' ? Math.max(0, src.sign * x) : x;
      });
      const delayed = shifted(values, src.travelMin / stepMin, () => 0);
      for (let i = 0; i < n; i++) {
        const r = result[i];
        result[i] = r === null || r === undefined || nullMask[i]! > 0 ? null : r - delayed[i]!;
      }
    }
    out[s.id] = result;
  }
  return { flows: out, notes };
}

export interface PlantRoute {
  stationId: string;
  /** Sum of travel times along the mains from the station to the plant. */
  travelMin: number;
}

/** For each plant, every station whose mains lead to it (following discharge mains, not transfers). */
export function plantRoutes(network: NetworkConfig): Record<string, PlantRoute[]> {
  const mains = new Map(network.mains.map((m) => [m.id, m]));
  const stations = new Map(network.stations.map((s) => [s.id, s]));
  const plants = new Set(network.plants.map((p) => p.id));
  const out: Record<string, PlantRoute[]> = {};
  for (const p of network.plants) out[p.id] = [];
  for (const s of network.stations) {
    let at = s.id;
    let travelMin = 0;
    for (let hops = 0; hops <= network.stations.length + network.tanks.length; hops++) {
      const station = stations.get(at);
      let main = station ? mains.get(station.dischargeMainId) : undefined;
      if (!station) main = network.mains.find((m) => m.from === at); // a tank: its return main
      if (!main) break;
      travelMin += main.travelMin;
      if (plants.has(main.to)) {
        out[main.to]!.push({ stationId: s.id, travelMin });
        break;
      }
      at = main.to;
    }
  }
  return out;
}

/**
 * Plant inflow from station local inflows: Σ station series delayed by its route's travel time. The
 * first steps need flow from before the grid: `pastM3h[stationId]` (same step, ending where the
 * series start); without it the station's first value is carried back.
 */
export function routeToPlants(
  routes: Record<string, PlantRoute[]>,
  stationM3h: Record<string, readonly number[]>,
  stepMin: number,
  pastM3h: Record<string, readonly number[]> = {},
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [plantId, list] of Object.entries(routes)) {
    let total: number[] | undefined;
    for (const { stationId, travelMin } of list) {
      const series = stationM3h[stationId];
      if (!series) continue;
      const past = pastM3h[stationId] ?? [];
      const delayed = shifted(series, travelMin / stepMin, (i) => (i < 0 ? (past[past.length + i] ?? series[0] ?? 0) : (series[series.length - 1] ?? 0)));
      total = total ? total.map((v, i) => v + delayed[i]!) : delayed;
    }
    out[plantId] = total ?? [];
  }
  return out;
}
