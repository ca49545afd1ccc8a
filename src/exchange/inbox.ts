import { and, eq } from 'drizzle-orm';
import { collectAudit, writeAudit, type AuditEvent, type PendingAudit } from '../audit/service';
import { insertRows } from '../db/bulk';
import { anyOf, type Db } from '../db/client';
import { databaseError } from '../db/errors';
import type { Deps } from '../deps';
import { isUuid } from '../errors';
import { partnerSigningKey, type Partner } from '../partners/service';
import type { Caller } from '../policy/actor';
import { allowsInbound } from './agreement';
import { applyInbound, appliedAs, planBatch, RecordRejected, type Applied, type BatchDecision } from './appliers';
import { contentHmac, parseRecordPayload, verifyRecordSignature, type KeyLookup, type RecordEnvelope } from './envelope';
import { clip, type Rejection } from './reasons';
import type { ExchangedType } from './record-types';
import { inboundRecords } from './tables';

export const MAX_RECORDS_PER_PUSH = 500;

export interface Receipt {
  id: string | null;
  status: 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';
  reason?: string;
}

type Checked =
  | { ok: true; jws: string; kid: string; payload: unknown; record: RecordEnvelope<ExchangedType> }
  | ({ ok: false; id: string | null } & Rejection);

/**
 * SQLSTATE classes of a statement the database refused for its data: 22 (data exception: too long, out of range,
 * bad encoding) and 23 (integrity constraint). Such a record is refused on its own (STORAGE_REFUSED); anything else
 * (connection lost, deadlock, a missing table) is our fault and fails the batch, so the partner retries it.
 */
const REFUSED_DATA = /^2[23][0-9A-Z]{3}$/;

function refusedByDatabase(err: unknown): string | undefined {
  const db = databaseError(err);
  if (!db || !REFUSED_DATA.test(db.code)) return undefined;
  // Names only: the database's message may quote the values (personal data).
  return `SQLSTATE ${db.code} ${[db.table, db.column, db.constraint].filter(Boolean).join(' ')}`.trim();
}


/** The id a rejected record claims, if it can be read at all: receipts are matched by position, this helps people. */
function claimedId(jws: unknown): string | null {
  if (typeof jws !== 'string') return null;
  try {
    const id = (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { id?: unknown }).id;
    return isUuid(id) ? id : null;
  } catch {
    return null;
  }
}

/** Everything about one record that needs no transaction: signature, envelope, issuer, audience, agreement. */
async function check(deps: Deps, partner: Partner, jws: unknown, lookup: KeyLookup): Promise<Checked> {
  const verified = await verifyRecordSignature(jws, lookup);
  if (!verified.ok) return { ...verified, id: claimedId(jws) };
  const parsed = parseRecordPayload(verified.payload);
  if (!parsed.ok) return { ...parsed, id: claimedId(jws) };
  const { record } = parsed;
  const reject = (r: Rejection): Checked => ({ ok: false, id: record.id, ...r });
  if (record.iss !== partner.countyCode) return reject({ reason: 'ISS_MISMATCH', detail: `record iss ${record.iss}` });
  if (record.aud !== deps.config.countyCode) return reject({ reason: 'AUD_MISMATCH', detail: `record aud ${record.aud}` });
  if (!allowsInbound(partner, record.type)) return reject({ reason: 'TYPE_NOT_ALLOWED', detail: `${record.type} not allowed inbound` });
  return { ok: true, jws: jws as string, kid: verified.kid, payload: verified.payload, record: record as RecordEnvelope<ExchangedType> };
}

/** What one record left: its receipt, and its audit entries (its services' own, then the receipt's). */
interface Handled {
  receipt: Receipt;
  audit: PendingAudit[];
}

/** An accepted record, with what the transaction needs of it. */
interface Accepted {
  c: Extract<Checked, { ok: true }>;
  hash: string;
  subjectIdHmac: string;
}

/**
 * Takes a partner's batch: checks every record, then stores each accepted one verbatim (encrypted) and applies it,
 * all in one transaction, and returns the receipts in input order; the caller sends them only after this has
 * committed. Every record, refused or not, leaves an audit entry in the same transaction.
 *
 * Applying is set-based where it can be: the registry's batch applier (planBatch) locks and loads what the records
 * are about in a few statements and decides the records it knows in memory; those are stored and written with one
 * statement per table, in a savepoint. The others — and all of them if the database refuses one of those
 * statements — go one by one through their applier, each in its own savepoint so one bad record does not spoil
 * the others.
 */
