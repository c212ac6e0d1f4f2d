// Sensor quality flags: plausible ranges derived from the network, flat lines judged in network time,
// Bad and Uncertain status, raise and clear.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { resolveTagMap } from '../../network/tags.js';
import { SensorQualityMonitor, flatLineRules, plausibleRanges, type QualityObservation } from '../../ingest/quality.js';

const network = await loadNetworkFile(referenceNetworkPath);
const tags = resolveTagMap(network);
const indexOf = (objectId: string, tag: string) => {
  const i = tags.findIndex((t) => t.objectId === objectId && t.tag === tag);
  assert.ok(i >= 0, `${objectId}.${tag} in the tag map`);
  return i;
};
const T0 = Date.UTC(2026, 6, 1);
const MIN = 60_000;
const good = (objectId: string, tag: string, value: number | boolean, timeUtcMs: number): QualityObservation => ({
  index: indexOf(objectId, tag),
  value,
  statusCode: 'Good',
  severity: 'good',
  timeUtcMs,
});

describe('plausible ranges from the network', () => {
  const ranges = plausibleRanges(network, tags);
  const w1 = network.stations.find((s) => s.id === 'W1')!;
  const capacity = w1.pumps.reduce((a, p) => a + p.capacityM3h, 0);

  test('levels lie within [0, overflow level + margin]', () => {
    assert.deepEqual(ranges.get('W1/levelM'), { min: 0, max: w1.levels.overflowM + 0.5 });
    assert.deepEqual(plausibleRanges(network, tags, { levelMarginM: 0.2 }).get('W1/levelM'), { min: 0, max: w1.levels.overflowM + 0.2 });
  });

  test('pumped flow within [0, capacity × 1.5]; inflow and overflow allow storm inflows far above capacity', () => {
    assert.deepEqual(ranges.get('W1/outflowM3h'), { min: 0, max: capacity * 1.5 });
    assert.ok(ranges.get('W1/inflowM3h')!.max >= capacity * 8.5, 'a 10-year storm brings ~8.5 × capacity into E5 on the reference network');
    assert.deepEqual(ranges.get('W1/pumpsRunning'), { min: 0, max: w1.pumps.length });
  });

  test('setpoints use their envelopes; the interconnection flows both ways; analysers have physical limits', () => {
    assert.deepEqual(ranges.get('W1/startLevelSpM'), w1.envelope.startLevelM);
    const x1 = network.interconnections[0]!;
    assert.deepEqual(ranges.get(`${x1.id}/transferM3h`), { min: -x1.capacityM3h * 1.5, max: x1.capacityM3h * 1.5 });
    assert.deepEqual(ranges.get('Q-WP/ph'), { min: 0, max: 14 });
  });

  test('every tag of the network has a range', () => {
    assert.equal(ranges.size, tags.length);
  });

  test('flat-line rules cover analysers, wet-well levels and inflows, not counters or discrete tags', () => {
    const rules = flatLineRules(network, tags);
    assert.ok(rules.has('Q-WP/codMgL'));
    assert.ok(rules.has('W1/levelM'));
    assert.ok(rules.has('W1/inflowM3h'));
    assert.ok(!rules.has('W1/pumpsRunning'));
    assert.ok(!rules.has('W1/overflowM3h'), 'overflow is 0 for days: not a flat-line candidate');
    assert.ok(!rules.has('W1/startLevelSpM'), 'setpoints stay put by design');
    assert.ok(!flatLineRules(network, tags, { flatLine: { 'W1/levelM': null } }).has('W1/levelM'));
  });
});

