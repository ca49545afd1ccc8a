import { and, asc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appendAudit, auditStandalone } from '../audit/service';
import { prepared, rows, type Db } from '../db/client';
import type { Deps } from '../deps';
import { AppError, badInput, conflict, notFound, requireUuid, tooManyRequests, unauthenticated } from '../errors';
import { requireDivision } from '../jurisdiction/divisions';
import type { Actor, Caller, UserActor } from '../policy/actor';
import { authorize, authorizeUser } from '../policy/policy';
import { DUMMY_HASH_PROMISE, MIN_PASSWORD_LENGTH, hashPassword, verifyPassword } from './passwords';
import { loginThrottle, ROLES, users, type Role } from './tables';

export type User = typeof users.$inferSelect;

const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9._-]{3,40}$/, 'use 3-40 letters, digits, dot, dash or underscore');

export interface NewUserInput {
  username: string;
  displayName: string;
  password: string;
  role: Role;
  scope?: string | null;
}

function parseUsername(raw: string): string {
  const r = Username.safeParse(raw);
  if (!r.success) throw badInput('username', r.error.issues[0]!.message);
  return r.data;
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw badInput('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
}

/** Hook for scopes defined by later modules (associations); returns normally when the scope exists. */
export type ScopeCheck = (db: Db, role: Role, scope: string) => Promise<void>;
const scopeChecks: Partial<Record<Role, ScopeCheck>> = {};
export function registerScopeCheck(role: Role, check: ScopeCheck): void {
  scopeChecks[role] = check;
}

/** Normalises and checks the scope a role needs: none for admins, a town, a village, an association. */
async function checkScope(db: Db, role: Role, scope: string | null | undefined): Promise<string | null> {
  const s = scope?.trim() || null;
  if (role === 'COUNTY_ADMIN') {
    if (s) throw badInput('scope', 'a county administrator has no scope');
    return null;
  }
  if (!s) throw badInput('scope', `${role} needs a scope`);
  if (role === 'TOWN_SUPERVISOR') await requireDivision(db, 'scope', s, 'TOWN');
  else if (role === 'VILLAGE_OFFICIAL') await requireDivision(db, 'scope', s, 'VILLAGE');
  else {
    const check = scopeChecks[role];
    if (!check) throw badInput('scope', `${role} scopes cannot be checked yet`);
    await check(db, role, s);
  }
  return s;
}

/** Creates a user: a county admin, or the bootstrap command (system caller). */
export async function createUser(deps: Deps, caller: Caller, input: NewUserInput): Promise<User> {
  authorize(caller.actor, 'user.manage');
  const username = parseUsername(input.username);
  const displayName = input.displayName.trim();
  if (!displayName) throw badInput('displayName', 'must not be empty');
  if (!ROLES.includes(input.role)) throw badInput('role', 'unknown role');
  checkPassword(input.password);
  const passwordHash = await hashPassword(input.password);
  return deps.db.transaction(async (tx) => {
    const scope = await checkScope(tx, input.role, input.scope);
    const [row] = await tx
      .insert(users)
      .values({ username, displayName, passwordHash, role: input.role, scope })
      .onConflictDoNothing({ target: users.username })
      .returning();
    if (!row) throw conflict(`username ${username} is taken`, { field: 'username' });
    await appendAudit(tx, caller, { action: 'user.create', targetType: 'User', targetId: row.id, details: { role: row.role, scope } });
    return row;
  });
}

export interface UserChanges {
  displayName?: string | null;
  role?: Role | null;
  scope?: string | null;
  disabled?: boolean | null;
}

/** Disable/enable, re-scope or rename a user; any change of power invalidates their outstanding tokens. */
export async function updateUser(deps: Deps, caller: Caller, id: string, changes: UserChanges): Promise<User> {
  const admin = authorizeUser(caller.actor, 'user.manage');
  return deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(users).where(eq(users.id, requireUuid('id', id))).for('update');
    if (!current) throw notFound('User', id);
    if (changes.disabled && current.id === admin.userId) throw conflict('you cannot disable your own account');
    const role = changes.role ?? current.role;
    const scopeGiven = changes.scope !== undefined || changes.role != null;
    const scope = scopeGiven ? await checkScope(tx, role, changes.scope ?? null) : current.scope;
    const disabledAt = changes.disabled == null ? current.disabledAt : changes.disabled ? (current.disabledAt ?? new Date()) : null;
    const powerChanged = role !== current.role || scope !== current.scope || (disabledAt !== null) !== (current.disabledAt !== null);
    if (role !== current.role && current.role === 'COUNTY_ADMIN' && current.id === admin.userId) {
      throw conflict('you cannot remove your own administrator role');
    }
    const displayName = changes.displayName?.trim() || current.displayName;
    const [row] = await tx
      .update(users)
      .set({ displayName, role, scope, disabledAt, tokenVersion: powerChanged ? current.tokenVersion + 1 : current.tokenVersion })
      .where(eq(users.id, id))
      .returning();
    await appendAudit(tx, caller, {
      action: 'user.update',
      targetType: 'User',
      targetId: id,
      details: { role, scope, disabled: disabledAt !== null, tokensRevoked: powerChanged },
    });
    return row!;
  });
}

