// The console's account page in a real browser (Chromium via playwright-core, as console-e2e.test.ts): a
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
