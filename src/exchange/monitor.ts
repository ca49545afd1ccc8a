import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { rows, type Db } from '../db/client';
import { sortsBefore, literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { conflict, notFound, requireUuid } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { openRecord, type KeyLookup } from './envelope';
import { maskIdNumber } from '../people/identity';
import { inboundRecords, outboundRecords, type InboundState, type OutboundStatus } from './tables';

export type OutboundRow = typeof outboundRecords.$inferSelect;
export type InboundRow = typeof inboundRecords.$inferSelect;

export interface DeliveryStats {
  partnerCode: string;
  queued: number;
  delivered: number;
  failed: number;
  oldestQueuedAt: Date | null;
  lastError: string | null;
}

/** Outbox figures per partner, in one grouped query (a DataLoader batches the partners of a page). */
export async function deliveryStats(db: Db, partnerCodes: readonly string[]): Promise<DeliveryStats[]> {
  if (partnerCodes.length === 0) return [];
  const found = await rows<{ partner_code: string; queued: number; delivered: number; failed: number; oldest_queued_at: string | null; last_error: string | null }>(
    db,
    sql`select partner_code,
               (count(*) filter (where status = 'QUEUED'))::int as queued,
               (count(*) filter (where status = 'DELIVERED'))::int as delivered,
               (count(*) filter (where status = 'FAILED'))::int as failed,
               (min(created_at) filter (where status = 'QUEUED'))::text as oldest_queued_at,
               (array_agg(last_error order by last_attempt_at desc nulls last) filter (where last_error is not null and status <> 'DELIVERED'))[1] as last_error
        from exchange_outbound_records
        where partner_code in (${sql.join(partnerCodes.map((c) => sql`${c}`), sql`, `)})
        group by partner_code`,
  );
  const byCode = new Map(found.map((r) => [r.partner_code, r]));
  return partnerCodes.map((partnerCode) => {
    const r = byCode.get(partnerCode);
    return {
      partnerCode,
      queued: r?.queued ?? 0,
      delivered: r?.delivered ?? 0,
      failed: r?.failed ?? 0,
      oldestQueuedAt: r?.oldest_queued_at ? new Date(r.oldest_queued_at) : null,
      lastError: r?.last_error ?? null,
    };
  });
}

export interface RecordFilter {
  partnerCountyCode?: string | null;
  type?: string | null;
}

function page<R>(found: R[], first: number): { rows: R[]; hasMore: boolean } {
  return { rows: found.slice(0, first), hasMore: found.length > first };
}

/** Newest first, keyset-paginated by (createdAt, id). */
export async function listOutbound(
  deps: Deps,
  caller: Caller,
  filter: RecordFilter & { status?: OutboundStatus | null },
  first: number,
  after?: [string, string],
): Promise<{ rows: OutboundRow[]; hasMore: boolean }> {
  authorize(caller.actor, 'exchange.read');
  const t = outboundRecords;
  const where: (SQL | undefined)[] = [
    filter.partnerCountyCode ? eq(t.partnerCode, filter.partnerCountyCode) : undefined,
    filter.status ? eq(t.status, filter.status) : undefined,
    filter.type ? eq(t.type, filter.type as OutboundRow['type']) : undefined,
  ];
  if (after) where.push(sortsBefore([t.createdAt, t.id], [new Date(after[0]), after[1]]));
  return page(await deps.db.select().from(t).where(and(...where)).orderBy(desc(t.createdAt), desc(t.id)).limit(literalLimit(first + 1)), first);
}

/** Newest first, keyset-paginated by (receivedAt, issuer, id). */
export async function listInbound(
  deps: Deps,
  caller: Caller,
  filter: RecordFilter & { state?: InboundState | null },
  first: number,
  after?: [string, string, string],
): Promise<{ rows: InboundRow[]; hasMore: boolean }> {
  authorize(caller.actor, 'exchange.read');
  const t = inboundRecords;
  const where: (SQL | undefined)[] = [
    filter.partnerCountyCode ? eq(t.issuer, filter.partnerCountyCode) : undefined,
    filter.state ? eq(t.state, filter.state) : undefined,
    filter.type ? eq(t.type, filter.type as InboundRow['type']) : undefined,
  ];
  if (after) where.push(sortsBefore([t.receivedAt, t.issuer, t.id], [new Date(after[0]), after[1], after[2]]));
  return page(await deps.db.select().from(t).where(and(...where)).orderBy(desc(t.receivedAt), desc(t.issuer), desc(t.id)).limit(literalLimit(first + 1)), first);
}

/** Puts a FAILED record back in the queue, e.g. after the partner widened its agreement. */
export async function requeueOutbound(deps: Deps, caller: Caller, id: string): Promise<OutboundRow> {
  authorize(caller.actor, 'exchange.manage');
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.select().from(outboundRecords).where(eq(outboundRecords.id, requireUuid('id', id))).for('update');
    if (!row) throw notFound('Outbound record', id);
    if (row.status !== 'FAILED') throw conflict(`only FAILED records can be queued again; this one is ${row.status}`);
    const [updated] = await tx
      .update(outboundRecords)
      .set({ status: 'QUEUED', attempts: 0, nextAttemptAt: sql`now()`, lastError: null })
      .where(eq(outboundRecords.id, id))
      .returning();
    await appendAudit(tx, caller, { action: 'exchange.requeue', targetType: 'OutboundRecord', targetId: id, details: { partner: row.partnerCode, previousError: row.lastError } });
    return updated!;
  });
}

