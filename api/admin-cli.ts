// User administration from the command line; this is how the first admin is created.
//
//   npm run admin -- create-user --user NAME --role admin [--display-name "张三"]
//   npm run admin -- list-users
//   npm run admin -- set-role --user NAME --role dispatcher
//   npm run admin -- disable --user NAME
//   npm run admin -- enable --user NAME
//   npm run admin -- reset-password --user NAME
//   npm run admin -- create-token --user NAME --name grafana [--expires-days 365] [--allow-admin]
//   npm run admin -- list-tokens
//   npm run admin -- revoke-token --id ID
//
// The password for create-user and reset-password comes from SEWER_ADMIN_PASSWORD, else is prompted twice (no echo) when
// stdin is a terminal, else is the first line of stdin:  printf '%s\n' "$PW" | npm run admin -- create-user …
// The database is DATABASE_URL (default sqlite:.data/sewer-dispatch.sqlite).
import { userInfo } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Value from 'typebox/value';
import { EnvSchema } from '../settings/env.js';
import { StoreError, isRole, openStore, roles, type AuditActor, type Store } from '../store/db.js';

const defaultDatabaseUrl = String((EnvSchema.properties.DATABASE_URL as { default?: unknown }).default);

const usage = `Usage: npm run admin -- <command> [options]

Commands:
  create-user  --user NAME --role ROLE [--display-name TEXT]
               password from $SEWER_ADMIN_PASSWORD, a no-echo prompt (terminal) or the first line of stdin
  list-users
  set-role     --user NAME --role ROLE
  disable      --user NAME                        ends their sessions
  enable       --user NAME                        enables again and clears a sign-in lockout
  reset-password --user NAME                      new password as for create-user; ends their sessions
  create-token --user NAME --name TOKEN_NAME [--expires-days N (default 365)] [--allow-admin]
               prints the token once; a token for an admin user only with --allow-admin
  list-tokens                                     id, user, name, created, expires, last used, revoked
  revoke-token --id ID                            (the id from list-tokens); the token stops working at once

Roles: ${roles.join(', ')}
Database: DATABASE_URL (default ${defaultDatabaseUrl})`;

class UsageError extends Error {}
/** A failure to report without the usage text. */
class CliError extends Error {}

export function databaseUrlFromEnv(env: Record<string, string | undefined> = process.env): string {
  const field = EnvSchema.properties.DATABASE_URL;
  const url = env['DATABASE_URL'] || defaultDatabaseUrl;
  if (!Value.Check(field, url)) throw new CliError(`DATABASE_URL must be sqlite:<file> or postgres://… (got ${JSON.stringify(url)})`);
  return url;
}

// Characters typed ahead of a prompt (e.g. both passwords at once) are kept for the next prompt.
let typedAhead = '';

