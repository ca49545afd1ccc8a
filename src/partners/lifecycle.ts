import { lifecycle } from '../lifecycle';
import type { PartnerStatus } from './tables';

export const PARTNER_ACTIONS = ['SUSPEND', 'REACTIVATE', 'END', 'RENEW', 'EDIT', 'LOAD_KEYS'] as const;
export type PartnerAction = (typeof PARTNER_ACTIONS)[number];

/**
 * The life of a partner agreement, as one table: for each status, the actions allowed and the status each leads
 * to. ENDED agreements can only be renewed (new validity dates), which makes them ACTIVE again.
 */
const PARTNER_LIFECYCLE = lifecycle<PartnerStatus, PartnerAction>(PARTNER_ACTIONS, {
  ACTIVE: { SUSPEND: 'SUSPENDED', END: 'ENDED', EDIT: 'ACTIVE', LOAD_KEYS: 'ACTIVE' },
  SUSPENDED: { REACTIVATE: 'ACTIVE', END: 'ENDED', EDIT: 'SUSPENDED', LOAD_KEYS: 'SUSPENDED' },
  ENDED: { RENEW: 'ACTIVE' },
});

/** The actions allowed on an agreement in this status. */
export const allowedPartnerActions = (status: PartnerStatus): PartnerAction[] => PARTNER_LIFECYCLE.allowed(status);

/** The status an action leads to, or null if the action is not allowed in this status. */
export const nextPartnerStatus = (status: PartnerStatus, action: PartnerAction): PartnerStatus | null => PARTNER_LIFECYCLE.next(status, action);
