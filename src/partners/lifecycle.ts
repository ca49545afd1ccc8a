import type { PartnerStatus } from './tables';

/**
 * The life of a partner agreement, as one table: for each status, the actions allowed and the status each leads
 * to. ENDED agreements can only be renewed (new validity dates), which makes them ACTIVE again.
 */
const LIFECYCLE = {
  ACTIVE: { SUSPEND: 'SUSPENDED', END: 'ENDED', EDIT: 'ACTIVE', LOAD_KEYS: 'ACTIVE' },
  SUSPENDED: { REACTIVATE: 'ACTIVE', END: 'ENDED', EDIT: 'SUSPENDED', LOAD_KEYS: 'SUSPENDED' },
  ENDED: { RENEW: 'ACTIVE' },
} as const satisfies Record<PartnerStatus, Partial<Record<string, PartnerStatus>>>;

export const PARTNER_ACTIONS = ['SUSPEND', 'REACTIVATE', 'END', 'RENEW', 'EDIT', 'LOAD_KEYS'] as const;
export type PartnerAction = (typeof PARTNER_ACTIONS)[number];

/** The actions allowed on an agreement in this status. */
export function allowedPartnerActions(status: PartnerStatus): PartnerAction[] {
  return PARTNER_ACTIONS.filter((a) => a in LIFECYCLE[status]);
}

/** The status an action leads to, or null if the action is not allowed in this status. */
export function nextPartnerStatus(status: PartnerStatus, action: PartnerAction): PartnerStatus | null {
  const row: Partial<Record<PartnerAction, PartnerStatus>> = LIFECYCLE[status];
  return row[action] ?? null;
}
