import { and, asc, desc, eq, ne, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { anyOf, anyOfIds, lookupMany, type Db } from '../db/client';
import { sortsBefore, literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { badInput, isUuid, notFound, requireUuid } from '../errors';
import type { RecordEnvelope } from '../exchange/envelope';
import { maskIdNumber } from '../people/identity';
import { actorColumns, type Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { requireNoticeTransition, type NoticeAction } from './lifecycle';
import { incomingNoticeEvents, incomingNotices, NOTICE_STATUSES, type NoticeStatus } from './tables';

export type IncomingNotice = typeof incomingNotices.$inferSelect;
export type IncomingNoticeEvent = typeof incomingNoticeEvents.$inferSelect;

async function appendNoticeEvent(tx: Db, caller: Caller, noticeId: string, action: string, fromStatus: NoticeStatus | null, toStatus: NoticeStatus): Promise<void> {
  await tx.insert(incomingNoticeEvents).values({ noticeId, action, fromStatus, toStatus, ...actorColumns(caller.actor) });
}

/** A partner's DEPARTURE arriving: the notice county administrators see (the record is stored by the inbox). */
export async function receiveDeparture(tx: Db, caller: Caller, record: RecordEnvelope<'DEPARTURE'>, subjectIdHmac: string): Promise<IncomingNotice> {
  authorize(caller.actor, 'notice.receive');
  const { body, subject } = record;
  const [notice] = await tx
    .insert(incomingNotices)
    .values({
      partnerCode: record.iss,
      departureRecordId: record.id,
      subjectIdHmac,
      subjectIdMasked: maskIdNumber(subject.idNumber),
      subjectName: subject.name,
      leftOn: body.leftOn,
      placeCountyCode: body.destination.countyCode,
      placeTown: body.destination.town ?? null,
      placeArea: body.destination.area ?? null,
      phone: body.phone ?? null,
      cadence: body.agreement.cadence,
      agreementValidTo: body.agreement.validTo,
    })
    .returning();
  await appendNoticeEvent(tx, caller, notice!.id, 'RECEIVE', null, 'OPEN');
  await appendAudit(tx, caller, { action: 'notice.receive', targetType: 'IncomingNotice', targetId: notice!.id, details: { partner: record.iss, recordId: record.id } });
  return notice!;
}

/** The notice a partner's later record about the same person belongs to: its latest one not closed. */
export async function openNoticeFor(tx: Db, partnerCode: string, subjectIdHmac: string): Promise<IncomingNotice | undefined> {
  const [row] = await tx
    .select()
    .from(incomingNotices)
    .where(and(eq(incomingNotices.partnerCode, partnerCode), eq(incomingNotices.subjectIdHmac, subjectIdHmac), ne(incomingNotices.status, 'CLOSED')))
    .orderBy(desc(incomingNotices.createdAt))
    .limit(1)
    .for('update');
  return row;
}

/**
 * Locks, in id order, the notices of a partner about these subjects that are not closed: a batch of the partner's
 * records takes them all first, so two batches naming the same residents in other orders do not deadlock.
 */
export async function lockOpenNotices(tx: Db, partnerCode: string, subjectIdHmacs: readonly string[]): Promise<Pick<IncomingNotice, 'id' | 'subjectIdHmac'>[]> {
  if (subjectIdHmacs.length === 0) return [];
  return tx
    .select({ id: incomingNotices.id, subjectIdHmac: incomingNotices.subjectIdHmac })
    .from(incomingNotices)
    .where(and(eq(incomingNotices.partnerCode, partnerCode), anyOf(incomingNotices.subjectIdHmac, subjectIdHmacs, 'text'), ne(incomingNotices.status, 'CLOSED')))
    .orderBy(incomingNotices.id)
    .for('update');
}

/** Locks a notice for a change by staff (county administrators). */
export async function lockNotice(tx: Db, caller: Caller, id: string): Promise<IncomingNotice> {
  authorize(caller.actor, 'notice.handle');
  const [row] = await tx.select().from(incomingNotices).where(eq(incomingNotices.id, requireUuid('noticeId', id))).for('update');
  if (!row) throw notFound('Incoming notice', id);
  return row;
}

/**
 * One action on a locked notice: the lifecycle must allow it (CONFLICT otherwise); the status and `set` are written
 * with a history row. The caller audits, last.
 */
export async function transitionNotice(tx: Db, caller: Caller, notice: IncomingNotice, action: NoticeAction, set: Partial<IncomingNotice> = {}): Promise<IncomingNotice> {
  const to = requireNoticeTransition(notice.status, action);
  const closing = to === 'CLOSED' && notice.status !== 'CLOSED';
  const [row] = await tx
    .update(incomingNotices)
    .set({ ...set, status: to, updatedAt: new Date(), ...(closing ? { closedAt: new Date() } : {}) })
    .where(eq(incomingNotices.id, notice.id))
    .returning();
  await appendNoticeEvent(tx, caller, notice.id, action, notice.status, to);
  return row!;
}

/** What a contact change (ours or the home county's) sets on a notice: only the fields given. */
export function noticeContactSet(c: { phone?: string | null; place?: { countyCode: string; town?: string | null; area?: string | null } | null; employer?: string | null }): Partial<IncomingNotice> {
  return {
    ...(c.phone ? { phone: c.phone } : {}),
    ...(c.place ? { placeCountyCode: c.place.countyCode, placeTown: c.place.town ?? null, placeArea: c.place.area ?? null } : {}),
    ...(c.employer ? { employer: c.employer } : {}),
  };
}

/** An administrator closes a notice that needs nothing more (the person never came, moved on...). */
export async function dismissNotice(deps: Deps, caller: Caller, id: string): Promise<IncomingNotice> {
  return deps.db.transaction(async (tx) => {
    const notice = await transitionNotice(tx, caller, await lockNotice(tx, caller, id), 'CLOSE', { closeReason: 'DISMISSED' });
    await appendAudit(tx, caller, { action: 'notice.close', targetType: 'IncomingNotice', targetId: notice.id, details: { reason: 'DISMISSED' } });
    return notice;
  });
}

// ---- reads ----

export async function getNotice(deps: Deps, caller: Caller, id: string): Promise<IncomingNotice> {
  authorize(caller.actor, 'notice.read');
  const [row] = await deps.db.select().from(incomingNotices).where(eq(incomingNotices.id, requireUuid('id', id)));
  if (!row) throw notFound('Incoming notice', id);
  return row;
}

export interface NoticeFilter {
  status?: NoticeStatus | null;
  partnerCountyCode?: string | null;
}

export type NoticeCursor = [string, string];
export const isNoticeCursor = (v: unknown): v is NoticeCursor =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && isUuid(v[1]);

/** Newest first, keyset-paginated by (createdAt, id). */
export async function listNotices(deps: Deps, caller: Caller, f: NoticeFilter, first: number, after?: NoticeCursor) {
  authorize(caller.actor, 'notice.read');
  const t = incomingNotices;
  const where: (SQL | undefined)[] = [];
  if (f.status) {
    if (!NOTICE_STATUSES.includes(f.status)) throw badInput('filter.status', 'unknown status');
    where.push(eq(t.status, f.status));
  }
  if (f.partnerCountyCode) where.push(eq(t.partnerCode, f.partnerCountyCode));
  if (after) where.push(sortsBefore([t.createdAt, t.id], [new Date(after[0]), after[1]]));
  const rows = await deps.db.select().from(t).where(and(...where)).orderBy(desc(t.createdAt), desc(t.id)).limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}

export function noticeHistory(db: Db, noticeIds: readonly string[]): Promise<IncomingNoticeEvent[]> {
  return lookupMany(db, 'notice_history', noticeIds, (d) =>
    d.select().from(incomingNoticeEvents).where(anyOfIds(incomingNoticeEvents.noticeId)).orderBy(asc(incomingNoticeEvents.id)).prepare('notice_history'),
  );
}

export function loadNotices(db: Db, ids: readonly string[]): Promise<IncomingNotice[]> {
  return lookupMany(db, 'notices_by_id', ids, (d) => d.select().from(incomingNotices).where(anyOfIds(incomingNotices.id)).prepare('notices_by_id'));
}

