import { agreementInStatus } from '../agreements/ending';
import { markReturned } from '../agreements/service';
import { recordServiceDelivered } from '../assistance/service';
import { appendAuditMany } from '../audit/service';
import { todayIn } from '../calendar';
import type { Deps } from '../deps';
import { badInput, conflict } from '../errors';
import { newRecordId } from '../exchange/envelope';
import { queueRecord, type QueuedRecord } from '../exchange/outbox';
import type { ExchangedType } from '../exchange/record-types';
import { noticeContactSet, transitionNotice, type IncomingNotice } from '../notices/service';
import { applyContactChanges, personTarget, updatePerson, validateContactChanges, type Person } from '../people/service';
import { SERVICE_NEEDS, type ServiceNeed } from '../people/tables';
import { registryTransaction } from '../people/transaction';
import { optionalMobile, optionalText, requireDate, requireNeeds, requirePlace, type PlaceInput } from '../people/validation';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { parsePeriod } from '../reports/periods';
import { WORK_STATUSES } from '../reports/tables';
import { subjectForSending, type SubjectRef } from './subject';

/** What the caller learns about a record it caused to be queued. */
export interface SentRecord {
  id: string;
  type: ExchangedType;
  partnerCountyCode: string;
}

const sent = (q: QueuedRecord): SentRecord => ({ id: q.id, type: q.record.type, partnerCountyCode: q.partnerCode });

function notFuture(deps: Deps, field: string, raw: string): string {
  const date = requireDate(field, raw);
  if (date > todayIn(deps.config.timeZone)) throw badInput(field, 'cannot be in the future');
  return date;
}

/** The protocol's Place: county and town level, optional members left out. */
const wirePlace = (p: { countyCode: string; town: string | null; area: string | null }) => ({
  countyCode: p.countyCode,
  ...(p.town ? { town: p.town } : {}),
  ...(p.area ? { area: p.area } : {}),
});

export interface DepartureInput {
  /** The destination county: a partner with an agreement in force. */
  partnerCountyCode: string;
  leftOn: string;
  town?: string | null;
  area?: string | null;
}

/**
 * An official records that our resident left for a partner county: the person's place and departure date change
 * and the DEPARTURE (with their phone and the agreement's cadence) is queued for that county, in one transaction.
 * Only while they are away under an active agreement with an end date, and only if they consented to sharing
 * with that county.
 */
export async function recordDeparture(deps: Deps, caller: Caller, personId: string, input: DepartureInput): Promise<{ person: Person; record: SentRecord }> {
  const leftOn = requireDate('leftOn', input.leftOn);
  return registryTransaction(deps, async (tx) => {
    const txDeps = { ...deps, db: tx };
    const s = await subjectForSending(txDeps, caller, { personId, partnerCountyCode: input.partnerCountyCode });
    const person = s.person!;
    if (person.status !== 'AWAY') throw conflict(`the person is ${person.status}; a departure is recorded while they are away`);
    const agreement = await agreementInStatus(tx, person.id, 'ACTIVE');
    if (!agreement) throw conflict('the person has no active agreement; the departure tells the destination its reporting cadence');
    if (!agreement.validTo) throw conflict('the active agreement has no end date (validTo), which the departure record needs');
    const place = requirePlace('input', { countyCode: s.partnerCode, town: input.town, area: input.area });
    const body = {
      leftOn,
      destination: wirePlace(place),
      ...(person.phone ? { phone: person.phone } : {}),
      agreement: { cadence: agreement.cadence, validTo: agreement.validTo },
    };
    const q = await queueRecord(txDeps, { partnerCode: s.partnerCode, type: 'DEPARTURE', subject: s.subject, body, personId: person.id });
    const updated = await updatePerson(txDeps, caller, person.id, { currentPlace: place, departureDate: leftOn });
    await appendAuditMany(tx, caller, [{ action: 'exchange.departure', targetType: 'Person', targetId: person.id, details: { partner: s.partnerCode, recordId: q.id } }, q.auditEvent]);
    return { person: updated, record: sent(q) };
  });
}

