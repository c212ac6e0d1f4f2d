import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { clampToEnvelope, insideEnvelope } from '../../planner/envelope.js';
import { rainOutlook, ruleBasedPlan } from '../../planner/rule-based.js';
import type { NetworkSnapshot, RainForecast } from '../../activities/types.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const nowUtcMs = Date.UTC(2026, 6, 1, 2, 7);
const hour = 3_600_000;

const snapshot: NetworkSnapshot = {
  networkId: network.id,
  readAtUtcMs: nowUtcMs,
  readings: [],
  badTagCount: 0,
  stations: network.stations.map((s) => ({
    stationId: s.id,
    levelM: 1.8,
    inflowM3h: 100,
    outflowM3h: 100,
    pumpsRunning: 1,
    pumpsAvailable: s.pumps.length,
    mode: s.id === 'E9' ? 'local' : 'remote',
    remoteActive: true,
    startLevelSpM: s.levels.pumpStartM,
    stopLevelSpM: s.levels.pumpStopM,
    flowSpM3h: 0,
  })),
};

/** West catchments get `westMmPerH` from hour 3 to 6; east stays dry; one gap in C-E1. */
function forecast(westMmPerH: number): RainForecast {
  const start = Math.floor(nowUtcMs / hour) * hour;
  return {
    issuedAtUtcMs: nowUtcMs,
    source: 'test',
    stepMin: 60,
    locations: network.catchments.map((c) => {
      const timeUtcMs = Array.from({ length: 24 }, (_, i) => start + (i + 1) * hour);
      const precipitationMm = timeUtcMs.map((_, i) => (c.id === 'C-E1' && i === 2 ? null : c.location.lonDeg < 121 && i >= 3 && i < 6 ? westMmPerH : 0));
      return { catchmentId: c.id, timeUtcMs, precipitationMm };
    }),
  };
}

test('envelope clamp: range first, then rate of change from the value in force', () => {
  const envelope = { min: 1, max: 3, maxChangePerMin: 0.1 };
  assert.deepEqual(clampToEnvelope(5, envelope, null, 15), { value: 3, clamped: true });
  assert.deepEqual(clampToEnvelope(0, envelope, null, 15), { value: 1, clamped: true });
  assert.deepEqual(clampToEnvelope(2.9, envelope, 1.2, 5), { value: 1.7, clamped: true });
  assert.deepEqual(clampToEnvelope(2, envelope, 1.9, 5), { value: 2, clamped: false });
  assert.throws(() => clampToEnvelope(Number.NaN, envelope, null, 1), /not a finite number/);
});

test('rain outlook sums the window and counts gaps instead of reading them as zero', () => {
  const f = forecast(5);
  const west = rainOutlook(f, 'C-W1', nowUtcMs, 6);
  assert.equal(west.totalMm, 15);
  assert.equal(west.onsetUtcMs, Math.floor(nowUtcMs / hour) * hour + 3 * hour);
  const e1 = rainOutlook(f, 'C-E1', nowUtcMs, 6);
  assert.equal(e1.totalMm, 0);
  assert.equal(e1.gaps, 1);
});

test('rule-based plan draws down west stations ahead of rain, keeps the east on duty pumps', () => {
  const plan = ruleBasedPlan({ planId: 'p1', network, snapshot, forecast: forecast(5), nowUtcMs });
  assert.equal(plan.operatingMode, 'flood-drawdown');
  assert.equal(plan.steps.length, (network.planning.horizonH * 60) / network.planning.stepMin);
  const first = new Map(plan.steps[0]!.stations.map((s) => [s.stationId, s]));
  const w1 = network.stations.find((s) => s.id === 'W1')!;
  assert.equal(first.get('W1')!.startLevelM, w1.levels.floodSeasonStartM);
  assert.equal(first.get('W1')!.pumpsAllowed, w1.pumps.length);
  assert.equal(first.get('E1')!.startLevelM, network.stations.find((s) => s.id === 'E1')!.levels.pumpStartM);
  assert.equal(first.get('E1')!.pumpsAllowed, 3);
  // After the rain has passed (step at +8 h) the west returns to normal.
  const later = plan.steps[(8 * 60) / network.planning.stepMin]!.stations.find((s) => s.stationId === 'W1')!;
  assert.equal(later.startLevelM, w1.levels.pumpStartM);
  // Every station has a reason in both languages; LOCAL and gaps are explained.
  // Every station, tank, interconnection and plant has a reason.
  assert.equal(plan.reasons.length, network.stations.length + network.tanks.length + network.interconnections.length + network.plants.length);
  assert.match(plan.reasons.find((r) => r.objectId === 'W1')!.reason.zh, /预计.*小时后降雨/);
  assert.match(plan.reasons.find((r) => r.objectId === 'E9')!.reason.en, /LOCAL/);
  assert.match(plan.reasons.find((r) => r.objectId === 'E1')!.reason.en, /1 missing steps/);
  for (const step of plan.steps) {
    for (const s of step.stations) {
      const station = network.stations.find((x) => x.id === s.stationId)!;
      assert.ok(insideEnvelope(s.startLevelM, station.envelope.startLevelM) && insideEnvelope(s.stopLevelM, station.envelope.stopLevelM));
      assert.ok(s.stopLevelM < s.startLevelM);
    }
  }
});

test('light rain below the trigger keeps the normal band; no forecast is planned without', () => {
  assert.equal(ruleBasedPlan({ planId: 'p2', network, snapshot, forecast: forecast(1), nowUtcMs }).operatingMode, 'normal');
  const blind = ruleBasedPlan({ planId: 'p3', network, snapshot, forecast: null, nowUtcMs });
  assert.equal(blind.basis.forecastSource, 'none');
  assert.equal(blind.operatingMode, 'normal');
});
