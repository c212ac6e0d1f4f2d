// Process settings from the environment, validated at start-up: fail fast with every problem listed.
import Type from 'typebox';
import Value from 'typebox/value';
import { autonomyModes } from '../contract/index.js';
import { NotifyEnvSchema } from '../notify/index.js';

const Url = (description: string, defaultValue: string) => Type.String({ pattern: '^[a-z][a-z0-9+.-]*://', description, default: defaultValue });

/** Every environment variable the worker and the API read. The compose file must name each of them. */
export const EnvSchema = Type.Object({
  NETWORK_FILE: Type.String({ minLength: 1, description: 'Network description (JSON)', default: 'config/reference-network.json' }),
  TEMPORAL_ADDRESS: Type.String({ pattern: '^[^:]+:[0-9]+$', description: 'Temporal frontend host:port', default: '127.0.0.1:7233' }),
  TEMPORAL_NAMESPACE: Type.String({ minLength: 1, default: 'default' }),
  INFLUX_URL: Url('InfluxDB base URL (1.8+, 2.x or 3.x)', 'http://127.0.0.1:8086'),
  INFLUX_TOKEN: Type.String({ minLength: 1, description: 'API token (2.x/3.x) or "user:password" (1.8)' }),
  INFLUX_ORG: Type.String({ default: '-', description: 'Organisation (ignored by 1.8)' }),
  INFLUX_BUCKET: Type.String({ minLength: 1, default: 'sewer', description: 'Bucket for writes (database on 1.8)' }),
  INFLUX_DATABASE: Type.String({ minLength: 1, default: 'sewer', description: 'Database (DBRP mapping on 2.x) for InfluxQL reads' }),
  OPCUA_ENDPOINT: Url('SCADA OPC UA endpoint', 'opc.tcp://127.0.0.1:4840'),
  OPCUA_SECURITY_MODE: Type.Union([Type.Literal('None'), Type.Literal('SignAndEncrypt')], { default: 'None' }),
  OPCUA_USER: Type.Optional(Type.String({ minLength: 1 })),
  OPCUA_PASSWORD: Type.Optional(Type.String({ minLength: 1 })),
  OPCUA_PKI_DIR: Type.String({
    minLength: 1,
    default: '.data/pki',
    description: 'Client certificate folder (own/, trusted/, rejected/; relative to the repository root) shared by ingest, the worker and the API: one certificate for SCADA to trust, kept across container re-creation',
  }),
  OPCUA_ACCEPT_UNKNOWN_SERVER_CERT: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description: 'true: accept any SCADA server certificate (the embedded simulator of npm start only); false: only certificates placed in <OPCUA_PKI_DIR>/trusted/certs',
  }),
  OPEN_METEO_FORECAST_URL: Url('Open-Meteo forecast endpoint', 'https://api.open-meteo.com/v1/forecast'),
  OPEN_METEO_ENSEMBLE_URL: Url('Open-Meteo ensemble endpoint', 'https://ensemble-api.open-meteo.com/v1/ensemble'),
  OPEN_METEO_ARCHIVE_URL: Url('Open-Meteo archive endpoint', 'https://archive-api.open-meteo.com/v1/archive'),
  OPEN_METEO_RATE_LIMITS: Type.String({
    pattern: '^(auto|off|[0-9]+(\\.[0-9]+)?/(s|min|h|d)(,[0-9]+(\\.[0-9]+)?/(s|min|h|d))*)$',
    default: 'auto',
    description: 'Client-side limits on weighted Open-Meteo calls: auto (the free tier, 600/min,5000/h,10000/d, on the public hosts only), off, or e.g. 600/min,5000/h,10000/d',
  }),
  FORECAST_ENSEMBLE: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'Fetch the ensemble for the inflow forecast band and the planner scenarios' }),
  FORECAST_ENSEMBLE_REFRESH_MIN: Type.String({ pattern: '^[0-9]+$', default: '60', description: 'Minutes a fetched ensemble is reused before the next call (0: every cycle)' }),
  PLANNER: Type.Union([Type.Literal('mpc'), Type.Literal('rule-based')], { default: 'mpc', description: 'mpc: the optimising planner on the inflow forecast; rule-based: the rule of thumb' }),
  DATABASE_URL: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', description: 'sqlite:<file> or postgres://…', default: 'sqlite:.data/sewer-dispatch.sqlite' }),
  API_HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  API_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  TRUST_PROXY: Type.String({
    pattern: '^(off|(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(/[0-9]{1,3})?)(,(loopback|linklocal|uniquelocal|[0-9a-fA-F:.]+(/[0-9]{1,3})?))*)$',
    default: 'off',
    description:
      'API: off, or the reverse proxy address(es)/CIDR(s), comma-separated (e.g. 172.18.0.0/16, or loopback): X-Forwarded-For from these is believed, so rate limits and the audit log see the real client',
  }),
  SESSION_IDLE_MIN: Type.Integer({ minimum: 1, maximum: 1440, default: 60, description: 'API: a login session unused this many minutes ends (its absolute limit is 12 h)' }),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)), { default: 'info' }),
  // Ingest only (ingest/main.ts).
  INGEST_SPOOL_MAX_MB: Type.Integer({
    minimum: 1,
    default: 4096,
    description: 'Disk budget of the ingest spool in MiB: points waiting for InfluxDB plus rejected.lp; a warning at 80 %, beyond it new points are lost',
  }),
  // Worker only; worker/settings.ts also checks the season's dates and the flood configuration file's content.
  DISPATCH_SCHEDULE_PAUSED: Type.Union([Type.Literal('true'), Type.Literal('false')], {
    default: 'false',
    description: 'true: the dispatch and baseline Schedules are created paused and the worker does not trigger a cycle at start (only when they are first created; a Schedule that exists keeps its state)',
  }),
  DISPATCH_AUTONOMY: Type.Optional(Type.Enum(autonomyModes, { description: 'Autonomy of the network; unset = advisory' })),
  FLOOD_SEASON: Type.String({ pattern: '^(off|[0-9]{2}-[0-9]{2}/[0-9]{2}-[0-9]{2})$', default: '04-15/10-15', description: 'Flood season MM-DD/MM-DD in local dates, or off' }),
  FLOOD_CONFIG_FILE: Type.Optional(Type.String({ minLength: 1, description: 'JSON file with a partial FloodConfig (relative to the repository root)' })),
  FLOOD_CHECK_INTERVAL_MIN: Type.Integer({ minimum: 1, maximum: 1440, default: 30, description: 'Minutes between flood checks' }),
  ...NotifyEnvSchema.properties,
});
export type Env = Type.Static<typeof EnvSchema>;

