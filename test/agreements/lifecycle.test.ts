import { describe, expect, it } from 'vitest';
import { AGREEMENT_ACTIONS, allowedActions, allowedEndReasons, assertAllowed } from '../../src/agreements/lifecycle';
import { AGREEMENT_STATUSES, END_REASONS } from '../../src/agreements/tables';

// The table the lifecycle must implement, written out independently of the code.
const EXPECTED: Record<string, string[]> = {
  DRAFT: ['EDIT_DRAFT', 'SIGN', 'END'],
  ACTIVE: ['AMEND', 'RENEW', 'END', 'RECORD_REPORT', 'RECORD_COMPLAINT'],
  ENDED: ['RENEW', 'RECORD_COMPLAINT'],
};

describe('agreement lifecycle', () => {
  for (const status of AGREEMENT_STATUSES) {
    for (const action of AGREEMENT_ACTIONS) {
      const legal = EXPECTED[status]!.includes(action);
      it(`${status} ${legal ? 'allows' : 'refuses'} ${action}`, () => {
        expect(allowedActions(status).includes(action)).toBe(legal);
        if (legal) expect(() => assertAllowed(status, action)).not.toThrow();
        else expect(() => assertAllowed(status, action)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT', status }) }));
      });
    }
  }

  it('knows which reasons can end which status', () => {
    expect(allowedEndReasons('DRAFT')).toEqual(['DISCARDED', 'WITHDRAWN', 'REPLACED']);
    expect(allowedEndReasons('ACTIVE')).toEqual(['RETURNED_HOME', 'WITHDRAWN', 'EXPIRED', 'REPLACED']);
    for (const reason of END_REASONS) expect(() => assertAllowed('ENDED', 'END', reason)).toThrow();
    expect(() => assertAllowed('ACTIVE', 'END', 'DISCARDED')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
  });
});
