// docs/network-file.md: its example network is a valid file that round-trips unchanged and plans through the
// CLI, and the page names every field of the schema, so the documentation cannot drift from the code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../bin/cli.js';
import { NetworkConfig, PumpStation, StorageTank } from '../../network/schema.js';
import { parseNetwork } from '../../network/validate.js';
import type { Plan } from '../../planner/types.js';

const docPath = new URL('../../docs/network-file.md', import.meta.url);
const doc = readFileSync(docPath, 'utf8');
const dir = mkdtempSync(path.join(tmpdir(), 'network-docs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]) {
  let stderr = '';
  const code = await runCli(args, { stdout: () => {}, stderr: (t) => (stderr += t) });
  return { code, stderr };
}

test('the example network in docs/network-file.md is valid, round-trips unchanged and plans through the CLI', async () => {
  const blocks = [...doc.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 1, 'one example network');
  const raw = JSON.parse(blocks[0]!) as unknown;
  const network = parseNetwork(structuredClone(raw), 'docs/network-file.md');
  assert.deepEqual(JSON.parse(JSON.stringify(network)), raw);

  const networkPath = path.join(dir, 'network.json');
  writeFileSync(networkPath, blocks[0]!);
  const [statePath, inflowPath, planPath] = ['state.json', 'inflow.json', 'plan.json'].map((f) => path.join(dir, f)) as [string, string, string];
  const made = await cli('example', '--network', networkPath, '--state', statePath, '--inflow', inflowPath, '--now', '2026-07-01T06:00:00+08:00', '--rain-mm', '30');
  assert.equal(made.code, 0, made.stderr);
  const planned = await cli('plan', '--network', networkPath, '--state', statePath, '--inflow', inflowPath, '--out', planPath, '--time-limit', '30');
  assert.equal(planned.code, 0, planned.stderr);
  const plan = JSON.parse(readFileSync(planPath, 'utf8')) as Plan;
  assert.equal(plan.networkId, 'minimal');
  assert.equal(plan.fallback, undefined, JSON.stringify(plan.fallback));
});

test('docs/network-file.md names every field of the network schema', () => {
  const fields = (schema: { properties?: Record<string, unknown> }) => Object.keys(schema.properties ?? {});
  const stationWell = PumpStation.properties.levels as unknown as { properties: Record<string, unknown> };
  const expected = [...fields(NetworkConfig), ...fields(PumpStation), ...fields(stationWell), ...fields(StorageTank)];
  const missing = expected.filter((f) => !doc.includes(`\`${f}\``) && !doc.includes(`"${f}"`));
  assert.deepEqual(missing, []);
});
