// Link outages between ingest and a running OPC UA server (the simulator behind a TCP proxy that is cut and
// restored while the simulation keeps running): what comes back, and that every gap is written as an
// ingest_gap point through the pipeline, next to the readings.
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { consoleLogger, silentLogger } from '../../ingest/log.js';
import { startIngest, type IngestHandle, type IngestOptions } from '../../ingest/service.js';
import type { LineWriter } from '../../ingest/writer.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createSimulation, type Simulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import { until as untilTrue } from '../support/until.js';

const verbose = process.env['INGEST_TEST_VERBOSE'] === '1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let tmp: string;
let network: NetworkConfig;
let simulation: Simulation;
let simulator: SimulatorServerHandle;
let proxy: net.Server;
let proxyPort: number;
let linkUp = true;
const sockets = new Set<net.Socket>();
let stepper: NodeJS.Timeout | undefined;
let runs = 0;

const until = <T>(what: string, timeoutMs: number, check: () => T | Promise<T>) => untilTrue(what, timeoutMs, check);

/** Drop every connection through the proxy and refuse new ones for `ms`; returns the simulated times at the cut and at the return. */
async function cutLink(ms: number): Promise<{ cutAtUtcMs: number; backAtUtcMs: number }> {
  const cutAtUtcMs = simulation.timeUtcMs;
  linkUp = false;
  for (const s of sockets) s.destroy();
  await sleep(ms);
  linkUp = true;
  return { cutAtUtcMs, backAtUtcMs: simulation.timeUtcMs };
}

interface Linked {
  ingest: IngestHandle;
  lines: string[];
}

/** Ingest through the proxy into a writer that keeps every line (the pipeline, spool and all, as in production). */
async function startLinked(options: Partial<IngestOptions>): Promise<Linked> {
  const lines: string[] = [];
  const writer: LineWriter = {
    write: async (batch) => {
      lines.push(...batch);
    },
    close: async () => undefined,
  };
  const ingest = await startIngest({
    network,
    endpointUrl: `opc.tcp://127.0.0.1:${proxyPort}`,
    influx: { url: 'http://127.0.0.1:1', token: 'x', org: 'x', bucket: 'x', database: 'x' },
    spoolDir: path.join(tmp, `spool-${runs++}`),
    samplingIntervalMs: 100,
    publishingIntervalMs: 200,
    reconnect: { initialDelayMs: 250, maxDelayMs: 1000 },
    flushIntervalMs: 100,
    writer,
    logger: verbose ? consoleLogger('test', 'debug') : silentLogger,
    ...options,
  });
  await ingest.waitUntilSubscribed(20_000);
  return { ingest, lines };
}

interface GapPoint {
  reason: string;
  startUtcMs: number;
  fields: Record<string, string>;
}

function gapPoints(lines: readonly string[]): GapPoint[] {
  return lines
    .filter((l) => l.startsWith('ingest_gap,'))
    .map((l) => {
      const m = /^ingest_gap,reason=(\S+) (.*) (-?\d+)$/.exec(l);
      assert.ok(m, `an ingest_gap line: ${l}`);
      const fields: Record<string, string> = {};
      for (const f of m[2]!.match(/[a-zA-Z]+=("(?:[^"\\]|\\.)*"|[^,]+)/g) ?? []) {
        const eq = f.indexOf('=');
        fields[f.slice(0, eq)] = f.slice(eq + 1).replace(/^"|"$/g, '');
      }
      return { reason: m[1]!, startUtcMs: Number(m[3]), fields };
    });
}

/** Source times of W1's level in the lines written. */
const w1Levels = (lines: readonly string[]) => lines.filter((l) => l.startsWith('station,id=W1 ') && /[ ,]levelM=/.test(l)).map((l) => Number(l.split(' ').at(-1)));

before(async () => {
  tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'sewer-ingest-link-'));
  network = await loadNetworkFile(referenceNetworkPath);
  simulation = createSimulation({ network, startUtcMs: Math.floor(Date.now() / 3_600_000) * 3_600_000 });
  simulator = await startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, publishIntervalMs: 50, pkiFolder: path.join(tmp, 'pki') });
  proxy = net.createServer((client) => {
    if (!linkUp) {
      client.destroy();
      return;
    }
    const upstream = net.connect(simulator.port, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyPort = (proxy.address() as net.AddressInfo).port;
  // One simulated minute every 100 ms: every level moves at every step.
  stepper = setInterval(() => simulator.advance(1), 100);
});

after(async () => {
  if (stepper) clearInterval(stepper);
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => proxy?.close(() => resolve()));
  await simulator?.close();
  await fsp.rm(tmp, { recursive: true, force: true });
});

