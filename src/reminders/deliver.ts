import crypto from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { rows } from '../db/client';
import type { Deps } from '../deps';
import { people } from '../people/tables';
import { ratingInvitationText } from '../ratings/service';
import { nextNotificationStatus, retryDelaySeconds } from './lifecycle';
import { NotifierError, type Notifier } from './notifier';
import { notifications, type NotificationStatus } from './tables';

type Notification = typeof notifications.$inferSelect;

export interface DeliveryOptions {
  /** The clock (tests move it forward to pass backoff delays and leases). */
  now?: () => Date;
  /** Stops between messages (graceful shutdown); what is claimed but not sent is released. */
  signal?: AbortSignal;
  batchSize?: number;
}

export interface DeliveryResult {
  sent: number;
  retrying: number;
  failed: number;
}

/**
 * Claims a batch: due PENDING rows, and SENDING rows whose lease ran out (their sender died mid-way). SKIP LOCKED
 * lets several instances claim side by side without waiting for or taking each other's rows; the claim token makes
 * a late answer from a sender that lost its lease change nothing.
 */
async function claim(deps: Deps, token: string, now: Date, batchSize: number): Promise<Notification[]> {
  // Raw SQL takes instants as ISO text: the drivers disagree on Date parameters.
  const at = now.toISOString();
  const leaseUntil = new Date(now.getTime() + deps.config.reminders.leaseSeconds * 1000).toISOString();
  const claimed = await rows<{ id: string }>(
    deps.db,
    sql`update notifications set status = ${nextNotificationStatus('PENDING', 'CLAIM')}, claim_token = ${token}, claimed_until = ${leaseUntil}::timestamptz, attempts = attempts + 1
        where id in (
          select id from notifications
          where (status = 'PENDING' and next_attempt_at <= ${at}::timestamptz) or (status = 'SENDING' and claimed_until < ${at}::timestamptz)
          order by next_attempt_at, id
          limit ${batchSize}
          for update skip locked)
        returning id`,
  );
  if (claimed.length === 0) return [];
  return deps.db.select().from(notifications).where(inArray(notifications.id, claimed.map((c) => c.id)));
}

/** Renews the lease just before sending; false when another sender has taken the row over (our lease ran out). */
async function stillMine(deps: Deps, n: Notification, token: string, now: Date): Promise<boolean> {
  const renewed = await deps.db
    .update(notifications)
    .set({ claimedUntil: new Date(now.getTime() + deps.config.reminders.leaseSeconds * 1000) })
    .where(and(eq(notifications.id, n.id), eq(notifications.claimToken, token), eq(notifications.status, 'SENDING')))
    .returning({ id: notifications.id });
  return renewed.length > 0;
}

async function finish(deps: Deps, n: Notification, token: string, status: NotificationStatus, set: Partial<Notification>): Promise<void> {
  await deps.db
    .update(notifications)
    .set({ ...set, status, claimToken: null, claimedUntil: null })
    .where(and(eq(notifications.id, n.id), eq(notifications.claimToken, token)));
}

/**
 * Sends what is due in the outbox. In-app messages (INBOX) are delivered by being there; LOG and SMS messages go to
 * the notifier. A transient failure is retried with exponential backoff up to REMINDER_MAX_ATTEMPTS, then FAILED;
 * a permanent one is FAILED at once. Failures stay visible to administrators with their last error.
 */
export async function deliverPending(deps: Deps, notifier: Notifier, opts: DeliveryOptions = {}): Promise<DeliveryResult> {
  const now = opts.now ?? (() => new Date());
  const result: DeliveryResult = { sent: 0, retrying: 0, failed: 0 };
  const { maxAttempts, retryBaseSeconds } = deps.config.reminders;
  for (;;) {
    if (opts.signal?.aborted) return result;
    const token = crypto.randomUUID();
    const batch = await claim(deps, token, now(), opts.batchSize ?? 20);
    if (batch.length === 0) return result;
    const phones = new Map(
      (
        await deps.db
          .select({ id: people.id, phone: people.phone })
          .from(people)
          .where(inArray(people.id, batch.flatMap((n) => (n.personId ? [n.personId] : []))))
      ).map((p) => [p.id, p.phone]),
    );
    for (const n of batch) {
      if (opts.signal?.aborted) {
        await finish(deps, n, token, nextNotificationStatus('SENDING', 'RELEASE'), { attempts: n.attempts - 1 });
        continue;
      }
      if (!(await stillMine(deps, n, token, now()))) continue;
      try {
        if (n.channel !== 'INBOX') {
          const body = n.kind === 'RATING_INVITATION' ? await ratingInvitationText(deps, n) : n.body;
          await notifier.send({ id: n.id, kind: n.kind, to: n.personId ? (phones.get(n.personId) ?? null) : null, body });
        }
        await finish(deps, n, token, nextNotificationStatus('SENDING', 'DELIVERED'), { sentAt: now(), lastError: null });
        result.sent += 1;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        const permanent = e instanceof NotifierError ? e.permanent : false;
        if (permanent || n.attempts >= maxAttempts) {
          await finish(deps, n, token, nextNotificationStatus('SENDING', 'GIVE_UP'), { lastError: message });
          result.failed += 1;
          deps.logger.warn({ notificationId: n.id, kind: n.kind, attempts: n.attempts, err: message }, 'reminder not sent');
        } else {
          const next = new Date(now().getTime() + retryDelaySeconds(n.attempts, retryBaseSeconds) * 1000);
          await finish(deps, n, token, nextNotificationStatus('SENDING', 'RETRY_LATER'), { lastError: message, nextAttemptAt: next });
          result.retrying += 1;
        }
      }
    }
  }
}
