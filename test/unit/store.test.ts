// The relational store (users, sessions, API tokens, audit log) on a temp SQLite file. Set
// TEST_POSTGRES_URL=postgres://… (an empty, throw-away database) to run the same tests on PostgreSQL.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { StoreError, hashPassword, openStore, verifyPasswordHash, type Store } from '../../store/db.js';

const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-store-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

const backends: { name: string; url: string }[] = [{ name: 'sqlite', url: `sqlite:${path.join(tempDir, 'nested', 'folder', 'store.sqlite')}` }];
if (process.env['TEST_POSTGRES_URL']) backends.push({ name: 'postgres', url: process.env['TEST_POSTGRES_URL'] });

const password = 'correct horse battery';

/** A second connection to a store's database, for what the Store interface does not offer. */
async function rawConnection(url: string): Promise<{ run(statement: string): Promise<void>; count(table: string): Promise<number>; close(): Promise<void> }> {
  if (url.startsWith('sqlite:')) {
    const db = new Database(url.slice('sqlite:'.length));
    return {
      run: (statement) => Promise.resolve(void db.exec(statement)),
      count: (table) => Promise.resolve((db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n),
      close: () => Promise.resolve(void db.close()),
    };
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return {
    run: async (statement) => void (await client.query(statement)),
    count: async (table) => Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]?.n),
    close: () => client.end(),
  };
}

/** Make every insert into the audit log fail until the returned function runs. */
async function failAuditWrites(url: string): Promise<() => Promise<void>> {
  const raw = await rawConnection(url);
  if (url.startsWith('sqlite:')) {
    await raw.run("CREATE TRIGGER audit_down BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit log unavailable'); END");
  } else {
    await raw.run("CREATE OR REPLACE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit log unavailable'; END $$");
    await raw.run('CREATE TRIGGER audit_down BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_down()');
  }
  return async () => {
    await raw.run(url.startsWith('sqlite:') ? 'DROP TRIGGER audit_down' : 'DROP TRIGGER audit_down ON audit_log; DROP FUNCTION audit_down()');
    await raw.close();
  };
}

