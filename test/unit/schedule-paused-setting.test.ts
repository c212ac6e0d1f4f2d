// DISPATCH_SCHEDULE_PAUSED is a setting of settings/env.ts like every other: validated, named when wrong.
// It was read straight from process.env as exactly 'true', so '1' or 'TRUE' were silently ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvError, loadEnv } from '../../settings/env.js';

const base = { INFLUX_TOKEN: 'admin:secret' };

test('DISPATCH_SCHEDULE_PAUSED defaults to false and reads true', () => {
  assert.equal(loadEnv(base).DISPATCH_SCHEDULE_PAUSED, 'false');
  assert.equal(loadEnv({ ...base, DISPATCH_SCHEDULE_PAUSED: 'true' }).DISPATCH_SCHEDULE_PAUSED, 'true');
});

test('a DISPATCH_SCHEDULE_PAUSED other than true or false stops the start, naming the variable and value', () => {
  for (const value of ['1', 'TRUE', 'yes']) {
    assert.throws(() => loadEnv({ ...base, DISPATCH_SCHEDULE_PAUSED: value }), (e: Error) => e instanceof EnvError && e.message.includes('DISPATCH_SCHEDULE_PAUSED') && e.message.includes(JSON.stringify(value)));
  }
});
