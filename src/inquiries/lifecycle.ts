import { conflict } from '../errors';
import { lifecycle } from '../lifecycle';
import type { InquiryDirection, InquiryStatus } from './tables';

export const INQUIRY_ACTIONS = [
  'MATCH',
  'MARK_UNMATCHED',
  'VERIFY',
  'ANSWER_VERIFIED',
  'ANSWER_UNMATCHED',
  'ANSWER_DECLINED',
  'RECEIVE_REPLY',
  'CLOSE',
] as const;
export type InquiryAction = (typeof INQUIRY_ACTIONS)[number];

/** Where each direction starts: we SENT it, or a partner's was RECEIVED (then matched or not, in the same transaction). */
export const INITIAL_INQUIRY_STATUS = { OUTBOUND: 'SENT', INBOUND: 'RECEIVED' } as const satisfies Record<InquiryDirection, InquiryStatus>;

/**
 * OUTBOUND: sent -> answered (the partner's reply arrived) -> closed; a sent inquiry may also be closed unanswered.
 * INBOUND: received -> matched to a local record (or unmatched) -> verified -> answered -> closed. A verified answer
 * needs a verified inquiry and an UNMATCHED answer an unmatched one; declining is always possible before answering.
 * Linking an unmatched inquiry to a person matches it.
 */
const LIFECYCLES = {
  OUTBOUND: lifecycle<InquiryStatus, InquiryAction>(INQUIRY_ACTIONS, {
    SENT: { RECEIVE_REPLY: 'ANSWERED', CLOSE: 'CLOSED' },
    ANSWERED: { CLOSE: 'CLOSED' },
    CLOSED: {},
    RECEIVED: {},
    UNMATCHED: {},
    MATCHED: {},
    VERIFIED: {},
  }),
  INBOUND: lifecycle<InquiryStatus, InquiryAction>(INQUIRY_ACTIONS, {
    RECEIVED: { MATCH: 'MATCHED', MARK_UNMATCHED: 'UNMATCHED' },
    UNMATCHED: { MATCH: 'MATCHED', ANSWER_UNMATCHED: 'ANSWERED', ANSWER_DECLINED: 'ANSWERED' },
    MATCHED: { VERIFY: 'VERIFIED', ANSWER_DECLINED: 'ANSWERED' },
    VERIFIED: { ANSWER_VERIFIED: 'ANSWERED', ANSWER_DECLINED: 'ANSWERED' },
    ANSWERED: { CLOSE: 'CLOSED' },
    CLOSED: {},
    SENT: {},
  }),
};

export function allowedInquiryActions(direction: InquiryDirection, status: InquiryStatus): InquiryAction[] {
  return LIFECYCLES[direction].allowed(status);
}

export function nextInquiryStatus(direction: InquiryDirection, status: InquiryStatus, action: InquiryAction): InquiryStatus | null {
  return LIFECYCLES[direction].next(status, action);
}

/** The status the action leads to; CONFLICT naming what the inquiry allows instead. */
export function requireInquiryTransition(direction: InquiryDirection, status: InquiryStatus, action: InquiryAction): InquiryStatus {
  const to = nextInquiryStatus(direction, status, action);
  if (!to) throw conflict(`an ${direction} inquiry that is ${status} cannot ${action}`, { status, allowed: allowedInquiryActions(direction, status) });
  return to;
}

/** The answering action for a reply result. */
export const ANSWER_ACTION = { VERIFIED: 'ANSWER_VERIFIED', UNMATCHED: 'ANSWER_UNMATCHED', DECLINED: 'ANSWER_DECLINED' } as const satisfies Record<string, InquiryAction>;
