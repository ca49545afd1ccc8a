import { and, asc, eq, gt, inArray, isNull, type SQL } from 'drizzle-orm';
import { appendAudit, auditStandalone } from '../audit/service';
import { todayIn } from '../calendar';
import type { Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { AppError, badInput, conflict, notFound, requireUuid } from '../errors';
import { grantConsentTx, withdrawOneTx, type ConsentMethod } from '../people/consent';
import { isCountyCode } from '../people/identity';
import { findPersonByIdNumber, loadPerson, type Person } from '../people/service';
import { lockPersonThenRow, registryTransaction } from '../people/transaction';
import { CONSENT_METHODS, people } from '../people/tables';
import { optionalText, requireDate, requireName, requireResidentId } from '../people/validation';
import { actorColumns, type Actor, type Caller } from '../policy/actor';
import { authorize, can, listScope, type Action, type Jurisdiction, type Target } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { assertAssociationAllows, assertMembershipAllows, type MembershipAction } from './lifecycle';
import { ASSOCIATION_STATUSES, associationMembers, associations, MEMBER_ROLES, membershipEvents, type AssociationStatus, type LeaveReason, type MemberRole } from './tables';

export type Association = typeof associations.$inferSelect;
export type Membership = typeof associationMembers.$inferSelect;
/** A membership with its person: what association pages show (through the restricted AssociationMember type). */
export interface MemberView {
  membership: Membership;
  person: Person;
}

/** A host city or district: 6 digits, a known province, not a province itself (320500 Suzhou, 320506 Wuzhong). */
export function isHostCityCode(code: string): boolean {
  return isCountyCode(code) || (/^\d{4}00$/.test(code) && code.slice(2, 4) !== '00' && isCountyCode(`${code.slice(0, 4)}01`));
}

/**
 * Where a membership sits for the policy: the person's home village and, while the membership lasts and the person
 * is away, the association. Staff lose the person the moment either ends (left, consent withdrawn, back home).
 */
export function memberTarget(m: Pick<Membership, 'associationId' | 'status'>, p: Pick<Person, 'homeVillageCode' | 'status'>): Target {
  return { villageCode: p.homeVillageCode, associationIds: m.status === 'ACTIVE' && p.status === 'AWAY' ? [m.associationId] : [] };
}

/**
 * Actions on an association as a whole (its member list, adding to it): the role must hold the action, and staff
 * only within their own association. The records inside are then checked or filtered one by one.
 */
export function authorizeAssociation(actor: Actor, action: Action, associationId: string): Jurisdiction {
  const j = listScope(actor, action);
  if (j.kind === 'association') authorize(actor, action, { associationIds: [associationId] });
  return j;
}

export interface AssociationInput {
  name?: string | null;
  hostCityCode?: string | null;
  hostChamber?: string | null;
  contactName?: string | null;
  contactPhone?: string | null;
  status?: AssociationStatus | null;
}

function validateAssociation(input: AssociationInput, creating: boolean) {
  const out: Partial<Association> = {};
  if (creating || input.name != null) {
    const name = optionalText('name', input.name ?? '', 100);
    if (!name) throw badInput('name', 'required');
    out.name = name;
  }
  if (creating || input.hostCityCode != null) {
    if (!input.hostCityCode || !isHostCityCode(input.hostCityCode)) throw badInput('hostCityCode', 'not a 6-digit city or district code');
    out.hostCityCode = input.hostCityCode;
  }
  for (const [field, max] of [['hostChamber', 100], ['contactName', 50], ['contactPhone', 30]] as const) {
    const v = optionalText(field, input[field], max);
    if (v !== undefined) out[field] = v;
  }
  if (input.status != null && !ASSOCIATION_STATUSES.includes(input.status)) throw badInput('status', 'unknown status');
  return out;
}

export async function createAssociation(deps: Deps, caller: Caller, input: AssociationInput): Promise<Association> {
  authorize(caller.actor, 'association.manage');
  const values = validateAssociation(input, true) as typeof associations.$inferInsert;
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(associations).values(values).returning();
    await appendAudit(tx, caller, { action: 'association.create', targetType: 'Association', targetId: row!.id });
    return row!;
  });
}

