// Worker settings: the flood season window in local dates, the autonomy mode, the flood configuration file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { repoRoot } from '../../runtime/paths.js';
import { EnvError, envVariableNames, loadEnv } from '../../settings/env.js';
import { floodSeasonWindow, localMidnightUtcMs } from '../../worker/flood-season.js';
import { parseAutonomyMode } from '../../worker/schedule.js';
import { loadFloodConfigFile, loadWorkerSettings, WorkerSettingsError } from '../../worker/settings.js';

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

// The worker's settings from settings/env.ts and worker/settings.ts: every bad value named, with its place.
const network = await loadNetworkFile(referenceNetworkPath);
const baseEnv = { INFLUX_TOKEN: 'u:p' };

test('worker variables: defaults, numbers coerced, every bad value named', () => {
  const env = loadEnv({ ...baseEnv, FLOOD_CHECK_INTERVAL_MIN: '45', NOTIFY_WEBHOOK_URL: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k' });
  assert.equal(env.FLOOD_SEASON, '04-15/10-15');
  assert.equal(env.FLOOD_CHECK_INTERVAL_MIN, 45);
  assert.equal(env.DISPATCH_AUTONOMY, undefined);
  assert.equal(env.NOTIFY_WEBHOOK_FLAVOUR, 'wecom');
  assert.equal(env.NOTIFY_WEBHOOK_TIMEOUT_MS, 10_000);
  for (const name of ['DISPATCH_AUTONOMY', 'FLOOD_SEASON', 'FLOOD_CONFIG_FILE', 'FLOOD_CHECK_INTERVAL_MIN', 'NOTIFY_WEBHOOK_URL', 'NOTIFY_WEBHOOK_URL_SUPERVISOR', 'NOTIFY_WEBHOOK_URL_ADMIN', 'NOTIFY_WEBHOOK_URL_CREW', 'NOTIFY_WEBHOOK_FLAVOUR', 'NOTIFY_WEBHOOK_SECRET', 'NOTIFY_WEBHOOK_TIMEOUT_MS']) {
    assert.ok((envVariableNames as string[]).includes(name), `${name} is a setting (so compose must name it)`);
  }
  assert.throws(
    () =>
      loadEnv({
        ...baseEnv,
        DISPATCH_AUTONOMY: 'auto',
        FLOOD_SEASON: 'April-October',
        FLOOD_CHECK_INTERVAL_MIN: 'half an hour',
        NOTIFY_WEBHOOK_URL: 'ftp://robot',
        NOTIFY_WEBHOOK_FLAVOUR: 'slack',
        NOTIFY_WEBHOOK_TIMEOUT_MS: '5',
      }),
    (error: unknown) => {
      assert.ok(error instanceof EnvError);
      for (const expected of [
        'DISPATCH_AUTONOMY: must be equal to one of the allowed values: advisory, auto-within-bounds, emergency-auto (value: "auto")',
        'FLOOD_SEASON: must match pattern',
        '(value: "April-October")',
        'FLOOD_CHECK_INTERVAL_MIN: must be integer (value: "half an hour")',
        'NOTIFY_WEBHOOK_URL: must match pattern "^https?://" (value: "ftp://robot")',
        'NOTIFY_WEBHOOK_FLAVOUR: must be equal to one of the allowed values: wecom, dingtalk (value: "slack")',
        'NOTIFY_WEBHOOK_TIMEOUT_MS: must be >= 100 (value: 5)',
      ]) {
        assert.ok(error.message.includes(expected), `missing "${expected}" in\n${error.message}`);
      }
      return true;
    },
  );
  assert.throws(() => loadEnv({ ...baseEnv, FLOOD_CHECK_INTERVAL_MIN: '0' }), /FLOOD_CHECK_INTERVAL_MIN: must be >= 1 \(value: 0\)/);
});

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sewer-worker-settings-'));
const writeJson = (name: string, content: string) => {
  const file = path.join(tmp, name);
  writeFileSync(file, content);
  return file;
};

test('a flood configuration file: read, parsed and checked, every problem with file and JSON path', async () => {
  const good = writeJson('good.json', JSON.stringify({ approvalRoles: { II: 'admin' }, overflowPoints: [{ stationId: network.stations[0]!.id, receivingWater: 'river' }], approval: { escalateAfterMin: 10, approvalTimeoutMin: 30 } }));
  assert.deepEqual((await loadFloodConfigFile(good, network)).approvalRoles, { II: 'admin' });

  await assert.rejects(loadFloodConfigFile(path.join(tmp, 'missing.json'), network), (error: unknown) => {
    assert.ok(error instanceof WorkerSettingsError);
    assert.match(error.message, /^FLOOD_CONFIG_FILE .*missing\.json: cannot be read \(ENOENT\)$/);
    return true;
  });
  await assert.rejects(loadFloodConfigFile(writeJson('torn.json', '{"lookAheadH": 24,'), network), /FLOOD_CONFIG_FILE .*torn\.json: not valid JSON \(/);

  const bad = writeJson('bad.json', JSON.stringify({ approvalRoles: { II: 'boss' }, lookAheadH: '24', crews: 3, thresholds: [{ level: 'purple', windowH: 3, mm: 50 }], emergencyStepMin: 0 }));
  await assert.rejects(loadFloodConfigFile(bad, network), (error: unknown) => {
    assert.ok(error instanceof WorkerSettingsError);
    for (const expected of [
      `FLOOD_CONFIG_FILE ${bad} /approvalRoles/II: must be equal to one of the allowed values: viewer, dispatcher, supervisor, admin (value: "boss")`,
      `FLOOD_CONFIG_FILE ${bad} /lookAheadH: must be number (value: "24")`,
      `FLOOD_CONFIG_FILE ${bad} /: must not have additional properties ["crews"]`,
      `FLOOD_CONFIG_FILE ${bad} /thresholds/0/level: must be equal to one of the allowed values: blue, yellow, orange, red (value: "purple")`,
      `FLOOD_CONFIG_FILE ${bad} /emergencyStepMin: `,
    ]) {
      assert.ok(error.message.includes(expected), `missing "${expected}" in\n${error.message}`);
    }
    return true;
  });

  const inconsistent = writeJson('inconsistent.json', JSON.stringify({ overflowPoints: [{ stationId: 'NOWHERE', receivingWater: 'river' }], approval: { escalateAfterMin: 60, approvalTimeoutMin: 30 } }));
  await assert.rejects(loadFloodConfigFile(inconsistent, network), (error: unknown) => {
    assert.ok(error instanceof WorkerSettingsError);
    assert.ok(error.message.includes(`/overflowPoints/0/stationId: no station "NOWHERE" in network ${network.id}`), error.message);
    assert.ok(error.message.includes('/approval: escalateAfterMin (60) must be shorter than approvalTimeoutMin (30)'), error.message);
    return true;
  });
});

test('worker settings: the season must be a date range within a year; the file problems are listed with it', async () => {
  const settings = await loadWorkerSettings(loadEnv({ ...baseEnv, DISPATCH_AUTONOMY: 'emergency-auto', FLOOD_SEASON: 'off' }), network);
  assert.deepEqual(settings, { autonomyMode: 'emergency-auto', floodSeason: 'off', floodCheckIntervalMin: 30, floodConfig: undefined });
  await assert.rejects(loadWorkerSettings(loadEnv({ ...baseEnv, FLOOD_SEASON: '10-15/04-15', FLOOD_CONFIG_FILE: 'torn.json' }), network, (p) => path.join(tmp, p)), (error: unknown) => {
    assert.ok(error instanceof WorkerSettingsError);
    assert.match(error.message, /^Invalid worker settings:\n/);
    assert.match(error.message, /FLOOD_SEASON 10-15\/04-15: not a valid date range within one year/);
    assert.match(error.message, /FLOOD_CONFIG_FILE .*torn\.json: not valid JSON/);
    return true;
  });
});

test('the worker refuses to start on a bad flood configuration file (exit 2, the problems listed)', () => {
  const bad = writeJson('start.json', JSON.stringify({ approvalRoles: { I: 'mayor' } }));
  const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['worker/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, INFLUX_TOKEN: 'u:p', FLOOD_CONFIG_FILE: bad, FLOOD_SEASON: '13-01/10-15', TEMPORAL_ADDRESS: '127.0.0.1:1' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /Cannot start: Invalid worker settings:/);
  assert.match(result.stderr, /start\.json \/approvalRoles\/I: .*\(value: "mayor"\)/);
  assert.match(result.stderr, /FLOOD_SEASON 13-01\/10-15: not a valid date range/);
});
