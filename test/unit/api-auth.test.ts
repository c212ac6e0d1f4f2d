// The auth plugin on a minimal Fastify app (TypeBox provider, rate limiting, the auth routes and one
// dispatcher-only route, the API's validation and error handling), called with `inject`: no port opened.
// The store is a temp SQLite file.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { authPlugin } from '../../api/auth.js';
import { apiServerOptions, installErrorHandling } from '../../api/errors.js';
import { errorResponses } from '../../api/schemas.js';
import { openStore, type Store } from '../../store/db.js';

const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-api-auth-'));
const adminPassword = 'admin password 2025';
const viewerPassword = 'viewer password 2025';

async function buildTestApp(store: Store): Promise<FastifyInstance> {
  // The same validation and error handling as api/app.ts.
  const app = Fastify({ logger: false, ...apiServerOptions }).withTypeProvider<TypeBoxTypeProvider>();
  installErrorHandling(app);
  await app.register(rateLimit, { max: 600, timeWindow: '1 minute' });
  await app.register(authPlugin, { store });
  app.post(
    '/api/dummy/approve',
    { preHandler: app.requireRole('dispatcher'), schema: { response: { 200: Type.Object({ approvedBy: Type.String() }), ...errorResponses } } },
    (request) => ({ approvedBy: request.user?.userName ?? '?' }),
  );
  await app.ready();
  return app;
}

/** The standard error body: the status, its reason phrase, a message, perhaps a code; nothing else. */
function assertErrorBody(body: unknown, statusCode: number) {
  const b = body as Record<string, unknown>;
  assert.equal(b['statusCode'], statusCode);
  assert.equal(b['error'], STATUS_CODES[statusCode], JSON.stringify(b));
  assert.equal(typeof b['message'], 'string');
  for (const key of Object.keys(b)) assert.ok(['statusCode', 'error', 'message', 'code'].includes(key), `unexpected ${key} in ${JSON.stringify(b)}`);
}

/** Make every insert into the audit log fail (a trigger, on a second connection to the file) until the returned function runs. */
function failAuditWrites(file: string): () => void {
  const db = new Database(file);
  db.exec("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END");
  return () => {
    db.exec('DROP TRIGGER audit_down');
    db.close();
  };
}

