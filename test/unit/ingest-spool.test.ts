// The disk spool and the pipeline in front of it: append and replay in order across segments, recovery
// after a crash (torn tail, cursor, leftovers), and the pipeline's counters through an outage, backpressure,
// refused data and a restart — with a fake InfluxDB writer that can be switched off.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { countFields, encodeLine, pointToLine, seriesKey } from '../../ingest/line-protocol.js';
import { createPipeline, type Pipeline } from '../../ingest/pipeline.js';
import { TelemetryEncoder } from '../../ingest/service.js';
import { Spool } from '../../ingest/spool.js';
import type { TagUpdate } from '../../ingest/subscriber.js';
import { WriteRejectedError, WriteUnavailableError, type LineWriter } from '../../ingest/writer.js';
import type { ResolvedTag } from '../../network/tags.js';

let dir: string;
beforeEach(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'ingest-spool-'));
});
afterEach(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `station,id=W${(from + i) % 7} levelM=${from + i} ${1_700_000_000_000 + from + i}`);
const segments = () => fs.readdirSync(dir).filter((n) => /^\d{12}\.lp$/.test(n)).sort();

/** Read everything from the spool in chunks of `n`, committing each. */
function drainSpool(spool: Spool, n: number): string[] {
  const out: string[] = [];
  for (let chunk = spool.read(n); chunk; chunk = spool.read(n)) {
    out.push(...chunk.lines);
    spool.commit(chunk);
  }
  return out;
}