/**
 * The subject of a stored record as it was sent (the JWS is decrypted; its payload is not re-verified here); null
 * once the record was erased. For display and for answering the record (the reply names the same subject).
 */
export function storedSubject(deps: Deps, jwsEnc: string | null): { idNumber: string; name: string } | null {
  if (jwsEnc === null) return null;
  const payload = deps.secrets.decrypt(jwsEnc).split('.')[1] ?? '';
  const subject = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { subject?: { idNumber?: unknown; name?: unknown } }).subject;
  return typeof subject?.idNumber === 'string' && typeof subject.name === 'string' ? { idNumber: subject.idNumber, name: subject.name } : null;
}

/** The subject of a record a partner sent us, as it was sent; null once erased (or unknown). */
export async function storedInboundSubject(deps: Deps, issuer: string, id: string): Promise<{ idNumber: string; name: string } | null> {
  const [row] = await deps.db
    .select({ jwsEnc: inboundRecords.jwsEnc })
    .from(inboundRecords)
    .where(and(eq(inboundRecords.issuer, issuer), eq(inboundRecords.id, id)));
  return storedSubject(deps, row?.jwsEnc ?? null);
}

/** The masked ID number of a stored record's subject; null once erased. */
export function maskedSubjectOf(deps: Deps, jwsEnc: string | null): string | null {
  if (jwsEnc === null) return null;
  const idNumber = storedSubject(deps, jwsEnc)?.idNumber;
  return idNumber?.length === 18 ? maskIdNumber(idNumber) : '******************';
}

/**
 * Re-verifies a stored record now: its signature with any key its issuer ever had (withdrawn and retired ones
 * included: they signed it back then), and that it still says what the row says. For inbound records `keyOf`
 * gives the partner's historical keys (partnerHistoricalKeys, batched by a DataLoader). Null: erased, nothing to verify.
 */
export async function reverifyInbound(deps: Deps, row: Pick<InboundRow, 'issuer' | 'id' | 'jwsEnc'>, keyOf: KeyLookup): Promise<boolean | null> {
  if (row.jwsEnc === null) return null;
  const opened = await openRecord(deps.secrets.decrypt(row.jwsEnc), keyOf);
  return opened.ok && opened.record.id === row.id && opened.record.iss === row.issuer;
}

export async function reverifyOutbound(deps: Deps, row: Pick<OutboundRow, 'partnerCode' | 'id' | 'jwsEnc'>): Promise<boolean | null> {
  if (row.jwsEnc === null) return null;
  const opened = await openRecord(deps.secrets.decrypt(row.jwsEnc), (kid) => deps.keys.historicalKey('EXCHANGE', kid));
  return opened.ok && opened.record.id === row.id && opened.record.aud === row.partnerCode && opened.record.iss === deps.config.countyCode;
}
