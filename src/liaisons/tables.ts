import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** 联络员: a contact in a partner county's office or a destination city who passes notices and checks facts. */
export const liaisonContacts = pgTable(
  'liaison_contacts',
  {
    id: uuid().primaryKey().defaultRandom(),
    name: text().notNull(),
    organisation: text().notNull(),
    /** The partner county (6-digit code) the contact works in. */
    countyCode: text().notNull(),
    phone: text(),
    role: text(),
    active: boolean().notNull().default(true),
    notes: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('liaison_contacts_county_idx').on(t.countyCode, t.active)],
);
