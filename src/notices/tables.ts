import { sql } from 'drizzle-orm';
import { bigint, date, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ACTOR_TYPES } from '../audit/tables';
import { partners } from '../partners/tables';
import { CADENCES } from '../reports/periods';

export const NOTICE_STATUSES = ['OPEN', 'ARRIVED', 'CLOSED'] as const;
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];

/** Why a notice closed: the person went home (either county said so), or an administrator dismissed it. */
export const NOTICE_CLOSE_REASONS = ['RETURNED_HOME', 'DISMISSED'] as const;
export type NoticeCloseReason = (typeof NOTICE_CLOSE_REASONS)[number];

/**
 * A partner county's resident coming to work here: what its DEPARTURE record announced (we are the destination
 * county). County administrators answer it with an ARRIVAL and then serve the person on the home county's behalf
 * (status reports, contact changes, services delivered, inquiries). Place is county/town level only. The subject's
 * ID number is kept only as its HMAC (for matching later records) and masked; the full number stays in the
 * encrypted stored record. Personal columns are cleared by the exchange's retention purge.
 */
export const incomingNotices = pgTable(
  'incoming_notices',
  {
    id: uuid().primaryKey().defaultRandom(),
    partnerCode: text()
      .notNull()
      .references(() => partners.countyCode),
    /** The DEPARTURE record's id (the partner's). */
    departureRecordId: uuid().notNull(),
    subjectIdHmac: text(),
    subjectIdMasked: text(),
    subjectName: text(),
    leftOn: date({ mode: 'string' }).notNull(),
    placeCountyCode: text().notNull(),
    placeTown: text(),
    placeArea: text(),
    phone: text(),
    employer: text(),
    cadence: text({ enum: CADENCES }).notNull(),
    agreementValidTo: date({ mode: 'string' }).notNull(),
    status: text({ enum: NOTICE_STATUSES }).notNull().default('OPEN'),
    arrivedOn: date({ mode: 'string' }),
    /** Our ARRIVAL record that answered it. */
    arrivalRecordId: uuid(),
    closeReason: text({ enum: NOTICE_CLOSE_REASONS }),
    closedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    erasedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('incoming_notices_record_uq').on(t.partnerCode, t.departureRecordId),
    index('incoming_notices_subject_idx').on(t.partnerCode, t.subjectIdHmac).where(sql`${t.status} <> 'CLOSED'`),
    index('incoming_notices_list_idx').on(t.createdAt, t.id),
    index('incoming_notices_closed_idx').on(t.closedAt).where(sql`${t.erasedAt} is null`),
  ],
);

/** Append-only (trigger): every action on an incoming notice, who did it and when. No personal data. */
export const incomingNoticeEvents = pgTable(
  'incoming_notice_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    noticeId: uuid()
      .notNull()
      .references(() => incomingNotices.id),
    action: text().notNull(),
    fromStatus: text({ enum: NOTICE_STATUSES }),
    toStatus: text({ enum: NOTICE_STATUSES }).notNull(),
    actorType: text({ enum: ACTOR_TYPES }).notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('incoming_notice_events_notice_idx').on(t.noticeId, t.id)],
);
