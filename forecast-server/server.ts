// Local Open-Meteo-compatible forecast server for tests and demos: serves a rain scenario as
// forecast (perturbed, deterministic for the seed), ensemble (perturbed members) and archive
// (the truth), in JSON or in the FlatBuffers wire format the official SDK reads.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Builder } from 'flatbuffers';
import { Model, Unit, Variable } from '@openmeteo/sdk/weather_api.js';
import { createRainScenario, isScenarioName, perturbForecast, SCENARIO_NAMES, type RainScenario, type ScenarioName } from '../scenarios/rain.js';

const MS_PER_S = 1000;
const MS_PER_MIN = 60_000;
const MS_PER_H = 3_600_000;
const MS_PER_DAY = 86_400_000;
/** An hour counts as wet for precipitation_probability above this depth (Open-Meteo uses 0.1 mm). */
const WET_HOUR_THRESHOLD_MM = 0.1;
const MAX_LOCATIONS = 1000;
const MAX_RANGE_DAYS = 400;

export interface ForecastServerOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** A scenario name (needs scenarioStartUtcMs) or a ready-made scenario. */
  scenario: ScenarioName | RainScenario;
  scenarioStartUtcMs?: number;
  rainOnsetOffsetMin?: number;
  /** Forecast run: perturbations are deterministic for (seed, member). */
  seed?: number;
  /** Ensemble members served, including the control member 0 (= the deterministic forecast). */
  ensembleMembers?: number;
  /** The server's "now": where forecast days and hours start. Inject for tests and accelerated demos. */
  nowUtcMs?: () => number;
  elevationM?: number;
  /** Archive data becomes available this long after it fell (real reanalysis lags days). */
  archiveDelayMs?: number;
  /**
   * Intervals overlapping these windows are served as missing (NaN / null), like a model data gap; only for
   * one endpoint, block or set of ensemble members when those are given (e.g. all-NaN members).
   */
  missingDataUtcMs?: readonly MissingData[];
  /** Answer the first N requests with HTTP 500, to exercise client retries. */
  failFirstRequests?: number;
  /** Faults answered instead of data (the first that applies), e.g. 429 with Retry-After, 503 with an HTML page. */
  faults?: readonly ForecastServerFault[];
  /** A short answer: forecast and ensemble series end this many hours after the current hour (the model run ends early). */
  horizonHoursServed?: number;
  /** Delay every answer, to exercise client timeouts. */
  responseDelayMs?: number;
}

export interface MissingData {
  startUtcMs: number;
  endUtcMs: number;
  endpoint?: Endpoint;
  block?: Block;
  /** Ensemble members (0 = control / the forecast's series). */
  members?: readonly number[];
}

export interface ForecastServerFault {
  status: number;
  /** Requests answered with it (default: every one). */
  times?: number;
  /** Only requests to this endpoint (default: any). */
  endpoint?: Endpoint;
  /** Retry-After header, seconds. */
  retryAfterS?: number;
  /** Open-Meteo's JSON error (default), an HTML page as proxies and load balancers send, or no body. */
  body?: 'json' | 'html' | 'empty';
  reason?: string;
}

/** What can be changed on a running server (the rest is fixed at start). */
export type ForecastServerInjections = Pick<ForecastServerOptions, 'faults' | 'horizonHoursServed' | 'missingDataUtcMs'>;

export interface ForecastServer {
  url: string;
  port: number;
  readonly requestCount: number;
  /** Change the injected faults, short horizon or missing data from the next request on. */
  inject(changes: ForecastServerInjections): void;
  close(): Promise<void>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    reason: string,
  ) {
    super(reason);
  }
}

export type Endpoint = 'forecast' | 'ensemble' | 'archive';
export type Block = 'hourly' | 'minutely_15';
type VariableName = 'precipitation' | 'rain' | 'precipitation_probability';

