import { describe, expect, it } from 'vitest';
import { allowedNoticeActions, nextNoticeStatus, NOTICE_ACTIONS, requireNoticeTransition } from '../../src/notices/lifecycle';
import { NOTICE_STATUSES } from '../../src/notices/tables';

const EXPECTED: Record<string, string[]> = {
  OPEN: ['RECORD_ARRIVAL', 'UPDATE_CONTACT', 'RECORD_SERVICE', 'INQUIRE', 'RETURN_HOME', 'CLOSE'],
  ARRIVED: ['UPDATE_CONTACT', 'RECORD_SERVICE', 'SEND_REPORT', 'INQUIRE', 'RETURN_HOME', 'CLOSE'],
  CLOSED: [],
};
const LEADS_TO: Record<string, string> = { RECORD_ARRIVAL: 'ARRIVED', RETURN_HOME: 'CLOSED', CLOSE: 'CLOSED' };

describe('incoming notice lifecycle', () => {
  for (const status of NOTICE_STATUSES) {
    it(`${status} allows ${EXPECTED[status]!.join(', ') || 'nothing'}`, () => {
      expect(allowedNoticeActions(status)).toEqual(EXPECTED[status]);
      for (const action of NOTICE_ACTIONS) {
        const legal = EXPECTED[status]!.includes(action);
        expect(nextNoticeStatus(status, action), `${status} ${action}`).toBe(legal ? (LEADS_TO[action] ?? status) : null);
        if (!legal) expect(() => requireNoticeTransition(status, action)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
      }
    });
  }
  it('reports on a person only once they arrived', () => {
    expect(nextNoticeStatus('OPEN', 'SEND_REPORT')).toBeNull();
    expect(nextNoticeStatus('ARRIVED', 'SEND_REPORT')).toBe('ARRIVED');
  });
});
