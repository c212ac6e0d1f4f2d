// Development servers: the Temporal dev server (CLI, SQLite state) and InfluxDB 1.8 (auth on), installed
// into the git-ignored cache .cache/bin and run with their state under .data. Production uses infra/compose.yaml.
//
//   tsx infra/servers.ts ensure [temporal|influxd]   install the binaries that are missing
//   tsx infra/servers.ts start                        start both, print their URLs, run until Ctrl-C
//   tsx infra/servers.ts stop                         stop the servers recorded in the pid files under .data
//   tsx infra/servers.ts status                       print what runs
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The repository root, found from this file's location. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Where the scripts install server binaries (git-ignored). */
export const cacheBinDir = path.join(repoRoot, '.cache', 'bin');
/** Default state folders (git-ignored). */
export const defaultDataDirs = {
  temporal: path.join(repoRoot, '.data', 'temporal'),
  influxdb: path.join(repoRoot, '.data', 'influxdb'),
} as const;

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
/** Tried in order when the pinned version cannot be built. */
export const TEMPORAL_CLI_FALLBACK_VERSIONS = ['v1.4.1', 'v1.4.0', 'v1.3.0', 'v1.2.0', 'v1.1.2', 'v1.1.1', 'v1.1.0'];
export const INFLUXD_VERSION = 'v1.8.10';

const HOST = '127.0.0.1';

function log(message: string): void {
  if (process.env['SERVERS_QUIET'] === '1') return;
  process.stderr.write(`[servers] ${message}\n`);
}

function relative(p: string): string {
  const r = path.relative(repoRoot, p);
  return r.startsWith('..') || path.isAbsolute(r) ? p : r;
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------------------
// Binaries: TEMPORAL_BIN / INFLUXD_BIN → .cache/bin → PATH → go install → official release download
// ---------------------------------------------------------------------------------------------------------

interface BinarySpec {
  name: 'temporal' | 'influxd';
  envVar: 'TEMPORAL_BIN' | 'INFLUXD_BIN';
  goPackage: string;
  versions: string[];
  buildNote: string;
  downloadUrl: () => string;
}

function goArch(): string {
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string];
  if (!arch) throw new Error(`no release download for CPU architecture ${process.arch}`);
  return arch;
}

const temporalSpec: BinarySpec = {
  name: 'temporal',
  envVar: 'TEMPORAL_BIN',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
  versions: [TEMPORAL_CLI_VERSION, ...TEMPORAL_CLI_FALLBACK_VERSIONS],
  buildNote: '4–8 minutes on a cold Go cache',
  downloadUrl: () => `https://temporal.download/cli/archive/${TEMPORAL_CLI_VERSION}?platform=${process.platform === 'darwin' ? 'darwin' : 'linux'}&arch=${goArch()}`,
};

const influxdSpec: BinarySpec = {
  name: 'influxd',
  envVar: 'INFLUXD_BIN',
  goPackage: 'github.com/influxdata/influxdb/cmd/influxd',
  versions: [INFLUXD_VERSION],
  buildNote: '4–8 minutes on a cold Go cache',
  downloadUrl: () => `https://dl.influxdata.com/influxdb/releases/influxdb-${INFLUXD_VERSION.slice(1)}_${process.platform === 'darwin' ? 'darwin' : 'linux'}_${goArch()}.tar.gz`,
};