const VARIABLES: Record<Endpoint, Record<Block, readonly VariableName[]>> = {
  forecast: { hourly: ['precipitation', 'rain', 'precipitation_probability'], minutely_15: ['precipitation', 'rain'] },
  ensemble: { hourly: ['precipitation', 'rain'], minutely_15: [] },
  archive: { hourly: ['precipitation', 'rain'], minutely_15: [] },
};
const WIRE_VARIABLE: Record<VariableName, { variable: Variable; unit: Unit; unitLabel: string }> = {
  precipitation: { variable: Variable.precipitation, unit: Unit.millimetre, unitLabel: 'mm' },
  rain: { variable: Variable.rain, unit: Unit.millimetre, unitLabel: 'mm' },
  precipitation_probability: { variable: Variable.precipitation_probability, unit: Unit.percentage, unitLabel: '%' },
};
const DEFAULT_MODEL: Record<Endpoint, string> = { forecast: 'best_match', ensemble: 'ecmwf_ifs025', archive: 'best_match' };
const MAX_FORECAST_DAYS: Record<Endpoint, number> = { forecast: 16, ensemble: 35, archive: 0 };
const TIMEZONES: Record<string, { name: string; abbreviation: string; utcOffsetSeconds: number }> = {
  GMT: { name: 'GMT', abbreviation: 'GMT', utcOffsetSeconds: 0 },
  UTC: { name: 'GMT', abbreviation: 'GMT', utcOffsetSeconds: 0 },
  'Asia/Shanghai': { name: 'Asia/Shanghai', abbreviation: 'GMT+8', utcOffsetSeconds: 8 * 3600 },
};

interface TimeAxis {
  /** Label of the first value: the END of its accumulation interval ("preceding hour sum"). */
  firstUtcMs: number;
  count: number;
  stepMs: number;
}

interface SeriesOut {
  name: string;
  wire: (typeof WIRE_VARIABLE)[VariableName];
  member: number;
  values: number[];
}

interface LocationOut {
  index: number;
  latDeg: number;
  lonDeg: number;
  blocks: { block: Block; axis: TimeAxis; series: SeriesOut[] }[];
}

interface Request {
  endpoint: Endpoint;
  points: { latDeg: number; lonDeg: number }[];
  variables: Record<Block, VariableName[]>;
  axes: Record<Block, TimeAxis>;
  timezone: (typeof TIMEZONES)[string];
  model: Model;
  format: 'json' | 'flatbuffers';
  unixTime: boolean;
}

