// Writes the Grafana dashboards of a network to dashboards/generated/*.json (provisioned by
// infra/grafana/provisioning/dashboards/sewer.yaml through the mount in infra/compose.yaml).
//
//   tsx dashboards/generate.ts [--network config/reference-network.json] [--out dashboards/generated] [--check]
//
// --check writes nothing and exits 1 when the files on disk differ from what the generator produces.
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadNetworkFile, referenceNetworkPath } from '../network/load.js';
import { renderDashboards } from './build.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const defaultOutDir = path.join(repoRoot, 'dashboards', 'generated');

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      network: { type: 'string', default: referenceNetworkPath },
      out: { type: 'string', default: defaultOutDir },
      check: { type: 'boolean', default: false },
    },
  });
  const network = await loadNetworkFile(values.network);
  const files = renderDashboards(network);
  const outDir = path.resolve(values.out);
  const existing = (await readdir(outDir).catch(() => [] as string[])).filter((f) => f.endsWith('.json'));
  const stale = existing.filter((f) => !files.has(f));

  if (values.check) {
    const differing: string[] = [];
    for (const [file, content] of files) if ((await readOrNull(path.join(outDir, file))) !== content) differing.push(file);
    if (differing.length > 0 || stale.length > 0) {
      console.error(`dashboards out of date in ${path.relative(repoRoot, outDir)}: ${[...differing, ...stale.map((f) => `${f} (not generated)`)].join(', ')}; run: tsx dashboards/generate.ts`);
      return 1;
    }
    console.log(`dashboards up to date (${files.size} files)`);
    return 0;
  }

  await mkdir(outDir, { recursive: true });
  for (const [file, content] of files) await writeFile(path.join(outDir, file), content);
  for (const file of stale) await rm(path.join(outDir, file));
  console.log(`wrote ${files.size} dashboards for network ${network.id} to ${path.relative(repoRoot, outDir) || outDir}${stale.length > 0 ? `; removed ${stale.join(', ')}` : ''}`);
  return 0;
}

process.exitCode = await main();
