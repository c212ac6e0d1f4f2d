// The pipeline and spool when the disk or InfluxDB misbehave: a spool that cannot take points keeps them in
// memory and records any loss as an ingest_gap, an unwritable replay cursor leaves the chunk in the spool,
// failed replays are warned about with their reason and lastError is cleared once the pipeline recovers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { IngestLogger } from '../../ingest/log.js';
import { createPipeline, type Pipeline, type PointLoss } from '../../ingest/pipeline.js';
import { Spool } from '../../ingest/spool.js';
import { WriteUnavailableError, type LineWriter } from '../../ingest/writer.js';

const T0 = Date.UTC(2026, 11, 8);

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingest-spool-faults-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** A fake InfluxDB that can be switched off. */
class FakeWriter implements LineWriter {
  accepted: string[] = [];
  down = false;
  async write(batch: readonly string[]): Promise<void> {
    if (this.down) throw new WriteUnavailableError('connect ECONNREFUSED', undefined);
    this.accepted.push(...batch);
  }
  async close(): Promise<void> {}
}
const silent: IngestLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const capture = () => {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, ...(fields ? { fields } : {}) });
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } satisfies IngestLogger };
};
const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};
const points = (from: number, count: number) => Array.from({ length: count }, (_, i) => `station,id=W1 levelM=${from + i} ${T0 + from + i}`);

describe('spool full or unwritable', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  test('points stay in memory while it has room, and reach InfluxDB once it is back: none lost', async () => {
    const writer = new FakeWriter();
    writer.down = true;
    pipeline = createPipeline({ writer, spool: { dir, fsync: false, maxBytes: 16 * 1024 }, batchSize: 100, flushIntervalMs: 20, retryInitialDelayMs: 10, retryMaxDelayMs: 20, logger: silent });
    for (let i = 0; i < 3000; i += 100) {
      pipeline.pushMany(points(i, 100));
      await new Promise((r) => setTimeout(r, 2));
    }
    await pipeline.flush();
    const during = pipeline.counters();
    assert.equal(during.dropped, 0, 'nothing lost while memory has room');
    assert.ok(during.queued > 0 && during.spoolFailures > 0, `kept in memory (queued ${during.queued}) after the spool refused (${during.spoolFailures})`);
    writer.down = false;
    assert.ok(await pipeline.drain(10_000), 'drained');
    assert.deepEqual([...writer.accepted].sort(), points(0, 3000).sort(), 'every point in InfluxDB');
    assert.equal(pipeline.counters().dropped, 0);
  });

  test('memory full too: the loss is counted and written to InfluxDB as one spool-full gap with its count and span', async () => {
    const writer = new FakeWriter();
    writer.down = true;
    const losses: PointLoss[] = [];
    const lossLine = (loss: PointLoss) => {
      losses.push({ ...loss });
      return `ingest_gap,reason=spool-full endUtcMs=${loss.lastUtcMs},lostPoints=${loss.points} ${loss.firstUtcMs}`;
    };
    pipeline = createPipeline({ writer, lossLine, spool: { dir, fsync: false, maxBytes: 4 * 1024 }, batchSize: 10, maxQueueLines: 50, flushIntervalMs: 20, retryInitialDelayMs: 10, retryMaxDelayMs: 20, logger: silent });
    pipeline.pushMany(points(0, 400));
    await pipeline.flush();
    const dropped = pipeline.counters().dropped;
    assert.ok(dropped > 0, 'some points could not be kept anywhere');
    writer.down = false;
    await until('the gap in InfluxDB', () => writer.accepted.some((l) => l.startsWith('ingest_gap')));
    assert.ok(await pipeline.drain(10_000));
    const gaps = writer.accepted.filter((l) => l.startsWith('ingest_gap'));
    assert.equal(losses.reduce((a, l) => a + l.points, 0), dropped, 'every point lost is in a gap');
    assert.equal(gaps.length, losses.length);
    const kept = writer.accepted.filter((l) => l.startsWith('station'));
    assert.equal(kept.length + dropped, 400, 'written + lost = received');
    const lostTimes = points(0, 400)
      .filter((l) => !kept.includes(l))
      .map((l) => Number(l.split(' ').at(-1)));
    assert.deepEqual([losses[0]!.firstUtcMs, losses.at(-1)!.lastUtcMs], [Math.min(...lostTimes), Math.max(...lostTimes)]);
  });
});

describe('replay cursor cannot be written', () => {
  test('the chunk stays the head of the spool (read and sent again), nothing leaves the counters', () => {
    const spool = Spool.open({ dir, fsync: false });
    spool.append(points(0, 10));
    const chunk = spool.read(4)!;
    fs.mkdirSync(path.join(dir, 'cursor.json.tmp'));
    assert.throws(() => spool.commit(chunk), /EISDIR/);
    assert.equal(spool.pendingLines, 10, 'still pending');
    assert.deepEqual(spool.read(4)!.lines, points(0, 4), 'the same chunk again');
    fs.rmdirSync(path.join(dir, 'cursor.json.tmp'));
    spool.commit(spool.read(4)!);
    assert.equal(spool.pendingLines, 6);
    spool.close();
    const reopened = Spool.open({ dir, fsync: false });
    assert.deepEqual(reopened.read(100)!.lines, points(4, 6), 'the cursor file agrees');
    reopened.close();
  });
});

describe('operational visibility', () => {
  test('failed replays are warned about with their reason; lastError is cleared once the spool is replayed', async () => {
    const writer = new FakeWriter();
    const log = capture();
    writer.down = true;
    const pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 20, retryInitialDelayMs: 10, retryMaxDelayMs: 20, logger: log.logger });
    try {
      pipeline.pushMany(points(0, 30));
      await until('a failed replay', () => log.lines.some((l) => l.message.startsWith('pipeline: replaying the spool failed')));
      const warn = log.lines.find((l) => l.message.startsWith('pipeline: replaying the spool failed'))!;
      assert.equal(warn.level, 'warn');
      assert.match(String(warn.fields?.['error']), /ECONNREFUSED/);
      assert.match(pipeline.counters().lastError ?? '', /ECONNREFUSED/);
      writer.down = false;
      assert.ok(await pipeline.drain(5000));
      assert.equal(pipeline.counters().lastError, null, 'recovered: no stale error');
    } finally {
      await pipeline.close();
    }
  });
});
