import { and, eq, inArray, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { anyOf, type Db } from '../db/client';
import { inboundRecords, outboundRecords } from '../exchange/tables';
import type { ConsentKind } from '../people/tables';
import { people } from '../people/tables';
import type { Caller } from '../policy/actor';

/** Outbox rows not delivered yet: what withdrawing consent or erasure can still stop. */
const UNDELIVERED = ['QUEUED', 'FAILED'] as const;

/** Locks outbox rows in id order, the order every multi-row change of the outbox uses (no deadlock with the worker). */
async function lockOutbound(tx: Db, where: SQL | undefined): Promise<string[]> {
  const locked = await tx.select({ id: outboundRecords.id }).from(outboundRecords).where(where).orderBy(outboundRecords.id).for('update');
  return locked.map((r) => r.id);
}

/**
 * Withdrawing consent to sharing with a partner county (alone, or with the whole agreement) stops what is not yet
 * delivered to it about the person: queued and failed records are CANCELLED (never pushed, pulled or requeued).
 * New records are refused by the send paths (subjectForSending). Records the partner already received stay its
 * own under the agreement; a push in flight at that moment may still arrive.
 */
export async function cancelUndeliveredSharing(tx: Db, caller: Caller, personId: string, kind: ConsentKind, scope: string): Promise<void> {
  if (kind !== 'PARTNER_SHARING') return;
  const ids = await lockOutbound(
    tx,
    and(eq(outboundRecords.personId, personId), eq(outboundRecords.partnerCode, scope), inArray(outboundRecords.status, [...UNDELIVERED])),
  );
  if (ids.length === 0) return;
  await tx.update(outboundRecords).set({ status: 'CANCELLED', lastError: 'CONSENT_WITHDRAWN' }).where(inArray(outboundRecords.id, ids));
  await appendAudit(tx, caller, { action: 'exchange.cancel', targetType: 'Person', targetId: personId, details: { partner: scope, reason: 'CONSENT_WITHDRAWN', recordIds: ids } });
}

/**
 * Strips stored records: their content (the signed JWS) and subject hash go, `erased_at` is set, and undelivered
 * outbound ones are CANCELLED ('ERASED'). Ids, types, dates, states and the content hash stay: a partner re-sending
 * an erased record gets DUPLICATE and it is not stored again.
 */
export async function stripRecords(tx: Db, inbound: SQL | undefined, outbound: SQL | undefined): Promise<number> {
  const erased = { jwsEnc: null, subjectIdHmac: null, erasedAt: new Date() };
  const stripped = inbound ? await tx.update(inboundRecords).set(erased).where(and(inbound, isNull(inboundRecords.erasedAt))).returning({ id: inboundRecords.id }) : [];
  const ids = outbound ? await lockOutbound(tx, and(outbound, isNull(outboundRecords.erasedAt))) : [];
  if (ids.length === 0) return stripped.length;
  await tx
    .update(outboundRecords)
    .set({
      ...erased,
      status: sql`case when ${outboundRecords.status} in ('QUEUED', 'FAILED') then 'CANCELLED' else ${outboundRecords.status} end`,
      lastError: sql`case when ${outboundRecords.status} in ('QUEUED', 'FAILED') then 'ERASED' else ${outboundRecords.lastError} end`,
    })
    .where(inArray(outboundRecords.id, ids));
  return stripped.length + ids.length;
}

/**
 * Erasure (an onErasure step, run before the people rows lose their ID number hash): the stored records about
 * these people, both ways, are stripped, whether they were applied to the person or are still unmatched with
 * their ID number.
 */
export async function eraseExchangeRecords(tx: Db, personIds: string[]): Promise<void> {
  const hashes = (
    await tx
      .select({ h: people.idNumberHmac })
      .from(people)
      .where(and(anyOf(people.id, personIds), isNotNull(people.idNumberHmac)))
  ).map((r) => r.h!);
  const about = (t: typeof inboundRecords | typeof outboundRecords) =>
    or(anyOf(t.personId, personIds), hashes.length ? anyOf(t.subjectIdHmac, hashes, 'text') : undefined);
  await stripRecords(tx, about(inboundRecords), about(outboundRecords));
}
