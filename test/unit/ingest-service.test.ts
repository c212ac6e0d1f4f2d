// The telemetry encoder of the ingest service: samples of one tag at one millisecond all kept, Uncertain
// readings kept with their status, types ingest cannot store named, gaps as ingest_gap points.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countFields } from '../../ingest/line-protocol.js';
import { TelemetryEncoder, type EncodeCounts } from '../../ingest/service.js';
import type { IngestGap, TagUpdate } from '../../ingest/subscriber.js';
import type { ResolvedTag } from '../../network/tags.js';

const tag = (objectId: string, name: string, objectKind: ResolvedTag['objectKind'] = 'station', dataType: ResolvedTag['dataType'] = 'Double'): ResolvedTag => ({
  tag: name,
  dataType,
  access: 'read',
  unit: '',
  description: { zh: '', en: '' },
  objectKind,
  objectId,
  nodeId: `ns=1;s=${objectId}.${name}`,
});
const tags = [tag('W1', 'levelM'), tag('W1', 'inflowM3h'), tag('W1', 'remoteActive', 'station', 'Boolean'), tag('Q-WP', 'ph', 'analyser'), tag('W1', 'mode', 'station', 'Int32')];
const u = (index: number, value: number | boolean | null, t: number, severity: TagUpdate['severity'] = 'good', statusCode = 'Good', extra: Partial<TagUpdate> = {}): TagUpdate => ({
  index,
  tag: tags[index]!,
  value,
  statusCode,
  severity,
  timeUtcMs: t,
  sourceTimeUtcMs: t,
  serverTimeUtcMs: t,
  receivedAtUtcMs: t,
  clockSkewMs: null,
  unsupportedType: null,
  ...extra,
});

