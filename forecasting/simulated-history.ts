// Telemetry and rain history from the digital twin (simulator/model.ts), for calibration tests and the
// skill benchmark: rain events from the benchmark scenarios placed on a calendar, the simulation run at
// 1-min steps under local station control, and per-step means of what SCADA would record. The
// catchments' local inflow is derived from that telemetry as a utility would (routing.ts), exactly at
// 1 min, then averaged. Deterministic for the seed.
import type { NetworkConfig } from '../network/schema.js';
import { createRainScenario, type RainScenario, type ScenarioName } from '../scenarios/rain.js';
import { rainFromScenario } from '../simulator/rain-adapter.js';
import { createSimulation, type SimulationOptions } from '../simulator/model.js';
import { MS_PER_MIN } from './calendar.js';
import { localInflow, plantRoutes, routeToPlants } from './routing.js';
import { aggregate } from './series.js';

export interface HistoryEvent {
  /** A named scenario placed at startUtcMs, or a ready-made one (e.g. a perturbed forecast). */
  scenario: ScenarioName | RainScenario;
  startUtcMs?: number;
  rainOnsetOffsetMin?: number;
}

export interface SimulatedHistoryOptions {
  network: NetworkConfig;
  startUtcMs: number;
  durationMs: number;
  /** Step of the returned series (must divide 60 and the duration). */
  stepMin: number;
  seed: number;
  events: readonly HistoryEvent[];
  /** Also return the local inflow at the simulation's 1-min step (`localInflowByMinuteM3h`). */
  byMinute?: boolean;
  simulation?: Partial<Omit<SimulationOptions, 'network' | 'startUtcMs' | 'seed' | 'rainMmPerMin'>>;
}

export interface SimulatedHistory {
  startUtcMs: number;
  stepMin: number;
  steps: number;
  scenarios: RainScenario[];
  /** objectId → field → per-step mean (stations: inflowM3h, outflowM3h; plants: inflowM3h; tanks: outletM3h; interconnections: transferM3h). */
  telemetry: Record<string, Record<string, number[]>>;
  /** Rain per catchment, mm per step (the truth the gauges would see). */
  rainMm: Record<string, number[]>;
  /** Local inflow per station (own catchments only), m³/h per step. */
  localInflowM3h: Record<string, number[]>;
  /** The same at the simulation's 1-min step (what a PLC's level control acts on), with `byMinute`. */
  localInflowByMinuteM3h?: Record<string, number[]>;
  /** Plants' natural inflow: local inflows routed by travel time (no storage, no transfers). */
  routedPlantInflowM3h: Record<string, number[]>;
  summary: ReturnType<ReturnType<typeof createSimulation>['summary']>;
}

export function simulateHistory(options: SimulatedHistoryOptions): SimulatedHistory {
  const { network, startUtcMs, durationMs, stepMin, seed } = options;
  const minutes = durationMs / MS_PER_MIN;
  if (!Number.isInteger(minutes / stepMin)) throw new RangeError(`simulateHistory: duration is not a whole number of ${stepMin}-min steps`);
  const scenarios = options.events.map((e) =>
    typeof e.scenario === 'string'
      ? createRainScenario(e.scenario, { startUtcMs: e.startUtcMs ?? startUtcMs, rainOnsetOffsetMin: e.rainOnsetOffsetMin })
      : e.scenario,
  );
  const rains = scenarios.map(rainFromScenario);
  const sim = createSimulation({
    ...options.simulation,
    network,
    startUtcMs,
    seed,
    rainMmPerMin: rains.length === 0 ? undefined : (lat, lon, t) => rains.reduce((sum, r) => sum + r(lat, lon, t), 0),
  });

  const channels: { objectId: string; tag: string }[] = [
    ...network.stations.flatMap((s) => [
      { objectId: s.id, tag: 'inflowM3h' },
      { objectId: s.id, tag: 'outflowM3h' },
    ]),
    ...network.plants.map((p) => ({ objectId: p.id, tag: 'inflowM3h' })),
    ...network.tanks.map((t) => ({ objectId: t.id, tag: 'outletM3h' })),
    ...network.interconnections.map((x) => ({ objectId: x.id, tag: 'transferM3h' })),
  ];
  const perMinute = channels.map(() => new Float64Array(minutes));
  for (let m = 0; m < minutes; m++) {
    sim.advance(60 / sim.stepS);
    channels.forEach((c, k) => (perMinute[k]![m] = sim.readTag(c.objectId, c.tag).value as number));
  }
  const minuteSeries = new Map(channels.map((c, k) => [`${c.objectId}/${c.tag}`, perMinute[k]!]));
  const toStep = (values: ArrayLike<number | null>) =>
    aggregate({ startUtcMs, stepMin: 1, values: Array.from(values) }, stepMin, 'mean', 1).values.map((v) => v ?? 0);

  const telemetry: Record<string, Record<string, number[]>> = {};
  channels.forEach((c, k) => ((telemetry[c.objectId] ??= {})[c.tag] = toStep(perMinute[k]!)));

  // The simulator delays every main by at least one 1-min step (a 0-min main delivers next step).
  const local1 = localInflow(network, (id, tag) => {
    const v = minuteSeries.get(`${id}/${tag}`);
    return v ? Array.from(v) : undefined;
  }, 1, { upstreamBeforeStart: 'zero' });
  const localInflowM3h: Record<string, number[]> = {};
  const localInflowByMinuteM3h: Record<string, number[]> = {};
  for (const [id, values] of Object.entries(local1)) {
    localInflowM3h[id] = toStep(values);
    if (options.byMinute) localInflowByMinuteM3h[id] = values.map((v) => v ?? 0);
  }

  const steps = minutes / stepMin;
  const stepMs = stepMin * MS_PER_MIN;
  const rainMm: Record<string, number[]> = {};
  for (const c of network.catchments) {
    rainMm[c.id] = Array.from({ length: steps }, (_, i) => {
      const from = startUtcMs + i * stepMs;
      return scenarios.reduce((sum, s) => sum + s.rainMmBetween(c.location.latDeg, c.location.lonDeg, from, from + stepMs), 0);
    });
  }
  return {
    startUtcMs,
    stepMin,
    steps,
    scenarios,
    telemetry,
    rainMm,
    localInflowM3h,
    ...(options.byMinute ? { localInflowByMinuteM3h } : {}),
    routedPlantInflowM3h: routeToPlants(plantRoutes(network), localInflowM3h, stepMin),
    summary: sim.summary(),
  };
}