describe('Spool', () => {
  test('replays in append order across segments, then removes delivered segments', () => {
    const spool = Spool.open({ dir, segmentMaxBytes: 400, fsync: false });
    const all = [...lines(0, 5), ...lines(5, 7), ...lines(12, 1), ...lines(13, 20)];
    spool.append(all.slice(0, 5));
    spool.append(all.slice(5, 12));
    spool.append(all.slice(12, 13));
    spool.append(all.slice(13));
    assert.ok(segments().length >= 3, `rotated into several segments (${segments().length})`);
    assert.equal(spool.pendingLines, all.length);
    const first = spool.read(3)!;
    assert.deepEqual(first.lines, all.slice(0, 3));
    assert.deepEqual(spool.read(3)!.lines, all.slice(0, 3), 'reading again without commit gives the same lines');
    spool.commit(first);
    assert.equal(spool.pendingLines, all.length - 3);
    assert.deepEqual(drainSpool(spool, 4), all.slice(3));
    assert.equal(spool.pendingLines, 0);
    assert.equal(spool.read(10), null);
    assert.deepEqual(segments(), [], 'delivered segments are deleted');
    spool.append(lines(100, 2));
    assert.deepEqual(drainSpool(spool, 10), lines(100, 2));
    const stats = spool.stats();
    assert.equal(stats.appendedLines, all.length + 2);
    assert.equal(stats.committedLines, all.length + 2);
    spool.close();
  });

  test('commits must follow reads in order', () => {
    const spool = Spool.open({ dir, fsync: false });
    spool.append(lines(0, 4));
    const a = spool.read(2)!;
    spool.commit(a);
    assert.throws(() => spool.commit(a), /out of order/);
    spool.close();
  });

  test('a reopened spool continues from the cursor; new lines go to a new segment behind the old ones', () => {
    const first = Spool.open({ dir, fsync: false });
    first.append(lines(0, 10));
    const chunk = first.read(4)!;
    first.commit(chunk);
    first.close();
    const before = segments();
    const second = Spool.open({ dir, fsync: false });
    assert.equal(second.stats().recoveredLines, 6);
    second.append(lines(10, 3));
    assert.equal(segments().length, before.length + 1, 'the old segment is never appended to again');
    assert.deepEqual(drainSpool(second, 5), [...lines(4, 6), ...lines(10, 3)]);
    second.close();
  });

  test('crash recovery: a torn last line is cut, stray temp files removed, the rest replayed', () => {
    const spool = Spool.open({ dir, fsync: false });
    spool.append(lines(0, 3));
    spool.close();
    const [segment] = segments();
    // The process died in the middle of an append.
    fs.appendFileSync(path.join(dir, segment!), 'station,id=W1 levelM=3.');
    fs.writeFileSync(path.join(dir, 'cursor.json.tmp'), '{"segm');
    const reopened = Spool.open({ dir, fsync: false });
    assert.equal(reopened.stats().truncatedBytes, 'station,id=W1 levelM=3.'.length);
    assert.ok(!fs.existsSync(path.join(dir, 'cursor.json.tmp')));
    assert.deepEqual(drainSpool(reopened, 100), lines(0, 3));
    reopened.close();
  });

  test('crash recovery: a cursor inside a line moves back to the line start; empty and delivered segments go', () => {
    const spool = Spool.open({ dir, fsync: false, segmentMaxBytes: 200 });
    spool.append(lines(0, 3));
    spool.append(lines(3, 3));
    spool.close();
    const names = segments();
    assert.equal(names.length, 2);
    const secondSeq = Number(names[1]!.slice(0, 12));
    const secondLines = fs.readFileSync(path.join(dir, names[1]!), 'utf8').split('\n');
    assert.deepEqual(secondLines.slice(0, 3), lines(3, 3));
    // The process died after delivering the 1st segment and the 1st line of the 2nd, with the cursor
    // (hypothetically) written half-way into the 2nd line, and an empty segment created.
    fs.writeFileSync(path.join(dir, 'cursor.json'), JSON.stringify({ segment: secondSeq, offset: Buffer.byteLength(secondLines[0]!) + 1 + 5 }));
    const empty = `${String(secondSeq + 50).padStart(12, '0')}.lp`;
    fs.writeFileSync(path.join(dir, empty), '');
    const reopened = Spool.open({ dir, fsync: false });
    assert.ok(!fs.existsSync(path.join(dir, names[0]!)), 'the delivered segment is removed');
    assert.ok(!fs.existsSync(path.join(dir, empty)), 'an empty segment is removed');
    assert.equal(reopened.pendingLines, 2);
    assert.deepEqual(drainSpool(reopened, 100), lines(4, 2), 're-sends the interrupted line, skips the delivered ones');
    reopened.append(lines(6, 1));
    assert.ok(Number(segments()[0]!.slice(0, 12)) > secondSeq + 50, 'sequence numbers keep growing');
    reopened.close();
  });

  test('a full spool refuses appends', () => {
    const spool = Spool.open({ dir, fsync: false, maxBytes: 300 });
    spool.append(lines(0, 3));
    assert.throws(() => spool.append(lines(3, 10)), /would exceed/);
    spool.close();
  });
});

/** A fake InfluxDB: records what it accepted; `down` makes it fail like an unreachable server. */
class FakeWriter implements LineWriter {
  accepted: string[] = [];
  requests = 0;
  down = false;
  reject = false;
  delayMs = 0;
  async write(batch: readonly string[]): Promise<void> {
    this.requests++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.down) throw new WriteUnavailableError('connect ECONNREFUSED', undefined);
    if (this.reject) throw new WriteRejectedError('HTTP 400 partial write: field type conflict', 400);
    this.accepted.push(...batch);
  }
  async close(): Promise<void> {}
}

