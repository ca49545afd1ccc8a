import { sql } from 'drizzle-orm';
import { date, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { agreements } from '../agreements/tables';
import { users } from '../auth/tables';
import { people } from '../people/tables';

export const NOTIFICATION_KINDS = ['REPORT_DUE_SOON', 'REPORT_OVERDUE', 'RATING_INVITATION', 'OVERDUE_SUMMARY', 'INQUIRY_DUE_SOON', 'QUARTERLY_WARNING'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];
export const NOTIFICATION_STATUSES = ['PENDING', 'SENDING', 'SENT', 'FAILED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
/** INBOX: a registry user's in-app messages. LOG: the default for people (database and log). SMS: the gateway. */
/** Once per kind, recipient and period: the outbox's unique key, whoever queues the message. */
export const notificationKey = (kind: NotificationKind, recipient: string, period: string) => `${kind}:${recipient}:${period}`;

export const CHANNELS = ['INBOX', 'LOG', 'SMS'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * The outbox: one row per reminder, created before anything is sent. `dedupeKey` (kind, recipient, period) is
 * unique, so however often the daily job runs, each reminder exists once; a sender claims rows (SKIP LOCKED, with a
 * lease and a claim token) so several instances never send the same row at the same time. No phone number is kept
 * here: it is read from the person when sending.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid().primaryKey().defaultRandom(),
    dedupeKey: text().notNull().unique(),
    kind: text({ enum: NOTIFICATION_KINDS }).notNull(),
    channel: text({ enum: CHANNELS }).notNull(),
    personId: uuid().references(() => people.id, { onDelete: 'cascade' }),
    userId: uuid().references(() => users.id),
    /** The reporting period, week or inquiry the reminder is about. */
    period: text().notNull(),
    /**
     * The text as readable here (administrators list the outbox). A rating invitation holds no link, only the slot
     * for it: the link is signed for `agreementId` and `period` when the message is sent, so nobody who can read the
     * outbox can rate in the person's name.
     */
    body: text().notNull(),
    /** The agreement a rating invitation is for (other kinds: null). */
    agreementId: uuid().references(() => agreements.id, { onDelete: 'cascade' }),
    status: text({ enum: NOTIFICATION_STATUSES }).notNull().default('PENDING'),
    attempts: integer().notNull().default(0),
    nextAttemptAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    claimToken: uuid(),
    claimedUntil: timestamp({ withTimezone: true }),
    lastError: text(),
    sentAt: timestamp({ withTimezone: true }),
    readAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('notifications_due_idx').on(t.nextAttemptAt).where(sql`${t.status} in ('PENDING', 'SENDING')`),
    index('notifications_status_idx').on(t.status, t.createdAt),
    index('notifications_user_idx').on(t.userId, t.createdAt),
    index('notifications_person_idx').on(t.personId),
  ],
);

/** One row per day the reminder job has planned: lets the in-server scheduler plan once a day across instances. */
export const reminderRuns = pgTable('reminder_runs', {
  runDate: date({ mode: 'string' }).primaryKey(),
  startedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  finishedAt: timestamp({ withTimezone: true }),
  planned: integer().notNull().default(0),
});
