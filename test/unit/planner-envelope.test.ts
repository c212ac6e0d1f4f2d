// The safety envelope on its own: clamping fails closed on bad envelopes and values, and a start/stop band is
// clamped as a pair so that no path can send a band whose start lies below its stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { crossCheck, parseNetwork } from '../../network/validate.js';
import { clampLevelBand, clampToEnvelope, insideEnvelope, MIN_LEVEL_BAND_GAP_M, ownLevelBand } from '../../planner/envelope.js';
import { ruleBasedPlan } from '../../planner/rule-based.js';

const env = (min: number, max: number, maxChangePerMin: number) => ({ min, max, maxChangePerMin });

test('clampToEnvelope: range, then rate from the value in force; bad envelopes and values throw', () => {
  assert.deepEqual(clampToEnvelope(5, env(0, 3, 0.1), null, 0), { value: 3, clamped: true });
  assert.deepEqual(clampToEnvelope(1, env(0, 3, 0.1), 2, 5), { value: 1.5, clamped: true });
  assert.deepEqual(clampToEnvelope(2.2, env(0, 3, 0.1), 2, 5), { value: 2.2, clamped: false });
  // A value in force outside the envelope gives no rate limit: the range brings it back.
  assert.deepEqual(clampToEnvelope(1, env(0, 3, 0.1), 7, 5), { value: 1, clamped: false });
  for (const [what, call] of [
    ['min above max', () => clampToEnvelope(2, env(5, 1, 0.1), null, 0)],
    ['NaN bound', () => clampToEnvelope(2, env(Number.NaN, 3, 0.1), null, 0)],
    ['zero rate', () => clampToEnvelope(2, env(0, 3, 0), 1, 5)],
    ['negative rate', () => clampToEnvelope(2, env(0, 3, -1), 1, 5)],
    ['NaN minutes', () => clampToEnvelope(2, env(0, 3, 0.1), 1, Number.NaN)],
    ['NaN value', () => clampToEnvelope(Number.NaN, env(0, 3, 0.1), null, 0)],
  ] as const) {
    assert.throws(call, RangeError, what);
  }
  assert.equal(insideEnvelope(2, env(5, 1, 0.1)), false, 'nothing is inside a broken envelope');
  assert.equal(insideEnvelope(Number.POSITIVE_INFINITY, env(0, 3, 0.1)), false);
});

test('clampLevelBand keeps start at least the least gap above stop, whatever the rates and envelopes', () => {
  const envelopes = { startLevelM: env(1, 3.5, 1), stopLevelM: env(1, 3, 0.01) };
  // Clamped one at a time this gave start 2.0 / stop 2.85: the start may fall fast, the stop only slowly.
  const band = clampLevelBand({ startLevelM: 2.0, stopLevelM: 1.0 }, envelopes, { startLevelM: 3.0, stopLevelM: 2.9 }, 15);
  assert.ok(band.startLevelM.value >= band.stopLevelM.value + MIN_LEVEL_BAND_GAP_M - 1e-9, JSON.stringify(band));
  assert.ok(Math.abs(band.stopLevelM.value - 2.75) < 1e-9, 'the stop falls as fast as its rate allows');
  assert.ok(Math.abs(band.startLevelM.value - 2.8) < 1e-9, 'the start waits for it');
  assert.equal(band.startLevelM.clamped, true);

  // The stop envelope holds the stop above the wanted start: the start is raised, with the wanted gap.
  const raised = clampLevelBand({ startLevelM: 2.0, stopLevelM: 1.0 }, { startLevelM: env(1, 3.5, 1), stopLevelM: env(2.2, 3, 1) }, { startLevelM: null, stopLevelM: null }, 0, 0.2);
  assert.deepEqual([raised.startLevelM.value, raised.stopLevelM.value].map((x) => Math.round(x * 1e9) / 1e9), [2.4, 2.2]);

  // A band in force that is itself inverted gives no rate limit.
  const fromInverted = clampLevelBand({ startLevelM: 2.5, stopLevelM: 1.5 }, envelopes, { startLevelM: 1.2, stopLevelM: 2.9 }, 1);
  assert.deepEqual([fromInverted.startLevelM.value, fromInverted.stopLevelM.value], [2.5, 1.5]);

  // Envelopes that leave no room for any band: refused, naming both envelopes.
  assert.throws(() => clampLevelBand({ startLevelM: 2, stopLevelM: 1 }, { startLevelM: env(1, 2, 1), stopLevelM: env(2, 3, 1) }, { startLevelM: null, stopLevelM: null }, 0), /no level band fits the envelopes.*start envelope \[1, 2\], stop envelope \[2, 3\]/);
});

test('every plan path gives valid bands on a network whose stop envelope sits high; the cross-check refuses one with no room', () => {
  const raw = JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as NetworkConfig;
  const w1 = raw.stations.find((s) => s.id === 'W1')!;
  // Valid: the stop may not go below 2.2 m, above the station's own start level less 0.2 m.
  w1.envelope.stopLevelM.min = w1.levels.pumpStartM - 0.1;
  const network = parseNetwork(raw);
  const station = network.stations.find((s) => s.id === 'W1')!;
  const own = ownLevelBand(station);
  assert.ok(own.startLevelM >= own.stopLevelM + MIN_LEVEL_BAND_GAP_M - 1e-9, `local band ${JSON.stringify(own)}`);
  const nowUtcMs = Date.UTC(2026, 6, 1);
  const plan = ruleBasedPlan({ planId: 'p', network, snapshot: { networkId: network.id, readAtUtcMs: nowUtcMs, stations: [], readings: [], badTagCount: 0 }, forecast: null, nowUtcMs });
  for (const step of plan.steps) {
    for (const sp of step.stations) assert.ok(sp.startLevelM >= sp.stopLevelM + MIN_LEVEL_BAND_GAP_M - 1e-9, `${sp.stationId} ${sp.startLevelM}/${sp.stopLevelM}`);
  }

  w1.envelope.stopLevelM.min = w1.envelope.startLevelM.max - 0.01;
  const issues = crossCheck(raw);
  assert.ok(issues.some((i) => i.path.endsWith('/envelope/stopLevelM/min') && /leaves no band/.test(i.reason)), JSON.stringify(issues));
});
