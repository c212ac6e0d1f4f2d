// Users, sessions, API tokens and the searchable audit log: one relational store behind Kysely.
// SQLite file by default (`sqlite:<file>`), PostgreSQL in production (`postgres://…`). The schema is
// migrated on open from migrations defined in code (nothing is read from disk at run time).
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, resolve as resolvePath } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  Kysely,
  Migrator,
  PostgresDialect,
  SqliteDialect,
  sql,
  type Generated,
  type Insertable,
  type Migration,
  type MigrationProvider,
} from 'kysely';
import type { Role } from '../contract/index.js';

export const roles: readonly Role[] = ['viewer', 'dispatcher', 'supervisor', 'admin'];

/** Rank of a role: viewer < dispatcher < supervisor < admin. */
export function roleRank(role: Role): number {
  return roles.indexOf(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (roles as readonly string[]).includes(value);
}

export const minPasswordLength = 12;
export const maxPasswordLength = 1024;
const userNamePattern = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Consecutive failed sign-ins of an account before it is locked; each further failure doubles the lock. */
export const lockoutAfterFailures = 5;
export const lockoutBaseMs = 60_000;
export const lockoutMaxMs = 15 * 60_000;

/** Default idle limit of a login session: a tab nobody touched for an hour is signed out. */
export const defaultSessionIdleMs = 60 * 60_000;

/** API tokens expire by default after a year (an integration must be re-issued, not forgotten). */
export const defaultApiTokenTtlMs = 365 * 86_400_000;

// Passwords refused whatever their length: the usual first guesses of a password sprayer.
const commonPasswords = new Set(['password1234', 'password12345', 'passw0rd1234', '123456789012', '1234567890123', 'qwertyuiop12', 'qwertyuiop123', 'admin1234567', 'administrator', 'iloveyou1234', '1q2w3e4r5t6y', 'abc123456789', 'welcome12345', 'changeme1234']);

/** Why a password is refused for a user, or null when it is acceptable. Characters are code points, as JSON Schema counts them. */
export function passwordProblem(userName: string, password: unknown): string | null {
  if (typeof password !== 'string') return `password must be at least ${minPasswordLength} characters (it has 0)`;
  const length = [...password].length;
  if (length < minPasswordLength) return `password must be at least ${minPasswordLength} characters (it has ${length})`;
  if (length > maxPasswordLength) return `password must be at most ${maxPasswordLength} characters (it has ${length})`;
  if (/^\s*$/u.test(password)) return 'password must not be only spaces';
  const folded = password.normalize('NFKC').toLowerCase();
  if (folded.trim() === userName.toLowerCase()) return 'password must not be the user name';
  if (commonPasswords.has(folded)) return 'password is one of the most common passwords';
  return null;
}

/** The text the audit search matches: NFKC (full-width ＡＢ１ → ab1) and lower case, so an IME's input finds what was stored. */
export function searchFold(text: string): string {
  return text.normalize('NFKC').toLowerCase().replaceAll('\u0000', '\ufffd');
}

/** Keys and decoded values of an audit detail, so a comment with quotes or backslashes is found as typed. */
function detailTexts(value: unknown, into: string[] = []): string[] {
  if (value === null || value === undefined) return into;
  if (typeof value === 'string') into.push(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') into.push(String(value));
  else if (Array.isArray(value)) for (const item of value) detailTexts(item, into);
  else if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      into.push(key);
      detailTexts(item, into);
    }
  }
  return into;
}

function auditSearchText(userName: string, action: string, target: string | null, detail: unknown): string {
  return searchFold([userName, action, target ?? '', ...detailTexts(detail)].join('\n'));
}

/** PostgreSQL refuses U+0000 in text; both dialects store U+FFFD instead. */
const noNul = (text: string): string => text.replaceAll('\u0000', '\ufffd');

// ---------------------------------------------------------------------------------------------------
// Public types

/** The identity attached to an authenticated request. */
export interface AuthUser {
  id: number;
  userName: string;
  displayName: string;
  role: Role;
}

export interface User extends AuthUser {
  createdAtUtcMs: number;
  disabled: boolean;
}

export interface NewUser {
  userName: string;
  displayName?: string;
  role: Role;
  password: string;
}

export interface IssuedSession {
  token: string;
  expiresAtUtcMs: number;
}

export interface IssuedApiToken {
  /** Public id (the first 16 hex digits of the token's SHA-256): how the token is listed and revoked. */
  id: string;
  token: string;
  name: string;
  userId: number;
  createdAtUtcMs: number;
  /** null: never expires (only with `expiresAtUtcMs: null` on create). */
  expiresAtUtcMs: number | null;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  userName: string;
  role: Role;
  createdAtUtcMs: number;
  expiresAtUtcMs: number | null;
  lastUsedAtUtcMs: number | null;
  revokedAtUtcMs: number | null;
}

