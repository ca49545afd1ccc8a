import { and, asc, eq, exists, isNull, sql, type SQL } from 'drizzle-orm';
import { agreements } from '../agreements/tables';
import { appendAudit, auditStandalone, type AuditEvent } from '../audit/service';
import { todayIn } from '../calendar';
import { insertRows, updateRows } from '../db/bulk';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict, notFound, requireUuid } from '../errors';
import { isUuidCursor } from '../graphql/cursor';
import { requireDivision } from '../jurisdiction/divisions';
import { requireLiaison } from '../liaisons/service';
import { actorColumns, type Caller } from '../policy/actor';
import { authorize, can, type Target } from '../policy/policy';
import { scopeEqualities } from '../policy/scope-sql';
import type { Secrets } from '../secrets';
import { maskIdNumber } from './identity';
import { lockPersonThenRow, registryTransaction } from './transaction';
import { dependants, people, personChanges, PERSON_STATUSES, type PersonStatus } from './tables';
import {
  optionalMobile,
  optionalText,
  requireDate,
  requireDependant,
  requireName,
  requirePlace,
  requireResidentId,
  type DependantInput,
  type PlaceInput,
} from './validation';

export type Person = typeof people.$inferSelect;
export type Dependant = typeof dependants.$inferSelect;

/** Where a person sits, for the policy. */
export function personTarget(p: Pick<Person, 'homeVillageCode'>): Target {
  return { villageCode: p.homeVillageCode };
}

export async function loadPerson(db: Db, id: string, opts: { lock?: boolean } = {}): Promise<Person> {
  const q = db.select().from(people).where(eq(people.id, requireUuid('personId', id)));
  const [row] = opts.lock ? await q.for('update') : await q;
  if (!row || row.erasedAt) throw notFound('Person', id);
  return row;
}

/** Reads a person the caller may see; NOT_FOUND and FORBIDDEN are distinct so officials know to ask a colleague. */
export async function getPerson(deps: Deps, caller: Caller, id: string): Promise<Person> {
  const p = await loadPerson(deps.db, id);
  authorize(caller.actor, 'person.read', personTarget(p));
  return p;
}

/** The one person with this ID number, matched by keyed hash (the number itself is never queried or indexed). */
export async function findPersonByIdNumber(db: Db, secrets: Secrets, idNumber: string): Promise<Person | undefined> {
  const [row] = await db
    .select()
    .from(people)
    .where(and(eq(people.idNumberHmac, secrets.hmac(idNumber.trim().toUpperCase())), isNull(people.erasedAt)));
  return row;
}

export interface RegisterPersonInput {
  name: string;
  idNumber: string;
  homeVillageCode: string;
  phone?: string | null;
  currentPlace?: PlaceInput | null;
  employer?: string | null;
  occupation?: string | null;
  departureDate?: string | null;
  liaisonContactId?: string | null;
  dependants?: DependantInput[] | null;
}

