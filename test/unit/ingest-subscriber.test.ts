// The subscriber's value conversion, without a server: Int64/UInt64 as numbers, other types named.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DataType, Variant, VariantArrayType } from 'node-opcua';
import { convertVariant } from '../../ingest/subscriber.js';

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