const until = async (what: string, check: () => boolean, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Pipeline', () => {
  let pipeline: Pipeline | undefined;
  afterEach(async () => {
    await pipeline?.close();
    pipeline = undefined;
  });

  test('batches by size and by time', async () => {
    const writer = new FakeWriter();
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 50, concurrency: 1 });
    pipeline.pushMany(lines(0, 25));
    await until('two full batches', () => writer.accepted.length === 20);
    assert.equal(writer.requests, 2);
    await until('the partial batch after the flush interval', () => writer.accepted.length === 25);
    assert.deepEqual(writer.accepted, lines(0, 25));
    const c = pipeline.counters();
    assert.deepEqual([c.received, c.written, c.spooled, c.replayed, c.dropped, c.receivedValues, c.writtenValues], [25, 25, 0, 0, 0, 25, 25]);
  });

  test('InfluxDB down: points are spooled, then replayed in order when it is back; counters add up', async () => {
    const writer = new FakeWriter();
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 20, concurrency: 1, replayBatchSize: 7, retryInitialDelayMs: 10, retryMaxDelayMs: 40 });
    pipeline.pushMany(lines(0, 10));
    await until('the first batch', () => writer.accepted.length === 10);
    writer.down = true;
    for (let i = 10; i < 100; i += 10) {
      pipeline.pushMany(lines(i, 10));
      await new Promise((r) => setTimeout(r, 15));
    }
    await until('everything received to be spooled', () => pipeline!.counters().spooled === 90);
    const during = pipeline.counters();
    assert.equal(during.mode, 'spooling');
    assert.equal(during.written, 10);
    assert.equal(during.spoolPending, 90);
    assert.ok(segments().length >= 1);
    writer.down = false;
    pipeline.pushMany(lines(100, 5));
    assert.ok(await pipeline.drain(5000), 'drained');
    assert.deepEqual(writer.accepted, lines(0, 105), 'InfluxDB received every point, in order');
    const c = pipeline.counters();
    assert.deepEqual([c.received, c.written, c.spooled, c.replayed, c.dropped, c.rejected, c.spoolPending, c.mode], [105, 105, 95, 95, 0, 0, 0, 'direct']);
    assert.equal(c.spoolEpisodes, 1);
    assert.deepEqual(segments(), [], 'the spool is empty on disk too');
  });

  test('close while InfluxDB is down keeps everything on disk; the next run replays it first', async () => {
    const writer = new FakeWriter();
    writer.down = true;
    pipeline = createPipeline({ writer, spool: { dir, fsync: true }, batchSize: 10, flushIntervalMs: 20, retryInitialDelayMs: 10 });
    pipeline.pushMany(lines(0, 33));
    const closed = await pipeline.close();
    pipeline = undefined;
    assert.equal(closed.spoolPending, 33);
    assert.equal(closed.dropped, 0);
    const next = new FakeWriter();
    pipeline = createPipeline({ writer: next, spool: { dir, fsync: false }, batchSize: 10, flushIntervalMs: 20, retryInitialDelayMs: 10 });
    assert.equal(pipeline.counters().recovered, 33);
    pipeline.pushMany(lines(33, 4));
    assert.ok(await pipeline.drain(5000));
    assert.deepEqual(next.accepted, lines(0, 37), 'old points first, then the new ones');
  });

  test('backpressure: a slow InfluxDB makes the queue spill to disk instead of growing or dropping', async () => {
    const writer = new FakeWriter();
    writer.delayMs = 30;
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 10, maxQueueLines: 30, flushIntervalMs: 20, concurrency: 1, replayBatchSize: 50, retryInitialDelayMs: 5 });
    for (let i = 0; i < 200; i += 20) pipeline.pushMany(lines(i, 20));
    const c = pipeline.counters();
    assert.ok(c.maxQueued <= 30 + 20, `queue stayed bounded (max ${c.maxQueued})`);
    assert.ok(c.spooled > 0, 'spilled to the spool');
    assert.ok(await pipeline.drain(10_000));
    const d = pipeline.counters();
    assert.equal(d.written, 200);
    assert.equal(d.dropped, 0);
    assert.deepEqual([...writer.accepted].sort(), lines(0, 200).sort(), 'every point arrived');
  });

  test('points InfluxDB refuses as invalid go to rejected.lp and are counted, not retried forever', async () => {
    const writer = new FakeWriter();
    writer.reject = true;
    pipeline = createPipeline({ writer, spool: { dir, fsync: false }, batchSize: 5, flushIntervalMs: 20 });
    pipeline.pushMany(lines(0, 5));
    await until('the refusal', () => pipeline!.counters().rejected === 5);
    writer.reject = false;
    pipeline.pushMany(lines(5, 5));
    await until('the next batch', () => writer.accepted.length === 5);
    const c = pipeline.counters();
    assert.deepEqual([c.rejected, c.written, c.dropped, c.mode], [5, 5, 0, 'direct']);
    const dead = fs.readFileSync(path.join(dir, 'rejected.lp'), 'utf8');
    assert.match(dead, /field type conflict/);
    assert.ok(dead.includes(lines(0, 1)[0]!));
  });
});

