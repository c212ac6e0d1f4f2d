// The inflow forecast of one dispatch cycle: rain (deterministic + ensemble, with its quality) from the
// rain source → per-station inflow (dry-weather flow learned from telemetry where history allows, the
// network file's patterns otherwise; groundwater; RDII from the deterministic rain and from each
// ensemble member, starting from the state left by the past hours' rain; in dry weather corrected by the
// last hour's measured inflow) → InfluxDB `inflow_forecast`
// with the issue time, its completion marker last (write.ts, issues.ts) → kept for the planner of the same
// cycle, with the forecast's flags (which the plan's assumptions repeat).
//
// The workflow passes only a reference (the inflow issue time) from the forecast activity to the
// planning activity; the forecast itself stays here (members included) and, should the planning
// activity run in another process, is read back from InfluxDB (P10/P50/P90 then stand in for members).
import type { InfluxConnector } from '../connectors/influx.js';
import type { NetworkConfig } from '../network/schema.js';
import { MS_PER_DAY, MS_PER_MIN } from './calendar.js';
import { bilingualText, judgeLearnedDwf, learnDwf, withDayCalendar, type DwfLearningOptions } from './dwf.js';
import { readObservedRain, readRecentLocalInflow, readStationHistory } from './history.js';
import { ERROR_CORRECTION_WINDOW_MIN, forecastInflow, modelsFromNetwork, toPlannerInflow, type InflowForecast, type StationInflowModel } from './inflow.js';
import type { PlanningRain, RainSource } from './rain-source.js';
import type { Series } from './series.js';
import { forecastFlagsOf, localInflowPoints, readInflowForecast, writeInflowForecast, type ForecastFlags } from './write.js';

export type PlannerInflow = ReturnType<typeof toPlannerInflow>;

export interface DwfLearningSettings {
  /** Telemetry history used (default 120 days: several months give monthly factors). */
  historyDays?: number;
  /** Step the history is read at (default 60 min). */
  stepMin?: number;
  /** Learn again after this long (default 24 h). */
  refreshH?: number;
  options?: DwfLearningOptions;
}

export interface InflowCycleOptions {
  network: NetworkConfig;
  influx: InfluxConnector;
  rain: RainSource;
  /** Learn dry-weather flow from telemetry in InfluxDB (default on); false: the network file's patterns only. */
  dwfLearning?: DwfLearningSettings | false;
  /**
   * Observed rain for choosing dry days where InfluxDB has none (`rain_observed`), e.g. the archive API
   * (rain-source.ts fetchArchiveRain); per catchment on any step, null = unknown.
   */
  archiveRain?: (range: { fromUtcMs: number; toUtcMs: number }) => Promise<Record<string, Series>>;
  /**
   * Correct each station's dry-weather flow by its measured local inflow over the last hour (default true;
   * forecasting/inflow.ts dwfErrorCorrection); false: the profiles alone.
   */
  errorCorrection?: boolean;
  /** Write the forecast to InfluxDB (default true). */
  write?: boolean;
  now?: () => number;
  /** Issued forecasts kept in memory for planning (default 8). */
  keep?: number;
}

export interface DwfModelReport {
  stationId: string;
  source: 'learned' | 'configured';
  /** Why the configured pattern is used, or what the learning left out / warned about. */
  detail: string;
  monthlyFactors?: boolean;
}

export interface IssuedInflow {
  rain: PlanningRain;
  inflow: InflowForecast;
  /** Points written to InfluxDB. */
  written: number;
  dwf: DwfModelReport[];
}

export interface InflowCycle {
  /** Rain → inflow forecast → InfluxDB; kept for `plannerInflow`. */
  issue(): Promise<IssuedInflow>;
  /**
   * The planner's input for an issued forecast: from memory (members included), else from InfluxDB (only a
   * completely written issue); null if unknown. `flags`: what the forecast says of itself, for the plan.
   */
  plannerInflow(issuedAtUtcMs: number): Promise<{ inflow: PlannerInflow; from: 'memory' | 'influxdb'; flags?: ForecastFlags } | null>;
  /** Learn dry-weather flow now (also started by `issue` when due, in the background). */
  refreshModels(): Promise<DwfModelReport[]>;
  /** The dry-weather models in use and where they come from. */
  models(): { models: StationInflowModel[]; report: DwfModelReport[]; learnedAtUtcMs: number | null };
}

