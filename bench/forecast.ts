// Skill of the inflow forecast against simulator truth on held-out events:
//
//   npm run bench -- forecast --json        (bench/index.ts calls run(args) and prints the result last)
//   tsx bench/forecast.ts [options]         (standalone: prints the JSON object)
//
// 1. Calibration history: the digital twin (simulator/model.ts, reference network, sim seed
//    --train-seed) runs --train-days days from a local Monday midnight with the "moderate",
//    "chicago-2y" and "rainstorm" events; dry-weather flow is learned per station (forecasting/dwf.ts)
//    and RTK per catchment calibrated (forecasting/rtk.ts) from that telemetry and rain only.
// 2. Held-out events: "typhoon" and "chicago-10y" (scenarios never seen in calibration) and
//    "moderate" and "rainstorm" again on another sim seed and weekday (new realisations). Each runs
//    in its own simulation (sim seed --test-seed) with two dry days before.
// 3. Forecasts: for every forecast seed (--forecast-seeds) the local forecast server serves the event
//    as forecasts with error (timing, amount, location; deterministic and --members ensemble members)
//    through the real path: SDK wire format → connectors/openmeteo.ts → forecasting/rain-source.ts →
//    forecasting/inflow.ts. A forecast is issued every --issue-every-h hours from the event start while
//    a whole --horizon-h horizon fits in the event, with the observed (true) rain before the issue
//    time setting the RDII state.
// 4. Scores at each plant's inflow, on every (issue, step) pair: truth = the stations' true local
//    inflows routed to the plant by travel time (what the forecast predicts: inflow before station
//    storage); NSE and volume error of the deterministic forecast, coverage of P10–P90, and the peak
//    timing error (forecast peak vs true peak, for issues whose horizon holds the true peak at least
//    1 h ahead). Per scenario the plants' scores are averaged; overall = mean over scenarios.
//    Per scenario, `nse_vs_measured_plant_inflow` adds, for information, the NSE against the
//    simulator's actual plant inflow (after wet-well storage, local pump control at duty capacity and
//    station overflows): strongly negative in big storms, where the pumps cap what reaches the plant —
//    a planning matter, not an inflow-forecast error.
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createOpenMeteoConnector } from '../connectors/openmeteo.js';
import { startForecastServer } from '../forecast-server/server.js';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import type { NetworkConfig } from '../network/schema.js';
import { createRainScenario, type ScenarioName } from '../scenarios/rain.js';
import { createCalendar, MS_PER_DAY, MS_PER_H, MS_PER_MIN } from '../forecasting/calendar.js';
import { dwfSeries, learnDwf, type LearnedDwf } from '../forecasting/dwf.js';
import { forecastInflow, plantInflowForecast, quantileKey, type StationInflowModel } from '../forecasting/inflow.js';
import { createRainSource } from '../forecasting/rain-source.js';
import { plantRoutes } from '../forecasting/routing.js';
import { calibrateRtk, type RtkCalibration } from '../forecasting/rtk.js';
import { coverage, nashSutcliffe, volumeErrorPct } from '../forecasting/series.js';
import { simulateHistory, type SimulatedHistory } from '../forecasting/simulated-history.js';

interface Options {
  trainSeed: number;
  trainDays: number;
  testSeed: number;
  forecastSeeds: number[];
  members: number;
  issueEveryH: number;
  horizonH: number;
  scenarios: ScenarioName[];
  verbose: boolean;
}

const STEP_MIN = 15;
/** Local Monday 2026-06-01 00:00 in Asia/Shanghai. */
const TRAIN_START_UTC_MS = Date.UTC(2026, 4, 31, 16);
const TRAIN_EVENTS: { scenario: ScenarioName; day: number }[] = [
  { scenario: 'moderate', day: 14 },
  { scenario: 'chicago-2y', day: 19 },
  { scenario: 'rainstorm', day: 24 },
];
const HELD_OUT: Record<string, 'scenario' | 'realisation'> = { typhoon: 'scenario', 'chicago-10y': 'scenario', moderate: 'realisation', rainstorm: 'realisation', 'chicago-2y': 'realisation' };
const PRE_EVENT_DAYS = 2;

