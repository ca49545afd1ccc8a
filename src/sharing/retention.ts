import { and, eq, isNull, lte, or } from 'drizzle-orm';
import { servicesDelivered } from '../assistance/tables';
import { appendAudit } from '../audit/service';
import { anyOf } from '../db/client';
import type { Deps } from '../deps';
import { inboundRecords, outboundRecords } from '../exchange/tables';
import { eraseInquiries } from '../inquiries/service';
import { inquiries } from '../inquiries/tables';
import { incomingNotices } from '../notices/tables';
import { registryTransaction } from '../people/transaction';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { stripRecords } from './stop';

const DAY = 86_400_000;

/**
 * PIPL Art. 19 for what the exchange holds about people who are not our residents (erasure of our residents is
 * `erase-expired`, with its onErasure steps). After RETENTION_DAYS_AFTER_RETURN days:
 * - an incoming notice closed that long ago loses the person's name, masked number, hash, phone, employer, town
 *   and area; the records exchanged about them with that county (theirs and ours) are stripped, and the inquiries
 *   and services tied to the notice lose their texts;
 * - a record still UNMATCHED that long after it arrived (nobody linked it to a person) is stripped, with our reply
 *   to it and the texts of its inquiry.
 * Runs in batches, each one registry transaction (a lost race is retried once, then CONFLICT retryable); returns
 * how many notices and unmatched records were erased.
 */
export async function eraseExpiredExchangeData(deps: Deps, caller: Caller, now = new Date(), batchSize = 200): Promise<{ notices: number; unmatched: number }> {
  authorize(caller.actor, 'person.erase');
  const before = new Date(now.getTime() - deps.config.retentionDaysAfterReturn * DAY);
  const total = { notices: 0, unmatched: 0 };
  for (;;) {
    const done = await registryTransaction(deps, async (tx) => {
      const notices = await tx
        .select({ id: incomingNotices.id, partnerCode: incomingNotices.partnerCode, subjectIdHmac: incomingNotices.subjectIdHmac })
        .from(incomingNotices)
        .where(and(eq(incomingNotices.status, 'CLOSED'), lte(incomingNotices.closedAt, before), isNull(incomingNotices.erasedAt)))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      const unmatched = await tx
        .select({ issuer: inboundRecords.issuer, id: inboundRecords.id })
        .from(inboundRecords)
        .where(and(eq(inboundRecords.state, 'UNMATCHED'), lte(inboundRecords.receivedAt, before), isNull(inboundRecords.erasedAt)))
        .limit(batchSize)
        .for('update', { skipLocked: true });
      if (notices.length === 0 && unmatched.length === 0) return { notices: 0, unmatched: 0 };
      const noticeIds = notices.map((n) => n.id);
      if (noticeIds.length) {
        await tx
          .update(incomingNotices)
          .set({ subjectIdHmac: null, subjectIdMasked: null, subjectName: null, phone: null, employer: null, placeTown: null, placeArea: null, erasedAt: new Date() })
          .where(anyOf(incomingNotices.id, noticeIds));
        await eraseInquiries(tx, anyOf(inquiries.noticeId, noticeIds));
        await tx.update(servicesDelivered).set({ note: null }).where(anyOf(servicesDelivered.noticeId, noticeIds));
      }
      // about a partner's resident: the records between us and that county with their hash, never about one of ours
      const noticed = notices.filter((n) => n.subjectIdHmac);
      const inbound = [
        ...noticed.map((n) => and(eq(inboundRecords.issuer, n.partnerCode), eq(inboundRecords.subjectIdHmac, n.subjectIdHmac!))),
        ...unmatched.map((u) => and(eq(inboundRecords.issuer, u.issuer), eq(inboundRecords.id, u.id))),
      ];
      const outbound = [
        ...noticed.map((n) => and(eq(outboundRecords.partnerCode, n.partnerCode), eq(outboundRecords.subjectIdHmac, n.subjectIdHmac!))),
        ...unmatched.map((u) => and(eq(outboundRecords.partnerCode, u.issuer), eq(outboundRecords.ref, u.id))),
      ];
      await stripRecords(tx, inbound.length ? and(isNull(inboundRecords.personId), or(...inbound)) : undefined, outbound.length ? and(isNull(outboundRecords.personId), or(...outbound)) : undefined);
      if (unmatched.length) {
        const asked = unmatched.map((u) => and(eq(inquiries.partnerCode, u.issuer), eq(inquiries.recordId, u.id)));
        await eraseInquiries(tx, and(eq(inquiries.direction, 'INBOUND'), isNull(inquiries.personId), or(...asked))!);
      }
      await appendAudit(tx, caller, { action: 'exchange.erase', details: { notices: noticeIds, unmatched: unmatched.map((u) => `${u.issuer}/${u.id}`) } });
      return { notices: notices.length, unmatched: unmatched.length };
    });
    total.notices += done.notices;
    total.unmatched += done.unmatched;
    if (done.notices < batchSize && done.unmatched < batchSize) return total;
  }
}

