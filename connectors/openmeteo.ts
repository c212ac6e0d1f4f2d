// Rainfall forecasts, ensembles and observed rain from Open-Meteo (or the local forecast server)
// through the official SDK, as plain JSON-able series keyed by location id.
//
// Time convention (Open-Meteo's): precipitation at timeUtcMs[i] is the sum over the PRECEDING
// step, i.e. over [timeUtcMs[i] − stepMin, timeUtcMs[i]). Missing values are null and counted in
// `gaps`; they are never turned into zeros, because "no rain" and "no data" plan very differently.
//
// HTTP: the connector sends the request itself (the SDK's fetchWeatherApi hides the status and reads any
// non-JSON answer as FlatBuffers) and parses the body with the SDK's readers. 500/502/503/504, 429,
// timeouts and network errors are transient: retried with backoff while attempts, `retryWaitMaxMs` and
// `callBudgetMs` allow; a Retry-After (429, or 503) blocks the provider's host until then, so no call is
// sent into an exhausted quota. Every error names the HTTP status and what the service said.
import { ByteBuffer } from 'flatbuffers';
import { Model, Variable, WeatherApiResponse } from '@openmeteo/sdk/weather_api.js';
import type { VariablesWithTime } from '@openmeteo/sdk/weather_api.js';

export const OPEN_METEO_URLS = {
  forecast: 'https://api.open-meteo.com/v1/forecast',
  ensemble: 'https://ensemble-api.open-meteo.com/v1/ensemble',
  archive: 'https://archive-api.open-meteo.com/v1/archive',
} as const;

export interface OpenMeteoConnectorOptions {
  forecastUrl?: string;
  ensembleUrl?: string;
  archiveUrl?: string;
  /** Per attempt. */
  timeoutMs?: number;
  /** Extra attempts after the first, for network errors, timeouts and HTTP 429/500/502/503/504. */
  retries?: number;
  /**
   * The longest wait before a retry (backoff, or the service's Retry-After); a longer Retry-After fails the
   * call at once, the host blocked until then (default: rateLimitMaxWaitMs).
   */
  retryWaitMaxMs?: number;
  /** A retry is made only if it can finish (wait + timeoutMs) within this long from the call's start (default: no limit). */
  callBudgetMs?: number;
  /** First backoff wait; doubles per retry up to backoffMaxMs. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Open-Meteo model names; undefined lets the API choose (ensemble default: ecmwf_ifs025). */
  forecastModel?: string;
  ensembleModel?: string;
  archiveModel?: string;
  /** Stamps issuedAtUtcMs: Open-Meteo does not say which model run it served. */
  nowUtcMs?: () => number;
  /**
   * Client-side rate limits (sliding windows over weighted calls, see `callWeight`). Default: the free
   * tier's (600/min, 5,000/h, 10,000/day) for the public *.open-meteo.com hosts, none for other hosts
   * (a local or self-hosted server, the customer API); `false` turns limiting off.
   */
  rateLimits?: readonly RateLimitWindow[] | false;
  /** A call that would have to wait longer than this for its budget fails at once instead (default 5 s). */
  rateLimitMaxWaitMs?: number;
  /** Ensemble members assumed for the weight of the first ensemble call (later: the last answer's count). */
  ensembleMembersEstimate?: number;
  /** How the rate limiter waits (tests); default a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** At most `limit` weighted calls within any `windowMs`. */
export interface RateLimitWindow {
  name: string;
  windowMs: number;
  limit: number;
}

/** Open-Meteo's free, non-commercial tier. */
export const OPEN_METEO_FREE_TIER_LIMITS: readonly RateLimitWindow[] = [
  { name: 'minute', windowMs: 60_000, limit: 600 },
  { name: 'hour', windowMs: 3_600_000, limit: 5_000 },
  { name: 'day', windowMs: 86_400_000, limit: 10_000 },
];

/**
 * Open-Meteo's weighting of one request, as its pricing page describes it (an estimate: the service
 * decides): each location counts; more than 10 variables (ensemble: variables × members) or more than
 * 14 days of data count as multiples.
 */
export function callWeight(request: { locations: number; variables: number; members?: number; days: number }): number {
  const variables = request.variables * (request.members ?? 1);
  return request.locations * Math.max(1, variables / 10) * Math.max(1, request.days / 14);
}

/** An HTTP answer other than 200: its status, what the service said, and when to try again. */
export class OpenMeteoHttpError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** From Retry-After (or, for a 429 without it, the limit its reason names); null: not said. */
    readonly retryAfterMs: number | null,
  ) {
    super(message);
    this.name = 'OpenMeteoHttpError';
  }

  /** Worth another attempt: overload, maintenance, a gateway, or a rate limit that resets. */
  get transient(): boolean {
    return TRANSIENT_STATUS.has(this.status);
  }
}

