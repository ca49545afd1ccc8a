import { describe, expect, it } from 'vitest';
import { allowedPartnerActions, nextPartnerStatus, PARTNER_ACTIONS } from '../../src/partners/lifecycle';
import { PARTNER_STATUSES } from '../../src/partners/tables';

describe('partner agreement lifecycle', () => {
  it('lists the actions of each status', () => {
    expect(allowedPartnerActions('ACTIVE')).toEqual(['SUSPEND', 'END', 'EDIT', 'LOAD_KEYS']);
    expect(allowedPartnerActions('SUSPENDED')).toEqual(['REACTIVATE', 'END', 'EDIT', 'LOAD_KEYS']);
    expect(allowedPartnerActions('ENDED')).toEqual(['RENEW']);
  });

  it('leads each allowed action to its status and refuses the rest', () => {
    const expected: Record<string, string | null> = {
      'ACTIVE SUSPEND': 'SUSPENDED',
      'ACTIVE END': 'ENDED',
      'ACTIVE EDIT': 'ACTIVE',
      'ACTIVE LOAD_KEYS': 'ACTIVE',
      'SUSPENDED REACTIVATE': 'ACTIVE',
      'SUSPENDED END': 'ENDED',
      'SUSPENDED EDIT': 'SUSPENDED',
      'SUSPENDED LOAD_KEYS': 'SUSPENDED',
      'ENDED RENEW': 'ACTIVE',
    };
    for (const status of PARTNER_STATUSES) {
      for (const action of PARTNER_ACTIONS) {
        expect(nextPartnerStatus(status, action), `${status} ${action}`).toBe(expected[`${status} ${action}`] ?? null);
      }
    }
  });

  it('agrees with itself: an action is allowed exactly when it leads somewhere', () => {
    for (const status of PARTNER_STATUSES) {
      for (const action of PARTNER_ACTIONS) {
        expect(allowedPartnerActions(status).includes(action)).toBe(nextPartnerStatus(status, action) !== null);
      }
    }
  });
});
