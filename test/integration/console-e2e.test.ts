// The dispatcher's console in a real browser (Debian's Chromium driven by playwright-core) against the real
// system: Temporal and InfluxDB, the OPC UA simulator, the forecast server, a dispatch worker and the API
// listening on a port. A dispatcher signs in, opens the pending plan from the plan list (in another tab, read as
// if it needed a supervisor: the buttons are disabled and say so), modifies it, has the approve dialog closed
// under them when a supervisor modifies it again, approves the new revision (the revision reviewed is sent with
// each decision), sees it dispatched, and the plan's first-step setpoints are then read back from the simulator.
// A plan that does not exist shows a translated error with the server's words folded. Workflow text is shown in
// words: the modifications, a step's error, the history's details and the rain forecast's source.
// Screenshots of the main pages in Chinese and English go to test-results/screenshots/ (git-ignored).
//
// The browser: CHROMIUM_PATH, else the Debian paths below (infra/bootstrap.sh installs the package when run
// as root). Without one the test fails and says how to install it; it does not skip.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { DispatchCycleState } from '../../contract/index.js';
import { startForecastServer } from '../../forecast-server/server.js';
import { loadNetworkFile, referenceNetworkPath } from '../../network/load.js';
import type { NetworkConfig } from '../../network/schema.js';
import { createRainScenario, rainMmInMinute } from '../../scenarios/rain.js';
import { createSimulation } from '../../simulator/model.js';
import { startSimulatorServer, type SimulatorServerHandle } from '../../simulator/opcua-server.js';
import type { Store } from '../../store/db.js';
import { ensureFloodSeason } from '../../worker/flood-season.js';
import { bundleWorkflows } from '../../worker/worker.js';
import { serviceEnv, startTestServers, type TestServers } from '../support/servers.js';
import { logIn, startRuntimeServiceStack, triggerDispatchCycle, type ServiceStack } from '../support/service-stack.js';

const chromiumCandidates = ['/usr/bin/chromium-headless-shell', '/usr/lib/chromium/chromium-headless-shell', '/usr/bin/chromium', '/usr/bin/chromium-browser'];
const screenshotDir = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const localStation = 'E9';
const dispatcher = { userName: 'zhou', displayName: '周调度', password: 'dispatcher-password-e2e' };
const supervisor = { userName: 'qian', displayName: '钱主管', password: 'supervisor-password-e2e' };

/** What the page scripts here touch in the browser (this project compiles without the DOM library). */
interface BrowserGlobals {
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
}

