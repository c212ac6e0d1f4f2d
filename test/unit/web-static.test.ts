// The dispatcher's console (web/static): plain ES modules that only run in a browser, so they are
// checked here as text: they parse, every UI string exists in Chinese and English, index.html
// points at files that exist, and nothing is built with innerHTML or fetched from the internet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { alertKinds, alertSources } from '../../api/routes/alerts.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const webRoot = path.join(root, 'web/static');
const read = (file: string) => readFileSync(path.join(webRoot, file), 'utf8');
const jsFiles = readdirSync(webRoot).filter((f) => f.endsWith('.js'));

function parse(fileName: string, text: string): ts.SourceFile {
  return ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, fileName.endsWith('.ts') ? ts.ScriptKind.TS : ts.ScriptKind.JS);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

function propertyName(name: ts.PropertyName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  throw new Error(`unsupported property name ${name.getText()}`);
}

/** messages.zh and messages.en of i18n.js, read from its syntax tree (the module touches localStorage). */
function readMessages(): Record<string, Map<string, string>> {
  const source = parse('i18n.js', read('i18n.js'));
  let found: ts.ObjectLiteralExpression | undefined;
  walk(source, (node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.name.text === 'messages' && node.initializer && ts.isObjectLiteralExpression(node.initializer)) {
      found = node.initializer;
    }
  });
  assert.ok(found, 'i18n.js declares `messages` as an object literal');
  const tables: Record<string, Map<string, string>> = {};
  for (const lang of found.properties) {
    assert.ok(ts.isPropertyAssignment(lang) && ts.isObjectLiteralExpression(lang.initializer), 'each language is an object literal');
    const table = new Map<string, string>();
    for (const entry of lang.initializer.properties) {
      assert.ok(ts.isPropertyAssignment(entry), `plain key: value entries only (${entry.getText()})`);
      const key = propertyName(entry.name);
      assert.ok(ts.isStringLiteral(entry.initializer) || ts.isNoSubstitutionTemplateLiteral(entry.initializer), `${key} is a plain string`);
      assert.ok(!table.has(key), `${key} appears once`);
      table.set(key, entry.initializer.text);
    }
    tables[propertyName(lang.name)] = table;
  }
  return tables;
}

/** String literals of a union type alias, or of one property of an interface, in a TypeScript file. */
function stringUnion(file: string, typeName: string, property?: string): string[] {
  const source = parse(file, readFileSync(path.join(root, file), 'utf8'));
  let typeNode: ts.TypeNode | undefined;
  walk(source, (node) => {
    if (!property && ts.isTypeAliasDeclaration(node) && node.name.text === typeName) typeNode = node.type;
    if (property && ts.isInterfaceDeclaration(node) && node.name.text === typeName) {
      const member = node.members.find((m) => ts.isPropertySignature(m) && m.name.getText() === property);
      if (member && ts.isPropertySignature(member)) typeNode = member.type;
    }
  });
  assert.ok(typeNode, `${file} declares ${typeName}${property ? `.${property}` : ''}`);
  const values: string[] = [];
  walk(typeNode, (node) => {
    if (ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal)) values.push(node.literal.text);
  });
  assert.ok(values.length > 0, `${typeName} is a union of string literals`);
  return values;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

