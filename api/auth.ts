// Authentication and authorisation: bearer tokens (login sessions or API tokens for integrations),
// role guards, user administration and the audit log search.
import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type {} from '@fastify/rate-limit';
import type {} from '@fastify/swagger';
import Type from 'typebox';
import type { Role } from '../contract/index.js';
import {
  StoreError,
  defaultSessionIdleMs,
  maxPasswordLength,
  minPasswordLength,
  roleRank,
  roles,
  type ApiTokenInfo,
  type AuditActor,
  type AuditRecord,
  type AuthUser,
  type Store,
  type User,
} from '../store/db.js';
import { errorBody } from './errors.js';
import { UtcMsParam, errorResponses } from './schemas.js';

export type { AuthUser } from '../store/db.js';

/**
 * A route hook that lets the request through only for an authenticated user of a sufficient role. Used as
 * `onRequest`, so an anonymous or under-privileged caller gets 401/403 before the body is parsed or validated.
 */
export type RoleGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (session or API token), or null. */
    user: AuthUser | null;
    /** How the user was authenticated: a login session or an API token. */
    authVia: 'session' | 'api-token' | null;
  }
  interface FastifyInstance {
    /** Route hook admitting `minimum` and every higher role (viewer < dispatcher < supervisor < admin). */
    requireRole(minimum: Role): RoleGuard;
  }
}

export interface AuthPluginOptions {
  store: Store;
  /** Lifetime of a login session; default 12 h (one control-room shift). */
  sessionTtlMs?: number;
  /** A session unused this long ends; default 60 min (SESSION_IDLE_MIN). */
  sessionIdleMs?: number;
}

export const defaultSessionTtlMs = 12 * 60 * 60 * 1000;

// ---------------------------------------------------------------------------------------------------
// Schemas

export const RoleSchema = Type.Enum(['viewer', 'dispatcher', 'supervisor', 'admin'] satisfies Role[], { description: 'viewer < dispatcher < supervisor < admin' });

export const AuthUserSchema = Type.Object({
  id: Type.Integer(),
  userName: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
});

export const UserSchema = Type.Object({
  id: Type.Integer(),
  userName: Type.String(),
  displayName: Type.String(),
  role: RoleSchema,
  createdAtUtcMs: Type.Integer(),
  disabled: Type.Boolean(),
});

const UserNameParam = Type.Object({ userName: Type.String({ minLength: 1, maxLength: 64 }) });

/** A new password: the length in the schema, the rest of the policy (store/db.ts passwordProblem) in its description. */
const NewPassword = () =>
  Type.String({
    minLength: minPasswordLength,
    maxLength: maxPasswordLength,
    description: `At least ${minPasswordLength} characters; not only spaces, not the user name, not one of the most common passwords`,
  });

const LoginBody = Type.Object(
  {
    userName: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: maxPasswordLength }),
  },
  { additionalProperties: false },
);

const LoginReply = Type.Object({
  token: Type.String({ description: 'Bearer token: send as `Authorization: Bearer <token>`' }),
  expiresAtUtcMs: Type.Integer(),
  user: AuthUserSchema,
});

const CreateUserBody = Type.Object(
  {
    userName: Type.String({ minLength: 1, maxLength: 64 }),
    displayName: Type.Optional(Type.String({ maxLength: 200 })),
    role: RoleSchema,
    password: NewPassword(),
  },
  { additionalProperties: false },
);

const SetPasswordBody = Type.Object({ password: NewPassword() }, { additionalProperties: false });

const ChangePasswordBody = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: maxPasswordLength }),
    newPassword: NewPassword(),
  },
  { additionalProperties: false },
);

const SetRoleBody = Type.Object({ role: RoleSchema }, { additionalProperties: false });

const CreateTokenBody = Type.Object(
  {
    userName: Type.String({ minLength: 1, maxLength: 64, description: 'The (service) user the token acts as' }),
    name: Type.String({ minLength: 1, maxLength: 200, description: 'What the token is for, e.g. "grafana"' }),
    expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'Days until the token stops working (default 365)' })),
    allowAdmin: Type.Optional(Type.Boolean({ description: 'Required (true) to issue a token acting as an admin user' })),
  },
  { additionalProperties: false },
);

const CreateTokenReply = Type.Object({
  id: Type.String({ description: 'Public id, for GET /api/tokens and DELETE /api/tokens/{id}' }),
  token: Type.String({ description: 'Shown once; only its hash is stored' }),
  name: Type.String(),
  userName: Type.String(),
  createdAtUtcMs: Type.Integer(),
  expiresAtUtcMs: Type.Union([Type.Integer(), Type.Null()]),
});

