// Times in messages a dispatcher reads: the network's local time (UTC+8), formatted without the host's zone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localTimeText } from '../../workflows/local-time.js';

test('local time: HH:MM (UTC+8) on the same local day, with the date otherwise; minutes cut, never rounded up', () => {
  const deadline = Date.UTC(2026, 11, 8, 0, 47, 59, 999);
  assert.equal(localTimeText(deadline, deadline - 60_000), '08:47 (UTC+8)');
  // 23:00 local now, deadline 00:05 local the next day.
  assert.equal(localTimeText(Date.UTC(2026, 11, 8, 16, 5), Date.UTC(2026, 11, 8, 15, 0)), '2026-12-09 00:05 (UTC+8)');
  // 07:30 local is still the previous UTC day: the local date decides, not the UTC one.
  assert.equal(localTimeText(Date.UTC(2026, 11, 7, 23, 30), Date.UTC(2026, 11, 8, 1, 0)), '07:30 (UTC+8)');
  assert.equal(localTimeText(Date.UTC(2026, 0, 1, 0, 0), Date.UTC(2026, 0, 1, 0, 0), 330), '05:30 (UTC+5:30)');
});