export async function registerPerson(deps: Deps, caller: Caller, input: RegisterPersonInput): Promise<Person> {
  const name = requireName('name', input.name);
  const id = requireResidentId('idNumber', input.idNumber);
  const phone = optionalMobile('phone', input.phone) ?? null;
  const place = input.currentPlace ? requirePlace('currentPlace', input.currentPlace) : null;
  const departureDate = input.departureDate ? requireDate('departureDate', input.departureDate) : null;
  const deps_ = (input.dependants ?? []).map((d, i) => requireDependant(`dependants.${i}`, d));
  const employer = optionalText('employer', input.employer, 100) ?? null;
  const occupation = optionalText('occupation', input.occupation, 100) ?? null;
  authorize(caller.actor, 'person.write', { villageCode: input.homeVillageCode });
  const village = await requireDivision(deps.db, 'homeVillageCode', input.homeVillageCode, 'VILLAGE');
  const liaisonContactId = input.liaisonContactId ? (await requireLiaison(deps.db, 'liaisonContactId', input.liaisonContactId)).id : null;

  const outcome = await registryTransaction(deps, async (tx) => {
    const [row] = await tx
      .insert(people)
      .values({
        name,
        idNumberEnc: deps.secrets.encrypt(id.idNumber),
        idNumberHmac: deps.secrets.hmac(id.idNumber),
        idNumberMasked: maskIdNumber(id.idNumber),
        homeVillageCode: village.code,
        homeTownCode: village.parentCode!,
        phone,
        currentCountyCode: place?.countyCode ?? null,
        currentTown: place?.town ?? null,
        currentArea: place?.area ?? null,
        employer,
        occupation,
        departureDate,
        liaisonContactId,
      })
      .onConflictDoNothing({ target: people.idNumberHmac })
      .returning();
    if (!row) {
      const [existing] = await tx.select({ id: people.id, village: people.homeVillageCode }).from(people).where(eq(people.idNumberHmac, deps.secrets.hmac(id.idNumber)));
      return { duplicateOf: existing };
    }
    if (deps_.length) await tx.insert(dependants).values(deps_.map((d) => ({ ...d, personId: row.id })));
    await appendAudit(tx, caller, { action: 'person.register', targetType: 'Person', targetId: row.id, details: { village: village.code, dependants: deps_.length } });
    return { person: row };
  });
  if (outcome.person) return outcome.person;
  // Someone holding an ID number learns where that person is registered only if they may see the record anyway.
  const existing = outcome.duplicateOf;
  const visible = existing !== undefined && can(caller.actor, 'person.read', personTarget({ homeVillageCode: existing.village }));
  await auditStandalone(deps.db, caller, {
    action: 'person.register',
    outcome: 'DENIED',
    targetType: 'Person',
    ...(existing ? { targetId: existing.id } : {}),
    details: { reason: 'DUPLICATE_ID_NUMBER', village: village.code, disclosed: visible },
  });
  throw conflict(
    visible ? 'a person with this ID number is already registered' : 'a person with this ID number is already registered outside your jurisdiction',
    visible ? { field: 'idNumber', existingPersonId: existing!.id, existingVillageCode: existing!.village } : { field: 'idNumber' },
  );
}

/** Fields other channels (reports, associations, partner counties) may change; all optional, null clears. */
export interface ContactChanges {
  phone?: string | null;
  currentPlace?: PlaceInput | null;
  employer?: string | null;
  occupation?: string | null;
}

/** Validates a change set before any transaction starts, so a bad item writes nothing. */
export function validateContactChanges(field: string, c: ContactChanges) {
  const out: Partial<Pick<Person, 'phone' | 'currentCountyCode' | 'currentTown' | 'currentArea' | 'employer' | 'occupation'>> = {};
  const phone = optionalMobile(`${field}phone`, c.phone);
  if (phone !== undefined) out.phone = phone;
  if (c.currentPlace !== undefined) {
    const place = c.currentPlace ? requirePlace(`${field}currentPlace`, c.currentPlace) : null;
    out.currentCountyCode = place?.countyCode ?? null;
    out.currentTown = place?.town ?? null;
    out.currentArea = place?.area ?? null;
  }
  const employer = optionalText(`${field}employer`, c.employer, 100);
  if (employer !== undefined) out.employer = employer;
  const occupation = optionalText(`${field}occupation`, c.occupation, 100);
  if (occupation !== undefined) out.occupation = occupation;
  return out;
}

export type ValidContactChanges = ReturnType<typeof validateContactChanges>;
/** What a change may set: the contact fields, and the name only for maintenance (clean-person-text). */
type ChangedFields = ValidContactChanges & { name?: string };

/**
 * What deciding a change of a person's contact details needs of their row (the policy's village, the status rules,
 * the fields compared): a batch of partner records reads only these columns of its people (src/sharing/batch.ts).
 */
export const CHANGE_COLUMNS = {
  id: people.id,
  name: people.name,
  status: people.status,
  homeVillageCode: people.homeVillageCode,
  idNumberHmac: people.idNumberHmac,
  phone: people.phone,
  currentCountyCode: people.currentCountyCode,
  currentTown: people.currentTown,
  currentArea: people.currentArea,
  employer: people.employer,
  occupation: people.occupation,
};
export type ChangedPerson = Pick<Person, keyof typeof CHANGE_COLUMNS>;