function parseOptions(args: string[]): Options {
  const { values } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    options: {
      'train-seed': { type: 'string', default: '11' },
      'train-days': { type: 'string', default: '32' },
      'test-seed': { type: 'string', default: '23' },
      'forecast-seeds': { type: 'string', default: '1,2,3' },
      members: { type: 'string', default: '20' },
      'issue-every-h': { type: 'string', default: '3' },
      'horizon-h': { type: 'string', default: '24' },
      scenarios: { type: 'string', default: 'typhoon,chicago-10y,moderate,rainstorm' },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const num = (name: string, min: number) => {
    const v = Number(values[name]);
    if (!(Number.isFinite(v) && v >= min)) throw new RangeError(`--${name} must be a number ≥ ${min}, got ${String(values[name])}`);
    return v;
  };
  const scenarios = String(values.scenarios)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const s of scenarios) if (!(s in HELD_OUT)) throw new RangeError(`--scenarios: ${s} is not a rain event scenario (${Object.keys(HELD_OUT).join(', ')})`);
  return {
    trainSeed: num('train-seed', 0),
    trainDays: num('train-days', 30),
    testSeed: num('test-seed', 0),
    forecastSeeds: String(values['forecast-seeds'])
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((s) => Number.isInteger(s)),
    members: num('members', 1),
    issueEveryH: num('issue-every-h', 1),
    horizonH: num('horizon-h', 1),
    scenarios: scenarios as ScenarioName[],
    verbose: values.verbose === true,
  };
}

const round = (v: number, digits = 3) => (Number.isFinite(v) ? Number(v.toFixed(digits)) : null);
const mean = (values: readonly number[]) => {
  const finite = values.filter(Number.isFinite);
  return finite.length > 0 ? finite.reduce((a, b) => a + b, 0) / finite.length : Number.NaN;
};

/** Learn DWF and calibrate RTK from a simulated history; also how close they came to the truth. */
function calibrate(network: NetworkConfig, history: SimulatedHistory) {
  const calendar = createCalendar(network.timezone);
  const grid = { startUtcMs: history.startUtcMs, stepMin: history.stepMin, steps: history.steps };
  const learned: Record<string, LearnedDwf> = {};
  const calibrated: Record<string, RtkCalibration> = {};
  const models: StationInflowModel[] = [];
  const rError: number[] = [];
  const tError: number[] = [];
  for (const station of network.stations) {
    const catchments = network.catchments.filter((c) => c.node === station.id);
    const flow = history.localInflowM3h[station.id];
    if (!flow || catchments.length === 0) continue;
    const rain = catchments.map((c) => ({ startUtcMs: grid.startUtcMs, stepMin: grid.stepMin, values: history.rainMm[c.id]! }));
    const dwf = learnDwf({ stationId: station.id, flow: { startUtcMs: grid.startUtcMs, stepMin: grid.stepMin, values: flow }, rain, timeZone: network.timezone });
    learned[station.id] = dwf;
    const base = dwfSeries(dwf, calendar, grid);
    const observedRdii = flow.map((v, i) => v - base[i]!);
    // Several catchments on one station: one RTK set on their area-weighted rain, applied to each.
    const areaHa = catchments.reduce((a, c) => a + c.areaHa, 0);
    const rainMm = Array.from({ length: grid.steps }, (_, i) => catchments.reduce((a, c) => a + (history.rainMm[c.id]![i]! * c.areaHa) / areaHa, 0));
    const fit = calibrateRtk({ rainMm, observedRdiiM3h: observedRdii, stepMin: grid.stepMin, areaHa });
    for (const c of catchments) {
      calibrated[c.id] = fit;
      const trueR = c.rdii.triangles.reduce((a, t) => a + t.r, 0);
      const trueFastT = Math.min(...c.rdii.triangles.map((t) => t.tH));
      rError.push((100 * (fit.totalR - trueR)) / trueR);
      tError.push((100 * ((fit.params.triangles[0]?.tH ?? Number.NaN) - trueFastT)) / trueFastT);
    }
    models.push({
      stationId: station.id,
      dwf,
      groundwaterM3h: catchments.reduce((a, c) => a + c.groundwaterM3h, 0),
      catchments: catchments.map((c) => ({ catchmentId: c.id, areaHa: c.areaHa, rtk: fit.params, rdiiErrorFraction: fit.fit.relativeRmse })),
    });
  }
  const dwfError = network.stations.flatMap((s) => {
    const cs = network.catchments.filter((c) => c.node === s.id);
    const l = learned[s.id];
    if (!l || cs.length === 0) return [];
    // Configured weekly mean: DWF pattern factors averaged over 5 weekdays and 2 weekend days, plus groundwater.
    const configured = cs.reduce((a, c) => {
      const p = network.dwfPatterns.find((x) => x.id === c.dwf.pattern)!;
      const wd = (p.weekdayHourly.reduce((x, y) => x + y, 0) / 24) * p.weekdayFactor;
      const we = (p.weekendHourly.reduce((x, y) => x + y, 0) / 24) * p.weekendFactor;
      return a + (c.dwf.meanM3d / 24) * ((5 * wd + 2 * we) / 7) + c.groundwaterM3h;
    }, 0);
    return [(100 * (l.meanM3h - configured)) / configured];
  });
  return {
    models,
    summary: {
      stations: models.length,
      dwf_mean_error_pct_max_abs: round(Math.max(...dwfError.map(Math.abs)), 2),
      total_r_error_pct_max_abs: round(Math.max(...rError.map(Math.abs)), 2),
      fast_t_error_pct_max_abs: round(Math.max(...tError.map(Math.abs)), 2),
      rtk_fit_nse_min: round(Math.min(...Object.values(calibrated).map((c) => c.fit.nse))),
      rtk_fit_relative_rmse_max: round(Math.max(...Object.values(calibrated).map((c) => c.fit.relativeRmse))),
    },
  };
}