export interface ApiTokenOptions {
  /** When the token stops working; null for never; default a year after issue. */
  expiresAtUtcMs?: number | null;
  /** Or: how long after issue it stops working (wins over expiresAtUtcMs). */
  ttlMs?: number;
  /** A token acting as an admin is refused unless this is true. */
  allowAdmin?: boolean;
}

/** The outcome of a sign-in attempt. */
export type LoginResult =
  | { ok: true; user: User }
  | { ok: false; reason: 'unknown-user' | 'disabled' | 'bad-password'; user: User | null; failures?: number; lockedUntilUtcMs?: number | null }
  | { ok: false; reason: 'locked'; user: User; lockedUntilUtcMs: number };

export interface AuditRecord {
  /** Who acted (for a failed login: the name that was tried; for the CLI: `cli:<os user>`). */
  userName: string;
  role?: Role | null;
  /** Dotted action name, e.g. `auth.login.ok`, `user.create`, `plan.approve`. */
  action: string;
  target?: string | null;
  /** Anything JSON-serialisable. */
  detail?: unknown;
  ip?: string | null;
}

export interface AuditEntry {
  id: number;
  atUtcMs: number;
  userName: string;
  role: Role | null;
  action: string;
  target: string | null;
  detail: unknown;
  ip: string | null;
}

export interface AuditQuery {
  /** Exact user name. */
  userName?: string;
  /** Exact action, or a dotted prefix: `auth.login` matches `auth.login.ok` and `auth.login.failed`. */
  action?: string;
  /** Exact target. */
  target?: string;
  /** Inclusive lower bound. */
  fromUtcMs?: number;
  /** Exclusive upper bound. */
  toUtcMs?: number;
  /** Case-insensitive substring of user name, action, target or detail. */
  text?: string;
  limit: number;
  offset: number;
}

/**
 * Who makes a change. Given to a store method that changes users or tokens, the change and its audit
 * record are written in one transaction: both or neither.
 */
export interface AuditActor {
  userName: string;
  role?: Role | null;
  ip?: string | null;
}

export type StoreErrorCode = 'duplicate' | 'weak-password' | 'invalid' | 'not-found' | 'wrong-password';

/** A rejected store operation with a message fit to show to the caller. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** The input field at fault (`userName`, `role`, `password`, `displayName`, `name`), when one is. */
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  users: {
    /** Throws StoreError 'duplicate' (name taken), 'weak-password' (< 12 characters) or 'invalid'. With `by`, audited as `user.create`. */
    create(input: NewUser, by?: AuditActor): Promise<User>;
    /** The user when the name exists, is enabled and the password matches; otherwise null. No lockout bookkeeping. */
    verifyPassword(userName: string, password: string): Promise<User | null>;
    /**
     * A sign-in: like verifyPassword, but counts consecutive failures of an existing account and locks it after
     * `lockoutAfterFailures` (1 min, doubling per further failure, at most 15 min); a locked account's password is
     * not checked. A success resets the count.
     */
    login(userName: string, password: string): Promise<LoginResult>;
    list(): Promise<User[]>;
    /** User names are unique regardless of case: `Wang` finds `wang`. */
    get(userName: string): Promise<User | null>;
    /**
     * Sets a new password (policy as create) and ends the user's sessions except `keepSessionToken`'s; clears a lockout.
     * Throws 'not-found', 'weak-password'. With `by`, audited as `action` (default `user.password.reset`) in the same transaction.
     */
    setPassword(userName: string, password: string, by?: AuditActor, options?: { keepSessionToken?: string; action?: string }): Promise<User>;
    /** Enables a disabled user and clears a lockout. Throws 'not-found'. With `by`, audited as `user.enable`. */
    enable(userName: string, by?: AuditActor): Promise<User>;
    /** Throws StoreError 'not-found'. With `by`, audited as `user.set-role` (from, to). */
    setRole(userName: string, role: Role, by?: AuditActor): Promise<User>;
    /** Marks the user disabled and ends their sessions. Throws StoreError 'not-found'. With `by`, audited as `user.disable`. */
    disable(userName: string, by?: AuditActor): Promise<User>;
  };
  sessions: {
    /**
     * A new opaque token (only its SHA-256 is stored). Throws StoreError 'not-found' for an unknown user. With `by`,
     * audited as `auth.login.ok` (target the session's user, detail its expiry): no session without its record.
     */
    create(userId: number, ttlMs: number, by?: AuditActor): Promise<IssuedSession>;
    /** The session's user, or null when unknown, expired, idle longer than `idleMs` (default 60 min), revoked or the user is disabled. */
    resolve(token: string, idleMs?: number): Promise<AuthUser | null>;
    /** True when a session was removed. With `by`, a removal is audited as `auth.logout` (target the session's user): both or neither. */
    revoke(token: string, by?: AuditActor): Promise<boolean>;
  };
  apiTokens: {
    /**
     * With `by`, audited as `token.create` (target the owner, detail the token's name, id, expiry and the owner's role).
     * Throws 'invalid' for a disabled owner, or an admin owner without `allowAdmin`.
     */
    create(userId: number, name: string, by?: AuditActor, options?: ApiTokenOptions): Promise<IssuedApiToken>;
    /** The token's user, or null when unknown, revoked, expired or the user is disabled. */
    resolve(token: string): Promise<AuthUser | null>;
    /** Every token issued, newest first (revoked and expired ones included, marked). */
    list(): Promise<ApiTokenInfo[]>;
    /** True when a live token was revoked. */
    revoke(token: string): Promise<boolean>;
    /** Revokes a live token by its id. Throws 'not-found' (no live token with that id). With `by`, audited as `token.revoke`. */
    revokeById(id: string, by?: AuditActor): Promise<ApiTokenInfo>;
  };
  audit: {
    record(entry: AuditRecord): Promise<void>;
    /** Newest first. */
    search(query: AuditQuery): Promise<AuditEntry[]>;
  };
  close(): Promise<void>;
}

