import { date, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { agreements } from '../agreements/tables';
import { users } from '../auth/tables';

/**
 * One rating of a village official's service for a period. Deliberately anonymous: no person, agreement or token
 * id, and only the day it was given, so a rating cannot be traced back to who gave it.
 */
export const serviceRatings = pgTable(
  'service_ratings',
  {
    id: uuid().primaryKey().defaultRandom(),
    villageCode: text().notNull(),
    townCode: text().notNull(),
    officialUserId: uuid().references(() => users.id),
    period: text().notNull(),
    score: integer().notNull(),
    comment: text(),
    submittedOn: date({ mode: 'string' }).notNull(),
  },
  (t) => [index('service_ratings_village_idx').on(t.villageCode, t.submittedOn), index('service_ratings_town_idx').on(t.townCode, t.submittedOn)],
);

/**
 * Rating links already used: the token id (single use) and the agreement and period it named (one rating per
 * agreement and period, however many links were handed out). Not linked to the rating itself.
 */
export const spentRatingTokens = pgTable(
  'spent_rating_tokens',
  {
    jti: text().primaryKey(),
    agreementId: uuid()
      .notNull()
      .references(() => agreements.id, { onDelete: 'cascade' }),
    period: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('spent_rating_tokens_agreement_period_uq').on(t.agreementId, t.period)],
);
