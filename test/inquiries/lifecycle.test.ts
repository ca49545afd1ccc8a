import { describe, expect, it } from 'vitest';
import { allowedInquiryActions, INQUIRY_ACTIONS, nextInquiryStatus, requireInquiryTransition } from '../../src/inquiries/lifecycle';
import { INQUIRY_DIRECTIONS, INQUIRY_STATUSES, OPEN_INQUIRY_STATUSES } from '../../src/inquiries/tables';

// The transitions the lifecycle must implement, written out independently of the code: "direction status action" -> status.
const EXPECTED: Record<string, string> = {
  'OUTBOUND SENT RECEIVE_REPLY': 'ANSWERED',
  'OUTBOUND SENT CLOSE': 'CLOSED',
  'OUTBOUND ANSWERED CLOSE': 'CLOSED',
  'INBOUND RECEIVED MATCH': 'MATCHED',
  'INBOUND RECEIVED MARK_UNMATCHED': 'UNMATCHED',
  'INBOUND UNMATCHED MATCH': 'MATCHED',
  'INBOUND UNMATCHED ANSWER_UNMATCHED': 'ANSWERED',
  'INBOUND UNMATCHED ANSWER_DECLINED': 'ANSWERED',
  'INBOUND MATCHED VERIFY': 'VERIFIED',
  'INBOUND MATCHED ANSWER_DECLINED': 'ANSWERED',
  'INBOUND VERIFIED ANSWER_VERIFIED': 'ANSWERED',
  'INBOUND VERIFIED ANSWER_DECLINED': 'ANSWERED',
  'INBOUND ANSWERED CLOSE': 'CLOSED',
};

describe('inquiry lifecycle', () => {
  it('allows exactly the transitions of the table, in both directions, and refuses the rest with CONFLICT', () => {
    for (const direction of INQUIRY_DIRECTIONS) {
      for (const status of INQUIRY_STATUSES) {
        for (const action of INQUIRY_ACTIONS) {
          const key = `${direction} ${status} ${action}`;
          const to = EXPECTED[key] ?? null;
          expect(nextInquiryStatus(direction, status, action), key).toBe(to);
          expect(allowedInquiryActions(direction, status).includes(action), key).toBe(to !== null);
          if (to) expect(requireInquiryTransition(direction, status, action)).toBe(to);
          else expect(() => requireInquiryTransition(direction, status, action), key).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT', status }) }));
        }
      }
    }
  });

  it('counts as open exactly the statuses that still wait for an answer, and lets nothing out of CLOSED', () => {
    for (const direction of INQUIRY_DIRECTIONS) {
      for (const status of INQUIRY_STATUSES) {
        const canBeAnswered = allowedInquiryActions(direction, status).some((a) => a.startsWith('ANSWER_') || a === 'RECEIVE_REPLY' || a === 'MATCH' || a === 'VERIFY');
        if (canBeAnswered) expect(OPEN_INQUIRY_STATUSES, `${direction} ${status}`).toContain(status);
      }
      expect(allowedInquiryActions(direction, 'CLOSED')).toEqual([]);
    }
    expect([...OPEN_INQUIRY_STATUSES].sort()).toEqual(['MATCHED', 'RECEIVED', 'SENT', 'UNMATCHED', 'VERIFIED']);
  });
});