const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

/** The call would exceed a rate limit (raised before anything is sent). */
export class OpenMeteoRateLimitError extends Error {
  constructor(
    message: string,
    readonly window: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'OpenMeteoRateLimitError';
  }
}

/**
 * Sliding-window limiter over weighted calls. A call waits (up to maxWaitMs) until every window has
 * room for its weight; the room is reserved before waiting, so concurrent calls cannot overbook.
 */
export function createRateLimiter(windows: readonly RateLimitWindow[], options: { now: () => number; sleep: (ms: number) => Promise<void>; maxWaitMs: number }) {
  for (const w of windows) {
    if (!(w.windowMs > 0) || !(w.limit > 0)) throw new RangeError(`rate limit ${w.name}: windowMs and limit must be > 0, got ${w.windowMs} ms, ${w.limit}`);
  }
  const longestMs = Math.max(0, ...windows.map((w) => w.windowMs));
  /** Reserved calls: start time (may lie in the future while a caller waits) and weight. */
  const calls: { atMs: number; weight: number }[] = [];
  /** When `weight` more fits into window w, at or after `fromMs`. */
  const availableAt = (w: RateLimitWindow, weight: number, fromMs: number): number => {
    if (weight > w.limit) return Number.POSITIVE_INFINITY;
    let at = fromMs;
    for (;;) {
      const inWindow = calls.filter((c) => c.atMs > at - w.windowMs && c.atMs <= at);
      const later = calls.filter((c) => c.atMs > at);
      const used = inWindow.reduce((a, c) => a + c.weight, 0) + later.reduce((a, c) => a + c.weight, 0);
      if (used + weight <= w.limit + 1e-9) return at;
      // Wait until the oldest call counted leaves the window.
      const oldest = inWindow[0] ?? later[0]!;
      at = oldest.atMs + w.windowMs;
    }
  };
  return {
    /** Wait for room and take it; throws OpenMeteoRateLimitError when the wait would exceed maxWaitMs. */
    async acquire(weight: number, what: string): Promise<void> {
      const nowMs = options.now();
      while (calls.length > 0 && calls[0]!.atMs <= nowMs - longestMs) calls.shift();
      let startMs = nowMs;
      // Settle: a later start for one window can need a later start for another.
      for (let round = 0; round < 10; round++) {
        const next = Math.max(...windows.map((w) => availableAt(w, weight, startMs)));
        if (next === startMs) break;
        startMs = next;
        if (!Number.isFinite(startMs)) break;
      }
      const waitMs = startMs - nowMs;
      if (waitMs > options.maxWaitMs) {
        const blocking = windows.reduce((a, w) => (availableAt(w, weight, nowMs) > availableAt(a, weight, nowMs) ? w : a));
        const used = calls.filter((c) => c.atMs > nowMs - blocking.windowMs).reduce((a, c) => a + c.weight, 0);
        const when = Number.isFinite(startMs) ? `room again in ${Math.ceil(waitMs / 1000)} s` : `a call of weight ${weight.toFixed(1)} exceeds the limit itself`;
        throw new OpenMeteoRateLimitError(
          `${what}: client-side rate limit per ${blocking.name} reached (${used.toFixed(1)} of ${blocking.limit} weighted calls used, this call weighs ${weight.toFixed(1)}); ${when}`,
          blocking.name,
          waitMs,
        );
      }
      calls.push({ atMs: startMs, weight });
      calls.sort((a, b) => a.atMs - b.atMs);
      if (waitMs > 0) await options.sleep(waitMs);
    },
    /** Weighted calls within each window now (for health and tests). */
    usage(): Record<string, number> {
      const nowMs = options.now();
      return Object.fromEntries(windows.map((w) => [w.name, calls.filter((c) => c.atMs > nowMs - w.windowMs).reduce((a, c) => a + c.weight, 0)]));
    },
  };
}

