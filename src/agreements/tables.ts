import { sql } from 'drizzle-orm';
import { bigint, boolean, date, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { users } from '../auth/tables';
import { people } from '../people/tables';
import { CADENCES } from '../reports/periods';

export const AGREEMENT_STATUSES = ['DRAFT', 'ACTIVE', 'ENDED'] as const;
export type AgreementStatus = (typeof AGREEMENT_STATUSES)[number];
export const END_REASONS = ['RETURNED_HOME', 'WITHDRAWN', 'EXPIRED', 'REPLACED', 'DISCARDED'] as const;
export type EndReason = (typeof END_REASONS)[number];
export const SIGN_METHODS = ['PAPER', 'PHONE'] as const;
export const COMMITMENT_SIDES = ['OFFICIAL', 'PERSON'] as const;

/** The county's template of commitment items an agreement is built from. */
export const commitmentItems = pgTable('commitment_items', {
  code: text().primaryKey(),
  side: text({ enum: COMMITMENT_SIDES }).notNull(),
  textZh: text().notNull(),
  textEn: text().notNull(),
  sortOrder: integer().notNull(),
  active: boolean().notNull().default(true),
});

/**
 * 双向承诺书: one version of a mutual-commitment agreement. Amending or renewing makes a new row (version + 1,
 * `previousId`). There is no column for money taken from the person: the official commits to taking none.
 * `nextDue*` and `lastReportPeriod` are maintained whenever a report is recorded, so overdue lists are one indexed query.
 */
export const agreements = pgTable(
  'agreements',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    version: integer().notNull(),
    previousId: uuid().references((): AnyPgColumn => agreements.id),
    status: text({ enum: AGREEMENT_STATUSES }).notNull().default('DRAFT'),
    villageCode: text().notNull(),
    townCode: text().notNull(),
    officialUserId: uuid()
      .notNull()
      .references(() => users.id),
    officialCommitments: text().array().notNull(),
    personCommitments: text().array().notNull(),
    cadence: text({ enum: CADENCES }).notNull(),
    validFrom: date({ mode: 'string' }).notNull(),
    validTo: date({ mode: 'string' }),
    /** Partner counties the person agreed their record may be shared with. */
    sharingCounties: text().array().notNull().default(sql`'{}'::text[]`),
    officialSignedAt: timestamp({ withTimezone: true }),
    officialSignMethod: text({ enum: SIGN_METHODS }),
    officialSignRef: text(),
    personSignedAt: timestamp({ withTimezone: true }),
    personSignMethod: text({ enum: SIGN_METHODS }),
    personSignRef: text(),
    activatedAt: timestamp({ withTimezone: true }),
    endedAt: timestamp({ withTimezone: true }),
    endReason: text({ enum: END_REASONS }),
    endNote: text(),
    nextDuePeriod: text(),
    nextDueStart: date({ mode: 'string' }),
    nextDueOn: date({ mode: 'string' }),
    lastReportPeriod: text(),
    lastReportOn: date({ mode: 'string' }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('agreements_person_version_uq').on(t.personId, t.version),
    uniqueIndex('agreements_one_active_uq').on(t.personId).where(sql`${t.status} = 'ACTIVE'`),
    uniqueIndex('agreements_one_draft_uq').on(t.personId).where(sql`${t.status} = 'DRAFT'`),
    index('agreements_village_due_idx').on(t.villageCode, t.nextDueOn, t.id).where(sql`${t.status} = 'ACTIVE'`),
    index('agreements_town_due_idx').on(t.townCode, t.nextDueOn, t.id).where(sql`${t.status} = 'ACTIVE'`),
    index('agreements_due_idx').on(t.nextDueOn, t.id).where(sql`${t.status} = 'ACTIVE'`),
    index('agreements_valid_to_idx').on(t.validTo).where(sql`${t.status} = 'ACTIVE'`),
    // the supervision dashboard reads every version of a town's agreements from this index alone (dated facts, any status)
    index('agreements_village_dates_idx').on(t.villageCode, t.activatedAt, t.endedAt, t.personId, t.cadence, t.validFrom, t.validTo, t.version, t.id),
  ],
);

/** Append-only history of every action on an agreement (who, role, when). */
export const agreementEvents = pgTable(
  'agreement_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    agreementId: uuid()
      .notNull()
      .references(() => agreements.id, { onDelete: 'cascade' }),
    action: text().notNull(),
    actorType: text().notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    details: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index('agreement_events_agreement_idx').on(t.agreementId, t.id)],
);

export const COMPLAINT_STATUSES = ['OPEN', 'RESOLVED'] as const;

/** A report that someone asked the person for a deposit or guarantee money (不收取任何保证金和押金). */
export const depositComplaints = pgTable(
  'deposit_complaints',
  {
    id: uuid().primaryKey().defaultRandom(),
    agreementId: uuid()
      .notNull()
      .references(() => agreements.id, { onDelete: 'cascade' }),
    villageCode: text().notNull(),
    townCode: text().notNull(),
    description: text().notNull(),
    reportedOn: date({ mode: 'string' }).notNull(),
    recordedBy: uuid().references(() => users.id),
    status: text({ enum: COMPLAINT_STATUSES }).notNull().default('OPEN'),
    resolution: text(),
    resolvedAt: timestamp({ withTimezone: true }),
    resolvedBy: uuid().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('deposit_complaints_town_idx').on(t.townCode, t.status), index('deposit_complaints_agreement_idx').on(t.agreementId)],
);
