// The subscriber's numbers and value conversion, without a server: the subscription lifetime, the re-create
// threshold and the queue sized to ride out an outage; Int64/UInt64 as numbers, other types named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataType, Variant, VariantArrayType } from 'node-opcua';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { startIngest } from '../../ingest/service.js';
import { convertVariant, createSubscriber, subscriptionTiming } from '../../ingest/subscriber.js';
import { resolveTagMap } from '../../network/tags.js';

const network = await loadNetworkFile(referenceNetworkPath);
const tags = resolveTagMap(network);

describe('subscription timing', () => {
  test('defaults: re-create only after the subscription lifetime, and a queue that holds that long at the sampling interval', () => {
    const t = subscriptionTiming({});
    assert.equal(t.lifetimeMs, 60_000, 'publishing 1000 ms × lifetime count 60');
    assert.ok(t.staleAfterMs >= t.lifetimeMs, `staleAfterMs ${t.staleAfterMs} ≥ lifetime ${t.lifetimeMs}`);
    assert.equal(t.staleAfterMs, 70_000, 'lifetime + one keep-alive period');
    assert.equal(t.outageToRideOutMs, 60_000);
    assert.equal(t.queueSize, 123, '60 s / 500 ms + 1000 ms / 500 ms + 1');
    assert.ok(t.queueSize * t.samplingIntervalMs >= t.outageToRideOutMs);
  });

  test('the queue follows the outage to ride out, the sampling interval and "every change"', () => {
    assert.equal(subscriptionTiming({ samplingIntervalMs: 1000, publishingIntervalMs: 1000, outageToRideOutMs: 300_000 }).queueSize, 302);
    assert.equal(subscriptionTiming({ samplingIntervalMs: 0 }).queueSize, 611, 'sampling 0 sized as a change every 100 ms');
    assert.equal(subscriptionTiming({ samplingIntervalMs: 100, publishingIntervalMs: 200, keepAliveCount: 5, lifetimeCount: 30 }).queueSize, 63);
    assert.equal(subscriptionTiming({ queueSize: 7 }).queueSize, 7, 'an explicit size wins');
  });

  test('a staleAfterMs shorter than the lifetime is refused, naming both numbers', () => {
    assert.throws(() => subscriptionTiming({ staleAfterMs: 40_000 }), /staleAfterMs 40000 is shorter than the subscription lifetime 60000 ms \(publishingIntervalMs 1000 × lifetimeCount 60\)/);
    assert.doesNotThrow(() => subscriptionTiming({ staleAfterMs: 6000, publishingIntervalMs: 200, keepAliveCount: 5, lifetimeCount: 15 }));
    assert.throws(() => createSubscriber({ endpointUrl: 'opc.tcp://127.0.0.1:1', tags, staleAfterMs: 30_000, onUpdates: () => undefined }), /shorter than the subscription lifetime/);
    assert.throws(() => subscriptionTiming({ queueSize: 0 }), /queueSize must be a whole number ≥ 1, got 0/);
    assert.throws(() => createSubscriber({ endpointUrl: 'opc.tcp://127.0.0.1:1', tags, maxClockSkewMs: 0, onUpdates: () => undefined }), /maxClockSkewMs must be > 0 or null, got 0/);
  });

  test('the subscriber reports the numbers it asks for', () => {
    const s = createSubscriber({ endpointUrl: 'opc.tcp://127.0.0.1:1', tags, onUpdates: () => undefined }).stats();
    assert.deepEqual([s.lifetimeMs, s.staleAfterMs, s.queueSize, s.dropped, s.historyReadSupported], [60_000, 70_000, 123, 0, null]);
    assert.deepEqual(s.gaps, { 'connection-lost': 0, 'subscription-recreated': 0, 'queue-overflow': 0 });
  });

  test('startIngest refuses the numbers before it opens anything', async () => {
    await assert.rejects(
      startIngest({ network, endpointUrl: 'opc.tcp://127.0.0.1:1', influx: { url: 'http://127.0.0.1:1', token: 'x', org: 'x', bucket: 'x', database: 'x' }, spoolDir: '/nonexistent/never-created', staleAfterMs: 1000 }),
      /staleAfterMs 1000 is shorter than the subscription lifetime/,
    );
  });
});

describe('value conversion', () => {
  test('numbers and booleans as sent', () => {
    assert.deepEqual(convertVariant(new Variant({ dataType: DataType.Double, value: 1.5 })), { value: 1.5, unsupportedType: null, precisionLost: false });
    assert.deepEqual(convertVariant(new Variant({ dataType: DataType.Boolean, value: true })), { value: true, unsupportedType: null, precisionLost: false });
    assert.deepEqual(convertVariant(new Variant({ dataType: DataType.UInt32, value: 4_000_000_000 })).value, 4_000_000_000);
    assert.deepEqual(convertVariant(null), { value: null, unsupportedType: null, precisionLost: false });
    assert.deepEqual(convertVariant(new Variant({ dataType: DataType.Null })), { value: null, unsupportedType: null, precisionLost: false });
  });

  test('Int64 and UInt64 ([high, low] words) become numbers, exact to 2^53, rounded and flagged beyond', () => {
    const int64 = (high: number, low: number) => new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Scalar, value: [high, low] });
    const uint64 = (high: number, low: number) => new Variant({ dataType: DataType.UInt64, arrayType: VariantArrayType.Scalar, value: [high, low] });
    assert.equal(convertVariant(int64(0, 42)).value, 42);
    assert.equal(convertVariant(int64(0xffffffff, 0xfffffffe)).value, -2);
    assert.equal(convertVariant(uint64(1, 0)).value, 4_294_967_296);
    assert.deepEqual(convertVariant(uint64(0x001fffff, 0xffffffff)), { value: Number.MAX_SAFE_INTEGER, unsupportedType: null, precisionLost: false });
    const huge = convertVariant(uint64(0xffffffff, 0xffffffff));
    assert.equal(huge.value, 2 ** 64, '2^64 − 1 rounds to the nearest double, 2^64');
    assert.equal(huge.precisionLost, true);
    assert.equal(convertVariant(int64(0x80000000, 0)).value, -9_223_372_036_854_775_808);
  });

  test('other types are named, not turned into null silently', () => {
    assert.deepEqual(convertVariant(new Variant({ dataType: DataType.String, value: 'REMOTE' })), { value: null, unsupportedType: 'String', precisionLost: false });
    assert.equal(convertVariant(new Variant({ dataType: DataType.DateTime, value: new Date() })).unsupportedType, 'DateTime');
    assert.equal(convertVariant(new Variant({ dataType: DataType.Double, arrayType: VariantArrayType.Array, value: [1, 2] })).unsupportedType, 'Double[]');
    assert.equal(convertVariant(new Variant({ dataType: DataType.Int64, arrayType: VariantArrayType.Array, value: [[0, 1]] })).unsupportedType, 'Int64[]');
  });
});
