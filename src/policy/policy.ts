import type { Role } from '../auth/tables';
import { AppError, unauthenticated } from '../errors';
import type { Actor, PartnerActor, UserActor } from './actor';

/**
 * Where a record sits, as far as the policy needs to know: its home village (people, agreements, reports), and the
 * associations the person belongs to. A rule scoped to the record compares this with the actor's scope.
 */
export interface Target {
  villageCode?: string | null;
  associationIds?: readonly string[];
}

interface Rule {
  roles: readonly Role[];
  /** 'county': any actor with the role may; 'record': the actor's scope must cover the target. */
  within: 'county' | 'record';
  /** Partner counties may (their bilateral agreement is checked by the exchange before the service is called). */
  partners?: boolean;
  /** Jobs and the admin command line may. */
  system?: boolean;
}

const ADMIN = ['COUNTY_ADMIN'] as const;
const ANY_STAFF = ['COUNTY_ADMIN', 'TOWN_SUPERVISOR', 'VILLAGE_OFFICIAL', 'ASSOCIATION_STAFF'] as const;
const REGISTRY_READERS = ['COUNTY_ADMIN', 'TOWN_SUPERVISOR', 'VILLAGE_OFFICIAL'] as const;
const REGISTRY_WRITERS = ['COUNTY_ADMIN', 'VILLAGE_OFFICIAL'] as const;
const SUPERVISORS = ['COUNTY_ADMIN', 'TOWN_SUPERVISOR'] as const;
const MEMBER_KEEPERS = ['COUNTY_ADMIN', 'VILLAGE_OFFICIAL', 'ASSOCIATION_STAFF'] as const;

/**
 * The whole rule book: an action missing here is refused. Scopes: COUNTY_ADMIN covers the county; TOWN_SUPERVISOR
 * the villages of its town (village code starts with the town code); VILLAGE_OFFICIAL its own village;
 * ASSOCIATION_STAFF the people who are members of its association. Town supervisors read but do not edit the
 * records they supervise.
 */
