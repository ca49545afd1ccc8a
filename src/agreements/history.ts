import { asc, inArray } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actorColumns, type Caller } from '../policy/actor';
import { agreementEvents } from './tables';

export type AgreementEvent = typeof agreementEvents.$inferSelect;

/** Appends one history row (who, role, when, what) for an action on an agreement. */
export async function recordAgreementEvent(tx: Db, caller: Caller, agreementId: string, action: string, details?: Record<string, unknown>): Promise<void> {
  await tx.insert(agreementEvents).values({ agreementId, action, ...actorColumns(caller.actor), details: details ?? null });
}

export async function agreementHistory(db: Db, agreementIds: readonly string[]): Promise<AgreementEvent[]> {
  if (agreementIds.length === 0) return [];
  return db.select().from(agreementEvents).where(inArray(agreementEvents.agreementId, [...agreementIds])).orderBy(asc(agreementEvents.id));
}