export interface EnsureBinaryOptions {
  /** Install folder; default `<repo>/.cache/bin`. */
  binDir?: string;
  /** Look for the binary on PATH (default true). */
  usePath?: boolean;
  /** Build with `go install` when Go is available (default true). */
  useGo?: boolean;
  /** Download the official release when Go is not available (default true). */
  useDownload?: boolean;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fsp.stat(file);
    if (!stat.isFile()) return false;
    await fsp.access(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, extraDirs: string[] = []): Promise<string | undefined> {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

interface RunResult {
  code: number | null;
  output: string;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: options.cwd ?? os.tmpdir(), env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.length > 200_000) output = output.slice(-100_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    child.on('error', (error) => resolve({ code: -1, output: `${output}\n${error.message}` }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** Serialise installs of one binary across processes (two test files may ask at once). */
async function withInstallLock<T>(binDir: string, name: string, work: () => Promise<T>): Promise<T> {
  const lock = path.join(binDir, `.${name}.install-lock`);
  const staleMs = 20 * 60_000;
  for (;;) {
    try {
      await fsp.mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (await fsp.stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
      if (age > staleMs) {
        await fsp.rm(lock, { recursive: true, force: true });
        continue;
      }
      log(`${name}: another process is installing it; waiting…`);
      await sleep(2000);
    }
  }
  try {
    return await work();
  } finally {
    await fsp.rm(lock, { recursive: true, force: true });
  }
}

async function goInstall(spec: BinarySpec, goBin: string, binDir: string, tried: string[]): Promise<string | undefined> {
  const target = path.join(binDir, spec.name);
  for (const version of spec.versions) {
    const ref = `${spec.goPackage}@${version}`;
    const tmpBin = await fsp.mkdtemp(path.join(binDir, `.gobin-${spec.name}-`));
    log(`${spec.name}: building ${ref} with go install (${spec.buildNote})…`);
    const started = Date.now();
    const result = await run(goBin, ['install', ref], { env: { ...process.env, GOBIN: tmpBin } });
    const built = path.join(tmpBin, spec.name);
    if (result.code === 0 && (await isExecutable(built))) {
      await fsp.rename(built, target);
      await fsp.rm(tmpBin, { recursive: true, force: true });
      log(`${spec.name}: installed ${relative(target)} (${ref}, ${Math.round((Date.now() - started) / 1000)} s)`);
      return target;
    }
    await fsp.rm(tmpBin, { recursive: true, force: true });
    tried.push(`go install ${ref}: failed (exit ${result.code}):\n${lastLines(result.output, 8).replace(/^/gm, '      ')}`);
    log(`${spec.name}: go install ${ref} failed (exit ${result.code})`);
  }
  return undefined;
}

async function download(spec: BinarySpec, binDir: string, tried: string[]): Promise<string | undefined> {
  let url: string;
  try {
    url = spec.downloadUrl();
  } catch (error) {
    tried.push(`release download: ${errorMessage(error)}`);
    return undefined;
  }
  log(`${spec.name}: downloading ${url}…`);
  const work = await fsp.mkdtemp(path.join(os.tmpdir(), `${spec.name}-download-`));
  try {
    const controller = new AbortController();
    const headerTimer = setTimeout(() => controller.abort(new Error('no answer within 30 s')), 30_000);
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    } finally {
      clearTimeout(headerTimer);
    }
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    const archive = path.join(work, 'archive.tar.gz');
    await fsp.writeFile(archive, Buffer.from(await response.arrayBuffer()));
    const unpack = path.join(work, 'unpacked');
    await fsp.mkdir(unpack);
    const tar = await run('tar', ['-xzf', archive, '-C', unpack]);
    if (tar.code !== 0) throw new Error(`tar failed: ${lastLines(tar.output, 3)}`);
    const found = await findFile(unpack, spec.name);
    if (!found) throw new Error(`archive holds no file named ${spec.name}`);
    const target = path.join(binDir, spec.name);
    const staged = path.join(binDir, `.${spec.name}.download`);
    await fsp.copyFile(found, staged);
    await fsp.chmod(staged, 0o755);
    await fsp.rename(staged, target);
    log(`${spec.name}: installed ${relative(target)} from ${url}`);
    return target;
  } catch (error) {
    tried.push(`release download ${url}: ${errorMessage(error)}`);
    log(`${spec.name}: download failed: ${errorMessage(error)}`);
    return undefined;
  } finally {
    await fsp.rm(work, { recursive: true, force: true });
  }
}

async function findFile(dir: string, name: string): Promise<string | undefined> {
  for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isFile() && entry.name === name) return full;
    if (entry.isDirectory()) {
      const inner = await findFile(full, name);
      if (inner) return inner;
    }
  }
  return undefined;
}

async function ensureBinary(spec: BinarySpec, options: EnsureBinaryOptions = {}): Promise<string> {
  const binDir = options.binDir ?? cacheBinDir;
  const override = process.env[spec.envVar];
  if (override) {
    const resolved = path.resolve(override);
    if (await isExecutable(resolved)) {
      log(`${spec.name}: using ${spec.envVar}=${resolved}`);
      return resolved;
    }
    throw new Error(`${spec.envVar} is set to ${override}, which is not an executable file. Unset it to let the scripts install ${spec.name}.`);
  }
  const tried: string[] = [`${spec.envVar}: not set`];
  const cached = path.join(binDir, spec.name);
  if (await isExecutable(cached)) {
    log(`${spec.name}: present (${relative(cached)})`);
    return cached;
  }
  tried.push(`${relative(cached)}: not found`);
  if (options.usePath !== false) {
    const onPath = await findOnPath(spec.name);
    if (onPath) {
      log(`${spec.name}: present on PATH (${onPath})`);
      return onPath;
    }
    tried.push(`PATH: no ${spec.name}`);
  }
  await fsp.mkdir(binDir, { recursive: true });
  return withInstallLock(binDir, spec.name, async () => {
    if (await isExecutable(cached)) return cached; // installed by another process meanwhile
    const goBin = options.useGo === false ? undefined : await findOnPath('go', ['/usr/local/go/bin', path.join(os.homedir(), 'go', 'bin')]);
    if (goBin) {
      const built = await goInstall(spec, goBin, binDir, tried);
      if (built) return built;
    } else {
      tried.push(options.useGo === false ? 'go install: disabled' : 'go install: no go on PATH');
    }
    if (!goBin && options.useDownload !== false) {
      const downloaded = await download(spec, binDir, tried);
      if (downloaded) return downloaded;
    } else if (goBin) {
      tried.push('release download: skipped because Go is installed (the build failed; see above)');
    } else {
      tried.push('release download: disabled');
    }
    throw new Error(
      `Could not find or install ${spec.name}. Tried, in order:\n${tried.map((t) => `  - ${t}`).join('\n')}\n` +
        `Fix: install Go (https://go.dev/dl/) and run bash infra/bootstrap.sh again, or put ${spec.name} on PATH, or set ${spec.envVar}=/path/to/${spec.name}.`,
    );
  });
}

/** Path of the Temporal CLI (dev server), installing it if needed. */
export function ensureTemporalBinary(options?: EnsureBinaryOptions): Promise<string> {
  return ensureBinary(temporalSpec, options);
}

/** Path of influxd 1.8, installing it if needed. */
export function ensureInfluxdBinary(options?: EnsureBinaryOptions): Promise<string> {
  return ensureBinary(influxdSpec, options);
}

// ---------------------------------------------------------------------------------------------------------
// Ports and processes
// ---------------------------------------------------------------------------------------------------------

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function findFreePort(host = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function assertPortFree(port: number, what: string, host = HOST): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE'
            ? `${what}: port ${host}:${port} is already in use (another dev stack running? try "npm run servers -- status", or choose another port; 0 picks a free one)`
            : `${what}: cannot bind ${host}:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

async function resolvePort(port: number, what: string): Promise<number> {
  if (port === 0) return findFreePort();
  await assertPortFree(port, what);
  return port;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guard against a recycled pid: the process must still be the binary we started. */
async function isOurServer(pid: number, binaryName: string): Promise<boolean> {
  if (!isAlive(pid)) return false;
  try {
    const cmdline = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return path.basename(cmdline[0] ?? '') === binaryName || cmdline.some((a) => path.basename(a) === binaryName);
  } catch {
    return true; // no /proc (macOS): trust the pid file
  }
}

const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // If the owner exits without calling stop(), do not leave servers behind.
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGTERM');
    });
  }
}

async function tailFile(file: string, lines = 25): Promise<string> {
  try {
    return lastLines(await fsp.readFile(file, 'utf8'), lines);
  } catch {
    return '(no log)';
  }
}

interface StateFile {
  name: string;
  pid: number;
  startedAt: string;
  logFile: string;
  endpoints: Record<string, string>;
}

const pidFileName = { temporal: 'temporal.pid', influxd: 'influxd.pid' } as const;
const stateFileName = 'server.json';

async function checkNotRunning(dataDir: string, name: 'temporal' | 'influxd'): Promise<void> {
  const pidFile = path.join(dataDir, pidFileName[name]);
  const pid = Number.parseInt(await fsp.readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(pid) && pid > 0 && (await isOurServer(pid, name))) {
    throw new Error(`${name} already runs on ${relative(dataDir)} (pid ${pid}); stop it first ("npm run servers -- stop") or use another data folder`);
  }
  await fsp.rm(pidFile, { force: true });
}

async function recordRunning(dataDir: string, state: StateFile): Promise<void> {
  const name = state.name as 'temporal' | 'influxd';
  await fsp.writeFile(path.join(dataDir, pidFileName[name]), `${state.pid}\n`);
  await fsp.writeFile(path.join(dataDir, stateFileName), `${JSON.stringify(state, null, 2)}\n`);
}

async function clearRunning(dataDir: string, name: 'temporal' | 'influxd', pid: number): Promise<void> {
  const pidFile = path.join(dataDir, pidFileName[name]);
  const recorded = Number.parseInt(await fsp.readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (recorded === pid) {
    await fsp.rm(pidFile, { force: true });
    await fsp.rm(path.join(dataDir, stateFileName), { force: true });
  }
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess, name: string, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  if (await waitForExit(child, graceMs)) return;
  log(`${name}: no exit ${graceMs / 1000} s after SIGTERM; sending SIGKILL`);
  child.kill('SIGKILL');
  await waitForExit(child, 5000);
}

interface Spawned {
  child: ChildProcess;
  pid: number;
  exited: () => string | undefined;
}

async function spawnServer(binary: string, args: string[], logFile: string, name: string): Promise<Spawned> {
  await fsp.mkdir(path.dirname(logFile), { recursive: true });
  const fd = fs.openSync(logFile, 'a');
  fs.writeSync(fd, `\n=== ${new Date().toISOString()} ${name}: ${binary} ${args.join(' ')}\n`);
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', fd, fd], cwd: repoRoot, env: process.env });
  } finally {
    fs.closeSync(fd);
  }
  let exitInfo: string | undefined;
  child.on('exit', (code, signal) => (exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`));
  const spawnError = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawnError || child.pid === undefined) throw new Error(`${name}: cannot run ${binary}: ${spawnError?.message ?? 'no pid'}`);
  track(child);
  return { child, pid: child.pid, exited: () => exitInfo };
}

