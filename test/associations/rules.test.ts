import { describe, expect, it } from 'vitest';
import { assertAssociationAllows, assertMembershipAllows, membershipActions } from '../../src/associations/lifecycle';
import { isHostCityCode, memberTarget } from '../../src/associations/service';
import type { Actor } from '../../src/policy/actor';
import { can } from '../../src/policy/policy';

describe('membership and association lifecycles', () => {
  it('lets an active membership change or end, and a left one nothing', () => {
    expect(membershipActions('ACTIVE')).toEqual(['UPDATE_CONTACT', 'SET_ROLE', 'LEAVE']);
    expect(membershipActions('LEFT')).toEqual([]);
    expect(() => assertMembershipAllows('LEFT', 'UPDATE_CONTACT')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
    expect(() => assertMembershipAllows('ACTIVE', 'LEAVE')).not.toThrow();
  });

  it('takes new members only while the association is active', () => {
    expect(() => assertAssociationAllows('ACTIVE', 'ADD_MEMBER')).not.toThrow();
    expect(() => assertAssociationAllows('CLOSED', 'ADD_MEMBER')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
    expect(() => assertAssociationAllows('CLOSED', 'REOPEN')).not.toThrow();
  });

  it('accepts city and district codes as host, not provinces or malformed codes', () => {
    expect(['320500', '320506', '320214', '370406'].map(isHostCityCode)).toEqual([true, true, true, true]);
    expect(['320000', '3205', '990500', 'abcdef'].map(isHostCityCode)).toEqual([false, false, false, false]);
  });
});

describe('association staff in the policy', () => {
  const staff: Actor = { kind: 'user', userId: 's', username: 's', role: 'ASSOCIATION_STAFF', scope: 'assoc-a' };
  const official: Actor = { kind: 'user', userId: 'o', username: 'o', role: 'VILLAGE_OFFICIAL', scope: '320324101201' };
  const away = { homeVillageCode: '320324101201', status: 'AWAY' } as const;
  const target = memberTarget({ associationId: 'assoc-a', status: 'ACTIVE' }, away);

  it('covers the members of their own association only, and never the registry itself', () => {
    expect(can(staff, 'member.update', target)).toBe(true);
    expect(can(staff, 'member.update', { ...target, associationIds: ['assoc-b'] })).toBe(false);
    expect(can(staff, 'report.write', target)).toBe(true);
    expect(can(staff, 'report.write', { villageCode: '320324101201' })).toBe(false);
    expect(can(staff, 'member.read', memberTarget({ associationId: 'assoc-a', status: 'LEFT' }, away))).toBe(false);
    // A person back home (or withdrawn) is no longer the association's, even before the membership row says so.
    for (const status of ['RETURNED', 'WITHDRAWN'] as const) {
      expect(can(staff, 'member.read', memberTarget({ associationId: 'assoc-a', status: 'ACTIVE' }, { ...away, status }))).toBe(false);
      expect(can(official, 'member.read', memberTarget({ associationId: 'assoc-a', status: 'ACTIVE' }, { ...away, status }))).toBe(true);
    }
    for (const action of ['person.read', 'person.write', 'agreement.read', 'report.read', 'personChange.read', 'rating.read'] as const) expect(can(staff, action, target), action).toBe(false);
  });

  it('leaves contact updates through the association channel to staff', () => {
    expect(can(official, 'member.read', target)).toBe(true);
    expect(can(official, 'member.update', target)).toBe(false);
  });
});
