import { and, asc, desc, eq, max, sql, type Column, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { users } from '../auth/tables';
import { addDays, todayIn } from '../calendar';
import { anyOf, anyOfIds, lookupMany, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { badInput, conflict, notFound, requireUuid } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize, can } from '../policy/policy';
import { grantConsentTx, withdrawSharingExceptTx } from '../people/consent';
import { isCountyCode } from '../people/identity';
import { loadPerson, personTarget, type Person as PersonRow } from '../people/service';
import { lockPersonThenRow, registryTransaction } from '../people/transaction';
import { scopeConditions } from '../policy/scope-sql';
import { people } from '../people/tables';
import { optionalText, requireDate } from '../people/validation';
import { refreshNextDue } from '../reports/due';
import { CADENCES, type Cadence } from '../reports/periods';
import { agreementInStatus, endAgreementTx, endAllAgreementsTx, runReturnedHomeHooks, type Agreement } from './ending';
import { recordAgreementEvent } from './history';
import { assertAllowed } from './lifecycle';
import { agreements, commitmentItems, SIGN_METHODS, AGREEMENT_STATUSES, type AgreementStatus, type EndReason } from './tables';

export type { Agreement };
export type CommitmentItem = typeof commitmentItems.$inferSelect;

/** The commitment that can never be left out: the official takes no deposit or guarantee money. */
export const NO_DEPOSIT = 'NO_DEPOSIT';

export interface AgreementTerms {
  cadence?: Cadence | null;
  validFrom?: string | null;
  validTo?: string | null;
  officialCommitments?: string[] | null;
  personCommitments?: string[] | null;
  sharingCounties?: string[] | null;
}

interface ValidTerms {
  cadence: Cadence;
  validFrom: string;
  validTo: string | null;
  officialCommitments: string[];
  personCommitments: string[];
  sharingCounties: string[];
}

export async function listCommitmentItems(db: Db): Promise<CommitmentItem[]> {
  return db.select().from(commitmentItems).where(eq(commitmentItems.active, true)).orderBy(asc(commitmentItems.side), asc(commitmentItems.sortOrder));
}

/** Merges changes over a base and checks the whole: items from the county template, dates in order, counties valid. */
async function validateTerms(db: Db, base: ValidTerms | undefined, t: AgreementTerms, today: string): Promise<ValidTerms> {
  const items = await listCommitmentItems(db);
  const bySide = (side: 'OFFICIAL' | 'PERSON') => items.filter((i) => i.side === side).map((i) => i.code);
  const cadence = t.cadence ?? base?.cadence;
  if (!cadence || !CADENCES.includes(cadence)) throw badInput('cadence', 'choose MONTHLY, QUARTERLY or HALF_YEARLY');
  const validFrom = t.validFrom ? requireDate('validFrom', t.validFrom) : (base?.validFrom ?? today);
  const validTo = t.validTo === undefined ? (base?.validTo ?? null) : t.validTo ? requireDate('validTo', t.validTo) : null;
  if (validTo && validTo < validFrom) throw badInput('validTo', 'must not be before validFrom');
  const official = [...new Set(t.officialCommitments ?? base?.officialCommitments ?? bySide('OFFICIAL'))];
  const person = [...new Set(t.personCommitments ?? base?.personCommitments ?? bySide('PERSON'))];
  for (const [field, list, side] of [['officialCommitments', official, 'OFFICIAL'], ['personCommitments', person, 'PERSON']] as const) {
    if (list.length === 0) throw badInput(field, 'at least one commitment is needed');
    const known = bySide(side);
    for (const code of list) if (!known.includes(code)) throw badInput(field, `${code} is not an item of the county template for this side`);
  }
  if (!official.includes(NO_DEPOSIT)) throw badInput('officialCommitments', 'the no-deposit commitment cannot be left out');
  const sharingCounties = [...new Set(t.sharingCounties ?? base?.sharingCounties ?? [])];
  for (const c of sharingCounties) if (!isCountyCode(c)) throw badInput('sharingCounties', `${c} is not a county code`);
  return { cadence, validFrom, validTo, officialCommitments: official, personCommitments: person, sharingCounties };
}

export async function loadAgreement(db: Db, id: string, lock = false): Promise<Agreement> {
  const q = db.select().from(agreements).where(eq(agreements.id, requireUuid('id', id)));
  const [row] = lock ? await q.for('update') : await q;
  if (!row) throw notFound('Agreement', id);
  return row;
}

/**
 * Locks an agreement for a change in the registry's lock order (see registryTransaction): its person's row first,
 * then the agreement. The person is returned even when erased; callers that start something new refuse that.
 */
export async function lockAgreement(tx: Db, id: string): Promise<{ agreement: Agreement; person: PersonRow }> {
  const locked = await lockPersonThenRow(tx, agreements, requireUuid('id', id));
  if (!locked) throw notFound('Agreement', id);
  // every agreement has its person (never deleted, only erased)
  return { agreement: locked.row, person: locked.person! };
}

function refuseErased(p: PersonRow): void {
  if (p.erasedAt) throw conflict('the person’s data has been erased; register them again to make a new agreement');
}

export async function getAgreement(deps: Deps, caller: Caller, id: string): Promise<Agreement> {
  const a = await loadAgreement(deps.db, id);
  authorize(caller.actor, 'agreement.read', { villageCode: a.villageCode });
  return a;
}

/** The official who signs for the village: the caller if they sign as its official, else the one named. */
async function signingOfficial(tx: Db, caller: Caller, villageCode: string, officialUserId?: string | null): Promise<string> {
  if (!officialUserId && caller.actor.kind === 'user' && can(caller.actor, 'agreement.signAsOfficial', { villageCode })) return caller.actor.userId;
  if (!officialUserId) throw badInput('officialUserId', 'name the village official who signs');
  const [u] = await tx.select().from(users).where(eq(users.id, requireUuid('officialUserId', officialUserId)));
  if (!u || u.role !== 'VILLAGE_OFFICIAL' || u.scope !== villageCode || u.disabledAt) {
    throw badInput('officialUserId', 'must be an enabled official of the person’s home village');
  }
  return u.id;
}

async function insertVersion(tx: Db, caller: Caller, base: { personId: string; villageCode: string; townCode: string; officialUserId: string }, terms: ValidTerms, previous: Agreement | undefined, action: string): Promise<Agreement> {
  const [{ v } = { v: 0 }] = await tx.select({ v: max(agreements.version) }).from(agreements).where(eq(agreements.personId, base.personId));
  const [row] = await tx
    .insert(agreements)
    .values({ ...base, ...terms, version: (v ?? 0) + 1, previousId: previous?.id ?? null, status: 'DRAFT' })
    .onConflictDoNothing()
    .returning();
  if (!row) throw conflict('this person already has a draft agreement; edit or end it first');
  await recordAgreementEvent(tx, caller, row.id, action, { version: row.version, previousId: previous?.id ?? null });
  await appendAudit(tx, caller, { action: `agreement.${action.toLowerCase()}`, targetType: 'Agreement', targetId: row.id, details: { version: row.version } });
  return row;
}

export interface CreateAgreementInput extends AgreementTerms {
  personId: string;
  officialUserId?: string | null;
}

/** A first agreement (or a fresh one after the last ended) starts as a DRAFT. */
export async function createAgreement(deps: Deps, caller: Caller, input: CreateAgreementInput): Promise<Agreement> {
  const today = todayIn(deps.config.timeZone);
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, input.personId, { lock: true });
    authorize(caller.actor, 'agreement.write', personTarget(p));
    if (await agreementInStatus(tx, p.id, 'ACTIVE')) throw conflict('this person has an active agreement; amend or renew it instead');
    const terms = await validateTerms(tx, undefined, input, today);
    const officialUserId = await signingOfficial(tx, caller, p.homeVillageCode, input.officialUserId);
    const [last] = await tx.select().from(agreements).where(eq(agreements.personId, p.id)).orderBy(desc(agreements.version)).limit(1);
    return insertVersion(tx, caller, { personId: p.id, villageCode: p.homeVillageCode, townCode: p.homeTownCode, officialUserId }, terms, last, 'CREATE');
  });
}