export async function receiveRecords(deps: Deps, caller: Caller, partner: Partner, batch: unknown[]): Promise<Receipt[]> {
  // A batch is usually signed with one key: look each kid up once.
  const keys = new Map<string, ReturnType<KeyLookup>>();
  const lookup: KeyLookup = (kid) => {
    if (!keys.has(kid)) keys.set(kid, partnerSigningKey(deps, partner.countyCode, kid));
    return keys.get(kid)!;
  };
  // Signatures are checked all at once: WebCrypto verifies on the thread pool, so a batch uses every core.
  const checked = await Promise.all(batch.map((jws) => check(deps, partner, jws, lookup)));
  const hmac = (v: string) => deps.secrets.hmac(v);
  const accepted = checked.map((c): Accepted | undefined => (c.ok ? { c, hash: contentHmac(hmac, c.payload), subjectIdHmac: hmac(c.record.subject.idNumber) } : undefined));
  return deps.db.transaction(async (tx) => {
    const handled: (Handled | undefined)[] = checked.map((c) =>
      c.ok ? undefined : { receipt: { id: c.id, status: 'REJECTED', reason: c.reason }, audit: [{ caller, event: receiveEvent(c.id, 'DENIED', { reason: c.reason, detail: clip(c.detail) }) }] },
    );
    const at = accepted.flatMap((a, i) => (a ? [i] : []));
    const times = new Map<string, number>();
    for (const i of at) times.set(accepted[i]!.c.record.id, (times.get(accepted[i]!.c.record.id) ?? 0) + 1);
    // An id repeated in the batch goes record by record: the second is the first one's DUPLICATE (or ID_REUSED).
    const items = at.map((i) => ({ record: accepted[i]!.c.record, subjectIdHmac: accepted[i]!.subjectIdHmac, candidate: times.get(accepted[i]!.c.record.id) === 1 }));
    const plan = await planBatch({ deps: { ...deps, db: tx }, caller, partner }, items);
    const decided = at.flatMap((i, k) => (plan.decisions[k] === 'PER_RECORD' ? [] : [{ i, a: accepted[i]!, decision: plan.decisions[k] as Exclude<BatchDecision, 'PER_RECORD'> }]));
    if (decided.length) {
      try {
        const results = await tx.transaction((sp) => storeDecided(deps, sp, caller, partner, decided, (keep) => plan.write(sp, at.map((i) => keep.has(i)))));
        decided.forEach((d, k) => (handled[d.i] = results[k]));
      } catch (e) {
        const refused = refusedByDatabase(e);
        if (refused === undefined) throw e;
        // Record by record, the database refuses the bad one alone (STORAGE_REFUSED) and the others go through.
        deps.logger.warn({ partner: partner.countyCode, detail: refused }, 'exchange batch refused by the database; applying its records one by one');
      }
    }
    for (const [i, a] of accepted.entries()) {
      if (a && !handled[i]) handled[i] = await receiveOne(deps, tx, caller, partner, a);
    }
    await writeAudit(tx, handled.flatMap((h) => h!.audit));
    return handled.map((h) => h!.receipt);
  });
}

/**
 * Stores the records the batch applier decided, in one insert (with their final state), learns which of them were
 * already stored (DUPLICATE, or ID_REUSED) in one select, and has the changes of the others written.
 */
async function storeDecided(
  deps: Deps,
  sp: Db,
  caller: Caller,
  partner: Partner,
  decided: { i: number; a: Accepted; decision: Exclude<BatchDecision, 'PER_RECORD'> }[],
  write: (keep: Set<number>) => Promise<void>,
): Promise<Handled[]> {
  const toStore = decided.flatMap((d) => ('outcome' in d.decision ? [storedRow(deps, partner, d.a, appliedAs(d.decision.outcome))] : []));
  const inserted = new Set(await insertRows(sp, inboundRecords, toStore, { onConflictDoNothing: true, returning: 'id' }));
  const unsure = decided.filter((d) => !inserted.has(d.a.c.record.id)).map((d) => d.a.c.record.id);
  const earlier = new Map(
    unsure.length
      ? (await sp
          .select({ id: inboundRecords.id, contentHmac: inboundRecords.contentHmac })
          .from(inboundRecords)
          .where(and(eq(inboundRecords.issuer, partner.countyCode), anyOf(inboundRecords.id, unsure)))
        ).map((r) => [r.id, r.contentHmac])
      : [],
  );
  await write(new Set(decided.filter((d) => inserted.has(d.a.c.record.id)).map((d) => d.i)));
  return decided.map(({ a, decision }) => {
    const { record } = a.c;
    if (inserted.has(record.id) && 'outcome' in decision) return acceptedAs(caller, record, 'ACCEPTED', decision.audit.map((event) => ({ caller, event })));
    const stored = earlier.get(record.id);
    if (stored !== undefined) return stored === a.hash ? acceptedAs(caller, record, 'DUPLICATE', []) : refusedAs(caller, record, idReused());
    return refusedAs(caller, record, (decision as { refused: RecordRejected }).refused);
  });
}