export function createInflowCycle(options: InflowCycleOptions): InflowCycle {
  const { network, influx } = options;
  const now = options.now ?? Date.now;
  const keep = options.keep ?? 8;
  const learning = options.dwfLearning === false ? null : { historyDays: 120, stepMin: 60, refreshH: 24, ...options.dwfLearning };
  const configured = withDayCalendar(modelsFromNetwork(network), network.dayCalendar);
  let models = configured;
  let report: DwfModelReport[] = configured.map((m) => ({ stationId: m.stationId, source: 'configured', detail: 'network file pattern (not learned yet)' }));
  let learnedAtUtcMs: number | null = null;
  let learningRun: Promise<DwfModelReport[]> | null = null;
  const issued = new Map<number, InflowForecast>();

  async function learn(): Promise<DwfModelReport[]> {
    if (!learning) return report;
    const stepMs = learning.stepMin * MS_PER_MIN;
    const toUtcMs = Math.floor(now() / stepMs) * stepMs;
    const range = { fromUtcMs: toUtcMs - learning.historyDays * MS_PER_DAY, toUtcMs, stepMin: learning.stepMin };
    const history = await readStationHistory(influx, network, range);
    const catchmentIds = network.catchments.map((c) => c.id);
    const rain = await readObservedRain(influx, catchmentIds, range);
    const noRain = catchmentIds.filter((id) => !rain[id]?.values.some((v) => v !== null));
    let rainNote = '';
    if (noRain.length > 0 && options.archiveRain) {
      try {
        const archive = await options.archiveRain(range);
        for (const id of noRain) if (archive[id]) rain[id] = archive[id];
        rainNote = `; rain for dry days from the archive for ${noRain.length} catchment(s)`;
      } catch (error) {
        rainNote = `; archive rain unavailable (${(error as Error).message})`;
      }
    }
    const nextReport: DwfModelReport[] = [];
    const nextModels = configured.map((model): StationInflowModel => {
      const flow = history.localInflowM3h[model.stationId];
      const rainSeries = model.catchments.map((c) => rain[c.catchmentId]).filter((s): s is Series => s !== undefined);
      try {
        if (!flow || !flow.some((v) => v !== null)) throw new RangeError(history.localInflowNotes[model.stationId] ?? 'no telemetry history');
        const learned = learnDwf({
          stationId: model.stationId,
          flow: { startUtcMs: range.fromUtcMs, stepMin: range.stepMin, values: flow },
          rain: rainSeries,
          timeZone: network.timezone,
          ...(network.dayCalendar ? { dayCalendar: network.dayCalendar } : {}),
          ...(learning.options ? { options: learning.options } : {}),
        });
        const verdict = judgeLearnedDwf(learned, model.dwf, learning.options);
        if (!verdict.accepted) throw new RangeError(bilingualText(verdict.reason));
        const months = learned.monthlyFactors.filter((f) => f !== 1).length;
        nextReport.push({
          stationId: model.stationId,
          source: 'learned',
          detail: `${learned.dryDays.weekday.length} dry weekdays, ${learned.dryDays.weekend.length} dry weekend days over ${learning.historyDays} days${months > 0 ? `, monthly factors for ${months} month(s)` : ''}${learned.warnings.length > 0 ? `; ${learned.warnings.join('; ')}` : ''}${rainNote}`,
          monthlyFactors: months > 0,
        });
        return { ...model, dwf: learned };
      } catch (error) {
        nextReport.push({ stationId: model.stationId, source: 'configured', detail: `network file pattern: ${(error as Error).message}${rainNote}` });
        return model;
      }
    });
    models = nextModels;
    report = nextReport;
    learnedAtUtcMs = now();
    return report;
  }

  function refreshModels(): Promise<DwfModelReport[]> {
    learningRun ??= learn()
      .catch((error: unknown) => {
        // Keep the models in use; say why they were not renewed.
        report = report.map((r) => (r.source === 'configured' ? { ...r, detail: `network file pattern: learning failed (${(error as Error).message})` } : r));
        learnedAtUtcMs = now();
        return report;
      })
      .finally(() => {
        learningRun = null;
      });
    return learningRun;
  }

  return {
    refreshModels,
    models: () => ({ models, report, learnedAtUtcMs }),

    async issue() {
      // Learning reads months of telemetry: never on the cycle's critical path.
      if (learning && (learnedAtUtcMs === null || now() - learnedAtUtcMs > learning.refreshH * 3_600_000)) void refreshModels();
      // The models in use now, and what is said of them: learning may finish while this forecast waits for its
      // reads, and the forecast's flags must describe the models it ran on.
      const modelsNow = models;
      const reportNow = report;
      const rain = await options.rain.get();
      // Issued when its rain is in hand (a fresh rain forecast is stamped on arrival, just before).
      const issuedAtUtcMs = now();
      const stepMs = rain.stepMin * MS_PER_MIN;
      const pastStartUtcMs = rain.startUtcMs - rain.pastSteps * stepMs;
      const pastRain: Record<string, Series> | undefined =
        rain.pastSteps > 0 ? Object.fromEntries(rain.catchments.map((c) => [c.catchmentId, { startUtcMs: pastStartUtcMs, stepMin: rain.stepMin, values: c.pastMm }])) : undefined;
      // The last hour's measured inflow, for the error correction; a failed read leaves the profiles alone, and says so.
      let recentLocalInflowM3h: Record<string, Series> | undefined;
      let correctionNote: string | null = null;
      if (options.errorCorrection !== false) {
        try {
          recentLocalInflowM3h = await readRecentLocalInflow(influx, network, rain.startUtcMs, rain.stepMin, ERROR_CORRECTION_WINDOW_MIN);
        } catch (error) {
          correctionNote = `no error correction: recent inflow unreadable (${(error as Error).message})`;
        }
      }
      // The same hour kept for comparing forecasts with what came (dashboards); a failed write loses only that view.
      let observedNote: string | null = null;
      if (recentLocalInflowM3h && options.write !== false) {
        try {
          await influx.write(localInflowPoints(recentLocalInflowM3h));
        } catch (error) {
          observedNote = `observed local inflow not stored: ${(error as Error).message}`;
        }
      }
      const inflow = forecastInflow({
        models: modelsNow,
        timeZone: network.timezone,
        issuedAtUtcMs,
        rain,
        ...(pastRain ? { pastRain } : {}),
        ...(recentLocalInflowM3h ? { recentLocalInflowM3h } : {}),
        gapFillMm: (catchmentId, stepStartUtcMs, stepMin) => options.rain.fallbackMm(catchmentId, stepStartUtcMs, stepMin),
        gapFillLabel: 'the fallback rain rule',
        includeMembers: true,
      });
      if (correctionNote) inflow.flags.push(correctionNote);
      if (observedNote) inflow.flags.push(observedNote);
      const configuredStations = reportNow.filter((r) => r.source === 'configured').map((r) => r.stationId);
      if (configuredStations.length > 0) inflow.flags.push(`dry-weather flow from the network file's patterns at ${configuredStations.join(', ')} (no learned profile)`);
      // Each such station says why (a refused profile, an upstream station without telemetry, …).
      for (const r of reportNow) if (r.source === 'configured') inflow.stations.find((s) => s.stationId === r.stationId)?.flags.push(r.detail);
      const written = options.write === false ? 0 : await writeInflowForecast(influx, inflow);
      issued.set(issuedAtUtcMs, inflow);
      while (issued.size > keep) issued.delete(issued.keys().next().value!);
      return { rain, inflow, written, dwf: reportNow };
    },

    async plannerInflow(issuedAtUtcMs) {
      const inMemory = issued.get(issuedAtUtcMs);
      if (inMemory) return { inflow: toPlannerInflow(inMemory), from: 'memory', flags: forecastFlagsOf(inMemory) };
      const stored = await readInflowForecast(influx, { issuedAtUtcMs });
      if (!stored) return null;
      const stations = Object.entries(stored.stations).filter(([, q]) => q['det'] && q['det'].flowM3h.length > 0);
      if (stations.length === 0) return null;
      const first = stations[0]![1]['det']!;
      const stepMin = first.timeUtcMs.length > 1 ? (first.timeUtcMs[1]! - first.timeUtcMs[0]!) / MS_PER_MIN : network.planning.stepMin;
      const bands = ['p10', 'p50', 'p90'].filter((q) => stations.every(([, byQ]) => byQ[q]?.flowM3h.length === first.flowM3h.length));
      return {
        from: 'influxdb',
        flags: stored.flags,
        inflow: {
          startUtcMs: first.timeUtcMs[0]!,
          stepMin,
          series: stations.map(([stationId, byQ]) => ({ nodeId: stationId, flowM3h: byQ['det']!.flowM3h })),
          // Members were not stored: the stored quantiles stand in as scenarios.
          ...(bands.length > 0 ? { members: bands.map((q) => ({ id: q, series: stations.map(([stationId, byQ]) => ({ nodeId: stationId, flowM3h: byQ[q]!.flowM3h })) })) } : {}),
          source: `inflow-forecast(influxdb);quality=${stored.rainQuality ?? 'unknown'}`,
          issuedAtUtcMs,
        },
      };
    },
  };
}
