// The baseline the energy dashboard compares against (the domain brief's): every station under its own local
// level control (start/stop levels), no forecast, no transfers. It depends on the rain that fell, so it is
// re-simulated with the digital twin (simulator/model.ts, LOCAL mode, tanks idle — as the benchmark's baseline
// controller) driven by the OBSERVED hourly rain of the period, and written to InfluxDB as measurement
// `baseline`: tag `id` (station), cumulative fields `energyKwh` and `costCny` (the simulator's tariff).
//
// Counter: it CONTINUES across periods. A period starts from the last `baseline` value at or before its start
// (0 when there is none), so the reading at a day boundary is both the old day's closing and the new day's
// opening reading — what the tariff-period queries of dashboards/common/energy.ts need (the 22:00–24:00 range
// reads the counter at 24:00). Re-running a period overwrites the same points with the same values.
//
// Spin-up: the simulation starts `spinUpH` (24) before the period, from the levels measured then where telemetry
// has them, so mains and the catchments' RDII memory are filled when the period starts. Starting cold at the
// period start, even from exactly the right levels, under-counts a day by 1.2–2.3 % (mains empty for their travel
// times) and the day after a storm by up to 20 % (RDII of the previous day's rain missing); with the spin-up the
// error is within 0.71 % (reference network, every rain scenario: `npx tsx dashboards/baseline-spin-up.ts`).
import type { InfluxConnector, SeriesPoint } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import { createSimulation, type Simulation } from '../simulator/model.js';
import type { ObservedRainSource } from './flood.js';

const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;

export interface BaselineOptions {
  /** Hours simulated before the period (not counted); default 24. */
  spinUpH?: number;
  /** Interval of the written points (min); must divide 60; default 5. */
  pointEveryMin?: number;
  /** Seed of the simulator's DWF noise; default 1. */
  seed?: number;
  /** A measured level older than this at the simulation start is not used (min); default 15. */
  levelMaxAgeMin?: number;
  /** Longest period one call accepts (h); default 72. */
  maxPeriodH?: number;
  /** How far back the counter's previous value is looked for (days); default 7 (older: the counter starts at 0). */
  counterLookBackDays?: number;
}

export interface BaselineDependencies {
  network: NetworkConfig;
  influx: InfluxConnector;
  /** Hourly rain that fell per catchment (activities/flood.ts archiveObservedRain). */
  observed?: ObservedRainSource;
  baseline?: BaselineOptions;
}

export interface WriteBaselineInput {
  fromUtcMs: number;
  toUtcMs: number;
}

/** The first hour whose observed rain is missing: the baseline stops before it (never simulated as dry). */
export interface BaselineRainGap {
  catchmentId: string;
  /** End of the missing hour (Open-Meteo's label of an hourly sum). */
  hourEndUtcMs: number;
}

export interface BaselineResult {
  fromUtcMs: number;
  toUtcMs: number;
  /** Where the simulation started (the spin-up start). */
  simulatedFromUtcMs: number;
  /** Last point written; null when nothing could be written (rain missing before or at the period start). */
  writtenUntilUtcMs: number | null;
  points: number;
  /** Counter increase over the written part of the period, summed over stations. */
  energyKwh: number;
  costCny: number;
  /** Stations whose counter continued from an earlier value; the others started at 0. */
  countersContinued: number;
  levels: {
    /** Stations started from a measured level. */
    measured: string[];
    /** Stations without a recent good level reading: the simulator's default (midway between stop and start). */
    defaulted: string[];
    /** Measured levels outside [0, overflow level], clamped to it. */
    clamped: string[];
  };
  rainSource: string;
  rainGap: BaselineRainGap | null;
}

/** Bad input to the baseline run (period, rain values, configuration): not worth retrying. */
export class BaselineInputError extends Error {
  override readonly name = 'BaselineInputError';
}

const iso = (utcMs: number) => new Date(utcMs).toISOString();

function resolveOptions(options: BaselineOptions = {}): Required<BaselineOptions> {
  const o = { spinUpH: 24, pointEveryMin: 5, seed: 1, levelMaxAgeMin: 15, maxPeriodH: 72, counterLookBackDays: 7, ...options };
  const check = (name: keyof BaselineOptions, ok: boolean, expected: string) => {
    if (!ok) throw new BaselineInputError(`baseline option ${name} must be ${expected}, got ${String(o[name])}`);
  };
  check('spinUpH', Number.isInteger(o.spinUpH) && o.spinUpH >= 0 && o.spinUpH <= 168, 'a whole number of hours in [0, 168]');
  check('pointEveryMin', Number.isInteger(o.pointEveryMin) && o.pointEveryMin > 0 && 60 % o.pointEveryMin === 0, 'a whole number of minutes dividing 60');
  check('seed', Number.isInteger(o.seed), 'an integer');
  check('levelMaxAgeMin', o.levelMaxAgeMin > 0, 'positive');
  check('maxPeriodH', o.maxPeriodH > 0, 'positive');
  check('counterLookBackDays', o.counterLookBackDays > 0, 'positive');
  return o;
}

