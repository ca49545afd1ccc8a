import crypto from 'node:crypto';
import { and, asc, count, eq, gt, isNotNull, ne, sql } from 'drizzle-orm';
import type { AuditEvent } from '../audit/service';
import { rows, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import { ADVISORY_LOCK } from '../db/locks';
import type { Deps } from '../deps';
import { badInput, conflict } from '../errors';
import { agreementInForce, findPartner } from '../partners/service';
import { allowsOutbound } from './agreement';
import { newRecordId, parseRecordPayload, RECORD_VERSION, signRecord, type RecordEnvelope } from './envelope';
import type { ExchangedType } from './record-types';
import type { RejectionReason } from './reasons';
import { outboundRecords } from './tables';

export interface QueueRecordInput<T extends ExchangedType = ExchangedType> {
  /** The partner county the record is for (`aud`). */
  partnerCode: string;
  type: T;
  subject: { idNumber: string; name: string };
  /** The record this one answers (an INQUIRY_REPLY names its inquiry). */
  ref?: string | null;
  /** Checked against the type's schema; an INQUIRY without `dueOn` gets the default deadline. */
  body: unknown;
  /** Defaults to a new random UUID. */
  id?: string;
  /** Our resident the record is about, if it is one: consent withdrawal and erasure find their records by it. */
  personId?: string | null;
}

export interface QueuedRecord<T extends ExchangedType = ExchangedType> {
  id: string;
  partnerCode: string;
  /** What was signed. */
  record: RecordEnvelope<T>;
  /**
   * The audit entry for sharing this record with the partner. Append it together with the change's own entry
   * (appendAuditMany) as the transaction's last statement: the audit chain's lock is held until commit, so
   * taking it earlier would serialise every concurrent transaction behind this one.
   */
  auditEvent: AuditEvent;
}

const FIELD_OF: Partial<Record<RejectionReason, string>> = {
  INVALID_SUBJECT: 'subject.idNumber',
  MALFORMED_BODY: 'body',
  MISSING_REF: 'ref',
  UNKNOWN_TYPE: 'type',
};

/**
 * Signs a record for a partner and puts it in the outbox. Call it inside the transaction of the change that causes
 * the record, passing `{ ...deps, db: tx }`: it then commits or rolls back with that change (it runs in a savepoint
 * of it). The agreement must be in force and allow the type outbound. The caller appends the returned
 * `auditEvent` at the end of its transaction (see QueuedRecord).
 */
export async function queueRecord<T extends ExchangedType>(deps: Deps, input: QueueRecordInput<T>): Promise<QueuedRecord<T>> {
  return deps.db.transaction(async (tx) => {
    const partner = await findPartner(tx, input.partnerCode);
    if (!partner) throw badInput('partnerCode', `${input.partnerCode} is not a registered partner county`);
    if (!agreementInForce(partner)) throw conflict(`the agreement with ${partner.countyCode} is not in force`, { field: 'partnerCode' });
    if (!allowsOutbound(partner, input.type)) throw badInput('type', `${input.type} is not allowed outbound by the agreement with ${partner.countyCode}`);
    const candidate = {
      v: RECORD_VERSION,
      id: input.id ?? newRecordId(),
      iss: deps.config.countyCode,
      aud: partner.countyCode,
      type: input.type,
      iat: Math.floor(Date.now() / 1000),
      subject: input.subject,
      ...(input.ref ? { ref: input.ref } : {}),
      body: input.body,
    };
    const parsed = parseRecordPayload(candidate);
    if (!parsed.ok) throw badInput(FIELD_OF[parsed.reason] ?? 'record', parsed.detail);
    const record = parsed.record as RecordEnvelope<T>;
    const key = await deps.keys.signingKey('EXCHANGE', tx);
    const jws = await signRecord(key, record);
    await tx.insert(outboundRecords).values({
      id: record.id,
      partnerCode: partner.countyCode,
      type: record.type,
      ref: record.ref ?? null,
      signedKid: key.kid,
      jwsEnc: deps.secrets.encrypt(jws),
      subjectIdHmac: deps.secrets.hmac(record.subject.idNumber),
      personId: input.personId ?? null,
    });
    const auditEvent: AuditEvent = { action: 'exchange.queue', targetType: 'OutboundRecord', targetId: record.id, details: { partner: partner.countyCode, type: record.type } };
    return { id: record.id, partnerCode: partner.countyCode, record, auditEvent };
  });
}

// ---- pull order ----

/**
 * The publish step: gives every committed, not yet published outbox row the next pull sequence number. Publish
 * steps take turns under a transaction-scoped lock and number after the highest number already given, so numbers
 * appear in commit order of the publish steps: once a reader has seen number n, every row that later becomes
 * visible gets a number above n. A row whose own transaction commits late is simply published late, never
 * skipped. Rows are locked in id order, like every other multi-row update of the outbox.
 */
export async function publishOutbox(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCK.publishOutbox})`);
    const published = await rows<{ id: string }>(
      tx,
      sql`with locked as (
            select id, created_at from exchange_outbound_records where seq is null order by id for update
          ),
          numbered as (select id, row_number() over (order by created_at, id) as rn from locked),
          base as (select coalesce(max(seq), 0) as top from exchange_outbound_records)
          update exchange_outbound_records o set seq = base.top + numbered.rn
          from numbered, base where o.id = numbered.id
          returning o.id`,
    );
    return published.length;
  });
}

/** What a partner may read of what we issued to it: nothing cancelled (never to be sent) or erased. */
export const readableByPartner = (partnerCode: string) =>
  and(eq(outboundRecords.partnerCode, partnerCode), ne(outboundRecords.status, 'CANCELLED'), isNotNull(outboundRecords.jwsEnc));

/**
 * Records issued to a partner with a pull number above `afterSeq`, in pull order (one more than asked, for
 * hasMore). Cancelled and erased records keep their place in the sequence but are left out.
 */
export async function issuedTo(db: Db, partnerCode: string, afterSeq: number, limit: number) {
  const found = await db
    .select({ id: outboundRecords.id, seq: outboundRecords.seq, jwsEnc: outboundRecords.jwsEnc })
    .from(outboundRecords)
    .where(and(readableByPartner(partnerCode), gt(outboundRecords.seq, afterSeq)))
    .orderBy(asc(outboundRecords.seq))
    .limit(literalLimit(limit + 1));
  return found.map((r) => ({ ...r, jwsEnc: r.jwsEnc! }));
}

/**
 * Pull cursors are `<seq>.<mac>`: the mac (an HMAC over the partner and the number) makes a tampered or foreign
 * cursor detectable, so it answers 400 instead of silently skipping or repeating records.
 */
export function encodePullCursor(hmac: (v: string) => string, partnerCode: string, seq: number): string {
  return `${seq}.${hmac(`pull-cursor:${partnerCode}:${seq}`).slice(0, 32)}`;
}

export function decodePullCursor(hmac: (v: string) => string, partnerCode: string, cursor: string): number | null {
  const m = /^(\d{1,15})\.([0-9a-f]{32})$/.exec(cursor);
  if (!m) return null;
  const seq = Number(m[1]);
  const expected = Buffer.from(encodePullCursor(hmac, partnerCode, seq));
  const given = Buffer.from(cursor);
  return expected.length === given.length && crypto.timingSafeEqual(expected, given) ? seq : null;
}

/** Queued records still carrying a signature by this key: retiring it would get them refused. */
export async function countUndeliveredSignedWith(db: Db, kid: string): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(outboundRecords)
    .where(and(eq(outboundRecords.signedKid, kid), eq(outboundRecords.status, 'QUEUED')));
  return row?.n ?? 0;
}
