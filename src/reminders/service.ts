import { and, desc, eq, gt, inArray, isNull, not, sql, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { todayIn } from '../calendar';
import type { Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { badInput, notFound, requireUuid } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize, authorizeUser } from '../policy/policy';
import { deliverPending, type DeliveryOptions, type DeliveryResult } from './deliver';
import { nextNotificationStatus } from './lifecycle';
import type { Notifier } from './notifier';
import { planReminders } from './plan';
import { NOTIFICATION_KINDS, NOTIFICATION_STATUSES, notifications, reminderRuns, type NotificationKind, type NotificationStatus } from './tables';

export type Notification = typeof notifications.$inferSelect;
export type ReminderRun = typeof reminderRuns.$inferSelect;

export interface RunResult extends DeliveryResult {
  date: string;
  planned: number;
}

/** The daily job (scheduler or `admin send-reminders`): plan the day's reminders, then send what is due. */
export async function runReminders(deps: Deps, caller: Caller, notifier: Notifier, opts: DeliveryOptions & { date?: string } = {}): Promise<RunResult> {
  authorize(caller.actor, 'reminder.run');
  const date = opts.date ?? todayIn(deps.config.timeZone, opts.now?.());
  const planned = await planReminders(deps, date, notifier.channel, opts.now?.());
  return { date, planned, ...(await deliverPending(deps, notifier, opts)) };
}

export interface NotificationFilter {
  status?: NotificationStatus | null;
  kind?: NotificationKind | null;
  /** Only messages that failed and wait for another attempt (true), or only the others (false). */
  retrying?: boolean | null;
}

/** The outbox, newest first, for administrators (failures are here with their last error). */
export async function listNotifications(deps: Deps, caller: Caller, f: NotificationFilter, first: number, beforeCreated?: [string, string]) {
  authorize(caller.actor, 'notification.read');
  const where: SQL[] = [];
  if (f.status) {
    if (!NOTIFICATION_STATUSES.includes(f.status)) throw badInput('status', 'unknown status');
    where.push(eq(notifications.status, f.status));
  }
  if (f.kind) {
    if (!NOTIFICATION_KINDS.includes(f.kind)) throw badInput('kind', 'unknown kind');
    where.push(eq(notifications.kind, f.kind));
  }
  if (f.retrying != null) {
    const retrying = and(eq(notifications.status, 'PENDING'), gt(notifications.attempts, 0))!;
    where.push(f.retrying ? retrying : not(retrying));
  }
  return page(deps.db, where, first, beforeCreated);
}

async function page(db: Db, where: SQL[], first: number, before?: [string, string]) {
  if (before) where.push(sql`(${notifications.createdAt}, ${notifications.id}) < (${before[0]}::timestamptz, ${before[1]}::uuid)`);
  const rows = await db.select().from(notifications).where(and(...where)).orderBy(desc(notifications.createdAt), desc(notifications.id)).limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}

export const isNotificationCursor = (v: unknown): v is [string, string] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && /^[0-9a-f-]{36}$/.test(v[1]);

/** A signed-in user's own in-app messages (summaries, inquiry reminders). */
export async function myMessages(deps: Deps, caller: Caller, unreadOnly: boolean, first: number, before?: [string, string]) {
  const me = authorizeUser(caller.actor, 'message.read');
  const where: SQL[] = [eq(notifications.userId, me.userId), eq(notifications.channel, 'INBOX')];
  if (unreadOnly) where.push(isNull(notifications.readAt));
  return page(deps.db, where, first, before);
}

export async function markMessageRead(deps: Deps, caller: Caller, id: string): Promise<Notification> {
  const me = authorizeUser(caller.actor, 'message.read');
  const [row] = await deps.db
    .update(notifications)
    .set({ readAt: sql`coalesce(${notifications.readAt}, now())` })
    .where(and(eq(notifications.id, requireUuid('id', id)), eq(notifications.userId, me.userId)))
    .returning();
  if (!row) throw notFound('Message', id);
  return row;
}

/** Puts a FAILED message back in the queue with fresh attempts (after fixing a phone number or the gateway). */
export async function requeueNotification(deps: Deps, caller: Caller, id: string): Promise<Notification> {
  authorize(caller.actor, 'notification.manage');
  return deps.db.transaction(async (tx) => {
    const [n] = await tx.select().from(notifications).where(eq(notifications.id, requireUuid('id', id))).for('update');
    if (!n) throw notFound('Notification', id);
    const [row] = await tx
      .update(notifications)
      .set({ status: nextNotificationStatus(n.status, 'REQUEUE'), attempts: 0, nextAttemptAt: new Date(), lastError: null })
      .where(eq(notifications.id, n.id))
      .returning();
    await appendAudit(tx, caller, { action: 'notification.requeue', targetType: 'Notification', targetId: n.id });
    return row!;
  });
}

export async function listReminderRuns(deps: Deps, caller: Caller, first: number): Promise<ReminderRun[]> {
  authorize(caller.actor, 'notification.read');
  return deps.db.select().from(reminderRuns).orderBy(desc(reminderRuns.runDate)).limit(first);
}

/** Erasure: reminders to erased people go (the outbox would otherwise keep who was reminded of what). */
export async function eraseNotifications(tx: Db, personIds: string[]): Promise<void> {
  await tx.delete(notifications).where(inArray(notifications.personId, personIds));
}
