import { conflict } from '../errors';
import { lifecycle } from '../lifecycle';
import type { NoticeStatus } from './tables';

export const NOTICE_ACTIONS = ['RECORD_ARRIVAL', 'UPDATE_CONTACT', 'RECORD_SERVICE', 'SEND_REPORT', 'INQUIRE', 'RETURN_HOME', 'CLOSE'] as const;
export type NoticeAction = (typeof NOTICE_ACTIONS)[number];

/**
 * An incoming notice starts OPEN (the DEPARTURE arrived). Answering it with an ARRIVAL makes it ARRIVED; from then on
 * we report on the person to the home county. Contact changes, services and inquiries (in either direction) are
 * possible before and after arrival; the person going home (told by either county) or an administrator closes it.
 */
const NOTICE_LIFECYCLE = lifecycle<NoticeStatus, NoticeAction>(NOTICE_ACTIONS, {
  OPEN: { RECORD_ARRIVAL: 'ARRIVED', UPDATE_CONTACT: 'OPEN', RECORD_SERVICE: 'OPEN', INQUIRE: 'OPEN', RETURN_HOME: 'CLOSED', CLOSE: 'CLOSED' },
  ARRIVED: { UPDATE_CONTACT: 'ARRIVED', RECORD_SERVICE: 'ARRIVED', SEND_REPORT: 'ARRIVED', INQUIRE: 'ARRIVED', RETURN_HOME: 'CLOSED', CLOSE: 'CLOSED' },
  CLOSED: {},
});

export const allowedNoticeActions = (status: NoticeStatus): NoticeAction[] => NOTICE_LIFECYCLE.allowed(status);
export const nextNoticeStatus = (status: NoticeStatus, action: NoticeAction): NoticeStatus | null => NOTICE_LIFECYCLE.next(status, action);

export function requireNoticeTransition(status: NoticeStatus, action: NoticeAction): NoticeStatus {
  const to = nextNoticeStatus(status, action);
  if (!to) throw conflict(`a notice that is ${status} cannot ${action}`, { status, allowed: allowedNoticeActions(status) });
  return to;
}
