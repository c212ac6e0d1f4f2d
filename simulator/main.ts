// CLI: the digital twin of a sewer network as an OPC UA server, driven by a rain scenario.
//   tsx simulator/main.ts --network config/reference-network.json --port 4840 --scenario moderate \
//     --speed 60 --seed 1 --start 2026-07-01T00:00:00Z
// Credentials: OPCUA_USER and OPCUA_PASSWORD (both or neither; never on the command line).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile } from '../network/load.js';
import { ConfigError } from '../network/validate.js';
import { faultApplier, parseFaultScript } from './faults.js';
import { createSimulation } from './model.js';
import type { ControlMode } from './model.js';
import { startSimulatorServer } from './opcua-server.js';
import type { SecurityModeName, SimulatorSecurity } from './opcua-server.js';
import { SCENARIO_NAMES, scenarioRain } from './rain-adapter.js';
import type { ClockOptions } from './runner.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

const usage = `Usage: tsx simulator/main.ts [options]
  --network <file>        network description (default config/reference-network.json)
  --port <n>              TCP port, 0 = any free port (default 4840)
  --host <name>           interface and endpoint hostname (default 127.0.0.1)
  --scenario <name>       rain scenario: ${SCENARIO_NAMES.join(', ')} (default dry-week)
  --speed <x|max>         simulated seconds per wall second (default 1); max = as fast as possible to the scenario end.
                          The PLC watchdog counts wall seconds (opcua.watchdogTimeoutS) at any speed, so a client's
                          heartbeat every few seconds keeps REMOTE
  --seed <n>              integer seed (default 1)
  --start <ISO time>      simulation and scenario start, UTC (default: this hour)
  --step <s>              simulation step in seconds, dividing 60 (default 60)
  --modes <list>          endpoints: None,SignAndEncrypt (default both, or SignAndEncrypt with credentials)
  --initial-mode <m>      PLC mode switch of every station at start: remote or local (default remote)
  --pki <folder>          server PKI folder (default .data/pki/simulator)
  --faults <file>         timed faults and field actions, a JSON array (pump trips, LOCAL switch, communication
                          loss, stuck sensors, flood season, pollution spikes): see simulator/faults.ts
  -h, --help              this text
Environment: OPCUA_USER and OPCUA_PASSWORD require username/password sessions.`;

class ArgumentError extends Error {
  constructor(
    readonly argument: string,
    reason: string,
  ) {
    super(`${argument}: ${reason}`);
  }
}

interface CliOptions {
  networkFile: string;
  port: number;
  host: string;
  scenario: string;
  clock: ClockOptions;
  seed: number;
  startUtcMs: number;
  stepS: number;
  security: SimulatorSecurity | undefined;
  initialMode: ControlMode;
  pkiFolder: string | undefined;
  faultsFile: string | undefined;
}

function parseCli(argv: string[], env: NodeJS.ProcessEnv, nowUtcMs: number): CliOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      network: { type: 'string', default: 'config/reference-network.json' },
      port: { type: 'string', default: '4840' },
      host: { type: 'string', default: '127.0.0.1' },
      scenario: { type: 'string', default: 'dry-week' },
      speed: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      start: { type: 'string' },
      step: { type: 'string', default: '60' },
      modes: { type: 'string' },
      'initial-mode': { type: 'string', default: 'remote' },
      pki: { type: 'string' },
      faults: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';

  const integer = (name: string, raw: string, min: number, max: number): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ArgumentError(name, `must be an integer, got "${raw}"`);
    const value = Number(raw);
    if (value < min || value > max) throw new ArgumentError(name, `must be between ${min} and ${max}, got ${value}`);
    return value;
  };

  const port = integer('--port', values.port, 0, 65535);
  const host = values.host.trim();
  if (host === '') throw new ArgumentError('--host', 'must not be empty');
  if (!(SCENARIO_NAMES as readonly string[]).includes(values.scenario)) {
    throw new ArgumentError('--scenario', `unknown scenario "${values.scenario}"; known: ${SCENARIO_NAMES.join(', ')}`);
  }
  const seed = integer('--seed', values.seed, -2_147_483_648, 4_294_967_295);
  const stepS = integer('--step', values.step, 1, 60);
  if (60 % stepS !== 0) throw new ArgumentError('--step', `must divide 60 seconds (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60), got ${stepS}`);

  let startUtcMs: number;
  if (values.start === undefined) {
    startUtcMs = Math.floor(nowUtcMs / 3_600_000) * 3_600_000;
  } else {
    // An explicit zone keeps the start unambiguous (the network's local time is only for display and tariffs).
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(values.start)) {
      throw new ArgumentError('--start', `must be an ISO 8601 time with a zone, e.g. 2026-07-01T00:00:00Z, got "${values.start}"`);
    }
    startUtcMs = Date.parse(values.start);
    if (!Number.isFinite(startUtcMs)) throw new ArgumentError('--start', `is not a valid time: "${values.start}"`);
  }
  if (startUtcMs % (stepS * 1000) !== 0) throw new ArgumentError('--start', `must fall on a whole ${stepS}-s step`);

  let clock: ClockOptions;
  if (values.speed === 'max') {
    clock = { mode: 'fast' };
  } else {
    const speed = Number(values.speed);
    if (!/^\d+(\.\d+)?$/.test(values.speed) || !(speed > 0) || speed > 1_000_000) {
      throw new ArgumentError('--speed', `must be a number in (0, 1000000] or "max", got "${values.speed}"`);
    }
    clock = { mode: 'paced', speed };
  }

  const user = env['OPCUA_USER'];
  const password = env['OPCUA_PASSWORD'];
  if (Boolean(user) !== Boolean(password)) throw new ArgumentError('OPCUA_USER/OPCUA_PASSWORD', 'set both or neither');
  let modes: SecurityModeName[] | undefined;
  if (values.modes !== undefined) {
    const list = values.modes.split(',').map((m) => m.trim());
    for (const m of list) if (m !== 'None' && m !== 'SignAndEncrypt') throw new ArgumentError('--modes', `unknown mode "${m}" (None or SignAndEncrypt)`);
    if (list.length === 0) throw new ArgumentError('--modes', 'name at least one mode');
    modes = list as SecurityModeName[];
  }
  if (modes !== undefined && !user) throw new ArgumentError('--modes', 'only applies with OPCUA_USER/OPCUA_PASSWORD (anonymous servers offer None and SignAndEncrypt)');
  const security: SimulatorSecurity | undefined = user && password ? { userName: user, password, ...(modes ? { modes } : {}) } : undefined;

  const initialMode = values['initial-mode'];
  if (initialMode !== 'remote' && initialMode !== 'local') throw new ArgumentError('--initial-mode', `must be remote or local, got "${initialMode}"`);

  return {
    networkFile: path.resolve(repoRoot, values.network),
    port,
    host,
    scenario: values.scenario,
    clock,
    seed,
    startUtcMs,
    stepS,
    security,
    initialMode,
    pkiFolder: values.pki === undefined ? undefined : path.resolve(values.pki),
    faultsFile: values.faults === undefined ? undefined : path.resolve(values.faults),
  };
}

