// The generated Grafana dashboards: committed JSON is what the generator produces; every dashboard has a fixed
// uid, a Chinese title and an English description; the JSON type-checks against the SDK's types (compiled with
// the TypeScript compiler) and passes the checks types cannot express (known panel types, the provisioned
// datasource, raw InfluxQL targets); and another network's ids end up in the panels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import YAML from 'yaml';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as text from '@grafana/grafana-foundation-sdk/text';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { buildDashboards, renderDashboards } from '../../dashboards/build.js';
import { Uid } from '../../dashboards/common/dashboard.js';
import { INFLUX_DATASOURCE_UID } from '../../dashboards/common/datasource.js';
import { sortKeys } from '../../dashboards/common/json.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { parseNetwork } from '../../network/validate.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const generatedDir = path.join(repoRoot, 'dashboards', 'generated');
const reference = await loadNetworkFile(referenceNetworkPath);
const committed = new Map(
  readdirSync(generatedDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, readFileSync(path.join(generatedDir, f), 'utf8')]),
);
const parsed = [...committed.entries()].map(([file, text]) => ({ file, json: JSON.parse(text) as Record<string, unknown> & dashboard.Dashboard }));

const HAN = /\p{Script=Han}/u;
const ENGLISH = /[A-Za-z]{3,}(?:\s+[A-Za-z]{2,})+/;

/** A panel as read from JSON: targets are plain objects (InfluxQL or expression models). */
type PanelJson = Omit<dashboard.Panel, 'targets'> & { targets?: Record<string, unknown>[] };
const panelsOf = (d: dashboard.Dashboard) => (d.panels ?? []).filter((p) => p.type !== 'row') as unknown as PanelJson[];

test('the committed JSON equals what the generator produces now', () => {
  const generated = renderDashboards(reference);
  assert.deepEqual([...committed.keys()].sort(), [...generated.keys()].sort(), 'files in dashboards/generated (run: tsx dashboards/generate.ts)');
  for (const [file, content] of generated) assert.equal(committed.get(file), content, `${file} is stale (run: tsx dashboards/generate.ts)`);
});

test('the output is deterministic: sorted keys, 2-space indentation, trailing newline', () => {
  assert.deepEqual(renderDashboards(reference), renderDashboards(structuredClone(reference)));
  for (const [file, content] of committed) {
    assert.ok(content.endsWith('}\n') && !content.endsWith('\n\n'), `${file}: one trailing newline`);
    assert.equal(content, `${JSON.stringify(sortKeys(JSON.parse(content)), null, 2)}\n`, `${file}: sorted keys, 2-space indentation`);
  }
});

test('every dashboard has its fixed uid, a Chinese title and an English description; so has every panel', () => {
  assert.deepEqual(parsed.map((d) => d.json.uid).sort(), Object.values(Uid).sort());
  for (const { file, json } of parsed) {
    assert.match(json.title ?? '', HAN, `${file}: title`);
    assert.match(json.description ?? '', ENGLISH, `${file}: description`);
    assert.doesNotMatch(json.description ?? '', HAN, `${file}: description in English`);
    assert.ok(json.tags?.includes('sewer-dispatch'), `${file}: tag for the dashboard links`);
    for (const p of json.panels ?? []) {
      assert.match(p.title ?? '', HAN, `${file}: panel ${p.id} title`);
      if (p.type === 'row') continue;
      const panel = p as dashboard.Panel;
      assert.match(panel.description ?? '', ENGLISH, `${file}: panel "${panel.title}" description`);
    }
  }
});

// --- Validation against the SDK's types ----------------------------------------------------------

/**
 * The committed JSON as object literals typed with the SDK's dashboard types, compiled by tsc: unknown keys
 * (excess properties), missing required keys and wrong enum values are type errors. JSON carries no methods
 * and enums as their values, hence Json<T>; targets are the InfluxQL model or an SDK math expression.
 */
