import { sql } from 'drizzle-orm';
import { bigint, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { partners } from '../partners/tables';
import { people } from '../people/tables';
import type { RecordType } from './record-types';

export const INBOUND_STATES = ['RECEIVED', 'APPLIED', 'UNMATCHED'] as const;
export type InboundState = (typeof INBOUND_STATES)[number];

/** Why an UNMATCHED record matched no one: no person has its ID number, or the one who has it has another name. */
export const UNMATCHED_REASONS = ['UNKNOWN_SUBJECT', 'NAME_DIFFERS'] as const;
export type UnmatchedReason = (typeof UNMATCHED_REASONS)[number];

/** CANCELLED: never to be sent (the person withdrew sharing with that county, or was erased); not pushed, not pulled. */
export const OUTBOUND_STATUSES = ['QUEUED', 'DELIVERED', 'FAILED', 'CANCELLED'] as const;
export type OutboundStatus = (typeof OUTBOUND_STATUSES)[number];

/**
 * Records partners sent us, stored verbatim (the compact JWS, encrypted with the data key: it is personal data)
 * so they can be re-verified later. Nothing personal is kept in clear: the subject is an HMAC of the ID number.
 */
export const inboundRecords = pgTable(
  'exchange_inbound_records',
  {
    issuer: text()
      .notNull()
      .references(() => partners.countyCode),
    /** The record's own `id` (chosen by the issuer). */
    id: uuid().notNull(),
    type: text().$type<RecordType>().notNull(),
    ref: uuid(),
    /** The record's `iat`. */
    issuedAt: timestamp({ withTimezone: true }).notNull(),
    signedKid: text().notNull(),
    /** Null once erased (the subject's personal data was removed; see erasedAt). */
    jwsEnc: text(),
    /**
     * HMAC of the canonical payload: same id + same hash is a DUPLICATE, same id + other hash is ID_REUSED. Kept
     * after erasure, so a partner re-sending an erased record gets DUPLICATE and it is not stored again.
     */
    contentHmac: text().notNull(),
    /** HMAC of the subject's ID number, for matching to a person of the registry; null once erased. */
    subjectIdHmac: text(),
    state: text({ enum: INBOUND_STATES }).notNull(),
    unmatchedReason: text({ enum: UNMATCHED_REASONS }),
    /** The registry person the record was applied to. */
    personId: uuid().references(() => people.id, { onDelete: 'set null' }),
    receivedAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    appliedAt: timestamp({ withTimezone: true }),
    /** When the record's personal content was removed (erasure of its subject). */
    erasedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    // Each index is one more entry to write per record stored (the exchange ingest stores thousands a second); what
    // reads each (docs/performance.md, "Exchange ingest"):
    // the key: storing (ON CONFLICT), DUPLICATE/ID_REUSED, GET /records/{id}, resolving, retention's strip.
    primaryKey({ columns: [t.issuer, t.id] }),
    // exchangeInbox, newest first (unfiltered, or by partner, type or state APPLIED: most rows are APPLIED).
    index('exchange_inbound_received_idx').on(t.receivedAt),
    // exchangeInbox by state RECEIVED or UNMATCHED, and retention's UNMATCHED records past their time: APPLIED rows,
    // nearly all of them, have no entry (the received index serves that state).
    index('exchange_inbound_state_idx').on(t.state, t.receivedAt).where(sql`${t.state} <> 'APPLIED'`),
    // erasure (records about a person's ID number, unmatched or linked to someone else) and retention (a notice's).
    index('exchange_inbound_subject_idx').on(t.subjectIdHmac),
    // erasure (records applied to the person) and the foreign key's ON DELETE SET NULL.
    index('exchange_inbound_person_idx').on(t.personId),
  ],
);

/**
 * The transactional outbox: records this county issued, already signed (JWS encrypted at rest), queued in the
 * transaction of the change that caused them. The delivery worker pushes them; partners may also pull them in
 * `seq` order, which the publish step assigns after commit (see exchange/outbox.ts).
 */
export const outboundRecords = pgTable(
  'exchange_outbound_records',
  {
    id: uuid().primaryKey(),
    partnerCode: text()
      .notNull()
      .references(() => partners.countyCode),
    type: text().$type<RecordType>().notNull(),
    ref: uuid(),
    signedKid: text().notNull(),
    /** Null once erased (see erasedAt). */
    jwsEnc: text(),
    /** Null once erased. */
    subjectIdHmac: text(),
    /** Our resident the record is about, when it is one (records about a partner's resident here have none). */
    personId: uuid().references(() => people.id, { onDelete: 'set null' }),
    status: text({ enum: OUTBOUND_STATUSES }).notNull().default('QUEUED'),
    attempts: integer().notNull().default(0),
    /**
     * The claim of the delivery worker pushing the record now (a random token per run): only the holder may renew
     * the lease or record the outcome. Null when no one holds it.
     */
    claimToken: uuid(),
    /** When the worker may (re)try; while a worker holds a claim, the end of its lease. */
    nextAttemptAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    lastAttemptAt: timestamp({ withTimezone: true }),
    /** Transport error or the partner's rejection reason. */
    lastError: text(),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deliveredAt: timestamp({ withTimezone: true }),
    /** Pull order, assigned after commit by the publish step; null until then. */
    seq: bigint({ mode: 'number' }),
    erasedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('exchange_outbound_seq_idx').on(t.seq),
    index('exchange_outbound_partner_seq_idx').on(t.partnerCode, t.seq),
    // The delivery claim reads each partner's due rows in this order, a page at a time (see DeliveryWorker.claim).
    index('exchange_outbound_due_idx').on(t.partnerCode, t.nextAttemptAt, t.id).where(sql`${t.status} = 'QUEUED'`),
    index('exchange_outbound_unpublished_idx').on(t.createdAt).where(sql`${t.seq} is null`),
    index('exchange_outbound_kid_idx').on(t.signedKid).where(sql`${t.status} = 'QUEUED'`),
    index('exchange_outbound_person_idx').on(t.personId),
    index('exchange_outbound_subject_idx').on(t.subjectIdHmac),
    // The delivery claim asks, per due record, whether its person has another record to that partner in flight or
    // waiting for its retry: a lookup among queued rows only, whatever the statistics say.
    index('exchange_outbound_queued_subject_idx').on(t.partnerCode, t.subjectIdHmac).where(sql`${t.status} = 'QUEUED'`),
  ],
);

/** Transport-token ids already used, per issuer, kept until the token expires: the replay check of every instance. */
export const seenTokens = pgTable(
  'exchange_seen_tokens',
  {
    issuer: text().notNull(),
    jti: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.jti] }), index('exchange_seen_tokens_expiry_idx').on(t.expiresAt)],
);
