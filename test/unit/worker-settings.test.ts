// Worker wiring settings: the flood season window in local dates, the autonomy mode from the environment.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { floodSeasonWindow, localMidnightUtcMs } from '../../worker/flood-season.js';
import { parseAutonomyMode } from '../../worker/schedule.js';

test('the flood season runs between local midnights (Asia/Shanghai is UTC+8)', () => {
  assert.equal(localMidnightUtcMs('2026-04-15', 'Asia/Shanghai'), Date.UTC(2026, 3, 14, 16));
  const inside = floodSeasonWindow('04-15/10-15', 'Asia/Shanghai', Date.UTC(2026, 6, 1));
  assert.deepEqual(inside, { inSeason: true, seasonId: '2026', startUtcMs: Date.UTC(2026, 3, 14, 16), endUtcMs: Date.UTC(2026, 9, 14, 16) });
  assert.equal(floodSeasonWindow('04-15/10-15', 'Asia/Shanghai', Date.UTC(2026, 3, 14, 15, 59)).inSeason, false);
  assert.equal(floodSeasonWindow('04-15/10-15', 'Asia/Shanghai', Date.UTC(2026, 9, 14, 16)).inSeason, false);
  assert.throws(() => floodSeasonWindow('April-October', 'Asia/Shanghai', 0), /FLOOD_SEASON must look like 04-15\/10-15/);
  assert.throws(() => floodSeasonWindow('10-15/04-15', 'Asia/Shanghai', 0), /not a valid date range/);
});

test('DISPATCH_AUTONOMY names one of the three modes', () => {
  assert.equal(parseAutonomyMode(undefined), undefined);
  assert.equal(parseAutonomyMode('auto-within-bounds'), 'auto-within-bounds');
  assert.throws(() => parseAutonomyMode('auto'), /DISPATCH_AUTONOMY must be one of advisory, auto-within-bounds, emergency-auto, got "auto"/);
});