/** What a contact change does to one person: the fields that differ, their new values, the feed's source. */
export interface ContactPlan {
  person: ChangedPerson;
  fields: (keyof ChangedFields)[];
  set: ChangedFields;
  source: string;
}

/** Pure: the part of `changes` that differs from the person (undefined when nothing does). */
export function planContactChanges(person: ChangedPerson, changes: ChangedFields, source: string): ContactPlan | undefined {
  const fields = (Object.keys(changes) as (keyof ChangedFields)[]).filter((k) => changes[k] !== person[k]);
  if (fields.length === 0) return undefined;
  return { person, fields, set: Object.fromEntries(fields.map((k) => [k, changes[k]])), source };
}

export const contactAudit = (plan: ContactPlan): AuditEvent => ({
  action: 'person.update',
  targetType: 'Person',
  targetId: plan.person.id,
  details: { fields: plan.fields, source: plan.source },
});

/**
 * Writes planned contact changes (one UPDATE per set of fields changed, one insert into the change feed with each
 * change's source and actor); the caller appends their audit entries (contactAudit).
 */
export async function writeContactChanges(tx: Db, caller: Caller, plans: readonly ContactPlan[]): Promise<void> {
  if (plans.length === 0) return;
  const updatedAt = new Date();
  await updateRows(tx, people, 'id', plans.map((p) => ({ id: p.person.id, ...p.set, updatedAt })));
  const actor = actorColumns(caller.actor);
  await insertRows(tx, personChanges, plans.map((p) => ({ personId: p.person.id, homeVillageCode: p.person.homeVillageCode, fields: p.fields, source: p.source, ...actor })));
}

/**
 * Applies validated contact changes to a person inside the caller's transaction: updates only what differs, records
 * the change in the feed with its source and actor, and audits it. Returns the names of the fields that changed.
 */
export async function applyContactChanges(tx: Db, caller: Caller, person: Person, changes: ChangedFields, source: string): Promise<string[]> {
  const plan = planContactChanges(person, changes, source);
  if (!plan) return [];
  await writeContactChanges(tx, caller, [plan]);
  await appendAudit(tx, caller, contactAudit(plan));
  return plan.fields;
}

export interface UpdatePersonInput extends ContactChanges {
  name?: string | null;
  departureDate?: string | null;
  liaisonContactId?: string | null;
}

/** An official's own edit of a record. */
export async function updatePerson(deps: Deps, caller: Caller, id: string, input: UpdatePersonInput): Promise<Person> {
  const contact = validateContactChanges('', input);
  const name = input.name ? requireName('name', input.name) : undefined;
  const departureDate = input.departureDate === undefined ? undefined : input.departureDate ? requireDate('departureDate', input.departureDate) : null;
  const liaisonContactId =
    input.liaisonContactId === undefined ? undefined : input.liaisonContactId ? (await requireLiaison(deps.db, 'liaisonContactId', input.liaisonContactId)).id : null;
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, id, { lock: true });
    authorize(caller.actor, 'person.write', personTarget(p));
    const own: Partial<Person> = {};
    if (name !== undefined && name !== p.name) own.name = name;
    if (departureDate !== undefined && departureDate !== p.departureDate) own.departureDate = departureDate;
    if (liaisonContactId !== undefined && liaisonContactId !== p.liaisonContactId) own.liaisonContactId = liaisonContactId;
    if (Object.keys(own).length) {
      await tx.update(people).set({ ...own, updatedAt: new Date() }).where(eq(people.id, p.id));
      await appendAudit(tx, caller, { action: 'person.edit', targetType: 'Person', targetId: p.id, details: { fields: Object.keys(own) } });
    }
    await applyContactChanges(tx, caller, p, contact, 'OFFICIAL_EDIT');
    return loadPerson(tx, p.id);
  });
}

export const ID_REVEAL_REASONS = ['SOCIAL_INSURANCE_TRANSFER', 'BENEFIT_APPLICATION', 'IDENTITY_CHECK', 'PARTNER_INQUIRY', 'LEGAL_AID', 'OTHER'] as const;
export type IdRevealReason = (typeof ID_REVEAL_REASONS)[number];

