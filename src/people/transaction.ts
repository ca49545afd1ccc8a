import { PgTransaction } from 'drizzle-orm/pg-core';
import { appendAuditMany, collectAudit, type PendingAudit } from '../audit/service';
import type { Db } from '../db/client';
import { databaseError } from '../db/errors';
import type { Deps } from '../deps';
import { conflict } from '../errors';

/** PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race and may simply be run again. */
const RETRYABLE = new Set(['40P01', '40001']);

const sqlState = (e: unknown): string | undefined => {
  const code = databaseError(e)?.code;
  return code && RETRYABLE.has(code) ? code : undefined;
};

/**
 * The transaction of a registry change (people, agreements, reports, consent). Two rules keep concurrent changes
 * to one person from deadlocking:
 * - lock order: the person row first (`loadPerson(..., { lock: true })` or `lockAgreement`), then the agreement,
 *   then anything else;
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