export async function updateAssociation(deps: Deps, caller: Caller, id: string, input: AssociationInput): Promise<Association> {
  authorize(caller.actor, 'association.manage');
  const set = validateAssociation(input, false);
  return deps.db.transaction(async (tx) => {
    const current = await loadAssociation(tx, id, true);
    if (input.status && input.status !== current.status) assertAssociationAllows(current.status, input.status === 'CLOSED' ? 'CLOSE' : 'REOPEN');
    const [row] = await tx.update(associations).set({ ...set, status: input.status ?? current.status, updatedAt: new Date() }).where(eq(associations.id, current.id)).returning();
    await appendAudit(tx, caller, { action: 'association.update', targetType: 'Association', targetId: current.id, details: { fields: Object.keys(set) } });
    return row!;
  });
}

export async function loadAssociation(db: Db, id: string, lock = false): Promise<Association> {
  const q = db.select().from(associations).where(eq(associations.id, requireUuid('associationId', id)));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw notFound('Association', id);
  return row;
}

/** The directory of associations (names, host cities, contacts: no personal data) is open to all staff. */
export async function getAssociation(deps: Deps, caller: Caller, id: string): Promise<Association> {
  authorize(caller.actor, 'association.read');
  return loadAssociation(deps.db, id);
}

export async function listAssociations(deps: Deps, caller: Caller, status?: AssociationStatus | null): Promise<Association[]> {
  authorize(caller.actor, 'association.read');
  return deps.db.select().from(associations).where(status ? eq(associations.status, status) : undefined).orderBy(asc(associations.name), asc(associations.id));
}

export async function loadAssociations(db: Db, ids: readonly string[]): Promise<Association[]> {
  if (ids.length === 0) return [];
  return db.select().from(associations).where(inArray(associations.id, [...ids]));
}

// ---- members ----

async function recordMembershipEvent(tx: Db, caller: Caller, membershipId: string, action: string, details?: Record<string, unknown>) {
  await tx.insert(membershipEvents).values({ membershipId, action, ...actorColumns(caller.actor), details: details ?? null });
}

/**
 * Loads a membership and its person, both locked in the registry's lock order (see registryTransaction): the person
 * first, then the membership, as return home and withdrawal (which end memberships) take them. Then checks the
 * caller may take the action on it.
 */
export async function membershipForWrite(tx: Db, caller: Caller, memberId: string, action: Action, lifecycle: MembershipAction): Promise<MemberView> {
  const locked = await lockPersonThenRow(tx, associationMembers, requireUuid('memberId', memberId));
  // erasure deletes an erased person's memberships: a membership always has its person, never erased
  if (!locked) throw notFound('AssociationMember', memberId);
  const membership = locked.row;
  const person = locked.person!;
  authorize(caller.actor, action, memberTarget(membership, person));
  assertMembershipAllows(membership.status, lifecycle);
  return { membership, person };
}

/**
 * A membership with its person and where it sits for the policy, read without locks: for reads, and for checks
 * before a change made elsewhere (a report on the member's behalf, a rating invitation). No policy check here.
 */
export async function loadMemberView(db: Db, memberId: string, field = 'memberId'): Promise<MemberView & { target: Target }> {
  const [row] = await db
    .select({ membership: associationMembers, person: people })
    .from(associationMembers)
    .innerJoin(people, eq(people.id, associationMembers.personId))
    .where(and(eq(associationMembers.id, requireUuid(field, memberId)), isNull(people.erasedAt)));
  if (!row) throw notFound('AssociationMember', memberId);
  return { ...row, target: memberTarget(row.membership, row.person) };
}

export async function getMember(deps: Deps, caller: Caller, memberId: string): Promise<MemberView> {
  const { membership, person, target } = await loadMemberView(deps.db, memberId, 'id');
  authorize(caller.actor, 'member.read', target);
  return { membership, person };
}

