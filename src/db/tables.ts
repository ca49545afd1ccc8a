import { jsonb, pgTable, text } from 'drizzle-orm/pg-core';

/** Small install-wide facts, e.g. the fingerprint of the data keys this database was written with. */
export const settings = pgTable('settings', {
  key: text().primaryKey(),
  value: jsonb().notNull(),
});