export async function startForecastServer(options: ForecastServerOptions): Promise<ForecastServer> {
  const settings = resolveOptions(options);
  const members = Array.from({ length: settings.ensembleMembers }, (_, member) =>
    perturbForecast(settings.truth, { seed: settings.seed, member }),
  );
  let requestCount = 0;
  const injected = {
    faults: (settings.faults ?? []).map((f) => ({ ...f, left: f.times ?? Number.POSITIVE_INFINITY })),
    horizonHoursServed: settings.horizonHoursServed,
    missingDataUtcMs: settings.missingDataUtcMs,
  };

  const server = createServer((req, res) => {
    requestCount += 1;
    const started = performance.now();
    void (async () => {
      if (settings.responseDelayMs > 0) await sleep(settings.responseDelayMs);
      if (requestCount <= settings.failFirstRequests) {
        sendJson(res, 500, { error: true, reason: 'Injected failure (failFirstRequests)' });
        return;
      }
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const fault = injected.faults.find((f) => f.left > 0 && (f.endpoint === undefined || path === `/v1/${f.endpoint}`));
      if (fault) {
        fault.left -= 1;
        sendFault(res, fault);
        return;
      }
      try {
        const request = parseRequest(req, settings.nowUtcMs());
        if (injected.horizonHoursServed !== undefined && request.endpoint !== 'archive') {
          // The run ends early: no labels after the current hour + horizonHoursServed.
          const lastUtcMs = Math.floor(settings.nowUtcMs() / MS_PER_H) * MS_PER_H + injected.horizonHoursServed * MS_PER_H;
          for (const block of ['hourly', 'minutely_15'] as const) {
            const axis = request.axes[block];
            axis.count = Math.max(0, Math.min(axis.count, Math.floor((lastUtcMs - axis.firstUtcMs) / axis.stepMs) + 1));
          }
        }
        const locations = request.points.map((point, index) => evaluate(request, point, index));
        const generationMs = performance.now() - started;
        if (request.format === 'flatbuffers') {
          res.writeHead(200, { 'content-type': 'application/octet-stream' });
          res.end(encodeFlatBuffers(request, locations, settings.elevationM, generationMs));
        } else {
          const bodies = locations.map((location) => toJson(request, location, settings.elevationM, generationMs));
          sendJson(res, 200, bodies.length === 1 ? bodies[0] : bodies);
        }
      } catch (error) {
        if (error instanceof ApiError) sendJson(res, error.status, { error: true, reason: error.message });
        else sendJson(res, 500, { error: true, reason: `Internal error: ${(error as Error).message}` });
      }
    })();
  });

  /** Accumulation over the interval ending at t; NaN where the "model" has no data. */
  function valueMm(scenario: RainScenario, point: { latDeg: number; lonDeg: number }, endUtcMs: number, stepMs: number, where: { endpoint: Endpoint; block: Block; member: number }): number {
    const startUtcMs = endUtcMs - stepMs;
    const missing = injected.missingDataUtcMs.some(
      (gap) =>
        startUtcMs < gap.endUtcMs &&
        endUtcMs > gap.startUtcMs &&
        (gap.endpoint === undefined || gap.endpoint === where.endpoint) &&
        (gap.block === undefined || gap.block === where.block) &&
        (gap.members === undefined || gap.members.includes(where.member)),
    );
    if (missing) return Number.NaN;
    return scenario.rainMmBetween(point.latDeg, point.lonDeg, startUtcMs, endUtcMs);
  }

  function evaluate(request: Request, point: { latDeg: number; lonDeg: number }, index: number): LocationOut {
    const archiveUntilUtcMs = settings.nowUtcMs() - settings.archiveDelayMs;
    const blocks = (['hourly', 'minutely_15'] as const)
      .filter((block) => request.variables[block].length > 0)
      .map((block) => {
        const axis = request.axes[block];
        const times = Array.from({ length: axis.count }, (_, i) => axis.firstUtcMs + i * axis.stepMs);
        const seriesFor = (scenario: RainScenario, member = 0): number[] => times.map((t) => valueMm(scenario, point, t, axis.stepMs, { endpoint: request.endpoint, block, member }));
        const series: SeriesOut[] = [];
        for (const name of request.variables[block]) {
          const wire = WIRE_VARIABLE[name];
          if (request.endpoint === 'archive') {
            // Observations exist only for rain that has already fallen.
            const values = seriesFor(settings.truth).map((v, i) => ((times[i] ?? 0) <= archiveUntilUtcMs ? v : Number.NaN));
            series.push({ name, wire, member: 0, values });
          } else if (request.endpoint === 'ensemble') {
            members.forEach((scenario, member) => series.push({ name, wire, member, values: seriesFor(scenario, member) }));
          } else if (name === 'precipitation_probability') {
            const memberSeries = members.map((scenario) => seriesFor(scenario));
            const values = times.map((_, i) => {
              const wet = memberSeries.filter((s) => (s[i] ?? 0) > WET_HOUR_THRESHOLD_MM).length;
              return Math.round((100 * wet) / memberSeries.length);
            });
            series.push({ name, wire, member: 0, values });
          } else {
            series.push({ name, wire, member: 0, values: seriesFor(members[0] ?? settings.truth) });
          }
        }
        return { block, axis, series };
      });
    return { index, ...point, blocks };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostInUrl = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    get requestCount() {
      return requestCount;
    },
    inject(changes) {
      if (changes.faults !== undefined) injected.faults = changes.faults.map((f) => ({ ...f, left: f.times ?? Number.POSITIVE_INFINITY }));
      if ('horizonHoursServed' in changes) injected.horizonHoursServed = changes.horizonHoursServed;
      if (changes.missingDataUtcMs !== undefined) injected.missingDataUtcMs = changes.missingDataUtcMs;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // fetch keeps connections alive; without this close() waits for them to time out.
        server.closeAllConnections();
      }),
  };
}

