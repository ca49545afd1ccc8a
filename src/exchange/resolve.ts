import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import type { Deps } from '../deps';
import { conflict, notFound, requireUuid } from '../errors';
import { findPartner, partnerHistoricalKeys } from '../partners/service';
import { people } from '../people/tables';
import { registryTransaction } from '../people/transaction';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { applyInbound, RecordRejected } from './appliers';
import { openRecord } from './envelope';
import type { InboundRow } from './monitor';
import type { ExchangedType } from './record-types';
import { inboundRecords } from './tables';

/**
 * A person's answer to an UNMATCHED record: "it is about this registry person". The stored record is re-verified
 * (with any key its issuer ever published) and applied now, with the person linked, exactly as on receipt; the
 * caller's own rights over the person apply (the appliers ask the policy). A record the registry cannot take
 * (e.g. a status report for someone who came home) answers CONFLICT with the applier's reason and stays UNMATCHED.
 */
export async function resolveUnmatched(deps: Deps, caller: Caller, issuer: string, id: string, personId: string): Promise<InboundRow> {
  authorize(caller.actor, 'exchange.resolve');
  const recordId = requireUuid('id', id);
  const linkedPersonId = requireUuid('personId', personId);
  return registryTransaction(deps, async (tx) => {
    // Lock order (see registryTransaction): the person first, then the record; the applier finds them locked.
    await tx.select({ id: people.id }).from(people).where(eq(people.id, linkedPersonId)).for('update');
    const where = and(eq(inboundRecords.issuer, issuer), eq(inboundRecords.id, recordId));
    const [row] = await tx.select().from(inboundRecords).where(where).for('update');
    if (!row) throw notFound('Inbound record', id);
    if (row.state !== 'UNMATCHED' || row.jwsEnc === null || row.subjectIdHmac === null) {
      throw conflict(`only UNMATCHED records can be resolved; this one is ${row.erasedAt ? 'erased' : row.state}`, { state: row.state });
    }
    const partner = await findPartner(tx, issuer);
    const opened = await openRecord(deps.secrets.decrypt(row.jwsEnc), async (kid) => (await partnerHistoricalKeys(tx, [`${issuer}/${kid}`]))[0]);
    if (!partner || !opened.ok) throw conflict('the stored record no longer verifies', { reason: opened.ok ? 'PARTNER_UNKNOWN' : opened.reason });
    let applied;
    try {
      applied = await applyInbound({
        deps: { ...deps, db: tx },
        caller,
        partner,
        record: opened.record as never,
        subjectIdHmac: row.subjectIdHmac,
        linkedPersonId,
      });
    } catch (e) {
      if (e instanceof RecordRejected) throw conflict(`the registry cannot apply this record: ${e.detail}`, { reason: e.reason });
      throw e;
    }
    if (applied.state !== 'APPLIED') throw conflict(`a ${opened.record.type as ExchangedType} record is not applied to a person`, { state: applied.state });
    const [updated] = await tx
      .update(inboundRecords)
      .set({ ...applied, appliedAt: new Date() })
      .where(where)
      .returning();
    await appendAudit(tx, caller, { action: 'exchange.resolve', targetType: 'InboundRecord', targetId: recordId, details: { issuer, personId: applied.personId, type: row.type } });
    return updated!;
  });
}