const RULES = {
  'session.me': { roles: ANY_STAFF, within: 'county' },
  'division.read': { roles: ANY_STAFF, within: 'county' },
  'division.manage': { roles: ADMIN, within: 'county', system: true },
  'user.read': { roles: ADMIN, within: 'county' },
  'user.manage': { roles: ADMIN, within: 'county', system: true },
  'audit.read': { roles: ADMIN, within: 'county' },

  'person.read': { roles: REGISTRY_READERS, within: 'record' },
  'person.write': { roles: REGISTRY_WRITERS, within: 'record', partners: true, system: true },
  'person.revealId': { roles: REGISTRY_WRITERS, within: 'record' },
  /** Who sees phone numbers unmasked: the official who calls the person. */
  'person.fullPhone': { roles: ['VILLAGE_OFFICIAL'], within: 'record' },
  'person.erase': { roles: ADMIN, within: 'county', system: true },
  'consent.write': { roles: REGISTRY_WRITERS, within: 'record', system: true },
  'agreement.read': { roles: REGISTRY_READERS, within: 'record' },
  'agreement.write': { roles: REGISTRY_WRITERS, within: 'record', system: true },
  'agreement.expire': { roles: ADMIN, within: 'county', system: true },
  /** Signs for the village as its official: a new agreement or version names the caller unless they name a colleague. */
  'agreement.signAsOfficial': { roles: ['VILLAGE_OFFICIAL'], within: 'record' },
  /** Records the official side's signature for the official named on the agreement (from the signed paper form). */
  'agreement.recordOfficialSignature': { roles: ADMIN, within: 'record', system: true },
  'report.read': { roles: REGISTRY_READERS, within: 'record' },
  /** Association staff write reports for their own members (the report's target names the person's associations). */
  'report.write': { roles: [...REGISTRY_WRITERS, 'ASSOCIATION_STAFF'], within: 'record', partners: true, system: true },
  'complaint.read': { roles: REGISTRY_READERS, within: 'record' },
  'complaint.record': { roles: REGISTRY_READERS, within: 'record', system: true },
  'complaint.resolve': { roles: ['COUNTY_ADMIN', 'TOWN_SUPERVISOR'], within: 'record' },
  'commitment.read': { roles: REGISTRY_READERS, within: 'county' },
  'liaison.read': { roles: REGISTRY_READERS, within: 'county' },
  'liaison.manage': { roles: ADMIN, within: 'county', system: true },

  'partner.read': { roles: ADMIN, within: 'county', system: true },
  'partner.manage': { roles: ADMIN, within: 'county', system: true },
  'exchange.read': { roles: ADMIN, within: 'county' },
  'exchange.manage': { roles: ADMIN, within: 'county' },
  'exchange.push': { roles: [], within: 'county', partners: true },
  'exchange.pull': { roles: [], within: 'county', partners: true },
  'exchange.lookup': { roles: [], within: 'county', partners: true },
  /** Changes others made to people in my scope. */
  'personChange.read': { roles: REGISTRY_READERS, within: 'record' },

  /** The association directory holds no personal data. */
  'association.read': { roles: ANY_STAFF, within: 'county' },
  'association.manage': { roles: ADMIN, within: 'county', system: true },
  'member.read': { roles: ANY_STAFF, within: 'record' },
  'member.add': { roles: MEMBER_KEEPERS, within: 'record' },
  'member.leave': { roles: MEMBER_KEEPERS, within: 'record', system: true },
  /** Contact updates through the association channel; officials edit their people with person.write. */
  'member.update': { roles: ['ASSOCIATION_STAFF'], within: 'record' },

  /** Rating links: the person's official (by agreement), staff of the person's association (by membership), the reminder job. */
  'ratingLink.issue': { roles: MEMBER_KEEPERS, within: 'record', system: true },
  /** Averages and counts (large enough groups only). */
  'rating.read': { roles: REGISTRY_READERS, within: 'record' },
  /** Comments, without identity: the supervisors of the official, not the official. */
  'rating.comments': { roles: SUPERVISORS, within: 'record' },

  /** Third-party supervision: the town checks its villages' officials; officials see the checks about their village. */
  'supervision.read': { roles: REGISTRY_READERS, within: 'record' },
  'supervision.record': { roles: SUPERVISORS, within: 'record' },
  'careVisit.read': { roles: REGISTRY_READERS, within: 'record' },
  'careVisit.record': { roles: SUPERVISORS, within: 'record' },
  'dashboard.read': { roles: SUPERVISORS, within: 'record' },
  /** 公开预警 is public within the county government: village figures only, no personal data. */
  'warning.read': { roles: REGISTRY_READERS, within: 'county' },

  /** The reminder job and its outbox. */
  'reminder.run': { roles: ADMIN, within: 'county', system: true },
  'notification.read': { roles: ADMIN, within: 'county' },
  'notification.manage': { roles: ADMIN, within: 'county' },
  /** Every user reads their own in-app messages (the service filters to the caller). */
  'message.read': { roles: ANY_STAFF, within: 'county' },

  /** Link an UNMATCHED inbound record to a person (the appliers then ask for the change itself). */
  'exchange.resolve': { roles: ADMIN, within: 'county' },
  /** Send a record about our resident to a partner county (departure, notification, inquiry). */
  'exchange.share': { roles: REGISTRY_WRITERS, within: 'record' },
  'inquiry.read': { roles: REGISTRY_READERS, within: 'record' },
  /** Verify, answer, close an inquiry; link an unmatched one to a person. County-level ones: administrators. */
  'inquiry.handle': { roles: REGISTRY_WRITERS, within: 'record' },
  /** A partner's INQUIRY or INQUIRY_REPLY arriving. */
  'inquiry.receive': { roles: [], within: 'county', partners: true },
  /** Incoming notices: partner counties' residents coming here (we are the destination). */
  'notice.read': { roles: ADMIN, within: 'county' },
  'notice.handle': { roles: ADMIN, within: 'county' },
  /** Who calls the arriving person: the administrators who handle the notice. */
  'notice.fullPhone': { roles: ADMIN, within: 'county' },
  /** A partner's DEPARTURE, and its later news about that person (contact change, return home, service). */
  'notice.receive': { roles: [], within: 'county', partners: true },
  'assistance.read': { roles: REGISTRY_READERS, within: 'record' },
  'assistance.record': { roles: REGISTRY_WRITERS, within: 'record', partners: true },
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

function covers(j: Jurisdiction, target: Target): boolean {
  switch (j.kind) {
    case 'county':
      return true;
    case 'town':
      return j.townCode.length > 0 && !!target.villageCode?.startsWith(j.townCode);
    case 'village':
      return j.villageCode.length > 0 && target.villageCode === j.villageCode;
    case 'association':
      return (target.associationIds ?? []).includes(j.associationId);
  }
}

/** May this actor do this to that record? Pure: no I/O, so it is cheap and unit-tested on its own. */
export function can(actor: Actor, action: string, target: Target = {}): boolean {
  const rule = ruleFor(action);
  if (!rule) return false;
  if (actor.kind === 'partner') return rule.partners === true;
  if (actor.kind === 'system') return rule.system === true;
  if (actor.kind !== 'user' || !rule.roles.includes(actor.role)) return false;
  return rule.within === 'county' || covers(jurisdictionOf(actor), target);
}

/**
 * Throws UNAUTHENTICATED for an anonymous caller, FORBIDDEN when the rule says no (or there is no rule), with
 * `refusal` as the message when the caller should learn which way is theirs.
 */
export function authorize(actor: Actor, action: Action, target: Target = {}, refusal = `Not allowed to ${action}`): void {
  if (actor.kind === 'anonymous') throw unauthenticated();
  if (!can(actor, action, target)) throw new PolicyDenied(action, refusal);
}

/** As authorize, for actions only signed-in staff take; returns the user. */
export function authorizeUser(actor: Actor, action: Action, target: Target = {}): UserActor {
  authorize(actor, action, target);
  if (actor.kind !== 'user') throw new PolicyDenied(action, `Not allowed to ${action}`);
  return actor;
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
