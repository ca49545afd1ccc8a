import { and, eq, isNull } from 'drizzle-orm';
import { anyOf, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict } from '../errors';
import { RecordRejected, type ApplyContext, type ApplyOutcome } from '../exchange/appliers';
import { storedInboundSubject } from '../exchange/monitor';
import type { UnmatchedReason } from '../exchange/tables';
import { lockNotice, lockOpenNotices, openNoticeFor, type IncomingNotice } from '../notices/service';
import { agreementInForce, findPartner } from '../partners/service';
import { hasConsent } from '../people/consent';
import { CHANGE_COLUMNS, loadPerson, personTarget, type ChangedPerson, type Person } from '../people/service';
import { people, type PersonStatus } from '../people/tables';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';

// ---- receiving: who a partner's record is about ----

export type Match =
  | { kind: 'person'; person: Person }
  | { kind: 'notice'; notice: IncomingNotice }
  | { kind: 'none'; reason: UnmatchedReason };

const sameName = (a: string, b: string) => a.trim().replace(/\s+/g, ' ') === b.trim().replace(/\s+/g, ' ');

/**
 * The subject of an inbound record, locked for the change. Matched means: one of our people (not erased) has the
 * subject's ID number (compared by HMAC) **and** the same name (whitespace aside); an ID number with another name
 * is NAME_DIFFERS, for a person to check. With `notices`, a subject who is not ours may instead be a partner's
 * resident here: the issuing partner's latest notice about them that is not closed. A record a person resolved
 * (linkedPersonId) is about the person they chose.
 */
export async function matchSubject(ctx: ApplyContext, opts: { notices: boolean }): Promise<Match> {
  const db = ctx.deps.db;
  if (ctx.linkedPersonId) return { kind: 'person', person: await loadPerson(db, ctx.linkedPersonId, { lock: true }) };
  const [person] = await db
    .select()
    .from(people)
    .where(and(eq(people.idNumberHmac, ctx.subjectIdHmac), isNull(people.erasedAt)))
    .for('update');
  if (person) return personMatch(person, ctx.record.subject.name);
  const notice = opts.notices ? await openNoticeFor(db, ctx.partner.countyCode, ctx.subjectIdHmac) : undefined;
  return notice ? { kind: 'notice', notice } : { kind: 'none', reason: 'UNKNOWN_SUBJECT' };
}

/** What a batch's records are about, locked: our people by ID-number HMAC, and the partner's residents here. */
export interface LockedSubjects {
  people: Map<string, ChangedPerson>;
  /** HMACs of subjects who are not ours and have an open notice of the partner. */
  notices: Set<string>;
}

/**
 * Locks everything a batch's records may change about their subjects before any of them is applied, in one fixed
 * order (see registryTransaction): our people in id order, then the partner's open notices about the others in id
 * order. Record by record, in the partner's order, two batches naming the same people in other orders deadlocked.
 * Each record's applier then locks its subject again (already held).
 */
export async function lockSubjects(tx: Db, partnerCode: string, subjectIdHmacs: readonly string[]): Promise<LockedSubjects> {
  const hmacs = [...new Set(subjectIdHmacs)];
  // Only the columns deciding the batch's changes read (a few hundred rows a batch, parsed and mapped cell by cell).
  const ours = hmacs.length ? await tx.select(CHANGE_COLUMNS).from(people).where(and(anyOf(people.idNumberHmac, hmacs, 'text'), isNull(people.erasedAt))).orderBy(people.id).for('update') : [];
  const byHmac = new Map(ours.map((p) => [p.idNumberHmac!, p]));
  const notices = await lockOpenNotices(tx, partnerCode, hmacs.filter((h) => !byHmac.has(h)));
  return { people: byHmac, notices: new Set(notices.map((n) => n.subjectIdHmac!)) };
}

/** Pure: the person who has a record's ID number is its subject only under the same name (whitespace aside). */
export function personMatch<P extends Pick<Person, 'name'>>(person: P, subjectName: string): { kind: 'person'; person: P } | { kind: 'none'; reason: UnmatchedReason } {
  return sameName(person.name, subjectName) ? { kind: 'person', person } : { kind: 'none', reason: 'NAME_DIFFERS' };
}

