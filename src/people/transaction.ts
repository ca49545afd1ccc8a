import { eq } from 'drizzle-orm';
import { PgTransaction, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { appendAuditMany, collectAudit, type PendingAudit } from '../audit/service';
import type { Db } from '../db/client';
import { databaseError } from '../db/errors';
import type { Deps } from '../deps';
import { conflict } from '../errors';
import { people } from './tables';

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and may simply be run again. */
const RETRYABLE = new Set(['40P01', '40001']);

const sqlState = (e: unknown): string | undefined => {
  const code = databaseError(e)?.code;
  return code && RETRYABLE.has(code) ? code : undefined;
};

/**
 * The transaction of a registry change (people, agreements, reports, consent). Two rules keep concurrent changes
 * to one person from deadlocking:
 * - lock order: the person row first (`loadPerson(..., { lock: true })`, or `lockPersonThenRow` for a row that
 *   belongs to a person: an agreement, a membership, an inquiry), then the agreement, then anything else;
 * - the audit chain last: the entries services append are collected and written at the end, so the chain's lock
 *   is never held while waiting for a row. Inside a batch that already collects (the exchange inbox), they go to it.
 * A deadlock or serialization failure that still happens is retried once at the top level; otherwise (or nested in
 * an outer transaction, which is itself aborted) it answers CONFLICT with `retryable: true`.
 */
export async function registryTransaction<T>(deps: Pick<Deps, 'db'>, fn: (tx: Db) => Promise<T>): Promise<T> {
  const nested = deps.db instanceof PgTransaction;
  const run = () =>
    deps.db.transaction(async (tx) => {
      const { result, pending } = await collectAudit(() => fn(tx));
      await flush(tx, pending);
      return result;
    });
  try {
    return await run();
  } catch (e) {
    if (!sqlState(e)) throw e;
    if (!nested) {
      try {
        return await run();
      } catch (again) {
        if (!sqlState(again)) throw again;
      }
    }
    throw conflict('a concurrent change to the same record got in the way; try again', { retryable: true });
  }
}

/** Hands collected entries on: to an outer collector if there is one, else to the chain (one insert per caller run). */
async function flush(tx: Db, pending: PendingAudit[]): Promise<void> {
  for (let i = 0; i < pending.length; ) {
    const caller = pending[i]!.caller;
    let j = i;
    while (j < pending.length && pending[j]!.caller === caller) j++;
    await appendAuditMany(tx, caller, pending.slice(i, j).map((p) => p.event));
    i = j;
  }
}


/** A table whose rows belong to a person (`personId`; null while an inquiry is matched to no one). */
type PersonOwned = PgTable & { id: PgColumn; personId: PgColumn };

/**
 * Locks a row that belongs to a person in the lock order above: the person first, then the row. Which person is read
 * from the row unlocked first; the row never changes person, except an inquiry matched to one meanwhile, whose
 * person is then locked after it (rare; a deadlock that causes is retried like any other). The person comes back as
 * stored, erased or not; undefined when the row names none. Undefined when there is no row with that id.
 */
export async function lockPersonThenRow<T extends PersonOwned>(
  tx: Db,
  table: T,
  id: string,
): Promise<{ row: T['$inferSelect']; person: typeof people.$inferSelect | undefined } | undefined> {
  const lockPerson = async (personId: string) => (await tx.select().from(people).where(eq(people.id, personId)).for('update'))[0];
  const [ref] = (await tx.select({ personId: table.personId }).from(table as PgTable).where(eq(table.id, id))) as { personId: string | null }[];
  if (!ref) return undefined;
  let person = ref.personId ? await lockPerson(ref.personId) : undefined;
  const [row] = (await tx.select().from(table as PgTable).where(eq(table.id, id)).for('update')) as T['$inferSelect'][];
  if (!row) return undefined;
  const personId = (row as { personId: string | null }).personId;
  if (personId && personId !== person?.id) person = await lockPerson(personId);
  return { row, person };
}