function resolveOptions(options: ForecastServerOptions) {
  const fail = (name: string, value: unknown, expected: string): never => {
    throw new RangeError(`startForecastServer: ${name} must be ${expected}, got ${String(value)}`);
  };
  const { port = 0, host = '127.0.0.1', seed = 1, ensembleMembers = 20, elevationM = 3 } = options;
  const { archiveDelayMs = 0, failFirstRequests = 0, responseDelayMs = 0, missingDataUtcMs = [] } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('port', port, 'an integer in [0, 65535]');
  if (!Number.isInteger(seed)) fail('seed', seed, 'an integer');
  if (!Number.isInteger(ensembleMembers) || ensembleMembers < 1 || ensembleMembers > 200) {
    fail('ensembleMembers', ensembleMembers, 'an integer in [1, 200]');
  }
  for (const [name, value] of Object.entries({ archiveDelayMs, failFirstRequests, responseDelayMs })) {
    if (!Number.isFinite(value) || value < 0) fail(name, value, 'a number ≥ 0');
  }
  if (options.horizonHoursServed !== undefined && !(Number.isInteger(options.horizonHoursServed) && options.horizonHoursServed >= 0)) {
    fail('horizonHoursServed', options.horizonHoursServed, 'a whole number of hours ≥ 0');
  }
  for (const f of options.faults ?? []) {
    if (!(Number.isInteger(f.status) && f.status >= 400 && f.status <= 599)) fail('faults[].status', f.status, 'an HTTP error status (400..599)');
  }
  let truth: RainScenario;
  if (typeof options.scenario === 'string') {
    if (!isScenarioName(options.scenario)) fail('scenario', options.scenario, `one of ${SCENARIO_NAMES.join(', ')}`);
    const startUtcMs = options.scenarioStartUtcMs ?? Number.NaN;
    if (!Number.isFinite(startUtcMs)) fail('scenarioStartUtcMs', options.scenarioStartUtcMs, 'a UTC epoch ms');
    truth = createRainScenario(options.scenario, { startUtcMs, rainOnsetOffsetMin: options.rainOnsetOffsetMin });
  } else {
    truth = options.scenario;
  }
  return {
    port,
    host,
    seed,
    ensembleMembers,
    elevationM,
    archiveDelayMs,
    failFirstRequests,
    responseDelayMs,
    missingDataUtcMs,
    faults: options.faults,
    horizonHoursServed: options.horizonHoursServed,
    truth,
    nowUtcMs: options.nowUtcMs ?? Date.now,
  };
}

// --- Request parsing --------------------------------------------------------------------------

