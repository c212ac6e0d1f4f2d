// Benchmark harness: `npm run bench -- <name> [--json] [benchmark options]`.
// Runs bench/<name>.ts, whose `run(args)` resolves to one flat-ish JSON object of results. With --json the
// last line printed is that object (machine-readable: CI and reports take the last line); without, a table
// for people, then the same JSON line.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

type Benchmark = { run: (args: string[]) => Promise<Record<string, unknown>> };

/** Names of the benchmarks: every bench/<name>.ts except this harness. */
export async function availableBenchmarks(): Promise<string[]> {
  const files = await readdir(benchDir);
  return files
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'index.ts' && !f.startsWith('_'))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

/** Rows of a readable table: nested objects flattened to dotted keys, arrays printed inline. */
export function tableRows(result: Record<string, unknown>, prefix = ''): [string, string][] {
  const rows: [string, string][] = [];
  for (const [key, value] of Object.entries(result)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) rows.push(...tableRows(value as Record<string, unknown>, name));
    else rows.push([name, typeof value === 'string' ? value : JSON.stringify(value)]);
  }
  return rows;
}

function formatTable(rows: [string, string][]): string {
  const width = Math.max(...rows.map(([k]) => k.length), 6);
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

async function main(argv: string[]): Promise<number> {
  const available = await availableBenchmarks();
  const listing = `available: ${available.join(', ') || '(none)'}`;
  const [name, ...rest] = argv;
  if (name === undefined || name.startsWith('-')) {
    const help = name === '--help' || name === '-h';
    (help ? console.log : console.error)(`usage: npm run bench -- <name> [--json] [options]\n${listing}`);
    return help ? 0 : 2;
  }
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name) || !available.includes(name)) {
    console.error(`bench: unknown benchmark "${name}"; ${listing}`);
    return 2;
  }
  const json = rest.includes('--json');
  const args = rest.filter((a) => a !== '--json');
  const module = (await import(pathToFileURL(path.join(benchDir, `${name}.ts`)).href)) as Partial<Benchmark>;
  if (typeof module.run !== 'function') {
    console.error(`bench: bench/${name}.ts does not export run(args)`);
    return 2;
  }
  const result = await module.run(args);
  if (!json) {
    console.log(`benchmark ${name}`);
    console.log(formatTable(tableRows(result)));
  }
  // Always the last line: one JSON object.
  process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
