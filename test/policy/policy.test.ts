import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/policy/actor';
import { authorize, can, listScope } from '../../src/policy/policy';

const admin: Actor = { kind: 'user', userId: 'a', username: 'a', role: 'COUNTY_ADMIN', scope: null };
const supervisor: Actor = { kind: 'user', userId: 's', username: 's', role: 'TOWN_SUPERVISOR', scope: '320324101' };
const official: Actor = { kind: 'user', userId: 'o', username: 'o', role: 'VILLAGE_OFFICIAL', scope: '320324101201' };
const staff: Actor = { kind: 'user', userId: 'st', username: 'st', role: 'ASSOCIATION_STAFF', scope: 'assoc-1' };

describe('policy', () => {
  it('refuses an action that has no rule, for every actor', () => {
    for (const actor of [admin, supervisor, official, staff]) expect(can(actor, 'person.delete.everything')).toBe(false);
    expect(() => authorize(admin, 'no.such.rule' as never)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }));
  });

  it('refuses anonymous, partner and system actors on rules not open to them', () => {
    for (const actor of [{ kind: 'anonymous' }, { kind: 'partner', countyCode: '320506' }, { kind: 'system', name: 'x' }] as Actor[]) {
      expect(can(actor, 'division.read')).toBe(false);
    }
    expect(() => authorize({ kind: 'anonymous' }, 'session.me')).toThrow(expect.objectContaining({ extensions: { code: 'UNAUTHENTICATED' } }));
  });

  it('keeps user management and the audit log to county administrators', () => {
    for (const action of ['user.manage', 'user.read', 'audit.read', 'division.manage'] as const) {
      expect(can(admin, action)).toBe(true);
      for (const other of [supervisor, official, staff]) expect(can(other, action), `${action}`).toBe(false);
    }
  });

  it('gives list queries the jurisdiction of the role', () => {
    expect(listScope(admin, 'division.read')).toEqual({ kind: 'county' });
    expect(() => listScope(official, 'user.read')).toThrow();
  });
});