/** The Chromium to drive: CHROMIUM_PATH, then the Debian locations. Throws how to get one. */
function findChromium(): string {
  const fromEnv = process.env['CHROMIUM_PATH'];
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist`);
    return fromEnv;
  }
  const found = chromiumCandidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `no Chromium found (looked at CHROMIUM_PATH and ${chromiumCandidates.join(', ')}). ` +
        'Install Debian\'s package as root: apt-get install chromium-headless-shell (infra/bootstrap.sh does this when run as root), or set CHROMIUM_PATH.',
    );
  }
  return found;
}

let tmp: string;
let servers: TestServers;
let network: NetworkConfig;
let simulator: SimulatorServerHandle;
let forecast: Awaited<ReturnType<typeof startForecastServer>>;
let stack: ServiceStack;
let client: Client;
let store: Store;
let app: FastifyInstance;
let baseUrl: string;
let browser: Browser;

before(async () => {
  const executablePath = findChromium();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sewer-console-e2e-'));
  network = await loadNetworkFile(referenceNetworkPath);
  const scenarioStartUtcMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const scenario = createRainScenario('rainstorm', { startUtcMs: scenarioStartUtcMs, rainOnsetOffsetMin: 120 });
  const simulation = createSimulation({
    network,
    startUtcMs: scenarioStartUtcMs,
    rainMmPerMin: (latDeg, lonDeg, timeUtcMs) => rainMmInMinute(scenario, latDeg, lonDeg, timeUtcMs),
    initialModes: Object.fromEntries(network.stations.map((s) => [s.id, s.id === localStation ? 'local' : 'remote'])),
  });
  // Everything that does not depend on another part starts at once.
  const [testServers, forecastServer, bundle, launched, simulatorServer] = await Promise.all([
    startTestServers(),
    startForecastServer({ port: 0, scenario, scenarioStartUtcMs, seed: 11 }),
    bundleWorkflows(),
    chromium.launch({ executablePath, headless: true }),
    startSimulatorServer({ network, simulation, port: 0, host: '127.0.0.1', clock: { mode: 'manual' }, pkiFolder: path.join(tmp, 'pki') }),
    mkdir(screenshotDir, { recursive: true }),
  ]);
  servers = testServers;
  forecast = forecastServer;
  browser = launched;
  simulator = simulatorServer;
  simulator.advance(30);

  const started = await startRuntimeServiceStack({
    env: serviceEnv(servers, { opcuaEndpoint: simulator.endpointUrl, forecastUrl: forecast.url }),
    network,
    workflowBundle: bundle,
    api: {
      storeDir: tmp,
      users: [
        { userName: dispatcher.userName, displayName: dispatcher.displayName, role: 'dispatcher', password: dispatcher.password },
        { userName: supervisor.userName, displayName: supervisor.displayName, role: 'supervisor', password: supervisor.password },
      ],
    },
  });
  stack = started;
  ({ client, store, app } = started);
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

after(async () => {
  await browser?.close();
  await stack?.close();
  await simulator?.close();
  await forecast?.close();
  await servers?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Start a dispatch cycle now through its Schedule; the id of the plan it will propose. */
const triggerCycle = async () => `plan-${await triggerDispatchCycle(client, network, { approvalTimeoutMin: 30 })}`;

/** Poll the plan through the API until it is in one of `statuses`. */
async function waitForPlan(planId: string, statuses: DispatchCycleState['status'][]): Promise<DispatchCycleState> {
  let last = '';
  for (let i = 0; i < 300; i++) {
    const response = await app.inject({ method: 'GET', url: `/api/plans/${planId}`, headers: { authorization: `Bearer ${await apiToken()}` } });
    if (response.statusCode === 200) {
      const state = response.json<DispatchCycleState>();
      if (statuses.includes(state.status)) return state;
      last = state.status;
    } else last = `${response.statusCode} ${response.body}`;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`plan ${planId} never reached ${statuses.join('/')} (last: ${last})`);
}

let token: string | undefined;
async function apiToken(): Promise<string> {
  if (token) return token;
  token = await logIn(app, dispatcher.userName, dispatcher.password);
  return token;
}

async function shoot(page: Page, name: string, fullPage = true): Promise<void> {
  // The router marks <main> busy until the page has its data: the picture shows data, not "loading".
  await page.locator('main:not([aria-busy])').waitFor();
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage });
}

test('a dispatcher signs in, opens the pending plan, approves it, and its setpoints reach the simulator', async (t) => {
  const started = Date.now();
  const mark = (what: string) => t.diagnostic(`${what} at ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const planId = await triggerCycle();
  // The flood-season watch too, so the flood board shows the assessment of the same rain (and an
  // emergency plan if it reaches a warning); nothing of it is approved here.
  await ensureFloodSeason(client, network, { spec: '01-01/12-31', checkIntervalMin: 60, config: { approval: { escalateAfterMin: 600, approvalTimeoutMin: 1200 } } });
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'zh-CN', timezoneId: 'Asia/Shanghai' });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('pageerror', (error) => consoleErrors.push(error.message));
  // Every decision the console sends, with its body: the reviewed revision must be in each.
  const decisions: { kind: string; body: Record<string, unknown> }[] = [];
  page.on('request', (request) => {
    const m = /\/api\/plans\/[^/]+\/(approve|reject|modify)$/.exec(new URL(request.url()).pathname);
    if (m && request.method() === 'POST') decisions.push({ kind: m[1]!, body: request.postDataJSON() as Record<string, unknown> });
  });

  // Sign in (Chinese is the default).
  await page.goto(`${baseUrl}/`);
  await page.getByLabel('用户名').fill(dispatcher.userName);
  await page.getByLabel('密码').fill(dispatcher.password);
  await page.getByRole('button', { name: '登录' }).click();
  await page.getByRole('heading', { level: 1, name: '管网总览' }).waitFor();
  assert.equal(await page.locator('html').getAttribute('lang'), 'zh-CN');

  mark('signed in');
  // The plan list shows the plan once the cycle has proposed it.
  await waitForPlan(planId, ['proposed']);
  mark('plan proposed');
  await page.getByRole('navigation').getByRole('link', { name: '调度计划' }).click();
  const planLink = page.getByRole('link', { name: planId, exact: true });
  await planLink.waitFor();
  await page.getByRole('row', { name: new RegExp(planId) }).getByText('待审批').waitFor();
  await planLink.click();

  // Review: the decision panel, the station cards, then approve through the confirmation dialog.
  await page.locator('#decision-h').waitFor();
  const approve = page.getByRole('button', { name: /批准并下发/ }).first();
  await approve.waitFor();
  assert.ok((await page.locator('article.station-card').count()) >= network.stations.length, 'a card per station');
  await page.locator('#diff-h').waitFor();
  await shoot(page, 'plan-zh');

  // A plan that needs a more senior role than the user's (as an emergency plan of a higher level does): the
  // buttons are disabled with a hint naming the role, before any click. Another tab, the same session, the
  // plan read through the API with requiredRole raised to supervisor and, to see how a workflow error reads,
  // the error a failed step leaves (English, from workflows/dispatch-plan.ts).
  const stepError = 'step 0: write E3.startLevelSpM: BadTimeout (browser test)';
  const sessionValue = await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('sewerDispatch.session'));
  const senior = await context.newPage();
  senior.on('pageerror', (error) => consoleErrors.push(error.message));
  const seniorPosts: string[] = [];
  senior.on('request', (request) => {
    if (request.method() === 'POST') seniorPosts.push(new URL(request.url()).pathname);
  });
  await senior.addInitScript((value) => {
    if (value) (globalThis as unknown as BrowserGlobals).sessionStorage.setItem('sewerDispatch.session', value);
  }, sessionValue);
  await senior.route(
    (url) => url.pathname === `/api/plans/${encodeURIComponent(planId)}`,
    async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, json: { ...((await response.json()) as Record<string, unknown>), requiredRole: 'supervisor', error: stepError } });
    },
  );
  await senior.goto(`${baseUrl}/#/plans/${encodeURIComponent(planId)}`);
  const seniorNote = senior.locator('[data-required-role="supervisor"]');
  await seniorNote.getByText('此计划需调度主管或以上角色审批，您当前的角色是调度员。').waitFor();
  const seniorApprove = senior.getByRole('button', { name: /批准并下发/ }).first();
  assert.equal(await seniorApprove.getAttribute('aria-disabled'), 'true', 'approve is disabled for a dispatcher');
  assert.equal(await senior.getByRole('button', { name: /修改计划/ }).getAttribute('aria-disabled'), 'true', 'modify too');
  assert.match((await seniorApprove.getAttribute('title')) ?? '', /调度主管/);
  const planError = senior.locator('.plan-error');
  await planError.getByText('第 1 步下发出错，计划已停止执行。').waitFor();
  assert.equal(await planError.locator('details code').textContent(), stepError, "the server's words folded under 详情");
  await shoot(senior, 'plan-needs-role-zh', false);
  assert.equal(await seniorApprove.isDisabled(), true, 'disabled as Playwright (and assistive technology) sees it');
  await seniorApprove.click({ force: true });
  assert.equal(await senior.getByRole('dialog').count(), 0, 'a click opens no dialog');
  await senior.close();
  assert.deepEqual(seniorPosts, [], 'nothing was sent');

  // Modify first: hand E2 to local control through the form; the plan is re-planned and waits again.
  await page.getByRole('button', { name: /修改计划/ }).click();
  const form = page.getByRole('dialog');
  await form.locator('input[type=checkbox][value="E2"]').check();
  await form.getByLabel('说明（可选）').fill('E2 现场检修，交回就地');
  await form.getByRole('button', { name: '重新编制' }).click();
  await page.locator('#mods-h').waitFor({ timeout: 30_000 });
  await page.getByText(/第 2 版：zhou/).waitFor();
  // The modification in words, not as JSON.
  const modifications = page.locator('section[aria-labelledby="mods-h"]');
  await modifications.getByText('交回就地控制：E2').waitFor();
  assert.doesNotMatch((await modifications.textContent()) ?? '', /[{}"]/, 'no raw constraints shown');
  mark('modified');
  assert.deepEqual(decisions.at(-1), { kind: 'modify', body: { lockedStations: ['E2'], comment: 'E2 现场检修，交回就地', revision: 1 } }, 'the modification names the revision it was made on');
  await shoot(page, 'plan-modified-zh', false);

  // The approve dialog counts the stations the server will write by its own rule: every station in REMOTE
  // mode in the plan's telemetry (LOCAL E9 skipped), the ones of unknown mode apart.
  const revision2 = await waitForPlan(planId, ['proposed']);
  assert.equal(revision2.revision, 2);
  const stepStations = revision2.plan!.steps[0]!.stations.map((x) => x.stationId);
  const modeOf = (id: string) => revision2.snapshot?.stations.find((x) => x.stationId === id)?.mode ?? null;
  const countIn = async (dialog: ReturnType<Page['getByRole']>, kind: string) => {
    const item = dialog.locator(`[data-count="${kind}"]`);
    return (await item.count()) === 0 ? 0 : Number(/\d+/.exec((await item.textContent()) ?? '')?.[0]);
  };
  await approve.click();
  let dialog = page.getByRole('dialog');
  await dialog.getByText('第 2 版').waitFor();
  assert.equal(await countIn(dialog, 'written'), stepStations.filter((id) => modeOf(id) === 'remote').length, 'written: every REMOTE station of the step');
  assert.equal(await countIn(dialog, 'local'), stepStations.filter((id) => modeOf(id) === 'local').length);
  assert.equal(await countIn(dialog, 'local'), 1, `only ${localStation} is LOCAL`);
  assert.equal(await countIn(dialog, 'unknown'), stepStations.filter((id) => modeOf(id) === null).length);

  // A supervisor modifies the plan while the dispatcher has the approve dialog open: the dialog closes and
  // the page says the plan is now revision 3; nothing was approved.
  const cap = network.interconnections[0]!;
  const supervisorToken = await logIn(app, supervisor.userName, supervisor.password);
  const byOther = await app.inject({ method: 'POST', url: `/api/plans/${planId}/modify`, headers: { authorization: `Bearer ${supervisorToken}` }, payload: { transferCaps: [{ interconnectionId: cap.id, maxAbsM3h: 300 }], comment: '限制互联输送（浏览器测试）' } });
  assert.equal(byOther.statusCode, 200, byOther.body);
  await dialog.waitFor({ state: 'detached', timeout: 15_000 });
  await page.locator('.notice-slot').getByText(/计划已被修改为第 3 版/).waitFor();
  await modifications.getByText(`输送上限：${cap.id} ≤ 300 m³/h`).waitFor();
  assert.equal(decisions.filter((d) => d.kind === 'approve').length, 0, 'the closed dialog approved nothing');
  mark('revision changed under the open dialog');
  await shoot(page, 'plan-revision-changed-zh', false);

  await approve.click();
  dialog = page.getByRole('dialog');
  await dialog.getByText('第 3 版').waitFor();
  await dialog.getByRole('textbox').fill('同意，按计划执行（浏览器测试）');
  await dialog.getByRole('button', { name: '批准并下发', exact: true }).click();
  await page.locator('.plan-header').getByText('已下发').waitFor({ timeout: 30_000 });
  await page.locator('.notice-slot').getByText('计划已批准，正在下发。').waitFor();
  mark('dispatched');
  assert.deepEqual(decisions.at(-1), { kind: 'approve', body: { comment: '同意，按计划执行（浏览器测试）', revision: 3 } }, 'the approval names the revision reviewed');

  // What SCADA holds now: the first step of the approved plan at every REMOTE station, nothing at LOCAL.
  const state = await waitForPlan(planId, ['dispatched']);
  assert.equal(state.status, 'dispatched');
  assert.equal(state.decision?.userName, dispatcher.userName);
  assert.equal(state.decision?.comment, '同意，按计划执行（浏览器测试）');
  assert.equal(state.revision, 3, 'the approved plan is the revision the dispatcher reviewed');
  assert.deepEqual(state.constraints?.lockedStations, ['E2']);
  assert.deepEqual(state.constraints?.transferCaps, [{ interconnectionId: cap.id, maxAbsM3h: 300 }]);
  const first = state.plan!.steps[0]!;
  const e2 = network.stations.find((s) => s.id === 'E2')!;
  const e2Setpoint = first.stations.find((s) => s.stationId === 'E2')!;
  assert.deepEqual([e2Setpoint.startLevelM, e2Setpoint.stopLevelM], [e2.levels.pumpStartM, e2.levels.pumpStopM], 'E2 gets its local band');
  for (const sp of first.stations.filter((s) => s.stationId !== localStation)) {
    assert.equal(simulator.simulation.readTag(sp.stationId, 'startLevelSpM').value, sp.startLevelM, `${sp.stationId} start level`);
    assert.equal(simulator.simulation.readTag(sp.stationId, 'stopLevelSpM').value, sp.stopLevelM, `${sp.stationId} stop level`);
    assert.equal(simulator.simulation.readTag(sp.stationId, 'pumpsAllowedSp').value, sp.pumpsAllowed, `${sp.stationId} pumps allowed`);
  }
  const writes = simulator.writeLog.filter((w) => w.tag !== 'heartbeat');
  assert.ok(writes.length >= (network.stations.length - 1) * 3, `setpoint writes in the simulator's log (${writes.length})`);
  assert.ok(!writes.some((w) => w.objectId === localStation), 'nothing written to the LOCAL station');

  // The decision is attributed in the audit log.
  const audit = await store.audit.search({ action: 'plan.approve', target: planId, limit: 5, offset: 0 });
  assert.equal(audit[0]?.userName, dispatcher.userName);

  // The plan page still polls a dispatched plan (its later steps and completion show up by themselves).
  await page.getByText(/每 3 秒自动刷新/).waitFor();

  // A plan that does not exist: a translated sentence, the server's words folded under 详情.
  await page.goto(`${baseUrl}/#/plans/plan-does-not-exist`);
  const pageError = page.getByRole('alert').filter({ hasText: '未找到请求的对象' });
  await pageError.waitFor();
  assert.match((await pageError.locator('details code').textContent()) ?? '', /^404\b.*no plan plan-does-not-exist/);
  await page.goto(`${baseUrl}/#/plans/${encodeURIComponent(planId)}`);
  await page.locator('.plan-header').getByText('已下发').waitFor();

  // Screenshots of the main pages in both languages.
  await shoot(page, 'plan-dispatched-zh', false);
  mark('checked SCADA');
  const pages: [string, string, string, string][] = [
    ['overview', '#/overview', '管网总览', 'Network overview'],
    ['plans', '#/plans', '调度计划', 'Dispatch plans'],
    ['flood', '#/flood', '防汛看板', 'Flood-season board'],
    ['alerts', '#/alerts', '当前告警', 'Active alerts'],
    ['forecasts', '#/forecasts', '降雨与来水预报', 'Rain and inflow forecasts'],
    ['history', '#/history', '调度历史', 'Dispatch history'],
    ['reports', '#/reports', '汛后复盘报告', 'Post-event reports'],
  ];
  for (const [name, hash, zhTitle] of pages) {
    await page.goto(`${baseUrl}/${hash}`);
    await page.getByRole('heading', { level: 1, name: zhTitle }).waitFor();
    if (name === 'history') {
      // The plan workflow's English detail in words; the text as recorded on hover.
      await page.getByRole('cell', { name: '第 2 版，zhou 修改：交回就地控制：E2' }).waitFor();
      await page.getByRole('cell', { name: `第 3 版，${supervisor.userName} 修改：输送上限：${cap.id} ≤ 300 m³/h` }).waitFor();
      assert.equal(await page.locator('td.event-detail').filter({ hasText: /revision \d+ by|[{}]/ }).count(), 0, 'no English workflow text or JSON');
    }
    if (name === 'flood') {
      // The forecast behind the board is named (its issue time, or that there is none), in words.
      await page.getByText(/预报发布于 \d{4}-\d{2}-\d{2} \d{2}:\d{2}|无可用预报/).first().waitFor();
    }
    if (name === 'forecasts') {
      // The rain source in words, as on the plan page; the stored value on hover.
      const source = page.locator('.forecast-source');
      assert.match((await source.getAttribute('title')) ?? '', /;/, 'the stored source in the title');
      assert.doesNotMatch((await source.textContent()) ?? '', /;|quality=/, 'the source shown in words');
    }
    await shoot(page, `${name}-zh`);
  }
  await page.getByRole('button', { name: /English/ }).click();
  await page.locator('html[lang="en-GB"]').waitFor({ state: 'attached' });
  for (const [name, hash, , enTitle] of pages) {
    await page.goto(`${baseUrl}/${hash}`);
    await page.getByRole('heading', { level: 1, name: enTitle }).waitFor();
    await shoot(page, `${name}-en`);
  }
  await page.goto(`${baseUrl}/#/plans/${encodeURIComponent(planId)}`);
  await page.locator('.plan-header').getByText('Dispatched').waitFor();
  await shoot(page, 'plan-dispatched-en', false);

  // The audit log is for supervisors: sign in as one and find the dispatcher's decisions.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByLabel('User name').fill(supervisor.userName);
  await page.getByLabel('Password').fill(supervisor.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation').getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('cell', { name: planId }).first().waitFor();
  await shoot(page, 'audit-en');
  await page.getByRole('button', { name: /中文/ }).click();
  await page.getByRole('heading', { level: 1, name: '审计日志' }).waitFor();
  await shoot(page, 'audit-zh');
  mark('screenshots taken');
  assert.deepEqual(consoleErrors, [], 'no script errors in the page');
  await context.close();
});
