import { sql } from 'drizzle-orm';
import { date, index, pgTable, text, timestamp, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { agreements } from '../agreements/tables';
import { liaisonContacts } from '../liaisons/tables';
import { people, SERVICE_NEEDS } from '../people/tables';

export const ARRIVALS = ['IN_PERSON', 'PHONE', 'MESSAGE', 'LIAISON', 'ASSOCIATION', 'PARTNER_COUNTY'] as const;
export type Arrival = (typeof ARRIVALS)[number];
export const WORK_STATUSES = ['EMPLOYED', 'SEEKING', 'NOT_WORKING'] as const;

/**
 * A periodic status report. One current report per person and period; amending one marks it superseded and links
 * the new one to it, so history is kept.
 */
export const statusReports = pgTable(
  'status_reports',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    agreementId: uuid().references(() => agreements.id, { onDelete: 'set null' }),
    villageCode: text().notNull(),
    period: text().notNull(),
    periodStart: date({ mode: 'string' }).notNull(),
    periodEnd: date({ mode: 'string' }).notNull(),
    arrival: text({ enum: ARRIVALS }).notNull(),
    reportedOn: date({ mode: 'string' }).notNull(),
    placeCountyCode: text(),
    placeTown: text(),
    placeArea: text(),
    employer: text(),
    workStatus: text({ enum: WORK_STATUSES }),
    phone: text(),
    needs: text({ enum: SERVICE_NEEDS }).array().notNull().default(sql`'{}'::text[]`),
    needsNote: text(),
    note: text(),
    liaisonContactId: uuid().references(() => liaisonContacts.id),
    supersedesId: uuid().references((): AnyPgColumn => statusReports.id),
    supersededAt: timestamp({ withTimezone: true }),
    recordedByType: text().notNull(),
    recordedById: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('status_reports_current_uq').on(t.personId, t.period).where(sql`${t.supersededAt} is null`),
    index('status_reports_person_idx').on(t.personId, t.periodStart),
    // No index on agreement_id: no statement reads reports by agreement, and agreements are never deleted (the
    // foreign key's ON DELETE SET NULL would scan the table then). It cost one more entry per report written.
    // the supervision dashboard reads a town's reports of the periods it grades from this index alone
    index('status_reports_village_idx').on(t.villageCode, t.periodEnd, t.periodStart, t.personId, t.reportedOn, t.createdAt),
  ],
);