interface Pairs {
  obs: number[];
  det: number[];
  lo: number[];
  hi: number[];
  measured: number[];
  peakErrorsMin: number[];
}

export async function run(args: string[]): Promise<Record<string, unknown>> {
  const o = parseOptions(args);
  const started = performance.now();
  const progress = (m: string) => {
    if (o.verbose) process.stderr.write(`[bench forecast] ${m}\n`);
  };
  const network = await loadNetworkFile(referenceNetworkPath);
  const routes = plantRoutes(network);
  const stepMs = STEP_MIN * MS_PER_MIN;

  // 1. Calibrate on the training history.
  const train = simulateHistory({
    network,
    startUtcMs: TRAIN_START_UTC_MS,
    durationMs: o.trainDays * MS_PER_DAY,
    stepMin: STEP_MIN,
    seed: o.trainSeed,
    events: TRAIN_EVENTS.filter((e) => e.day + 4 <= o.trainDays).map((e) => ({ scenario: e.scenario, startUtcMs: TRAIN_START_UTC_MS + e.day * MS_PER_DAY })),
  });
  const { models, summary: calibration } = calibrate(network, train);
  progress(`calibrated in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(calibration)}`);

  // 2–4. Held-out events.
  const scenarioResults: Record<string, unknown>[] = [];
  let issues = 0;
  for (const [k, name] of o.scenarios.entries()) {
    // Different weekdays per event: a Thursday 08:00 local start shifted by a day per event.
    const eventStartUtcMs = Date.UTC(2026, 6, 2, 0) + k * (MS_PER_DAY + 5 * MS_PER_H);
    const truthScenario = createRainScenario(name, { startUtcMs: eventStartUtcMs });
    const historyStartUtcMs = eventStartUtcMs - PRE_EVENT_DAYS * MS_PER_DAY;
    const truth = simulateHistory({
      network,
      startUtcMs: historyStartUtcMs,
      durationMs: PRE_EVENT_DAYS * MS_PER_DAY + truthScenario.durationMs,
      stepMin: STEP_MIN,
      seed: o.testSeed + k,
      events: [{ scenario: truthScenario }],
    });
    const pairs: Record<string, Pairs> = Object.fromEntries(network.plants.map((p) => [p.id, { obs: [], det: [], lo: [], hi: [], measured: [], peakErrorsMin: [] }]));
    const eventEndUtcMs = eventStartUtcMs + truthScenario.durationMs;
    const truePeak: Record<string, number> = {};
    for (const p of network.plants) {
      const series = truth.routedPlantInflowM3h[p.id]!;
      const from = (eventStartUtcMs - historyStartUtcMs) / stepMs;
      let best = from;
      for (let i = from; i < series.length; i++) if (series[i]! > series[best]!) best = i;
      truePeak[p.id] = historyStartUtcMs + best * stepMs;
    }
    let scenarioIssues = 0;
    for (const seed of o.forecastSeeds) {
      let nowUtcMs = eventStartUtcMs;
      const server = await startForecastServer({ scenario: truthScenario, seed, ensembleMembers: o.members + 1, nowUtcMs: () => nowUtcMs });
      try {
        const connector = createOpenMeteoConnector({
          forecastUrl: `${server.url}/v1/forecast`,
          ensembleUrl: `${server.url}/v1/ensemble`,
          archiveUrl: `${server.url}/v1/archive`,
          retries: 0,
          timeoutMs: 10_000,
          nowUtcMs: () => nowUtcMs,
        });
        const rainSource = createRainSource({ connector, locations: network, horizonH: o.horizonH, stepMin: STEP_MIN, nowUtcMs: () => nowUtcMs });
        for (let issue = eventStartUtcMs; issue + o.horizonH * MS_PER_H <= eventEndUtcMs; issue += o.issueEveryH * MS_PER_H) {
          nowUtcMs = issue;
          const rain = await rainSource.get();
          const offset = (rain.startUtcMs - historyStartUtcMs) / stepMs;
          const pastRain = Object.fromEntries(
            network.catchments.map((c) => [c.id, { startUtcMs: historyStartUtcMs, stepMin: STEP_MIN, values: truth.rainMm[c.id]!.slice(0, offset) }]),
          );
          const forecast = forecastInflow({ models, timeZone: network.timezone, issuedAtUtcMs: issue, rain, pastRain, includeMembers: true });
          const past = Object.fromEntries(Object.entries(truth.localInflowM3h).map(([id, v]) => [id, v.slice(Math.max(0, offset - 24), offset)]));
          const plants = plantInflowForecast(forecast, routes, past);
          for (const plant of plants) {
            const acc = pairs[plant.plantId]!;
            const obs = truth.routedPlantInflowM3h[plant.plantId]!.slice(offset, offset + forecast.steps);
            const measured = truth.telemetry[plant.plantId]!['inflowM3h']!.slice(offset, offset + forecast.steps);
            acc.obs.push(...obs);
            acc.det.push(...plant.deterministicM3h);
            acc.lo.push(...plant.quantilesM3h[quantileKey(0.1)]!);
            acc.hi.push(...plant.quantilesM3h[quantileKey(0.9)]!);
            acc.measured.push(...measured);
            const peakAt = truePeak[plant.plantId]!;
            if (peakAt >= rain.startUtcMs + MS_PER_H && peakAt < rain.startUtcMs + forecast.steps * stepMs) {
              let best = 0;
              plant.deterministicM3h.forEach((v, i) => {
                if (v > plant.deterministicM3h[best]!) best = i;
              });
              acc.peakErrorsMin.push(Math.abs(rain.startUtcMs + best * stepMs - peakAt) / MS_PER_MIN);
            }
          }
          scenarioIssues++;
        }
      } finally {
        await server.close();
      }
    }
    issues += scenarioIssues;
    const plants: Record<string, Record<string, number | null>> = {};
    for (const [plantId, acc] of Object.entries(pairs)) {
      plants[plantId] = {
        nse: round(nashSutcliffe(acc.obs, acc.det)),
        volume_error_pct: round(volumeErrorPct(acc.obs, acc.det), 2),
        peak_timing_error_min: round(mean(acc.peakErrorsMin), 1),
        coverage_p10_p90: round(coverage(acc.obs, acc.lo, acc.hi)),
        nse_vs_measured_plant_inflow: round(nashSutcliffe(acc.measured, acc.det)),
      };
    }
    const avg = (key: string) => mean(Object.values(plants).map((p) => p[key] ?? Number.NaN));
    const result = {
      name,
      held_out: HELD_OUT[name],
      sim_seed: o.testSeed + k,
      forecast_seeds: o.forecastSeeds,
      issues: scenarioIssues,
      nse: round(avg('nse')),
      volume_error_pct: round(avg('volume_error_pct'), 2),
      peak_timing_error_min: round(avg('peak_timing_error_min'), 1),
      coverage_p10_p90: round(avg('coverage_p10_p90')),
      nse_vs_measured_plant_inflow: round(avg('nse_vs_measured_plant_inflow')),
      plants,
    };
    progress(`${name}: ${JSON.stringify(result)}`);
    scenarioResults.push(result);
  }

  const overall = (key: string) => mean(scenarioResults.map((s) => (s[key] as number | null) ?? Number.NaN));
  return {
    nse: round(overall('nse')),
    volume_error_pct: round(overall('volume_error_pct'), 2),
    peak_timing_error_min: round(overall('peak_timing_error_min'), 1),
    coverage_p10_p90: round(overall('coverage_p10_p90')),
    targets: { nse: 0.85, coverage_p10_p90: 0.8 },
    scenarios: scenarioResults,
    calibration: { train_seed: o.trainSeed, train_days: o.trainDays, events: TRAIN_EVENTS.map((e) => e.scenario), ...calibration },
    config: { step_min: STEP_MIN, horizon_h: o.horizonH, issue_every_h: o.issueEveryH, members: o.members, issues },
    elapsed_s: round((performance.now() - started) / 1000, 1),
  };
}

// Standalone: `tsx bench/forecast.ts [options]`.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await run(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