export interface NotificationInput extends SubjectRef {
  contactUpdate?: { phone?: string | null; place?: PlaceInput | null; employer?: string | null } | null;
  returnHome?: { returnedOn: string } | null;
  serviceDelivered?: { service: string; deliveredOn: string; note?: string | null } | null;
  statusReport?: {
    period: string;
    place?: PlaceInput | null;
    employer?: string | null;
    workStatus: string;
    phone?: string | null;
    needs?: string[] | null;
    note?: string | null;
  } | null;
}

const KINDS = { contactUpdate: 'CONTACT_UPDATE', returnHome: 'RETURN_HOME', serviceDelivered: 'SERVICE_DELIVERED', statusReport: 'STATUS_REPORT' } as const;
type Kind = keyof typeof KINDS;

function serviceBody(deps: Deps, s: NonNullable<NotificationInput['serviceDelivered']>) {
  if (!SERVICE_NEEDS.includes(s.service as ServiceNeed)) throw badInput('serviceDelivered.service', 'unknown service');
  const note = optionalText('serviceDelivered.note', s.note, 500);
  return { service: s.service as ServiceNeed, deliveredOn: notFuture(deps, 'serviceDelivered.deliveredOn', s.deliveredOn), ...(note ? { note } : {}) };
}

function contactBody(c: NonNullable<NotificationInput['contactUpdate']>) {
  const v = validateContactChanges('contactUpdate.', { phone: c.phone ?? undefined, currentPlace: c.place ?? undefined, employer: c.employer ?? undefined });
  const body = {
    ...(v.phone ? { phone: v.phone } : {}),
    ...(v.currentCountyCode ? { place: wirePlace({ countyCode: v.currentCountyCode, town: v.currentTown ?? null, area: v.currentArea ?? null }) } : {}),
    ...(v.employer ? { employer: v.employer } : {}),
  };
  if (Object.keys(body).length === 0) throw badInput('contactUpdate', 'give a new phone, place or employer');
  return { changes: v, body };
}

/** A status report on a partner's resident here, for their home county. */
function reportBody(notice: IncomingNotice, r: NonNullable<NotificationInput['statusReport']>) {
  if (!parsePeriod(r.period)) throw badInput('statusReport.period', 'use 2026-11 (month), 2026-Q3 (quarter) or 2026-H2 (half-year)');
  if (!WORK_STATUSES.includes(r.workStatus as (typeof WORK_STATUSES)[number])) throw badInput('statusReport.workStatus', 'unknown work status');
  const place = requirePlace('statusReport.place', r.place ?? { countyCode: notice.placeCountyCode, town: notice.placeTown, area: notice.placeArea });
  const employer = optionalText('statusReport.employer', r.employer, 200);
  const phone = optionalMobile('statusReport.phone', r.phone);
  const note = optionalText('statusReport.note', r.note, 500);
  return {
    period: r.period,
    place: wirePlace(place),
    ...(employer ? { employer } : {}),
    workStatus: r.workStatus,
    ...(phone ? { phone } : {}),
    needs: requireNeeds('statusReport.needs', r.needs),
    ...(note ? { note } : {}),
  };
}

/**
 * Records a change about a person and tells the partner county in the same transaction. For our resident (to
 * the partner named, with their consent to sharing with it): a contact change (the person changes too), their
 * return home (marked returned) or a service delivered (recorded). For a partner's resident here (an incoming
 * notice, to its home county): the same, or a status report. Exactly one of the four is given.
 */
