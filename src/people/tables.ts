import { sql } from 'drizzle-orm';
import { bigint, date, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { divisions } from '../jurisdiction/tables';
import { liaisonContacts } from '../liaisons/tables';

export const PERSON_STATUSES = ['AWAY', 'RETURNED', 'WITHDRAWN'] as const;
export type PersonStatus = (typeof PERSON_STATUSES)[number];

/**
 * A resident working away from home. The ID number is kept only encrypted (`idNumberEnc`), as a keyed hash for exact
 * matching (`idNumberHmac`, unique: one person per ID number) and in its masked display form. Current place is
 * county/town level plus a free-text area, never a trail. After erasure the personal columns are null.
 *
 * Stored with `fillfactor` 90 (migration 0022, not modelled by drizzle): the room left on each page lets an update
 * that changes no indexed column (phone, town, area, employer, occupation, as partners' records and reports bring)
 * be HOT, writing none of the indexes below. Updates set only the columns that changed (planContactChanges), so an
 * unchanged `current_county_code` (indexed, for the destination filter) does not spoil that.
 */
export const people = pgTable(
  'people',
  {
    id: uuid().primaryKey().defaultRandom(),
    name: text().notNull(),
    idNumberEnc: text(),
    idNumberHmac: text(),
    idNumberMasked: text(),
    homeVillageCode: text()
      .notNull()
      .references(() => divisions.code),
    /** Town of the home village (denormalised from the village code) so town-wide lists use an index. */
    homeTownCode: text().notNull(),
    phone: text(),
    currentCountyCode: text(),
    currentTown: text(),
    currentArea: text(),
    employer: text(),
    occupation: text(),
    departureDate: date({ mode: 'string' }),
    status: text({ enum: PERSON_STATUSES }).notNull().default('AWAY'),
    liaisonContactId: uuid().references(() => liaisonContacts.id),
    returnedOn: date({ mode: 'string' }),
    withdrawnAt: timestamp({ withTimezone: true }),
    /** When the personal data was removed after the retention period; the row stays for statistics. */
    erasedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('people_id_hmac_uq').on(t.idNumberHmac),
    index('people_village_name_idx').on(t.homeVillageCode, sql`${t.name} collate "C"`, t.id),
    index('people_town_name_idx').on(t.homeTownCode, sql`${t.name} collate "C"`, t.id),
    index('people_name_idx').on(sql`${t.name} collate "C"`, t.id),
    index('people_destination_idx').on(t.currentCountyCode),
    index('people_erasure_idx').on(t.status, t.withdrawnAt).where(sql`${t.erasedAt} is null`),
  ],
);

export const RELATIONS = ['CHILD', 'GRANDCHILD', 'PARENT', 'GRANDPARENT', 'SPOUSE', 'OTHER'] as const;
export const AGE_BANDS = ['UNDER_3', 'AGE_3_5', 'AGE_6_11', 'AGE_12_14', 'AGE_15_17', 'AGE_18_59', 'AGE_60_69', 'AGE_70_79', 'AGE_80_PLUS'] as const;
export const SERVICE_NEEDS = [
  'WAGE_ARREARS',
  'SOCIAL_INSURANCE_TRANSFER',
  'SCHOOL_PLACE',
  'ELDER_CARE',
  'HARDSHIP_ASSISTANCE',
  'LEGAL_AID',
  'OTHER',
] as const;
export type ServiceNeed = (typeof SERVICE_NEEDS)[number];

/** A left-behind child or elder: relation and age band only (no names or birth dates for children), plus who cares for them. */
export const dependants = pgTable(
  'dependants',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    relation: text({ enum: RELATIONS }).notNull(),
    ageBand: text({ enum: AGE_BANDS }).notNull(),
    caregiverName: text(),
    caregiverPhone: text(),
    serviceNeeds: text({ enum: SERVICE_NEEDS }).array().notNull().default(sql`'{}'::text[]`),
    note: text(),
  },
  (t) => [index('dependants_person_idx').on(t.personId)],
);

export const CONSENT_KINDS = ['AGREEMENT', 'PARTNER_SHARING', 'ASSOCIATION_MEMBERSHIP'] as const;
export type ConsentKind = (typeof CONSENT_KINDS)[number];
export const CONSENT_METHODS = ['PAPER', 'PHONE', 'IN_PERSON', 'ONLINE'] as const;

/**
 * What a person agreed to, and when they withdrew it. `scope` is the partner county code (sharing) or the
 * association id (membership). Rows are never deleted: withdrawal sets `withdrawnAt`.
 */
export const consents = pgTable(
  'consents',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    kind: text({ enum: CONSENT_KINDS }).notNull(),
    scope: text().notNull().default(''),
    method: text({ enum: CONSENT_METHODS }).notNull(),
    givenOn: date({ mode: 'string' }).notNull(),
    recordedBy: text(),
    withdrawnAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index('consents_person_idx').on(t.personId),
    uniqueIndex('consents_active_uq').on(t.personId, t.kind, t.scope).where(sql`${t.withdrawnAt} is null`),
    index('consents_scope_idx').on(t.kind, t.scope).where(sql`${t.withdrawnAt} is null`),
  ],
);

/**
 * Changes to a person made through a channel (a report, a partner county, an association, an official's edit):
 * what changed, by whom. Officials' "recent changes" feed reads this. Values are not stored, only field names.
 */
export const personChanges = pgTable(
  'person_changes',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    homeVillageCode: text().notNull(),
    /** The home town (the village code's first 9 digits), kept by the database so the town feed has its own index. */
    homeTownCode: text()
      .notNull()
      .generatedAlwaysAs(sql`left(home_village_code, 9)`),
    fields: text().array().notNull(),
    source: text().notNull(),
    actorType: text().notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    details: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [
    index('person_changes_village_idx').on(t.homeVillageCode, t.id),
    index('person_changes_town_idx').on(t.homeTownCode, t.id),
    index('person_changes_person_idx').on(t.personId),
  ],
);
