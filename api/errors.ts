// How the API checks input and answers errors, in one place: the app (app.ts) and the auth tests build
// their Fastify instance with these, so both behave the same.
//
// Every error body is { statusCode, error: the HTTP reason phrase, message, code? } — whether it comes from
// a route, schema validation, the JSON parser, the rate limiter or the router itself. A validation message
// names the part and field and the value sent: `querystring/limit: must be <= 1000 (value: 5000)`.
// Every text field of every route refuses U+0000 (PostgreSQL cannot store it; SQLite could: one answer, 400).
// A Temporal client error (the workflow engine down or not answering) is a 503 that says so in both languages.
import { STATUS_CODES } from 'node:http';
import AjvCompiler from '@fastify/ajv-compiler';
import { ServiceError } from '@temporalio/client';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';

/** The standard error body. `code` is a machine-readable code (e.g. FST_ERR_VALIDATION), never on a 5xx. */
export function errorBody(statusCode: number, message: string, code?: string) {
  return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message, ...(code ? { code } : {}) };
}

/** At most `max` characters of a text, with … when cut. */
export function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as a message shows it: JSON, at most 80 characters. */
export function shownValue(value: unknown): string {
  return truncate(JSON.stringify(value) ?? String(value), 80);
}

// ---------------------------------------------------------------------------------------------------
// Validation

const ajvOptions = { removeAdditional: false, useDefaults: true, verbose: true } as const;

interface AjvError {
  keyword: string;
  instancePath: string;
  schemaPath: string;
  params: Record<string, unknown>;
  message?: string;
  /** The value at instancePath (Ajv's `verbose` option). */
  data?: unknown;
}

type Validate = ((data: unknown, context?: { parentData: Record<string, unknown>; parentDataProperty: string }) => boolean) & { errors?: AjvError[] | null; schemaEnv?: unknown };

/**
 * The first value no route may take: a number that is not finite (JSON.parse gives Infinity for 1e309; Ajv
 * coerces "Infinity"), or a text with U+0000 (PostgreSQL refuses it in a parameter: a 500 instead of a 400).
 */
function unacceptable(value: unknown, path: string): { path: string; message: string; value: unknown } | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, message: `${String(value)} is not a finite number`, value };
  if (typeof value === 'string') return value.includes('\u0000') ? { path, message: 'must not contain the NUL character (U+0000)', value } : null;
  if (value === null || typeof value !== 'object') return null;
  for (const [key, item] of Object.entries(value)) {
    const here = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (key.includes('\u0000')) return { path: here, message: 'a property name must not contain the NUL character (U+0000)', value: key };
    const found = unacceptable(item, here);
    if (found) return found;
  }
  return null;
}

/**
 * A validator that also refuses any number that is not finite. Ajv coerces "Infinity" and "1e309" to
 * ±Infinity and then lets them past integer, minimum and maximum (ajv#2212); they would reach SQL,
 * InfluxQL and the JSON serialiser.
 */
function finiteOnly(validate: Validate): Validate {
  const wrapped: Validate = (data, context) => {
    const ok = validate(data, context);
    if (!ok) {
      wrapped.errors = validate.errors ?? null;
      return false;
    }
    // A coerced root value is written to the parent (Fastify passes the request as parentData).
    const checked = context ? context.parentData[context.parentDataProperty] : data;
    const bad = unacceptable(checked, '');
    wrapped.errors = bad ? [{ keyword: 'finite', instancePath: bad.path, schemaPath: '#', params: {}, message: bad.message, data: bad.value }] : null;
    return !bad;
  };
  // Fastify passes the parent only to a validator that has Ajv's schemaEnv.
  wrapped.schemaEnv = validate.schemaEnv;
  return wrapped;
}

type BuildValidator = NonNullable<NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>['buildValidator']>;

/**
 * Fastify's own Ajv compiler twice: querystring, params and headers arrive as text and are coerced to the
 * schema's types; JSON bodies are taken as sent (`{"userName": 123}` is an error, not the user "123").
 */
const buildValidator = (externalSchemas: Record<string, object>, serverAjv?: { customOptions?: object }) => {
  const pool = AjvCompiler();
  const server = serverAjv ?? {};
  const build = (coerceTypes: 'array' | false) =>
    pool(externalSchemas, { ...server, customOptions: { ...server.customOptions, ...ajvOptions, coerceTypes } }) as unknown as (route: {
      schema: unknown;
      httpPart?: string;
    }) => Validate;
  const coercing = build('array');
  const asSent = build(false);
  return (route: { schema: unknown; httpPart?: string }) => finiteOnly((route.httpPart === 'body' ? asSent : coercing)(route));
};

const hidden = /(^|\/)password$/i;

/** One validation error as `part/path: reason (value: …)`; passwords are never echoed. */
function describeError(e: AjvError, part: string): string {
  const params = e.params;
  if (e.keyword === 'required') return `${part}${e.instancePath}/${String(params['missingProperty'])}: is required`;
  if (e.keyword === 'additionalProperties') return `${part}${e.instancePath}/${String(params['additionalProperty'])}: unknown property (allowed: ${Object.keys(objectProperties(e)).join(', ') || 'none'})`;
  const where = `${part}${e.instancePath}`;
  if (e.keyword === 'finite') return `${where}: ${e.message ?? 'not a finite number'}`;
  // Ajv's number type excludes ±Infinity (JSON.parse reads 1e309 as Infinity): say so, as for the query.
  if (typeof e.data === 'number' && !Number.isFinite(e.data)) return `${where}: ${String(e.data)} is not a finite number`;
  const allowed = e.keyword === 'enum' ? `: ${(params['allowedValues'] as unknown[]).map(String).join(', ')}` : '';
  const value = hidden.test(e.instancePath) || !('data' in e) ? '' : ` (value: ${shownValue(e.data)})`;
  return `${where}: ${e.message ?? e.keyword}${allowed}${value}`;
}

