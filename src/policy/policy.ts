import type { Role } from '../auth/tables';
import { AppError, unauthenticated } from '../errors';
import type { Actor, PartnerActor, UserActor } from './actor';

/**
 * Where a record sits, as far as the policy needs to know: its village (people, agreements, reports), or the
 * association it belongs to. A rule with `within` compares this with the actor's scope.
 */
export interface Target {
  villageCode?: string | null;
  associationIds?: readonly string[];
}

type Within = 'county' | 'village' | 'association';

interface Rule {
  roles: readonly Role[];
  /** How the actor's scope must cover the target; 'county' means the whole home county. */
  within: Within;
  /**
   * An authenticated partner county may do this. What it may do within it (record types, lookup) is its
   * agreement's business: see exchange/agreement.ts.
   */
  partner?: true;
}

const ADMIN = ['COUNTY_ADMIN'] as const;
const ANY_STAFF = ['COUNTY_ADMIN', 'TOWN_SUPERVISOR', 'VILLAGE_OFFICIAL', 'ASSOCIATION_STAFF'] as const;

/**
 * The whole rule book: an action missing here is refused. Roles and scopes:
 * COUNTY_ADMIN sees the county; TOWN_SUPERVISOR the villages of its town (village code starts with the town code);
 * VILLAGE_OFFICIAL its own village; ASSOCIATION_STAFF the members of its association.
 */
const RULES = {
  'session.me': { roles: ANY_STAFF, within: 'county' },
  'division.read': { roles: ANY_STAFF, within: 'county' },
  'division.manage': { roles: ADMIN, within: 'county' },
  'user.read': { roles: ADMIN, within: 'county' },
  'user.manage': { roles: ADMIN, within: 'county' },
  'audit.read': { roles: ADMIN, within: 'county' },
  'partner.read': { roles: ADMIN, within: 'county' },
  'partner.manage': { roles: ADMIN, within: 'county' },
  'exchange.read': { roles: ADMIN, within: 'county' },
  'exchange.manage': { roles: ADMIN, within: 'county' },
  'exchange.push': { roles: [], within: 'county', partner: true },
  'exchange.pull': { roles: [], within: 'county', partner: true },
  'exchange.lookup': { roles: [], within: 'county', partner: true },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

/** How a list query must be narrowed for this actor. */
export type Jurisdiction =
  | { kind: 'county' }
  | { kind: 'town'; townCode: string }
  | { kind: 'village'; villageCode: string }
  | { kind: 'association'; associationId: string };

export class PolicyDenied extends AppError {
  constructor(
    public readonly action: string,
    message: string,
  ) {
    super('FORBIDDEN', message);
  }
}

function requireUser(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw unauthenticated();
  return actor;
}

function ruleFor(action: string): Rule | undefined {
  return Object.prototype.hasOwnProperty.call(RULES, action) ? (RULES as Record<string, Rule>)[action] : undefined;
}

/** The jurisdiction an actor's role and scope give it. */
export function jurisdictionOf(actor: UserActor): Jurisdiction {
  switch (actor.role) {
    case 'COUNTY_ADMIN':
      return { kind: 'county' };
    case 'TOWN_SUPERVISOR':
      return { kind: 'town', townCode: actor.scope ?? '' };
    case 'VILLAGE_OFFICIAL':
      return { kind: 'village', villageCode: actor.scope ?? '' };
    case 'ASSOCIATION_STAFF':
      return { kind: 'association', associationId: actor.scope ?? '' };
  }
}

function covers(j: Jurisdiction, within: Within, target: Target): boolean {
  if (within === 'county') return true;
  if (j.kind === 'county') return true;
  if (within === 'village') {
    const v = target.villageCode;
    if (!v) return false;
    if (j.kind === 'town') return j.townCode.length > 0 && v.startsWith(j.townCode);
    if (j.kind === 'village') return v === j.villageCode;
    return false;
  }
  return j.kind === 'association' && (target.associationIds ?? []).includes(j.associationId);
}

/** May this actor do this to that record? Pure: no I/O, so it is cheap and unit-tested on its own. */
export function can(actor: Actor, action: string, target: Target = {}): boolean {
  const rule = ruleFor(action);
  if (!rule) return false;
  if (actor.kind === 'partner') return rule.partner === true;
  if (actor.kind !== 'user') return false;
  if (!rule.roles.includes(actor.role)) return false;
  return covers(jurisdictionOf(actor), rule.within, target);
}

/** Throws UNAUTHENTICATED for no user, FORBIDDEN when the rule says no (or there is no rule). */
export function authorize(actor: Actor, action: Action, target: Target = {}): UserActor {
  const user = requireUser(actor);
  if (!can(user, action, target)) throw new PolicyDenied(action, `Not allowed to ${action}`);
  return user;
}

/** For exchange endpoints: the partner county calling, or FORBIDDEN when the rule does not admit partners. */
export function authorizePartner(actor: Actor, action: Action): PartnerActor {
  if (actor.kind !== 'partner') throw unauthenticated();
  if (!can(actor, action)) throw new PolicyDenied(action, `Not allowed to ${action}`);
  return actor;
}

/**
 * For list queries: checks the role may do the action at all and returns the jurisdiction to filter by.
 * Rules scoped to the county return the county whatever the actor's own scope.
 */
export function listScope(actor: Actor, action: Action): Jurisdiction {
  const user = requireUser(actor);
  const rule = ruleFor(action);
  if (!rule || !rule.roles.includes(user.role)) throw new PolicyDenied(action, `Not allowed to ${action}`);
  return rule.within === 'county' ? { kind: 'county' } : jurisdictionOf(user);
}

export function isForbidden(e: unknown): e is PolicyDenied {
  return e instanceof PolicyDenied;
}