void test('every script in web/static parses as an ES module', () => {
  assert.ok(jsFiles.includes('app.js') && jsFiles.includes('i18n.js'), 'app.js and i18n.js exist');
  for (const file of jsFiles) {
    // package.json says "type": "module", so node checks .js files as ES modules.
    execFileSync(process.execPath, ['--check', path.join(webRoot, file)], { stdio: 'pipe' });
    const output = ts.transpileModule(read(file), { fileName: file, reportDiagnostics: true, compilerOptions: { allowJs: true, module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
    const messages = (output.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    assert.deepEqual(messages, [], `${file} has no syntax errors`);
  }
});

void test('relative imports between the scripts resolve to files that exist', () => {
  for (const file of jsFiles) {
    const source = parse(file, read(file));
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (!specifier || !ts.isStringLiteral(specifier)) continue;
      assert.match(specifier.text, /^\.\/[\w.-]+\.js$/, `${file} imports only sibling files with their extension (${specifier.text})`);
      assert.ok(existsSync(path.join(webRoot, specifier.text)), `${file} imports ${specifier.text}, which exists`);
    }
  }
});

void test('Chinese and English have the same keys and the same placeholders', () => {
  const { zh, en } = readMessages();
  assert.ok(zh && en, 'both zh and en tables exist');
  assert.deepEqual([...zh.keys()].filter((k) => !en.has(k)), [], 'keys missing in en');
  assert.deepEqual([...en.keys()].filter((k) => !zh.has(k)), [], 'keys missing in zh');
  for (const [key, text] of zh) {
    assert.ok(text.trim().length > 0, `zh ${key} is not empty`);
    assert.ok((en.get(key) ?? '').trim().length > 0, `en ${key} is not empty`);
    assert.deepEqual(placeholders(text), placeholders(en.get(key) ?? ''), `placeholders of ${key} agree`);
  }
});

void test("every t('key') in app.js and every data-i18n key in index.html exists in zh and en", () => {
  const { zh, en } = readMessages();
  const app = read('app.js');
  const used = new Set([...app.matchAll(/\b(?:t|tWith)\(\s*'([^'\\]+)'\s*[,)]/g)].map((m) => m[1]!));
  assert.ok(used.size > 50, `app.js uses many keys (found ${used.size})`);
  const html = read('index.html');
  for (const m of html.matchAll(/data-i18n(?:-aria-label)?="([^"]+)"/g)) used.add(m[1]!);
  const missing = [...used].filter((key) => !zh!.has(key) || !en!.has(key));
  assert.deepEqual(missing, [], 'keys used but not translated');
});

void test('status, role, write-result, planner, band, flood and alert labels cover every value the API can send', () => {
  const { zh, en } = readMessages();
  const families: [string, string[]][] = [
    ['status', stringUnion('contract/index.ts', 'PlanStatus')],
    ['role', stringUnion('contract/index.ts', 'Role')],
    ['write', stringUnion('contract/index.ts', 'SetpointWriteResult', 'status')],
    ['decision.kind', stringUnion('contract/index.ts', 'Decision', 'kind')],
    ['opMode', stringUnion('planner/types.ts', 'OperatingMode')],
    ['planner', stringUnion('planner/types.ts', 'Plan', 'planner')],
    ['health', ['up', 'down', 'degraded']],
    ['component', ['temporal', 'influxdb', 'opcua', 'forecast']],
    ['mode', ['remote', 'local', 'remoteInactive', 'unknown']],
    ['band', ['normal', 'above-start', 'high', 'overflow', 'unknown']],
    // Flood season, alerts and history (plan events recorded by the plan workflow).
    ['warning', stringUnion('flood/types.ts', 'WarningLevel')],
    ['response', stringUnion('flood/types.ts', 'ResponseLevel')],
    ['crew', stringUnion('flood/types.ts', 'CrewTask', 'kind')],
    ['floodAction', stringUnion('flood/types.ts', 'FloodAction', 'kind')],
    ['flowMode', stringUnion('flood/types.ts', 'EmergencyPlan', 'flowMode')],
    ['floodStatus', stringUnion('contract/index.ts', 'FloodSeasonState', 'status')],
    ['alert', [...alertKinds]],
    ['severity', ['critical', 'warning', 'info']],
    ['alertSource', [...alertSources]],
    ['risk', ['overflow', 'high', 'rain']],
    ['crewState', ['proposed', 'dispatched']],
    ['status', ['escalated', 'auto-approved', 'needs-approval', 'modified', 'handed-back', 'step-applied']],
    // Automatic decisions are made by the system (Decision.role 'system').
    ['role', ['system']],
  ];
  const missing: string[] = [];
  for (const [prefix, values] of families) {
    for (const value of values) if (!zh!.has(`${prefix}.${value}`) || !en!.has(`${prefix}.${value}`)) missing.push(`${prefix}.${value}`);
  }
  assert.deepEqual(missing, []);
});

void test('index.html references files that exist and nothing outside the server', () => {
  const html = read('index.html');
  const refs = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
  const local = refs.filter((r) => !r.startsWith('#'));
  assert.ok(local.includes('app.js'), 'index.html loads app.js');
  assert.ok(local.includes('styles.css'), 'index.html loads styles.css');
  assert.match(html, /<script type="module" src="app.js"><\/script>/, 'app.js is loaded as a module');
  for (const ref of local) {
    assert.doesNotMatch(ref, /^(?:[a-z]+:)?\/\//i, `no external reference (${ref})`);
    assert.ok(existsSync(path.join(webRoot, ref.split(/[?#]/)[0]!)), `${ref} exists in web/static`);
  }
  assert.match(html, /<html lang="zh-CN">/, 'Chinese is the default language');
  assert.match(html, /<meta name="viewport"/, 'viewport meta for phones');
});

void test('the scripts build no markup from strings and fetch nothing from the internet', () => {
  for (const file of jsFiles) {
    const text = read(file);
    assert.doesNotMatch(text, /\.(?:innerHTML|outerHTML)\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(/, `${file} uses no HTML-string or code-string APIs`);
    const urls = [...text.matchAll(/https?:\/\/[^\s'"`)]+/g)].map((m) => m[0]).filter((u) => u !== 'http://www.w3.org/2000/svg');
    assert.deepEqual(urls, [], `${file} references no external URL`);
  }
  const css = read('styles.css');
  assert.doesNotMatch(css, /@import|url\(\s*['"]?https?:/, 'styles.css loads nothing from elsewhere');
});
