// CLI for the local Open-Meteo-compatible forecast server.
//   tsx forecast-server/main.ts --port 8081 --scenario typhoon --start 2026-07-01T00:00:00Z --seed 1
import { parseArgs } from 'node:util';
import { DEFAULT_RAIN_ONSET_OFFSET_MIN, isScenarioName, RAIN_SCENARIOS, SCENARIO_NAMES } from '../scenarios/rain.js';
import { startForecastServer } from './server.js';

const USAGE = `Usage: tsx forecast-server/main.ts --scenario <name> [options]

  --scenario <name>        ${SCENARIO_NAMES.join(' | ')}
  --start <iso>            scenario start, e.g. 2026-07-01T00:00:00Z (default: the current UTC hour)
  --port <n>               listen port, 0 = any free port (default 8081)
  --host <addr>            listen address (default 127.0.0.1)
  --seed <int>             forecast error seed (default 1)
  --members <n>            ensemble members incl. control member 0 (default 20)
  --onset-offset-min <n>   rain onset after the start, min (default ${DEFAULT_RAIN_ONSET_OFFSET_MIN})
  --now <iso>              the server's "now" at launch (default: the real clock)
  --speed <x>              simulated seconds per real second for the server clock (default 1)
  --help`;

class UsageError extends Error {}

function parseIsoUtc(name: string, value: string): number {
  // An explicit zone keeps "2026-07-01T00:00" from silently meaning local time.
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
  const utcMs = Date.parse(value);
  if (!iso.test(value) || Number.isNaN(utcMs)) {
    throw new UsageError(`--${name}: "${value}" is not an ISO 8601 time with a zone, e.g. 2026-07-01T00:00:00Z`);
  }
  return utcMs;
}

function parseNumber(name: string, value: string, check: (n: number) => boolean, expected: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !check(n)) throw new UsageError(`--${name}: "${value}" is not ${expected}`);
  return n;
}

function parseCli(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        scenario: { type: 'string' },
        start: { type: 'string' },
        port: { type: 'string', default: '8081' },
        host: { type: 'string', default: '127.0.0.1' },
        seed: { type: 'string', default: '1' },
        members: { type: 'string', default: '20' },
        'onset-offset-min': { type: 'string', default: String(DEFAULT_RAIN_ONSET_OFFSET_MIN) },
        now: { type: 'string' },
        speed: { type: 'string', default: '1' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return undefined;
  const scenario = values.scenario;
  if (scenario === undefined) throw new UsageError('--scenario is required');
  if (!isScenarioName(scenario)) throw new UsageError(`--scenario: "${scenario}" is not one of ${SCENARIO_NAMES.join(', ')}`);
  const hourMs = 3_600_000;
  return {
    scenario,
    scenarioStartUtcMs: values.start === undefined ? Math.floor(Date.now() / hourMs) * hourMs : parseIsoUtc('start', values.start),
    port: parseNumber('port', values.port, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'a port number in [0, 65535]'),
    host: values.host,
    seed: parseNumber('seed', values.seed, Number.isInteger, 'an integer'),
    ensembleMembers: parseNumber('members', values.members, (n) => Number.isInteger(n) && n >= 1 && n <= 200, 'an integer in [1, 200]'),
    rainOnsetOffsetMin: parseNumber('onset-offset-min', values['onset-offset-min'], (n) => n >= 0, 'a number of minutes ≥ 0'),
    nowAtLaunchUtcMs: values.now === undefined ? undefined : parseIsoUtc('now', values.now),
    speed: parseNumber('speed', values.speed, (n) => n > 0, 'a positive number'),
  };
}

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  if (!cli) {
    console.log(USAGE);
    return;
  }
  const launchedAtMs = Date.now();
  const clockStartUtcMs = cli.nowAtLaunchUtcMs ?? launchedAtMs;
  // Accelerated demos: the server's clock runs `speed` times faster from --now.
  const nowUtcMs = (): number => clockStartUtcMs + (Date.now() - launchedAtMs) * cli.speed;

  const server = await startForecastServer({ ...cli, nowUtcMs });
  console.log(`forecast server listening on ${server.url}`);
  console.log(`  scenario ${cli.scenario}: ${RAIN_SCENARIOS[cli.scenario].description}`);
  console.log(`  start ${new Date(cli.scenarioStartUtcMs).toISOString()}, seed ${cli.seed}, ${cli.ensembleMembers} ensemble members`);
  console.log(`  clock ${new Date(nowUtcMs()).toISOString()} ×${cli.speed}`);
  console.log(`  ${server.url}/v1/forecast  ${server.url}/v1/ensemble  ${server.url}/v1/archive`);

  const stop = (signal: NodeJS.Signals): void => {
    console.log(`${signal}: stopping after ${server.requestCount} requests`);
    server.close().then(
      () => (process.exitCode = 0),
      (error: unknown) => {
        console.error(`forecast server: error while closing: ${(error as Error).message}`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`forecast-server: ${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else {
    console.error(`forecast-server: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = 1;
  }
});