const idReused = () => new RecordRejected('ID_REUSED', 'same id, other content');

/** One record in its own savepoint: stored, de-duplicated by id, applied by its type's applier. */
async function receiveOne(deps: Deps, tx: Db, caller: Caller, partner: Partner, a: Accepted): Promise<Handled> {
  const { record } = a.c;
  try {
    // The record's services audit into `pending`, written with the batch's receipts at the end.
    const { result: status, pending } = await collectAudit(() =>
      tx.transaction(async (sp) => {
        const [stored] = await sp.insert(inboundRecords).values(storedRow(deps, partner, a)).onConflictDoNothing().returning({ id: inboundRecords.id });
        if (!stored) {
          const [existing] = await sp
            .select({ contentHmac: inboundRecords.contentHmac })
            .from(inboundRecords)
            .where(and(eq(inboundRecords.issuer, partner.countyCode), eq(inboundRecords.id, record.id)));
          if (existing?.contentHmac !== a.hash) throw idReused();
          return 'DUPLICATE' as const;
        }
        const applied = await applyInbound({ deps: { ...deps, db: sp }, caller, partner, record, subjectIdHmac: a.subjectIdHmac });
        if (applied.state !== 'RECEIVED') {
          await sp
            .update(inboundRecords)
            .set(stateColumns(applied))
            .where(and(eq(inboundRecords.issuer, partner.countyCode), eq(inboundRecords.id, record.id)));
        }
        return 'ACCEPTED' as const;
      }),
    );
    return acceptedAs(caller, record, status, pending);
  } catch (e) {
    const refused = e instanceof RecordRejected ? e : refusedByDatabase(e);
    if (refused === undefined) throw e;
    if (typeof refused !== 'string') return refusedAs(caller, record, refused);
    deps.logger.warn({ partner: partner.countyCode, record: record.id, detail: refused }, 'exchange record refused by the database');
    return refusedAs(caller, record, new RecordRejected('STORAGE_REFUSED', refused));
  }
}

/** The row of a stored record: verbatim and encrypted, with its state once applied (RECEIVED until then). */
function storedRow(deps: Deps, partner: Partner, a: Accepted, applied?: Applied): typeof inboundRecords.$inferInsert {
  const { record } = a.c;
  return {
    issuer: partner.countyCode,
    id: record.id,
    type: record.type,
    ref: record.ref ?? null,
    issuedAt: new Date(record.iat * 1000),
    signedKid: a.c.kid,
    jwsEnc: deps.secrets.encrypt(a.c.jws),
    contentHmac: a.hash,
    subjectIdHmac: a.subjectIdHmac,
    ...(applied ? stateColumns(applied) : { state: 'RECEIVED' }),
  };
}

const stateColumns = (applied: Applied) => ({ ...applied, appliedAt: applied.state === 'APPLIED' ? new Date() : null });

function acceptedAs(caller: Caller, record: RecordEnvelope<ExchangedType>, status: 'ACCEPTED' | 'DUPLICATE', pending: PendingAudit[]): Handled {
  return { receipt: { id: record.id, status }, audit: [...pending, { caller, event: receiveEvent(record.id, 'SUCCESS', { type: record.type, status }) }] };
}

function refusedAs(caller: Caller, record: RecordEnvelope<ExchangedType>, { reason, detail }: RecordRejected): Handled {
  return { receipt: { id: record.id, status: 'REJECTED', reason }, audit: [{ caller, event: receiveEvent(record.id, 'DENIED', { type: record.type, reason, detail: clip(detail) }) }] };
}

function receiveEvent(id: string | null, outcome: 'SUCCESS' | 'DENIED', details: Record<string, unknown>): AuditEvent {
  return { action: 'exchange.receive', targetType: 'InboundRecord', ...(id ? { targetId: id } : {}), outcome, details };
}