export async function changePassword(deps: Deps, caller: Caller, oldPassword: string, newPassword: string): Promise<void> {
  const me = authorizeUser(caller.actor, 'session.me');
  checkPassword(newPassword);
  const [current] = await deps.db.select().from(users).where(eq(users.id, me.userId));
  if (!current || !(await verifyPassword(oldPassword, current.passwordHash))) throw badInput('oldPassword', 'wrong password');
  const passwordHash = await hashPassword(newPassword);
  await deps.db.transaction(async (tx) => {
    await tx
      .update(users)
      .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, me.userId));
    await appendAudit(tx, caller, { action: 'user.changePassword', targetType: 'User', targetId: me.userId });
  });
}

/** Sets a password without the old one: the admin command line, for locked-out users. */
export async function resetPassword(deps: Deps, caller: Caller, username: string, newPassword: string): Promise<void> {
  authorize(caller.actor, 'user.manage');
  checkPassword(newPassword);
  const passwordHash = await hashPassword(newPassword);
  await deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(users)
      .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.username, parseUsername(username)))
      .returning({ id: users.id });
    if (!row) throw notFound('User');
    await tx.delete(loginThrottle).where(eq(loginThrottle.key, `user:${parseUsername(username)}`));
    await appendAudit(tx, caller, { action: 'user.resetPassword', targetType: 'User', targetId: row.id });
  });
}

export async function listUsers(deps: Deps, caller: Caller, filter: { role?: Role | null; scope?: string | null }): Promise<User[]> {
  authorize(caller.actor, 'user.read');
  const where = [];
  if (filter.role) where.push(eq(users.role, filter.role));
  if (filter.scope) where.push(eq(users.scope, filter.scope));
  return deps.db.select().from(users).where(and(...where)).orderBy(asc(users.username));
}

export async function getUser(deps: Deps, caller: Caller, id: string): Promise<User> {
  const me = caller.actor.kind === 'user' && caller.actor.userId === id;
  if (!me) authorize(caller.actor, 'user.read');
  const [row] = await deps.db.select().from(users).where(eq(users.id, requireUuid('id', id)));
  if (!row) throw notFound('User', id);
  return row;
}

// ---- login, with throttling shared across instances through the database ----

const IP_FAILURE_FACTOR = 10;

/**
 * Counts an attempt before the password is checked, in one statement, so parallel attempts from any number of
 * instances all count and none gets past the limit. Returns the seconds to wait when the key is locked.
 */
async function reserveAttempt(db: Db, key: string, limit: number, lockSeconds: number): Promise<number> {
  const [row] = await rows<{ failures: number; wait: number }>(
    db,
    sql`
    insert into login_throttle (key, failures, window_started_at, locked_until)
    values (${key}, 1, now(), case when ${limit} < 1 then now() + make_interval(secs => ${lockSeconds}) end)
    on conflict (key) do update set
      failures = case when login_throttle.window_started_at < now() - make_interval(secs => ${lockSeconds})
                      then 1 else login_throttle.failures + 1 end,
      window_started_at = case when login_throttle.window_started_at < now() - make_interval(secs => ${lockSeconds})
                      then now() else login_throttle.window_started_at end,
      locked_until = case
        when login_throttle.locked_until > now() then login_throttle.locked_until
        when login_throttle.window_started_at >= now() - make_interval(secs => ${lockSeconds})
             and login_throttle.failures + 1 > ${limit} then now() + make_interval(secs => ${lockSeconds})
        else null end
    returning failures, coalesce(ceil(extract(epoch from (locked_until - now()))), 0)::int as wait`,
  );
  return Math.max(0, row?.wait ?? 0);
}