export interface StoreOptions {
  /** Clock (UTC ms); tests may inject one. */
  now?: () => number;
  /** Tests only: migrate no further than this migration (to build the schema of an older release). */
  migrateTo?: string;
}

// ---------------------------------------------------------------------------------------------------
// Schema

interface UsersTable {
  id: Generated<number>;
  user_name: string;
  display_name: string;
  role: string;
  password_hash: string;
  created_at: number | string;
  disabled: number;
  failed_logins: Generated<number>;
  locked_until: number | string | null;
}

interface SessionsTable {
  token_hash: string;
  user_id: number;
  created_at: number | string;
  expires_at: number | string;
  last_seen_at: number | string;
}

interface ApiTokensTable {
  token_hash: string;
  user_id: number;
  name: string;
  created_at: number | string;
  revoked_at: number | string | null;
  expires_at: number | string | null;
  last_used_at: number | string | null;
}

interface AuditLogTable {
  id: Generated<number>;
  at_utc_ms: number | string;
  user_name: string;
  role: string | null;
  action: string;
  target: string | null;
  detail: string | null;
  ip: string | null;
  search_text: string | null;
}

interface Schema {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
}

type Dialect = Store['dialect'];

function migrations(dialect: Dialect): Record<string, Migration> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations are written against an untyped schema
  type Db = Kysely<any>;
  const idColumn = (db: Db, table: string) =>
    db.schema
      .createTable(table)
      .addColumn('id', 'integer', (c) => (dialect === 'postgres' ? c.generatedByDefaultAsIdentity().primaryKey() : c.primaryKey().autoIncrement()));
  return {
    '0001_auth_and_audit': {
      async up(db: Db) {
        await idColumn(db, 'users')
          .addColumn('user_name', 'varchar(64)', (c) => c.notNull().unique())
          .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
          .addColumn('role', 'varchar(20)', (c) => c.notNull())
          .addColumn('password_hash', 'varchar(300)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
          .execute();
        await db.schema
          .createTable('sessions')
          .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('expires_at', 'bigint', (c) => c.notNull())
          .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
          .execute();
        await db.schema.createIndex('sessions_user_id').on('sessions').column('user_id').execute();
        await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute();
        await db.schema
          .createTable('api_tokens')
          .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
          .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
          .addColumn('name', 'varchar(200)', (c) => c.notNull())
          .addColumn('created_at', 'bigint', (c) => c.notNull())
          .addColumn('revoked_at', 'bigint')
          .execute();
        await db.schema.createIndex('api_tokens_user_id').on('api_tokens').column('user_id').execute();
        await idColumn(db, 'audit_log')
          .addColumn('at_utc_ms', 'bigint', (c) => c.notNull())
          .addColumn('user_name', 'varchar(200)', (c) => c.notNull())
          .addColumn('role', 'varchar(20)')
          .addColumn('action', 'varchar(100)', (c) => c.notNull())
          .addColumn('target', 'varchar(500)')
          .addColumn('detail', 'text')
          .addColumn('ip', 'varchar(64)')
          .execute();
        await db.schema.createIndex('audit_log_at').on('audit_log').column('at_utc_ms').execute();
        await db.schema.createIndex('audit_log_user_at').on('audit_log').columns(['user_name', 'at_utc_ms']).execute();
        await db.schema.createIndex('audit_log_action_at').on('audit_log').columns(['action', 'at_utc_ms']).execute();
        await db.schema.createIndex('audit_log_target_at').on('audit_log').columns(['target', 'at_utc_ms']).execute();
      },
      async down(db: Db) {
        for (const table of ['audit_log', 'api_tokens', 'sessions', 'users']) await db.schema.dropTable(table).execute();
      },
    },
    // Case-insensitive user names, account lockout, token expiry and last use, the normalised audit search text.
    // Existing users, tokens and audit rows are kept; the search text of existing rows is computed here.
    '0002_security': {
      async up(db: Db) {
        const names = (await db.selectFrom('users').select('user_name').execute()) as { user_name: string }[];
        const byLower = new Map<string, string[]>();
        for (const { user_name } of names) byLower.set(user_name.toLowerCase(), [...(byLower.get(user_name.toLowerCase()) ?? []), user_name]);
        const clashes = [...byLower.values()].filter((list) => list.length > 1);
        if (clashes.length > 0) {
          throw new Error(`user names must be unique regardless of case; rename one of each before upgrading: ${clashes.map((list) => list.join(' / ')).join('; ')}`);
        }
        await db.schema.createIndex('users_user_name_lower').on('users').unique().expression(sql`lower(user_name)`).execute();
        await db.schema.alterTable('users').addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0)).execute();
        await db.schema.alterTable('users').addColumn('locked_until', 'bigint').execute();
        await db.schema.alterTable('api_tokens').addColumn('expires_at', 'bigint').execute();
        await db.schema.alterTable('api_tokens').addColumn('last_used_at', 'bigint').execute();
        await db.schema.alterTable('audit_log').addColumn('search_text', 'text').execute();
        let lastId = 0;
        for (;;) {
          const rows = (await db.selectFrom('audit_log').select(['id', 'user_name', 'action', 'target', 'detail']).where('id', '>', lastId).orderBy('id').limit(1000).execute()) as {
            id: number | string;
            user_name: string;
            action: string;
            target: string | null;
            detail: string | null;
          }[];
          if (rows.length === 0) break;
          for (const row of rows) {
            await db.updateTable('audit_log').set({ search_text: auditSearchText(row.user_name, row.action, row.target, parseDetail(row.detail)) }).where('id', '=', row.id).execute();
          }
          lastId = Number(rows[rows.length - 1]?.id);
        }
      },
      async down(db: Db) {
        await db.schema.dropIndex('users_user_name_lower').execute();
        for (const [table, column] of [['users', 'failed_logins'], ['users', 'locked_until'], ['api_tokens', 'expires_at'], ['api_tokens', 'last_used_at'], ['audit_log', 'search_text']] as const) {
          await db.schema.alterTable(table).dropColumn(column).execute();
        }
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Passwords and tokens

const scryptParams = { N: 2 ** 15, r: 8, p: 1, keyLength: 32, saltLength: 16 };

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const scryptMaxmem = (N: number, r: number, p: number) => 128 * N * r * (p + 1) + 1024 * 1024;

/** `scrypt$N$r$p$salt$hash` (salt and hash base64url). */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p, keyLength, saltLength } = scryptParams;
  const salt = randomBytes(saltLength);
  const key = await scryptAsync(password, salt, keyLength, { N, r, p, maxmem: scryptMaxmem(N, r, p) });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPasswordHash(password: string, encoded: string): Promise<boolean> {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((v) => Number.isInteger(v) && v > 0) || N > 2 ** 20 || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (expected.length === 0) return false;
  const actual = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: scryptMaxmem(N, r, p) });
  return timingSafeEqual(actual, expected);
}

