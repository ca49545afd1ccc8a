import { and, eq } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { anyOf, type Db } from '../db/client';
import type { Caller } from '../policy/actor';
import { recordAgreementEvent } from './history';
import { assertAllowed } from './lifecycle';
import { agreements, type AgreementStatus, type EndReason } from './tables';

export type Agreement = typeof agreements.$inferSelect;

/** The person's agreement in a status (at most one ACTIVE and one DRAFT exist), locked for update when asked. */
export async function agreementInStatus(tx: Db, personId: string, status: AgreementStatus, lock = false): Promise<Agreement | undefined> {
  const q = tx.select().from(agreements).where(and(eq(agreements.personId, personId), eq(agreements.status, status)));
  const [row] = lock ? await q.for('update') : await q;
  return row;
}

/**
 * What recording a report and the next-due rule (reports/due.ts) read of an agreement: its term, cadence, status and
 * the version it follows. A batch of partner records reads only these columns of its agreements.
 */
export const TERM_COLUMNS = {
  id: agreements.id,
  personId: agreements.personId,
  previousId: agreements.previousId,
  status: agreements.status,
  cadence: agreements.cadence,
  validFrom: agreements.validFrom,
  validTo: agreements.validTo,
  activatedAt: agreements.activatedAt,
  endReason: agreements.endReason,
};
export type AgreementTerm = Pick<Agreement, keyof typeof TERM_COLUMNS>;

/** The active agreements of these people (their terms), locked in id order (a batch's people are locked first). */
export async function activeAgreementsLocked(tx: Db, personIds: readonly string[]): Promise<AgreementTerm[]> {
  if (personIds.length === 0) return [];
  return tx.select(TERM_COLUMNS).from(agreements).where(and(anyOf(agreements.personId, personIds), eq(agreements.status, 'ACTIVE'))).orderBy(agreements.id).for('update');
}

/** Ends one agreement inside the caller's transaction: lifecycle check, status, history row and audit entry. */
export async function endAgreementTx(tx: Db, caller: Caller, a: Agreement, reason: EndReason, note?: string | null): Promise<Agreement> {
  assertAllowed(a.status, 'END', reason);
  const [row] = await tx
    .update(agreements)
    .set({ status: 'ENDED', endedAt: new Date(), endReason: reason, endNote: note ?? null, nextDuePeriod: null, nextDueStart: null, nextDueOn: null })
    .where(eq(agreements.id, a.id))
    .returning();
  await recordAgreementEvent(tx, caller, a.id, 'END', { reason });
  await appendAudit(tx, caller, { action: 'agreement.end', targetType: 'Agreement', targetId: a.id, details: { reason } });
  return row!;
}

/** Ends whatever active agreement and open draft a person has (return home, withdrawal). */
export async function endAllAgreementsTx(tx: Db, caller: Caller, personId: string, reason: 'RETURNED_HOME' | 'WITHDRAWN'): Promise<void> {
  const active = await agreementInStatus(tx, personId, 'ACTIVE', true);
  if (active) await endAgreementTx(tx, caller, active, reason);
  const draft = await agreementInStatus(tx, personId, 'DRAFT', true);
  if (draft) await endAgreementTx(tx, caller, draft, reason === 'WITHDRAWN' ? 'WITHDRAWN' : 'DISCARDED');
}

/** Hooks other modules register to act when a person comes home (e.g. ending association memberships). */
type ReturnedHomeHook = (tx: Db, caller: Caller, personId: string) => Promise<void>;
const returnedHomeHooks: ReturnedHomeHook[] = [];
export function onReturnedHome(hook: ReturnedHomeHook): void {
  returnedHomeHooks.push(hook);
}
export async function runReturnedHomeHooks(tx: Db, caller: Caller, personId: string): Promise<void> {
  for (const hook of returnedHomeHooks) await hook(tx, caller, personId);
}