export async function sendNotification(deps: Deps, caller: Caller, input: NotificationInput): Promise<SentRecord> {
  const kinds = (Object.keys(KINDS) as Kind[]).filter((k) => input[k] != null);
  if (kinds.length !== 1) throw badInput('input', 'give exactly one of contactUpdate, returnHome, serviceDelivered, statusReport');
  const kind = kinds[0]!;
  const returnedOn = input.returnHome ? notFuture(deps, 'returnHome.returnedOn', input.returnHome.returnedOn) : undefined;
  const contact = input.contactUpdate ? contactBody(input.contactUpdate) : undefined;
  const service = input.serviceDelivered ? serviceBody(deps, input.serviceDelivered) : undefined;
  const recordId = newRecordId();
  return registryTransaction(deps, async (tx) => {
    const txDeps = { ...deps, db: tx };
    const s = await subjectForSending(txDeps, caller, input);
    const body =
      kind === 'contactUpdate' ? contact!.body
      : kind === 'returnHome' ? { returnedOn }
      : kind === 'serviceDelivered' ? service
      : s.notice ? reportBody(s.notice, input.statusReport!)
      : undefined;
    if (!body) throw badInput('statusReport', 'status reports go from the destination county to the home county; record our own residents’ reports with submitStatusReport');
    const q = await queueRecord(txDeps, { id: recordId, partnerCode: s.partnerCode, type: KINDS[kind], subject: s.subject, body, personId: s.person?.id ?? null });
    if (s.person) {
      const person = s.person;
      if (kind === 'contactUpdate') {
        if (person.status !== 'AWAY') throw conflict(`the person is ${person.status}, not away`);
        authorize(caller.actor, 'person.write', personTarget(person));
        await applyContactChanges(tx, caller, person, contact!.changes, 'OFFICIAL_EDIT');
      } else if (kind === 'returnHome') {
        await markReturned(txDeps, caller, person.id, returnedOn!);
      } else {
        await recordServiceDelivered(tx, caller, { ...service!, person, deliveredBy: deps.config.countyCode, recordId });
      }
    } else {
      const notice = s.notice!;
      if (kind === 'contactUpdate') await transitionNotice(tx, caller, notice, 'UPDATE_CONTACT', noticeContactSet(contact!.body));
      else if (kind === 'returnHome') await transitionNotice(tx, caller, notice, 'RETURN_HOME', { closeReason: 'RETURNED_HOME' });
      else if (kind === 'statusReport') await transitionNotice(tx, caller, notice, 'SEND_REPORT');
      else {
        await transitionNotice(tx, caller, notice, 'RECORD_SERVICE');
        await recordServiceDelivered(tx, caller, { ...service!, noticeId: notice.id, deliveredBy: deps.config.countyCode, recordId });
      }
    }
    const target = s.person ? { targetType: 'Person', targetId: s.person.id } : { targetType: 'IncomingNotice', targetId: s.notice!.id };
    await appendAuditMany(tx, caller, [{ action: 'exchange.notify', ...target, details: { partner: s.partnerCode, type: q.record.type, recordId: q.id } }, q.auditEvent]);
    return sent(q);
  });
}

export interface ArrivalInput {
  arrivedOn: string;
  town?: string | null;
  area?: string | null;
  employer?: string | null;
}

/**
 * We are the destination: a partner's resident announced by its DEPARTURE has arrived. The notice becomes ARRIVED
 * and the ARRIVAL (ref = the departure) is queued for the home county, in one transaction.
 */
export async function recordNoticeArrival(deps: Deps, caller: Caller, noticeId: string, input: ArrivalInput): Promise<IncomingNotice> {
  const arrivedOn = notFuture(deps, 'arrivedOn', input.arrivedOn);
  const place = requirePlace('place', { countyCode: deps.config.countyCode, town: input.town, area: input.area });
  const employer = optionalText('employer', input.employer, 200) ?? undefined;
  const recordId = newRecordId();
  return registryTransaction(deps, async (tx) => {
    const txDeps = { ...deps, db: tx };
    const s = await subjectForSending(txDeps, caller, { noticeId });
    const notice = await transitionNotice(tx, caller, s.notice!, 'RECORD_ARRIVAL', { arrivedOn, arrivalRecordId: recordId, ...noticeContactSet({ place, employer }) });
    const body = { arrivedOn, place: wirePlace(place), ...(employer ? { employer } : {}) };
    const q = await queueRecord(txDeps, { id: recordId, partnerCode: s.partnerCode, type: 'ARRIVAL', subject: s.subject, ref: notice.departureRecordId, body });
    await appendAuditMany(tx, caller, [{ action: 'notice.arrival', targetType: 'IncomingNotice', targetId: notice.id, details: { recordId: q.id } }, q.auditEvent]);
    return notice;
  });
}
