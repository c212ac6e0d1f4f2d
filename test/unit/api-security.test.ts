// Sign-in protection, tokens, passwords, refusals in the audit log, input no dialect can store, Temporal
// outages and the console's security headers: the whole API app (api/app.ts) called with `inject`, a temp
// SQLite store, stand-ins for Temporal and InfluxDB (as in api-routes.test.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { buildApp, consoleContentSecurityPolicy } from '../../api/app.js';
import { webRoot } from '../../api/routes/web.js';
import type { InfluxConnector } from '../../connectors/influx.js';
import { referenceNetworkPath } from '../../network/load.js';
import { parseNetwork } from '../../network/validate.js';
import { loadEnv, trustProxyOption } from '../../settings/env.js';
import { openStore, type Store } from '../../store/db.js';

const network = parseNetwork(JSON.parse(readFileSync(referenceNetworkPath, 'utf8')));
const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-api-security-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));
const passwords = { admin: 'admin password 2026', wang: 'dispatcher password 2026', li: 'viewer password 2026', zhao: 'supervisor password 2026' };

// A stand-in Temporal: each plan workflow is its state; `update` replaces what executeUpdate does.
type StandIn = { status: string; revision: number; update?: () => Promise<unknown> };
const workflows: Record<string, StandIn> = {};
let listFails = false;
const temporal = {
  workflow: {
    getHandle(workflowId: string) {
      const missing = () => new WorkflowNotFoundError(`workflow ${workflowId} not found`, workflowId, undefined);
      const w = () => workflows[workflowId];
      return {
        workflowId,
        describe: () => (w() ? Promise.resolve({ status: { name: 'RUNNING' } }) : Promise.reject(missing())),
        query: () => (w() ? Promise.resolve({ planId: workflowId, ...w() }) : Promise.reject(missing())),
        signal: () => Promise.resolve(),
        executeUpdate: () => {
          const s = w();
          if (!s) return Promise.reject(missing());
          return s.update ? s.update() : Promise.resolve({ planId: workflowId, ...s });
        },
      };
    },
    async *list() {
      if (listFails) throw new ServiceError('Failed to connect before the deadline', { cause: new Error('14 UNAVAILABLE: No connection established') });
      for (const id of Object.keys(workflows)) yield { workflowId: id, status: { name: 'RUNNING' }, startTime: new Date() };
    },
  },
} as unknown as Client;
const influx = { write: (p: unknown[]) => Promise.resolve(p.length), ping: () => Promise.resolve({ latencyMs: 1, version: 'stand-in' }), query: () => Promise.resolve([]) } as unknown as InfluxConnector;

const proxy = '172.18.0.5';

async function makeApp(store: Store, sessionIdleMs?: number): Promise<FastifyInstance> {
  const app = await buildApp(
    { network, store, influx, temporal, temporalNamespace: 'default', probes: {}, rateLimitPerMinute: 100_000, ...(sessionIdleMs === undefined ? {} : { sessionIdleMs }) },
    { trustProxy: trustProxyOption(proxy) },
  );
  await app.ready();
  return app;
}

