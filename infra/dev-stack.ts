// `npm start`: the whole system on embedded defaults — Temporal and InfluxDB (state in .data/), the
// OPC UA simulator of the reference network, the local Open-Meteo-compatible forecast server fed by a
// rain scenario, telemetry ingest, the worker and the API — with URLs printed, and a clean stop on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { repoRoot, dataDir, resolveFromRepo } from '../runtime/paths.js';
import { startInfluxd, startTemporal, type RunningInfluxd, type RunningTemporal } from './servers.js';
import { openStore } from '../store/db.js';
import { loadNetworkFile } from '../network/load.js';
import { INGEST_STOP_DEADLINE_MS } from '../ingest/shutdown.js';
import { demoClock, forecastServerArgs, simulatorArgs } from './demo-clock.js';

const { values: args } = parseArgs({
  options: {
    scenario: { type: 'string', default: process.env['DEMO_SCENARIO'] ?? 'rainstorm' },
    speed: { type: 'string', default: process.env['DEMO_SPEED'] ?? '1' },
    network: { type: 'string', default: process.env['NETWORK_FILE'] ?? 'config/reference-network.json' },
    'api-port': { type: 'string', default: process.env['API_PORT'] ?? '8080' },
  },
});

const ports = { temporal: 7233, temporalUi: 8233, influx: 8086, opcua: 4840, forecast: 8081, api: Number(args['api-port']) };
const logDir = path.join(dataDir, 'logs');
mkdirSync(logDir, { recursive: true });

const children: { name: string; child: ChildProcess }[] = [];
let temporal: RunningTemporal | undefined;
let influx: RunningInfluxd | undefined;
let stopping = false;

function log(message: string) {
  console.log(`[start] ${message}`);
}

/** Start a project entry point under tsx; wait until its output contains `readyPattern`. */
function startChild(name: string, script: string, scriptArgs: string[], env: Record<string, string>, readyPattern: RegExp, timeoutMs = 90_000): Promise<ChildProcess> {
  const logFile = createWriteStream(path.join(logDir, `${name}.log`), { flags: 'a' });
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, [script, ...scriptArgs], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push({ name, child });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${timeoutMs / 1000} s; see ${path.relative(repoRoot, logFile.path as string)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      logFile.write(chunk);
      if (output !== null) {
        output += chunk.toString();
        if (readyPattern.test(output)) {
          clearTimeout(timer);
          output = '';
          resolve(child);
        }
        if (output.length > 100_000) output = output.slice(-10_000);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (!stopping) {
        const message = `${name} exited (${signal ?? code}); see ${path.relative(repoRoot, logFile.path as string)}`;
        console.error(`[start] ${message}`);
        reject(new Error(message));
        void shutdown(1);
      }
    });
  });
}

/**
 * SIGTERM, then SIGKILL after this long. Longer than ingest's own shutdown deadline (15 s: OPC UA teardown,
 * everything received put on disk, a last try to write the spool out; ingest/shutdown.ts), so ingest is
 * never killed while it stops; the worker and the API stop well within it.
 */
const stopGraceMs = INGEST_STOP_DEADLINE_MS + 5_000;

async function stopChild({ name, child }: { name: string; child: ChildProcess }) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    log(`${name} still running ${stopGraceMs / 1000} s after SIGTERM; killing it`);
    child.kill('SIGKILL');
  }, stopGraceMs);
  await exited;
  clearTimeout(timer);
  log(`${name} stopped`);
}

