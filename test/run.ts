// The test command's runner: every *.test.ts under test/, unit tests first, one file at a time
// (integration files start real servers; two cores do not fit two of them at once).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const testDir = path.dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (readdirSync(testDir, { recursive: true }) as string[])
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort((a, b) => Number(a.startsWith('integration')) - Number(b.startsWith('integration')) || a.localeCompare(b))
  .map((f) => path.join(testDir, f));

if (files.length === 0) {
  console.error(`no test files matched ${only.join(' ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