describe('line protocol and the telemetry layout', () => {
  test('escaping and field counting', () => {
    assert.equal(seriesKey('tag_status', { tag: 'level M', object: 'W,1' }), 'tag_status,object=W\\,1,tag=level\\ M');
    const line = pointToLine({ measurement: 'sensor_flag', tags: { object: 'W1', tag: 'levelM', kind: 'flatline' }, fields: { active: true, detail: 'no change, "stuck"\nfor 30 min' }, timeUtcMs: 5 });
    assert.equal(line, 'sensor_flag,kind=flatline,object=W1,tag=levelM active=true,detail="no change, \\"stuck\\" for 30 min" 5');
    assert.equal(countFields(line), 2);
    assert.equal(countFields(encodeLine('station,id=W1', [['levelM', 1.5], ['pumpsRunning', 2], ['remoteActive', false]], 7)), 3);
    assert.throws(() => encodeLine('station,id=W1', [['levelM', Number.NaN]], 7), /not finite/);
  });

  test('Good values of one object and time become one point; other statuses go to tag_status (an Uncertain one with its value)', () => {
    const tag = (objectId: string, name: string, objectKind: ResolvedTag['objectKind'] = 'station'): ResolvedTag => ({
      tag: name,
      dataType: 'Double',
      access: 'read',
      unit: '',
      description: { zh: '', en: '' },
      objectKind,
      objectId,
      nodeId: `ns=1;s=${objectId}.${name}`,
    });
    const tags = [tag('W1', 'levelM'), tag('W1', 'inflowM3h'), tag('W1', 'remoteActive'), tag('Q-WP', 'ph', 'analyser')];
    const encoder = new TelemetryEncoder(tags);
    const u = (index: number, value: number | boolean | null, severity: TagUpdate['severity'], statusCode: string, t: number): TagUpdate => ({
      index,
      tag: tags[index]!,
      value,
      statusCode,
      severity,
      timeUtcMs: t,
      sourceTimeUtcMs: t,
      serverTimeUtcMs: t,
      receivedAtUtcMs: t,
    });
    const counts = { stored: 0, statusPoints: 0 };
    const out = encoder.encode(
      [u(0, 2.5, 'good', 'Good', 1000), u(1, 300, 'good', 'Good', 1000), u(2, true, 'good', 'Good', 1000), u(0, 2.6, 'good', 'Good', 2000), u(3, 7.1, 'uncertain', 'UncertainSensorNotAccurate', 1000), u(1, null, 'bad', 'BadNoCommunication', 2000)],
      counts,
    );
    assert.deepEqual(out.sort(), [
      'station,id=W1 levelM=2.5,inflowM3h=300,remoteActive=true 1000',
      'station,id=W1 levelM=2.6 2000',
      'tag_status,object=Q-WP,tag=ph statusCode="UncertainSensorNotAccurate",value=7.1 1000',
      'tag_status,object=W1,tag=inflowM3h statusCode="BadNoCommunication" 2000',
    ]);
    assert.deepEqual(counts, { stored: 4, statusPoints: 2, uncertainValues: 1 });
  });
});
