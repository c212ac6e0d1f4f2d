// The spool and pipeline where telemetry used to be lost or a process crash: a second process on the same
// spool folder, refused points dead-lettering their whole batch, a rejected.lp that cannot be written, the
// spool's budget, and a shutdown that waited on InfluxDB with everything still in memory.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { IngestLogger } from '../../ingest/log.js';
import { createPipeline, type Pipeline } from '../../ingest/pipeline.js';
import { Spool, SpoolFullError, SpoolLockedError } from '../../ingest/spool.js';
import { WriteRejectedError, WriteUnavailableError, type LineWriter } from '../../ingest/writer.js';
import { repoRoot } from '../../runtime/paths.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingest-pipeline-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `station,id=W${(from + i) % 7} levelM=${from + i} ${1_700_000_000_000 + from + i}`);
const segmentLines = () =>
  fs
    .readdirSync(dir)
    .filter((n) => /^\d{12}\.lp$/.test(n))
    .sort()
    .flatMap((n) => fs.readFileSync(path.join(dir, n), 'utf8').split('\n').filter(Boolean));
const deadLines = () =>
  fs
    .readFileSync(path.join(dir, 'rejected.lp'), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));

const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

function recordingLogger(): IngestLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug: () => undefined, info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
}

/** A process holding the spool folder open (as a second ingest would): resolves once it has it. */
async function otherProcessHolding(spoolDir: string): Promise<ChildProcess> {
  const spoolUrl = pathToFileURL(path.join(repoRoot, 'ingest', 'spool.ts')).href;
  const code = `const { Spool } = await import(${JSON.stringify(spoolUrl)});
const s = Spool.open({ dir: ${JSON.stringify(spoolDir)}, fsync: false });
s.append(['m,held=by-child v=1 1', 'm,held=by-child v=2 2']);
process.stdout.write('open\\n');
setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('open') && resolve());
    child.once('exit', (code) => reject(new Error(`child exited ${code}`)));
  });
  return child;
}

describe('Spool lock', () => {
  test('the same folder opened twice in one process: the second open fails, naming folder and PID; close releases it', () => {
    const first = Spool.open({ dir, fsync: false });
    assert.throws(
      () => Spool.open({ dir, fsync: false }),
      (e: unknown) => e instanceof SpoolLockedError && e.message.includes(dir) && e.message.includes(`pid ${process.pid}`) && e.pid === process.pid,
    );
    first.append(lines(0, 2));
    first.close();
    assert.ok(!fs.existsSync(path.join(dir, 'lock')), 'close removes the lock file');
    const again = Spool.open({ dir, fsync: false });
    assert.equal(again.pendingLines, 2);
    again.close();
  });

  test('another live process holds the folder: open fails naming folder and PID; once it is killed, its lock is taken over and its lines replayed', async () => {
    const child = await otherProcessHolding(dir);
    try {
      assert.throws(
        () => Spool.open({ dir, fsync: false }),
        (e: unknown) => e instanceof SpoolLockedError && e.message.includes(dir) && e.message.includes(`process ${child.pid}`) && e.pid === child.pid,
      );
    } finally {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    assert.ok(fs.existsSync(path.join(dir, 'lock')), 'a killed process leaves its lock behind');
    const logger = recordingLogger();
    const spool = Spool.open({ dir, fsync: false, logger });
    assert.ok(logger.warnings.includes('spool: took over a stale lock'));
    assert.deepEqual(spool.read(10)?.lines, ['m,held=by-child v=1 1', 'm,held=by-child v=2 2']);
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'lock'), 'utf8')) as { pid: number }).pid, process.pid);
    spool.close();
  });

  test('a lock naming a PID that now belongs to another process (its start time differs) is taken over', { skip: !fs.existsSync('/proc/self/stat') }, () => {
    // process.ppid is alive, but it is not the process that wrote this lock.
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: os.hostname(), procStart: '1', since: '2020-01-01T00:00:00Z' }));
    const spool = Spool.open({ dir, fsync: false });
    spool.close();
  });

  test('a lock from a live process on this host, or from another host, is respected', () => {
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: process.ppid, host: os.hostname() }));
    assert.throws(() => Spool.open({ dir, fsync: false }), new RegExp(`in use by process ${process.ppid}`));
    fs.writeFileSync(path.join(dir, 'lock'), JSON.stringify({ pid: 12345, host: 'elsewhere' }));
    assert.throws(() => Spool.open({ dir, fsync: false }), /in use by process 12345 on host elsewhere/);
  });
});

describe('Spool budget and dead letters', () => {
  test('rejected.lp counts against the budget: a dead letter beyond it fails, leaving rejected.lp as it was; so does an append', () => {
    const spool = Spool.open({ dir, fsync: false, maxBytes: 400 });
    spool.deadLetter(lines(0, 3).map((line) => ({ line, error: 'HTTP 400 bad' })));
    const before = fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8');
    assert.equal(spool.stats().rejectedBytes, before.length);
    assert.throws(() => spool.deadLetter(lines(3, 6).map((line) => ({ line, error: 'HTTP 400 bad' }))), SpoolFullError);
    assert.equal(fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8'), before);
    assert.throws(() => spool.append(lines(10, 8)), /would exceed its budget of 400 bytes .* in rejected\.lp/);
    // The operator moves rejected.lp away: room again.
    fs.renameSync(path.join(dir, 'rejected.lp'), path.join(dir, 'rejected-archived.txt'));
    spool.append(lines(10, 8));
    assert.equal(spool.stats().rejectedBytes, 0);
    spool.close();
  });

  test('dead letters are fdatasynced like segments, each line after its error', () => {
    const spool = Spool.open({ dir, fsync: true });
    const synced = mock.method(fs, 'fdatasyncSync');
    try {
      spool.deadLetter([
        { line: 'a v=1 1', error: 'HTTP 400 one' },
        { line: 'b v=1 1', error: 'HTTP 400 one' },
        { line: 'c v=1 1', error: 'HTTP 400\ntwo' },
      ]);
      assert.equal(synced.mock.callCount(), 1);
    } finally {
      synced.mock.restore();
    }
    assert.match(fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8'), /^# \S+ HTTP 400 one\na v=1 1\nb v=1 1\n# \S+ HTTP 400 two\nc v=1 1\n$/);
    spool.close();
  });

  test('a warning when usage crosses the high-water mark (80 %), once per crossing', () => {
    const logger = recordingLogger();
    const line = 'x'.repeat(99); // 100 bytes with its newline
    const spool = Spool.open({ dir, fsync: false, maxBytes: 1000, logger });
    spool.append(Array(7).fill(line));
    assert.deepEqual(logger.warnings, []);
    spool.append([line]);
    spool.append([line]);
    assert.deepEqual(logger.warnings, ['spool: above its high-water mark; at the budget new points are lost']);
    assert.equal(spool.stats().usedBytes, 900);
    // Replayed below the mark, then above again: warned again.
    spool.commit(spool.read(5)!);
    spool.append(Array(4).fill(line));
    assert.equal(logger.warnings.length, 2);
    spool.close();
  });
});

/** A fake InfluxDB: `down` fails like an unreachable server, `hang` never answers; a boolean levelM is refused (2.x: the whole request). */
class FakeInflux implements LineWriter {
  accepted: string[] = [];
  requests = 0;
  down = false;
  hang = false;
  async write(batch: readonly string[]): Promise<void> {
    this.requests++;
    if (this.hang) return new Promise(() => undefined);
    await new Promise((r) => setImmediate(r));
    if (this.down) throw new WriteUnavailableError('connect ECONNREFUSED', undefined);
    const bad = batch.find((l) => l.includes('levelM=true'));
    if (bad) throw new WriteRejectedError(`HTTP 400 field type conflict: '${bad}' is boolean, levelM is float`, 400);
    this.accepted.push(...batch);
  }
  async close(): Promise<void> {}
}

describe('Pipeline: refused points', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });
  const bad = 'station,id=W3 levelM=true 1700000000777';

  test('one refused point costs only itself: the rest of its batch of 5000 is written, it alone goes to rejected.lp with its error', async () => {
    const writer = new FakeInflux();
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 5000, flushIntervalMs: 20 });
    const batch = lines(0, 4999);
    batch.splice(1234, 0, bad);
    pipeline.pushMany(batch);
    assert.ok(await pipeline.drain(5000));
    const c = pipeline.counters();
    assert.deepEqual([c.received, c.written, c.rejected, c.dropped, c.spooled], [5000, 4999, 1, 0, 0]);
    assert.deepEqual([...writer.accepted].sort(), lines(0, 4999).sort());
    assert.deepEqual(deadLines(), [bad]);
    assert.match(fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8'), /^# \S+ HTTP 400 field type conflict: 'station,id=W3 levelM=true 1700000000777'/m);
  });

  test('on replay too: a refused point in a spooled chunk of 10 000 costs only itself', async () => {
    const writer = new FakeInflux();
    writer.down = true;
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 5000, flushIntervalMs: 20, retryInitialDelayMs: 10, retryMaxDelayMs: 20 });
    const all = lines(0, 9999);
    all.splice(7000, 0, bad);
    pipeline.pushMany(all);
    await until('everything spooled', () => pipeline!.counters().spooled === 10_000);
    writer.down = false;
    assert.ok(await pipeline.drain(5000));
    const c = pipeline.counters();
    assert.deepEqual([c.written, c.replayed, c.rejected, c.dropped, c.spoolPending], [9999, 9999, 1, 0, 0]);
    assert.deepEqual(writer.accepted, lines(0, 9999), 'the good points, in order');
    assert.deepEqual(deadLines(), [bad]);
  });

  test('a point dated 1601 (OPC UA DateTime 0) goes to rejected.lp naming measurement, tags and time; its batch is written', async () => {
    const writer = new FakeInflux();
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 20 });
    const zero = 'station,id=W5 levelM=1.5 -11644473600000';
    pipeline.pushMany([...lines(0, 5), zero, ...lines(5, 4)]);
    assert.ok(await pipeline.drain(5000));
    assert.deepEqual(writer.accepted, lines(0, 9));
    assert.equal(writer.requests, 1);
    assert.deepEqual(deadLines(), [zero]);
    assert.match(fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8'), /measurement "station", tags id=W5: time 1601-01-01T00:00:00\.000Z \(-11644473600000 ms\) is outside InfluxDB's range/);
    assert.equal(pipeline.counters().rejected, 1);
  });

  test('rejected.lp unwritable: no crash; the refused point stays in the spool, retried with backoff, and kept once it is writable', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      fs.mkdirSync(path.join(dir, 'rejected.lp')); // stands in for a full disk or an unwritable file
      const writer = new FakeInflux();
      pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 5, flushIntervalMs: 20, retryInitialDelayMs: 10, retryMaxDelayMs: 40 });
      pipeline.pushMany([...lines(0, 2), bad, ...lines(2, 2)]);
      await until('the failed dead letter', () => pipeline!.counters().deadLetterFailures >= 1);
      pipeline.pushMany(lines(4, 5));
      await until('retries from the spool', () => pipeline!.counters().deadLetterFailures >= 3);
      let c = pipeline.counters();
      assert.equal(c.mode, 'spooling');
      assert.deepEqual([c.rejected, c.dropped, c.spoolPending], [0, 0, 6], 'the refused point and the points behind it wait on disk');
      assert.deepEqual(writer.accepted.slice(0, 4), lines(0, 4), 'the good points of its batch were written');
      fs.rmdirSync(path.join(dir, 'rejected.lp'));
      assert.ok(await pipeline.drain(5000));
      c = pipeline.counters();
      assert.deepEqual([c.rejected, c.dropped, c.spoolPending, c.mode], [1, 0, 0, 'direct']);
      assert.deepEqual([...new Set(writer.accepted)].sort(), lines(0, 9).sort(), 'every good point written (some twice, harmlessly)');
      assert.deepEqual(deadLines(), [bad]);
      await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('Pipeline: stopping', () => {
  test('persist() puts the batches in flight and the queue on disk at once, in order; later points go straight to disk', async () => {
    const writer = new FakeInflux();
    writer.hang = true; // InfluxDB accepts the connection and never answers
    const pipeline = createPipeline({ writer, spool: { dir, fsync: true }, batchSize: 10, concurrency: 2, flushIntervalMs: 60_000 });
    pipeline.pushMany(lines(0, 35));
    await until('two requests in flight', () => writer.requests === 2);
    assert.deepEqual(segmentLines(), []);
    pipeline.persist();
    assert.deepEqual(segmentLines(), lines(0, 35), 'in flight (0–19) and queued (20–34), in order, on disk');
    pipeline.pushMany(lines(35, 3));
    assert.deepEqual(segmentLines(), lines(0, 38), 'a point pushed while stopping is on disk on return');
    const c = pipeline.counters();
    assert.deepEqual([c.queued, c.inFlight, c.spoolPending, c.stopping, c.dropped], [0, 0, 38, true, 0]);
    const started = Date.now();
    await pipeline.close({ drainTimeoutMs: 200 });
    assert.ok(Date.now() - started < 1500, `close kept to its deadline (${Date.now() - started} ms) though InfluxDB never answered`);
  });

  test('close() with InfluxDB hanging returns by its deadline; the next run writes everything, in order', async () => {
    const writer = new FakeInflux();
    writer.hang = true;
    const pipeline = createPipeline({ writer, spool: { dir, fsync: true }, batchSize: 10, concurrency: 2, flushIntervalMs: 20 });
    pipeline.pushMany(lines(0, 45));
    await until('requests in flight', () => writer.requests >= 2);
    const started = Date.now();
    const closed = await pipeline.close({ drainTimeoutMs: 300 });
    assert.ok(Date.now() - started < 1500, `closed in ${Date.now() - started} ms`);
    assert.deepEqual([closed.spoolPending, closed.dropped, closed.written], [45, 0, 0]);
    const next = new FakeInflux();
    const again = createPipeline({ writer: next, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 20, retryInitialDelayMs: 5 });
    assert.equal(again.counters().recovered, 45);
    assert.ok(await again.drain(5000));
    assert.deepEqual(next.accepted, lines(0, 45));
    await again.close();
  });

  test('close() with InfluxDB up writes the spool out before its deadline', async () => {
    const writer = new FakeInflux();
    const pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 60_000, retryInitialDelayMs: 5 });
    pipeline.pushMany(lines(0, 25));
    const closed = await pipeline.close({ drainTimeoutMs: 5000 });
    assert.deepEqual([closed.spoolPending, closed.dropped, closed.written], [0, 0, 25]);
    assert.deepEqual([...new Set(writer.accepted)].sort(), lines(0, 25).sort());
  });
});