export async function updateDraft(deps: Deps, caller: Caller, id: string, changes: AgreementTerms): Promise<Agreement> {
  const today = todayIn(deps.config.timeZone);
  return registryTransaction(deps, async (tx) => {
    const { agreement: a } = await lockAgreement(tx, id);
    authorize(caller.actor, 'agreement.write', { villageCode: a.villageCode });
    assertAllowed(a.status, 'EDIT_DRAFT');
    const terms = await validateTerms(tx, a, changes, today);
    // Changing the terms voids signatures given to the old text.
    const [row] = await tx
      .update(agreements)
      .set({ ...terms, officialSignedAt: null, officialSignMethod: null, officialSignRef: null, personSignedAt: null, personSignMethod: null, personSignRef: null })
      .where(eq(agreements.id, a.id))
      .returning();
    await recordAgreementEvent(tx, caller, a.id, 'EDIT_DRAFT', { fields: Object.keys(changes).filter((k) => changes[k as keyof AgreementTerms] !== undefined) });
    await appendAudit(tx, caller, { action: 'agreement.editDraft', targetType: 'Agreement', targetId: a.id });
    return row!;
  });
}

export interface SignatureInput {
  side: 'OFFICIAL' | 'PERSON';
  method: (typeof SIGN_METHODS)[number];
  /** Reference of the scanned paper form; required for PAPER. */
  scanRef?: string | null;
  signedAt?: Date | null;
}

