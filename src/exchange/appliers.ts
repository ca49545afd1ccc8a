import type { Deps } from '../deps';
import type { Partner } from '../partners/service';
import type { Caller } from '../policy/actor';
import type { RecordEnvelope } from './envelope';
import type { ExchangedType } from './record-types';
import type { InboundState } from './tables';

/**
 * The seam between the exchange and the registry core: what "applying" an accepted inbound record means for each
 * type (a status report appears under the person, a contact update changes the person, an inquiry becomes a task
 * for the home village official, a reply closes the inquiry...).
 *
 * PHASE 1: no applier is registered yet, so every accepted record is stored with state RECEIVED and applied to
 * nothing. The registry core registers one applier per type (registerApplier) when it lands.
 */
export interface ApplyContext<T extends ExchangedType = ExchangedType> {
  /**
   * `deps.db` is the transaction (a savepoint) that stores this record: write only through it, so the record and
   * its effects commit together, before the partner gets its receipt. Services taking `deps` can be called with it.
   */
  deps: Deps;
  /** The partner county (actor kind 'partner'), for history and audit rows. */
  caller: Caller;
  partner: Partner;
  record: RecordEnvelope<T>;
  /** HMAC of `record.subject.idNumber` (deps.secrets.hmac), for the registry's exact-match lookup. */
  subjectIdHmac: string;
}

/** APPLIED: the registry changed (for the person `personId`). UNMATCHED: kept for a person to resolve. */
export type ApplyOutcome = { state: 'APPLIED'; personId: string | null } | { state: 'UNMATCHED' };

export type RecordApplier<T extends ExchangedType = ExchangedType> = (ctx: ApplyContext<T>) => Promise<ApplyOutcome>;

/**
 * Thrown by an applier to refuse a record: its savepoint rolls back (the record is not stored) and the partner
 * gets REJECTED with `reason`, an upper-case code the protocol documents. Any other error fails the whole batch
 * (HTTP 500, nothing stored) so the partner retries it later.
 */
export class RecordRejected extends Error {
  constructor(
    public readonly reason: string,
    public readonly detail: string = reason,
  ) {
    super(`record rejected: ${reason}`);
    this.name = 'RecordRejected';
    if (!/^[A-Z][A-Z_]{2,40}$/.test(reason)) throw new Error(`rejection reasons are upper-case codes, not ${reason}`);
  }
}

const appliers = new Map<ExchangedType, RecordApplier>();

/** Registers what applying a type means; returns a function that removes it again. One applier per type. */
export function registerApplier<T extends ExchangedType>(type: T, applier: RecordApplier<T>): () => void {
  if (appliers.has(type)) throw new Error(`an applier for ${type} is already registered`);
  appliers.set(type, applier as unknown as RecordApplier);
  return () => {
    if (appliers.get(type) === (applier as unknown)) appliers.delete(type);
  };
}

/** Runs the type's applier inside the record's transaction; without one the record stays RECEIVED. */
export async function applyInbound(ctx: ApplyContext): Promise<{ state: InboundState; personId: string | null }> {
  const applier = appliers.get(ctx.record.type as ExchangedType);
  if (!applier) return { state: 'RECEIVED', personId: null };
  const outcome = await applier(ctx);
  return outcome.state === 'APPLIED' ? { state: 'APPLIED', personId: outcome.personId } : { state: 'UNMATCHED', personId: null };
}