function parseRequest(req: IncomingMessage, nowUtcMs: number): Request {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiError(405, `Method ${req.method ?? ''} not allowed; use GET`);
  const url = new URL(req.url ?? '/', 'http://localhost');
  const endpoint = ({ '/v1/forecast': 'forecast', '/v1/ensemble': 'ensemble', '/v1/archive': 'archive' } as const)[url.pathname];
  if (endpoint === undefined) throw new ApiError(404, `Not Found: ${url.pathname}`);
  const params = url.searchParams;

  const latitudes = parseNumberList(params, 'latitude');
  const longitudes = parseNumberList(params, 'longitude');
  if (latitudes.length !== longitudes.length) {
    throw new ApiError(400, "Parameter 'latitude' and 'longitude' must have the same number of elements");
  }
  if (latitudes.length > MAX_LOCATIONS) throw new ApiError(400, `At most ${MAX_LOCATIONS} locations per request`);
  const points = latitudes.map((latDeg, i) => {
    const lonDeg = longitudes[i] ?? Number.NaN;
    if (latDeg < -90 || latDeg > 90) throw new ApiError(400, `Latitude must be in range of -90 to 90°. Given: ${latDeg}.`);
    if (lonDeg < -180 || lonDeg > 180) throw new ApiError(400, `Longitude must be in range of -180 to 180°. Given: ${lonDeg}.`);
    return { latDeg, lonDeg };
  });

  for (const unsupported of ['daily', 'current', 'minutely_15'] as const) {
    const requested = params.get(unsupported);
    if (requested && (unsupported !== 'minutely_15' || endpoint !== 'forecast')) {
      throw new ApiError(400, `Parameter '${unsupported}' is not supported by the ${endpoint} endpoint of this test server`);
    }
  }
  const variables = {
    hourly: parseVariables(params, 'hourly', VARIABLES[endpoint].hourly),
    minutely_15: parseVariables(params, 'minutely_15', VARIABLES[endpoint].minutely_15),
  };

  const timezoneName = params.get('timezone') ?? 'GMT';
  const timezone = TIMEZONES[timezoneName];
  if (!timezone) throw new ApiError(400, `Invalid timezone '${timezoneName}'; this test server knows ${Object.keys(TIMEZONES).join(', ')}`);
  const unit = params.get('precipitation_unit') ?? 'mm';
  if (unit !== 'mm') throw new ApiError(400, `Parameter 'precipitation_unit' '${unit}' is not supported by this test server; use mm`);

  const format = params.get('format') ?? 'json';
  if (format !== 'json' && format !== 'flatbuffers') throw new ApiError(400, `Parameter 'format' must be json or flatbuffers. Given: ${format}`);
  const timeformat = params.get('timeformat') ?? 'iso8601';
  if (timeformat !== 'iso8601' && timeformat !== 'unixtime') {
    throw new ApiError(400, `Parameter 'timeformat' must be iso8601 or unixtime. Given: ${timeformat}`);
  }

  const modelNames = (params.get('models') ?? DEFAULT_MODEL[endpoint]).split(',').filter((m) => m !== '');
  if (modelNames.length !== 1) throw new ApiError(400, "This test server serves exactly one model per request; set 'models' to one name");
  const modelName = modelNames[0] ?? '';
  const model = (Model as unknown as Record<string, Model | undefined>)[modelName];
  if (model === undefined || typeof model !== 'number' || model === Model.undefined) {
    throw new ApiError(400, `Cannot initialize MultiDomains from invalid String value ${modelName} for key models`);
  }

  const offsetMs = timezone.utcOffsetSeconds * MS_PER_S;
  return {
    endpoint,
    points,
    variables,
    axes: {
      hourly: resolveAxis(params, endpoint, 'hourly', nowUtcMs, offsetMs),
      minutely_15: resolveAxis(params, endpoint, 'minutely_15', nowUtcMs, offsetMs),
    },
    timezone,
    model,
    format,
    unixTime: timeformat === 'unixtime',
  };
}

function parseNumberList(params: URLSearchParams, name: string): number[] {
  const raw = params.get(name);
  if (raw === null || raw.trim() === '') throw new ApiError(400, `Parameter '${name}' is required`);
  return raw.split(',').map((item) => {
    const value = Number(item.trim());
    if (item.trim() === '' || !Number.isFinite(value)) throw new ApiError(400, `Parameter '${name}' must be a number. Given: ${item}`);
    return value;
  });
}

function parseVariables(params: URLSearchParams, block: Block, allowed: readonly VariableName[]): VariableName[] {
  const raw = params.get(block);
  if (raw === null || raw === '') return [];
  return raw.split(',').map((name) => {
    if (!(allowed as readonly string[]).includes(name)) {
      throw new ApiError(400, `Cannot initialize ${block === 'hourly' ? 'Hourly' : 'Minutely15'}Variable from invalid String value ${name} for key ${block}`);
    }
    return name as VariableName;
  });
}