/** Read a line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    process.stderr.write(prompt);
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const consume = (text: string) => {
      const chars = [...text];
      for (let i = 0; i < chars.length; i++) {
        const char = chars[i] as string;
        if (char === '\r' || char === '\n') {
          typedAhead = chars.slice(chars[i + 1] === '\n' && char === '\r' ? i + 2 : i + 1).join('');
          return finish();
        }
        if (char === '\u0003') return finish(new CliError('cancelled'));
        if (char === '\u0004') return value === '' ? finish(new CliError('cancelled')) : finish();
        if (char === '\u007f' || char === '\b') value = [...value].slice(0, -1).join('');
        else if (char >= ' ') value += char;
      }
    };
    const onData = (chunk: Buffer) => consume(chunk.toString('utf8'));
    stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    const pending = typedAhead;
    typedAhead = '';
    if (pending) consume(pending);
  });
}

async function readFirstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/)[0] ?? '';
}

async function readPassword(): Promise<string> {
  const fromEnv = process.env['SEWER_ADMIN_PASSWORD'];
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password (at least 12 characters): ');
    const second = await promptHidden('Repeat password: ');
    if (first !== second) throw new CliError('the passwords do not match');
    return first;
  }
  const line = await readFirstLineOfStdin();
  if (line === '') throw new CliError('no password: set SEWER_ADMIN_PASSWORD, run in a terminal, or pipe it on stdin');
  return line;
}

function required(value: string | undefined, option: string): string {
  if (!value) throw new UsageError(`missing --${option}`);
  return value;
}

function roleOption(value: string | undefined) {
  const role = required(value, 'role');
  if (!isRole(role)) throw new UsageError(`--role must be one of ${roles.join(', ')}`);
  return role;
}

const cliActor = () => {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {
    // no passwd entry (containers): keep "unknown"
  }
  return `cli:${name}`;
};

/** The CLI as the actor of a change: the store writes the change and its audit record together. */
const cli = (): AuditActor => ({ userName: cliActor(), role: null, ip: null });

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(usage);
    return command ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      user: { type: 'string' },
      role: { type: 'string' },
      'display-name': { type: 'string' },
      name: { type: 'string' },
      id: { type: 'string' },
      'expires-days': { type: 'string' },
      'allow-admin': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });

  const withStore = async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
    const store = await openStore(databaseUrlFromEnv());
    try {
      return await work(store);
    } finally {
      await store.close();
    }
  };

  switch (command) {
    case 'create-user': {
      const userName = required(values.user, 'user');
      const role = roleOption(values.role);
      const displayName = values['display-name'];
      const password = await readPassword();
      const user = await withStore((store) => store.users.create({ userName, role, password, ...(displayName === undefined ? {} : { displayName }) }, cli()));
      console.log(`created user ${user.userName} (${user.displayName}) with role ${user.role}`);
      return 0;
    }
    case 'list-users': {
      const users = await withStore((store) => store.users.list());
      if (users.length === 0) console.log('no users yet: npm run admin -- create-user --user NAME --role admin');
      for (const u of users) {
        console.log([u.userName, u.role, u.disabled ? 'disabled' : 'active', new Date(u.createdAtUtcMs).toISOString(), u.displayName].join('\t'));
      }
      return 0;
    }
    case 'set-role': {
      const userName = required(values.user, 'user');
      const role = roleOption(values.role);
      const user = await withStore((store) => store.users.setRole(userName, role, cli()));
      console.log(`${user.userName} now has role ${user.role}`);
      return 0;
    }
    case 'disable': {
      const userName = required(values.user, 'user');
      await withStore((store) => store.users.disable(userName, cli()));
      console.log(`disabled ${userName}; their sessions have ended`);
      return 0;
    }
    case 'enable': {
      const userName = required(values.user, 'user');
      const user = await withStore((store) => store.users.enable(userName, cli()));
      console.log(`enabled ${user.userName}; a sign-in lockout is cleared`);
      return 0;
    }
    case 'reset-password': {
      const userName = required(values.user, 'user');
      const password = await readPassword();
      const user = await withStore((store) => store.users.setPassword(userName, password, cli(), { action: 'user.password.reset' }));
      console.log(`new password set for ${user.userName}; their sessions have ended`);
      return 0;
    }
    case 'create-token': {
      const userName = required(values.user, 'user');
      const name = required(values.name, 'name');
      const days = values['expires-days'] === undefined ? 365 : Number(values['expires-days']);
      if (!Number.isInteger(days) || days < 1 || days > 3650) throw new UsageError('--expires-days must be a whole number of days, 1 to 3650');
      const issued = await withStore(async (store) => {
        const owner = await store.users.get(userName);
        if (!owner) throw new StoreError('not-found', `no user named ${userName}`);
        return store.apiTokens.create(owner.id, name, cli(), { ttlMs: days * 86_400_000, allowAdmin: values['allow-admin'] === true });
      });
      const expires = issued.expiresAtUtcMs === null ? 'never' : new Date(issued.expiresAtUtcMs).toISOString();
      console.error(`API token "${name}" (id ${issued.id}) for ${userName}, expires ${expires} (shown once; send as Authorization: Bearer <token>):`);
      console.log(issued.token);
      return 0;
    }
    case 'list-tokens': {
      const tokens = await withStore((store) => store.apiTokens.list());
      if (tokens.length === 0) console.log('no API tokens');
      const when = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString());
      for (const t of tokens) {
        const state = t.revokedAtUtcMs !== null ? `revoked ${when(t.revokedAtUtcMs)}` : t.expiresAtUtcMs !== null && t.expiresAtUtcMs <= Date.now() ? 'expired' : 'live';
        console.log([t.id, t.userName, t.role, t.name, `created ${when(t.createdAtUtcMs)}`, `expires ${t.expiresAtUtcMs === null ? 'never' : when(t.expiresAtUtcMs)}`, `last used ${when(t.lastUsedAtUtcMs)}`, state].join('\t'));
      }
      return 0;
    }
    case 'revoke-token': {
      const id = required(values.id, 'id');
      const revoked = await withStore((store) => store.apiTokens.revokeById(id, cli()));
      console.log(`revoked API token ${revoked.id} ("${revoked.name}" for ${revoked.userName})`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolvePath(process.argv[1])).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      if (error instanceof UsageError || (error instanceof TypeError && (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
        console.error(`error: ${error.message}\n\n${usage}`);
        process.exitCode = 2;
      } else if (error instanceof StoreError || error instanceof CliError) {
        console.error(`error: ${error.message}`);
        process.exitCode = 1;
      } else {
        console.error(error);
        process.exitCode = 1;
      }
    },
  );
}