function typeCheck(files: { file: string; json: unknown }[]): Map<string, string[]> {
  const virtual = path.join(repoRoot, 'test', 'unit', '__dashboards_typecheck__.ts');
  const source: string[] = [
    "import type * as cog from '@grafana/grafana-foundation-sdk/cog';",
    "import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';",
    "import type * as expr from '@grafana/grafana-foundation-sdk/expr';",
    "import type { InfluxQlQuery } from '../../dashboards/common/influxql.js';",
    'type Fn = (...args: never[]) => unknown;',
    'type IsAny<T> = 0 extends 1 & T ? true : false;',
    'type Json<T> = IsAny<T> extends true ? any : T extends Fn ? never : T extends string ? `${T}` : T extends readonly (infer U)[] ? Json<U>[] : T extends object ? { [K in keyof T as T[K] extends Fn ? never : K]: Json<T[K]> } : T;',
    'type Target = Json<InfluxQlQuery> | Json<expr.TypeMath>;',
    "type PanelJson = Omit<Json<dashboard.Panel>, 'targets'> & { targets?: Target[] };",
    "type RowJson = Omit<Json<dashboard.RowPanel>, 'panels'> & { panels: PanelJson[] };",
    "type DashboardJson = Omit<Json<dashboard.Dashboard>, 'panels'> & { panels?: (PanelJson | RowJson)[] };",
    'export type Unused = cog.Dataquery;',
  ];
  // One declaration per line, so a diagnostic's line tells which file it belongs to.
  const firstLine = source.length;
  source.push(...files.map((f, i) => `export const d${i}: DashboardJson = ${JSON.stringify(f.json)};`));
  const text = source.join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, ...rest) =>
    path.resolve(fileName) === virtual ? ts.createSourceFile(fileName, text, languageVersion, true) : getSourceFile(fileName, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => path.resolve(fileName) === virtual || fileExists(fileName);
  const program = ts.createProgram({ rootNames: [virtual], options, host });
  const errors = new Map<string, string[]>([['(preamble)', []], ...files.map((f): [string, string[]] => [f.file, []])]);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n').slice(0, 600);
    if (!d.file || path.resolve(d.file.fileName) !== virtual) continue;
    const line = d.file.getLineAndCharacterOfPosition(d.start ?? 0).line;
    const file = files[line - firstLine]?.file ?? '(preamble)';
    errors.set(file, [...(errors.get(file) ?? []), message]);
  }
  return errors;
}

// One compilation for every check below (tsc on ~250 kB of literals takes a while).
const brokenFile = 'broken.json';
const otherFiles = () => buildDashboards(otherNetwork()).map((b) => ({ file: `other/${b.file}`, json: JSON.parse(JSON.stringify(b.dashboard)) as unknown }));
let typeErrors: Map<string, string[]> | undefined;
function typeErrorsOf(file: string): string[] {
  typeErrors ??= typeCheck([...parsed, { file: brokenFile, json: brokenDashboard() }, ...otherFiles()]);
  const errors = typeErrors.get(file);
  assert.ok(errors, `${file} was not type-checked`);
  return errors;
}

/** A dashboard with an unknown panel key and a wrong enum value, to show the check bites. */
function brokenDashboard(): dashboard.Dashboard {
  const broken = structuredClone(parsed[0]!.json);
  const panel = panelsOf(broken)[0] as unknown as Record<string, unknown>;
  panel['colour'] = 'red';
  broken.graphTooltip = 7 as dashboard.DashboardCursorSync;
  return broken;
}

test('the JSON type-checks against the SDK dashboard types', { timeout: 120_000 }, () => {
  assert.deepEqual(typeErrorsOf('(preamble)'), []);
  for (const { file } of parsed) assert.deepEqual(typeErrorsOf(file), [], file);
  // The check bites: an unknown panel key and a wrong enum value are errors.
  const errors = typeErrorsOf(brokenFile);
  assert.ok(errors.some((e) => e.includes('colour')), errors.join('\n'));
  assert.ok(errors.some((e) => e.includes("'7'") && e.includes('DashboardCursorSync')), errors.join('\n'));
});

/** Panel types the SDK builds (its panel packages); the dashboards use no plugin outside them. */
const knownPanelTypes = new Set(
  [
    new timeseries.PanelBuilder(),
    new stat.PanelBuilder(),
    new table.PanelBuilder(),
    new gauge.PanelBuilder(),
    new bargauge.PanelBuilder(),
    new statetimeline.PanelBuilder(),
    new text.PanelBuilder(),
    new barchart.PanelBuilder(),
    new piechart.PanelBuilder(),
  ].map((b) => b.build().type),
);
const knownTransformations = new Set(['organize', 'merge', 'sortBy', 'joinByField', 'reduce', 'calculateField']);