void describe('auth API', () => {
  let store: Store;
  let app: FastifyInstance;
  const dbFile = path.join(tempDir, 'api.sqlite');
  let adminToken: string;
  let viewerToken: string;

  // Each login from its own client address: the route allows 10 attempts a minute per client.
  let clients = 0;
  const nextClient = () => `10.1.${Math.floor(++clients / 250)}.${clients % 250}`;
  const login = (userName: string, password: string) =>
    app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName, password }, remoteAddress: nextClient() });
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  before(async () => {
    store = await openStore(`sqlite:${dbFile}`);
    await store.users.create({ userName: 'admin', displayName: '管理员', role: 'admin', password: adminPassword });
    await store.users.create({ userName: 'viewer', role: 'viewer', password: viewerPassword });
    app = await buildTestApp(store);
  });
  after(async () => {
    await app.close();
    await store.close();
    rmSync(tempDir, { recursive: true, force: true });
  });

  void test('login with the right password returns a token, its expiry and the user', async () => {
    const res = await login('admin', adminPassword);
    assert.equal(res.statusCode, 200);
    const body = res.json<{ token: string; expiresAtUtcMs: number; user: Record<string, unknown> }>();
    assert.match(body.token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(body.expiresAtUtcMs > Date.now() + 60 * 60 * 1000);
    assert.deepEqual(body.user, { id: body.user['id'], userName: 'admin', displayName: '管理员', role: 'admin' });
    adminToken = body.token;
    viewerToken = (await login('viewer', viewerPassword)).json<{ token: string }>().token;
  });

  void test('a wrong password or unknown user gets the same 401', async () => {
    const wrong = await login('admin', 'not the password');
    const unknown = await login('nobody', adminPassword);
    assert.equal(wrong.statusCode, 401);
    assert.equal(unknown.statusCode, 401);
    assertErrorBody(wrong.json(), 401);
    assert.deepEqual(wrong.json(), unknown.json(), 'no hint which part was wrong');
    assert.equal(wrong.json<{ message: string }>().message, 'invalid user name or password');
  });

  void test('me returns the signed-in user', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(viewerToken) });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json<{ userName: string; role: string }>().userName, 'viewer');
    assert.equal(res.json<{ role: string }>().role, 'viewer');
  });

  void test('no token or a bad token: 401 with WWW-Authenticate: Bearer', async () => {
    for (const headers of [{}, bearer('not-a-token'), { authorization: 'Basic YWRtaW46eA==' }]) {
      const res = await app.inject({ method: 'GET', url: '/api/auth/me', headers });
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /^Bearer/);
      assertErrorBody(res.json(), 401);
    }
    const res = await app.inject({ method: 'POST', url: '/api/dummy/approve' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer');
  });

  void test('role order: a viewer gets 403 on a dispatcher route, an admin passes', async () => {
    const denied = await app.inject({ method: 'POST', url: '/api/dummy/approve', headers: bearer(viewerToken) });
    assert.equal(denied.statusCode, 403);
    assertErrorBody(denied.json(), 403);
    assert.match(denied.json<{ message: string }>().message, /requires dispatcher or higher/);
    const allowed = await app.inject({ method: 'POST', url: '/api/dummy/approve', headers: bearer(adminToken) });
    assert.equal(allowed.statusCode, 200);
    assert.deepEqual(allowed.json(), { approvedBy: 'admin' });
  });

  void test('malformed JSON, missing fields and wrong types give 400 with the error body, never 5xx', async () => {
    const cases = [
      { payload: '{"userName": "admin", ', headers: { 'content-type': 'application/json' } },
      { payload: '', headers: { 'content-type': 'application/json' } },
      { payload: { userName: 'admin' } },
      { payload: {} },
      { payload: { userName: 'admin', password: { text: adminPassword } } },
      { payload: { userName: ['admin', 'viewer'], password: adminPassword } },
      { payload: { userName: 'admin', password: adminPassword, extra: true } },
      { payload: 'userName=admin', headers: { 'content-type': 'text/plain' } },
    ];
    for (const c of cases) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', remoteAddress: nextClient(), ...c });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${JSON.stringify(c)} → ${res.statusCode}`);
      assert.ok([400, 415].includes(res.statusCode), `${JSON.stringify(c)} → ${res.statusCode}`);
      assertErrorBody(res.json(), res.statusCode);
    }
    const missing = await app.inject({ method: 'POST', url: '/api/users', headers: bearer(adminToken), payload: { userName: 'x' } });
    assert.equal(missing.statusCode, 400);
    assertErrorBody(missing.json(), 400);
  });

  void test('admin creates a user with a role; duplicates 409, weak passwords 400; non-admins 403', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/users',
      headers: bearer(adminToken),
      payload: { userName: 'disp1', displayName: '调度员一', role: 'dispatcher', password: 'dispatcher password 1' },
    });
    assert.equal(created.statusCode, 201);
    assert.equal(created.json<{ role: string }>().role, 'dispatcher');
    assert.equal(created.json<{ disabled: boolean }>().disabled, false);
    assert.equal(created.json<Record<string, unknown>>()['passwordHash'], undefined);

    const duplicate = await app.inject({ method: 'POST', url: '/api/users', headers: bearer(adminToken), payload: { userName: 'disp1', role: 'viewer', password: 'another password 1' } });
    assert.equal(duplicate.statusCode, 409);
    assertErrorBody(duplicate.json(), 409);
    const weak = await app.inject({ method: 'POST', url: '/api/users', headers: bearer(adminToken), payload: { userName: 'weak', role: 'viewer', password: 'short' } });
    assert.equal(weak.statusCode, 400);
    assert.match(weak.json<{ message: string }>().message, /fewer than 12 characters/);
    const badRole = await app.inject({ method: 'POST', url: '/api/users', headers: bearer(adminToken), payload: { userName: 'r', role: 'root', password: 'long enough password' } });
    assert.equal(badRole.statusCode, 400);
    const forbidden = await app.inject({ method: 'POST', url: '/api/users', headers: bearer(viewerToken), payload: { userName: 'v2', role: 'admin', password: 'long enough password' } });
    assert.equal(forbidden.statusCode, 403);

    const newcomer = await login('disp1', 'dispatcher password 1');
    assert.equal(newcomer.statusCode, 200);
    const approve = await app.inject({ method: 'POST', url: '/api/dummy/approve', headers: bearer(newcomer.json<{ token: string }>().token) });
    assert.equal(approve.statusCode, 200);

    const list = await app.inject({ method: 'GET', url: '/api/users', headers: bearer(adminToken) });
    assert.equal(list.statusCode, 200);
    assert.deepEqual(list.json<{ users: { userName: string }[] }>().users.map((u) => u.userName), ['admin', 'disp1', 'viewer']);
  });

  void test('admin changes roles and disables users; not their own account', async () => {
    const promote = await app.inject({ method: 'POST', url: '/api/users/viewer/role', headers: bearer(adminToken), payload: { role: 'supervisor' } });
    assert.equal(promote.statusCode, 200);
    assert.equal(promote.json<{ role: string }>().role, 'supervisor');
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(viewerToken) });
    assert.equal(me.json<{ role: string }>().role, 'supervisor', 'the new role applies to existing sessions');

    const self = await app.inject({ method: 'POST', url: '/api/users/admin/role', headers: bearer(adminToken), payload: { role: 'viewer' } });
    assert.equal(self.statusCode, 409);
    const missing = await app.inject({ method: 'POST', url: '/api/users/nobody/role', headers: bearer(adminToken), payload: { role: 'viewer' } });
    assert.equal(missing.statusCode, 404);
    assertErrorBody(missing.json(), 404);

    const disp = (await login('disp1', 'dispatcher password 1')).json<{ token: string }>().token;
    const disable = await app.inject({ method: 'POST', url: '/api/users/disp1/disable', headers: bearer(adminToken) });
    assert.equal(disable.statusCode, 200);
    assert.equal(disable.json<{ disabled: boolean }>().disabled, true);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(disp) })).statusCode, 401);
    assert.equal((await login('disp1', 'dispatcher password 1')).statusCode, 401);
  });

  void test('admin issues an API token that authenticates as its user', async () => {
    await store.users.create({ userName: 'grafana-svc', role: 'viewer', password: 'service password 12' });
    const issued = await app.inject({ method: 'POST', url: '/api/tokens', headers: bearer(adminToken), payload: { userName: 'grafana-svc', name: 'grafana' } });
    assert.equal(issued.statusCode, 201);
    const { token } = issued.json<{ token: string }>();
    const me = await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) });
    assert.equal(me.json<{ userName: string }>().userName, 'grafana-svc');
    const missing = await app.inject({ method: 'POST', url: '/api/tokens', headers: bearer(adminToken), payload: { userName: 'nobody', name: 'x' } });
    assert.equal(missing.statusCode, 404);
  });

  void test('audit search (supervisor+) returns the login events and admin actions', async () => {
    const forbidden = await app.inject({ method: 'GET', url: '/api/audit', headers: bearer((await login('grafana-svc', 'service password 12')).json<{ token: string }>().token) });
    assert.equal(forbidden.statusCode, 403);

    const res = await app.inject({ method: 'GET', url: '/api/audit?action=auth.login&limit=100', headers: bearer(adminToken) });
    assert.equal(res.statusCode, 200);
    type Entry = { userName: string; action: string; target: string | null; role: string | null; ip: string | null; detail: unknown; atUtcMs: number };
    const { entries, limit, offset } = res.json<{ entries: Entry[]; limit: number; offset: number }>();
    assert.equal(limit, 100);
    assert.equal(offset, 0);
    assert.ok(entries.some((e) => e.action === 'auth.login.ok' && e.userName === 'admin' && e.role === 'admin' && e.ip?.startsWith('10.1.')));
    assert.ok(entries.some((e) => e.action === 'auth.login.failed' && e.userName === 'nobody'));
    assert.ok(entries.some((e) => e.action === 'auth.login.failed' && e.userName === 'admin'));
    assert.ok(entries.every((e) => e.action.startsWith('auth.login.')));
    const times = entries.map((e) => e.atUtcMs);
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');

    // The supervisor (promoted earlier) may search too; filters by user and by target.
    const bySupervisor = await app.inject({ method: 'GET', url: '/api/audit?userName=admin&action=user', headers: bearer(viewerToken) });
    assert.equal(bySupervisor.statusCode, 200);
    const adminActions = bySupervisor.json<{ entries: Entry[] }>().entries.map((e) => `${e.action} ${e.target}`);
    assert.ok(adminActions.includes('user.create disp1'));
    assert.ok(adminActions.includes('user.set-role viewer'));
    assert.ok(adminActions.includes('user.disable disp1'));
    const tokenAudit = await app.inject({ method: 'GET', url: '/api/audit?action=token.create&text=grafana', headers: bearer(adminToken) });
    const tokenEntry = tokenAudit.json<{ entries: Entry[] }>().entries[0];
    const listed = (await app.inject({ method: 'GET', url: '/api/tokens', headers: bearer(adminToken) })).json<{ tokens: { id: string; name: string; expiresAtUtcMs: number }[] }>().tokens.find((t) => t.name === 'grafana');
    assert.deepEqual(tokenEntry?.detail, { name: 'grafana', id: listed?.id, role: 'viewer', expiresAtUtcMs: listed?.expiresAtUtcMs });

    const badQuery = await app.inject({ method: 'GET', url: '/api/audit?limit=0', headers: bearer(adminToken) });
    assert.equal(badQuery.statusCode, 400);
    assertErrorBody(badQuery.json(), 400);
  });

  void test('a user change whose audit record cannot be written is not made: 500, and nothing changed', async () => {
    await store.users.create({ userName: 'keeper', role: 'viewer', password: 'keeper password 12' });
    const keeperToken = (await login('keeper', 'keeper password 12')).json<{ token: string }>().token;
    const auditCount = async () => (await store.audit.search({ limit: 1000, offset: 0 })).length;
    const before = await auditCount();
    const restore = failAuditWrites(dbFile);
    try {
      const attempts: [string, object | undefined][] = [
        ['/api/users', { userName: 'ghost', role: 'viewer', password: 'ghost password 12' }],
        ['/api/users/keeper/role', { role: 'admin' }],
        ['/api/users/keeper/disable', undefined],
        ['/api/tokens', { userName: 'keeper', name: 'ci' }],
      ];
      for (const [url, payload] of attempts) {
        const res = await app.inject({ method: 'POST', url, headers: bearer(adminToken), ...(payload ? { payload } : {}) });
        assert.equal(res.statusCode, 500, `${url}: ${res.body}`);
        assertErrorBody(res.json(), 500);
      }
    } finally {
      restore();
    }
    assert.equal(await store.users.get('ghost'), null, 'the user was not created');
    const keeper = await store.users.get('keeper');
    assert.equal(keeper?.role, 'viewer', 'the role did not change');
    assert.equal(keeper?.disabled, false, 'the user was not disabled');
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(keeperToken) })).statusCode, 200, 'their session still works');
    assert.equal(await auditCount(), before);
    // With the audit log back, the same changes go through with their records.
    const role = await app.inject({ method: 'POST', url: '/api/users/keeper/role', headers: bearer(adminToken), payload: { role: 'dispatcher' } });
    assert.equal(role.statusCode, 200, role.body);
    const [entry] = await store.audit.search({ action: 'user.set-role', target: 'keeper', limit: 1, offset: 0 });
    assert.deepEqual({ userName: entry?.userName, role: entry?.role, detail: entry?.detail }, { userName: 'admin', role: 'admin', detail: { from: 'viewer', to: 'dispatcher' } });
  });

  void test('login and logout whose audit record cannot be written: 500, no session left behind, none ended; a failed login stays 401', async () => {
    const token = (await login('viewer', viewerPassword)).json<{ token: string }>().token;
    const sessionCount = () => {
      const db = new Database(dbFile, { readonly: true });
      try {
        return (db.prepare('select count(*) as n from sessions').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const auditCount = async () => (await store.audit.search({ limit: 1000, offset: 0 })).length;
    const sessions = sessionCount();
    const audited = await auditCount();
    const restore = failAuditWrites(dbFile);
    try {
      const signIn = await login('viewer', viewerPassword);
      assert.equal(signIn.statusCode, 500, signIn.body);
      assertErrorBody(signIn.json(), 500);
      assert.equal(sessionCount(), sessions, 'no session row for a token never handed out');
      const signOut = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) });
      assert.equal(signOut.statusCode, 500, signOut.body);
      assertErrorBody(signOut.json(), 500);
      // A failed sign-in is still answered 401 (its record is logged instead): a 500 would mislead the user.
      const wrong = await login('viewer', 'not the password');
      assert.equal(wrong.statusCode, 401, wrong.body);
      assertErrorBody(wrong.json(), 401);
    } finally {
      restore();
    }
    assert.equal(sessionCount(), sessions, 'a failed logout ended no session');
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 200, 'the session a failed logout answered 500 for still works');
    assert.equal(await auditCount(), audited);
    // With the audit log back, both go through with their records.
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) });
    assert.equal(out.statusCode, 200, out.body);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 401);
    assert.equal((await login('viewer', viewerPassword)).statusCode, 200);
    const [logout] = await store.audit.search({ action: 'auth.logout', target: 'viewer', limit: 1, offset: 0 });
    assert.deepEqual({ userName: logout?.userName, role: logout?.role }, { userName: 'viewer', role: (await store.users.get('viewer'))?.role });
    assert.equal(sessionCount(), sessions);
  });

  void test('bodies are taken as sent: a number is not a user name, nor a role; messages name the field and the value', async () => {
    const post = (payload: unknown) => app.inject({ method: 'POST', url: '/api/users', headers: bearer(adminToken), payload: payload as object });
    const numeric = await post({ userName: 123, role: 'viewer', password: 'long enough password' });
    assert.equal(numeric.statusCode, 400, numeric.body);
    assertErrorBody(numeric.json(), 400);
    assert.equal(numeric.json<{ message: string }>().message, 'body/userName: must be string (value: 123)');
    assert.equal(await store.users.get('123'), null, 'no user "123"');

    const role = await post({ userName: 'r2', role: 'root', password: 'long enough password' });
    assert.equal(role.json<{ message: string }>().message, 'body/role: must be equal to one of the allowed values: viewer, dispatcher, supervisor, admin (value: "root")');
    const name = await post({ userName: '李', role: 'viewer', password: 'long enough password' });
    assert.equal(name.statusCode, 400);
    assert.match(name.json<{ message: string }>().message, /^body\/userName: user name must be 1–64 characters: .* \(value: "李"\)$/);
    const extra = await post({ userName: 'x1', role: 'viewer', password: 'long enough password', isAdmin: true });
    assert.equal(extra.json<{ message: string }>().message, 'body/isAdmin: unknown property (allowed: userName, displayName, role, password)');
    const setRole = await app.inject({ method: 'POST', url: '/api/users/keeper/role', headers: bearer(adminToken), payload: { role: 3 } });
    assert.match(setRole.json<{ message: string }>().message, /^body\/role: .*\(value: 3\)$/);

    // A password is counted in characters by the schema and the store alike, and never echoed.
    const emoji = (n: number) => '🙂'.repeat(n);
    const longest = await post({ userName: 'emoji1', role: 'viewer', password: emoji(1024) });
    assert.equal(longest.statusCode, 201, longest.body);
    const tooLong = await post({ userName: 'emoji2', role: 'viewer', password: emoji(1025) });
    assert.equal(tooLong.statusCode, 400);
    assert.equal(tooLong.json<{ message: string }>().message, 'body/password: must NOT have more than 1024 characters');
    const short = await post({ userName: 'emoji3', role: 'viewer', password: emoji(11) });
    assert.equal(short.json<{ message: string }>().message, 'body/password: must NOT have fewer than 12 characters', 'the schema (and so the OpenAPI document) holds the minimum');
  });

  void test('the audit search refuses unknown parameters and out-of-range numbers with 400 naming them', async () => {
    const cases: [string, string][] = [
      ['/api/audit?user=admin', 'querystring/user: unknown property (allowed: userName, action, target, fromUtcMs, toUtcMs, text, limit, offset)'],
      ['/api/audit?offset=1e20', 'querystring/offset: must be <= 1000000000 (value: 100000000000000000000)'],
      ['/api/audit?limit=1e309', 'querystring/limit: Infinity is not a finite number'],
      ['/api/audit?limit=Infinity', 'querystring/limit: Infinity is not a finite number'],
      ['/api/audit?offset=-Infinity', 'querystring/offset: -Infinity is not a finite number'],
      ['/api/audit?fromUtcMs=1e300', 'querystring/fromUtcMs: must be <= 9223372036854 (value: 1e+300)'],
      ['/api/audit?toUtcMs=9223372036855', 'querystring/toUtcMs: must be <= 9223372036854 (value: 9223372036855)'],
    ];
    for (const [url, message] of cases) {
      const res = await app.inject({ method: 'GET', url, headers: bearer(adminToken) });
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assertErrorBody(res.json(), 400);
      assert.equal(res.json<{ message: string }>().message, message, url);
    }
    const coerced = await app.inject({ method: 'GET', url: '/api/audit?limit=5&offset=0&toUtcMs=9223372036854', headers: bearer(adminToken) });
    assert.equal(coerced.statusCode, 200, 'query strings are still read as numbers');
    assert.equal(coerced.json<{ limit: number }>().limit, 5);
  });

  void test('logout ends the session and is audited', async () => {
    const token = (await login('admin', adminPassword)).json<{ token: string }>().token;
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(token) });
    assert.equal(out.statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/api/auth/me', headers: bearer(token) })).statusCode, 401);
    const events = await store.audit.search({ action: 'auth.logout', limit: 10, offset: 0 });
    assert.equal(events[0]?.userName, 'admin');
  });
});