function parseIntParam(params: URLSearchParams, name: string, min: number, max: number): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ApiError(400, `Parameter '${name}' must be an integer between ${min} and ${max}. Given: ${raw}`);
  }
  return value;
}

/** 'YYYY-MM-DD' (or 'YYYY-MM-DDTHH:MM' when withTime) in local time → UTC epoch ms. */
function parseLocalTime(params: URLSearchParams, name: string, offsetMs: number, withTime: boolean): number | undefined {
  const raw = params.get(name);
  if (raw === null) return undefined;
  const match = (withTime ? /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/ : /^(\d{4})-(\d{2})-(\d{2})$/).exec(raw);
  const [year, month, day, hour, minute] = (match?.slice(1) ?? []).map(Number);
  const utcMs = Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0, hour ?? 0, minute ?? 0);
  const date = new Date(utcMs);
  // Date.UTC rolls 2026-02-30 over to March; a real calendar date survives the round trip.
  if (!match || date.getUTCMonth() !== (month ?? 0) - 1 || date.getUTCDate() !== day || (hour ?? 0) > 23 || (minute ?? 0) > 59) {
    throw new ApiError(400, `Parameter '${name}' is invalid. Given: ${raw}. Use ${withTime ? 'YYYY-MM-DDTHH:MM' : 'YYYY-MM-DD'}`);
  }
  return utcMs - offsetMs;
}

function resolveAxis(params: URLSearchParams, endpoint: Endpoint, block: Block, nowUtcMs: number, offsetMs: number): TimeAxis {
  const stepMs = block === 'hourly' ? MS_PER_H : 15 * MS_PER_MIN;
  const rangeAxis = (fromUtcMs: number, toExclusiveUtcMs: number, what: string): TimeAxis => {
    if (toExclusiveUtcMs <= fromUtcMs) throw new ApiError(400, `End of ${what} must not be before its start`);
    if (toExclusiveUtcMs - fromUtcMs > MAX_RANGE_DAYS * MS_PER_DAY) throw new ApiError(400, `The ${what} range may span at most ${MAX_RANGE_DAYS} days`);
    return { firstUtcMs: fromUtcMs, count: Math.ceil((toExclusiveUtcMs - fromUtcMs) / stepMs), stepMs };
  };

  const startDate = parseLocalTime(params, 'start_date', offsetMs, false);
  const endDate = parseLocalTime(params, 'end_date', offsetMs, false);
  if ((startDate === undefined) !== (endDate === undefined)) throw new ApiError(400, "Parameter 'start_date' and 'end_date' must be set together");
  if (endpoint === 'archive' && startDate === undefined) throw new ApiError(400, "Parameter 'start_date' and 'end_date' are required");

  const [startKey, endKey] = block === 'hourly' ? ['start_hour', 'end_hour'] : ['start_minutely_15', 'end_minutely_15'];
  const startTime = parseLocalTime(params, startKey, offsetMs, true);
  const endTime = parseLocalTime(params, endKey, offsetMs, true);
  if ((startTime === undefined) !== (endTime === undefined)) throw new ApiError(400, `Parameter '${startKey}' and '${endKey}' must be set together`);
  if (startTime !== undefined && endTime !== undefined) {
    if (startTime % stepMs !== 0) throw new ApiError(400, `Parameter '${startKey}' must be on a ${stepMs / MS_PER_MIN}-minute boundary`);
    return rangeAxis(startTime, endTime + stepMs, `${startKey}/${endKey}`); // end is inclusive
  }
  if (startDate !== undefined && endDate !== undefined) return rangeAxis(startDate, endDate + MS_PER_DAY, 'start_date/end_date');

  const forecastDays = parseIntParam(params, 'forecast_days', 0, MAX_FORECAST_DAYS[endpoint]) ?? 7;
  const pastDays = parseIntParam(params, 'past_days', 0, 92) ?? 0;
  // As the real API: days run from local midnight of "today" in the requested timezone.
  const todayUtcMs = Math.floor((nowUtcMs + offsetMs) / MS_PER_DAY) * MS_PER_DAY - offsetMs;
  let fromUtcMs = todayUtcMs - pastDays * MS_PER_DAY;
  let toUtcMs = todayUtcMs + forecastDays * MS_PER_DAY;
  // forecast_hours / forecast_minutely_15 count steps from the current step instead.
  const [forecastKey, pastKey] = block === 'hourly' ? ['forecast_hours', 'past_hours'] : ['forecast_minutely_15', 'past_minutely_15'];
  const maxSteps = (MAX_FORECAST_DAYS[endpoint] * MS_PER_DAY) / stepMs;
  const forecastSteps = parseIntParam(params, forecastKey, 0, maxSteps);
  const pastSteps = parseIntParam(params, pastKey, 0, (92 * MS_PER_DAY) / stepMs);
  if (forecastSteps !== undefined || pastSteps !== undefined) {
    const currentStepUtcMs = Math.floor(nowUtcMs / stepMs) * stepMs;
    fromUtcMs = currentStepUtcMs - (pastSteps ?? 0) * stepMs;
    if (forecastSteps !== undefined) toUtcMs = currentStepUtcMs + forecastSteps * stepMs;
  }
  if (toUtcMs <= fromUtcMs) return { firstUtcMs: fromUtcMs, count: 0, stepMs };
  return rangeAxis(fromUtcMs, toUtcMs, block);
}

