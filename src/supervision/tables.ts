import { sql } from 'drizzle-orm';
import type { Config } from '../config';
import { bigint, date, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { agreements, commitmentItems } from '../agreements/tables';
import { users } from '../auth/tables';
import type { VillageFigures } from './dashboard';
import { AGE_BANDS, dependants, people, RELATIONS, SERVICE_NEEDS } from '../people/tables';

export const FINDINGS = ['KEPT', 'PARTLY_KEPT', 'BROKEN'] as const;
export type Finding = (typeof FINDINGS)[number];

/**
 * A town supervisor's check that a village official kept one of their commitments (third-party supervision). A check
 * is a dated fact and is never edited; only its follow-up is completed later.
 */
export const supervisionChecks = pgTable(
  'supervision_checks',
  {
    id: uuid().primaryKey().defaultRandom(),
    villageCode: text().notNull(),
    townCode: text().notNull(),
    officialUserId: uuid()
      .notNull()
      .references(() => users.id),
    /** The agreement checked, when the check was about one person's agreement. */
    agreementId: uuid().references(() => agreements.id, { onDelete: 'cascade' }),
    commitmentCode: text()
      .notNull()
      .references(() => commitmentItems.code),
    finding: text({ enum: FINDINGS }).notNull(),
    evidence: text().notNull(),
    checkedOn: date({ mode: 'string' }).notNull(),
    followUpDueOn: date({ mode: 'string' }),
    followUpDoneOn: date({ mode: 'string' }),
    followUpNote: text(),
    recordedBy: uuid().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('supervision_checks_town_idx').on(t.townCode, t.checkedOn), index('supervision_checks_village_idx').on(t.villageCode, t.checkedOn)],
);

/**
 * A visit to a left-behind child or elder (or a family in difficulty). Relation and age band are copied from the
 * dependant so the visit still counts after the dependant's record is erased.
 */
export const careVisits = pgTable(
  'care_visits',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    dependantId: uuid().references(() => dependants.id, { onDelete: 'set null' }),
    villageCode: text().notNull(),
    townCode: text().notNull(),
    relation: text({ enum: RELATIONS }).notNull(),
    ageBand: text({ enum: AGE_BANDS }).notNull(),
    visitedOn: date({ mode: 'string' }).notNull(),
    /** Who went (names and offices of the visitors). */
    visitors: text().notNull(),
    needsFound: text({ enum: SERVICE_NEEDS }).array().notNull().default(sql`'{}'::text[]`),
    note: text(),
    followUpDueOn: date({ mode: 'string' }),
    followUpDoneOn: date({ mode: 'string' }),
    followUpNote: text(),
    recordedBy: uuid().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('care_visits_town_idx').on(t.townCode, t.visitedOn), index('care_visits_person_idx').on(t.personId)],
);

/** Append-only history of every action on a check or visit (who, role, when). */
export const supervisionEvents = pgTable(
  'supervision_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    subjectType: text({ enum: ['CHECK', 'VISIT'] }).notNull(),
    subjectId: uuid().notNull(),
    action: text().notNull(),
    actorType: text().notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    details: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index('supervision_events_subject_idx').on(t.subjectId, t.id)],
);

/** A village's figures as stored with a quarter's warning, with the town it belonged to then. */
export type StoredVillageFigures = VillageFigures & { townCode: string | null };

/**
 * The quarterly warning's figures for every village of the county and the thresholds in force, stored the first
 * time a quarter is asked for after it ended and served from here ever after: the list for a past quarter never
 * changes, whatever is recorded or reconfigured later. Village figures only, no personal data.
 */
export const quarterlyWarnings = pgTable('quarterly_warnings', {
  quarter: text().primaryKey(),
  thresholds: jsonb().$type<Config['warningThresholds']>().notNull(),
  villages: jsonb().$type<StoredVillageFigures[]>().notNull(),
  computedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
