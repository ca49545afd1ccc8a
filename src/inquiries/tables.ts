import { sql } from 'drizzle-orm';
import { bigint, date, index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ACTOR_TYPES } from '../audit/tables';
import { INQUIRY_PURPOSES, REPLY_RESULTS, URGENCIES } from '../exchange/bodies';
import { incomingNotices } from '../notices/tables';
import { partners } from '../partners/tables';
import { people } from '../people/tables';

export const INQUIRY_DIRECTIONS = ['OUTBOUND', 'INBOUND'] as const;
export type InquiryDirection = (typeof INQUIRY_DIRECTIONS)[number];

/** OUTBOUND: SENT, ANSWERED, CLOSED. INBOUND: RECEIVED, UNMATCHED, MATCHED, VERIFIED, ANSWERED, CLOSED (lifecycle.ts). */
export const INQUIRY_STATUSES = ['SENT', 'RECEIVED', 'UNMATCHED', 'MATCHED', 'VERIFIED', 'ANSWERED', 'CLOSED'] as const;
export type InquiryStatus = (typeof INQUIRY_STATUSES)[number];

/** Waiting for an answer: ours (INBOUND) or the partner's (OUTBOUND). Past its due date, such an inquiry is overdue. */
export const OPEN_INQUIRY_STATUSES = ['SENT', 'RECEIVED', 'UNMATCHED', 'MATCHED', 'VERIFIED'] as const satisfies readonly InquiryStatus[];
const OPEN_SQL = sql.raw(`(${OPEN_INQUIRY_STATUSES.map((s) => `'${s}'`).join(', ')})`);

/**
 * 协查: a request to verify something for a listed service purpose, in either direction. OUTBOUND: we asked a
 * partner county about our resident (or a partner's resident here). INBOUND: a partner asked us; matched, it is a
 * task for the home village official (person) or the county administrators (a partner's resident here, or no one).
 * `villageCode`/`townCode` are the person's, for jurisdiction; null means county level. Question, answer and the
 * subject's name are personal data, cleared on erasure.
 */
export const inquiries = pgTable(
  'inquiries',
  {
    id: uuid().primaryKey().defaultRandom(),
    direction: text({ enum: INQUIRY_DIRECTIONS }).notNull(),
    partnerCode: text()
      .notNull()
      .references(() => partners.countyCode),
    /** The INQUIRY record's id: ours when OUTBOUND, the partner's when INBOUND. */
    recordId: uuid().notNull(),
    personId: uuid().references(() => people.id, { onDelete: 'set null' }),
    noticeId: uuid().references(() => incomingNotices.id),
    villageCode: text(),
    townCode: text(),
    subjectName: text(),
    subjectIdMasked: text(),
    purpose: text({ enum: INQUIRY_PURPOSES }).notNull(),
    question: text(),
    urgency: text({ enum: URGENCIES }).notNull(),
    /** The date (UTC+8) the INQUIRY record was issued. */
    issuedOn: date({ mode: 'string' }).notNull(),
    dueOn: date({ mode: 'string' }).notNull(),
    status: text({ enum: INQUIRY_STATUSES }).notNull(),
    result: text({ enum: REPLY_RESULTS }),
    answer: text(),
    /** The INQUIRY_REPLY record: ours when INBOUND, the partner's when OUTBOUND. */
    replyRecordId: uuid(),
    answeredAt: timestamp({ withTimezone: true }),
    closedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    erasedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('inquiries_record_uq').on(t.partnerCode, t.direction, t.recordId),
    index('inquiries_person_idx').on(t.personId),
    index('inquiries_notice_idx').on(t.noticeId),
    // lists by jurisdiction, soonest due first; overdue ones are a range of them (due before the day)
    index('inquiries_village_idx').on(t.villageCode, t.dueOn, t.id),
    index('inquiries_town_idx').on(t.townCode, t.dueOn, t.id),
    index('inquiries_list_idx').on(t.dueOn, t.id),
    index('inquiries_open_idx').on(t.dueOn, t.id).where(sql`${t.status} in ${OPEN_SQL}`),
  ],
);

/** Append-only (trigger): every action on an inquiry, who took it (and in which role) and when. No personal data. */
export const inquiryEvents = pgTable(
  'inquiry_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    inquiryId: uuid()
      .notNull()
      .references(() => inquiries.id),
    action: text().notNull(),
    fromStatus: text({ enum: INQUIRY_STATUSES }),
    toStatus: text({ enum: INQUIRY_STATUSES }).notNull(),
    actorType: text({ enum: ACTOR_TYPES }).notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('inquiry_events_inquiry_idx').on(t.inquiryId, t.id)],
);