export interface AddMemberInput {
  idNumber: string;
  name: string;
  role?: MemberRole | null;
  consentMethod: ConsentMethod;
  consentGivenOn?: string | null;
}

/** The one answer for every person that cannot be added by this caller: unknown, another name, not away, not theirs. */
const NO_MATCH = 'no registered person away from home with this ID number and name';

/**
 * Adds a registered person who agreed to join. They are found by ID number and name together; an unknown number, a
 * number with another name, a person not away from home and (for officials) a person outside the caller's scope all
 * get the same NOT_FOUND, and the attempt is audited, so the call cannot be used to learn who is registered.
 */
export async function addMember(deps: Deps, caller: Caller, associationId: string, input: AddMemberInput): Promise<MemberView> {
  const id = requireResidentId('idNumber', input.idNumber);
  const name = requireName('name', input.name);
  const role = input.role ?? 'MEMBER';
  if (!MEMBER_ROLES.includes(role)) throw badInput('role', 'MEMBER or VOLUNTEER');
  if (!CONSENT_METHODS.includes(input.consentMethod)) throw badInput('consentMethod', 'unknown method');
  const today = todayIn(deps.config.timeZone);
  const givenOn = input.consentGivenOn ? requireDate('consentGivenOn', input.consentGivenOn) : today;
  if (givenOn > today) throw badInput('consentGivenOn', 'cannot be in the future');
  authorizeAssociation(caller.actor, 'member.add', requireUuid('associationId', associationId));
  const noMatch = new AppError('NOT_FOUND', NO_MATCH, { field: 'idNumber' });
  try {
    return await registryTransaction(deps, async (tx) => {
      const association = await loadAssociation(tx, associationId, true);
      assertAssociationAllows(association.status, 'ADD_MEMBER');
      const found = await findPersonByIdNumber(tx, deps.secrets, id.idNumber);
      if (!found || found.name !== name || !can(caller.actor, 'member.add', { villageCode: found.homeVillageCode, associationIds: [association.id] })) throw noMatch;
      const person = await loadPerson(tx, found.id, { lock: true });
      if (person.status !== 'AWAY') throw noMatch;
      const [membership] = await tx
        .insert(associationMembers)
        .values({ associationId: association.id, personId: person.id, role, joinedOn: givenOn, addedBy: caller.actor.kind === 'user' ? caller.actor.userId : null })
        .onConflictDoNothing()
        .returning();
      if (!membership) throw conflict('this person is already a member of the association');
      await grantConsentTx(tx, caller, person.id, 'ASSOCIATION_MEMBERSHIP', association.id, input.consentMethod, givenOn);
      await recordMembershipEvent(tx, caller, membership.id, 'JOIN', { role, consentMethod: input.consentMethod });
      await appendAudit(tx, caller, { action: 'member.add', targetType: 'AssociationMember', targetId: membership.id, details: { associationId: association.id, personId: person.id } });
      return { membership, person };
    });
  } catch (e) {
    // Repeated misses are what probing looks like: each is kept (no ID number or name in the entry).
    if (e === noMatch) await auditStandalone(deps.db, caller, { action: 'member.add', outcome: 'FAILURE', targetType: 'Association', targetId: associationId, details: { reason: 'NO_MATCH' } });
    throw e;
  }
}

export async function setMemberRole(deps: Deps, caller: Caller, memberId: string, role: MemberRole): Promise<MemberView> {
  if (!MEMBER_ROLES.includes(role)) throw badInput('role', 'MEMBER or VOLUNTEER');
  return registryTransaction(deps, async (tx) => {
    const m = await membershipForWrite(tx, caller, memberId, 'member.update', 'SET_ROLE');
    const [membership] = await tx.update(associationMembers).set({ role }).where(eq(associationMembers.id, m.membership.id)).returning();
    await recordMembershipEvent(tx, caller, m.membership.id, 'SET_ROLE', { role });
    await appendAudit(tx, caller, { action: 'member.setRole', targetType: 'AssociationMember', targetId: m.membership.id, details: { role } });
    return { membership: membership!, person: m.person };
  });
}

