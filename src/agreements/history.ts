import { asc } from 'drizzle-orm';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import { actorColumns, type Caller } from '../policy/actor';
import { agreementEvents } from './tables';

export type AgreementEvent = typeof agreementEvents.$inferSelect;

/** Appends one history row (who, role, when, what) for an action on an agreement. */
export async function recordAgreementEvent(tx: Db, caller: Caller, agreementId: string, action: string, details?: Record<string, unknown>): Promise<void> {
  await tx.insert(agreementEvents).values({ agreementId, action, ...actorColumns(caller.actor), details: details ?? null });
}

export function agreementHistory(db: Db, agreementIds: readonly string[]): Promise<AgreementEvent[]> {
  return lookupMany(db, 'agreement_history', agreementIds, (d) =>
    d.select().from(agreementEvents).where(anyOfIds(agreementEvents.agreementId)).orderBy(asc(agreementEvents.id)).prepare('agreement_history'),
  );
}