async function shutdown(code: number) {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  for (const c of [...children].reverse()) await stopChild(c);
  await influx?.stop();
  await temporal?.stop();
  log('all stopped');
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

/** The first start creates an admin with a random password (no default password ships). */
async function ensureFirstAdmin(databaseUrl: string): Promise<string | null> {
  const store = await openStore(databaseUrl);
  try {
    if ((await store.users.list()).length > 0) return null;
    const password = randomBytes(12).toString('base64url');
    await store.users.create({ userName: 'admin', displayName: '管理员 Administrator', role: 'admin', password });
    const file = path.join(dataDir, 'first-admin-password.txt');
    await writeFile(file, `admin\n${password}\n`, { mode: 0o600 });
    return password;
  } finally {
    await store.close();
  }
}

async function main() {
  const started = performance.now();
  const clock = demoClock(args.speed, Date.now());
  const network = await loadNetworkFile(resolveFromRepo(args.network));
  log(`network ${network.id}: ${network.stations.length} stations, scenario ${args.scenario} at ×${args.speed}`);

  [temporal, influx] = await Promise.all([
    startTemporal({ dataDir: path.join(dataDir, 'temporal'), port: ports.temporal, uiPort: ports.temporalUi }),
    startInfluxd({ dataDir: path.join(dataDir, 'influxdb'), port: ports.influx, database: 'sewer' }),
  ]);
  log(`Temporal ${temporal.address}, InfluxDB ${influx.url}`);

  // The scenario starts now; the simulator and the forecast server share its start and speed (infra/demo-clock.ts).
  await Promise.all([
    startChild('simulator', 'simulator/main.ts', simulatorArgs(clock, { network: args.network, port: ports.opcua, scenario: args.scenario }), {}, /opc\.tcp:\/\//),
    startChild('forecast', 'forecast-server/main.ts', forecastServerArgs(clock, { port: ports.forecast, scenario: args.scenario }), {}, /http:\/\//),
  ]);

  const databaseUrl = process.env['DATABASE_URL'] ?? `sqlite:${path.join('.data', 'sewer-dispatch.sqlite')}`;
  const firstAdminPassword = await ensureFirstAdmin(databaseUrl);
  const env: Record<string, string> = {
    NETWORK_FILE: args.network,
    TEMPORAL_ADDRESS: temporal.address,
    INFLUX_URL: influx.url,
    INFLUX_TOKEN: influx.token,
    INFLUX_BUCKET: influx.database,
    INFLUX_DATABASE: influx.database,
    OPCUA_ENDPOINT: `opc.tcp://127.0.0.1:${ports.opcua}`,
    // The embedded simulator's self-signed certificate is accepted (used only with OPCUA_SECURITY_MODE=SignAndEncrypt).
    OPCUA_ACCEPT_UNKNOWN_SERVER_CERT: process.env['OPCUA_ACCEPT_UNKNOWN_SERVER_CERT'] ?? 'true',
    OPEN_METEO_FORECAST_URL: `http://127.0.0.1:${ports.forecast}/v1/forecast`,
    OPEN_METEO_ENSEMBLE_URL: `http://127.0.0.1:${ports.forecast}/v1/ensemble`,
    OPEN_METEO_ARCHIVE_URL: `http://127.0.0.1:${ports.forecast}/v1/archive`,
    DATABASE_URL: databaseUrl,
    API_PORT: String(ports.api),
  };
  await Promise.all([
    startChild('ingest', 'ingest/main.ts', ['--spool-dir', path.join('.data', 'spool')], env, /ingest: running/),
    startChild('worker', 'worker/main.ts', [], env, /worker: task queue ready/),
    startChild('api', 'api/server.ts', [], env, /API listening/),
  ]);

  const apiUrl = `http://127.0.0.1:${ports.api}`;
  let health: { status?: string; components?: { name: string; status: string; latencyMs: number }[] } = {};
  for (let i = 0; i < 60; i++) {
    health = (await fetch(`${apiUrl}/api/health`).then((r) => r.json()).catch(() => ({}))) as typeof health;
    if (health.status === 'up') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`
  Sewer dispatch is running (${seconds} s to healthy: ${health.status ?? 'unknown'})
    Console (web UI)   ${apiUrl}/
    API docs           ${apiUrl}/api/docs
    Health             ${apiUrl}/api/health   ${(health.components ?? []).map((c) => `${c.name}=${c.status}`).join(' ')}
    Temporal Web UI    ${temporal.uiUrl}
    InfluxDB           ${influx.url}  (database ${influx.database}; credentials in .data/influxdb/credentials.json)
    OPC UA simulator   opc.tcp://127.0.0.1:${ports.opcua}
    Forecast server    http://127.0.0.1:${ports.forecast}/v1/forecast
    Logs               .data/logs/
  ${firstAdminPassword ? `First admin created: user "admin", password "${firstAdminPassword}" (also in .data/first-admin-password.txt)` : 'Users: see npm run admin -- list-users'}
  Press Ctrl-C to stop everything.
`);
}

main().catch((error: unknown) => {
  console.error(`[start] failed: ${(error as Error).message}`);
  void shutdown(1);
});