const NullableMs = Type.Union([Type.Integer(), Type.Null()]);
const TokenInfoSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  userName: Type.String(),
  role: RoleSchema,
  createdAtUtcMs: Type.Integer(),
  expiresAtUtcMs: NullableMs,
  lastUsedAtUtcMs: NullableMs,
  revokedAtUtcMs: NullableMs,
});
const TokenIdParam = Type.Object({ id: Type.String({ pattern: '^[0-9a-f]{16}$', description: '16 hex digits, as GET /api/tokens lists it' }) });

const AuditQuerystring = Type.Object(
  {
    userName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Exact action or dotted prefix (auth.login), case-sensitive' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    fromUtcMs: Type.Optional(UtcMsParam('Inclusive')),
    toUtcMs: Type.Optional(UtcMsParam('Exclusive')),
    text: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Substring of user, action, target or detail; case and full-width/half-width ignored' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  },
  // A misspelt filter (?user=li) is an error, not the whole log.
  { additionalProperties: false },
);

const AuditEntrySchema = Type.Object({
  id: Type.Integer(),
  atUtcMs: Type.Integer(),
  userName: Type.String(),
  role: Type.Union([RoleSchema, Type.Null()]),
  action: Type.String(),
  target: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Unknown(),
  ip: Type.Union([Type.String(), Type.Null()]),
});

const AuditReply = Type.Object({ entries: Type.Array(AuditEntrySchema), limit: Type.Integer(), offset: Type.Integer() });

const OkReply = Type.Object({ ok: Type.Boolean() });

const bearerSecurity = [{ bearer: [] }];

// ---------------------------------------------------------------------------------------------------
// Helpers

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+([A-Za-z0-9._~+/-]+=*)[ \t]*$/i.exec(header);
  return match?.[1] ?? null;
}

const sameName = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();

const tokenInfo = (t: ApiTokenInfo): ApiTokenInfo => ({ ...t });

/** The request's user as the actor of a change the store audits with it. */
const actor = (request: FastifyRequest): AuditActor => ({ userName: request.user?.userName ?? 'anonymous', role: request.user?.role ?? null, ip: request.ip });
const actorRecordOf = (request: FastifyRequest) => ({ userName: request.user?.userName ?? 'anonymous', role: request.user?.role ?? null, ip: request.ip });

/**
 * Audit an outcome that has already happened and cannot be undone with the audit record — a decision taken
 * by a Temporal Update, where no transaction spans the workflow and the database, or a decision refused. A
 * failing write is tried once more; if that fails too, the whole record goes to the error log and the caller
 * answers with the outcome all the same. Refusing the answer would tell the client the decision failed when
 * it stands (and invite a second one); the workflow's history holds the decision with its user either way.
 * A refusal (`*.refused`) likewise keeps its 403/409: a 500 would hide why the decision was not taken.
 * `stands` ends the log message: what the reader of the log can rely on.
 */
export async function recordOutcome(store: Store, log: FastifyBaseLogger, record: AuditRecord, stands = 'the outcome stands (see the workflow history)'): Promise<void> {
  try {
    await store.audit.record(record);
  } catch {
    try {
      await store.audit.record(record);
    } catch (error) {
      log.error({ err: error, audit: record }, `audit record lost: ${record.action} ${record.target ?? ''} by ${record.userName}; ${stands}`);
    }
  }
}

/** The end of a lost refusal record's log message (see recordOutcome): nothing was decided. */
export const refusalStands = 'the refusal stands (the caller was answered with it)';

function storeErrorReply(reply: FastifyReply, error: unknown) {
  if (!(error instanceof StoreError)) throw error;
  // Every field a store method takes from these routes comes from the body.
  const message = error.field ? `body/${error.field}: ${error.message}` : error.message;
  switch (error.code) {
    case 'duplicate':
      return reply.code(409).send(errorBody(409, message));
    case 'not-found':
      return reply.code(404).send(errorBody(404, message));
    case 'weak-password':
    case 'invalid':
    case 'wrong-password':
      return reply.code(400).send(errorBody(400, message));
  }
}

const publicUser = (user: AuthUser): AuthUser => ({ id: user.id, userName: user.userName, displayName: user.displayName, role: user.role });
const fullUser = (user: User): User => ({ ...publicUser(user), createdAtUtcMs: user.createdAtUtcMs, disabled: user.disabled });

// ---------------------------------------------------------------------------------------------------
// Plugin

/** A login's answer once an account is locked (429, both languages: the dispatcher reads it on the login page). */
const lockedMessage = (seconds: number) => `多次登录失败，账户已暂时锁定，请 ${seconds} 秒后再试 / too many failed sign-ins: this account is locked for ${seconds} s`;