void describe('API security', () => {
  let store: Store;
  let app: FastifyInstance;
  let clients = 0;
  /** A request from a distinct client behind the proxy (its address in X-Forwarded-For). */
  const viaProxy = (client = `10.1.${Math.floor(++clients / 250)}.${clients % 250}`) => ({ remoteAddress: proxy, headers: { 'x-forwarded-for': client } });
  const login = (userName: string, password: string, client?: string) => {
    const from = viaProxy(client);
    return app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName, password }, remoteAddress: from.remoteAddress, headers: from.headers });
  };
  const tokenOf = async (userName: keyof typeof passwords) => {
    const res = await login(userName, passwords[userName]);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ token: string }>().token;
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const audit = async (query: string) => (await store.audit.search({ ...Object.fromEntries(new URLSearchParams(query)), limit: 100, offset: 0 })).map((e) => ({ action: e.action, userName: e.userName, target: e.target, ip: e.ip, detail: e.detail }));

  before(async () => {
    store = await openStore(`sqlite:${path.join(tempDir, 'security.sqlite')}`);
    await store.users.create({ userName: 'admin', role: 'admin', password: passwords.admin });
    await store.users.create({ userName: 'wang', role: 'dispatcher', password: passwords.wang });
    await store.users.create({ userName: 'li', role: 'viewer', password: passwords.li });
    await store.users.create({ userName: 'zhao', role: 'supervisor', password: passwords.zhao });
    app = await makeApp(store);
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  void test('TRUST_PROXY: off by default; addresses and CIDRs become Fastify trustProxy; anything else refused at start', () => {
    assert.equal(loadEnv({ INFLUX_TOKEN: 'x' }).TRUST_PROXY, 'off');
    assert.equal(trustProxyOption('off'), false);
    assert.deepEqual(trustProxyOption(loadEnv({ INFLUX_TOKEN: 'x', TRUST_PROXY: '172.18.0.0/16,loopback' }).TRUST_PROXY), ['172.18.0.0/16', 'loopback']);
    assert.throws(() => loadEnv({ INFLUX_TOKEN: 'x', TRUST_PROXY: 'true' }), /TRUST_PROXY/);
    assert.equal(loadEnv({ INFLUX_TOKEN: 'x', SESSION_IDLE_MIN: '15' }).SESSION_IDLE_MIN, 15);
  });

  void test('behind the proxy: ten wrong passwords for one user do not lock others out of sign-in, and the audit log has the client addresses', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await login('wang', `wrong password ${i}!`, `10.7.0.${i + 1}`)).statusCode, 401);
    const other = await login('zhao', passwords.zhao, '10.7.0.99');
    assert.equal(other.statusCode, 200, 'another dispatcher behind the same proxy signs in');
    const failed = await audit('userName=wang&action=auth.login.failed');
    assert.deepEqual(failed.map((e) => e.ip).sort(), ['10.7.0.1', '10.7.0.2', '10.7.0.3', '10.7.0.4'], 'the client, not the proxy');
    assert.ok((await audit('userName=zhao&action=auth.login.ok')).some((e) => e.ip === '10.7.0.99'));
    // From one client: the per-minute limit is per client and user name.
    for (let i = 0; i < 10; i++) await login('nobody-here', `wrong password ${i}!`, '10.7.1.1');
    assert.equal((await login('nobody-here', 'wrong password x', '10.7.1.1')).statusCode, 429);
    assert.equal((await login('nobody-here', 'wrong password y', '10.7.1.1')).statusCode, 429);
    assert.equal((await login('li', passwords.li, '10.7.1.1')).statusCode, 200, 'the same client, another user');
    assert.deepEqual(
      (await audit('action=auth.login.throttled')).map((e) => [e.userName, e.ip]),
      [['nobody-here', '10.7.1.1']],
      'a throttled sign-in is audited, once per window',
    );
  });

  void test('per-account lockout: after five failures the right password is refused (429, both languages) and audited', async () => {
    await store.users.create({ userName: 'target', role: 'dispatcher', password: 'target password 2026' });
    for (let i = 0; i < 5; i++) assert.equal((await login('target', `guess number ${i}!`)).statusCode, 401, 'each guess from its own address');
    const locked = await login('target', 'target password 2026');
    assert.equal(locked.statusCode, 429);
    assert.match(locked.json<{ message: string }>().message, /账户已暂时锁定.* \/ too many failed sign-ins: this account is locked for \d+ s/);
    assert.ok(Number(locked.headers['retry-after']) > 0);
    const trail = await audit('target=target');
    assert.equal(trail[0]?.action, 'auth.login.locked');
    assert.deepEqual((trail[1]?.detail as { failures?: number }).failures, 5);
    // The admin's enable clears the lock.
    const admin = await tokenOf('admin');
    assert.equal((await app.inject({ method: 'POST', url: '/api/users/target/enable', headers: bearer(admin) })).statusCode, 200);
    assert.equal((await login('target', 'target password 2026')).statusCode, 200);
  });

  void test('API tokens: listed without the secret, revoked by id (audited), expire; logout with one says it does not end it; none for an admin unless allowed', async () => {
    const admin = await tokenOf('admin');
    const forAdmin = await app.inject({ method: 'POST', url: '/api/tokens', headers: bearer(admin), payload: { userName: 'admin', name: 'ci' } });
    assert.equal(forAdmin.statusCode, 400);
    assert.match(forAdmin.json<{ message: string }>().message, /admin is an admin: .*allowAdmin/);
    assert.equal((await app.inject({ method: 'POST', url: '/api/tokens', headers: bearer(admin), payload: { userName: 'admin', name: 'ci', allowAdmin: true } })).statusCode, 201);

    const issued = await app.inject({ method: 'POST', url: '/api/tokens', headers: bearer(admin), payload: { userName: 'li', name: 'grafana', expiresInDays: 30 } });
    assert.equal(issued.statusCode, 201, issued.body);
    const { id, token, expiresAtUtcMs, createdAtUtcMs } = issued.json<{ id: string; token: string; expiresAtUtcMs: number; createdAtUtcMs: number }>();
    assert.equal(expiresAtUtcMs - createdAtUtcMs, 30 * 86_400_000);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 200);

    const logout = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) });
    assert.equal(logout.statusCode, 400);
    assert.match(logout.json<{ message: string }>().message, /API token is not ended by logout: an admin revokes it/);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 200, 'and indeed it still works');

    const list = await app.inject({ method: 'GET', url: '/api/tokens', headers: bearer(admin) });
    assert.equal(list.statusCode, 200);
    assert.equal(list.body.includes(token), false, 'never the token itself');
    const listed = list.json<{ tokens: { id: string; userName: string; name: string; lastUsedAtUtcMs: number | null; revokedAtUtcMs: number | null }[] }>().tokens.find((t) => t.id === id);
    assert.deepEqual([listed?.userName, listed?.name, typeof listed?.lastUsedAtUtcMs, listed?.revokedAtUtcMs], ['li', 'grafana', 'number', null]);
    const viewer = await tokenOf('li');
    assert.equal((await app.inject({ method: 'GET', url: '/api/tokens', headers: bearer(viewer) })).statusCode, 403);

    const revoked = await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: bearer(admin) });
    assert.equal(revoked.statusCode, 200, revoked.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 401, 'revoked: refused at once');
    assert.equal((await app.inject({ method: 'DELETE', url: `/api/tokens/${id}`, headers: bearer(admin) })).statusCode, 404);
    assert.equal((await app.inject({ method: 'DELETE', url: '/api/tokens/not-an-id', headers: bearer(admin) })).statusCode, 400);
    assert.deepEqual((await audit('action=token.revoke'))[0], { action: 'token.revoke', userName: 'admin', target: 'li', ip: (await audit('action=token.revoke'))[0]?.ip ?? null, detail: { name: 'grafana', id } });
  });

  void test('passwords: change your own (current one checked, other sessions end), admin reset and enable; all audited', async () => {
    await store.users.create({ userName: 'chen', role: 'dispatcher', password: 'first password 2026' });
    const first = (await login('chen', 'first password 2026')).json<{ token: string }>().token;
    const second = (await login('chen', 'first password 2026')).json<{ token: string }>().token;
    const change = (token: string, currentPassword: string, newPassword: string) => app.inject({ method: 'POST', url: '/api/auth/password', headers: bearer(token), payload: { currentPassword, newPassword } });
    const wrong = await change(first, 'not my password!', 'second password 2026');
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.json<{ message: string }>().message, /^body\/currentPassword: /);
    const spaces = await change(first, 'first password 2026', ' '.repeat(14));
    assert.equal(spaces.statusCode, 400);
    assert.match(spaces.json<{ message: string }>().message, /^body\/newPassword: password must not be only spaces/);
    assert.equal((await change(first, 'first password 2026', 'second password 2026')).statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(first) })).statusCode, 200, 'this session stays');
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(second) })).statusCode, 401, 'the other one ends');
    assert.equal((await login('chen', 'first password 2026')).statusCode, 401);

    const admin = await tokenOf('admin');
    const reset = await app.inject({ method: 'POST', url: '/api/users/chen/password', headers: bearer(admin), payload: { password: 'reset password 2026' } });
    assert.equal(reset.statusCode, 200, reset.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(first) })).statusCode, 401, 'a reset ends every session');
    assert.equal((await app.inject({ method: 'POST', url: '/api/users/admin/password', headers: bearer(admin), payload: { password: 'reset password 2026' } })).statusCode, 409, 'not your own');
    assert.equal((await app.inject({ method: 'POST', url: '/api/users/chen/disable', headers: bearer(admin) })).statusCode, 200);
    assert.equal((await login('chen', 'reset password 2026')).statusCode, 401);
    const enabled = await app.inject({ method: 'POST', url: '/api/users/CHEN/enable', headers: bearer(admin) });
    assert.deepEqual([enabled.statusCode, enabled.json<{ userName: string; disabled: boolean }>().userName, enabled.json<{ disabled: boolean }>().disabled], [200, 'chen', false]);
    assert.equal((await login('chen', 'reset password 2026')).statusCode, 200);
    assert.deepEqual(
      (await audit('target=chen')).map((e) => e.action).filter((a) => !a.startsWith('auth.login')),
      ['user.enable', 'user.disable', 'user.password.reset', 'auth.password.change', 'auth.password.change.failed'],
    );
  });

  void test('user names are unique regardless of case; the policy is in the OpenAPI document; all-space passwords and the user name refused', async () => {
    const admin = await tokenOf('admin');
    const post = (payload: object) => app.inject({ method: 'POST', url: '/api/users', headers: bearer(admin), payload });
    const clash = await post({ userName: 'Wang', role: 'viewer', password: 'another password 2026' });
    assert.equal(clash.statusCode, 409);
    assert.match(clash.json<{ message: string }>().message, /user wang already exists \(user names are compared without case\)/);
    assert.equal((await post({ userName: 'spaces', role: 'viewer', password: ' '.repeat(12) })).statusCode, 400);
    assert.equal((await post({ userName: 'sameyc6edabcd', role: 'viewer', password: 'sameyc6edabcd' })).statusCode, 400);
    const doc = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json<{ paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, { minLength?: number; description?: string }> } }> } }>> }>();
    const schema = doc.paths['/api/users']?.['post']?.requestBody?.content['application/json']?.schema.properties['password'];
    assert.equal(schema?.minLength, 12);
    assert.match(schema?.description ?? '', /not only spaces, not the user name/);
    for (const p of ['/api/tokens/{id}', '/api/users/{userName}/enable', '/api/users/{userName}/password', '/api/auth/password']) assert.ok(doc.paths[p], `${p} documented`);
  });

  void test('refused changes are audited: a viewer approving or creating an admin (403) leaves a trace; reads do not', async () => {
    workflows['plan-dispatch-cycle-f'] = { status: 'proposed', revision: 1 };
    const viewer = await tokenOf('li');
    assert.equal((await app.inject({ method: 'POST', url: '/api/plans/plan-dispatch-cycle-f/approve', headers: bearer(viewer), payload: {} })).statusCode, 403);
    assert.equal((await app.inject({ method: 'POST', url: '/api/users', headers: bearer(viewer), payload: { userName: 'evil', role: 'admin', password: 'evil password 2026' } })).statusCode, 403);
    assert.equal((await app.inject({ method: 'GET', url: '/api/users', headers: bearer(viewer) })).statusCode, 403);
    const refused = await audit('userName=li&action=access.forbidden');
    assert.deepEqual(
      refused.map((e) => [e.target, (e.detail as { requires: string }).requires]),
      [
        ['POST /api/users', 'admin'],
        ['POST /api/plans/:planId/approve', 'dispatcher'],
      ],
    );
  });

  void test('a NUL character is a 400 naming the field on every route (PostgreSQL cannot store it), never a 500', async () => {
    const nulLogin = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName: 'wa\u0000ng', password: 'x' } });
    assert.equal(nulLogin.statusCode, 400);
    assert.equal(nulLogin.json<{ message: string }>().message, 'body/userName: must not contain the NUL character (U+0000)');
    const zhao = await tokenOf('zhao');
    for (const field of ['text', 'userName', 'action', 'target']) {
      const res = await app.inject({ method: 'GET', url: `/api/audit?${field}=a%00b`, headers: bearer(zhao) });
      assert.equal(res.statusCode, 400, field);
      assert.equal(res.json<{ message: string }>().message, `querystring/${field}: must not contain the NUL character (U+0000)`);
    }
  });

  void test('/api/audit refuses an empty or inverted time range with 400 naming fromUtcMs', async () => {
    const zhao = await tokenOf('zhao');
    const res = await app.inject({ method: 'GET', url: '/api/audit?fromUtcMs=2000&toUtcMs=1000', headers: bearer(zhao) });
    assert.equal(res.statusCode, 400);
    assert.match(res.json<{ message: string }>().message, /^querystring\/fromUtcMs: must be before toUtcMs/);
    assert.equal((await app.inject({ method: 'GET', url: '/api/audit?fromUtcMs=1000&toUtcMs=1000', headers: bearer(zhao) })).statusCode, 400);
    assert.equal((await app.inject({ method: 'GET', url: '/api/audit?fromUtcMs=1000&toUtcMs=1001', headers: bearer(zhao) })).statusCode, 200);
  });

  void test('a decision sent without an answer is audited as outcome unknown and answered 503 in both languages; Temporal down is a 503 too', async () => {
    const state: StandIn = { status: 'proposed', revision: 1 };
    state.update = () => {
      state.status = 'approved';
      return Promise.reject(new ServiceError('DEADLINE_EXCEEDED: Deadline exceeded'));
    };
    workflows['plan-dispatch-cycle-u'] = state;
    const wang = await tokenOf('wang');
    const res = await app.inject({ method: 'POST', url: '/api/plans/plan-dispatch-cycle-u/approve', headers: bearer(wang), payload: { comment: '同意', revision: 1 } });
    assert.equal(res.statusCode, 503);
    assert.match(res.json<{ message: string }>().message, /^决定结果未知.*\/ outcome unknown: .*reload the plan/);
    const trail = await audit('target=plan-dispatch-cycle-u');
    assert.deepEqual(
      trail.map((e) => [e.action, e.userName, (e.detail as { outcome?: string }).outcome, (e.detail as { error?: string }).error]),
      [['plan.approve.unknown', 'wang', 'unknown', 'DEADLINE_EXCEEDED: Deadline exceeded']],
    );

    listFails = true;
    try {
      const plans = await app.inject({ method: 'GET', url: '/api/plans', headers: bearer(wang) });
      assert.equal(plans.statusCode, 503);
      assert.match(plans.json<{ message: string }>().message, /工作流引擎（Temporal）暂时无法访问.* \/ the workflow engine \(Temporal\) is unavailable/);
    } finally {
      listFails = false;
    }
  });

  void test('security headers: the console gets a CSP with no inline code and no framing; the API nosniff and no framing', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['content-security-policy'], consoleContentSecurityPolicy);
    assert.match(consoleContentSecurityPolicy, /frame-ancestors 'none'/);
    assert.doesNotMatch(consoleContentSecurityPolicy, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const script = await app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(script.headers['x-content-type-options'], 'nosniff');
    const health = await app.inject({ method: 'GET', url: '/api/health' });
    assert.equal(health.headers['x-content-type-options'], 'nosniff');
    assert.equal(health.headers['x-frame-options'], 'DENY');
    const docs = await app.inject({ method: 'GET', url: '/api/docs/' });
    assert.equal(docs.headers['content-security-policy'], "frame-ancestors 'none'", 'Swagger UI keeps its inline scripts, but is not framed');
  });

  void test("the console's own files pass that CSP: scripts and styles from files, no inline handlers, styles or eval", () => {
    const html = readFileSync(path.join(webRoot, 'index.html'), 'utf8');
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="[^":]+"/, `${tag}: a file of the console`);
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=|javascript:/i);
    assert.doesNotMatch(html, /(src|href)="(https?:)?\/\//, 'nothing from another origin');
    for (const file of readdirSync(webRoot).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(path.join(webRoot, file), 'utf8');
      assert.doesNotMatch(code, /\beval\(|new Function\(|\.innerHTML\s*=|insertAdjacentHTML|setAttribute\(\s*['"](style|on[a-z]+)['"]|\bstyle:\s*['"`]/, `${file}: nothing the CSP blocks`);
    }
  });
});

void test('sessions unused longer than the idle limit end (SESSION_IDLE_MIN)', async () => {
  const store = await openStore(`sqlite:${path.join(tempDir, 'idle.sqlite')}`);
  await store.users.create({ userName: 'night', role: 'dispatcher', password: 'night shift password' });
  const app = await makeApp(store, 200);
  try {
    const token = (await app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName: 'night', password: 'night shift password' } })).json<{ token: string }>().token;
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401);
  } finally {
    await app.close();
    await store.close();
  }
});