async function waitUntilReady(
  name: string,
  spawned: Spawned,
  logFile: string,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    const exited = spawned.exited();
    if (exited) {
      throw new Error(`${name} ${exited} before it was ready. Last lines of ${logFile}:\n${await tailFile(logFile)}`);
    }
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = errorMessage(error);
    }
    await sleep(200);
  }
  await stopChild(spawned.child, name, 5000);
  throw new Error(
    `${name} was not ready within ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last probe error: ${lastError})` : ''}. Last lines of ${logFile}:\n${await tailFile(logFile)}`,
  );
}

/** A port found free can be taken by another process before the server binds it: pick again (port 0 only). */
async function retryOnPortRace<T>(portsPicked: boolean, name: string, start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (error) {
      if (!portsPicked || attempt >= 3 || !/address already in use/i.test(errorMessage(error))) throw error;
      log(`${name}: a picked port was taken meanwhile; trying other ports`);
    }
  }
}

function tcpOpen(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------------------------------------------------
// Temporal dev server
// ---------------------------------------------------------------------------------------------------------

export interface TemporalServerOptions {
  /** State folder; the SQLite file `temporal.sqlite` inside it survives restarts. */
  dataDir: string;
  /** Frontend gRPC port; 0 picks a free one. Default 7233. */
  port?: number;
  /** Web UI port; 0 picks a free one. Default 8233. */
  uiPort?: number;
  /** Namespace created at launch (in addition to "default"). */
  namespace?: string;
  /** Default `<dataDir>/temporal.log`. */
  logFile?: string;
  /** Default: ensureTemporalBinary(). */
  binary?: string;
  /** Default 120 s. */
  readyTimeoutMs?: number;
}

export interface RunningTemporal {
  /** host:port of the frontend, e.g. 127.0.0.1:7233 */
  address: string;
  uiUrl: string;
  namespace: string;
  pid: number;
  dataDir: string;
  logFile: string;
  /** SIGTERM, wait for exit (SIGKILL after 15 s). Safe to call twice. */
  stop(): Promise<void>;
}

export function startTemporal(options: TemporalServerOptions): Promise<RunningTemporal> {
  return retryOnPortRace(options.port === 0 || options.uiPort === 0, 'temporal', () => startTemporalOnce(options));
}

async function startTemporalOnce(options: TemporalServerOptions): Promise<RunningTemporal> {
  const dataDir = path.resolve(options.dataDir);
  const namespace = options.namespace ?? 'default';
  const logFile = path.resolve(options.logFile ?? path.join(dataDir, 'temporal.log'));
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await checkNotRunning(dataDir, 'temporal');
  const binary = options.binary ?? (await ensureTemporalBinary());
  const port = await resolvePort(options.port ?? 7233, 'temporal frontend');
  let uiPort = await resolvePort(options.uiPort ?? 8233, 'temporal web UI');
  if (uiPort === port) uiPort = await findFreePort();
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    path.join(dataDir, 'temporal.sqlite'),
    '--ip',
    HOST,
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
    '--log-format',
    'text',
    '--color',
    'never',
  ];
  const address = `${HOST}:${port}`;
  const uiUrl = `http://${HOST}:${uiPort}`;
  const started = Date.now();
  const spawned = await spawnServer(binary, args, logFile, 'temporal');
  const { Connection } = await import('@temporalio/client');
  await waitUntilReady('temporal', spawned, logFile, options.readyTimeoutMs ?? 120_000, async () => {
    if (!(await tcpOpen(port))) return false;
    const connection = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    } finally {
      await connection.close();
    }
  });
  await recordRunning(dataDir, {
    name: 'temporal',
    pid: spawned.pid,
    startedAt: new Date().toISOString(),
    logFile,
    endpoints: { address, uiUrl, namespace },
  });
  log(`temporal: ready at ${address} (UI ${uiUrl}) in ${((Date.now() - started) / 1000).toFixed(1)} s, pid ${spawned.pid}`);
  let stopping: Promise<void> | undefined;
  return {
    address,
    uiUrl,
    namespace,
    pid: spawned.pid,
    dataDir,
    logFile,
    stop: () =>
      (stopping ??= (async () => {
        await stopChild(spawned.child, 'temporal', 15_000);
        await clearRunning(dataDir, 'temporal', spawned.pid);
      })()),
  };
}