function objectProperties(e: AjvError): Record<string, unknown> {
  const parent = (e as { parentSchema?: { properties?: Record<string, unknown> } }).parentSchema;
  return parent?.properties ?? {};
}

/** Ajv's errors as one message; an anyOf of constants (a TypeBox union of literals) reads as "must be one of". */
export const schemaErrorFormatter: NonNullable<FastifyServerOptions['schemaErrorFormatter']> = (errors, part) => {
  const list = errors as unknown as AjvError[];
  const anyOf = list.find((e) => e.keyword === 'anyOf');
  const shown = anyOf
    ? [
        ...list.filter((e) => !e.instancePath.startsWith(anyOf.instancePath) || (e.keyword !== 'const' && e.keyword !== 'anyOf' && e.keyword !== 'type')),
        { ...anyOf, message: `must be one of ${list.filter((e) => e.keyword === 'const' && e.instancePath === anyOf.instancePath).map((e) => JSON.stringify(e.params['allowedValue'])).join(', ') || 'the allowed shapes'}` },
      ]
    : list;
  return new Error([...new Set(shown.map((e) => describeError(e, part)))].join('; '));
};

// ---------------------------------------------------------------------------------------------------
// Errors

/** A machine-readable code worth passing on (FST_ERR_…); the routes' own `code: 'Conflict'` is not one. */
const machineCode = (code: unknown): string | undefined => (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) ? code : undefined);

/** Errors raised by the router before any route or hook runs (a bad %-escape, an over-long parameter). */
const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
  const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
  if (statusCode >= 500) {
    request.log.error({ err: error, url: truncate(request.url, 500) }, 'request failed in the router');
    void reply.status(statusCode).send(errorBody(statusCode, 'internal error; see the server log'));
    return;
  }
  const path = truncate(request.url.split('?')[0] ?? '', 200);
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `a path parameter of ${path} is too long` : error.code === 'FST_ERR_BAD_URL' ? `${path} is not a valid URL (bad %-escape)` : truncate(error.message, 300);
  void reply.status(statusCode).send(errorBody(statusCode, message, machineCode(error.code)));
};

/** Server options of the API: the validators, the message format, the router's limits and its errors. */
export const apiServerOptions = {
  // Fastify's type for this factory is Ajv's own compile signature, not the route-aware one it calls.
  schemaController: { compilersFactory: { buildValidator: buildValidator as unknown as BuildValidator } },
  schemaErrorFormatter,
  // Plan ids may be 205 characters (`plan-` and up to 200); the router's default limit is 100.
  routerOptions: { maxParamLength: 256 },
  frameworkErrors,
} satisfies FastifyServerOptions;

/** The reason JSON.parse gives for a text, or what else the secure parser refused. */
function jsonReason(text: string): string {
  try {
    JSON.parse(text);
    return '"__proto__" and "constructor.prototype" keys are not accepted';
  } catch (error) {
    return truncate((error as Error).message, 200);
  }
}

/** The answer when Temporal (the workflow engine) does not answer: not the API's fault, and nothing to retry blindly. */
export const temporalUnavailableMessage = '工作流引擎（Temporal）暂时无法访问，请稍后刷新 / the workflow engine (Temporal) is unavailable; refresh later';

/** The error handler, the not-found handler and a JSON parser whose errors say what is wrong, on the root instance. */
export function installErrorHandling(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    void parseJson(request, body as string, (error: Error | null, value?: unknown) => {
      if ((error as FastifyError | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        done(Object.assign(new Error(`body is not valid JSON: ${jsonReason(body as string)}`), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
        return;
      }
      done(error, value);
    });
  });

  // Consistent bodies, request context in the log, no 5xx internals to clients.
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (error instanceof ServiceError) {
      request.log.error({ err: error, url: truncate(request.url, 500) }, 'Temporal unavailable');
      return reply.status(503).send(errorBody(503, temporalUnavailableMessage));
    }
    const statusCode = error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    // A 503 a route wrote for the caller (a decision whose outcome is unknown) keeps its message.
    if (statusCode === 503 && (error as { expose?: unknown }).expose === true) {
      request.log.error({ err: error.cause ?? error, url: truncate(request.url, 500) }, error.message);
      return reply.status(503).send(errorBody(503, error.message));
    }
    if (statusCode >= 500) {
      request.log.error({ err: error, url: truncate(request.url, 500) }, 'request failed');
      return reply.status(statusCode).send(errorBody(statusCode, 'internal error; see the server log'));
    }
    return reply.status(statusCode).send(errorBody(statusCode, error.message, machineCode(error.code)));
  });
  app.setNotFoundHandler((request, reply) => reply.status(404).send(errorBody(404, `no route ${request.method} ${truncate(request.url.split('?')[0] ?? '', 200)}`)));
}
