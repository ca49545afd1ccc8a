import { conflict } from '../errors';
import type { AssociationStatus, MembershipStatus } from './tables';

/** What can be done to a membership in each status: an active membership can be changed or ended; a left one is history. */
export const MEMBERSHIP_ACTIONS = ['UPDATE_CONTACT', 'SET_ROLE', 'LEAVE'] as const;
export type MembershipAction = (typeof MEMBERSHIP_ACTIONS)[number];

const MEMBERSHIP: Record<MembershipStatus, readonly MembershipAction[]> = {
  ACTIVE: ['UPDATE_CONTACT', 'SET_ROLE', 'LEAVE'],
  LEFT: [],
};

/** A closed association keeps its history but takes no new members. */
const ASSOCIATION: Record<AssociationStatus, readonly ('ADD_MEMBER' | 'REOPEN' | 'CLOSE')[]> = {
  ACTIVE: ['ADD_MEMBER', 'CLOSE'],
  CLOSED: ['REOPEN'],
};

export function membershipActions(status: MembershipStatus): readonly MembershipAction[] {
  return MEMBERSHIP[status];
}

export function assertMembershipAllows(status: MembershipStatus, action: MembershipAction): void {
  if (!MEMBERSHIP[status].includes(action)) throw conflict(`a membership that is ${status} cannot ${action}`, { status, allowed: MEMBERSHIP[status] });
}

export function assertAssociationAllows(status: AssociationStatus, action: 'ADD_MEMBER' | 'REOPEN' | 'CLOSE'): void {
  if (!ASSOCIATION[status].includes(action)) throw conflict(`an association that is ${status} cannot ${action}`, { status, allowed: ASSOCIATION[status] });
}
