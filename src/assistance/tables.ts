import { sql } from 'drizzle-orm';
import { check, date, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { incomingNotices } from '../notices/tables';
import { people, SERVICE_NEEDS } from '../people/tables';

/**
 * A service delivered to a person away from home (help with wage arrears, a school place for a child...): by a
 * partner county to our resident (a SERVICE_DELIVERED record), or by us, to our resident or to a partner's
 * resident here (an incoming notice), and then told to the other county. Codes only, plus a short note.
 */
export const servicesDelivered = pgTable(
  'services_delivered',
  {
    id: uuid().primaryKey().defaultRandom(),
    personId: uuid().references(() => people.id, { onDelete: 'cascade' }),
    noticeId: uuid().references(() => incomingNotices.id),
    /** The person's home village (for jurisdiction); null for a partner's resident. */
    villageCode: text(),
    service: text({ enum: SERVICE_NEEDS }).notNull(),
    deliveredOn: date({ mode: 'string' }).notNull(),
    note: text(),
    /** The county that delivered it: a partner's code, or ours. */
    deliveredBy: text().notNull(),
    /** The exchange record that carried it (the partner's, or ours). */
    recordId: uuid(),
    actorType: text().notNull(),
    actorId: text(),
    actorRole: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('services_delivered_one_subject', sql`(${t.personId} is null) <> (${t.noticeId} is null)`),
    index('services_delivered_person_idx').on(t.personId, t.deliveredOn),
    index('services_delivered_notice_idx').on(t.noticeId, t.deliveredOn),
  ],
);
