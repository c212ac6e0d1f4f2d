// Refused lines isolated instead of costing their batch: writeIsolatingRefusals halves a batch InfluxDB
// answers 400/422 down to the lines refused on their own, against fakes of InfluxDB 1.8 (stores the good lines
// of a refused batch, a "partial write") and 2.x (stores none); timestamps InfluxDB cannot store are refused
// before any request, with a message naming measurement, tags and time.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeLine, INFLUX_MAX_TIME_MS, INFLUX_MIN_TIME_MS, lineTimeProblem, OPCUA_DATETIME_ZERO_MS } from '../../ingest/line-protocol.js';
import { writeIsolatingRefusals, WriteRejectedError, WriteUnavailableError, type LineWriter } from '../../ingest/writer.js';

const good = (n: number) => Array.from({ length: n }, (_, i) => `station,id=W${i % 5} levelM=${i} ${1_700_000_000_000 + i}`);
const isBad = (line: string) => line.includes('levelM=true');

/** A fake InfluxDB: refuses a request holding a bad line (boolean into a float field); `partial` keeps the good ones (1.8). */
class FakeInflux implements LineWriter {
  stored = new Set<string>();
  requests = 0;
  failAfterRequests = Number.POSITIVE_INFINITY;
  constructor(readonly partial: boolean) {}
  async write(lines: readonly string[]): Promise<void> {
    this.requests++;
    if (this.requests > this.failAfterRequests) throw new WriteUnavailableError('connect ECONNREFUSED', undefined);
    const bad = lines.filter(isBad);
    if (bad.length === 0 || this.partial) for (const l of lines) if (!isBad(l)) this.stored.add(l);
    if (bad.length > 0) throw new WriteRejectedError(`HTTP 400 partial write: field type conflict in '${bad[0]}' dropped=${bad.length}`, 400);
  }
  async close(): Promise<void> {}
}

void describe('writeIsolatingRefusals', () => {
  for (const partial of [false, true]) {
    void test(`one bad line in 5000: only it is refused, with its own error; every good line stored (${partial ? '1.8 partial write' : '2.x refuses all'})`, async () => {
      const influx = new FakeInflux(partial);
      const lines = good(5000);
      const bad = 'station,id=W1 levelM=true 1700000009999';
      lines.splice(2345, 0, bad);
      const outcome = await writeIsolatingRefusals(influx, lines);
      assert.deepEqual(outcome.refused, [{ line: bad, error: `HTTP 400 partial write: field type conflict in '${bad}' dropped=1` }]);
      assert.equal(outcome.written.length, 5000);
      assert.deepEqual([...influx.stored].sort(), good(5000).sort());
      assert.ok(outcome.requests <= 2 * Math.ceil(Math.log2(lines.length)) + 1, `${outcome.requests} requests`);
      assert.equal(outcome.requests, influx.requests);
    });
  }

  void test('several bad lines: each refused alone, in the order given; a batch without one is one request', async () => {
    const influx = new FakeInflux(false);
    const lines = good(100);
    const bads = ['station,id=W2 levelM=true 1', 'station,id=W3 levelM=true 2', 'station,id=W4 levelM=true 3'];
    lines.splice(90, 0, bads[2]!);
    lines.splice(10, 0, bads[1]!);
    lines.splice(0, 0, bads[0]!);
    const outcome = await writeIsolatingRefusals(influx, lines);
    assert.deepEqual(
      outcome.refused.map((r) => r.line),
      bads,
    );
    for (const r of outcome.refused) assert.match(r.error, new RegExp(`field type conflict in '${r.line}'`));
    assert.deepEqual(outcome.written, good(100));
    const clean = new FakeInflux(false);
    assert.equal((await writeIsolatingRefusals(clean, good(10))).requests, 1);
  });

  void test('InfluxDB unavailable half-way through: rejects with that error, nothing refused', async () => {
    const influx = new FakeInflux(false);
    influx.failAfterRequests = 3;
    const lines = good(64);
    lines.splice(40, 0, 'station,id=W1 levelM=true 5');
    await assert.rejects(writeIsolatingRefusals(influx, lines), WriteUnavailableError);
  });

  void test('a timestamp InfluxDB cannot store (OPC UA DateTime 0, or after 2262) is refused without a request, naming measurement, tags and time', async () => {
    const influx = new FakeInflux(false);
    const zero = `station,id=W1 levelM=2.5 ${OPCUA_DATETIME_ZERO_MS}`;
    const late = `tag_status,object=W\\ 2,tag=levelM statusCode="Good" ${INFLUX_MAX_TIME_MS + 1}`;
    const outcome = await writeIsolatingRefusals(influx, [...good(3), zero, late]);
    assert.deepEqual(outcome.written, good(3));
    assert.equal(influx.requests, 1, 'the good lines in one request; the others never sent');
    assert.equal(outcome.refused.length, 2);
    assert.match(outcome.refused[0]!.error, /measurement "station", tags id=W1: time 1601-01-01T00:00:00\.000Z \(-11644473600000 ms\) is outside InfluxDB's range .*OPC UA DateTime 0/);
    assert.match(outcome.refused[1]!.error, /measurement "tag_status", tags object=W\\ 2,tag=levelM: time 2262-04-11T23:47:16\.855Z \(9223372036855 ms\)/);
  });
});

void describe('line protocol timestamps', () => {
  void test('the range InfluxDB stores, to the millisecond', () => {
    assert.equal(lineTimeProblem(`m v=1 ${INFLUX_MIN_TIME_MS}`), undefined);
    assert.equal(lineTimeProblem(`m v=1 ${INFLUX_MAX_TIME_MS}`), undefined);
    assert.match(lineTimeProblem(`m v=1 ${INFLUX_MIN_TIME_MS - 1}`) ?? '', /measurement "m", no tags: time 1677-09-21T00:12:43\.145Z/);
    assert.match(lineTimeProblem('m,a=b v=1 12.5') ?? '', /measurement "m", tags a=b has no integer timestamp/);
  });

  void test('encodeLine refuses a time out of range with measurement, tags and time', () => {
    assert.throws(() => encodeLine('station,id=W1', [['levelM', 1]], OPCUA_DATETIME_ZERO_MS), /measurement "station", tags id=W1: time 1601-01-01T00:00:00\.000Z/);
    assert.equal(encodeLine('station,id=W1', [['levelM', 1]], 5), 'station,id=W1 levelM=1 5');
  });
});