async function main(): Promise<number> {
  let options: CliOptions | 'help';
  try {
    options = parseCli(process.argv.slice(2), process.env, Date.now());
  } catch (error) {
    console.error(`simulator: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === 'help') {
    console.log(usage);
    return 0;
  }

  let network;
  try {
    network = await loadNetworkFile(options.networkFile);
  } catch (error) {
    console.error(error instanceof ConfigError ? `simulator: --network: ${error.message}` : `simulator: ${(error as Error).message}`);
    return 2;
  }
  let faults: ReturnType<typeof parseFaultScript> = [];
  if (options.faultsFile !== undefined) {
    try {
      faults = parseFaultScript(JSON.parse(await readFile(options.faultsFile, 'utf8')) as unknown, network);
    } catch (error) {
      console.error(`simulator: --faults ${options.faultsFile}: ${(error as Error).message}`);
      return 2;
    }
  }
  const { scenario, rainMmPerMin } = scenarioRain(options.scenario, options.startUtcMs);
  const simulation = createSimulation({
    network,
    startUtcMs: options.startUtcMs,
    stepS: options.stepS,
    seed: options.seed,
    rainMmPerMin,
    initialModes: options.initialMode,
  });
  const clock: ClockOptions = options.clock.mode === 'fast' ? { mode: 'fast', untilUtcMs: options.startUtcMs + scenario.durationMs } : options.clock;
  const server = await startSimulatorServer({
    network,
    simulation,
    port: options.port,
    host: options.host,
    clock,
    ...(options.security ? { security: options.security } : {}),
    ...(options.pkiFolder ? { pkiFolder: options.pkiFolder } : {}),
  });
  const speedText = clock.mode === 'fast' ? 'as fast as possible' : `×${options.clock.mode === 'paced' ? options.clock.speed : 1}`;
  console.log(
    `simulator: ${network.id} (${network.stations.length} stations), scenario ${scenario.name}, ${speedText}, seed ${options.seed}, ` +
      `start ${new Date(options.startUtcMs).toISOString()}, ${options.security ? `username/password (${options.security.modes?.join(',') ?? 'SignAndEncrypt'})` : 'anonymous'}`,
  );
  console.log(`simulator: OPC UA endpoint ${server.endpointUrl}`);
  if (faults.length > 0) {
    const applyDue = faultApplier(simulation, faults, options.startUtcMs);
    const report = () => {
      for (const e of applyDue()) console.log(`simulator: ${new Date(simulation.timeUtcMs).toISOString()} fault ${JSON.stringify(e)}`);
    };
    report();
    server.clock.onAdvance(report);
    console.log(`simulator: ${faults.length} timed faults from ${options.faultsFile}`);
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      const totals = simulation.summary().totals;
      console.log(
        `simulator: ${signal}, stopping at ${new Date(simulation.timeUtcMs).toISOString()} — overflow ${totals.overflowM3.toFixed(0)} m3, ` +
          `bypass ${totals.bypassM3.toFixed(0)} m3, energy ${totals.energyKwh.toFixed(0)} kWh, cost ${totals.costCny.toFixed(0)} CNY, ${server.writeLog.length} writes`,
      );
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          console.error(`simulator: close failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`simulator: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