const UNIT_MS: Record<string, number> = { s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const UNIT_NAME: Record<string, string> = { s: 'second', min: 'minute', h: 'hour', d: 'day' };

/**
 * A rate-limit setting: "auto" (undefined: the free tier on the public hosts), "off" (false), or
 * windows such as "600/min,5000/h,10000/d".
 */
export function parseRateLimits(text: string): readonly RateLimitWindow[] | false | undefined {
  const value = text.trim();
  if (value === 'auto') return undefined;
  if (value === 'off') return false;
  return value.split(',').map((part) => {
    const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*\/\s*(s|min|h|d)\s*$/.exec(part);
    if (!m || !(Number(m[1]) > 0)) throw new RangeError(`rate limit "${part.trim()}": expected <calls>/<s|min|h|d>, e.g. 600/min`);
    return { name: UNIT_NAME[m[2]!]!, windowMs: UNIT_MS[m[2]!]!, limit: Number(m[1]) };
  });
}

function isPublicOpenMeteoHost(url: string): boolean {
  const host = new URL(url).hostname;
  return (host === 'open-meteo.com' || host.endsWith('.open-meteo.com')) && !host.startsWith('customer-');
}

export interface ForecastLocation {
  id: string;
  latDeg: number;
  lonDeg: number;
}

export interface PrecipitationSeries {
  /** End of each accumulation interval, UTC epoch ms. */
  timeUtcMs: number[];
  stepMin: number;
  /** null where the API had no value. */
  precipitationMm: (number | null)[];
  /** Number of null entries over all this series' value arrays. */
  gaps: number;
}

export interface HourlyForecast extends PrecipitationSeries {
  /** Share of the provider's ensemble members with > 0.1 mm in the hour, %. */
  precipitationProbabilityPct: (number | null)[];
}

export interface LocationMeta {
  locationId: string;
  /** The grid cell the API answered for (can differ slightly from the request). */
  latDeg: number;
  lonDeg: number;
  elevationM: number;
  model: string;
  /** When this connector received the data (see nowUtcMs). */
  issuedAtUtcMs: number;
}

export interface LocationForecast extends LocationMeta {
  hourly: HourlyForecast;
  minutely15?: PrecipitationSeries;
}

export interface EnsembleMemberSeries {
  member: number;
  precipitationMm: (number | null)[];
  gaps: number;
}

export interface LocationEnsemble extends LocationMeta {
  hourly: { timeUtcMs: number[]; stepMin: number; members: EnsembleMemberSeries[]; gaps: number };
}

export interface LocationArchive extends LocationMeta {
  hourly: PrecipitationSeries;
}

export interface OpenMeteoConnector {
  fetchPrecipitationForecast(
    locations: readonly ForecastLocation[],
    options: { hours: number; pastHours?: number; includeMinutely15?: boolean },
  ): Promise<Record<string, LocationForecast>>;
  fetchEnsemble(locations: readonly ForecastLocation[], options: { hours: number }): Promise<Record<string, LocationEnsemble>>;
  /** Observed (reanalysis) hourly rain for whole UTC days startDate..endDate (YYYY-MM-DD, inclusive). */
  fetchArchive(
    locations: readonly ForecastLocation[],
    options: { startDate: string; endDate: string },
  ): Promise<Record<string, LocationArchive>>;
  /** Round trip of a minimal forecast request, ms; throws when the API is unusable. */
  ping(): Promise<number>;
  /** Weighted calls within each rate-limit window, per provider host (empty when not limited). */
  rateLimitUsage?(): Record<string, Record<string, number>>;
}

/** Failure of one Open-Meteo call, naming the endpoint and the locations it was for. */
export class OpenMeteoError extends Error {
  constructor(
    message: string,
    readonly endpointUrl: string,
    readonly locationIds: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OpenMeteoError';
  }
}

const MAX_FORECAST_HOURS = 16 * 24;
const MAX_ENSEMBLE_HOURS = 35 * 24;
/** The ensemble API serves per-model members; ECMWF IFS 0.25° is a common global choice. */
const DEFAULT_ENSEMBLE_MODEL = 'ecmwf_ifs025';
const PING_LOCATION: ForecastLocation = { id: 'ping', latDeg: 30.7, lonDeg: 121.0 };

export function createOpenMeteoConnector(options: OpenMeteoConnectorOptions = {}): OpenMeteoConnector {
  const forecastUrl = options.forecastUrl ?? OPEN_METEO_URLS.forecast;
  const ensembleUrl = options.ensembleUrl ?? OPEN_METEO_URLS.ensemble;
  const archiveUrl = options.archiveUrl ?? OPEN_METEO_URLS.archive;
  const { timeoutMs = 10_000, retries = 2, backoffBaseMs = 500, backoffMaxMs = 4_000 } = options;
  const nowUtcMs = options.nowUtcMs ?? Date.now;
  for (const [name, url] of Object.entries({ forecastUrl, ensembleUrl, archiveUrl })) {
    if (!URL.canParse(url)) throw new RangeError(`createOpenMeteoConnector: ${name} is not a URL: ${url}`);
  }
  for (const [name, value] of Object.entries({ timeoutMs, backoffBaseMs, backoffMaxMs })) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`createOpenMeteoConnector: ${name} must be > 0, got ${value}`);
  }
  if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`createOpenMeteoConnector: retries must be a whole number ≥ 0, got ${retries}`);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const maxWaitMs = options.rateLimitMaxWaitMs ?? 5_000;
  const retryWaitMaxMs = options.retryWaitMaxMs ?? maxWaitMs;
  const callBudgetMs = options.callBudgetMs ?? Number.POSITIVE_INFINITY;
  for (const [name, value] of Object.entries({ retryWaitMaxMs, callBudgetMs })) {
    if (!(value >= 0)) throw new RangeError(`createOpenMeteoConnector: ${name} must be ≥ 0, got ${value}`);
  }
  /** Hosts that asked to wait (Retry-After): no call is sent before `untilMs`. */
  const blocked = new Map<string, { untilMs: number; why: string }>();
  // A 429 is about the client's quota, shared by the provider's endpoints (as the limiter's windows).
  const quotaKey = (url: string) => new URL(url).host.replace(/^([a-z-]+-)?api\./, '');
  // The limits are per client IP across all endpoints of a provider: one limiter per host.
  const limiters = new Map<string, ReturnType<typeof createRateLimiter>>();
  const limiterFor = (url: string) => {
    const windows = options.rateLimits === false ? [] : (options.rateLimits ?? (isPublicOpenMeteoHost(url) ? OPEN_METEO_FREE_TIER_LIMITS : []));
    if (windows.length === 0) return undefined;
    const host = new URL(url).hostname.replace(/^([a-z-]+-)?api\./, '');
    let limiter = limiters.get(host);
    if (!limiter) limiters.set(host, (limiter = createRateLimiter(windows, { now: nowUtcMs, sleep, maxWaitMs })));
    return limiter;
  };
  for (const url of [forecastUrl, ensembleUrl, archiveUrl]) limiterFor(url);
  let ensembleMembers = options.ensembleMembersEstimate ?? 51;

  async function call(url: string, locations: readonly ForecastLocation[], params: Record<string, string | number>, weight: number) {
    const ids = locations.map((l) => l.id);
    const fail = (reason: string, cause?: unknown): OpenMeteoError =>
      new OpenMeteoError(`Open-Meteo request to ${url} for ${ids.join(', ')} failed: ${reason}`, url, ids, { cause });
    const limiter = limiterFor(url);
    const query = {
      ...params,
      latitude: locations.map((l) => l.latDeg).join(','),
      longitude: locations.map((l) => l.lonDeg).join(','),
      timezone: 'GMT',
    };
    const requestUrl = `${url}?${new URLSearchParams({ ...Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)])), format: 'flatbuffers' }).toString()}`;
    const keys = [quotaKey(url), new URL(url).host];
    const startedMs = performance.now();
    let responses: WeatherApiResponse[] | undefined;
    /** A Retry-After this call has waited out itself (on the timer; the clock may be another). */
    let waitedOutUntilMs = Number.NEGATIVE_INFINITY;
    for (let attempt = 0; responses === undefined; attempt++) {
      try {
        const block = keys.map((k) => blocked.get(k)).find((b) => b !== undefined && b.untilMs > nowUtcMs() && b.untilMs > waitedOutUntilMs);
        if (block) {
          const leftMs = block.untilMs - nowUtcMs();
          throw fail(
            `not sent: the service asked to wait until ${new Date(block.untilMs).toISOString()} (${block.why}); ${Math.ceil(leftMs / 1000)} s left`,
            new OpenMeteoRateLimitError(`blocked by the service's Retry-After (${block.why})`, 'retry-after', leftMs),
          );
        }
        // Every attempt is a call the service counts.
        if (limiter) await limiter.acquire(weight, 'not sent').catch((error: unknown) => Promise.reject(fail((error as Error).message, error)));
        responses = await fetchOnce(requestUrl, timeoutMs, nowUtcMs);
      } catch (error) {
        if (error instanceof OpenMeteoError) throw error;
        const http = error instanceof OpenMeteoHttpError ? error : null;
        let blockedUntilMs = Number.NEGATIVE_INFINITY;
        if (http?.retryAfterMs) {
          blockedUntilMs = nowUtcMs() + http.retryAfterMs;
          const key = http.status === 429 ? keys[0]! : keys[1]!;
          if ((blocked.get(key)?.untilMs ?? 0) < blockedUntilMs) blocked.set(key, { untilMs: blockedUntilMs, why: `HTTP ${http.status} from ${new URL(url).host}` });
        }
        const transient = http ? http.transient : isTransient(error);
        const waitMs = Math.max(Math.min(backoffBaseMs * 2 ** attempt, backoffMaxMs), http?.retryAfterMs ?? 0);
        const withinBudget = waitMs <= retryWaitMaxMs && performance.now() - startedMs + waitMs + timeoutMs <= callBudgetMs;
        if (!transient || attempt >= retries || !withinBudget) {
          const tried = `${attempt + 1} attempt${attempt === 0 ? '' : 's'}`;
          const gaveUp = !transient ? '' : attempt >= retries ? ` (gave up after ${tried})` : ` (gave up after ${tried}: the next would wait ${Math.ceil(waitMs / 1000)} s, beyond this call's time)`;
          throw fail(`${describeError(error, timeoutMs)}${gaveUp}`, error);
        }
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        waitedOutUntilMs = Math.max(waitedOutUntilMs, blockedUntilMs);
      }
    }
    if (responses.length !== locations.length) {
      throw fail(`expected ${locations.length} location(s) in the answer, got ${responses.length}`);
    }
    return { responses, fail, receivedAtUtcMs: nowUtcMs() };
  }

  function meta(location: ForecastLocation, response: WeatherApiResponse, receivedAtUtcMs: number): LocationMeta {
    return {
      locationId: location.id,
      latDeg: response.latitude(),
      lonDeg: response.longitude(),
      elevationM: response.elevation(),
      model: Model[response.model()] ?? `model#${response.model()}`,
      issuedAtUtcMs: receivedAtUtcMs,
    };
  }

  return {
    async fetchPrecipitationForecast(locations, { hours, pastHours = 0, includeMinutely15 = false }) {
      validateLocations(locations, forecastUrl);
      validateCount('hours', hours, 1, MAX_FORECAST_HOURS, forecastUrl, locations);
      validateCount('pastHours', pastHours, 0, 92 * 24, forecastUrl, locations);
      const params: Record<string, string | number> = {
        hourly: 'precipitation,precipitation_probability',
        forecast_hours: hours,
        past_hours: pastHours,
      };
      if (includeMinutely15) {
        params.minutely_15 = 'precipitation';
        params.forecast_minutely_15 = hours * 4;
        params.past_minutely_15 = pastHours * 4;
      }
      if (options.forecastModel) params.models = options.forecastModel;
      const variables = 2 + (includeMinutely15 ? 1 : 0);
      const weight = callWeight({ locations: locations.length, variables, days: (hours + pastHours) / 24 });
      const { responses, fail, receivedAtUtcMs } = await call(forecastUrl, locations, params, weight);
      const result: Record<string, LocationForecast> = {};
      locations.forEach((location, i) => {
        const response = responses[i] as WeatherApiResponse;
        const where = `location ${location.id}`;
        const hourlyBlock = readBlock(response.hourly(), 'hourly', where, fail);
        const precipitation = hourlyBlock.values(Variable.precipitation, 0, 'precipitation');
        const probability = hourlyBlock.values(Variable.precipitation_probability, 0, 'precipitation_probability');
        const forecast: LocationForecast = {
          ...meta(location, response, receivedAtUtcMs),
          hourly: {
            timeUtcMs: hourlyBlock.timeUtcMs,
            stepMin: hourlyBlock.stepMin,
            precipitationMm: precipitation.values,
            precipitationProbabilityPct: probability.values,
            gaps: precipitation.gaps + probability.gaps,
          },
        };
        if (includeMinutely15) {
          const block = readBlock(response.minutely15(), 'minutely_15', where, fail);
          const values = block.values(Variable.precipitation, 0, 'precipitation');
          forecast.minutely15 = { timeUtcMs: block.timeUtcMs, stepMin: block.stepMin, precipitationMm: values.values, gaps: values.gaps };
        }
        result[location.id] = forecast;
      });
      return result;
    },

    async fetchEnsemble(locations, { hours }) {
      validateLocations(locations, ensembleUrl);
      validateCount('hours', hours, 1, MAX_ENSEMBLE_HOURS, ensembleUrl, locations);
      const params: Record<string, string | number> = { hourly: 'precipitation', forecast_hours: hours };
      params.models = options.ensembleModel ?? DEFAULT_ENSEMBLE_MODEL;
      const weight = callWeight({ locations: locations.length, variables: 1, members: ensembleMembers, days: hours / 24 });
      const { responses, fail, receivedAtUtcMs } = await call(ensembleUrl, locations, params, weight);
      const result: Record<string, LocationEnsemble> = {};
      locations.forEach((location, i) => {
        const response = responses[i] as WeatherApiResponse;
        const block = readBlock(response.hourly(), 'hourly', `location ${location.id}`, fail);
        const members = block.members(Variable.precipitation).map((member) => {
          const { values, gaps } = block.values(Variable.precipitation, member, `precipitation member ${member}`);
          return { member, precipitationMm: values, gaps };
        });
        if (members.length === 0) throw fail(`location ${location.id}: the answer has no precipitation members`);
        ensembleMembers = members.length;
        result[location.id] = {
          ...meta(location, response, receivedAtUtcMs),
          hourly: {
            timeUtcMs: block.timeUtcMs,
            stepMin: block.stepMin,
            members,
            gaps: members.reduce((sum, m) => sum + m.gaps, 0),
          },
        };
      });
      return result;
    },

    async fetchArchive(locations, { startDate, endDate }) {
      validateLocations(locations, archiveUrl);
      for (const [name, value] of Object.entries({ startDate, endDate })) {
        if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) {
          throw new OpenMeteoError(`Open-Meteo archive request to ${archiveUrl}: ${name} must be YYYY-MM-DD, got "${value}"`, archiveUrl, locations.map((l) => l.id));
        }
      }
      if (endDate < startDate) {
        throw new OpenMeteoError(`Open-Meteo archive request to ${archiveUrl}: endDate ${endDate} is before startDate ${startDate}`, archiveUrl, locations.map((l) => l.id));
      }
      const params: Record<string, string | number> = { hourly: 'precipitation', start_date: startDate, end_date: endDate };
      if (options.archiveModel) params.models = options.archiveModel;
      const days = (Date.parse(`${endDate}T00:00:00Z`) - Date.parse(`${startDate}T00:00:00Z`)) / 86_400_000 + 1;
      const { responses, fail, receivedAtUtcMs } = await call(archiveUrl, locations, params, callWeight({ locations: locations.length, variables: 1, days }));
      const result: Record<string, LocationArchive> = {};
      locations.forEach((location, i) => {
        const response = responses[i] as WeatherApiResponse;
        const block = readBlock(response.hourly(), 'hourly', `location ${location.id}`, fail);
        const values = block.values(Variable.precipitation, 0, 'precipitation');
        result[location.id] = {
          ...meta(location, response, receivedAtUtcMs),
          hourly: { timeUtcMs: block.timeUtcMs, stepMin: block.stepMin, precipitationMm: values.values, gaps: values.gaps },
        };
      });
      return result;
    },

    async ping() {
      const started = performance.now();
      const { responses, fail } = await call(forecastUrl, [PING_LOCATION], { hourly: 'precipitation', forecast_hours: 1 }, 1);
      readBlock(responses[0]?.hourly() ?? null, 'hourly', 'ping', fail);
      return performance.now() - started;
    },

    rateLimitUsage() {
      const out: Record<string, Record<string, number>> = {};
      for (const [host, limiter] of limiters) out[host] = limiter.usage();
      return out;
    },
  };
}

