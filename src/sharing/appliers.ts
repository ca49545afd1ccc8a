import { markReturned } from '../agreements/service';
import { appendAudit } from '../audit/service';
import { recordServiceDelivered } from '../assistance/service';
import { protocolDate, todayIn } from '../calendar';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { RecordRejected, type ApplyContext, type ApplyOutcome, type RecordApplier } from '../exchange/appliers';
import type { RecordEnvelope } from '../exchange/envelope';
import type { ExchangedType } from '../exchange/record-types';
import { noticeContactSet, receiveDeparture, transitionNotice } from '../notices/service';
import type { Partner } from '../partners/service';
import { applyContactChanges, personTarget, validateContactChanges, type Person, type ValidContactChanges } from '../people/service';
import type { PlaceInput } from '../people/validation';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { currentReports, submitStatusReport, type CurrentReport, type StatusReportInput } from '../reports/service';
import { matchSubject, requirePersonStatus, unmatched } from './subject';

/**
 * What each inbound notification does to the registry (docs/exchange-protocol.md, section 8). Rules live in the
 * core services; these appliers match the subject, decide what a partner may not do, and call them with the
 * partner as the caller, inside the record's savepoint (ctx.deps.db).
 */

/** The registry keeps employers to 100 characters (the protocol allows 200): the rest is cut, not refused. */
const EMPLOYER_MAX = 100;
const employerOf = (e: string | undefined) => (e === undefined ? undefined : e.slice(0, EMPLOYER_MAX));

/**
 * A core service refusing the change (bad date, conflict...) refuses the record; the reason stays in our log. For
 * a change that returns a promise (the appliers) as for a pure plan (the batch).
 */
export function registry<T>(change: () => T): T {
  const refusal = (e: unknown) =>
    e instanceof AppError && (e.code === 'BAD_USER_INPUT' || e.code === 'CONFLICT') ? new RecordRejected('REGISTRY_REFUSED', e.message) : e;
  try {
    const result = change();
    return (result instanceof Promise ? result.catch((e: unknown) => Promise.reject(refusal(e))) : result) as T;
  } catch (e) {
    throw refusal(e);
  }
}

export const applied = (person: Pick<Person, 'id'> | null): ApplyOutcome => ({ state: 'APPLIED', personId: person?.id ?? null });

export const partnerSource = (type: ExchangedType) => `PARTNER_COUNTY:${type}`;

/** Pure: the change a partner's phone, place or employer makes to our resident (validated; the policy checked). */
export function partnerContactChanges(caller: Caller, person: Pick<Person, 'homeVillageCode'>, c: { phone?: string; place?: PlaceInput; employer?: string }): ValidContactChanges {
  authorize(caller.actor, 'person.write', personTarget(person));
  const given = { phone: c.phone, currentPlace: c.place, employer: employerOf(c.employer) };
  return validateContactChanges('', Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)));
}

/** A partner changes our resident's phone, place or employer: the change feed shows it with a partner source. */
async function changeContact(ctx: ApplyContext, person: Person, c: { phone?: string; place?: PlaceInput; employer?: string }): Promise<void> {
  const changes = partnerContactChanges(ctx.caller, person, c);
  await registry(() => applyContactChanges(ctx.deps.db, ctx.caller, person, changes, partnerSource(ctx.record.type)));
}

const departure: RecordApplier<'DEPARTURE'> = async (ctx) => {
  await receiveDeparture(ctx.deps.db, ctx.caller, ctx.record, ctx.subjectIdHmac);
  return applied(null);
};

const arrival: RecordApplier<'ARRIVAL'> = async (ctx) => {
  const m = await matchSubject(ctx, { notices: false });
  if (m.kind !== 'person') return unmatched(m);
  requirePersonStatus(m.person, ['AWAY']);
  await changeContact(ctx, m.person, { place: ctx.record.body.place, employer: ctx.record.body.employer });
  return applied(m.person);
};

/**
 * Pure: the report a partner's STATUS_REPORT records under our resident, with arrival PARTNER_COUNTY. A second
 * report from the same partner for a period corrects its first (`current`, the person's current report for the
 * period); a period already reported here otherwise is refused.
 */
