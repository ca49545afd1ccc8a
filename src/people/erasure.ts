import { and, eq, gt, inArray, isNull, lte, notExists, or, sql } from 'drizzle-orm';
import { endAgreementTx } from '../agreements/ending';
import { agreements, depositComplaints } from '../agreements/tables';
import { appendAudit } from '../audit/service';
import { addDays, todayIn } from '../calendar';
import { anyOf, type Db } from '../db/client';
import type { Deps } from '../deps';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { statusReports } from '../reports/tables';
import { dependants, people } from './tables';
import { registryTransaction } from './transaction';

/**
 * Other modules remove what they hold about erased people (memberships, stored exchange records). Steps run before
 * the people rows are anonymised, so they can still read them (e.g. the ID number hash).
 */
type ErasureStep = (tx: Db, personIds: string[]) => Promise<void>;
const steps: ErasureStep[] = [];
export function onErasure(step: ErasureStep): void {
  steps.push(step);
}

export const ERASED_NAME = '（已删除）';

/**
 * PIPL Art. 19 and 47: personal data is kept only as long as needed. Anonymised are people who withdrew consent
 * more than RETENTION_DAYS_AFTER_WITHDRAWAL ago, came home more than RETENTION_DAYS_AFTER_RETURN ago, or are still
 * recorded as away but no longer served: no active agreement (it expired, was discarded, or was never signed) and
 * nothing recorded about them (edit, agreement version, agreement end, report) for RETENTION_DAYS_AFTER_RETURN.
 * Name, identifiers, phones, workplace, free-text notes and dependants go; open drafts are discarded; village,
 * status, dates, destination county and service-need codes stay, so counts and statistics still add up. Runs in
 * batches, each one transaction.
 */
export async function eraseExpiredRecords(deps: Deps, caller: Caller, now = new Date(), batchSize = 500): Promise<number> {
  authorize(caller.actor, 'person.erase');
  const withdrawnBefore = new Date(now.getTime() - deps.config.retentionDaysAfterWithdrawal * 86_400_000);
  const returnedBefore = addDays(todayIn(deps.config.timeZone, now), -deps.config.retentionDaysAfterReturn);
  const idleSince = new Date(now.getTime() - deps.config.retentionDaysAfterReturn * 86_400_000);
  let total = 0;
  for (;;) {
    const erased = await registryTransaction(deps, async (tx) => {
      const lapsed = and(
        eq(people.status, 'AWAY'),
        lte(people.updatedAt, idleSince),
        notExists(
          tx
            .select({ one: sql`1` })
            .from(agreements)
            .where(
              and(
                eq(agreements.personId, people.id),
                or(eq(agreements.status, 'ACTIVE'), gt(agreements.createdAt, idleSince), gt(agreements.endedAt, idleSince)),
              ),
            ),
        ),
        notExists(
          tx
            .select({ one: sql`1` })
            .from(statusReports)
            .where(and(eq(statusReports.personId, people.id), gt(statusReports.createdAt, idleSince))),
        ),
      );
      const due = await tx
        .select({ id: people.id })
        .from(people)
        .where(
          and(
            isNull(people.erasedAt),
            or(
              and(eq(people.status, 'WITHDRAWN'), lte(people.withdrawnAt, withdrawnBefore)),
              and(eq(people.status, 'RETURNED'), lte(people.returnedOn, returnedBefore)),
              lapsed,
            ),
          ),
        )
        .orderBy(people.id)
        .limit(batchSize)
        .for('update', { skipLocked: true });
      const ids = due.map((r) => r.id);
      if (ids.length === 0) return 0;
      await eraseTx(tx, caller, ids);
      await appendAudit(tx, caller, { action: 'person.erase', targetType: 'Person', details: { personIds: ids, count: ids.length } });
      return ids.length;
    });
    total += erased;
    if (erased < batchSize) return total;
  }
}

async function eraseTx(tx: Db, caller: Caller, ids: string[]): Promise<void> {
  // A draft nobody will sign any more is discarded (after the people rows: lock order).
  const drafts = await tx.select().from(agreements).where(and(anyOf(agreements.personId, ids), eq(agreements.status, 'DRAFT'))).for('update');
  for (const d of drafts) await endAgreementTx(tx, caller, d, 'DISCARDED');
  // Other modules first, while the rows still hold the ID number hash they may match records by.
  for (const step of steps) await step(tx, ids);
  await tx
    .update(people)
    .set({
      name: ERASED_NAME,
      idNumberEnc: null,
      idNumberHmac: null,
      idNumberMasked: null,
      phone: null,
      currentTown: null,
      currentArea: null,
      employer: null,
      occupation: null,
      liaisonContactId: null,
      erasedAt: new Date(),
      updatedAt: new Date(),
    })
    .where(anyOf(people.id, ids));
  await tx.delete(dependants).where(anyOf(dependants.personId, ids));
  await tx
    .update(statusReports)
    .set({ phone: null, placeTown: null, placeArea: null, employer: null, needsNote: null, note: null, liaisonContactId: null })
    .where(anyOf(statusReports.personId, ids));
  await tx
    .update(agreements)
    .set({ officialSignRef: null, personSignRef: null, endNote: null })
    .where(anyOf(agreements.personId, ids));
  await tx
    .update(depositComplaints)
    .set({ description: ERASED_NAME, resolution: sql`case when ${depositComplaints.resolution} is null then null else ${ERASED_NAME} end` })
    .where(inArray(depositComplaints.agreementId, tx.select({ id: agreements.id }).from(agreements).where(anyOf(agreements.personId, ids))));
}