/**
 * Records one side's signature. When both sides have signed, the draft becomes ACTIVE in the same transaction:
 * an older active version ends as REPLACED, consents are recorded, and the first report's due date is computed.
 */
export async function signAgreement(deps: Deps, caller: Caller, id: string, sig: SignatureInput): Promise<Agreement> {
  if (!SIGN_METHODS.includes(sig.method)) throw badInput('method', 'PAPER or PHONE');
  const scanRef = optionalText('scanRef', sig.scanRef, 100) ?? null;
  if (sig.method === 'PAPER' && !scanRef) throw badInput('scanRef', 'a paper signature needs the reference of its scan');
  const signedAt = sig.signedAt ?? new Date();
  if (signedAt.getTime() > Date.now() + 60_000) throw badInput('signedAt', 'cannot be in the future');
  return registryTransaction(deps, async (tx) => {
    const { agreement: a, person } = await lockAgreement(tx, id);
    authorize(caller.actor, 'agreement.write', { villageCode: a.villageCode });
    assertAllowed(a.status, 'SIGN');
    refuseErased(person);
    const isNamedOfficial = caller.actor.kind === 'user' && caller.actor.userId === a.officialUserId;
    if (sig.side === 'OFFICIAL' && !isNamedOfficial && !can(caller.actor, 'agreement.recordOfficialSignature', { villageCode: a.villageCode })) {
      throw conflict('only the official named on the agreement can record the official signature');
    }
    const set =
      sig.side === 'OFFICIAL'
        ? { officialSignedAt: signedAt, officialSignMethod: sig.method, officialSignRef: scanRef }
        : { personSignedAt: signedAt, personSignMethod: sig.method, personSignRef: scanRef };
    const [signed] = await tx.update(agreements).set(set).where(eq(agreements.id, a.id)).returning();
    await recordAgreementEvent(tx, caller, a.id, 'SIGN', { side: sig.side, method: sig.method });
    await appendAudit(tx, caller, { action: 'agreement.sign', targetType: 'Agreement', targetId: a.id, details: { side: sig.side, method: sig.method } });
    if (!signed!.officialSignedAt || !signed!.personSignedAt) return signed!;
    return activateTx(tx, deps, caller, signed!);
  });
}

async function activateTx(tx: Db, deps: Deps, caller: Caller, a: Agreement): Promise<Agreement> {
  // Reached only from SIGN on a DRAFT (checked by the caller) once both sides have signed.
  const current = await agreementInStatus(tx, a.personId, 'ACTIVE', true);
  if (current) await endAgreementTx(tx, caller, current, 'REPLACED');
  const [active] = await tx.update(agreements).set({ status: 'ACTIVE', activatedAt: new Date() }).where(eq(agreements.id, a.id)).returning();
  await tx.update(people).set({ status: 'AWAY', withdrawnAt: null, returnedOn: null, updatedAt: new Date() }).where(eq(people.id, a.personId));
  // The day the person signed, in the county's time zone (a UTC date is a day early before 08:00 in Beijing).
  const givenOn = todayIn(deps.config.timeZone, a.personSignedAt!);
  const method = a.personSignMethod === 'PAPER' ? 'PAPER' : 'PHONE';
  await grantConsentTx(tx, caller, a.personId, 'AGREEMENT', '', method, givenOn);
  for (const county of a.sharingCounties) await grantConsentTx(tx, caller, a.personId, 'PARTNER_SHARING', county, method, givenOn);
  await withdrawSharingExceptTx(tx, caller, a.personId, a.sharingCounties);
  await refreshNextDue(tx, [active!], deps.config.reportGraceDays);
  await recordAgreementEvent(tx, caller, a.id, 'ACTIVATE', { replaced: current?.id ?? null });
  await appendAudit(tx, caller, { action: 'agreement.activate', targetType: 'Agreement', targetId: a.id, details: { replaced: current?.id ?? null } });
  return loadAgreement(tx, a.id);
}

