// The lint rule that keeps workflow code deterministic actually fires on workflow files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ESLint } from 'eslint';
import { repoRoot } from '../../runtime/paths.js';

test('workflow files may not import Node builtins or I/O libraries, nor use fetch', async () => {
  const probe = path.join(repoRoot, 'workflows', `lint-probe-${process.pid}.ts`);
  await writeFile(
    probe,
    [
      "import { readFileSync } from 'node:fs';",
      "import { InfluxDB } from '@influxdata/influxdb-client';",
      'export async function probe(): Promise<unknown> {',
      "  return [readFileSync, InfluxDB, await fetch('http://example.invalid')];",
      '}',
      '',
    ].join('\n'),
  );
  try {
    const [result] = await new ESLint({ cwd: repoRoot }).lintFiles([probe]);
    const messages = result!.messages.map((m) => `${m.ruleId}: ${m.message}`);
    assert.ok(messages.some((m) => m.startsWith('no-restricted-imports') && m.includes("'node:fs'")), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('no-restricted-imports') && m.includes('@influxdata/influxdb-client')), messages.join('\n'));
    assert.ok(messages.some((m) => m.startsWith('no-restricted-globals') && m.includes('fetch')), messages.join('\n'));
  } finally {
    await rm(probe, { force: true });
  }
});

test('the same imports are allowed outside workflow code', async () => {
  const probe = path.join(repoRoot, 'activities', `lint-probe-${process.pid}.ts`);
  await writeFile(probe, "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n");
  try {
    const [result] = await new ESLint({ cwd: repoRoot }).lintFiles([probe]);
    assert.deepEqual(result!.messages.filter((m) => m.ruleId === 'no-restricted-imports'), []);
  } finally {
    await rm(probe, { force: true });
  }
});