test('panels use known types, the provisioned InfluxDB datasource and raw InfluxQL targets', () => {
  const provisioning = YAML.parse(readFileSync(path.join(repoRoot, 'infra/grafana/provisioning/datasources/influxdb.yaml'), 'utf8')) as {
    datasources: { uid: string; type: string; jsonData: { version: string } }[];
  };
  const provisioned = provisioning.datasources.find((d) => d.uid === INFLUX_DATASOURCE_UID);
  assert.ok(provisioned, `datasource ${INFLUX_DATASOURCE_UID} is provisioned`);
  assert.equal(provisioned.type, 'influxdb');
  assert.equal(provisioned.jsonData.version, 'InfluxQL');
  const providerYaml = YAML.parse(readFileSync(path.join(repoRoot, 'infra/grafana/provisioning/dashboards/sewer.yaml'), 'utf8')) as { providers: { options: { path: string } }[] };
  assert.match(readFileSync(path.join(repoRoot, 'infra/compose.yaml'), 'utf8'), new RegExp(`\\.\\./dashboards/generated:${providerYaml.providers[0]!.options.path}:ro`));

  const defaults = dashboard.defaultDashboard();
  for (const { file, json } of parsed) {
    assert.equal(json.schemaVersion, defaults.schemaVersion, `${file}: schema version of the SDK`);
    assert.equal(json.timezone, reference.timezone, `${file}: network time zone`);
    const ids = (json.panels ?? []).flatMap((p) => [p.id, ...(p.type === 'row' ? (p as dashboard.RowPanel).panels.map((q) => q.id) : [])]);
    assert.equal(new Set(ids).size, ids.length, `${file}: unique panel ids`);
    for (const p of json.panels ?? []) {
      const g = p.gridPos!;
      assert.ok(Number.isInteger(g.x) && Number.isInteger(g.y) && g.w > 0 && g.h > 0 && g.x + g.w <= 24, `${file}: panel ${p.id} grid ${JSON.stringify(g)}`);
      if (p.type === 'row') {
        const row = p as dashboard.RowPanel;
        // Grafana drops panels nested in an expanded row: they must follow it at top level.
        assert.ok(row.collapsed || row.panels.length === 0, `${file}: expanded row "${row.title}" holds panels`);
        continue;
      }
      const panel = p as unknown as PanelJson;
      const where = `${file}: "${panel.title}"`;
      assert.ok(knownPanelTypes.has(panel.type), `${where}: unknown panel type ${panel.type}`);
      for (const t of panel.transformations ?? []) assert.ok(knownTransformations.has(t.id), `${where}: transformation ${t.id}`);
      if (panel.type === 'text') {
        assert.equal(panel.targets, undefined, `${where}: text panels query nothing`);
        continue;
      }
      assert.deepEqual(panel.datasource, { type: 'influxdb', uid: provisioned.uid }, `${where}: datasource`);
      const targets = panel.targets ?? [];
      assert.ok(targets.length > 0, `${where}: no targets`);
      const refIds = targets.map((t) => t['refId'] as string);
      assert.equal(new Set(refIds).size, refIds.length, `${where}: unique refIds`);
      for (const t of targets) {
        const ds = t['datasource'] as { type: string; uid: string };
        if (ds.type === '__expr__') {
          assert.equal(t['type'], 'math', `${where}: expression type`);
          const refs = [...String(t['expression']).matchAll(/\$([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
          assert.ok(refs.length > 0 && refs.every((r) => refIds.includes(r)), `${where}: expression ${String(t['expression'])} refers to its panel's queries`);
          continue;
        }
        assert.deepEqual(ds, { type: 'influxdb', uid: provisioned.uid }, `${where}: target datasource`);
        assert.equal(t['rawQuery'], true, `${where}: raw InfluxQL`);
        assert.ok(['time_series', 'table'].includes(t['resultFormat'] as string), `${where}: resultFormat`);
        const q = String(t['query']);
        assert.match(q, /^SELECT .+ FROM .+/, `${where}: query`);
        assert.ok(q.includes('$timeFilter'), `${where}: query is limited to the dashboard's time range: ${q}`);
        assert.equal((q.match(/\(/g) ?? []).length, (q.match(/\)/g) ?? []).length, `${where}: balanced parentheses`);
        for (const v of q.matchAll(/\$([A-Za-z_]+)/g)) {
          const name = v[1]!;
          assert.ok(['timeFilter', '__interval'].includes(name) || json.templating.list?.some((x) => x.name === name), `${where}: $${name} is not a variable of the dashboard`);
        }
      }
    }
    for (const v of json.templating.list ?? []) {
      assert.ok(Object.values(dashboard.VariableType).includes(v.type), `${file}: variable ${v.name} type`);
      if (v.type === dashboard.VariableType.Query) assert.deepEqual(v.datasource, { type: 'influxdb', uid: provisioned.uid }, `${file}: variable ${v.name} datasource`);
    }
  }
});

// --- Another network ------------------------------------------------------------------------------

/** The reference network with every station, plant and catchment renamed, and its own levels and tariff. */
function otherNetwork(): NetworkConfig {
  const n: NetworkConfig = structuredClone(reference);
  const rename = new Map<string, string>();
  n.stations.forEach((s, i) => rename.set(s.id, `PS${String(i + 1).padStart(2, '0')}`));
  n.plants.forEach((p, i) => rename.set(p.id, `STP${i + 1}`));
  const r = (id: string) => rename.get(id) ?? id;
  n.id = 'other-utility';
  n.stations.forEach((s, i) => {
    s.id = r(s.id);
    s.levels.highAlarmM = i < 4 ? 3.1 : 3.6;
  });
  n.plants.forEach((p) => (p.id = r(p.id)));
  n.mains.forEach((m) => Object.assign(m, { from: r(m.from), to: r(m.to) }));
  n.interconnections.forEach((x) => Object.assign(x, { a: r(x.a), b: r(x.b) }));
  n.tanks.forEach((t) => Object.assign(t, { node: r(t.node), ...(t.overflowTo ? { overflowTo: r(t.overflowTo) } : {}) }));
  n.catchments.forEach((c) => Object.assign(c, { id: `CA-${r(c.node)}`, node: r(c.node) }));
  n.analysers.forEach((a) => Object.assign(a, { node: r(a.node) }));
  n.tariff.periods = [
    { name: 'valley', priceCnyPerKwh: 0.25, ranges: [{ from: '00:00', to: '07:00' }, { from: '23:00', to: '24:00' }] },
    { name: 'flat', priceCnyPerKwh: 0.6, ranges: [{ from: '07:00', to: '09:00' }, { from: '12:00', to: '23:00' }] },
    { name: 'peak', priceCnyPerKwh: 1.2, ranges: [{ from: '09:00', to: '12:00' }] },
  ];
  return parseNetwork(n, 'other-network');
}

test('a network with different station ids yields panels for those ids', () => {
  const other = otherNetwork();
  const built = buildDashboards(other);
  const text = JSON.stringify(built.map((b) => b.dashboard));
  const stationIds = other.stations.map((s) => s.id);

  const station = built.find((b) => b.key === 'station')!.dashboard;
  const variable = station.templating.list?.find((v) => v.name === 'station');
  assert.deepEqual(variable?.options?.map((o) => o.value), stationIds);
  assert.equal(variable?.current?.value, 'PS01');

  // Per-station constants: one subquery per group of stations sharing the high-alarm level.
  const flood = built.find((b) => b.key === 'flood')!.dashboard;
  const atRisk = panelsOf(flood).find((p) => p.title === '当前高液位泵站')!.targets![0]!['query'] as string;
  assert.ok(atRisk.includes(`/^(${stationIds.slice(0, 4).join('|')})$/`) && atRisk.includes('- 3.1) / 1000'), atRisk);
  assert.ok(atRisk.includes(`/^(${stationIds.slice(4).join('|')})$/`) && atRisk.includes('- 3.6) / 1000'), atRisk);

  // Plants and catchments by their new ids; the reference ids appear nowhere in a query or variable.
  const plants = built.find((b) => b.key === 'plants')!.dashboard;
  for (const p of other.plants) assert.ok(panelsOf(plants).some((panel) => panel.targets?.some((t) => String(t['query']).includes(`"id" = '${p.id}'`))), p.id);
  assert.ok(text.includes('"value":"CA-PS01"'));
  for (const old of [...reference.stations.map((s) => s.id), ...reference.plants.map((p) => p.id)]) {
    assert.doesNotMatch(text, new RegExp(`[|(']${old}[|)']`), `reference id ${old} left in the generated dashboards`);
  }

  // The tariff of this network: valley 00:00–07:00 and 23:00–24:00 local = from 16:00, 23:00 and 15:00 UTC.
  const energy = built.find((b) => b.key === 'energy')!.dashboard;
  const daily = panelsOf(energy).find((p) => p.title === '分时段日电耗')!;
  const valley = daily.targets!.find((t) => t['alias'] === '谷 valley')!['query'] as string;
  for (const offset of ['16h', '23h', '15h']) assert.ok(valley.includes(`GROUP BY time(1d, ${offset})`), `${offset} in ${valley}`);
});

test('the other network’s dashboards type-check too', { timeout: 120_000 }, () => {
  for (const { file } of otherFiles()) assert.deepEqual(typeErrorsOf(file), [], file);
});

test('every quality analyser of the network file is on the plants dashboard, network analysers per plant upstream first', () => {
  const plants = buildDashboards(reference).find((d) => d.key === 'plants')!.dashboard;
  const queries = panelsOf(plants).flatMap((p) => (p.targets ?? []).map((t) => (t['query'] as string | undefined) ?? ''));
  for (const a of reference.analysers) assert.ok(queries.some((q) => q.includes(`"id" = '${a.id}'`)), `analyser ${a.id} at ${a.node} is queried`);
  const cod = panelsOf(plants).find((p) => p.title === '管网化学需氧量');
  assert.ok(cod, 'a network COD panel');
  // Reference network: Q-E4 (E4, 85 min to EP) before Q-E7 (E7, 40 min), Q-W5 (W5, 75 min to WP) before Q-W6 (W6, 45 min).
  assert.deepEqual((cod.targets ?? []).map((t) => /"id" = '([^']+)'/.exec(t['query'] as string)?.[1]), ['Q-E4', 'Q-E7', 'Q-W5', 'Q-W6']);
});
