import { sql } from 'drizzle-orm';
import { check, index, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * The home county and its towns and villages. Codes are hierarchical (GB/T 2260 county code, 9-digit town code,
 * 12-digit village code, as in the national statistical division codes), so "village V is in town T" is a prefix test.
 */
export const divisions = pgTable(
  'divisions',
  {
    code: text().primaryKey(),
    name: text().notNull(),
    level: text({ enum: ['COUNTY', 'TOWN', 'VILLAGE'] }).notNull(),
    parentCode: text(),
  },
  (t) => [
    index('divisions_parent_idx').on(t.parentCode),
    check('divisions_code_shape', sql`${t.code} ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$'`),
  ],
);
