import type { Role } from '../auth/tables';

/** Who is asking. Every service call carries one; the policy module decides what it may do. */
export type Actor =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; username: string; role: Role; scope: string | null }
  | { kind: 'partner'; countyCode: string }
  | { kind: 'system'; name: string };

export type UserActor = Extract<Actor, { kind: 'user' }>;
export type PartnerActor = Extract<Actor, { kind: 'partner' }>;

/** The actor plus where the request came from, for the audit log. */
export interface Caller {
  actor: Actor;
  ip?: string | undefined;
  requestId?: string | undefined;
}

export const systemCaller = (name: string): Caller => ({ actor: { kind: 'system', name } });

export type ActorType = 'USER' | 'PARTNER' | 'SYSTEM' | 'PUBLIC';

/** How an actor is written into audit and history rows. */
export function actorColumns(actor: Actor): { actorType: ActorType; actorId: string | null; actorRole: string | null } {
  switch (actor.kind) {
    case 'user':
      return { actorType: 'USER', actorId: actor.userId, actorRole: actor.role };
    case 'partner':
      return { actorType: 'PARTNER', actorId: actor.countyCode, actorRole: 'PARTNER_COUNTY' };
    case 'system':
      return { actorType: 'SYSTEM', actorId: actor.name, actorRole: null };
    case 'anonymous':
      return { actorType: 'PUBLIC', actorId: null, actorRole: null };
  }
}
