import { conflict } from '../errors';
import type { AgreementStatus, EndReason } from './tables';

/**
 * The agreement lifecycle as data: DRAFT -> ACTIVE (the SIGN that completes both signatures activates it) -> ENDED.
 * Amending or renewing does not change a row's status; it starts a new DRAFT version that replaces this one when
 * it becomes active. These are the actions a caller can ask for; activation is not one of them.
 */
export const AGREEMENT_ACTIONS = ['EDIT_DRAFT', 'SIGN', 'AMEND', 'RENEW', 'END', 'RECORD_REPORT', 'RECORD_COMPLAINT'] as const;
export type AgreementAction = (typeof AGREEMENT_ACTIONS)[number];

const ALLOWED: Record<AgreementStatus, readonly AgreementAction[]> = {
  DRAFT: ['EDIT_DRAFT', 'SIGN', 'END'],
  ACTIVE: ['AMEND', 'RENEW', 'END', 'RECORD_REPORT', 'RECORD_COMPLAINT'],
  ENDED: ['RENEW', 'RECORD_COMPLAINT'],
};

/** Why an agreement in a given status may end. REPLACED is set by the system when a newer version activates. */
const END_REASONS: Record<AgreementStatus, readonly EndReason[]> = {
  DRAFT: ['DISCARDED', 'WITHDRAWN', 'REPLACED'],
  ACTIVE: ['RETURNED_HOME', 'WITHDRAWN', 'EXPIRED', 'REPLACED'],
  ENDED: [],
};

export function allowedActions(status: AgreementStatus): readonly AgreementAction[] {
  return ALLOWED[status];
}

export function allowedEndReasons(status: AgreementStatus): readonly EndReason[] {
  return END_REASONS[status];
}

/** Throws CONFLICT naming the status and what it allows. */
export function assertAllowed(status: AgreementStatus, action: AgreementAction, reason?: EndReason): void {
  if (!ALLOWED[status].includes(action)) {
    throw conflict(`an agreement that is ${status} cannot ${action}`, { status, allowed: ALLOWED[status] });
  }
  if (action === 'END' && reason && !END_REASONS[status].includes(reason)) {
    throw conflict(`an agreement that is ${status} cannot end as ${reason}`, { status, allowedReasons: END_REASONS[status] });
  }
}
