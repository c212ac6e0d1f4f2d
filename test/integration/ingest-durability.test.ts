// Ingest where telemetry used to be lost, against real servers:
//  - a real InfluxDB 1.8 refusing one point of a batch (a field type conflict) and a point dated 1601 (OPC UA
//    DateTime 0): only those two go to rejected.lp, each with its own error; every other point is stored;
//  - the real `ingest/main.ts` process, subscribed to the OPC UA simulator, with an InfluxDB that accepts
//    connections and never answers: SIGTERM → it exits within its deadline (ingest/shutdown.ts), shorter than
//    infra/dev-stack.ts's grace period, with every point received in the spool; a second process on the same
//    spool folder exits with code 2, naming the folder and the PID holding it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createInfluxConnector } from '../../connectors/influx.js';
import { ensureInfluxdBinary, startInfluxd, type RunningInfluxd } from '../../infra/servers.js';
import { createPipeline } from '../../ingest/pipeline.js';
import { INGEST_STOP_DEADLINE_MS } from '../../ingest/shutdown.js';
import { Spool } from '../../ingest/spool.js';
import { createInfluxLineWriter } from '../../ingest/writer.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { repoRoot } from '../../runtime/paths.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
let tmp: string;
let influxd: RunningInfluxd | undefined;
let simulator: SimulatorServerHandle | undefined;
let stepper: NodeJS.Timeout | undefined;
const children: ChildProcess[] = [];

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-ingest-durability-'));
  process.env['SERVERS_QUIET'] ??= '1';
});

after(async () => {
  if (stepper) clearInterval(stepper);
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await simulator?.close();
  await influxd?.stop();
  await fsp.rm(tmp, { recursive: true, force: true });
});

test('InfluxDB 1.8 refusing one point of a batch, and a point dated 1601: only those two are dead-lettered, each with its error; the rest is stored', async () => {
  influxd = await startInfluxd({ dataDir: path.join(tmp, 'influxdb'), port: 0, binary: await ensureInfluxdBinary(), database: 'sewer' });
  const target = { url: influxd.url, token: influxd.token, org: '-', bucket: 'sewer' };
  const spoolDir = path.join(tmp, 'spool-refused');
  const pipeline = createPipeline({ writer: createInfluxLineWriter(target), spool: { dir: spoolDir, fsync: false }, batchSize: 5000, flushIntervalMs: 50 });
  const t0 = Date.UTC(2026, 0, 1);
  const lines = Array.from({ length: 1000 }, (_, i) => `station,id=DUR levelM=${i + 0.5} ${t0 + i}`);
  const conflict = `station,id=DUR levelM=true ${t0 + 5000}`;
  const dated1601 = `station,id=DUR levelM=7.5 -11644473600000`;
  lines.splice(500, 0, conflict);
  lines.splice(700, 0, dated1601);
  pipeline.pushMany(lines);
  assert.ok(await pipeline.drain(20_000), 'drained');
  const c = await pipeline.close();
  assert.deepEqual([c.received, c.written, c.rejected, c.dropped], [1002, 1000, 2, 0]);
  const influx = createInfluxConnector({ ...target, database: 'sewer' });
  const count = await influx.query(`SELECT COUNT("levelM") FROM "station" WHERE "id" = 'DUR'`);
  assert.equal(Number(count[0]?.values[0]?.[1]), 1000, 'InfluxDB holds every good point of the batch');
  const dead = fs.readFileSync(path.join(spoolDir, 'rejected.lp'), 'utf8').split('\n');
  const data = dead.filter((l) => l !== '' && !l.startsWith('#'));
  assert.deepEqual(data.sort(), [conflict, dated1601].sort());
  const errorOf = (line: string) => dead[dead.indexOf(line) - 1] ?? '';
  assert.match(errorOf(conflict), /^# \S+ InfluxDB .* refused the line: HTTP 400 .*field type conflict/);
  assert.match(errorOf(dated1601), /^# \S+ not sent: measurement "station", tags id=DUR: time 1601-01-01T00:00:00\.000Z .* OPC UA DateTime 0/);
  await influxd.stop();
  influxd = undefined;
});

/** `node --import tsx ingest/main.ts …` (no wrapper process, so its PID is the one in the spool lock). */
function startMain(spoolDir: string, endpointUrl: string, influxUrl: string): { child: ChildProcess; output: () => string; exited: Promise<{ code: number | null; atMs: number }> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'ingest/main.ts', '--spool-dir', spoolDir, '--sampling-ms', '100', '--publishing-ms', '200', '--flush-ms', '100', '--batch-size', '500', '--stats-every-s', '0'],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: os.tmpdir(),
        NETWORK_FILE: path.relative(repoRoot, referenceNetworkPath),
        OPCUA_ENDPOINT: endpointUrl,
        OPCUA_SECURITY_MODE: 'None',
        INFLUX_URL: influxUrl,
        INFLUX_TOKEN: 'user:password',
        LOG_LEVEL: 'info',
        INGEST_SPOOL_MAX_MB: '64',
      },
    },
  );
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) => child.once('exit', (code) => resolve({ code, atMs: Date.now() })));
  return { child, output: () => output, exited };
}