export function createBaselineActivities(deps: BaselineDependencies) {
  const { network, influx } = deps;
  const options = resolveOptions(deps.baseline);
  const stationIds = network.stations.map((s) => s.id);
  const stationSet = new Set(stationIds);
  const overflowLevelM = new Map(network.stations.map((s) => [s.id, s.levels.overflowM]));

  /** Last good level per station in (atUtcMs − levelMaxAgeMin, atUtcMs]. */
  async function measuredLevels(atUtcMs: number): Promise<Map<string, number>> {
    const series = await influx.query(
      `SELECT last("levelM") AS "levelM" FROM "station" WHERE time > ${atUtcMs - options.levelMaxAgeMin * MS_PER_MIN}ms AND time <= ${atUtcMs}ms GROUP BY "id"`,
    );
    const levels = new Map<string, number>();
    for (const s of series) {
      const id = s.tags['id'];
      const value = s.values[0]?.[s.columns.indexOf('levelM')];
      if (id !== undefined && stationSet.has(id) && typeof value === 'number' && Number.isFinite(value)) levels.set(id, value);
    }
    return levels;
  }

  /** The counter values each station's period continues from. */
  async function counterBase(atUtcMs: number): Promise<Map<string, { energyKwh: number; costCny: number }>> {
    const series = await influx.query(
      `SELECT last("energyKwh") AS "energyKwh", last("costCny") AS "costCny" FROM "baseline" WHERE time > ${atUtcMs - options.counterLookBackDays * 24 * MS_PER_H}ms AND time <= ${atUtcMs}ms GROUP BY "id"`,
    );
    const base = new Map<string, { energyKwh: number; costCny: number }>();
    for (const s of series) {
      const id = s.tags['id'];
      const row = s.values[0];
      const energyKwh = row?.[s.columns.indexOf('energyKwh')];
      const costCny = row?.[s.columns.indexOf('costCny')];
      if (id === undefined || !stationSet.has(id) || typeof energyKwh !== 'number') continue;
      base.set(id, { energyKwh, costCny: typeof costCny === 'number' ? costCny : 0 });
    }
    return base;
  }

  return {
    /**
     * Simulate the baseline over [fromUtcMs, toUtcMs] (after the spin-up) and write its points every
     * pointEveryMin, both ends included. Stops before the first hour of missing rain and reports it.
     */
    async writeBaseline(input: WriteBaselineInput): Promise<BaselineResult> {
      const { fromUtcMs, toUtcMs } = input;
      const everyMs = options.pointEveryMin * MS_PER_MIN;
      if (!Number.isFinite(fromUtcMs) || !Number.isFinite(toUtcMs)) throw new BaselineInputError(`baseline period must have finite bounds, got ${fromUtcMs}..${toUtcMs}`);
      if (!(toUtcMs > fromUtcMs)) throw new BaselineInputError(`baseline period ${iso(fromUtcMs)}..${iso(toUtcMs)}: the end must be after the start`);
      if (fromUtcMs % everyMs !== 0 || toUtcMs % everyMs !== 0) {
        throw new BaselineInputError(`baseline period ${iso(fromUtcMs)}..${iso(toUtcMs)}: both ends must lie on the ${options.pointEveryMin}-min point grid`);
      }
      if (toUtcMs - fromUtcMs > options.maxPeriodH * MS_PER_H) throw new BaselineInputError(`baseline period ${iso(fromUtcMs)}..${iso(toUtcMs)} is longer than ${options.maxPeriodH} h`);
      if (!deps.observed) throw new BaselineInputError('baseline: no observed-rain source configured (the baseline is never simulated without rain data)');

      // Observed rain is hourly on UTC hours: the simulation starts on one.
      const simStartUtcMs = Math.floor((fromUtcMs - options.spinUpH * MS_PER_H) / MS_PER_H) * MS_PER_H;
      const hours = Math.ceil((toUtcMs - simStartUtcMs) / MS_PER_H);
      const [observed, levels, base] = await Promise.all([
        deps.observed.fetchObservedRain(network, simStartUtcMs, simStartUtcMs + hours * MS_PER_H),
        measuredLevels(simStartUtcMs),
        counterBase(fromUtcMs),
      ]);

      // Rain per catchment as an hourly grid from the simulation start; NaN marks an hour not observed.
      const rainByLocation = new Map<string, Float64Array>();
      let coveredHours = hours;
      let rainGap: BaselineRainGap | null = null;
      for (const c of network.catchments) {
        const series = observed.catchments.find((o) => o.catchmentId === c.id);
        if (!series) throw new BaselineInputError(`observed rain from ${observed.source} has no series for catchment ${c.id}`);
        const grid = new Float64Array(hours).fill(Number.NaN);
        series.hourly.timeUtcMs.forEach((t, i) => {
          const h = (t - simStartUtcMs) / MS_PER_H - 1;
          if (!Number.isInteger(h) || h < 0 || h >= hours) return;
          const mm = series.hourly.mm[i];
          if (mm === null || mm === undefined) return;
          if (!(Number.isFinite(mm) && mm >= 0)) throw new BaselineInputError(`observed rain from ${observed.source}, catchment ${c.id}, hour ending ${iso(t)}: ${mm} mm is not a depth`);
          grid[h] = mm;
        });
        const firstMissing = grid.findIndex((mm) => Number.isNaN(mm));
        if (firstMissing >= 0 && firstMissing < coveredHours) {
          coveredHours = firstMissing;
          rainGap = { catchmentId: c.id, hourEndUtcMs: simStartUtcMs + (firstMissing + 1) * MS_PER_H };
        }
        rainByLocation.set(`${c.location.latDeg},${c.location.lonDeg}`, grid);
      }
      const coveredUntilUtcMs = Math.min(toUtcMs, Math.floor((simStartUtcMs + coveredHours * MS_PER_H) / everyMs) * everyMs);

      const initialLevelsM: Record<string, number> = {};
      const clamped: string[] = [];
      for (const [id, levelM] of levels) {
        const max = overflowLevelM.get(id)!;
        const within = Math.min(max, Math.max(0, levelM));
        if (within !== levelM) clamped.push(id);
        initialLevelsM[id] = within;
      }
      const result: BaselineResult = {
        fromUtcMs,
        toUtcMs,
        simulatedFromUtcMs: simStartUtcMs,
        writtenUntilUtcMs: null,
        points: 0,
        energyKwh: 0,
        costCny: 0,
        countersContinued: stationIds.filter((id) => base.has(id)).length,
        levels: { measured: stationIds.filter((id) => levels.has(id)), defaulted: stationIds.filter((id) => !levels.has(id)), clamped },
        rainSource: observed.source,
        rainGap,
      };
      if (coveredUntilUtcMs <= fromUtcMs) return result;

      const sim = createSimulation({
        network,
        startUtcMs: simStartUtcMs,
        seed: options.seed,
        initialModes: 'local',
        // The benchmark's baseline: tanks idle, no automatic inlet opening at the high alarm.
        tankHighLevelProtection: false,
        initialLevelsM,
        rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => {
          const grid = rainByLocation.get(`${latDeg},${lonDeg}`);
          const mm = grid?.[Math.floor((timeUtcMs - simStartUtcMs) / MS_PER_H)];
          // The simulation never runs into an hour without rain data (coveredUntilUtcMs), so this is a bug guard.
          if (mm === undefined || Number.isNaN(mm)) throw new Error(`baseline: no rain for ${latDeg},${lonDeg} at ${iso(timeUtcMs)}`);
          return mm / 60;
        },
      });
      sim.runUntil(fromUtcMs);
      const counters = (s: Simulation) => s.summary().stations;
      const start = counters(sim);
      const points: SeriesPoint[] = [];
      let last = start;
      for (let t = fromUtcMs; t <= coveredUntilUtcMs; t += everyMs) {
        sim.runUntil(t);
        const now = t === fromUtcMs ? start : counters(sim);
        for (const id of stationIds) {
          const b = base.get(id) ?? { energyKwh: 0, costCny: 0 };
          points.push({
            measurement: 'baseline',
            tags: { id },
            fields: { energyKwh: b.energyKwh + (now[id]!.energyKwh - start[id]!.energyKwh), costCny: b.costCny + (now[id]!.costCny - start[id]!.costCny) },
            timeUtcMs: t,
          });
        }
        last = now;
      }
      await influx.write(points);
      for (const id of stationIds) {
        result.energyKwh += last[id]!.energyKwh - start[id]!.energyKwh;
        result.costCny += last[id]!.costCny - start[id]!.costCny;
      }
      result.writtenUntilUtcMs = coveredUntilUtcMs;
      result.points = points.length;
      return result;
    },
  };
}

export type BaselineActivities = ReturnType<typeof createBaselineActivities>;