function validateLocations(locations: readonly ForecastLocation[], url: string): void {
  const ids = locations.map((l) => l.id);
  const bad = (message: string): OpenMeteoError => new OpenMeteoError(`Open-Meteo request to ${url}: ${message}`, url, ids);
  if (locations.length === 0) throw bad('no locations given');
  const seen = new Set<string>();
  for (const { id, latDeg, lonDeg } of locations) {
    if (typeof id !== 'string' || id === '') throw bad(`a location has no id (latDeg ${latDeg}, lonDeg ${lonDeg})`);
    if (seen.has(id)) throw bad(`location id ${id} appears twice`);
    seen.add(id);
    if (!Number.isFinite(latDeg) || latDeg < -90 || latDeg > 90) throw bad(`location ${id}: latDeg ${latDeg} is outside [-90, 90]`);
    if (!Number.isFinite(lonDeg) || lonDeg < -180 || lonDeg > 180) throw bad(`location ${id}: lonDeg ${lonDeg} is outside [-180, 180]`);
  }
}

function validateCount(name: string, value: number, min: number, max: number, url: string, locations: readonly ForecastLocation[]): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new OpenMeteoError(`Open-Meteo request to ${url}: ${name} must be a whole number in [${min}, ${max}], got ${value}`, url, locations.map((l) => l.id));
  }
}