/** A successful login gives back the attempt it reserved (and forgets the username's failures). */
async function releaseAttempts(db: Db, username: string, ip: string | undefined, lockSeconds: number): Promise<void> {
  await db.delete(loginThrottle).where(eq(loginThrottle.key, `user:${username}`));
  if (ip) await db.update(loginThrottle).set({ failures: sql`greatest(${loginThrottle.failures} - 1, 0)` }).where(eq(loginThrottle.key, `ip:${ip}`));
  // Old windows of names nobody uses again would otherwise pile up.
  await db.execute(sql`delete from login_throttle where key in (
    select key from login_throttle where window_started_at < now() - make_interval(secs => ${lockSeconds * 2})
      and (locked_until is null or locked_until < now()) limit 100)`);
}

export interface LoginResult {
  token: string;
  expiresAt: Date;
  user: User;
}

/**
 * Checks a password and issues an access token. Unknown user, wrong password and disabled account all answer
 * the same UNAUTHENTICATED error; the audit log keeps the real reason. Repeated failures lock the username
 * (and, more leniently, the address) for LOGIN_LOCK_SECONDS.
 */
export async function login(deps: Deps, caller: Caller, rawUsername: string, password: string): Promise<LoginResult> {
  const { loginMaxFailures: limit, loginLockSeconds: lockSeconds } = deps.config;
  const username = rawUsername.trim().toLowerCase();
  // Usernames typed at a login prompt are sometimes passwords: the audit keeps a keyed hash of an unknown one.
  const who = (user: User | undefined) => (user ? { targetType: 'User', targetId: user.id } : { details: { usernameHash: deps.secrets.hmac(`login:${username}`).slice(0, 16) } });
  const wait = Math.max(
    await reserveAttempt(deps.db, `user:${username}`, limit, lockSeconds),
    caller.ip ? await reserveAttempt(deps.db, `ip:${caller.ip}`, limit * IP_FAILURE_FACTOR, lockSeconds) : 0,
  );
  if (wait > 0) {
    const [known] = await deps.db.select().from(users).where(eq(users.username, username));
    await auditStandalone(deps.db, caller, { action: 'auth.login', outcome: 'DENIED', ...who(known), details: { reason: 'LOCKED', ...who(known).details } });
    throw tooManyRequests('Too many failed attempts; try again later', wait);
  }
  const [user] = await deps.db.select().from(users).where(eq(users.username, username));
  const ok = await verifyPassword(password, user?.passwordHash ?? (await DUMMY_HASH_PROMISE));
  const reason = !user ? 'UNKNOWN_USER' : !ok ? 'BAD_PASSWORD' : user.disabledAt ? 'DISABLED' : null;
  if (reason || !user) {
    await auditStandalone(deps.db, caller, { action: 'auth.login', outcome: 'FAILURE', ...who(user), details: { reason, ...who(user).details } });
    throw new AppError('UNAUTHENTICATED', 'Invalid username or password');
  }
  const issued = await deps.tokens.issue({ sub: user.id, role: user.role, scope: user.scope, ver: user.tokenVersion });
  await deps.db.transaction(async (tx) => {
    await releaseAttempts(tx, username, caller.ip, lockSeconds);
    await tx.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, user.id));
    const userCaller: Caller = { ...caller, actor: actorOf(user) };
    await appendAudit(tx, userCaller, { action: 'auth.login', targetType: 'User', targetId: user.id });
  });
  return { ...issued, user };
}

export function actorOf(user: Pick<User, 'id' | 'username' | 'role' | 'scope'>): UserActor {
  return { kind: 'user', userId: user.id, username: user.username, role: user.role, scope: user.scope };
}

/**
 * Turns a bearer token into an actor. The token must verify, and the user must still exist, be enabled and
 * carry the same token version (so disabling or re-scoping takes effect at once).
 */
export async function authenticate(deps: Deps, bearer: string | undefined): Promise<Actor> {
  if (!bearer) return { kind: 'anonymous' };
  const claims = await deps.tokens.verify(bearer);
  if (!claims) throw unauthenticated('Invalid or expired token');
  // Every request reads the account again (no cache: a disabled or re-scoped account is refused at once), so only
  // what is checked here.
  const byId = prepared(deps.db, 'auth.userById', (db) =>
    db
      .select({ id: users.id, username: users.username, role: users.role, scope: users.scope, disabledAt: users.disabledAt, tokenVersion: users.tokenVersion })
      .from(users)
      .where(eq(users.id, sql.placeholder('id')))
      .prepare('auth_user_by_id'),
  );
  const [user] = await byId.execute({ id: claims.sub });
  if (!user || user.disabledAt || user.tokenVersion !== claims.ver) throw unauthenticated('Invalid or expired token');
  return actorOf(user);
}