async function rejectsWith(promise: Promise<unknown>, code: StoreError['code'], message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StoreError, `expected StoreError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

void test('password hashes are scrypt$N$r$p$salt$hash, salted, and verify', async () => {
  const a = await hashPassword(password);
  const b = await hashPassword(password);
  assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
  assert.notEqual(a, b);
  assert.equal(await verifyPasswordHash(password, a), true);
  assert.equal(await verifyPasswordHash(`${password}!`, a), false);
  assert.equal(await verifyPasswordHash(password, 'plain-text'), false);
});

void test('an unknown DATABASE_URL scheme is rejected', async () => {
  await assert.rejects(openStore('mysql://localhost/x'), /sqlite:<file> or postgres/);
});

for (const backend of backends) {
  void describe(`store on ${backend.name}`, () => {
    let clock = Date.UTC(2025, 6, 1, 8, 0, 0);
    let store: Store;

    before(async () => {
      store = await openStore(backend.url, { now: () => clock });
    });
    after(async () => {
      await store.close();
    });

    void test('opening creates the file with its folder; opening again re-runs no migration', async () => {
      if (backend.name === 'sqlite') assert.ok(existsSync(path.join(tempDir, 'nested', 'folder', 'store.sqlite')));
      const again = await openStore(backend.url);
      assert.deepEqual(await again.users.list(), await store.users.list());
      await again.close();
    });

    void test('users: create, list, duplicate and weak passwords rejected', async () => {
      const admin = await store.users.create({ userName: 'admin1', displayName: '管理员', role: 'admin', password });
      assert.equal(admin.userName, 'admin1');
      assert.equal(admin.displayName, '管理员');
      assert.equal(admin.role, 'admin');
      assert.equal(admin.disabled, false);
      assert.equal(admin.createdAtUtcMs, clock);
      assert.equal(typeof admin.id, 'number');

      const viewer = await store.users.create({ userName: 'viewer1', role: 'viewer', password });
      assert.equal(viewer.displayName, 'viewer1', 'display name defaults to the user name');

      await rejectsWith(store.users.create({ userName: 'admin1', role: 'viewer', password }), 'duplicate', /already exists/);
      await rejectsWith(store.users.create({ userName: 'weak', role: 'viewer', password: 'short pw 11' }), 'weak-password', /at least 12 characters/);
      await rejectsWith(store.users.create({ userName: 'bad name!', role: 'viewer', password }), 'invalid', /user name/);
      await rejectsWith(store.users.create({ userName: 'r', role: 'root' as never, password }), 'invalid', /role must be one of viewer, dispatcher, supervisor, admin \(value: "root"\)/);
      await rejectsWith(store.users.create({ userName: '李', role: 'viewer', password }), 'invalid', /user name must be .*\(value: "李"\)/);
      // Characters are counted as code points at both ends, as JSON Schema counts them: 1024 emoji are 1024.
      const emoji = await store.users.create({ userName: 'emoji', role: 'viewer', password: '🙂'.repeat(1024) });
      assert.notEqual(await store.users.verifyPassword('emoji', '🙂'.repeat(1024)), null);
      await rejectsWith(store.users.create({ userName: 'emoji2', role: 'viewer', password: '🙂'.repeat(1025) }), 'weak-password', /at most 1024 characters \(it has 1025\)/);
      await rejectsWith(store.users.create({ userName: 'emoji3', role: 'viewer', password: '🙂'.repeat(11) }), 'weak-password', /at least 12 characters \(it has 11\)/);
      await store.users.disable(emoji.userName);

      const names = (await store.users.list()).map((u) => u.userName);
      assert.deepEqual(names, ['admin1', 'emoji', 'viewer1']);
      assert.equal((await store.users.get('nobody')), null);
    });

    void test('users: verifyPassword right and wrong; setRole; disable', async () => {
      const ok = await store.users.verifyPassword('admin1', password);
      assert.equal(ok?.userName, 'admin1');
      assert.equal(await store.users.verifyPassword('admin1', 'wrong password here'), null);
      assert.equal(await store.users.verifyPassword('nobody', password), null);

      await store.users.create({ userName: 'disp1', displayName: '调度员一', role: 'viewer', password });
      const promoted = await store.users.setRole('disp1', 'dispatcher');
      assert.equal(promoted.role, 'dispatcher');
      await rejectsWith(store.users.setRole('nobody', 'admin'), 'not-found', /no user named nobody/);

      await store.users.create({ userName: 'leaver', role: 'dispatcher', password });
      const disabled = await store.users.disable('leaver');
      assert.equal(disabled.disabled, true);
      assert.equal(await store.users.verifyPassword('leaver', password), null, 'a disabled user cannot log in');
      await rejectsWith(store.users.disable('nobody'), 'not-found', /nobody/);
    });

    void test('sessions: opaque token, resolve, expiry, revoke, disabled user', async () => {
      const user = (await store.users.get('disp1'))!;
      const session = await store.sessions.create(user.id, 60_000);
      assert.match(session.token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(session.expiresAtUtcMs, clock + 60_000);
      assert.deepEqual(await store.sessions.resolve(session.token), { id: user.id, userName: 'disp1', displayName: '调度员一', role: 'dispatcher' });
      assert.equal(await store.sessions.resolve(`${session.token}x`), null);
      assert.equal(await store.sessions.resolve(''), null);

      clock += 59_999;
      assert.notEqual(await store.sessions.resolve(session.token), null, 'still valid just before expiry');
      clock += 1;
      assert.equal(await store.sessions.resolve(session.token), null, 'expired at expiresAtUtcMs');

      const second = await store.sessions.create(user.id, 60_000);
      assert.equal(await store.sessions.revoke(second.token), true);
      assert.equal(await store.sessions.resolve(second.token), null);
      assert.equal(await store.sessions.revoke(second.token), false);

      const leaverToBe = await store.users.create({ userName: 'leaver2', role: 'viewer', password });
      const third = await store.sessions.create(leaverToBe.id, 60_000);
      assert.notEqual(await store.sessions.resolve(third.token), null);
      await store.users.disable('leaver2');
      assert.equal(await store.sessions.resolve(third.token), null, 'disabling a user ends their sessions');
    });

    void test('API tokens: create, resolve, revoke; not for disabled users', async () => {
      const user = (await store.users.get('viewer1'))!;
      const issued = await store.apiTokens.create(user.id, 'grafana');
      assert.equal(issued.name, 'grafana');
      assert.match(issued.token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal((await store.apiTokens.resolve(issued.token))?.userName, 'viewer1');
      assert.equal(await store.sessions.resolve(issued.token), null, 'an API token is not a session');
      assert.equal(await store.apiTokens.revoke(issued.token), true);
      assert.equal(await store.apiTokens.resolve(issued.token), null);
      assert.equal(await store.apiTokens.revoke(issued.token), false);

      await rejectsWith(store.apiTokens.create(user.id, '  '), 'invalid', /token name/);
      await rejectsWith(store.apiTokens.create(999_999, 'x'), 'not-found', /no user/);
      const leaver = (await store.users.get('leaver'))!;
      await rejectsWith(store.apiTokens.create(leaver.id, 'x'), 'invalid', /disabled/);
    });

    void test('a change made with an actor is audited in the same transaction: when the audit write fails, nothing is written', async () => {
      const by = { userName: 'admin1', role: 'admin' as const, ip: '10.0.0.1' };
      const records = async (target: string) => (await store.audit.search({ target, limit: 100, offset: 0 })).map((e) => ({ action: e.action, userName: e.userName, role: e.role, ip: e.ip, detail: e.detail }));
      const raw = await rawConnection(backend.url);
      try {
        const user = await store.users.create({ userName: 'audited', role: 'viewer', password }, by);
        await store.users.setRole('audited', 'dispatcher', by);
        const token = await store.apiTokens.create(user.id, 'ci', by);
        const session = await store.sessions.create(user.id, 60_000);
        const tokens = await raw.count('api_tokens');

        const restore = await failAuditWrites(backend.url);
        try {
          await assert.rejects(store.users.create({ userName: 'ghost', role: 'viewer', password }, by), /audit log unavailable/);
          await assert.rejects(store.users.setRole('audited', 'admin', by), /audit log unavailable/);
          await assert.rejects(store.apiTokens.create(user.id, 'ci-2', by), /audit log unavailable/);
          await assert.rejects(store.users.disable('audited', by), /audit log unavailable/);
        } finally {
          await restore();
        }
        assert.equal(await store.users.get('ghost'), null, 'no user without its record');
        assert.equal((await store.users.get('audited'))?.role, 'dispatcher', 'no role change without its record');
        assert.equal(await raw.count('api_tokens'), tokens, 'no token without its record');
        assert.equal((await store.users.get('audited'))?.disabled, false, 'not disabled without its record');
        assert.notEqual(await store.sessions.resolve(session.token), null, 'the sessions were not ended either');

        await store.users.disable('audited', by);
        const actor = { userName: 'admin1', role: 'admin', ip: '10.0.0.1' };
        assert.deepEqual(await records('audited'), [
          { action: 'user.disable', ...actor, detail: null },
          { action: 'token.create', ...actor, detail: { name: 'ci', id: token.id, role: 'dispatcher', expiresAtUtcMs: token.expiresAtUtcMs } },
          { action: 'user.set-role', ...actor, detail: { from: 'viewer', to: 'dispatcher' } },
          { action: 'user.create', ...actor, detail: { role: 'viewer', displayName: 'audited' } },
        ]);
        await rejectsWith(store.users.setRole('nobody', 'admin', by), 'not-found', /no user named nobody/);
        assert.deepEqual(await records('nobody'), [], 'a refused change leaves no record');
      } finally {
        await raw.close();
      }
    });

    void test('sessions with an actor: login and logout are audited in the same transaction; when the audit write fails, no session is left behind and none is ended', async () => {
      const user = await store.users.create({ userName: 'shift1', role: 'dispatcher', password });
      const by = { userName: 'shift1', role: 'dispatcher' as const, ip: '10.0.0.7' };
      const records = async () => (await store.audit.search({ target: 'shift1', action: 'auth', limit: 100, offset: 0 })).map((e) => ({ action: e.action, userName: e.userName, role: e.role, ip: e.ip, detail: e.detail }));
      const raw = await rawConnection(backend.url);
      try {
        const sessions = await raw.count('sessions');
        const kept = await store.sessions.create(user.id, 60_000, by);
        assert.equal(await raw.count('sessions'), sessions + 1);

        const restore = await failAuditWrites(backend.url);
        try {
          await assert.rejects(store.sessions.create(user.id, 60_000, by), /audit log unavailable/);
          await assert.rejects(store.sessions.revoke(kept.token, by), /audit log unavailable/);
        } finally {
          await restore();
        }
        assert.equal(await raw.count('sessions'), sessions + 1, 'no session without its record');
        assert.notEqual(await store.sessions.resolve(kept.token), null, 'the session was not ended without its record');

        assert.equal(await store.sessions.revoke(kept.token, by), true);
        assert.equal(await store.sessions.resolve(kept.token), null);
        assert.equal(await store.sessions.revoke(kept.token, by), false, 'a session already gone is not revoked again');
        const actor = { userName: 'shift1', role: 'dispatcher', ip: '10.0.0.7' };
        assert.deepEqual(await records(), [
          { action: 'auth.logout', ...actor, detail: null },
          { action: 'auth.login.ok', ...actor, detail: { expiresAtUtcMs: kept.expiresAtUtcMs } },
        ], 'one record per change made, none for what was not');
        await rejectsWith(store.sessions.create(999_999, 60_000, by), 'not-found', /no user with id 999999/);
      } finally {
        await raw.close();
      }
    });

    void test('audit: record and search with every filter, newest first', async () => {
      const t0 = (clock = Date.UTC(2025, 7, 1, 0, 0, 0));
      await store.audit.record({ userName: 'disp1', role: 'dispatcher', action: 'auth.login.ok', target: 'disp1', detail: { via: 'web' }, ip: '10.0.0.5' });
      clock += 1000;
      await store.audit.record({ userName: 'disp1', role: 'dispatcher', action: 'plan.approve', target: 'plan-42', detail: { comment: '汛期 100% 泵站_A' }, ip: '10.0.0.5' });
      clock += 1000;
      await store.audit.record({ userName: 'intruder', action: 'auth.login.failed', target: 'intruder', detail: { reason: 'unknown-user' }, ip: '10.0.0.9' });
      clock += 1000;
      await store.audit.record({ userName: 'admin1', role: 'admin', action: 'user.create', target: 'disp2' });

      const all = await store.audit.search({ fromUtcMs: t0, limit: 100, offset: 0 });
      assert.deepEqual(all.map((e) => e.action), ['user.create', 'auth.login.failed', 'plan.approve', 'auth.login.ok']);
      const first = all[3]!;
      assert.equal(first.atUtcMs, t0);
      assert.equal(first.userName, 'disp1');
      assert.equal(first.role, 'dispatcher');
      assert.equal(first.ip, '10.0.0.5');
      assert.deepEqual(first.detail, { via: 'web' });
      assert.equal(all[0]!.detail, null);
      assert.equal(all[1]!.role, null);

      const actions = async (query: Omit<Parameters<Store['audit']['search']>[0], 'limit' | 'offset'>, limit = 100, offset = 0) =>
        (await store.audit.search({ fromUtcMs: t0, ...query, limit, offset })).map((e) => e.action);
      assert.deepEqual(await actions({ userName: 'disp1' }), ['plan.approve', 'auth.login.ok']);
      assert.deepEqual(await actions({ action: 'auth.login' }), ['auth.login.failed', 'auth.login.ok'], 'dotted prefix');
      assert.deepEqual(await actions({ action: 'auth.login.ok' }), ['auth.login.ok']);
      assert.deepEqual(await actions({ action: 'auth' }), ['auth.login.failed', 'auth.login.ok']);
      assert.deepEqual(await actions({ action: 'auth.log' }), [], 'a prefix matches whole dotted parts only');
      assert.deepEqual(await actions({ target: 'plan-42' }), ['plan.approve']);
      assert.deepEqual(await actions({ fromUtcMs: t0 + 1000, toUtcMs: t0 + 3000 }), ['auth.login.failed', 'plan.approve'], 'from inclusive, to exclusive');
      assert.deepEqual(await actions({ text: '汛期' }), ['plan.approve'], 'text searches the detail');
      assert.deepEqual(await actions({ text: 'INTRUDER' }), ['auth.login.failed'], 'text is case-insensitive');
      assert.deepEqual(await actions({ text: '100%' }), ['plan.approve'], '% is literal');
      assert.deepEqual(await actions({ text: '_a' }), ['plan.approve'], '_ is literal');
      assert.deepEqual(await actions({ text: '%' }), ['plan.approve']);
      assert.deepEqual(await actions({ userName: 'disp1', action: 'plan' }), ['plan.approve'], 'filters combine');
      assert.deepEqual(await actions({}, 2, 0), ['user.create', 'auth.login.failed'], 'limit');
      assert.deepEqual(await actions({}, 2, 2), ['plan.approve', 'auth.login.ok'], 'offset');
    });

    void test('user names are unique regardless of case; lookups and sign-in ignore case', async () => {
      await store.users.create({ userName: 'wang', role: 'dispatcher', password });
      await rejectsWith(store.users.create({ userName: 'Wang', role: 'viewer', password }), 'duplicate', /user wang already exists \(user names are compared without case\)/);
      assert.equal((await store.users.get('WANG'))?.userName, 'wang');
      const result = await store.users.login('Wang', password);
      assert.ok(result.ok);
      assert.equal(result.user.userName, 'wang', 'the stored spelling, for the audit log and "decided by"');
    });

    void test('password policy: all spaces, the user name, common passwords refused; on create and on a reset', async () => {
      await rejectsWith(store.users.create({ userName: 'spaces', role: 'viewer', password: ' '.repeat(12) }), 'weak-password', /only spaces/);
      await rejectsWith(store.users.create({ userName: 'sameyc6edabcd', role: 'viewer', password: 'SameYC6edabcd' }), 'weak-password', /not be the user name/);
      await rejectsWith(store.users.create({ userName: 'common', role: 'viewer', password: 'Password1234' }), 'weak-password', /most common/);
      await store.users.create({ userName: 'policy', role: 'viewer', password });
      await rejectsWith(store.users.setPassword('policy', '\t'.repeat(20)), 'weak-password', /only spaces/);
      await store.users.create({ userName: 'policy-officer', role: 'viewer', password });
      await rejectsWith(store.users.setPassword('policy-officer', 'Policy-Officer'), 'weak-password', /user name/);
      await rejectsWith(store.users.setPassword('nobody', 'a fine long password'), 'not-found', /no user named nobody/);
    });

    void test('sign-in lockout: after 5 failures the account is locked (1 min, doubling), the password is not checked, a success resets', async () => {
      await store.users.create({ userName: 'guessed', role: 'dispatcher', password });
      for (let i = 1; i <= 4; i++) {
        const r = await store.users.login('guessed', `wrong guess ${i}xx`);
        assert.deepEqual([r.ok, r.ok ? null : r.reason, r.ok ? null : ('lockedUntilUtcMs' in r ? r.lockedUntilUtcMs : null)], [false, 'bad-password', null]);
      }
      const fifth = await store.users.login('guessed', 'wrong guess 5xx');
      assert.ok(!fifth.ok && fifth.reason === 'bad-password');
      assert.equal(fifth.lockedUntilUtcMs, clock + 60_000);
      const locked = await store.users.login('guessed', password);
      assert.ok(!locked.ok && locked.reason === 'locked', 'the right password is refused while locked');
      clock += 60_001;
      const sixth = await store.users.login('guessed', 'wrong guess 6xx');
      assert.ok(!sixth.ok && sixth.reason === 'bad-password');
      assert.equal(sixth.lockedUntilUtcMs, clock + 120_000, 'the lock doubles');
      clock += 120_001;
      assert.ok((await store.users.login('guessed', password)).ok);
      const afterReset = await store.users.login('guessed', 'wrong again xx');
      assert.ok(!afterReset.ok && afterReset.reason === 'bad-password' && afterReset.lockedUntilUtcMs === null, 'a success resets the count');
      // An admin's enable (or a password reset) clears a lock.
      for (let i = 0; i < 5; i++) await store.users.login('guessed', 'wrong again xx');
      assert.equal((await store.users.login('guessed', password)).ok, false);
      await store.users.enable('guessed');
      assert.equal((await store.users.login('guessed', password)).ok, true);
    });

    void test('sessions end after the idle limit even before their absolute expiry', async () => {
      const user = await store.users.create({ userName: 'night', role: 'dispatcher', password });
      const session = await store.sessions.create(user.id, 12 * 3_600_000);
      clock += 59 * 60_000;
      assert.equal((await store.sessions.resolve(session.token))?.userName, 'night', 'used after 59 min idle');
      clock += 61 * 60_000;
      assert.equal(await store.sessions.resolve(session.token), null, '61 min idle: signed out (default limit 60 min)');
      const other = await store.sessions.create(user.id, 12 * 3_600_000);
      clock += 12.1 * 3_600_000;
      assert.equal(await store.sessions.resolve(other.token, 12 * 3_600_000), null, 'past the absolute expiry after all');
      const third = await store.sessions.create(user.id, 12 * 3_600_000);
      clock += 20 * 60_000;
      assert.equal(await store.sessions.resolve(third.token, 10 * 60_000), null, 'a shorter idle limit');
    });

    void test('password reset and enable: audited with the change, sessions ended except the one kept', async () => {
      const by = { userName: 'admin1', role: 'admin' as const, ip: '10.0.0.1' };
      const user = await store.users.create({ userName: 'forgetful', role: 'dispatcher', password });
      const a = await store.sessions.create(user.id, 3_600_000);
      const b = await store.sessions.create(user.id, 3_600_000);
      await store.users.setPassword('forgetful', 'a brand new passphrase', { userName: 'forgetful', role: 'dispatcher' }, { keepSessionToken: a.token, action: 'auth.password.change' });
      assert.notEqual(await store.sessions.resolve(a.token), null, 'the session that changed it stays');
      assert.equal(await store.sessions.resolve(b.token), null, 'other sessions end');
      assert.equal(await store.users.verifyPassword('forgetful', password), null);
      assert.notEqual(await store.users.verifyPassword('forgetful', 'a brand new passphrase'), null);
      await store.users.setPassword('forgetful', 'reset by the admin 1', by);
      assert.equal(await store.sessions.resolve(a.token), null, 'an admin reset ends every session');
      await store.users.disable('forgetful', by);
      assert.equal((await store.users.enable('FORGETFUL', by)).disabled, false);
      assert.equal((await store.users.login('forgetful', 'reset by the admin 1')).ok, true, 'enabled again, same name, same audit trail');
      const trail = (await store.audit.search({ target: 'forgetful', limit: 10, offset: 0 })).map((e) => [e.action, e.userName]);
      assert.deepEqual(trail, [['user.enable', 'admin1'], ['user.disable', 'admin1'], ['user.password.reset', 'admin1'], ['auth.password.change', 'forgetful']]);
      const restore = await failAuditWrites(backend.url);
      try {
        await assert.rejects(store.users.setPassword('forgetful', 'not written at all 1', by), /audit log unavailable/);
        await assert.rejects(store.users.enable('forgetful', by), /audit log unavailable/);
      } finally {
        await restore();
      }
      assert.notEqual(await store.users.verifyPassword('forgetful', 'reset by the admin 1'), null, 'no password change without its record');
    });

    void test('API tokens: expire, are listed with last use, revoked by id (audited); none for an admin unless allowed', async () => {
      const by = { userName: 'admin1', role: 'admin' as const, ip: '10.0.0.1' };
      const svc = await store.users.create({ userName: 'svc-grafana', role: 'viewer', password });
      const boss = (await store.users.get('admin1'))!;
      await rejectsWith(store.apiTokens.create(boss.id, 'ci'), 'invalid', /admin1 is an admin/);
      const adminToken = await store.apiTokens.create(boss.id, 'ci', by, { allowAdmin: true });
      assert.equal((await store.apiTokens.resolve(adminToken.token))?.role, 'admin');
      const issued = await store.apiTokens.create(svc.id, 'grafana', by);
      assert.equal(issued.expiresAtUtcMs, clock + 365 * 86_400_000, 'a year by default');
      assert.match(issued.id, /^[0-9a-f]{16}$/);
      const short = await store.apiTokens.create(svc.id, 'short', by, { expiresAtUtcMs: clock + 60_000 });
      await rejectsWith(store.apiTokens.create(svc.id, 'past', by, { expiresAtUtcMs: clock - 1 }), 'invalid', /in the future/);
      assert.equal((await store.apiTokens.resolve(short.token))?.userName, 'svc-grafana');
      clock += 60_000;
      assert.equal(await store.apiTokens.resolve(short.token), null, 'expired');
      assert.equal((await store.apiTokens.resolve(issued.token))?.userName, 'svc-grafana');
      const listed = (await store.apiTokens.list()).find((t) => t.id === issued.id);
      assert.deepEqual(listed, { id: issued.id, name: 'grafana', userName: 'svc-grafana', role: 'viewer', createdAtUtcMs: issued.createdAtUtcMs, expiresAtUtcMs: issued.expiresAtUtcMs, lastUsedAtUtcMs: clock, revokedAtUtcMs: null });
      assert.equal(JSON.stringify(await store.apiTokens.list()).includes(issued.token), false, 'the list never holds a token');
      const revoked = await store.apiTokens.revokeById(issued.id, by);
      assert.equal(revoked.revokedAtUtcMs, clock);
      assert.equal(await store.apiTokens.resolve(issued.token), null);
      await rejectsWith(store.apiTokens.revokeById(issued.id, by), 'not-found', /no live API token/);
      await rejectsWith(store.apiTokens.revokeById('%', by), 'not-found', /16 hex digits/);
      const record = (await store.audit.search({ action: 'token.revoke', target: 'svc-grafana', limit: 1, offset: 0 }))[0];
      assert.deepEqual([record?.userName, record?.detail], ['admin1', { name: 'grafana', id: issued.id }]);
    });

    void test('audit search: full-width input, quotes and backslashes as typed, case-sensitive action on both dialects, NUL harmless', async () => {
      const t0 = (clock = Date.UTC(2025, 8, 1, 0, 0, 0));
      await store.audit.record({ userName: 'disp1', role: 'dispatcher', action: 'plan.reject', target: 'plan-7', detail: { comment: 'P1泵检修 "P2" C:\\path' } });
      clock += 1000;
      await store.audit.record({ userName: 'disp1', role: 'dispatcher', action: 'auth.login.ok', target: 'disp1' });
      const actions = async (query: Omit<Parameters<Store['audit']['search']>[0], 'limit' | 'offset'>) => (await store.audit.search({ fromUtcMs: t0, ...query, limit: 100, offset: 0 })).map((e) => e.action);
      assert.deepEqual(await actions({ text: 'Ｐ１泵检修' }), ['plan.reject'], 'full-width letters and digits from an IME');
      assert.deepEqual(await actions({ text: 'p1泵' }), ['plan.reject']);
      assert.deepEqual(await actions({ text: '"P2"' }), ['plan.reject'], 'quotes as typed');
      assert.deepEqual(await actions({ text: 'C:\\path' }), ['plan.reject'], 'a backslash as typed');
      assert.deepEqual(await actions({ action: 'AUTH.LOGIN' }), [], 'action is case-sensitive');
      assert.deepEqual(await actions({ action: 'auth.login' }), ['auth.login.ok']);
      assert.deepEqual(await actions({ text: 'a\u0000b' }), []);
      assert.deepEqual(await actions({ userName: 'a\u0000b' }), []);
      await store.audit.record({ userName: 'nul\u0000name', action: 'auth.login.failed', target: 'x\u0000', detail: { tried: 'a\u0000b' } });
      assert.deepEqual(await actions({ userName: 'nul\ufffdname' }), ['auth.login.failed'], 'stored with U+FFFD');
    });
  });
}

// An older database upgrades in place: users, sessions, tokens and audit rows are kept, the search text of old
// rows is filled in. PostgreSQL with TEST_POSTGRES_UPGRADE_URL (another empty, throw-away database).
const upgradeBackends = [{ name: 'sqlite', url: `sqlite:${path.join(tempDir, 'upgrade.sqlite')}` }];
if (process.env['TEST_POSTGRES_UPGRADE_URL']) upgradeBackends.push({ name: 'postgres', url: process.env['TEST_POSTGRES_UPGRADE_URL'] });
for (const backend of upgradeBackends) {
  void test(`${backend.name}: a 0001 database upgrades without losing users, tokens or audit rows; a case clash stops the upgrade with the names`, async () => {
    const old = await openStore(backend.url, { migrateTo: '0001_auth_and_audit' });
    await old.close();
    const raw = await rawConnection(backend.url);
    try {
      const hash = await hashPassword(password);
      await raw.run(`insert into users (user_name, display_name, role, password_hash, created_at, disabled) values ('zhao', '赵', 'dispatcher', '${hash}', 1, 0), ('Zhao', 'Z', 'viewer', '${hash}', 2, 0)`);
      await raw.run(`insert into api_tokens (token_hash, user_id, name, created_at, revoked_at) values ('${'ab'.repeat(32)}', (select id from users where user_name = 'zhao'), 'grafana', 3, null)`);
      await raw.run(`insert into audit_log (at_utc_ms, user_name, role, action, target, detail, ip) values (10, 'zhao', 'dispatcher', 'plan.approve', 'plan-1', '{"comment":"ＡＢ泵站 \\"ok\\""}', '10.0.0.1')`);
      await assert.rejects(openStore(backend.url), /unique regardless of case.*zhao \/ Zhao|Zhao \/ zhao/);
      await raw.run(`update users set user_name = 'zhao2' where user_name = 'Zhao'`);
      const upgraded = await openStore(backend.url);
      try {
        assert.deepEqual((await upgraded.users.list()).map((u) => u.userName), ['zhao', 'zhao2']);
        assert.ok((await upgraded.users.login('ZHAO', password)).ok, 'the password hash survives');
        assert.deepEqual((await upgraded.apiTokens.list()).map((t) => [t.name, t.userName, t.expiresAtUtcMs]), [['grafana', 'zhao', null]], 'old tokens keep working until revoked');
        assert.deepEqual((await upgraded.audit.search({ text: 'ab泵站 "ok"', limit: 10, offset: 0 })).map((e) => e.target), ['plan-1'], 'old rows are searchable');
        assert.equal(await raw.count('audit_log'), 1);
      } finally {
        await upgraded.close();
      }
    } finally {
      await raw.close();
    }
  });
}
