// The flood configuration file is checked as the season will use it: whole-hour rain windows, and the
// approval pair on the merged config (the file over the defaults), so one key alone cannot break the pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rollingMaxMm } from '../../flood/warning.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import { loadFloodConfigFile, WorkerSettingsError } from '../../worker/settings.js';

const network = await loadNetworkFile(referenceNetworkPath);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flood-config-'));
const writeJson = (name: string, data: unknown) => {
  const file = path.join(tmp, name);
  writeFileSync(file, JSON.stringify(data));
  return file;
};
const refused = (pattern: RegExp) => (error: unknown) => {
  assert.ok(error instanceof WorkerSettingsError, String(error));
  assert.match(error.message, pattern);
  return true;
};

test('a rain window that is not a whole number of hours ≥ 1 is refused at start-up (the assessment would throw at every check)', async () => {
  assert.throws(() => rollingMaxMm({ timeUtcMs: [0, 3_600_000], mm: [1, 2] }, 1.5, 0, 7_200_000), /whole number of hours/);
  for (const windowH of [1.5, 0.5, 0]) {
    await assert.rejects(loadFloodConfigFile(writeJson(`window-${windowH}.json`, { thresholds: [{ level: 'blue', windowH, mm: 30 }] }), network), refused(/\/thresholds\/0\/windowH/));
  }
  const ok = await loadFloodConfigFile(writeJson('window-3.json', { thresholds: [{ level: 'blue', windowH: 3, mm: 30 }] }), network);
  assert.equal(ok.thresholds?.[0]?.windowH, 3);
});

test('escalation before expiry is checked on the merged config: an approval timeout alone below the default escalation is refused', async () => {
  // Default escalation is 15 min: a 10-min timeout alone would expire plans before they escalate.
  await assert.rejects(
    loadFloodConfigFile(writeJson('timeout.json', { approval: { approvalTimeoutMin: 10 } }), network),
    refused(/\/approval: escalateAfterMin \(15 \(default\)\) must be shorter than approvalTimeoutMin \(10\)/),
  );
  await assert.rejects(loadFloodConfigFile(writeJson('escalate.json', { approval: { escalateAfterMin: 90 } }), network), refused(/escalateAfterMin \(90\) must be shorter than approvalTimeoutMin \(60 \(default\)\)/));
  assert.deepEqual((await loadFloodConfigFile(writeJson('fine.json', { approval: { approvalTimeoutMin: 20 } }), network)).approval, { approvalTimeoutMin: 20 });
});