/** What an error answer says: Open-Meteo's JSON `reason`, or the text of an HTML page, shortened. */
function reasonOf(body: string): string {
  try {
    const json = JSON.parse(body) as { reason?: unknown };
    if (typeof json.reason === 'string') return json.reason;
  } catch {
    // not JSON
  }
  const text = body
    .replace(/<(script|style)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Retry-After as seconds or an HTTP date; a 429 without it: the window its reason names (else a minute). */
function retryAfterOf(header: string | null, status: number, reason: string, nowUtcMs: number): number | null {
  if (header !== null && header.trim() !== '') {
    const value = header.trim();
    if (/^\d+$/.test(value)) return Number(value) * 1000;
    const at = Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, at - nowUtcMs);
  }
  if (status !== 429) return null;
  return /hour|daily|day/i.test(reason) ? 3_600_000 : 60_000;
}

/** One request: the FlatBuffers answer, or an OpenMeteoHttpError / a broken-answer error. */
async function fetchOnce(url: string, timeoutMs: number, nowUtcMs: () => number): Promise<WeatherApiResponse[]> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (response.status !== 200) {
    const reason = reasonOf(await response.text().catch(() => ''));
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'), response.status, reason, nowUtcMs());
    const wait = retryAfterMs !== null ? `; retry after ${Math.ceil(retryAfterMs / 1000)} s` : '';
    const hint = response.status === 404 ? ' (wrong URL?)' : '';
    throw new OpenMeteoHttpError(`HTTP ${response.status} ${response.statusText}${reason ? `: ${reason}` : ''}${wait}${hint}`, response.status, retryAfterMs);
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  const framingProblem = checkFraming(bytes);
  if (framingProblem) throw new OpenMeteoAnswerError(framingProblem);
  const bb = new ByteBuffer(bytes);
  const results: WeatherApiResponse[] = [];
  for (let pos = 0; pos < bb.capacity(); ) {
    bb.setPosition(pos);
    const length = bb.readInt32(pos);
    results.push(WeatherApiResponse.getSizePrefixedRootAsWeatherApiResponse(bb));
    pos += length + 4;
  }
  return results;
}

/** An HTTP 200 whose body is not an Open-Meteo answer (not retried). */
class OpenMeteoAnswerError extends Error {
  override readonly name = 'OpenMeteoAnswerError';
}

/**
 * A 200 whose size prefixes do not tile the body exactly is not Open-Meteo FlatBuffers: a proxy's page, a
 * server that is not Open-Meteo. (Error statuses never get here.)
 */
function checkFraming(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0; pos < bytes.length; ) {
    const length = pos + 4 <= bytes.length ? view.getInt32(pos, true) : -1;
    if (length <= 0 || pos + 4 + length > bytes.length) {
      const text = new TextDecoder().decode(bytes.subarray(0, 200)).replace(/[^\x20-\x7e]/g, '?');
      return `HTTP 200, but the answer is not Open-Meteo FlatBuffers (not an Open-Meteo server at this URL, or a proxy's page?): ${text}`;
    }
    pos += 4 + length;
  }
  return undefined;
}

