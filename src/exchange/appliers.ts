import type { AuditEvent } from '../audit/service';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import type { Partner } from '../partners/service';
import type { Caller } from '../policy/actor';
import type { RecordEnvelope } from './envelope';
import type { RegistryRejectionReason, RejectionReason } from './reasons';
import { seam } from './seam';
import type { ExchangedType } from './record-types';
import type { InboundState, UnmatchedReason } from './tables';

/**
 * The seam between the exchange and the registry core: what "applying" an accepted inbound record means for each
 * type (a status report appears under the person, a contact update changes the person, an inquiry becomes a task
 * for the home village official, a reply closes the inquiry...). The registry registers one applier per type at
 * start-up (src/sharing/install.ts); a type without one is stored with state RECEIVED and applied to nothing.
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
  /**
   * Set when a person resolves an UNMATCHED record by linking it to this registry person: the applier takes it as
   * the subject instead of matching. `caller` is then that person (a user), not the partner.
   */
  linkedPersonId?: string;
}

/** APPLIED: the registry changed (for the person `personId`, if it is one of ours). UNMATCHED: kept for a person to resolve. */
export type ApplyOutcome = { state: 'APPLIED'; personId: string | null } | { state: 'UNMATCHED'; reason: UnmatchedReason };

export type RecordApplier<T extends ExchangedType = ExchangedType> = (ctx: ApplyContext<T>) => Promise<ApplyOutcome>;

/**
 * Thrown by an applier to refuse a record: its savepoint rolls back (the record is not stored) and the partner
 * gets REJECTED with `reason`, a code the protocol documents. Any other error fails the whole batch (HTTP 500,
 * nothing stored) so the partner retries it later.
 */
export class RecordRejected extends Error {
  constructor(
    public readonly reason: RejectionReason | RegistryRejectionReason,
    public readonly detail: string = reason,
  ) {
    super(`record rejected: ${reason}`);
    this.name = 'RecordRejected';
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

export interface Applied {
  state: InboundState;
  personId: string | null;
  unmatchedReason: UnmatchedReason | null;
}

/** Runs the type's applier inside the record's transaction; without one the record stays RECEIVED. */
export async function applyInbound(ctx: ApplyContext): Promise<Applied> {
  const applier = appliers.get(ctx.record.type as ExchangedType);
  if (!applier) return { state: 'RECEIVED', personId: null, unmatchedReason: null };
  return appliedAs(await applier(ctx));
}

export function appliedAs(outcome: ApplyOutcome): Applied {
  return outcome.state === 'APPLIED'
    ? { state: 'APPLIED', personId: outcome.personId, unmatchedReason: null }
    : { state: 'UNMATCHED', personId: null, unmatchedReason: outcome.reason };
}

/** An accepted record of a batch, as the batch applier sees it. */
export interface BatchItem {
  record: RecordEnvelope;
  subjectIdHmac: string;
  /** The inbox lets the batch applier decide this record (its id is not repeated in the batch). */
  candidate: boolean;
}

/**
 * What the batch applier decided for one record: what its applier would have answered (the outcome, or the refusal)
 * with the audit entries its services would have appended; or PER_RECORD, left to its applier, alone.
 */
export type BatchDecision = { outcome: ApplyOutcome; audit: AuditEvent[] } | { refused: RecordRejected } | 'PER_RECORD';

export interface BatchPlan {
  /** One per item, in order. */
  decisions: BatchDecision[];
  /** Writes, through `db` (the inbox's savepoint), the changes of the records `keep` marks (the others were duplicates). */
  write(db: Db, keep: readonly boolean[]): Promise<void>;
}

/**
 * The set-based seam beside the appliers: for a whole batch, loads what its records need in a few statements and
 * decides each record in memory with the same rules as its applier, so the batch is written with one statement per
 * table. Records it does not decide go through their applier, one by one. Called first in the batch's transaction
 * with every accepted record, it also locks what the records are about (people, a partner's residents here) in one
 * fixed order, so that batches naming the same people in other orders do not deadlock.
 */
export type BatchApplier = (ctx: Omit<ApplyContext, 'record' | 'subjectIdHmac'>, items: readonly BatchItem[]) => Promise<BatchPlan>;

const batchApplier = seam<BatchApplier>('a batch applier');
export const registerBatchApplier = batchApplier.register;

/** Every record left to its applier: what the inbox does when no batch applier is registered. */
const eachAlone: BatchApplier = async (_ctx, items) => ({ decisions: items.map(() => 'PER_RECORD' as const), write: async () => {} });

export function planBatch(ctx: Omit<ApplyContext, 'record' | 'subjectIdHmac'>, items: readonly BatchItem[]): Promise<BatchPlan> {
  return (batchApplier.get() ?? eachAlone)(ctx, items);
}