// ---------------------------------------------------------------------------------------------------------
// InfluxDB 1.8
// ---------------------------------------------------------------------------------------------------------

export interface InfluxdServerOptions {
  /** State folder: influxdb.conf, meta/, data/, wal/, credentials.json, influxd.log. */
  dataDir: string;
  /** HTTP port; 0 picks a free one. Default 8086. */
  port?: number;
  /** RPC (backup/restore) port; 0 picks a free one. Default: port + 2, or a free one when port is 0 or port + 2 is taken. */
  rpcPort?: number;
  /** Admin user; default: the one in `<dataDir>/credentials.json`, else "admin". */
  adminUser?: string;
  /** Admin password; default: the one in `<dataDir>/credentials.json`, else generated once at random. */
  adminPassword?: string;
  /** Created if missing. Default "sewer". */
  database?: string;
  /** Default `<dataDir>/influxd.log`. */
  logFile?: string;
  /** Default: ensureInfluxdBinary(). */
  binary?: string;
  /** Default 60 s. */
  readyTimeoutMs?: number;
}

export interface RunningInfluxd {
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  /** "user:password": Authorization: Token <token> on /api/v2/write and /query */
  token: string;
  database: string;
  username: string;
  pid: number;
  dataDir: string;
  logFile: string;
  configFile: string;
  /** SIGTERM, wait for exit (SIGKILL after 15 s). Safe to call twice. */
  stop(): Promise<void>;
}

