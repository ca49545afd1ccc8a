import { AsyncLocalStorage } from 'node:async_hooks';
import { and, asc, desc, eq, gt, gte, lt, lte, sql, type SQL } from 'drizzle-orm';
import { insertRows } from '../db/bulk';
import type { Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import { ADVISORY_LOCK } from '../db/locks';
import { actorColumns, type Caller } from '../policy/actor';
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

/** An event and who caused it, waiting to be written. */
export interface PendingAudit {
  caller: Caller;
  event: AuditEvent;
}

const collecting = new AsyncLocalStorage<PendingAudit[]>();

/**
 * Appends one entry to the audit chain. Call it inside the transaction that makes the change, as its last
 * statement: it takes a transaction-scoped lock so the chain stays linear, and the lock is held until commit.
 * Inside `collectAudit` the entry is only collected, for the batch that runs it to write with all the others.
 */
export async function appendAudit(tx: Db, caller: Caller, event: AuditEvent): Promise<void> {
  await appendAuditMany(tx, caller, [event]);
}

export async function appendAuditMany(tx: Db, caller: Caller, events: AuditEvent[]): Promise<void> {
  const collected = collecting.getStore();
  if (collected) collected.push(...events.map((event) => ({ caller, event })));
  else await writeAudit(tx, events.map((event) => ({ caller, event })));
}

/**
 * Runs `fn` (a step of a batch, e.g. one inbound record in its savepoint) collecting the audit entries its services
 * append instead of writing them, so a batch takes the chain's lock once, at its end, rather than holding it from its
 * first record on. If `fn` throws, its entries are dropped with its changes.
 */
export async function collectAudit<T>(fn: () => Promise<T>): Promise<{ result: T; pending: PendingAudit[] }> {
  const pending: PendingAudit[] = [];
  const result = await collecting.run(pending, fn);
  return { result, pending };
}

/** Writes entries to the chain under its lock (the batch's last statement). */
export async function writeAudit(tx: Db, entries: PendingAudit[]): Promise<void> {
  if (entries.length === 0) return;
  await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCK.auditChain})`);
  const [last] = await tx.select({ hash: auditLog.hash }).from(auditLog).orderBy(desc(auditLog.id)).limit(1);
  let prevHash = last?.hash ?? GENESIS_HASH;
  const at = new Date();
  const values = entries.map(({ caller, event }) => {
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
  await insertRows(tx, auditLog, values);
}

/** For events outside any change (a refused request, a failed login): a transaction of its own. */
export async function auditStandalone(db: Db, caller: Caller, event: AuditEvent): Promise<void> {
  await db.transaction((tx) => writeAudit(tx, [{ caller, event }]));
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
    .limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}
export type AuditRow = typeof auditLog.$inferSelect;