describe('TelemetryEncoder', () => {
  test('two samples of a tag at the same millisecond are both kept: the later one at the next free millisecond', () => {
    const encoder = new TelemetryEncoder(tags);
    const counts: EncodeCounts = { stored: 0, statusPoints: 0 };
    const out = encoder.encode([u(0, 2.5, 1000), u(1, 300, 1000), u(0, 2.6, 1000), u(0, 2.7, 1001), u(1, 301, 1001)], counts);
    assert.deepEqual(out, ['station,id=W1 levelM=2.5,inflowM3h=300 1000', 'station,id=W1 levelM=2.6,inflowM3h=301 1001', 'station,id=W1 levelM=2.7 1002']);
    for (const line of out) assert.equal(new Set(line.split(' ')[1]!.split(',').map((f) => f.split('=')[0])).size, countFields(line), `no field twice in ${line}`);
    assert.deepEqual(counts, { stored: 5, statusPoints: 0, shifted: 2 });
    assert.deepEqual(encoder.shiftedInLastBatch, [
      { objectId: 'W1', tag: 'levelM', timeUtcMs: 1000, storedAtUtcMs: 1001 },
      { objectId: 'W1', tag: 'levelM', timeUtcMs: 1001, storedAtUtcMs: 1002 },
    ]);
    // The next batch continues from where the shift left off; a later time is stored as it is.
    assert.deepEqual(encoder.encode([u(0, 2.8, 1002), u(0, 2.9, 5000)], counts), ['station,id=W1 levelM=2.8 1003', 'station,id=W1 levelM=2.9 5000']);
    assert.equal(counts.shifted, 3);
    assert.deepEqual(encoder.encode([u(0, 3.0, 6000)], counts), ['station,id=W1 levelM=3 6000']);
    assert.deepEqual(encoder.shiftedInLastBatch, []);
  });

  test('status points of one tag at one millisecond are kept apart too', () => {
    const encoder = new TelemetryEncoder(tags);
    const counts = { stored: 0, statusPoints: 0 };
    assert.deepEqual(encoder.encode([u(1, null, 2000, 'bad', 'BadNoCommunication'), u(1, null, 2000, 'bad', 'BadSensorFailure')], counts), [
      'tag_status,object=W1,tag=inflowM3h statusCode="BadNoCommunication" 2000',
      'tag_status,object=W1,tag=inflowM3h statusCode="BadSensorFailure" 2001',
    ]);
  });

  test('an Uncertain reading keeps its value in tag_status, marked by its status; Bad ones do not', () => {
    const encoder = new TelemetryEncoder(tags);
    const counts: EncodeCounts = { stored: 0, statusPoints: 0, uncertainValues: 0 };
    const out = encoder.encode(
      [
        u(3, 7.1, 1000, 'uncertain', 'UncertainSensorNotAccurate'),
        u(2, true, 1000, 'uncertain', 'UncertainLastUsableValue'),
        u(0, null, 1000, 'uncertain', 'UncertainNoCommunicationLastUsableValue'),
        u(1, 250, 1000, 'bad', 'BadSensorFailure'),
      ],
      counts,
    );
    assert.deepEqual(out, [
      'tag_status,object=Q-WP,tag=ph statusCode="UncertainSensorNotAccurate",value=7.1 1000',
      'tag_status,object=W1,tag=remoteActive statusCode="UncertainLastUsableValue",value=1 1000',
      'tag_status,object=W1,tag=levelM statusCode="UncertainNoCommunicationLastUsableValue" 1000',
      'tag_status,object=W1,tag=inflowM3h statusCode="BadSensorFailure" 1000',
    ]);
    assert.deepEqual(counts, { stored: 0, statusPoints: 4, uncertainValues: 2 });
  });

  test('a Good value of a type ingest cannot store is recorded with the type named', () => {
    const encoder = new TelemetryEncoder(tags);
    const counts = { stored: 0, statusPoints: 0 };
    assert.deepEqual(encoder.encode([u(4, null, 1000, 'good', 'Good', { unsupportedType: 'String' }), u(0, Number.NaN, 1000)], counts), [
      'tag_status,object=W1,tag=mode statusCode="Good (unsupported type String)" 1000',
      'tag_status,object=W1,tag=levelM statusCode="Good (no finite value)" 1000',
    ]);
  });

  test('gaps become ingest_gap points: every tag as "*", else the tags named; two of one reason never share a millisecond', () => {
    const encoder = new TelemetryEncoder(tags);
    const gap = (reason: IngestGap['reason'], items: number[], startUtcMs: number): IngestGap => ({
      reason,
      startUtcMs,
      endUtcMs: startUtcMs + 600_000,
      startWallUtcMs: 50_000,
      endWallUtcMs: 53_500,
      items,
      open: false,
      detail: 'connection lost',
    });
    assert.equal(
      encoder.gapLine(gap('connection-lost', [0, 1, 2, 3, 4], 1_000_000)),
      'ingest_gap,reason=connection-lost endUtcMs=1600000,startWallUtcMs=50000,endWallUtcMs=53500,wallDurationMs=3500,items=5,tags="*",open=false,detail="connection lost",detailZh="与 SCADA 的连接中断，期间数据可能缺失" 1000000',
    );
    const overflow = encoder.gapLine({ ...gap('queue-overflow', [0, 3], 1_000_000), open: true, detail: 'the server discarded samples' });
    assert.equal(overflow, 'ingest_gap,reason=queue-overflow endUtcMs=1600000,startWallUtcMs=50000,endWallUtcMs=53500,wallDurationMs=3500,items=2,tags="W1/levelM,Q-WP/ph",open=true,detail="the server discarded samples",detailZh="SCADA 服务器队列溢出，部分采样被丢弃；停止时仍未恢复" 1000000');
    assert.match(encoder.gapLine(gap('queue-overflow', [1], 1_000_000)), / 1000001$/);
    assert.match(encoder.gapLine(gap('connection-lost', [0], 2_000_000)), / 2000000$/);
  });

  test('a long tag list is cut with a count of the rest', () => {
    const many = Array.from({ length: 600 }, (_, i) => tag(`S${i}`, 'levelM'));
    const encoder = new TelemetryEncoder(many);
    const line = encoder.gapLine({ reason: 'queue-overflow', startUtcMs: 1, endUtcMs: 2, startWallUtcMs: 1, endWallUtcMs: 2, items: many.slice(0, 599).map((_, i) => i), open: false, detail: '' });
    const list = /tags="([^"]*)"/.exec(line)![1]!;
    assert.ok(list.length < 4100, `list of ${list.length} characters`);
    assert.match(list, /^S0\/levelM,S1\/levelM,.* … and \d+ more$/);
    assert.match(line, /items=599,/);
  });
});
