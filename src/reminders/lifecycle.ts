import { conflict } from '../errors';
import type { NotificationStatus } from './tables';

/**
 * An outbox row's lifecycle: PENDING -> SENDING (claimed, with a lease) -> SENT, or back to PENDING to be retried
 * after a transient failure, or FAILED when it cannot be sent (or ran out of attempts). A SENDING row whose lease
 * ran out (its sender died) is claimed again. An administrator may requeue a FAILED row.
 */
export const NOTIFICATION_ACTIONS = ['CLAIM', 'DELIVERED', 'RETRY_LATER', 'GIVE_UP', 'RELEASE', 'REQUEUE'] as const;
export type NotificationAction = (typeof NOTIFICATION_ACTIONS)[number];

const NEXT: Record<NotificationStatus, Partial<Record<NotificationAction, NotificationStatus>>> = {
  PENDING: { CLAIM: 'SENDING' },
  SENDING: { CLAIM: 'SENDING', DELIVERED: 'SENT', RETRY_LATER: 'PENDING', GIVE_UP: 'FAILED', RELEASE: 'PENDING' },
  SENT: {},
  FAILED: { REQUEUE: 'PENDING' },
};

export function notificationActions(status: NotificationStatus): NotificationAction[] {
  return Object.keys(NEXT[status]) as NotificationAction[];
}

export function nextNotificationStatus(status: NotificationStatus, action: NotificationAction): NotificationStatus {
  const next = NEXT[status][action];
  if (!next) throw conflict(`a ${status} notification cannot ${action}`, { status, allowed: notificationActions(status) });
  return next;
}

/** Seconds to wait before attempt n+1 after n failed attempts: base, 2x, 4x... capped at a day. */
export function retryDelaySeconds(failedAttempts: number, baseSeconds: number): number {
  return Math.min(baseSeconds * 2 ** Math.max(0, failedAttempts - 1), 86_400);
}
