// The admin command line (api/admin-cli.ts) on a temp SQLite file: password reset, enable, and the API
// token commands (issue with expiry, list without the secret, revoke by id), each audited as cli:<user>.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../api/admin-cli.js';
import { openStore } from '../../store/db.js';

const tempDir = mkdtempSync(path.join(tmpdir(), 'sewer-admin-cli-'));
after(() => rmSync(tempDir, { recursive: true, force: true }));

/** Run the CLI with a password in SEWER_ADMIN_PASSWORD; answers its exit code and what it printed. */
async function run(args: string[], password?: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(' '));
  console.error = (...a: unknown[]) => void err.push(a.join(' '));
  const saved = process.env['SEWER_ADMIN_PASSWORD'];
  if (password === undefined) delete process.env['SEWER_ADMIN_PASSWORD'];
  else process.env['SEWER_ADMIN_PASSWORD'] = password;
  try {
    return { code: await main(args), out, err };
  } finally {
    console.log = log;
    console.error = error;
    if (saved === undefined) delete process.env['SEWER_ADMIN_PASSWORD'];
    else process.env['SEWER_ADMIN_PASSWORD'] = saved;
  }
}

void test('admin CLI: reset-password, enable, create-token with expiry (admins only with --allow-admin), list-tokens, revoke-token', async () => {
  const url = `sqlite:${path.join(tempDir, 'cli.sqlite')}`;
  process.env['DATABASE_URL'] = url;
  assert.equal((await run(['create-user', '--user', 'boss', '--role', 'admin'], 'boss password 2026')).code, 0);
  assert.equal((await run(['create-user', '--user', 'grafana-svc', '--role', 'viewer'], 'service password 2026')).code, 0);

  assert.equal((await run(['reset-password', '--user', 'grafana-svc'], 'a new service password')).code, 0);
  assert.equal((await run(['disable', '--user', 'grafana-svc'])).code, 0);
  assert.equal((await run(['enable', '--user', 'GRAFANA-SVC'])).code, 0);

  await assert.rejects(run(['create-token', '--user', 'boss', '--name', 'ci']), /boss is an admin/);
  assert.equal((await run(['create-token', '--user', 'boss', '--name', 'ci', '--allow-admin'])).code, 0);
  const issued = await run(['create-token', '--user', 'grafana-svc', '--name', 'grafana', '--expires-days', '30']);
  assert.equal(issued.code, 0);
  const token = issued.out[0] ?? '';
  const id = /id ([0-9a-f]{16})/.exec(issued.err[0] ?? '')?.[1] ?? '';
  assert.match(id, /^[0-9a-f]{16}$/);

  const listed = await run(['list-tokens']);
  assert.equal(listed.out.join('\n').includes(token), false, 'never the token');
  const line = listed.out.find((l) => l.startsWith(id)) ?? '';
  assert.match(line, /grafana-svc\tviewer\tgrafana\t.*\tlive$/);
  assert.equal((await run(['revoke-token', '--id', id])).code, 0);
  assert.match((await run(['list-tokens'])).out.find((l) => l.startsWith(id)) ?? '', /\trevoked /);
  await assert.rejects(run(['revoke-token', '--id', id]), /no live API token/);

  const store = await openStore(url);
  try {
    assert.equal(await store.apiTokens.resolve(token), null);
    assert.ok((await store.users.login('grafana-svc', 'a new service password')).ok, 'reset and enabled');
    const actions = (await store.audit.search({ text: 'grafana', limit: 100, offset: 0 })).map((e) => e.action);
    assert.deepEqual(actions, ['token.revoke', 'token.create', 'user.enable', 'user.disable', 'user.password.reset', 'user.create']);
    assert.ok((await store.audit.search({ action: 'token.revoke', limit: 1, offset: 0 }))[0]?.userName.startsWith('cli:'));
  } finally {
    await store.close();
  }
});