async function endMembershipTx(tx: Db, caller: Caller, m: Membership, reason: LeaveReason): Promise<Membership> {
  const [row] = await tx.update(associationMembers).set({ status: 'LEFT', leftAt: new Date(), leftReason: reason }).where(eq(associationMembers.id, m.id)).returning();
  await recordMembershipEvent(tx, caller, m.id, 'LEAVE', { reason });
  return row!;
}

/** Leaving is one call: the membership ends and the membership consent is withdrawn with it. */
export async function leaveAssociation(deps: Deps, caller: Caller, memberId: string): Promise<MemberView> {
  return registryTransaction(deps, async (tx) => {
    const m = await membershipForWrite(tx, caller, memberId, 'member.leave', 'LEAVE');
    const membership = await endMembershipTx(tx, caller, m.membership, 'LEFT');
    await withdrawOneTx(tx, caller, m.person.id, 'ASSOCIATION_MEMBERSHIP', m.membership.associationId);
    await appendAudit(tx, caller, { action: 'member.leave', targetType: 'AssociationMember', targetId: membership.id });
    return { membership, person: m.person };
  });
}

/** The consent hook: withdrawing the membership consent (or everything) ends the membership. */
export async function endMembershipOnWithdrawal(tx: Db, caller: Caller, personId: string, associationId: string): Promise<void> {
  if (!/^[0-9a-f-]{36}$/i.test(associationId)) return;
  const [active] = await tx
    .select()
    .from(associationMembers)
    .where(and(eq(associationMembers.personId, personId), eq(associationMembers.associationId, associationId), eq(associationMembers.status, 'ACTIVE')))
    .for('update');
  if (active) await endMembershipTx(tx, caller, active, 'CONSENT_WITHDRAWN');
}

/** The return-home hook: a person back home is no longer an association's to look after; every membership ends. */
export async function endMembershipsOnReturn(tx: Db, caller: Caller, personId: string): Promise<void> {
  const active = await tx
    .select()
    .from(associationMembers)
    .where(and(eq(associationMembers.personId, personId), eq(associationMembers.status, 'ACTIVE')))
    .for('update');
  for (const m of active) await endMembershipTx(tx, caller, m, 'RETURNED_HOME');
}

/** Associations a person currently belongs to (for the policy target of their records). */
export async function associationIdsOf(db: Db, personId: string): Promise<string[]> {
  const rows = await db
    .select({ id: associationMembers.associationId })
    .from(associationMembers)
    .where(and(eq(associationMembers.personId, personId), eq(associationMembers.status, 'ACTIVE')));
  return rows.map((r) => r.id);
}

/**
 * Current members of an association, by id. Staff see only their own association; officials and supervisors see the
 * members from their village or town; county administrators all.
 */
export async function listMembers(deps: Deps, caller: Caller, associationId: string, first: number, afterId?: string) {
  const id = requireUuid('associationId', associationId);
  const j = authorizeAssociation(caller.actor, 'member.read', id);
  const where: SQL[] = [eq(associationMembers.associationId, id), eq(associationMembers.status, 'ACTIVE'), isNull(people.erasedAt)];
  if (j.kind === 'association') where.push(eq(people.status, 'AWAY'));
  else where.push(...scopeConditions(caller.actor, 'member.read', people.homeVillageCode, people.homeTownCode));
  if (afterId) where.push(gt(associationMembers.id, afterId));
  const rows = await deps.db
    .select({ membership: associationMembers, person: people })
    .from(associationMembers)
    .innerJoin(people, eq(people.id, associationMembers.personId))
    .where(and(...where))
    .orderBy(asc(associationMembers.id))
    .limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}

/** Erasure removes membership data of erased people entirely (their history rows go with them). */
export async function eraseMemberships(tx: Db, personIds: string[]): Promise<void> {
  await tx.delete(associationMembers).where(inArray(associationMembers.personId, personIds));
}