// --- Encoding ---------------------------------------------------------------------------------

const STATUS_TEXT: Record<number, string> = { 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Timeout' };

function sendFault(res: ServerResponse, fault: ForecastServerFault): void {
  const headers: Record<string, string> = fault.retryAfterS !== undefined ? { 'retry-after': String(fault.retryAfterS) } : {};
  const text = STATUS_TEXT[fault.status] ?? 'Error';
  const reason = fault.reason ?? (fault.status === 429 ? 'Minutely API request limit exceeded. Please try again in one minute.' : `Injected ${fault.status} ${text}`);
  if (fault.body === 'html') {
    res.writeHead(fault.status, { ...headers, 'content-type': 'text/html' });
    res.end(`<html><head><title>${fault.status} ${text}</title></head><body><center><h1>${fault.status} ${text}</h1></center><hr><center>nginx</center></body></html>`);
  } else if (fault.body === 'empty') {
    res.writeHead(fault.status, headers);
    res.end();
  } else {
    res.writeHead(fault.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: true, reason }));
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function toJson(request: Request, location: LocationOut, elevationM: number, generationMs: number): Record<string, unknown> {
  const offsetMs = request.timezone.utcOffsetSeconds * MS_PER_S;
  const body: Record<string, unknown> = {
    latitude: location.latDeg,
    longitude: location.lonDeg,
    generationtime_ms: generationMs,
    utc_offset_seconds: request.timezone.utcOffsetSeconds,
    timezone: request.timezone.name,
    timezone_abbreviation: request.timezone.abbreviation,
    elevation: elevationM,
  };
  if (request.points.length > 1) body.location_id = location.index;
  for (const { block, axis, series } of location.blocks) {
    const times = Array.from({ length: axis.count }, (_, i) => axis.firstUtcMs + i * axis.stepMs);
    const units: Record<string, string> = { time: request.unixTime ? 'unixtime' : 'iso8601' };
    // The real API writes local wall-clock time without an offset; unixtime stays UTC.
    const values: Record<string, unknown[]> = {
      time: times.map((t) => (request.unixTime ? t / MS_PER_S : new Date(t + offsetMs).toISOString().slice(0, 16))),
    };
    for (const s of series) {
      const key = s.member === 0 ? s.name : `${s.name}_member${String(s.member).padStart(2, '0')}`;
      units[key] = s.wire.unitLabel;
      values[key] = s.values.map((v) => (Number.isNaN(v) ? null : Math.round(v * 100) / 100));
    }
    body[`${block}_units`] = units;
    body[block] = values;
  }
  return body;
}

/**
 * The installed @openmeteo/sdk ships readers only, so tables are written with the flatbuffers
 * Builder directly; field slots follow the readers' vtable offsets ((offset − 4) / 2).
 */
const SLOT = {
  response: { latitude: 0, longitude: 1, elevation: 2, generationTimeMilliseconds: 3, locationId: 4, model: 5, utcOffsetSeconds: 6, timezone: 7, timezoneAbbreviation: 8, hourly: 11, minutely15: 12, count: 15 },
  variablesWithTime: { time: 0, timeEnd: 1, interval: 2, variables: 3, count: 4 },
  variableWithValues: { variable: 0, unit: 1, values: 3, ensembleMember: 10, count: 13 },
} as const;

function encodeFlatBuffers(request: Request, locations: LocationOut[], elevationM: number, generationMs: number): Buffer {
  return Buffer.concat(
    locations.map((location) => {
      const builder = new Builder(1024);
      const blockOffsets = new Map<Block, number>();
      for (const { block, axis, series } of location.blocks) blockOffsets.set(block, writeVariablesWithTime(builder, axis, series));
      const timezone = builder.createString(request.timezone.name);
      const abbreviation = builder.createString(request.timezone.abbreviation);
      const s = SLOT.response;
      builder.startObject(s.count);
      builder.addFieldFloat32(s.latitude, location.latDeg, 0);
      builder.addFieldFloat32(s.longitude, location.lonDeg, 0);
      builder.addFieldFloat32(s.elevation, elevationM, 0);
      builder.addFieldFloat32(s.generationTimeMilliseconds, generationMs, 0);
      builder.addFieldInt64(s.locationId, BigInt(location.index), 0n);
      builder.addFieldInt8(s.model, request.model, 0);
      builder.addFieldInt32(s.utcOffsetSeconds, request.timezone.utcOffsetSeconds, 0);
      builder.addFieldOffset(s.timezone, timezone, 0);
      builder.addFieldOffset(s.timezoneAbbreviation, abbreviation, 0);
      const hourly = blockOffsets.get('hourly');
      const minutely15 = blockOffsets.get('minutely_15');
      if (hourly !== undefined) builder.addFieldOffset(s.hourly, hourly, 0);
      if (minutely15 !== undefined) builder.addFieldOffset(s.minutely15, minutely15, 0);
      builder.finishSizePrefixed(builder.endObject());
      return builder.asUint8Array();
    }),
  );
}

function writeVariablesWithTime(builder: Builder, axis: TimeAxis, series: SeriesOut[]): number {
  const v = SLOT.variableWithValues;
  const variableOffsets = series.map((s) => {
    builder.startVector(4, s.values.length, 4);
    for (let i = s.values.length - 1; i >= 0; i--) builder.addFloat32(s.values[i] ?? Number.NaN);
    const values = builder.endVector();
    builder.startObject(v.count);
    builder.addFieldInt8(v.variable, s.wire.variable, 0);
    builder.addFieldInt8(v.unit, s.wire.unit, 0);
    builder.addFieldOffset(v.values, values, 0);
    builder.addFieldInt16(v.ensembleMember, s.member, 0);
    return builder.endObject();
  });
  builder.startVector(4, variableOffsets.length, 4);
  for (let i = variableOffsets.length - 1; i >= 0; i--) builder.addOffset(variableOffsets[i] ?? 0);
  const variables = builder.endVector();
  const t = SLOT.variablesWithTime;
  const timeUnixS = axis.firstUtcMs / MS_PER_S;
  builder.startObject(t.count);
  builder.addFieldInt64(t.time, BigInt(timeUnixS), 0n);
  builder.addFieldInt64(t.timeEnd, BigInt(timeUnixS + (axis.count * axis.stepMs) / MS_PER_S), 0n);
  builder.addFieldInt32(t.interval, axis.stepMs / MS_PER_S, 0);
  builder.addFieldOffset(t.variables, variables, 0);
  return builder.endObject();
}