// A hash to compare against when the user does not exist, so both failures take the same time.
let dummyHash: Promise<string> | undefined;

function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

// ---------------------------------------------------------------------------------------------------
// Opening

function openDialect(databaseUrl: string): { dialect: Dialect; kysely: Kysely<Schema> } {
  if (databaseUrl.startsWith('sqlite:')) {
    let file = databaseUrl.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2); // sqlite:///abs/path or sqlite://rel/path
    if (file === '') throw new StoreError('invalid', `DATABASE_URL ${databaseUrl}: no file name after sqlite:`);
    const memory = file === ':memory:';
    if (!memory) mkdirSync(dirname(resolvePath(file)), { recursive: true });
    const database = new Database(memory ? ':memory:' : file);
    if (!memory) database.pragma('journal_mode = WAL');
    database.pragma('foreign_keys = ON');
    database.pragma('busy_timeout = 5000');
    return { dialect: 'sqlite', kysely: new Kysely<Schema>({ dialect: new SqliteDialect({ database }) }) };
  }
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: 10 });
    return { dialect: 'postgres', kysely: new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }) };
  }
  throw new StoreError('invalid', 'DATABASE_URL must be sqlite:<file> or postgres://…');
}

const num = (value: number | string | bigint): number => Number(value);

type UserRow = Omit<UsersTable, 'id' | 'password_hash' | 'failed_logins' | 'locked_until'> & { id: number };

function toUser(row: UserRow): User {
  return {
    id: num(row.id),
    userName: row.user_name,
    displayName: row.display_name,
    role: row.role as Role,
    createdAtUtcMs: num(row.created_at),
    disabled: num(row.disabled) !== 0,
  };
}

const toAuthUser = (user: AuthUser): AuthUser => ({ id: user.id, userName: user.userName, displayName: user.displayName, role: user.role });

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** The audit_log row of a record, at a time; strings cut to their column's width. */
function auditRow({ userName, role, action, target, detail, ip }: AuditRecord, atUtcMs: number): Insertable<AuditLogTable> {
  const row = {
    at_utc_ms: atUtcMs,
    user_name: noNul(String(userName)).slice(0, 200),
    role: role ?? null,
    action: noNul(String(action)).slice(0, 100),
    target: target == null ? null : noNul(String(target)).slice(0, 500),
    // JSON.stringify writes U+0000 as the six characters \u0000: PostgreSQL accepts that.
    detail: detail === undefined ? null : (JSON.stringify(detail) ?? null),
    ip: ip == null ? null : noNul(String(ip)).slice(0, 64),
  };
  return { ...row, search_text: auditSearchText(row.user_name, row.action, row.target, detail) };
}