export const envVariableNames = Object.keys(EnvSchema.properties) as (keyof Env)[];

const integerNames = new Set<string>(['API_PORT', 'SESSION_IDLE_MIN', 'INGEST_SPOOL_MAX_MB', 'FLOOD_CHECK_INTERVAL_MIN', 'NOTIFY_WEBHOOK_TIMEOUT_MS']);

/**
 * Fastify's trustProxy from TRUST_PROXY: false, or the proxy addresses whose X-Forwarded-For is believed. Never
 * `true`: a client talking to the API directly could then name any address (and dodge the sign-in limit).
 */
export function trustProxyOption(value: string): false | string[] {
  return value === 'off' ? false : value.split(',').map((part) => part.trim());
}

export class EnvError extends Error {
  override readonly name = 'EnvError';
}

/** Read and validate the environment; numbers are coerced from strings, defaults applied. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const raw: Record<string, unknown> = {};
  for (const name of envVariableNames) {
    const value = source[name];
    if (value === undefined || value === '') continue;
    raw[name] = integerNames.has(name) && /^[0-9]+$/.test(value) ? Number(value) : value;
  }
  const withDefaults = Value.Default(EnvSchema, raw);
  const problems = [...Value.Errors(EnvSchema, withDefaults)].map((e) => {
    const name = e.instancePath.slice(1) || String((e.params as { requiredProperties?: string[] }).requiredProperties?.join(', '));
    const value = e.keyword === 'required' ? '' : ` (value: ${JSON.stringify(raw[name])})`;
    const allowed = e.keyword === 'enum' ? `: ${String((e.params as { allowedValues?: unknown[] }).allowedValues?.join(', '))}` : '';
    return `  ${name}: ${e.keyword === 'required' ? 'is required' : e.message}${allowed}${value}`;
  });
  if (source['OPCUA_SECURITY_MODE'] === 'SignAndEncrypt' && !(source['OPCUA_USER'] && source['OPCUA_PASSWORD'])) {
    problems.push('  OPCUA_USER, OPCUA_PASSWORD: required when OPCUA_SECURITY_MODE is SignAndEncrypt');
  }
  if (problems.length > 0) throw new EnvError(`Invalid environment:\n${problems.join('\n')}`);
  return withDefaults as Env;
}