/** A reason from the fixed list, or (for OTHER or none) a text of bounded length; an optional note with a code. */
function revealReason(code: IdRevealReason | null | undefined, text: string | null | undefined): { reasonCode: IdRevealReason; reason: string | null } {
  if (code != null && !ID_REVEAL_REASONS.includes(code)) throw badInput('reasonCode', 'unknown reason');
  const why = optionalText('reason', text, 200) ?? null;
  if ((code == null || code === 'OTHER') && (!why || [...why].length < 4)) throw badInput('reason', 'choose a reasonCode, or say why the full number is needed (4 to 200 characters)');
  return { reasonCode: code ?? 'OTHER', reason: why };
}

/** Full ID number for a role that needs it, with the reason recorded in the audit log. */
export async function revealIdNumber(deps: Deps, caller: Caller, personId: string, input: { reasonCode?: IdRevealReason | null; reason?: string | null }): Promise<string> {
  const why = revealReason(input.reasonCode, input.reason);
  const p = await loadPerson(deps.db, personId);
  authorize(caller.actor, 'person.revealId', personTarget(p));
  if (!p.idNumberEnc) throw notFound('ID number');
  const idNumber = deps.secrets.decrypt(p.idNumberEnc);
  await deps.db.transaction((tx) => appendAudit(tx, caller, { action: 'person.revealId', targetType: 'Person', targetId: p.id, details: why }));
  return idNumber;
}

// ---- dependants ----

export async function addDependant(deps: Deps, caller: Caller, personId: string, input: DependantInput): Promise<Dependant> {
  const d = requireDependant('dependant', input);
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, personId, { lock: true });
    authorize(caller.actor, 'person.write', personTarget(p));
    const [row] = await tx.insert(dependants).values({ ...d, personId: p.id }).returning();
    await appendAudit(tx, caller, { action: 'dependant.add', targetType: 'Person', targetId: p.id, details: { dependantId: row!.id } });
    return row!;
  });
}

async function loadDependantForWrite(tx: Db, caller: Caller, id: string): Promise<Dependant> {
  const locked = await lockPersonThenRow(tx, dependants, requireUuid('id', id));
  if (!locked) throw notFound('Dependant', id);
  // every dependant has its person (deleted with them)
  const p = locked.person!;
  if (p.erasedAt) throw notFound('Person', p.id);
  authorize(caller.actor, 'person.write', personTarget(p));
  return locked.row;
}

export async function updateDependant(deps: Deps, caller: Caller, id: string, input: DependantInput): Promise<Dependant> {
  const d = requireDependant('dependant', input);
  return registryTransaction(deps, async (tx) => {
    const current = await loadDependantForWrite(tx, caller, id);
    const [row] = await tx.update(dependants).set(d).where(eq(dependants.id, current.id)).returning();
    await appendAudit(tx, caller, { action: 'dependant.update', targetType: 'Person', targetId: current.personId, details: { dependantId: id } });
    return row!;
  });
}

export async function removeDependant(deps: Deps, caller: Caller, id: string): Promise<void> {
  await registryTransaction(deps, async (tx) => {
    const current = await loadDependantForWrite(tx, caller, id);
    await tx.delete(dependants).where(eq(dependants.id, current.id));
    await appendAudit(tx, caller, { action: 'dependant.remove', targetType: 'Person', targetId: current.personId, details: { dependantId: id } });
  });
}

export function dependantsOf(db: Db, personIds: readonly string[]): Promise<Dependant[]> {
  return lookupMany(db, 'dependants_of', personIds, (d) =>
    d.select().from(dependants).where(anyOfIds(dependants.personId)).orderBy(asc(dependants.personId), asc(dependants.id)).prepare('dependants_of'),
  );
}

// ---- lists ----

export interface PeopleFilter {
  villageCode?: string | null;
  townCode?: string | null;
  status?: PersonStatus | null;
  destinationCountyCode?: string | null;
  namePrefix?: string | null;
  /** Only people whose report is overdue today (or not). */
  overdue?: boolean | null;
  liaisonContactId?: string | null;
}

export type PeopleCursor = [string, string];
export const isPeopleCursor = (v: unknown): v is PeopleCursor =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isUuidCursor(v[1]);