/** A record matching no one is kept UNMATCHED, for a person to resolve. */
export const unmatched = (m: Exclude<Match, { kind: 'person' }>): ApplyOutcome => ({ state: 'UNMATCHED', reason: m.kind === 'none' ? m.reason : 'UNKNOWN_SUBJECT' });

/**
 * What a partner may not tell us about our resident: nothing once they withdrew (PERSON_WITHDRAWN), and news of
 * life away from home only while they are away (PERSON_NOT_AWAY).
 */
export function requirePersonStatus(person: Pick<Person, 'status'>, allowed: readonly PersonStatus[]): void {
  if (person.status === 'WITHDRAWN') throw new RecordRejected('PERSON_WITHDRAWN', 'the person withdrew consent');
  if (!allowed.includes(person.status)) throw new RecordRejected('PERSON_NOT_AWAY', `the person is ${person.status}`);
}

// ---- sending: who a record we issue is about ----

export interface SubjectRef {
  /** Our resident, and the partner county to tell... */
  personId?: string | null;
  partnerCountyCode?: string | null;
  /** ...or a partner's resident here (the record goes to the notice's county). */
  noticeId?: string | null;
}

export interface OutgoingSubject {
  partnerCode: string;
  /** As the record names the person: ours from the registry, a partner's resident as the partner named them. */
  subject: { idNumber: string; name: string };
  person: Person | null;
  notice: IncomingNotice | null;
}

/** The person consented to sharing with this partner county (and has not withdrawn it): else nothing is sent. */
export async function requireSharingConsent(tx: Db, person: Person, partnerCode: string): Promise<void> {
  if (!(await hasConsent(tx, person.id, 'PARTNER_SHARING', partnerCode))) {
    throw conflict(`this person has not consented to sharing their record with county ${partnerCode}; record a PARTNER_SHARING consent first`, {
      field: 'partnerCountyCode',
      reason: 'NO_SHARING_CONSENT',
    });
  }
}

/**
 * Locks and checks the subject of a record we are about to send, inside the caller's transaction. Our resident:
 * the caller may share about them (their jurisdiction), they have not withdrawn, the partner is registered and in
 * force, and they consented to sharing with it. Locking the person orders this against a concurrent withdrawal of
 * that consent, which locks the person too: nothing is queued after the withdrawal commits. A partner's resident
 * here: the caller handles incoming notices; the partner in force is checked when the record is queued.
 */
export async function subjectForSending(deps: Deps, caller: Caller, ref: SubjectRef): Promise<OutgoingSubject> {
  const tx = deps.db;
  if (ref.noticeId) {
    if (ref.personId) throw badInput('personId', 'name a person or a notice, not both');
    const notice = await lockNotice(tx, caller, ref.noticeId);
    // records about the person name them exactly as their home county's DEPARTURE did
    const subject = await storedInboundSubject(deps, notice.partnerCode, notice.departureRecordId);
    if (!subject) throw conflict('the departure record of this notice was erased');
    return { partnerCode: notice.partnerCode, subject, person: null, notice };
  }
  if (!ref.personId) throw badInput('personId', 'name a person (and the partner county) or a notice');
  const person = await loadPerson(tx, ref.personId, { lock: true });
  authorize(caller.actor, 'exchange.share', personTarget(person));
  const partnerCode = ref.partnerCountyCode?.trim() ?? '';
  const partner = partnerCode ? await findPartner(tx, partnerCode) : undefined;
  if (!partner) throw badInput('partnerCountyCode', partnerCode ? `${partnerCode} is not a registered partner county` : 'name the partner county');
  if (!agreementInForce(partner)) throw conflict(`the agreement with ${partnerCode} is not in force`, { field: 'partnerCountyCode' });
  if (person.status === 'WITHDRAWN') throw conflict('this person withdrew consent; nothing is shared about them', { reason: 'PERSON_WITHDRAWN' });
  await requireSharingConsent(tx, person, partnerCode);
  if (!person.idNumberEnc) throw conflict('this person has no ID number on record');
  return { partnerCode, subject: { idNumber: deps.secrets.decrypt(person.idNumberEnc), name: person.name }, person, notice: null };
}