test('an outage shorter than the subscription lifetime: the subscription comes back with every sample queued, and the outage is a connection-lost gap', async () => {
  // Lifetime 200 ms × 30 = 6 s; the default queue holds 6 s at 100 ms (63 values per item).
  const { ingest, lines } = await startLinked({ keepAliveCount: 5, lifetimeCount: 30 });
  try {
    await sleep(1500);
    const s0 = ingest.stats().subscriber;
    assert.equal(s0.queueSize, 63);
    assert.ok(s0.staleAfterMs >= 6000, `staleAfterMs ${s0.staleAfterMs} ≥ the 6 s lifetime`);
    const { cutAtUtcMs, backAtUtcMs } = await cutLink(3000);
    const gap = await until('a connection-lost gap point', 20_000, async () => {
      await ingest.flush();
      return gapPoints(lines).find((g) => g.reason === 'connection-lost');
    });
    await sleep(1000);
    await ingest.flush();
    const s1 = ingest.stats().subscriber;
    if (verbose) console.log({ gap, s1 });
    assert.equal(s1.overflows, 0, 'the server discarded no sample');
    assert.equal(s1.recreated, 0, 'not torn down and re-created');
    assert.equal(s1.subscriptionsCreated, s0.subscriptionsCreated, 'the same subscription came back');
    assert.deepEqual(
      gapPoints(lines).map((g) => g.reason),
      ['connection-lost'],
    );
    // The gap in network (simulated) time, as the readings are stamped.
    assert.ok(gap.startUtcMs <= cutAtUtcMs && gap.startUtcMs >= cutAtUtcMs - 5 * 60_000, `gap starts at the last data before the cut (${new Date(gap.startUtcMs).toISOString()} vs cut ${new Date(cutAtUtcMs).toISOString()})`);
    assert.ok(Number(gap.fields['endUtcMs']) >= backAtUtcMs - 5 * 60_000, 'and ends once data flows again');
    assert.equal(gap.fields['tags'], '*');
    assert.equal(Number(gap.fields['items']), ingest.stats().tags);
    assert.equal(gap.fields['open'], 'false');
    assert.ok(Number(gap.fields['wallDurationMs']) >= 2500, `wall duration ${gap.fields['wallDurationMs']} ms covers the 3 s cut`);
    // The queue carried the samples taken during the outage: most steps of W1's level are there.
    const during = w1Levels(lines).filter((t) => t > cutAtUtcMs && t <= backAtUtcMs);
    const steps = (backAtUtcMs - cutAtUtcMs) / 60_000;
    assert.ok(during.length >= steps * 0.6, `W1 levels during the outage: ${during.length} of ${steps} steps`);
  } finally {
    await ingest.stop();
  }
});

test('a queue too small for the outage: the samples the server discarded are a queue-overflow gap naming the items', async () => {
  const { ingest, lines } = await startLinked({ keepAliveCount: 5, lifetimeCount: 30, queueSize: 3 });
  try {
    await sleep(1000);
    const { cutAtUtcMs } = await cutLink(3000);
    const overflow = await until('a queue-overflow gap point', 20_000, async () => {
      await ingest.flush();
      return gapPoints(lines).find((g) => g.reason === 'queue-overflow');
    });
    const s = ingest.stats().subscriber;
    assert.ok(s.overflows > 0 && s.gaps['queue-overflow'] >= 1, JSON.stringify(s.gaps));
    assert.ok(overflow.fields['tags']!.split(',').includes('W1/levelM'), `W1/levelM among ${overflow.fields['tags']!.slice(0, 200)}`);
    assert.ok(Number(overflow.fields['items']) > 10);
    assert.ok(overflow.startUtcMs <= cutAtUtcMs + 60_000, 'from the last sample delivered before the discards');
    assert.ok(Number(overflow.fields['endUtcMs']) > overflow.startUtcMs, 'to the first one after them');
    assert.match(overflow.fields['detail']!, /discarded samples of \d+ item\(s\) \(queue of 3 full\)/);
  } finally {
    await ingest.stop();
  }
});

test('an outage longer than the subscription lifetime: a new subscription, one subscription-recreated gap; a gap open at stop is written as open', async () => {
  // Lifetime asked for: 200 ms × 15 = 3 s, re-create after 4 s without a Publish response.
  const { ingest, lines } = await startLinked({ keepAliveCount: 5, lifetimeCount: 15 });
  try {
    await sleep(1000);
    const s0 = ingest.stats().subscriber;
    // The server may grant a longer lifetime than asked for (node-opcua: at least 5 s); re-create waits for it.
    assert.ok(s0.staleAfterMs >= 4000 && s0.staleAfterMs >= s0.revisedLifetimeMs!, `staleAfterMs ${s0.staleAfterMs}, revised lifetime ${s0.revisedLifetimeMs}`);
    const { cutAtUtcMs, backAtUtcMs } = await cutLink(s0.staleAfterMs + 2000);
    const gap = await until('a subscription-recreated gap point', 40_000, async () => {
      await ingest.flush();
      return gapPoints(lines).find((g) => g.reason === 'subscription-recreated');
    });
    const s1 = ingest.stats().subscriber;
    assert.ok(s1.subscriptionsCreated > s0.subscriptionsCreated, 'a new subscription');
    assert.deepEqual(
      gapPoints(lines).map((g) => g.reason),
      ['subscription-recreated'],
      'one gap for one outage (the connection-lost gap became subscription-recreated)',
    );
    assert.ok(gap.startUtcMs <= cutAtUtcMs && gap.startUtcMs >= cutAtUtcMs - 5 * 60_000);
    assert.ok(Number(gap.fields['endUtcMs']) >= backAtUtcMs, 'ends at the network time data resumed at');
    assert.equal(gap.fields['tags'], '*');

    // Cut again and stop while the link is down: the gap is still written, marked open.
    linkUp = false;
    for (const s of sockets) s.destroy();
    await until('the loss to be seen', 15_000, () => ingest.stats().subscriber.state !== 'subscribed');
    await ingest.stop({ drainTimeoutMs: 5000 });
    const open = gapPoints(lines).filter((g) => g.fields['open'] === 'true');
    assert.equal(open.length, 1, lines.filter((l) => l.startsWith('ingest_gap')).join('\n'));
    assert.match(open[0]!.fields['detail']!, /stopped before data came back/);
  } finally {
    linkUp = true;
    await ingest.stop();
  }
});