export interface InfluxCredentials {
  user: string;
  password: string;
}

export const influxCredentialsFile = (dataDir: string) => path.join(dataDir, 'credentials.json');

/** Read `<dataDir>/credentials.json`, or create it (mode 0600) with a random password. */
export async function loadOrCreateInfluxCredentials(dataDir: string, wanted: { user?: string; password?: string } = {}): Promise<InfluxCredentials> {
  const file = influxCredentialsFile(dataDir);
  let stored: InfluxCredentials | undefined;
  try {
    const parsed = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<InfluxCredentials>;
    if (typeof parsed.user !== 'string' || typeof parsed.password !== 'string') throw new Error('expected {"user": "…", "password": "…"}');
    stored = { user: parsed.user, password: parsed.password };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${errorMessage(error)}`);
  }
  const credentials: InfluxCredentials = {
    user: wanted.user ?? stored?.user ?? 'admin',
    password: wanted.password ?? stored?.password ?? randomBytes(24).toString('base64url'),
  };
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(credentials.user)) throw new Error(`InfluxDB admin user name ${JSON.stringify(credentials.user)}: use letters, digits and _`);
  if (!stored || stored.user !== credentials.user || stored.password !== credentials.password) {
    if (stored) log(`influxd: credentials given differ from ${relative(file)}; using the given ones (the file is left as it is)`);
    else {
      await fsp.writeFile(file, `${JSON.stringify({ ...credentials, createdAt: new Date().toISOString() }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      log(`influxd: wrote new credentials to ${relative(file)} (mode 0600)`);
    }
  }
  return credentials;
}

function influxConfig(dataDir: string, port: number, rpcPort: number): string {
  const q = (s: string) => JSON.stringify(s); // a TOML basic string
  return `# Written by infra/servers.ts on every start; edits are overwritten.
reporting-disabled = true
bind-address = ${q(`${HOST}:${rpcPort}`)}

[meta]
  dir = ${q(path.join(dataDir, 'meta'))}
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = ${q(path.join(dataDir, 'data'))}
  wal-dir = ${q(path.join(dataDir, 'wal'))}
  index-version = "inmem"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = ${q(`${HOST}:${port}`)}
  auth-enabled = true
  flux-enabled = false
  log-enabled = true
  suppress-write-log = true
  pprof-enabled = false
  ping-auth-enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[continuous_queries]
  enabled = true
  log-enabled = false
`;
}

interface InfluxQueryResult {
  status: number;
  body: string;
}

async function influxQuery(url: string, q: string, init: { db?: string; token?: string } = {}): Promise<InfluxQueryResult> {
  const params = new URLSearchParams({ q });
  if (init.db) params.set('db', init.db);
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (init.token) headers['Authorization'] = `Token ${init.token}`;
  const response = await fetch(`${url}/query`, { method: 'POST', headers, body: params, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

function influxError(result: InfluxQueryResult): string | undefined {
  if (result.status !== 200) return `HTTP ${result.status}: ${result.body.trim()}`;
  const parsed = JSON.parse(result.body) as { error?: string; results?: { error?: string }[] };
  return parsed.error ?? parsed.results?.find((r) => r.error)?.error;
}

async function setUpInflux(url: string, dataDir: string, credentials: InfluxCredentials, database: string): Promise<void> {
  const token = `${credentials.user}:${credentials.password}`;
  const probe = await influxQuery(url, 'SHOW USERS', { token });
  if (probe.status !== 200) {
    if (/create admin user first/i.test(probe.body)) {
      const password = credentials.password.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
      const created = await influxQuery(url, `CREATE USER "${credentials.user}" WITH PASSWORD '${password}' WITH ALL PRIVILEGES`);
      const problem = influxError(created);
      if (problem) throw new Error(`influxd: creating the admin user failed: ${problem}`);
      log(`influxd: created admin user "${credentials.user}"`);
    } else if (probe.status === 401 || probe.status === 403) {
      throw new Error(
        `influxd: the server in ${dataDir} rejects the credentials of ${influxCredentialsFile(dataDir)} (${probe.body.trim()}). ` +
          'The users in meta/ and credentials.json disagree: restore the file, or remove the whole data folder to start afresh.',
      );
    } else {
      throw new Error(`influxd: SHOW USERS failed: HTTP ${probe.status} ${probe.body.trim()}`);
    }
  }
  const problem = influxError(await influxQuery(url, `CREATE DATABASE "${database.replace(/"/g, '\\"')}"`, { token }));
  if (problem) throw new Error(`influxd: creating database ${database} failed: ${problem}`);
}

export function startInfluxd(options: InfluxdServerOptions): Promise<RunningInfluxd> {
  return retryOnPortRace(options.port === 0 || options.rpcPort === 0, 'influxd', () => startInfluxdOnce(options));
}

async function startInfluxdOnce(options: InfluxdServerOptions): Promise<RunningInfluxd> {
  const dataDir = path.resolve(options.dataDir);
  const database = options.database ?? 'sewer';
  const logFile = path.resolve(options.logFile ?? path.join(dataDir, 'influxd.log'));
  await fsp.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await checkNotRunning(dataDir, 'influxd');
  const credentials = await loadOrCreateInfluxCredentials(dataDir, { user: options.adminUser, password: options.adminPassword });
  const binary = options.binary ?? (await ensureInfluxdBinary());
  const requestedPort = options.port ?? 8086;
  const port = await resolvePort(requestedPort, 'influxd HTTP');
  let rpcPort: number;
  if (options.rpcPort !== undefined) rpcPort = await resolvePort(options.rpcPort, 'influxd RPC');
  else if (requestedPort === 0) rpcPort = await findFreePort();
  else {
    // Default: HTTP port + 2 (8088 for 8086), or any free port when that one is taken.
    rpcPort = await resolvePort(port + 2, 'influxd RPC').catch(async () => {
      const free = await findFreePort();
      log(`influxd: RPC port ${port + 2} is in use; using ${free}`);
      return free;
    });
  }
  while (rpcPort === port) rpcPort = await findFreePort();
  const configFile = path.join(dataDir, 'influxdb.conf');
  await fsp.writeFile(configFile, influxConfig(dataDir, port, rpcPort));
  const url = `http://${HOST}:${port}`;
  const started = Date.now();
  const spawned = await spawnServer(binary, ['run', '-config', configFile], logFile, 'influxd');
  await waitUntilReady('influxd', spawned, logFile, options.readyTimeoutMs ?? 60_000, async () => {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return response.status === 204;
  });
  try {
    await setUpInflux(url, dataDir, credentials, database);
  } catch (error) {
    await stopChild(spawned.child, 'influxd', 15_000);
    throw error;
  }
  await recordRunning(dataDir, {
    name: 'influxd',
    pid: spawned.pid,
    startedAt: new Date().toISOString(),
    logFile,
    endpoints: { url, database, rpc: `${HOST}:${rpcPort}`, credentials: influxCredentialsFile(dataDir) },
  });
  log(`influxd: ready at ${url} (database ${database}) in ${((Date.now() - started) / 1000).toFixed(1)} s, pid ${spawned.pid}`);
  let stopping: Promise<void> | undefined;
  return {
    url,
    token: `${credentials.user}:${credentials.password}`,
    database,
    username: credentials.user,
    pid: spawned.pid,
    dataDir,
    logFile,
    configFile,
    stop: () =>
      (stopping ??= (async () => {
        await stopChild(spawned.child, 'influxd', 15_000);
        await clearRunning(dataDir, 'influxd', spawned.pid);
      })()),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Servers recorded under .data (for the stop and status commands)
// ---------------------------------------------------------------------------------------------------------

export interface RecordedServer {
  name: 'temporal' | 'influxd';
  dataDir: string;
  pid: number | undefined;
  running: boolean;
  endpoints: Record<string, string>;
  logFile: string | undefined;
}

export async function recordedServers(dataDirs: { temporal: string; influxdb: string } = defaultDataDirs): Promise<RecordedServer[]> {
  const out: RecordedServer[] = [];
  for (const [name, dataDir] of [
    ['temporal', dataDirs.temporal],
    ['influxd', dataDirs.influxdb],
  ] as const) {
    const pid = Number.parseInt(await fsp.readFile(path.join(dataDir, pidFileName[name]), 'utf8').catch(() => ''), 10);
    const state = JSON.parse(await fsp.readFile(path.join(dataDir, stateFileName), 'utf8').catch(() => '{}')) as Partial<StateFile>;
    const known = Number.isInteger(pid) && pid > 0;
    out.push({
      name,
      dataDir,
      pid: known ? pid : undefined,
      running: known && (await isOurServer(pid, name)),
      endpoints: state.pid === pid ? (state.endpoints ?? {}) : {},
      logFile: state.logFile,
    });
  }
  return out;
}

/** Stop the servers recorded in the pid files (started by another process). */
export async function stopRecordedServers(dataDirs: { temporal: string; influxdb: string } = defaultDataDirs): Promise<string[]> {
  const lines: string[] = [];
  for (const server of await recordedServers(dataDirs)) {
    if (!server.pid || !server.running) {
      lines.push(`${server.name}: not running`);
      await fsp.rm(path.join(server.dataDir, pidFileName[server.name]), { force: true });
      continue;
    }
    const pid = server.pid;
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 15_000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      while (isAlive(pid)) await sleep(100);
      lines.push(`${server.name}: killed pid ${pid} (no exit 15 s after SIGTERM)`);
    } else {
      lines.push(`${server.name}: stopped pid ${pid}`);
    }
    await fsp.rm(path.join(server.dataDir, pidFileName[server.name]), { force: true });
    await fsp.rm(path.join(server.dataDir, stateFileName), { force: true });
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'temporal-port': { type: 'string' },
      'ui-port': { type: 'string' },
      'influx-port': { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  const dataRoot = values['data-dir'] ? path.resolve(values['data-dir']) : undefined;
  const dataDirs = dataRoot ? { temporal: path.join(dataRoot, 'temporal'), influxdb: path.join(dataRoot, 'influxdb') } : defaultDataDirs;
  const portOption = (name: 'temporal-port' | 'ui-port' | 'influx-port', fallback: number) => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${name} ${raw}: expected a port number (0 = any free port)`);
    return n;
  };

  switch (command) {
    case 'ensure': {
      const which = rest.length > 0 ? rest : ['temporal', 'influxd'];
      for (const name of which) {
        if (name === 'temporal') await ensureTemporalBinary();
        else if (name === 'influxd') await ensureInfluxdBinary();
        else throw new Error(`ensure: unknown server ${name} (temporal, influxd)`);
      }
      return 0;
    }
    case 'start': {
      const [temporalBinary, influxdBinary] = [await ensureTemporalBinary(), await ensureInfluxdBinary()];
      const results = await Promise.allSettled([
        startTemporal({ dataDir: dataDirs.temporal, port: portOption('temporal-port', 7233), uiPort: portOption('ui-port', 8233), binary: temporalBinary }),
        startInfluxd({ dataDir: dataDirs.influxdb, port: portOption('influx-port', 8086), binary: influxdBinary }),
      ]);
      const [temporal, influx] = results;
      if (temporal.status === 'rejected' || influx.status === 'rejected') {
        if (temporal.status === 'fulfilled') await temporal.value.stop();
        if (influx.status === 'fulfilled') await influx.value.stop();
        for (const r of results) if (r.status === 'rejected') process.stderr.write(`${errorMessage(r.reason)}\n`);
        return 1;
      }
      const t = temporal.value;
      const i = influx.value;
      process.stdout.write(
        [
          `Temporal   ${t.address} (namespace ${t.namespace})   Web UI ${t.uiUrl}`,
          `InfluxDB   ${i.url} (database ${i.database}, user ${i.username}; password in ${relative(influxCredentialsFile(i.dataDir))})`,
          `Logs       ${relative(t.logFile)}, ${relative(i.logFile)}`,
          'Press Ctrl-C to stop.',
          '',
        ].join('\n'),
      );
      const reason = await new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
        // An unexpected exit of a server ends the session too (the timer also keeps this process alive).
        const timer = setInterval(() => {
          for (const [server, pid] of [
            ['temporal', t.pid],
            ['influxd', i.pid],
          ] as const) {
            if (!isAlive(pid)) {
              clearInterval(timer);
              resolve(`${server} (pid ${pid}) exited unexpectedly; see ${relative(server === 'temporal' ? t.logFile : i.logFile)}`);
            }
          }
        }, 1000);
      });
      process.stdout.write(`Stopping (${reason})…\n`);
      await Promise.all([t.stop(), i.stop()]);
      process.stdout.write('Stopped.\n');
      return 0;
    }
    case 'stop': {
      for (const line of await stopRecordedServers(dataDirs)) process.stdout.write(`${line}\n`);
      return 0;
    }
    case 'status': {
      for (const s of await recordedServers(dataDirs)) {
        const where = Object.entries(s.endpoints)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ');
        process.stdout.write(`${s.name}: ${s.running ? `running, pid ${s.pid}${where ? `, ${where}` : ''}` : 'not running'} (data ${relative(s.dataDir)})\n`);
      }
      return 0;
    }
    default:
      process.stdout.write(
        'Usage: tsx infra/servers.ts ensure [temporal|influxd] | start [--temporal-port N] [--ui-port N] [--influx-port N] [--data-dir DIR] | stop | status\n',
      );
      return values.help ? 0 : 2;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${errorMessage(error)}\n`);
      process.exit(1);
    },
  );
}
