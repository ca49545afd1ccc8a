import { activeAgreementsLocked } from '../agreements/ending';
import type { AuditEvent } from '../audit/service';
import { RecordRejected, type BatchApplier, type BatchDecision } from '../exchange/appliers';
import type { RecordEnvelope } from '../exchange/envelope';
import { contactAudit, planContactChanges, type ChangedPerson, type ContactPlan } from '../people/service';
import { currentReports, planStatusReport, reportTarget, validateStatusReport, writeStatusReports, type ReportPlan } from '../reports/service';
import { applied, partnerContactChanges, partnerReport, partnerSource, registry } from './appliers';
import { lockSubjects, personMatch, requirePersonStatus, unmatched } from './subject';

/** A record the batch takes, with what it is about. */
type Taken = { k: number; person: ChangedPerson } & ({ type: 'STATUS_REPORT'; record: RecordEnvelope<'STATUS_REPORT'> } | { type: 'CONTACT_UPDATE'; record: RecordEnvelope<'CONTACT_UPDATE'> });

/**
 * The registry's batch applier (see BatchApplier): a partner's STATUS_REPORT and CONTACT_UPDATE records about our
 * residents, and those matching no one (UNMATCHED), decided with the rules the appliers use (partnerReport,
 * planStatusReport, partnerContactChanges, planContactChanges) and written by the same write steps, for the whole
 * batch at once. Left to the appliers, one by one: other types, a subject the batch names twice (its records
 * depend on each other), and a CONTACT_UPDATE about a partner's resident here (a notice).
 */
export const receiveBatch: BatchApplier = async (ctx, items) => {
  const tx = ctx.deps.db;
  const locked = await lockSubjects(tx, ctx.partner.countyCode, items.map((i) => i.subjectIdHmac));
  const named = new Map<string, number>();
  for (const i of items) named.set(i.subjectIdHmac, (named.get(i.subjectIdHmac) ?? 0) + 1);
  const decisions: BatchDecision[] = items.map(() => 'PER_RECORD');
  const taken: Taken[] = [];
  for (const [k, { record, subjectIdHmac, candidate }] of items.entries()) {
    if (!candidate || named.get(subjectIdHmac)! > 1 || (record.type !== 'STATUS_REPORT' && record.type !== 'CONTACT_UPDATE')) continue;
    const person = locked.people.get(subjectIdHmac);
    // matchSubject's rules, on the rows locked above
    const m = person ? personMatch(person, record.subject.name) : undefined;
    if (m?.kind === 'person') taken.push({ k, person: m.person, type: record.type, record } as Taken);
    else if (m) decisions[k] = { outcome: unmatched(m), audit: [] };
    else if (record.type === 'STATUS_REPORT' || !locked.notices.has(subjectIdHmac)) decisions[k] = { outcome: unmatched({ kind: 'none', reason: 'UNKNOWN_SUBJECT' }), audit: [] };
  }

  const reportsOf = taken.flatMap((t) => (t.type === 'STATUS_REPORT' ? [t] : []));
  const personIds = reportsOf.map((t) => t.person.id);
  // Lock order as in submitStatusReport: the people (above), then their active agreements, then the reports.
  const activeOf = new Map((await activeAgreementsLocked(tx, personIds)).map((a) => [a.personId, a]));
  const current = reportsOf.length ? await currentReports(tx, reportsOf.map((t) => ({ personId: t.person.id, period: t.record.body.period }))) : [];
  const currentOf = new Map(current.map((r) => [`${r.personId}/${r.period}`, r]));

  const reports = new Map<number, ReportPlan>();
  const contacts = new Map<number, ContactPlan>();
  for (const t of taken) {
    const { k, person } = t;
    try {
      // The appliers' steps, in their order (sharing/appliers.ts statusReport and contactUpdate).
      requirePersonStatus(person, ['AWAY']);
      let audit: AuditEvent[];
      if (t.type === 'STATUS_REPORT') {
        const input = partnerReport(ctx.deps, ctx.partner, t.record, person, currentOf.get(`${person.id}/${t.record.body.period}`));
        const target = await reportTarget(tx, ctx.caller, person);
        const state = { person, target, active: activeOf.get(person.id), existing: currentOf.get(`${person.id}/${input.period}`), liaisonContactId: null };
        const plan = registry(() => planStatusReport(ctx.caller, validateStatusReport(ctx.deps, input), state));
        reports.set(k, plan);
        audit = plan.audit;
      } else {
        const plan = planContactChanges(person, partnerContactChanges(ctx.caller, person, t.record.body), partnerSource(t.type));
        if (plan) contacts.set(k, plan);
        audit = plan ? [contactAudit(plan)] : [];
      }
      decisions[k] = { outcome: applied(person), audit };
    } catch (e) {
      // A refusal is the record's answer; anything else fails the batch, as it fails a record alone.
      if (!(e instanceof RecordRejected)) throw e;
      decisions[k] = { refused: e };
    }
  }

  return {
    decisions,
    write: async (db, keep) => {
      const kept = <T>(plans: Map<number, T>) => [...plans].flatMap(([k, p]) => (keep[k] ? [p] : []));
      await writeStatusReports(db, ctx.caller, ctx.deps.config.reportGraceDays, kept(reports), kept(contacts));
    },
  };
};