/**
 * The values a people list is limited by, checked: the caller's jurisdiction, then the filter. Which of them are
 * present (and whether `overdue` is true or false) is the list's shape: its SQL (peopleWhere) depends on nothing else,
 * so a statement built for a shape serves any values of it.
 */
export interface PeopleConditions {
  village?: string;
  town?: string;
  status?: PersonStatus;
  destination?: string;
  liaison?: string;
  prefix?: string;
  overdue?: boolean;
  /** The date `overdue` compares with (present with it). */
  today?: string;
}
/** The conditions sent as values (all but `overdue`, which chooses the SQL). */
export type PeopleConditionValues = Omit<PeopleConditions, 'overdue'>;

export function peopleConditions(deps: Deps, caller: Caller, f: PeopleFilter): PeopleConditions {
  const scope = scopeEqualities(caller.actor, 'person.read', f.villageCode, f.townCode);
  const c: PeopleConditions = {};
  if (scope.villageCode !== undefined) c.village = scope.villageCode;
  if (scope.townCode !== undefined) c.town = scope.townCode;
  if (f.status) {
    if (!PERSON_STATUSES.includes(f.status)) throw badInput('filter.status', 'unknown status');
    c.status = f.status;
  }
  if (f.destinationCountyCode) c.destination = f.destinationCountyCode;
  if (f.liaisonContactId) c.liaison = requireUuid('filter.liaisonContactId', f.liaisonContactId);
  if (f.namePrefix) c.prefix = f.namePrefix.trim();
  if (f.overdue != null) {
    c.overdue = f.overdue;
    c.today = todayIn(deps.config.timeZone);
  }
  return c;
}

/** A key naming the shape of these conditions (see PeopleConditions). */
export function peopleConditionsShape(c: PeopleConditions): string {
  return `${c.village !== undefined ? 'v' : ''}${c.town !== undefined ? 't' : ''}${c.status !== undefined ? 's' : ''}${c.destination !== undefined ? 'd' : ''}${c.liaison !== undefined ? 'l' : ''}${c.prefix !== undefined ? 'p' : ''}${c.overdue === undefined ? '' : c.overdue ? 'o' : 'n'}`;
}

/**
 * The SQL of a people list's conditions. `value` gives what stands for each value in the statement: by default the
 * value itself (a parameter); `sql.placeholder` for a statement prepared once per shape (the values come at execution).
 * Erased people are never listed.
 */
export function peopleWhere(db: Db, c: PeopleConditions, value: (name: keyof PeopleConditionValues) => unknown = (name) => c[name]): SQL {
  const where: SQL[] = [];
  if (c.village !== undefined) where.push(sql`${people.homeVillageCode} = ${value('village')}`);
  if (c.town !== undefined) where.push(sql`${people.homeTownCode} = ${value('town')}`);
  where.push(isNull(people.erasedAt));
  if (c.status !== undefined) where.push(sql`${people.status} = ${value('status')}`);
  if (c.destination !== undefined) where.push(sql`${people.currentCountyCode} = ${value('destination')}`);
  if (c.liaison !== undefined) where.push(sql`${people.liaisonContactId} = ${value('liaison')}`);
  if (c.prefix !== undefined) where.push(sql`starts_with(${people.name} collate "C", ${value('prefix')})`);
  if (c.overdue !== undefined) {
    const overdue = exists(
      db
        .select({ one: sql`1` })
        .from(agreements)
        .where(and(eq(agreements.personId, people.id), eq(agreements.status, 'ACTIVE'), sql`${agreements.nextDueOn} < ${value('today')}`)),
    );
    where.push(c.overdue ? overdue : sql`not ${overdue}`);
  }
  return and(...where)!;
}

export async function countPeople(deps: Deps, caller: Caller, f: PeopleFilter): Promise<number> {
  const [row] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(people).where(peopleWhere(deps.db, peopleConditions(deps, caller, f)));
  return row?.n ?? 0;
}

export function loadPeople(db: Db, ids: readonly string[]): Promise<Person[]> {
  return lookupMany(db, 'people_by_id', ids, (d) => d.select().from(people).where(anyOfIds(people.id)).prepare('people_by_id'));
}
