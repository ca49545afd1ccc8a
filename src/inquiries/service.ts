import { and, asc, eq, gt, inArray, lt, not, or, type SQL } from 'drizzle-orm';
import { appendAudit, appendAuditMany } from '../audit/service';
import { protocolDate, todayIn } from '../calendar';
import { anyOf, anyOfIds, lookupMany, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import { badInput, conflict, notFound, requireUuid } from '../errors';
import { INQUIRY_PURPOSES, REPLY_RESULTS, URGENCIES } from '../exchange/bodies';
import { storedInboundSubject } from '../exchange/monitor';
import { queueRecord } from '../exchange/outbox';
import { transitionNotice } from '../notices/service';
import { maskIdNumber } from '../people/identity';
import type { Person } from '../people/service';
import { lockPersonThenRow, registryTransaction } from '../people/transaction';
import { optionalText, requireDate } from '../people/validation';
import { actorColumns, type Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { requireSharingConsent, subjectForSending, type SubjectRef } from '../sharing/subject';
import { ANSWER_ACTION, INITIAL_INQUIRY_STATUS, requireInquiryTransition, type InquiryAction } from './lifecycle';
import { inquiries, inquiryEvents, INQUIRY_DIRECTIONS, INQUIRY_STATUSES, OPEN_INQUIRY_STATUSES, type InquiryDirection, type InquiryStatus } from './tables';

export type Inquiry = typeof inquiries.$inferSelect;
export type InquiryEvent = typeof inquiryEvents.$inferSelect;
type Purpose = (typeof INQUIRY_PURPOSES)[number];
type Urgency = (typeof URGENCIES)[number];
type ReplyResult = (typeof REPLY_RESULTS)[number];

/** Appends the history row of an action (who, role, when; no personal data). */
export async function appendInquiryEvent(tx: Db, caller: Caller, inquiryId: string, action: string, fromStatus: InquiryStatus | null, toStatus: InquiryStatus): Promise<void> {
  await tx.insert(inquiryEvents).values({ inquiryId, action, fromStatus, toStatus, ...actorColumns(caller.actor) });
}

/** Creates an inquiry in its initial status (SENT or RECEIVED), with its first history row. */
export async function insertInquiry(tx: Db, caller: Caller, values: Omit<typeof inquiries.$inferInsert, 'status'> & { direction: InquiryDirection }): Promise<Inquiry> {
  const status = INITIAL_INQUIRY_STATUS[values.direction];
  const [row] = await tx.insert(inquiries).values({ ...values, status }).returning();
  await appendInquiryEvent(tx, caller, row!.id, values.direction === 'OUTBOUND' ? 'SEND' : 'RECEIVE', null, status);
  return row!;
}

/** One lifecycle action on a locked inquiry: allowed (CONFLICT otherwise), written with `set` and a history row. */
export async function transitionInquiry(tx: Db, caller: Caller, inquiry: Inquiry, action: InquiryAction, set: Partial<Inquiry> = {}): Promise<Inquiry> {
  const to = requireInquiryTransition(inquiry.direction, inquiry.status, action);
  const [row] = await tx
    .update(inquiries)
    .set({ ...set, status: to, updatedAt: new Date(), ...(to === 'CLOSED' ? { closedAt: new Date() } : {}) })
    .where(eq(inquiries.id, inquiry.id))
    .returning();
  await appendInquiryEvent(tx, caller, inquiry.id, action, inquiry.status, to);
  return row!;
}

/** Where an inquiry sits for the policy: its person's village; county level (administrators) otherwise. */
const inquiryTarget = (i: Pick<Inquiry, 'villageCode'>) => ({ villageCode: i.villageCode });

/**
 * Locks an inquiry for an action, in the registry's lock order: its person first (as erasure, which clears the
 * inquiries about the people it erases, takes them), then the inquiry.
 */
async function lockInquiry(tx: Db, caller: Caller, id: string): Promise<{ inquiry: Inquiry; person: Person | undefined }> {
  const locked = await lockPersonThenRow(tx, inquiries, requireUuid('id', id));
  if (!locked) throw notFound('Inquiry', id);
  authorize(caller.actor, 'inquiry.handle', inquiryTarget(locked.row));
  return { inquiry: locked.row, person: locked.person };
}

// ---- outbound: we ask a partner ----

export interface SendInquiryInput extends SubjectRef {
  purpose: Purpose;
  question: string;
  urgency: Urgency;
  /** Default: 15 days (URGENT) or 30 days (NORMAL) from today. */
  dueOn?: string | null;
}

/**
 * Asks a partner county to verify something about our resident (who must have consented to sharing with it) or
 * about its resident here: the INQUIRY record is queued and the inquiry SENT in one transaction.
 */
export async function sendInquiry(deps: Deps, caller: Caller, input: SendInquiryInput): Promise<Inquiry> {
  if (!INQUIRY_PURPOSES.includes(input.purpose)) throw badInput('purpose', 'unknown purpose');
  if (!URGENCIES.includes(input.urgency)) throw badInput('urgency', 'URGENT or NORMAL');
  const question = optionalText('question', input.question, 1000);
  if (!question) throw badInput('question', 'say what to verify');
  const today = protocolDate();
  const dueOn = input.dueOn ? requireDate('dueOn', input.dueOn) : undefined;
  if (dueOn && dueOn < today) throw badInput('dueOn', 'cannot be in the past');
  return registryTransaction(deps, async (tx) => {
    const s = await subjectForSending({ ...deps, db: tx }, caller, input);
    if (s.notice) await transitionNotice(tx, caller, s.notice, 'INQUIRE');
    const body = { purpose: input.purpose, question, urgency: input.urgency, ...(dueOn ? { dueOn } : {}) };
    const q = await queueRecord({ ...deps, db: tx }, { partnerCode: s.partnerCode, type: 'INQUIRY', subject: s.subject, body, personId: s.person?.id ?? null });
    const inquiry = await insertInquiry(tx, caller, {
      direction: 'OUTBOUND',
      partnerCode: s.partnerCode,
      recordId: q.id,
      personId: s.person?.id ?? null,
      noticeId: s.notice?.id ?? null,
      villageCode: s.person?.homeVillageCode ?? null,
      townCode: s.person?.homeTownCode ?? null,
      subjectName: s.subject.name,
      subjectIdMasked: maskIdNumber(s.subject.idNumber),
      purpose: input.purpose,
      question,
      urgency: input.urgency,
      issuedOn: protocolDate(new Date(q.record.iat * 1000)),
      dueOn: q.record.body.dueOn,
    });
    await appendAuditMany(tx, caller, [
      { action: 'inquiry.send', targetType: 'Inquiry', targetId: inquiry.id, details: { partner: s.partnerCode, recordId: q.id, purpose: input.purpose } },
      q.auditEvent,
    ]);
    return inquiry;
  });
}

// ---- inbound: a partner asked us ----

/** An action that changes nothing but the inquiry's status (and its history), audited as `inquiry.<action>`. */
async function simpleAction(deps: Deps, caller: Caller, id: string, action: 'VERIFY' | 'CLOSE'): Promise<Inquiry> {
  return deps.db.transaction(async (tx) => {
    const inquiry = await transitionInquiry(tx, caller, (await lockInquiry(tx, caller, id)).inquiry, action);
    await appendAudit(tx, caller, { action: `inquiry.${action.toLowerCase()}`, targetType: 'Inquiry', targetId: inquiry.id });
    return inquiry;
  });
}

/** The official (or administrator) checked the facts. */
export const verifyInquiry = (deps: Deps, caller: Caller, id: string) => simpleAction(deps, caller, id, 'VERIFY');

/** Closes an answered inquiry (either direction), or one we sent that is no longer needed. */
export const closeInquiry = (deps: Deps, caller: Caller, id: string) => simpleAction(deps, caller, id, 'CLOSE');

/**
 * Answers a partner's inquiry: the INQUIRY_REPLY (ref = the inquiry) is queued and the inquiry ANSWERED in one
 * transaction. VERIFIED needs a verified inquiry and, for our resident, their consent to sharing with that county;
 * UNMATCHED answers an inquiry that matched no one; DECLINED is always possible.
 */
export async function answerInquiry(deps: Deps, caller: Caller, id: string, result: ReplyResult, rawAnswer: string): Promise<Inquiry> {
  if (!REPLY_RESULTS.includes(result)) throw badInput('result', 'VERIFIED, UNMATCHED or DECLINED');
  const answer = optionalText('answer', rawAnswer, 2000);
  if (!answer) throw badInput('answer', 'write the answer');
  return registryTransaction(deps, async (tx) => {
    const { inquiry: current, person } = await lockInquiry(tx, caller, id);
    if (current.direction !== 'INBOUND') throw conflict('only inquiries from partner counties are answered here');
    requireInquiryTransition(current.direction, current.status, ANSWER_ACTION[result]);
    if (person?.erasedAt) throw notFound('Person', person.id);
    if (person && result === 'VERIFIED') await requireSharingConsent(tx, person, current.partnerCode);
    // the reply names the person exactly as the partner's inquiry did
    const subject = await storedInboundSubject({ ...deps, db: tx }, current.partnerCode, current.recordId);
    if (!subject) throw conflict('the inquiry record was erased');
    const q = await queueRecord(
      { ...deps, db: tx },
      { partnerCode: current.partnerCode, type: 'INQUIRY_REPLY', subject, ref: current.recordId, body: { result, answer }, personId: person?.id ?? null },
    );
    const inquiry = await transitionInquiry(tx, caller, current, ANSWER_ACTION[result], { result, answer, replyRecordId: q.id, answeredAt: new Date() });
    await appendAuditMany(tx, caller, [
      { action: 'inquiry.answer', targetType: 'Inquiry', targetId: inquiry.id, details: { result, recordId: q.id } },
      q.auditEvent,
    ]);
    return inquiry;
  });
}

// ---- reads ----

export async function getInquiry(deps: Deps, caller: Caller, id: string): Promise<Inquiry> {
  const [row] = await deps.db.select().from(inquiries).where(eq(inquiries.id, requireUuid('id', id)));
  if (!row) throw notFound('Inquiry', id);
  authorize(caller.actor, 'inquiry.read', inquiryTarget(row));
  return row;
}

const isOpen = inArray(inquiries.status, [...OPEN_INQUIRY_STATUSES]);

/** Open (waiting for an answer, ours or the partner's) and due before `asOf`. */
export const pastDue = (asOf: string): SQL => and(isOpen, lt(inquiries.dueOn, asOf))!;

/** Whether an inquiry is overdue on a day: still open the day after its due date. */
export function isOverdue(i: Pick<Inquiry, 'status' | 'dueOn'>, asOf: string): boolean {
  return (OPEN_INQUIRY_STATUSES as readonly string[]).includes(i.status) && i.dueOn < asOf;
}

export interface InquiryFilter {
  direction?: InquiryDirection | null;
  status?: InquiryStatus | null;
  /** Only overdue ones on `asOf` (or only not overdue). */
  overdue?: boolean | null;
  partnerCountyCode?: string | null;
  personId?: string | null;
  villageCode?: string | null;
  townCode?: string | null;
}

export type InquiryCursor = [string, string];
export const isInquiryCursor = (v: unknown): v is InquiryCursor =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v[0]) && typeof v[1] === 'string' && /^[0-9a-f-]{36}$/.test(v[1]);

/**
 * Inquiries in the caller's jurisdiction (a village official: those about people of their village; county-level
 * ones, about no person of ours, only for administrators), soonest due first, keyset-paginated by (dueOn, id).
 */
export async function listInquiries(deps: Deps, caller: Caller, f: InquiryFilter, asOfInput: string | null | undefined, first: number, after?: InquiryCursor) {
  const asOf = asOfInput ? requireDate('asOf', asOfInput) : todayIn(deps.config.timeZone);
  const where: (SQL | undefined)[] = scopeConditions(caller.actor, 'inquiry.read', inquiries.villageCode, inquiries.townCode, f.villageCode, f.townCode);
  if (f.direction) {
    if (!INQUIRY_DIRECTIONS.includes(f.direction)) throw badInput('filter.direction', 'OUTBOUND or INBOUND');
    where.push(eq(inquiries.direction, f.direction));
  }
  if (f.status) {
    if (!INQUIRY_STATUSES.includes(f.status)) throw badInput('filter.status', 'unknown status');
    where.push(eq(inquiries.status, f.status));
  }
  if (f.overdue != null) where.push(f.overdue ? pastDue(asOf) : not(pastDue(asOf)));
  if (f.partnerCountyCode) where.push(eq(inquiries.partnerCode, f.partnerCountyCode));
  if (f.personId) where.push(eq(inquiries.personId, requireUuid('filter.personId', f.personId)));
  if (after) where.push(or(gt(inquiries.dueOn, after[0]), and(eq(inquiries.dueOn, after[0]), gt(inquiries.id, after[1]))));
  const rows = await deps.db
    .select()
    .from(inquiries)
    .where(and(...where))
    .orderBy(asc(inquiries.dueOn), asc(inquiries.id))
    .limit(literalLimit(first + 1));
  return { asOf, rows: rows.slice(0, first), hasMore: rows.length > first };
}

export function inquiryHistory(db: Db, inquiryIds: readonly string[]): Promise<InquiryEvent[]> {
  return lookupMany(db, 'inquiry_history', inquiryIds, (d) =>
    d.select().from(inquiryEvents).where(anyOfIds(inquiryEvents.inquiryId)).orderBy(asc(inquiryEvents.id)).prepare('inquiry_history'),
  );
}


/**
 * Erasure: the inquiries keep their direction, partner, purpose, dates, status and result, for the figures; the
 * subject's name and masked number, the question and the answer go.
 */
export async function eraseInquiries(tx: Db, where: SQL): Promise<void> {
  await tx.update(inquiries).set({ subjectName: null, subjectIdMasked: null, question: null, answer: null, erasedAt: new Date() }).where(where);
}

/** An onErasure step: the inquiries about these people. */
export const eraseInquiriesAbout = (tx: Db, personIds: string[]) => eraseInquiries(tx, anyOf(inquiries.personId, personIds));

/** Batch, soonest due first: inquiries about these people (`personId`) or partners' residents here (`noticeId`). */
export function inquiriesAbout(db: Db, key: 'personId' | 'noticeId', ids: readonly string[]): Promise<Inquiry[]> {
  const name = `inquiries_by_${key}`;
  return lookupMany(db, name, ids, (d) => d.select().from(inquiries).where(anyOfIds(inquiries[key])).orderBy(asc(inquiries.dueOn), asc(inquiries.id)).prepare(name));
}