/** Network failures and timeouts are worth retrying; HTTP 400 answers and broken payloads are not. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return true;
  return error instanceof TypeError && error.message === 'fetch failed';
}

function describeError(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${error.message} (${detail})` : error.message;
}

interface Block {
  timeUtcMs: number[];
  stepMin: number;
  values(variable: Variable, member: number, label: string): { values: (number | null)[]; gaps: number };
  members(variable: Variable): number[];
}

function readBlock(
  block: VariablesWithTime | null,
  name: string,
  where: string,
  fail: (reason: string) => OpenMeteoError,
): Block {
  if (!block) throw fail(`${where}: the answer has no ${name} block`);
  // Wire times are unix seconds UTC whatever the timezone; utc_offset_seconds is display only.
  const startS = Number(block.time());
  const endS = Number(block.timeEnd());
  const intervalS = block.interval();
  const count = (endS - startS) / intervalS;
  if (!(intervalS > 0) || !Number.isInteger(count) || count < 0) {
    throw fail(`${where}: ${name} time axis is inconsistent (time ${startS}, timeEnd ${endS}, interval ${intervalS})`);
  }
  const timeUtcMs = Array.from({ length: count }, (_, i) => (startS + i * intervalS) * 1000);
  const variables = Array.from({ length: block.variablesLength() }, (_, i) => block.variables(i)).filter((v) => v !== null);
  return {
    timeUtcMs,
    stepMin: intervalS / 60,
    members: (variable) =>
      [...new Set(variables.filter((v) => v.variable() === variable).map((v) => v.ensembleMember()))].sort((a, b) => a - b),
    values(variable, member, label) {
      const found = variables.find((v) => v.variable() === variable && v.ensembleMember() === member);
      const raw = found?.valuesArray();
      if (!raw) throw fail(`${where}: ${name} ${label} is missing from the answer`);
      if (raw.length !== count) throw fail(`${where}: ${name} ${label} has ${raw.length} values for ${count} times`);
      let gaps = 0;
      const values = Array.from(raw, (v) => {
        // NaN is the wire's "no data"; a negative amount is not a measurement either.
        if (!Number.isFinite(v) || v < 0) {
          gaps += 1;
          return null;
        }
        return Number(v.toPrecision(7)); // float32 carries ~7 digits; drop binary noise
      });
      return { values, gaps };
    },
  };
}
