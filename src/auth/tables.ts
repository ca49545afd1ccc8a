import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const ROLES = ['COUNTY_ADMIN', 'TOWN_SUPERVISOR', 'VILLAGE_OFFICIAL', 'ASSOCIATION_STAFF'] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable('users', {
  id: uuid().primaryKey().defaultRandom(),
  /** Stored lower-case; unique. */
  username: text().notNull().unique(),
  displayName: text().notNull(),
  passwordHash: text().notNull(),
  role: text({ enum: ROLES }).notNull(),
  /** Town code (TOWN_SUPERVISOR), village code (VILLAGE_OFFICIAL), association id (ASSOCIATION_STAFF); null for admins. */
  scope: text(),
  disabledAt: timestamp({ withTimezone: true }),
  /** Bumped on disable, re-scope and password change: tokens carrying an older version stop working at once. */
  tokenVersion: integer().notNull().default(0),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  lastLoginAt: timestamp({ withTimezone: true }),
});

/** Failed-login counters, keyed by `user:<name>` and `ip:<address>`; in the database so every instance shares them. */
export const loginThrottle = pgTable('login_throttle', {
  key: text().primaryKey(),
  failures: integer().notNull(),
  windowStartedAt: timestamp({ withTimezone: true }).notNull(),
  lockedUntil: timestamp({ withTimezone: true }),
});
