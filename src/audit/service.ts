import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import type { Actor, Caller } from '../policy/actor';
import { GENESIS_HASH, entryHash } from './chain';
import { auditLog } from './tables';

export type Outcome = 'SUCCESS' | 'DENIED' | 'FAILURE';

export interface AuditEvent {
  action: string;
  targetType?: string;
  targetId?: string;
  outcome?: Outcome;
  /** Ids and reasons only: never names, ID numbers or phones. */
  details?: Record<string, unknown>;
}

// Any constant works; it only has to be the same everywhere so chained inserts take turns.
const CHAIN_LOCK_KEY = 7_301_324;

export function actorColumns(actor: Actor): { actorType: 'USER' | 'PARTNER' | 'SYSTEM' | 'PUBLIC'; actorId: string | null; actorRole: string | null } {
  switch (actor.kind) {
    case 'user':
      return { actorType: 'USER', actorId: actor.userId, actorRole: actor.role };
    case 'partner':
      return { actorType: 'PARTNER', actorId: actor.countyCode, actorRole: 'PARTNER_COUNTY' };
    case 'system':
      return { actorType: 'SYSTEM', actorId: actor.name, actorRole: null };
    case 'anonymous':
      return { actorType: 'PUBLIC', actorId: null, actorRole: null };
  }
}

/**
 * Appends one entry to the audit chain. Call it inside the transaction that makes the change, as its last
 * statement: it takes a transaction-scoped lock so the chain stays linear, and the lock is held until commit.
 */
export async function appendAudit(tx: Db, caller: Caller, event: AuditEvent): Promise<void> {
  await appendAuditMany(tx, caller, [event]);
}

export async function appendAuditMany(tx: Db, caller: Caller, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  let prevHash = last?.hash ?? GENESIS_HASH;
  const at = new Date();
  const values = events.map((event) => {
    const fields = {
      at,
      ...actorColumns(caller.actor),
      action: event.action,
      targetType: event.targetType ?? null,
      targetId: event.targetId ?? null,
      outcome: event.outcome ?? 'SUCCESS',
      ip: caller.ip ?? null,
      requestId: caller.requestId ?? null,
      details: event.details ?? null,
      prevHash,
    };
    const hash = entryHash(fields);
    prevHash = hash;
    return { ...fields, hash };
  });
  await tx.insert(auditLog).values(values);
}

/** For events outside any change (a refused request, a failed login): a transaction of its own. */
export async function auditStandalone(db: Db, caller: Caller, event: AuditEvent): Promise<void> {
  await db.transaction((tx) => appendAudit(tx, caller, event));
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  headId: number | null;
  headHash: string | null;
  brokenAtId?: number;
  reason?: string;
}

/** Recomputes every hash in id order; reports the first row whose content or link does not match. */
export async function verifyAuditChain(db: Db, pageSize = 2000): Promise<ChainReport> {
  let prev = GENESIS_HASH;
  let afterId = 0;
  let checked = 0;
  let headId: number | null = null;
  for (;;) {
    const page = await db.select().from(auditLog).where(gt(auditLog.id, afterId)).orderBy(asc(auditLog.id)).limit(pageSize);
    for (const row of page) {
      const base = { ok: false, checked, headId, headHash: headId === null ? null : prev, brokenAtId: row.id };
      if (row.prevHash !== prev) return { ...base, reason: 'link to the previous entry does not match (row removed or reordered)' };
      if (entryHash(row) !== row.hash) return { ...base, reason: 'content does not match its hash (row edited)' };
      prev = row.hash;
      headId = row.id;
      checked += 1;
    }
    if (page.length < pageSize) break;
    afterId = page[page.length - 1]!.id;
  }
  return { ok: true, checked, headId, headHash: headId === null ? null : prev };
}

export interface AuditFilter {
  actorId?: string | null;
  action?: string | null;
  targetType?: string | null;
  targetId?: string | null;
  outcome?: Outcome | null;
  from?: Date | null;
  to?: Date | null;
}

/** Newest first, keyset-paginated by id. */
export async function queryAudit(db: Db, filter: AuditFilter, first: number, beforeId?: number) {
  const where: SQL[] = [];
  if (filter.actorId) where.push(eq(auditLog.actorId, filter.actorId));
  if (filter.action) where.push(eq(auditLog.action, filter.action));
  if (filter.targetType) where.push(eq(auditLog.targetType, filter.targetType));
  if (filter.targetId) where.push(eq(auditLog.targetId, filter.targetId));
  if (filter.outcome) where.push(eq(auditLog.outcome, filter.outcome));
  if (filter.from) where.push(gte(auditLog.at, filter.from));
  if (filter.to) where.push(lte(auditLog.at, filter.to));
  if (beforeId !== undefined) where.push(lt(auditLog.id, beforeId));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.id))
    .limit(first + 1);
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}
export type AuditRow = typeof auditLog.$inferSelect;