const auth: FastifyPluginAsyncTypebox<AuthPluginOptions> = async (app, { store, sessionTtlMs = defaultSessionTtlMs, sessionIdleMs = defaultSessionIdleMs }) => {
  app.decorateRequest('user', null);
  app.decorateRequest('authVia', null);

  app.addHook('onRequest', async (request) => {
    request.user = null;
    request.authVia = null;
    const token = bearerToken(request);
    if (token === null) return;
    const viaSession = await store.sessions.resolve(token, sessionIdleMs);
    if (viaSession) {
      request.user = viaSession;
      request.authVia = 'session';
      return;
    }
    const viaToken = await store.apiTokens.resolve(token);
    if (viaToken) {
      request.user = viaToken;
      request.authVia = 'api-token';
    }
  });

  app.decorate('requireRole', (minimum: Role): RoleGuard => {
    if (!roles.includes(minimum)) throw new Error(`requireRole: unknown role ${String(minimum)}`);
    return async (request, reply) => {
      const user = request.user;
      if (!user) {
        const presented = request.headers.authorization !== undefined;
        return reply
          .code(401)
          .header('WWW-Authenticate', presented ? 'Bearer error="invalid_token"' : 'Bearer')
          .send(errorBody(401, presented ? 'invalid or expired credentials' : 'authentication required: Authorization: Bearer <token>'));
      }
      if (roleRank(user.role) < roleRank(minimum)) {
        // An attempt to change something without the role is worth a trace (a viewer trying to approve, or to
        // create an admin); reads are not (the console asks for pages a role cannot see).
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          const route = `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0] ?? ''}`;
          await recordOutcome(
            store,
            request.log,
            { userName: user.userName, role: user.role, action: 'access.forbidden', target: route, detail: { path: request.url.split('?')[0] ?? '', requires: minimum }, ip: request.ip },
            refusalStands,
          );
        }
        return reply.code(403).send(errorBody(403, `role ${user.role} is not allowed here; requires ${minimum} or higher`));
      }
    };
  });

  const signedIn = app.requireRole('viewer');
  const adminOnly = app.requireRole('admin');
  const supervisorUp = app.requireRole('supervisor');

  // Throttled sign-ins are audited once per limiter key and window, not once per refused request.
  const throttledAt = new Map<string, number>();
  const onLoginThrottled = (request: FastifyRequest, key: string) => {
    const at = Date.now();
    if ((throttledAt.get(key) ?? -Infinity) > at - 60_000) return;
    if (throttledAt.size > 10_000) for (const [k, t] of throttledAt) if (t <= at - 60_000) throttledAt.delete(k);
    throttledAt.set(key, at);
    const tried = (request.body as { userName?: unknown } | undefined)?.userName;
    const userName = typeof tried === 'string' ? tried : 'anonymous';
    void recordOutcome(store, request.log, { userName, role: null, action: 'auth.login.throttled', target: userName, detail: { limitPerMinute: 10 }, ip: request.ip }, refusalStands);
  };
  // Per client address and user name: one client mistyping does not lock out the others behind the same
  // proxy, and a guesser moving between names still meets the per-account lockout (store) and the global limit.
  const loginRateLimit = {
    max: 10,
    timeWindow: '1 minute',
    hook: 'preHandler' as const,
    keyGenerator: (request: FastifyRequest) => {
      const tried = (request.body as { userName?: unknown } | undefined)?.userName;
      return `login|${request.ip}|${typeof tried === 'string' ? tried.toLowerCase() : ''}`;
    },
    onExceeded: onLoginThrottled,
  };

  app.post(
    '/api/auth/login',
    {
      config: { rateLimit: loginRateLimit },
      schema: { tags: ['auth'], summary: 'Sign in; returns a bearer token', body: LoginBody, response: { 200: LoginReply, ...errorResponses } },
    },
    async (request, reply) => {
      const { userName, password } = request.body;
      const result = await store.users.login(userName, password);
      if (!result.ok) {
        const known = result.user;
        if (result.reason === 'locked') {
          const seconds = Math.max(1, Math.ceil((result.lockedUntilUtcMs - Date.now()) / 1000));
          const record = { userName, role: result.user.role, action: 'auth.login.locked', target: result.user.userName, detail: { lockedUntilUtcMs: result.lockedUntilUtcMs }, ip: request.ip };
          await recordOutcome(store, request.log, record, refusalStands);
          return reply.code(429).header('Retry-After', String(seconds)).send(errorBody(429, lockedMessage(seconds)));
        }
        const lock = result.reason === 'bad-password' && result.lockedUntilUtcMs ? { failures: result.failures, lockedUntilUtcMs: result.lockedUntilUtcMs } : {};
        const record = { userName, role: known?.role ?? null, action: 'auth.login.failed', target: known?.userName ?? userName, detail: { reason: result.reason, ...lock }, ip: request.ip };
        // The answer is 401 whatever happens to the record: a 500 would tell a guesser the audit log is down and
        // a dispatcher who mistyped that the server broke. A record that cannot be written is logged in full.
        try {
          await store.audit.record(record);
        } catch (error) {
          request.log.error({ err: error, auditRecord: record }, 'failed sign-in: audit record not written');
        }
        return reply.code(401).send(errorBody(401, 'invalid user name or password'));
      }
      const user = result.user;
      // The session and its auth.login.ok record are written together, or neither is (then a 500, no token).
      const session = await store.sessions.create(user.id, sessionTtlMs, { userName: user.userName, role: user.role, ip: request.ip });
      return { token: session.token, expiresAtUtcMs: session.expiresAtUtcMs, user: publicUser(user) };
    },
  );

  app.post(
    '/api/auth/logout',
    {
      onRequest: signedIn,
      schema: { tags: ['auth'], summary: 'End this session (an API token is not ended here: an admin revokes it)', security: bearerSecurity, response: { 200: OkReply, ...errorResponses } },
    },
    async (request, reply) => {
      if (request.authVia === 'api-token') {
        return reply.code(400).send(errorBody(400, 'an API token is not ended by logout: an admin revokes it (GET /api/tokens, DELETE /api/tokens/{id}, or npm run admin -- revoke-token)'));
      }
      const token = bearerToken(request);
      // The removal and its auth.logout record together: a 500 here leaves the session as it was.
      if (token !== null) await store.sessions.revoke(token, actor(request));
      return { ok: true };
    },
  );

  app.post(
    '/api/auth/password',
    {
      onRequest: signedIn,
      config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'Change your own password (current and new); your other sessions end',
        security: bearerSecurity,
        body: ChangePasswordBody,
        response: { 200: OkReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const user = request.user as AuthUser;
      if (request.authVia !== 'session') return reply.code(400).send(errorBody(400, 'an API token cannot change a password: sign in as the user'));
      // Checked as a sign-in: wrong guesses count towards the account's lockout.
      const check = await store.users.login(user.userName, request.body.currentPassword);
      if (!check.ok) {
        await recordOutcome(store, request.log, { ...actorRecordOf(request), action: 'auth.password.change.failed', target: user.userName, detail: { reason: check.reason } }, refusalStands);
        if (check.reason === 'locked') {
          const seconds = Math.max(1, Math.ceil((check.lockedUntilUtcMs - Date.now()) / 1000));
          return reply.code(429).header('Retry-After', String(seconds)).send(errorBody(429, lockedMessage(seconds)));
        }
        return reply.code(400).send(errorBody(400, 'body/currentPassword: is not your current password'));
      }
      try {
        await store.users.setPassword(user.userName, request.body.newPassword, actor(request), { keepSessionToken: bearerToken(request) ?? '', action: 'auth.password.change' });
      } catch (error) {
        if (error instanceof StoreError && error.field === 'password') return reply.code(400).send(errorBody(400, `body/newPassword: ${error.message}`));
        return storeErrorReply(reply, error);
      }
      return { ok: true };
    },
  );

  app.get(
    '/api/auth/me',
    { onRequest: signedIn, schema: { tags: ['auth'], summary: 'The signed-in user', security: bearerSecurity, response: { 200: AuthUserSchema, ...errorResponses } } },
    (request) => publicUser(request.user as AuthUser),
  );

  app.get(
    '/api/users',
    { onRequest: adminOnly, schema: { tags: ['users'], summary: 'All users (admin)', security: bearerSecurity, response: { 200: Type.Object({ users: Type.Array(UserSchema) }), ...errorResponses } } },
    async () => ({ users: (await store.users.list()).map(fullUser) }),
  );

  app.post(
    '/api/users',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: 'Create a user (admin); user names are unique regardless of case', security: bearerSecurity, body: CreateUserBody, response: { 201: UserSchema, ...errorResponses } },
    },
    async (request, reply) => {
      const { userName, displayName, role, password } = request.body;
      try {
        // The user and its audit record are written together, or neither is.
        const user = await store.users.create({ userName, role, password, ...(displayName === undefined ? {} : { displayName }) }, actor(request));
        return reply.code(201).send(fullUser(user));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.post(
    '/api/users/:userName/role',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: "Change a user's role (admin)", security: bearerSecurity, params: UserNameParam, body: SetRoleBody, response: { 200: UserSchema, ...errorResponses } },
    },
    async (request, reply) => {
      const { userName } = request.params;
      if (sameName(userName, request.user?.userName)) return reply.code(409).send(errorBody(409, 'you cannot change your own role'));
      try {
        return fullUser(await store.users.setRole(userName, request.body.role, actor(request)));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.post(
    '/api/users/:userName/disable',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: 'Disable a user and end their sessions (admin)', security: bearerSecurity, params: UserNameParam, response: { 200: UserSchema, ...errorResponses } },
    },
    async (request, reply) => {
      const { userName } = request.params;
      if (sameName(userName, request.user?.userName)) return reply.code(409).send(errorBody(409, 'you cannot disable yourself'));
      try {
        return fullUser(await store.users.disable(userName, actor(request)));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.post(
    '/api/users/:userName/enable',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: 'Enable a disabled or locked-out user again (admin)', security: bearerSecurity, params: UserNameParam, response: { 200: UserSchema, ...errorResponses } },
    },
    async (request, reply) => {
      try {
        return fullUser(await store.users.enable(request.params.userName, actor(request)));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.post(
    '/api/users/:userName/password',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['users'],
        summary: "Reset a user's password (admin); their sessions end",
        security: bearerSecurity,
        params: UserNameParam,
        body: SetPasswordBody,
        response: { 200: UserSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userName } = request.params;
      if (sameName(userName, request.user?.userName)) return reply.code(409).send(errorBody(409, 'change your own password with POST /api/auth/password (it asks for the current one)'));
      try {
        return fullUser(await store.users.setPassword(userName, request.body.password, actor(request), { action: 'user.password.reset' }));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.get(
    '/api/tokens',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: 'API tokens issued, newest first: owner, expiry, last use, revocation (admin); never the token itself', security: bearerSecurity, response: { 200: Type.Object({ tokens: Type.Array(TokenInfoSchema) }), ...errorResponses } },
    },
    async () => ({ tokens: (await store.apiTokens.list()).map(tokenInfo) }),
  );

  app.post(
    '/api/tokens',
    {
      onRequest: adminOnly,
      schema: {
        tags: ['users'],
        summary: 'Issue an API token for an integration (admin); it expires (default 365 days); an admin user only with allowAdmin',
        security: bearerSecurity,
        body: CreateTokenBody,
        response: { 201: CreateTokenReply, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { userName, name, expiresInDays = 365, allowAdmin = false } = request.body;
      try {
        const owner = await store.users.get(userName);
        if (!owner) return reply.code(404).send(errorBody(404, `no user named ${userName}`));
        const issued = await store.apiTokens.create(owner.id, name, actor(request), { ttlMs: expiresInDays * 86_400_000, allowAdmin });
        return reply.code(201).send({ id: issued.id, token: issued.token, name: issued.name, userName: owner.userName, createdAtUtcMs: issued.createdAtUtcMs, expiresAtUtcMs: issued.expiresAtUtcMs });
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.delete(
    '/api/tokens/:id',
    {
      onRequest: adminOnly,
      schema: { tags: ['users'], summary: 'Revoke an API token by its id (admin); it stops working at once', security: bearerSecurity, params: TokenIdParam, response: { 200: TokenInfoSchema, ...errorResponses } },
    },
    async (request, reply) => {
      try {
        return tokenInfo(await store.apiTokens.revokeById(request.params.id, actor(request)));
      } catch (error) {
        return storeErrorReply(reply, error);
      }
    },
  );

  app.get(
    '/api/audit',
    {
      onRequest: supervisorUp,
      schema: { tags: ['audit'], summary: 'Search the audit log, newest first (supervisor, admin)', security: bearerSecurity, querystring: AuditQuerystring, response: { 200: AuditReply, ...errorResponses } },
    },
    async (request, reply) => {
      const { limit, offset, ...filters } = request.query;
      // An empty range would answer "no entries", which reads as "nothing happened".
      if (filters.fromUtcMs !== undefined && filters.toUtcMs !== undefined && filters.fromUtcMs >= filters.toUtcMs) {
        return reply.code(400).send(errorBody(400, `querystring/fromUtcMs: must be before toUtcMs (value: ${filters.fromUtcMs}, toUtcMs: ${filters.toUtcMs})`));
      }
      const entries = await store.audit.search({ ...filters, limit, offset });
      return { entries, limit, offset };
    },
  );
};

export const authPlugin = fp(auth, { name: 'sewer-auth', fastify: '5.x' });
