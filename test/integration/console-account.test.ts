// The console's account page and the admin's users page in a real browser (Chromium via playwright-core, as console-e2e.test.ts): a
// dispatcher changes their own password. The page needs only the API and its store; Temporal and InfluxDB are
// stand-ins here (the overview behind the sign-in may show their errors; nothing on this page asks them).
// Also checked: no Content-Security-Policy violation on the pages opened (the API sends a strict CSP).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../api/app.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { openStore, type Store } from '../../store/db.js';

const chromiumCandidates = ['/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
const chromiumPath = process.env['CHROMIUM_PATH'] ?? chromiumCandidates.find((p) => existsSync(p));
const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-console-account-'));
const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const temporal = { workflow: { getHandle: () => ({ describe: () => Promise.reject(new Error('stand-in')) }), list: async function* () {} } } as unknown as Client;
const influx = { write: () => Promise.resolve(0), ping: () => Promise.resolve({ latencyMs: 1, version: 'stand-in' }), query: () => Promise.resolve([]) } as unknown as InfluxConnector;

let store: Store;
let app: FastifyInstance;
let browser: Browser;
let baseUrl: string;

before(async () => {
  if (!chromiumPath) throw new Error(`no Chromium found (CHROMIUM_PATH, ${chromiumCandidates.join(', ')}); see console-e2e.test.ts`);
  store = await openStore(`sqlite:${path.join(tempDir, 'account.sqlite')}`);
  await store.users.create({ userName: 'sun', displayName: '孙调度', role: 'dispatcher', password: 'first password e2e' });
  await store.users.create({ userName: 'boss', displayName: '管理员', role: 'admin', password: 'admin password e2e' });
  app = await buildApp({ network, store, influx, temporal, temporalNamespace: 'default', probes: {} });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({ executablePath: chromiumPath });
});
after(async () => {
  await browser?.close();
  await app?.close();
  await store?.close();
  rmSync(tempDir, { recursive: true, force: true });
});

void test('a dispatcher changes their own password on the account page; a wrong current password is its own sentence; no CSP violation', async () => {
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('用户名').fill('sun');
  await page.getByLabel('密码').fill('first password e2e');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { level: 1, name: '管网总览' }).waitFor();

  await page.getByRole('link', { name: '孙调度' }).click();
  await page.getByRole('heading', { level: 1, name: '我的账户' }).waitFor();
  await page.getByLabel('当前密码').fill('not my password');
  await page.getByLabel('新密码', { exact: true }).fill('second password e2e');
  await page.getByLabel('再次输入新密码').fill('second password e2e');
  await page.getByRole('button', { name: '修改密码' }).click();
  await page.getByText('当前密码不正确。').waitFor();

  await page.getByLabel('当前密码').fill('first password e2e');
  await page.getByRole('button', { name: '修改密码' }).click();
  await page.getByText('密码已修改。其他登录已注销。').waitFor();
  assert.equal((await store.users.login('sun', 'second password e2e')).ok, true);
  assert.equal((await store.users.login('sun', 'first password e2e')).ok, false);
  assert.deepEqual(violations, []);
});

void test('an admin disables and enables a user and revokes an API token on the users page; each is audited', async () => {
  const svc = await store.users.create({ userName: 'grafana-svc', role: 'viewer', password: 'service password e2e' });
  const issued = await store.apiTokens.create(svc.id, 'grafana');
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('用户名').fill('boss');
  await page.getByLabel('密码').fill('admin password e2e');
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { level: 1, name: '管网总览' }).waitFor();
  await page.getByRole('navigation').getByRole('link', { name: '用户与令牌' }).click();
  await page.getByRole('heading', { level: 1, name: '用户与接口令牌' }).waitFor();

  const row = page.getByRole('row').filter({ hasText: 'grafana-svc' }).first();
  await row.getByRole('button', { name: '停用' }).click();
  await page.getByRole('dialog', { name: '停用用户 grafana-svc？' }).getByRole('button', { name: '确认' }).click();
  await page.getByText('已停用 grafana-svc，其登录已全部注销。').waitFor();
  assert.equal((await store.users.get('grafana-svc'))?.disabled, true);
  await page.getByRole('row').filter({ hasText: 'grafana-svc' }).first().getByRole('button', { name: '启用' }).click();
  await page.getByText('已启用 grafana-svc（登录锁定已解除）。').waitFor();
  assert.equal((await store.users.get('grafana-svc'))?.disabled, false);
  assert.equal(await page.getByRole('row').filter({ hasText: 'boss' }).first().getByRole('button', { name: '停用' }).isDisabled(), true, 'not oneself');

  assert.notEqual(await store.apiTokens.resolve(issued.token), null);
  await page.getByRole('button', { name: '吊销令牌 grafana' }).click();
  await page.getByRole('dialog', { name: '吊销 grafana-svc 的令牌 grafana？' }).getByRole('button', { name: '确认' }).click();
  await page.getByText('令牌 grafana 已吊销，立即失效。').waitFor();
  assert.equal(await store.apiTokens.resolve(issued.token), null);
  const actions = (await store.audit.search({ userName: 'boss', limit: 10, offset: 0 })).map((e) => e.action);
  assert.deepEqual(actions.slice(0, 3), ['token.revoke', 'user.enable', 'user.disable']);
  assert.deepEqual(violations, []);
});