/** A new DRAFT version with changed terms; the active one stays in force until the new one is signed. */
export async function amendAgreement(deps: Deps, caller: Caller, id: string, changes: AgreementTerms): Promise<Agreement> {
  return newVersion(deps, caller, id, changes, 'AMEND');
}

/** A new DRAFT version for a further term, from an active or ended agreement. */
export async function renewAgreement(deps: Deps, caller: Caller, id: string, changes: AgreementTerms): Promise<Agreement> {
  return newVersion(deps, caller, id, changes, 'RENEW');
}

async function newVersion(deps: Deps, caller: Caller, id: string, changes: AgreementTerms, action: 'AMEND' | 'RENEW'): Promise<Agreement> {
  const today = todayIn(deps.config.timeZone);
  return registryTransaction(deps, async (tx) => {
    const { agreement: a, person: p } = await lockAgreement(tx, id);
    authorize(caller.actor, 'agreement.write', { villageCode: a.villageCode });
    assertAllowed(a.status, action);
    refuseErased(p);
    const [latest] = await tx.select().from(agreements).where(eq(agreements.personId, a.personId)).orderBy(desc(agreements.version)).limit(1);
    if (latest && latest.id !== a.id && latest.status !== 'ENDED') throw conflict('a newer version of this agreement exists', { latestId: latest.id });
    // A renewal's term starts the day after the old one ends (a day in both terms would be owed twice).
    const base = action === 'RENEW' && a.validTo && !changes.validFrom ? { ...a, validFrom: addDays(a.validTo, 1), validTo: null } : a;
    const terms = await validateTerms(tx, base, changes, today);
    // An official making the new version signs it; anyone else keeps the official named on the old one.
    const signsAsOfficial = can(caller.actor, 'agreement.signAsOfficial', { villageCode: p.homeVillageCode });
    const officialUserId = await signingOfficial(tx, caller, p.homeVillageCode, signsAsOfficial ? null : a.officialUserId);
    return insertVersion(tx, caller, { personId: p.id, villageCode: p.homeVillageCode, townCode: p.homeTownCode, officialUserId }, terms, a, action);
  });
}

/**
 * Ends an agreement. Returning home and withdrawal are about the person, not just this paper: they go through
 * markReturned / withdrawConsent so the person's status and consents follow.
 */
export async function endAgreement(deps: Deps, caller: Caller, id: string, reason: EndReason, note?: string | null): Promise<Agreement> {
  if (reason === 'REPLACED') throw badInput('reason', 'REPLACED is set when a newer version is signed');
  const endNote = optionalText('note', note, 1000) ?? null;
  return registryTransaction(deps, async (tx) => {
    const { agreement: a } = await lockAgreement(tx, id);
    authorize(caller.actor, 'agreement.write', { villageCode: a.villageCode });
    if (reason === 'WITHDRAWN' || reason === 'RETURNED_HOME') {
      assertAllowed(a.status, 'END', reason);
      throw badInput('reason', reason === 'WITHDRAWN' ? 'use withdrawConsent: withdrawal ends the agreement and stops sharing' : 'use markReturned: it ends the agreement and updates the person');
    }
    return endAgreementTx(tx, caller, a, reason, endNote);
  });
}