let running: { main: ReturnType<typeof startMain>; spoolDir: string; endpointUrl: string; influxUrl: string; closeBlackHole: () => void } | undefined;

/** The simulator, an InfluxDB that accepts connections and never answers, and ingest/main.ts subscribed, values flowing. */
async function mainRunning(): Promise<NonNullable<typeof running>> {
  if (running) return running;
  const network = await loadNetworkFile(referenceNetworkPath);
  const simulation = createSimulation({ network, startUtcMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 });
  simulator = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, publishIntervalMs: 50, pkiFolder: path.join(tmp, 'pki') });
  stepper = setInterval(() => simulator?.advance(1), 100);
  // Each write hangs until the client's 10 s timeout.
  const sockets = new Set<net.Socket>();
  const blackHole = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
  const influxUrl = `http://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`;
  const spoolDir = path.join(tmp, 'spool-main');
  const main = startMain(spoolDir, simulator.endpointUrl, influxUrl);
  const deadline = Date.now() + 60_000;
  while (!/ingest: running/.test(main.output()) || !/subscriber: subscribed/.test(main.output())) {
    if (Date.now() > deadline || main.child.exitCode !== null) assert.fail(`ingest did not start:\n${main.output()}`);
    await sleep(100);
  }
  assert.match(main.output(), /ingest: running .*spoolMaxBytes=67108864/, 'INGEST_SPOOL_MAX_MB reaches the spool');
  await sleep(3000); // values flow; writes hang in flight
  running = {
    main,
    spoolDir,
    endpointUrl: simulator.endpointUrl,
    influxUrl,
    closeBlackHole: () => {
      for (const s of sockets) s.destroy();
      blackHole.close();
    },
  };
  return running;
}

after(() => running?.closeBlackHole());

test('a second ingest/main.ts on the same spool folder exits with code 2, naming the folder and the PID holding it', async () => {
  const { main, spoolDir, endpointUrl, influxUrl } = await mainRunning();
  const second = startMain(spoolDir, endpointUrl, influxUrl);
  const secondExit = await Promise.race([second.exited, sleep(30_000).then(() => undefined)]);
  if (!secondExit) {
    second.child.kill('SIGKILL');
    assert.fail(`a second ingest on ${spoolDir} was not refused; it ran for 30 s:\n${second.output().slice(-2000)}`);
  }
  assert.equal(secondExit.code, 2, second.output());
  assert.match(second.output(), new RegExp(`Cannot start: spool ${spoolDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is in use by process ${main.child.pid}`));
});

test('ingest/main.ts with InfluxDB never answering: SIGTERM → exit within its deadline (shorter than npm start\'s grace), every point received in the spool', async (t) => {
  const { main, spoolDir } = await mainRunning();
  const sentAt = Date.now();
  main.child.kill('SIGTERM');
  const { code, atMs } = await main.exited;
  const tookMs = atMs - sentAt;
  assert.equal(code, 0, main.output());
  assert.ok(tookMs <= INGEST_STOP_DEADLINE_MS, `stopped in ${tookMs} ms, deadline ${INGEST_STOP_DEADLINE_MS} ms`);
  const devStack = fs.readFileSync(path.join(repoRoot, 'infra', 'dev-stack.ts'), 'utf8');
  assert.match(devStack, /const stopGraceMs = INGEST_STOP_DEADLINE_MS \+ 5_000;/, 'npm start waits longer than that before SIGKILL');

  const closed = /pipeline: closed received=(\d+) written=(\d+) .*dropped=(\d+)/.exec(main.output());
  assert.ok(closed, `closing counters logged:\n${main.output().slice(-3000)}`);
  const [received, written, dropped] = [Number(closed[1]), Number(closed[2]), Number(closed[3])];
  assert.ok(received > 100, `points received (${received})`);
  assert.deepEqual([written, dropped], [0, 0]);
  assert.ok(!fs.existsSync(path.join(spoolDir, 'lock')), 'the lock is released');
  const spool = Spool.open({ dir: spoolDir, fsync: false });
  try {
    assert.equal(spool.pendingLines, received, 'every point received is in the spool');
  } finally {
    spool.close();
  }
  t.diagnostic(`stopped in ${tookMs} ms; ${received} points received, all in the spool`);
});