/** The audit record of a change made by `by`. */
const actorRecord = (by: AuditActor, action: string, target: string, detail?: unknown): AuditRecord => ({ userName: by.userName, role: by.role ?? null, action, target, detail, ip: by.ip ?? null });

/** A value as it is shown in a message: JSON, cut to 80 characters. */
const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
};

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Open the store and migrate its schema to the latest version. */
export async function openStore(databaseUrl: string, options: StoreOptions = {}): Promise<Store> {
  const now = options.now ?? Date.now;
  const { dialect, kysely: db } = openDialect(databaseUrl);

  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(dialect)) };
  const migrator = new Migrator({ db, provider });
  const { error } = options.migrateTo === undefined ? await migrator.migrateToLatest() : await migrator.migrateTo(options.migrateTo);
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed: ${error instanceof Error ? error.message : JSON.stringify(error)}`, { cause: error });
  }

  const userColumns = ['id', 'user_name', 'display_name', 'role', 'created_at', 'disabled'] as const;
  // User names compare without case (unique index on lower(user_name)); names are ASCII, so SQLite's lower() suffices.
  const nameIs = (userName: string) => sql<boolean>`lower(user_name) = ${noNul(String(userName)).toLowerCase()}`;
  const getUser = async (userName: string): Promise<User | null> => {
    const row = await db.selectFrom('users').select(userColumns).where(nameIs(userName)).executeTakeFirst();
    return row ? toUser(row) : null;
  };
  const lockMs = (failures: number) => Math.min(lockoutMaxMs, lockoutBaseMs * 2 ** Math.min(failures - lockoutAfterFailures, 20));

  const invalidRole = (role: unknown) => new StoreError('invalid', `role must be one of ${roles.join(', ')} (value: ${shown(role)})`, 'role');

  const users: Store['users'] = {
    async create({ userName, displayName, role, password }, by) {
      if (typeof userName !== 'string' || !userNamePattern.test(userName)) {
        throw new StoreError('invalid', `user name must be 1–64 characters: letters, digits, ".", "_", "@", "-", starting with a letter or digit (value: ${shown(userName)})`, 'userName');
      }
      if (!isRole(role)) throw invalidRole(role);
      const display = (typeof displayName === 'string' ? displayName.trim() : '') || userName;
      if ([...display].length > 200) throw new StoreError('invalid', `display name must be at most 200 characters (it has ${[...display].length})`, 'displayName');
      const weak = passwordProblem(userName, password);
      if (weak) throw new StoreError('weak-password', weak, 'password');
      const existing = await getUser(userName);
      if (existing) throw new StoreError('duplicate', existing.userName === userName ? `user ${userName} already exists` : `user ${existing.userName} already exists (user names are compared without case)`, 'userName');
      // Hashed before the transaction: scrypt takes a while and SQLite has one connection.
      const passwordHash = await hashPassword(password);
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('users')
            .values({ user_name: userName, display_name: display, role, password_hash: passwordHash, created_at: now(), disabled: 0 })
            .returning(userColumns)
            .executeTakeFirstOrThrow();
          const user = toUser(row);
          if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'user.create', user.userName, { role: user.role, displayName: user.displayName }), now())).execute();
          return user;
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new StoreError('duplicate', `user ${userName} already exists`, 'userName');
        throw error;
      }
    },

    async verifyPassword(userName, password) {
      if (typeof password !== 'string' || [...password].length > maxPasswordLength) return null;
      const row =
        typeof userName === 'string'
          ? await db.selectFrom('users').select([...userColumns, 'password_hash']).where(nameIs(userName)).executeTakeFirst()
          : undefined;
      if (!row) {
        dummyHash ??= hashPassword(newToken());
        await verifyPasswordHash(password, await dummyHash);
        return null;
      }
      const ok = await verifyPasswordHash(password, row.password_hash);
      const user = toUser(row);
      return ok && !user.disabled ? user : null;
    },

    async login(userName, password) {
      const row =
        typeof userName === 'string'
          ? await db.selectFrom('users').select([...userColumns, 'password_hash', 'failed_logins', 'locked_until']).where(nameIs(userName)).executeTakeFirst()
          : undefined;
      const at = now();
      if (!row || typeof password !== 'string' || [...password].length > maxPasswordLength) {
        dummyHash ??= hashPassword(newToken());
        await verifyPasswordHash(typeof password === 'string' ? password.slice(0, maxPasswordLength) : '', await dummyHash);
        return { ok: false, reason: row ? 'bad-password' : 'unknown-user', user: row ? toUser(row) : null };
      }
      const user = toUser(row);
      const lockedUntil = row.locked_until === null ? null : num(row.locked_until);
      if (lockedUntil !== null && lockedUntil > at) return { ok: false, reason: 'locked', user, lockedUntilUtcMs: lockedUntil };
      const ok = await verifyPasswordHash(password, row.password_hash);
      if (ok && !user.disabled) {
        if (num(row.failed_logins) !== 0 || lockedUntil !== null) await db.updateTable('users').set({ failed_logins: 0, locked_until: null }).where('id', '=', row.id).execute();
        return { ok: true, user };
      }
      if (user.disabled) return { ok: false, reason: 'disabled', user };
      // Counted in SQL, so parallel guesses cannot lose an increment.
      const counted = await db
        .updateTable('users')
        .set({ failed_logins: sql<number>`failed_logins + 1` })
        .where('id', '=', row.id)
        .returning('failed_logins')
        .executeTakeFirstOrThrow();
      const failures = num(counted.failed_logins);
      const lockedUntilUtcMs = failures >= lockoutAfterFailures ? at + lockMs(failures) : null;
      if (lockedUntilUtcMs !== null) await db.updateTable('users').set({ locked_until: lockedUntilUtcMs }).where('id', '=', row.id).execute();
      return { ok: false, reason: 'bad-password', user, failures, lockedUntilUtcMs };
    },

    async list() {
      const rows = await db.selectFrom('users').select(userColumns).orderBy('user_name').execute();
      return rows.map(toUser);
    },

    get: getUser,

    async setPassword(userName, password, by, options = {}) {
      const user = await getUser(userName);
      if (!user) throw new StoreError('not-found', `no user named ${userName}`);
      const weak = passwordProblem(user.userName, password);
      if (weak) throw new StoreError('weak-password', weak, 'password');
      const passwordHash = await hashPassword(password);
      return db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ password_hash: passwordHash, failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
        let ended = trx.deleteFrom('sessions').where('user_id', '=', user.id);
        if (options.keepSessionToken) ended = ended.where('token_hash', '<>', tokenHash(options.keepSessionToken));
        const result = await ended.executeTakeFirst();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, options.action ?? 'user.password.reset', user.userName, { sessionsEnded: Number(result.numDeletedRows) }), now())).execute();
        return user;
      });
    },

    async enable(userName, by) {
      return db.transaction().execute(async (trx) => {
        const user = await trx.selectFrom('users').select(userColumns).where(nameIs(userName)).executeTakeFirst();
        if (!user) throw new StoreError('not-found', `no user named ${userName}`);
        await trx.updateTable('users').set({ disabled: 0, failed_logins: 0, locked_until: null }).where('id', '=', user.id).execute();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'user.enable', user.user_name, { wasDisabled: num(user.disabled) !== 0 }), now())).execute();
        return toUser({ ...user, disabled: 0 });
      });
    },

    async setRole(userName, role, by) {
      if (!isRole(role)) throw invalidRole(role);
      return db.transaction().execute(async (trx) => {
        const before = await trx.selectFrom('users').select(userColumns).where(nameIs(userName)).executeTakeFirst();
        if (!before) throw new StoreError('not-found', `no user named ${userName}`);
        await trx.updateTable('users').set({ role }).where('id', '=', before.id).execute();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'user.set-role', before.user_name, { from: before.role, to: role }), now())).execute();
        return toUser({ ...before, role });
      });
    },

    async disable(userName, by) {
      return db.transaction().execute(async (trx) => {
        const user = await trx.selectFrom('users').select(userColumns).where(nameIs(userName)).executeTakeFirst();
        if (!user) throw new StoreError('not-found', `no user named ${userName}`);
        await trx.updateTable('users').set({ disabled: 1 }).where('id', '=', user.id).execute();
        await trx.deleteFrom('sessions').where('user_id', '=', user.id).execute();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'user.disable', user.user_name), now())).execute();
        return toUser({ ...user, disabled: 1 });
      });
    },
  };

  const sessions: Store['sessions'] = {
    async create(userId, ttlMs, by) {
      if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new StoreError('invalid', `session lifetime must be positive (value: ${shown(ttlMs)})`);
      const token = newToken();
      const at = now();
      const expiresAtUtcMs = at + Math.round(ttlMs);
      // The session and its audit record are written together, or neither is: a token never handed out
      // (the login answered 500) must not stay behind as a live session.
      return db.transaction().execute(async (trx) => {
        const owner = await trx.selectFrom('users').select(['id', 'user_name']).where('id', '=', userId).executeTakeFirst();
        if (!owner) throw new StoreError('not-found', `no user with id ${userId}`);
        await trx.deleteFrom('sessions').where('expires_at', '<=', at).execute();
        await trx
          .insertInto('sessions')
          .values({ token_hash: tokenHash(token), user_id: userId, created_at: at, expires_at: expiresAtUtcMs, last_seen_at: at })
          .execute();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'auth.login.ok', owner.user_name, { expiresAtUtcMs }), at)).execute();
        return { token, expiresAtUtcMs };
      });
    },

    async resolve(token, idleMs = defaultSessionIdleMs) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 256) return null;
      const at = now();
      const hash = tokenHash(token);
      const row = await db
        .selectFrom('sessions')
        .innerJoin('users', 'users.id', 'sessions.user_id')
        .select(['users.id', 'users.user_name', 'users.display_name', 'users.role', 'users.created_at', 'users.disabled', 'sessions.last_seen_at'])
        .where('sessions.token_hash', '=', hash)
        .where('sessions.expires_at', '>', at)
        .executeTakeFirst();
      if (!row) return null;
      const user = toUser(row);
      if (user.disabled) return null;
      // Idle too long (a control-room tab left open by the previous shift): the session ends. last_seen_at is
      // written at most once a minute, so the limit holds to within a minute.
      if (at - num(row.last_seen_at) > idleMs) {
        await db.deleteFrom('sessions').where('token_hash', '=', hash).execute();
        return null;
      }
      if (at - num(row.last_seen_at) >= 60_000) {
        await db.updateTable('sessions').set({ last_seen_at: at }).where('token_hash', '=', hash).execute();
      }
      return toAuthUser(user);
    },

    async revoke(token, by) {
      if (typeof token !== 'string' || token.length === 0) return false;
      const hash = tokenHash(token);
      // The removal and its audit record together: a logout answered with an error leaves the session as it was.
      return db.transaction().execute(async (trx) => {
        const owner = await trx
          .selectFrom('sessions')
          .innerJoin('users', 'users.id', 'sessions.user_id')
          .select(['users.user_name'])
          .where('sessions.token_hash', '=', hash)
          .executeTakeFirst();
        const result = await trx.deleteFrom('sessions').where('token_hash', '=', hash).executeTakeFirst();
        const revoked = Number(result.numDeletedRows) > 0;
        if (revoked && by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'auth.logout', owner?.user_name ?? by.userName), now())).execute();
        return revoked;
      });
    },
  };

  const tokenId = (hash: string) => hash.slice(0, 16);
  const tokenColumns = ['api_tokens.token_hash', 'api_tokens.name', 'api_tokens.created_at', 'api_tokens.expires_at', 'api_tokens.last_used_at', 'api_tokens.revoked_at', 'users.user_name', 'users.role'] as const;
  const toTokenInfo = (row: { token_hash: string; name: string; created_at: number | string; expires_at: number | string | null; last_used_at: number | string | null; revoked_at: number | string | null; user_name: string; role: string }): ApiTokenInfo => ({
    id: tokenId(row.token_hash),
    name: row.name,
    userName: row.user_name,
    role: row.role as Role,
    createdAtUtcMs: num(row.created_at),
    expiresAtUtcMs: row.expires_at === null ? null : num(row.expires_at),
    lastUsedAtUtcMs: row.last_used_at === null ? null : num(row.last_used_at),
    revokedAtUtcMs: row.revoked_at === null ? null : num(row.revoked_at),
  });

  const apiTokens: Store['apiTokens'] = {
    async create(userId, name, by, options = {}) {
      const trimmed = typeof name === 'string' ? name.trim() : '';
      if (trimmed.length === 0 || [...trimmed].length > 200) throw new StoreError('invalid', `token name must be 1–200 characters (value: ${shown(name)})`, 'name');
      return db.transaction().execute(async (trx) => {
        const owner = await trx.selectFrom('users').select(['id', 'user_name', 'role', 'disabled']).where('id', '=', userId).executeTakeFirst();
        if (!owner) throw new StoreError('not-found', `no user with id ${userId}`);
        if (num(owner.disabled) !== 0) throw new StoreError('invalid', `cannot issue a token for a disabled user (${owner.user_name})`);
        // A leaked admin token can create users and tokens: only when asked for in so many words.
        if (owner.role === 'admin' && options.allowAdmin !== true) {
          throw new StoreError('invalid', `${owner.user_name} is an admin: issue the token for a service user of a lower role, or set allowAdmin to issue an admin token`, 'userName');
        }
        const token = newToken();
        const hash = tokenHash(token);
        const createdAtUtcMs = now();
        const expiresAtUtcMs = options.ttlMs !== undefined ? createdAtUtcMs + options.ttlMs : options.expiresAtUtcMs === undefined ? createdAtUtcMs + defaultApiTokenTtlMs : options.expiresAtUtcMs;
        if (expiresAtUtcMs !== null && !(Number.isFinite(expiresAtUtcMs) && expiresAtUtcMs > createdAtUtcMs)) {
          throw new StoreError('invalid', `token expiry must be in the future (value: ${shown(expiresAtUtcMs)})`, 'expiresInDays');
        }
        await trx
          .insertInto('api_tokens')
          .values({ token_hash: hash, user_id: userId, name: trimmed, created_at: createdAtUtcMs, revoked_at: null, expires_at: expiresAtUtcMs, last_used_at: null })
          .execute();
        if (by) {
          const detail = { name: trimmed, id: tokenId(hash), role: owner.role, expiresAtUtcMs };
          await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'token.create', owner.user_name, detail), createdAtUtcMs)).execute();
        }
        return { id: tokenId(hash), token, name: trimmed, userId, createdAtUtcMs, expiresAtUtcMs };
      });
    },

    async resolve(token) {
      if (typeof token !== 'string' || token.length === 0 || token.length > 256) return null;
      const at = now();
      const hash = tokenHash(token);
      const row = await db
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.id', 'api_tokens.user_id')
        .select(['users.id', 'users.user_name', 'users.display_name', 'users.role', 'users.created_at', 'users.disabled', 'api_tokens.expires_at', 'api_tokens.last_used_at'])
        .where('api_tokens.token_hash', '=', hash)
        .where('api_tokens.revoked_at', 'is', null)
        .executeTakeFirst();
      if (!row) return null;
      if (row.expires_at !== null && num(row.expires_at) <= at) return null;
      const user = toUser(row);
      if (user.disabled) return null;
      // Last use, for the token list (at most one write a minute per token).
      if (row.last_used_at === null || at - num(row.last_used_at) >= 60_000) {
        await db.updateTable('api_tokens').set({ last_used_at: at }).where('token_hash', '=', hash).execute();
      }
      return toAuthUser(user);
    },

    async list() {
      const rows = await db.selectFrom('api_tokens').innerJoin('users', 'users.id', 'api_tokens.user_id').select(tokenColumns).orderBy('api_tokens.created_at', 'desc').execute();
      return rows.map(toTokenInfo);
    },

    async revoke(token) {
      if (typeof token !== 'string' || token.length === 0) return false;
      const result = await db
        .updateTable('api_tokens')
        .set({ revoked_at: now() })
        .where('token_hash', '=', tokenHash(token))
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async revokeById(id, by) {
      if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) throw new StoreError('not-found', `no API token with id ${shown(id)} (an id is 16 hex digits, as GET /api/tokens lists it)`);
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('api_tokens')
          .innerJoin('users', 'users.id', 'api_tokens.user_id')
          .select(tokenColumns)
          .where('api_tokens.token_hash', 'like', `${id}%`)
          .where('api_tokens.revoked_at', 'is', null)
          .executeTakeFirst();
        if (!row) throw new StoreError('not-found', `no live API token with id ${id}`);
        const at = now();
        await trx.updateTable('api_tokens').set({ revoked_at: at }).where('token_hash', '=', row.token_hash).execute();
        if (by) await trx.insertInto('audit_log').values(auditRow(actorRecord(by, 'token.revoke', row.user_name, { name: row.name, id }), at)).execute();
        return toTokenInfo({ ...row, revoked_at: at });
      });
    },
  };

  const audit: Store['audit'] = {
    async record(entry) {
      await db.insertInto('audit_log').values(auditRow(entry, now())).execute();
    },

    async search(query) {
      const limit = Math.min(Math.max(Math.trunc(query.limit) || 0, 1), 1000);
      const offset = Math.max(Math.trunc(query.offset) || 0, 0);
      let q = db.selectFrom('audit_log').selectAll();
      if (query.userName !== undefined) q = q.where('user_name', '=', noNul(query.userName));
      if (query.action !== undefined) {
        // Exact or a dotted prefix, case-sensitive on both dialects (LIKE folds ASCII case on SQLite only).
        const action = noNul(query.action);
        const prefix = `${action}.`;
        q = q.where((eb) => eb.or([eb('action', '=', action), eb(sql<string>`substr(action, 1, ${sql.lit([...prefix].length)})`, '=', prefix)]));
      }
      if (query.target !== undefined) q = q.where('target', '=', noNul(query.target));
      if (query.fromUtcMs !== undefined) q = q.where('at_utc_ms', '>=', query.fromUtcMs);
      if (query.toUtcMs !== undefined) q = q.where('at_utc_ms', '<', query.toUtcMs);
      if (query.text !== undefined && query.text !== '') {
        // Both sides folded by searchFold in JS: the same answer on SQLite and PostgreSQL, full-width input included.
        const pattern = `%${escapeLike(searchFold(query.text))}%`;
        q = q.where(sql<boolean>`search_text like ${pattern} escape '\\'`);
      }
      const rows = await q.orderBy('at_utc_ms', 'desc').orderBy('id', 'desc').limit(limit).offset(offset).execute();
      return rows.map((row) => ({
        id: num(row.id),
        atUtcMs: num(row.at_utc_ms),
        userName: row.user_name,
        role: isRole(row.role) ? row.role : null,
        action: row.action,
        target: row.target,
        detail: parseDetail(row.detail),
        ip: row.ip,
      }));
    },
  };

  let closed = false;
  return {
    dialect,
    users,
    sessions,
    apiTokens,
    audit,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

function parseDetail(detail: string | null): unknown {
  if (detail === null) return null;
  try {
    return JSON.parse(detail) as unknown;
  } catch {
    return detail;
  }
}