describe('SensorQualityMonitor', () => {
  test('out of range is raised and cleared', () => {
    const m = new SensorQualityMonitor(network, tags);
    assert.deepEqual(m.observe(good('W1', 'levelM', 2.1, T0)), []);
    const raised = m.observe(good('W1', 'levelM', 9.5, T0 + MIN));
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.active, true);
    assert.equal(raised[0]!.flag.kind, 'out_of_range');
    assert.match(raised[0]!.flag.detail, /9\.5 outside \[0, 4\.5\]/);
    assert.equal(m.active().length, 1);
    const negative = m.observe(good('W1', 'outflowM3h', -5, T0 + MIN));
    assert.equal(negative[0]?.flag.kind, 'out_of_range');
    const cleared = m.observe(good('W1', 'levelM', 2.2, T0 + 2 * MIN));
    assert.deepEqual(
      cleared.map((c) => [c.flag.kind, c.active]),
      [['out_of_range', false]],
    );
    assert.deepEqual(
      m.active().map((f) => `${f.objectId}.${f.tag}:${f.kind}`),
      ['W1.outflowM3h:out_of_range'],
    );
  });

  test('Bad and Uncertain status raise flags; a Good value clears them', () => {
    const m = new SensorQualityMonitor(network, tags);
    const i = indexOf('E3', 'levelM');
    const bad = m.observe({ index: i, value: null, statusCode: 'BadNoCommunication', severity: 'bad', timeUtcMs: T0 });
    assert.deepEqual(
      bad.map((c) => [c.flag.kind, c.active, c.flag.detail]),
      [['bad_status', true, 'status BadNoCommunication']],
    );
    const uncertain = m.observe({ index: i, value: 2, statusCode: 'UncertainSensorNotAccurate', severity: 'uncertain', timeUtcMs: T0 + MIN });
    assert.deepEqual(
      uncertain.map((c) => [c.flag.kind, c.active]),
      [
        ['bad_status', false],
        ['uncertain_status', true],
      ],
    );
    const back = m.observe(good('E3', 'levelM', 2, T0 + 2 * MIN));
    assert.deepEqual(
      back.map((c) => [c.flag.kind, c.active]),
      [['uncertain_status', false]],
    );
    assert.deepEqual(m.active(), []);
  });

  test('a flat line is flagged after the window in network time, and cleared by a change', () => {
    const m = new SensorQualityMonitor(network, tags, { analyserFlatLineMs: 30 * MIN });
    m.observe(good('Q-WP', 'codMgL', 300, T0));
    // Another tag moves the network clock on; the analyser sends nothing (a subscription reports changes only).
    m.observe(good('W1', 'levelM', 2, T0 + 29 * MIN));
    assert.deepEqual(m.tick(), []);
    m.observe(good('W1', 'levelM', 2.1, T0 + 31 * MIN));
    const raised = m.tick();
    assert.equal(raised.length, 1);
    assert.equal(raised[0]!.flag.kind, 'flatline');
    assert.equal(raised[0]!.flag.tag, 'codMgL');
    assert.equal(raised[0]!.atUtcMs, T0 + 30 * MIN, 'flagged at the moment the window was exceeded');
    assert.deepEqual(m.tick(), [], 'raised once');
    // A change within epsilon does not count as movement.
    assert.deepEqual(m.observe(good('Q-WP', 'codMgL', 300.0000001, T0 + 32 * MIN)), []);
    const cleared = m.observe(good('Q-WP', 'codMgL', 301, T0 + 33 * MIN));
    assert.deepEqual(
      cleared.map((c) => [c.flag.kind, c.active]),
      [['flatline', false]],
    );
  });

  test('the clock comes from measurements: a setpoint stamped with another clock does not age them', () => {
    const m = new SensorQualityMonitor(network, tags, { analyserFlatLineMs: 30 * MIN });
    m.observe(good('Q-WP', 'codMgL', 300, T0));
    // The simulator stamps setpoints (read on demand) with wall time, which may be hours off simulated time.
    m.observe(good('W1', 'startLevelSpM', 2, T0 + 5 * 60 * MIN));
    assert.equal(m.nowUtcMs, T0);
    assert.deepEqual(m.tick(), []);
  });

  test('a level held at the overflow weir or a dry well is not a flat line', () => {
    const m = new SensorQualityMonitor(network, tags, { hydraulicFlatLineMs: 60 * MIN });
    const w1 = network.stations.find((s) => s.id === 'W1')!;
    m.observe(good('W1', 'levelM', w1.levels.overflowM, T0));
    m.observe(good('W2', 'levelM', 2.345, T0));
    m.observe(good('W3', 'levelM', 0, T0));
    const flags = m.tick(T0 + 5 * 60 * MIN);
    assert.deepEqual(
      flags.map((c) => `${c.flag.objectId}.${c.flag.tag}:${c.flag.kind}`),
      ['W2.levelM:flatline'],
    );
  });

  test('a Bad value restarts flat-line tracking', () => {
    const m = new SensorQualityMonitor(network, tags, { analyserFlatLineMs: 10 * MIN });
    m.observe(good('Q-EP', 'ph', 7.2, T0));
    m.observe({ index: indexOf('Q-EP', 'ph'), value: null, statusCode: 'BadSensorFailure', severity: 'bad', timeUtcMs: T0 + 5 * MIN });
    const flags = m.tick(T0 + 20 * MIN);
    assert.ok(!flags.some((c) => c.flag.kind === 'flatline'), 'no value, no flat line');
    m.observe(good('Q-EP', 'ph', 7.2, T0 + 21 * MIN));
    assert.deepEqual(m.tick(T0 + 25 * MIN), []);
    assert.equal(m.tick(T0 + 32 * MIN)[0]?.flag.kind, 'flatline');
  });

  test('a sensor whose clock is a day ahead: clock_skew flagged, the network clock not moved, no false flat lines', () => {
    const DAY = 24 * 60 * MIN;
    const m = new SensorQualityMonitor(network, tags);
    // Every measurement reports a moving value at T0, its clock in line with the server's.
    tags.forEach((t, index) => {
      if (t.access === 'read') m.observe({ index, value: t.tag === 'levelM' ? 1.2 : 10, statusCode: 'Good', severity: 'good', timeUtcMs: T0, clockSkewMs: null });
    });
    assert.deepEqual(m.tick(), []);
    // One analyser RTU a day ahead. Even stamped with its own (source) time, it must not age the others by a day.
    const i = indexOf('Q-WP', 'codMgL');
    const raised = m.observe({ index: i, value: 300, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + DAY, clockSkewMs: DAY });
    assert.deepEqual(
      raised.map((c) => [c.flag.objectId, c.flag.tag, c.flag.kind, c.active]),
      [['Q-WP', 'codMgL', 'clock_skew', true]],
    );
    assert.match(raised[0]!.flag.detail, /source clock 24 h 0 min ahead of the server clock; values stamped with the server time/);
    assert.equal(m.nowUtcMs, T0, 'an outlier does not advance the network clock');
    assert.deepEqual(m.tick(), [], 'no flat lines from a clock a day ahead (61 before)');
    // As the subscriber sends it: stamped with the server time, skew attached; then the clock is fixed.
    assert.deepEqual(m.observe({ index: i, value: 301, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + MIN, clockSkewMs: DAY }), []);
    assert.equal(m.nowUtcMs, T0);
    const cleared = m.observe({ index: i, value: 302, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 2 * MIN, clockSkewMs: null });
    assert.deepEqual(
      cleared.map((c) => [c.flag.kind, c.active]),
      [['clock_skew', false]],
    );
    assert.equal(m.nowUtcMs, T0 + 2 * MIN);
    // Unknown (no server timestamp to compare with): the flag is left as it is.
    m.observe({ index: i, value: 303, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 3 * MIN, clockSkewMs: -DAY });
    assert.deepEqual(m.observe({ index: i, value: 304, statusCode: 'Good', severity: 'good', timeUtcMs: T0 + 4 * MIN }), []);
    assert.match(m.active().find((f) => f.kind === 'clock_skew')!.detail, /24 h 0 min behind the server clock/);
  });

  test('per-tag overrides of range and flat-line rule', () => {
    const m = new SensorQualityMonitor(network, tags, { ranges: { 'W1/levelM': { min: 0, max: 0.5 } }, flatLine: { 'W1/energyKwh': { windowMs: MIN, epsilon: 0 } } });
    assert.equal(m.observe(good('W1', 'levelM', 1, T0))[0]?.flag.kind, 'out_of_range');
    m.observe(good('W1', 'energyKwh', 10, T0));
    assert.equal(m.tick(T0 + 2 * MIN).find((c) => c.flag.tag === 'energyKwh')?.flag.kind, 'flatline');
    assert.deepEqual(m.rangeOf('W1', 'levelM'), { min: 0, max: 0.5 });
  });
});