void test('login is rate-limited to 10 a minute per client', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sewer-api-rate-'));
  const store = await openStore(`sqlite:${path.join(dir, 'rate.sqlite')}`);
  const app = await buildTestApp(store);
  try {
    const codes: number[] = [];
    for (let i = 0; i < 11; i++) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/login', payload: { userName: 'nobody', password: 'guess guess guess' } });
      codes.push(res.statusCode);
      if (res.statusCode === 429) assertErrorBody(res.json(), 429);
    }
    assert.equal(codes.at(-1), 429);
    assert.deepEqual(codes, [...Array<number>(10).fill(401), 429]);
  } finally {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

void test('an error inside the router (a failing async route constraint) is a 500 with the standard body, no details', async () => {
  const handlers = new Map<unknown, unknown>();
  // An asynchronous constraint strategy whose lookup fails (find-my-way calls deriveConstraint with a callback).
  const tenant = {
    name: 'tenant',
    storage: () => ({ get: (key: unknown) => handlers.get(key) ?? null, set: (key: unknown, handler: unknown) => void handlers.set(key, handler) }),
    deriveConstraint: (_request: unknown, _context: unknown, done: (error: Error | null) => void) => done(new Error('constraint store unreachable')),
    mustMatchWhenDerived: false,
    validate: () => undefined,
  };
  const app = Fastify({ logger: false, ...apiServerOptions, constraints: { tenant } as unknown as FastifyServerOptions['constraints'] });
  installErrorHandling(app);
  app.get('/x', { constraints: { tenant: 'a' } }, () => ({ ok: true }));
  try {
    const res = await app.inject({ method: 'GET', url: '/x' });
    assert.equal(res.statusCode, 500, res.body);
    assert.deepEqual(res.json(), { statusCode: 500, error: 'Internal Server Error', message: 'internal error; see the server log' });
  } finally {
    await app.close();
  }
});
