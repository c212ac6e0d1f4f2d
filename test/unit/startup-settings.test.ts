// Start-up fails fast with every problem listed: environment and network file alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnvError, envVariableNames, loadEnv } from '../../settings/env.js';
import { referenceNetworkPath } from '../../network/load.js';
import { repoRoot } from '../../runtime/paths.js';

test('environment: defaults applied, numbers coerced, every problem listed', () => {
  const env = loadEnv({ INFLUX_TOKEN: 'u:p', API_PORT: '9090' });
  assert.equal(env.API_PORT, 9090);
  assert.equal(env.TEMPORAL_ADDRESS, '127.0.0.1:7233');
  assert.equal(env.DATABASE_URL, 'sqlite:.data/sewer-dispatch.sqlite');
  assert.ok(envVariableNames.includes('OPCUA_ENDPOINT'));
  assert.throws(
    () => loadEnv({ API_PORT: 'eighty', INFLUX_URL: 'localhost:8086', OPCUA_SECURITY_MODE: 'SignAndEncrypt', DATABASE_URL: 'mysql://x' }),
    (error: unknown) => {
      assert.ok(error instanceof EnvError);
      for (const expected of ['INFLUX_TOKEN: is required', 'API_PORT: must be integer (value: "eighty")', 'INFLUX_URL: must match pattern', 'DATABASE_URL: must match pattern', 'OPCUA_USER, OPCUA_PASSWORD: required']) {
        assert.ok(error.message.includes(expected), `missing "${expected}" in\n${error.message}`);
      }
      return true;
    },
  );
});

test('INGEST_SPOOL_MAX_MB: 4096 MiB unless set, a whole number of MiB ≥ 1', () => {
  assert.equal(loadEnv({ INFLUX_TOKEN: 'u:p' }).INGEST_SPOOL_MAX_MB, 4096);
  assert.equal(loadEnv({ INFLUX_TOKEN: 'u:p', INGEST_SPOOL_MAX_MB: '512' }).INGEST_SPOOL_MAX_MB, 512);
  for (const bad of ['0', '1.5', 'lots']) {
    assert.throws(() => loadEnv({ INFLUX_TOKEN: 'u:p', INGEST_SPOOL_MAX_MB: bad }), (e: unknown) => e instanceof EnvError && e.message.includes(`INGEST_SPOOL_MAX_MB: `) && e.message.includes(`(value: ${JSON.stringify(/^\d+$/.test(bad) ? Number(bad) : bad)})`));
  }
});

test('the API refuses to start on a bad network file and names every error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sewer-startup-'));
  const network = JSON.parse(readFileSync(referenceNetworkPath, 'utf8')) as { stations: { levels: { pumpStartM: number } }[]; plants: { capacityM3h: unknown }[] };
  network.stations[0]!.levels.pumpStartM = 9;
  network.plants[1]!.capacityM3h = 'lots';
  const file = path.join(dir, 'bad-network.json');
  writeFileSync(file, JSON.stringify(network));
  const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['api/server.ts'], {
    cwd: repoRoot,
    env: { ...process.env, NETWORK_FILE: file, INFLUX_TOKEN: 'u:p' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /Cannot start: .*bad-network\.json/);
  assert.match(result.stderr, /\/plants\/1\/capacityM3h: must be number \(value: "lots"\)/);
});

test('the worker refuses to start without required settings', () => {
  const env = { ...process.env };
  delete env['INFLUX_TOKEN'];
  const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsx'), ['worker/main.ts'], { cwd: repoRoot, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /INFLUX_TOKEN: is required/);
});