export function partnerReport(deps: Pick<Deps, 'config'>, partner: Partner, record: RecordEnvelope<'STATUS_REPORT'>, person: Pick<Person, 'id'>, current: CurrentReport | undefined): StatusReportInput {
  const b = record.body;
  const ownEarlier = current?.byType === 'PARTNER' && current.byId === partner.countyCode;
  if (current && !ownEarlier) throw new RecordRejected('PERIOD_ALREADY_REPORTED', `a report for ${b.period} was recorded here`);
  const issuedOn = protocolDate(new Date(record.iat * 1000));
  const today = todayIn(deps.config.timeZone);
  const other = b.needs.includes('OTHER');
  return {
    personId: person.id,
    period: b.period,
    arrival: 'PARTNER_COUNTY',
    reportedOn: issuedOn < today ? issuedOn : today,
    place: b.place,
    employer: employerOf(b.employer) ?? null,
    workStatus: b.workStatus,
    phone: b.phone ?? null,
    needs: b.needs,
    // the protocol has one note: it says what an OTHER need is when there is one
    needsNote: other ? (b.note ?? 'not described by the partner county') : null,
    note: other ? null : (b.note ?? null),
    amends: current?.id ?? null,
  };
}

/** A report the destination county gathered: recorded under the person (partnerReport). */
const statusReport: RecordApplier<'STATUS_REPORT'> = async (ctx) => {
  const m = await matchSubject(ctx, { notices: false });
  if (m.kind !== 'person') return unmatched(m);
  const { person } = m;
  requirePersonStatus(person, ['AWAY']);
  const [current] = await currentReports(ctx.deps.db, [{ personId: person.id, period: ctx.record.body.period }]);
  const input = partnerReport(ctx.deps, ctx.partner, ctx.record, person, current);
  await registry(() => submitStatusReport(ctx.deps, ctx.caller, input));
  return applied(person);
};

/** Our resident (person) or, when we are the destination, a partner's resident here (notice). */
const contactUpdate: RecordApplier<'CONTACT_UPDATE'> = async (ctx) => {
  const m = await matchSubject(ctx, { notices: true });
  if (m.kind === 'none') return { state: 'UNMATCHED', reason: m.reason };
  const b = ctx.record.body;
  if (m.kind === 'notice') {
    const notice = await transitionNotice(ctx.deps.db, ctx.caller, m.notice, 'UPDATE_CONTACT', noticeContactSet({ ...b, employer: employerOf(b.employer) }));
    await appendAudit(ctx.deps.db, ctx.caller, { action: 'notice.update', targetType: 'IncomingNotice', targetId: notice.id, details: { fields: Object.keys(b) } });
    return applied(null);
  }
  requirePersonStatus(m.person, ['AWAY']);
  await changeContact(ctx, m.person, b);
  return applied(m.person);
};

/** Our resident came home (ended agreement, status RETURNED; again is a no-op), or a partner's resident here left. */
const returnHome: RecordApplier<'RETURN_HOME'> = async (ctx) => {
  const m = await matchSubject(ctx, { notices: true });
  if (m.kind === 'none') return { state: 'UNMATCHED', reason: m.reason };
  if (m.kind === 'notice') {
    const notice = await transitionNotice(ctx.deps.db, ctx.caller, m.notice, 'RETURN_HOME', { closeReason: 'RETURNED_HOME' });
    await appendAudit(ctx.deps.db, ctx.caller, { action: 'notice.close', targetType: 'IncomingNotice', targetId: notice.id, details: { reason: 'RETURNED_HOME' } });
    return applied(null);
  }
  requirePersonStatus(m.person, ['AWAY', 'RETURNED']);
  if (m.person.status === 'AWAY') await registry(() => markReturned(ctx.deps, ctx.caller, m.person.id, ctx.record.body.returnedOn));
  return applied(m.person);
};

/** A service delivered: kept under our resident (away or back home) or a partner's resident here. */
const serviceDelivered: RecordApplier<'SERVICE_DELIVERED'> = async (ctx) => {
  const m = await matchSubject(ctx, { notices: true });
  if (m.kind === 'none') return { state: 'UNMATCHED', reason: m.reason };
  const b = ctx.record.body;
  const input = { service: b.service, deliveredOn: b.deliveredOn, note: b.note ?? null, deliveredBy: ctx.partner.countyCode, recordId: ctx.record.id };
  if (m.kind === 'notice') {
    await transitionNotice(ctx.deps.db, ctx.caller, m.notice, 'RECORD_SERVICE');
    await recordServiceDelivered(ctx.deps.db, ctx.caller, { ...input, noticeId: m.notice.id });
    return applied(null);
  }
  requirePersonStatus(m.person, ['AWAY', 'RETURNED']);
  await recordServiceDelivered(ctx.deps.db, ctx.caller, { ...input, person: m.person });
  return applied(m.person);
};

export const NOTIFICATION_APPLIERS = {
  DEPARTURE: departure,
  ARRIVAL: arrival,
  STATUS_REPORT: statusReport,
  CONTACT_UPDATE: contactUpdate,
  RETURN_HOME: returnHome,
  SERVICE_DELIVERED: serviceDelivered,
} satisfies { [T in Exclude<ExchangedType, 'INQUIRY' | 'INQUIRY_REPLY'>]: RecordApplier<T> };