/** The daily job: active agreements whose term ended before `asOf` end as EXPIRED. */
export async function expireAgreements(deps: Deps, caller: Caller, asOf: string): Promise<number> {
  authorize(caller.actor, 'agreement.expire');
  requireDate('asOf', asOf);
  const expiring = and(eq(agreements.status, 'ACTIVE'), sql`${agreements.validTo} < ${asOf}`);
  return registryTransaction(deps, async (tx) => {
    const due = await tx.select({ id: agreements.id, personId: agreements.personId }).from(agreements).where(expiring);
    if (due.length === 0) return 0;
    // Lock order, set-based: all their people first, in id order (as the inbox locks a batch's people), then the
    // agreements, read again under the lock (one may have ended or been renewed since the read above).
    const personIds = [...new Set(due.map((d) => d.personId))];
    await tx.select({ id: people.id }).from(people).where(anyOf(people.id, personIds)).orderBy(asc(people.id)).for('update');
    const locked = await tx
      .select()
      .from(agreements)
      .where(and(anyOf(agreements.id, due.map((d) => d.id)), expiring))
      .orderBy(asc(agreements.personId), asc(agreements.id))
      .for('update');
    for (const a of locked) await endAgreementTx(tx, caller, a, 'EXPIRED');
    return locked.length;
  });
}

/** The person came home: status RETURNED, agreement ended as RETURNED_HOME (an open draft is discarded). */
export async function markReturned(deps: Deps, caller: Caller, personId: string, returnedOn: string) {
  const on = requireDate('returnedOn', returnedOn);
  if (on > todayIn(deps.config.timeZone)) throw badInput('returnedOn', 'cannot be in the future');
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, personId, { lock: true });
    authorize(caller.actor, 'person.write', personTarget(p));
    if (p.status !== 'AWAY') throw conflict(`the person is ${p.status}, not away`);
    await endAllAgreementsTx(tx, caller, p.id, 'RETURNED_HOME');
    await tx.update(people).set({ status: 'RETURNED', returnedOn: on, updatedAt: new Date() }).where(eq(people.id, p.id));
    await runReturnedHomeHooks(tx, caller, p.id);
    await appendAudit(tx, caller, { action: 'person.returned', targetType: 'Person', targetId: p.id, details: { returnedOn: on } });
    return loadPerson(tx, p.id);
  });
}

// ---- lists ----

export interface AgreementFilter {
  personId?: string | null;
  status?: AgreementStatus | null;
  villageCode?: string | null;
  townCode?: string | null;
}

export async function listAgreements(deps: Deps, caller: Caller, f: AgreementFilter, first: number, afterId?: string) {
  const where: SQL[] = scopeConditions(caller.actor, 'agreement.read', agreements.villageCode, agreements.townCode, f.villageCode, f.townCode);
  if (f.personId) where.push(eq(agreements.personId, requireUuid('filter.personId', f.personId)));
  if (f.status) {
    if (!AGREEMENT_STATUSES.includes(f.status)) throw badInput('filter.status', 'unknown status');
    where.push(eq(agreements.status, f.status));
  }
  if (afterId) where.push(sql`${agreements.id} > ${afterId}`);
  const rows = await deps.db.select().from(agreements).where(and(...where)).orderBy(asc(agreements.id)).limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}

/** Every version of the agreements of these people, oldest first. */
export function versionsOf(db: Db, personIds: readonly string[]): Promise<Agreement[]> {
  return lookupMany(db, 'agreement_versions', personIds, (d) =>
    d.select().from(agreements).where(anyOfIds(agreements.personId)).orderBy(asc(agreements.version)).prepare('agreement_versions'),
  );
}

/** Batch: each person's ACTIVE agreement (for people pages). */
export function activeAgreementsOf(db: Db, personIds: readonly string[]): Promise<Agreement[]> {
  return lookupMany(db, 'agreements_active', personIds, (d) =>
    d.select().from(agreements).where(and(anyOfIds(agreements.personId), eq(agreements.status, 'ACTIVE'))).prepare('agreements_active'),
  );
}

/** The condition joining `agreements` to the rows of `personId` on the same ACTIVE agreement (at most one per person). */
export function isActiveAgreementOf(personId: Column): SQL {
  // 'ACTIVE' written as a literal: a cached plan can then use the partial index of active agreements.
  return and(eq(agreements.personId, personId), sql`${agreements.status} = 'ACTIVE'`)!;
}

export function loadAgreements(db: Db, ids: readonly string[]): Promise<Agreement[]> {
  return lookupMany(db, 'agreements_by_id', ids, (d) => d.select().from(agreements).where(anyOfIds(agreements.id)).prepare('agreements_by_id'));
}
