import { date, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/tables';
import { people } from '../people/tables';

/** What a rating holds, held or published: the village and official rated, the period, the score and comment. */
const ratingColumns = () => ({
  id: uuid().primaryKey().defaultRandom(),
  villageCode: text().notNull(),
  townCode: text().notNull(),
  officialUserId: uuid().references(() => users.id),
  period: text().notNull(),
  score: integer().notNull(),
  comment: text(),
});

/**
 * One published rating of a village official's service for a period. Deliberately anonymous: no person, agreement,
 * token id or address, and published only in shuffled batches of at least the minimum group size (from
 * `rating_submissions`), so neither its content nor when it appeared points at who gave it. `submittedOn` is the day
 * its batch was published, the same for every rating of the batch; figures count ratings by `period`, the one rated.
 */
export const serviceRatings = pgTable(
  'service_ratings',
  { ...ratingColumns(), submittedOn: date({ mode: 'string' }).notNull() },
  // by village and rated period: the dashboard counts ratings by the period rated, ratingGroups groups by it
  (t) => [index('service_ratings_village_period_idx').on(t.villageCode, t.period), index('service_ratings_town_idx').on(t.townCode, t.submittedOn)],
);

/**
 * Ratings received but not yet published: held (with what a published rating holds, nothing more) until the
 * village has enough of them for the period, then moved to `service_ratings` together in random order.
 */
export const ratingSubmissions = pgTable(
  'rating_submissions',
  ratingColumns(),
  (t) => [index('rating_submissions_group_idx').on(t.villageCode, t.period)],
);

/**
 * Rating links already used: the token id (single use), and the person and period it was for (one rating per
 * person and period, whatever agreement version or however many links). Never linked to the rating itself.
 */
export const spentRatingTokens = pgTable(
  'spent_rating_tokens',
  {
    jti: text().primaryKey(),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    period: text().notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [uniqueIndex('spent_rating_tokens_person_period_uq').on(t.personId, t.period)],
);
