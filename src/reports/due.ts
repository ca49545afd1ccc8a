import { and, gte, isNull, not } from 'drizzle-orm';
import { TERM_COLUMNS, type Agreement, type AgreementTerm } from '../agreements/ending';
import { agreements } from '../agreements/tables';
import { daysBetween } from '../calendar';
import { updateRows } from '../db/bulk';
import { anyOf, type Db } from '../db/client';
import { continuedTermEnd, continues, skippedDraft } from './owed';
import { nextDue, type NextDue } from './periods';
import { statusReports } from './tables';

export interface Term {
  cadence: Agreement['cadence'];
  from: string;
  to: string | null;
}

/**
 * The terms whose reports are owed under an active agreement: its own, and those of the versions it continues
 * without a gap (amended and replaced, or expired and renewed from the day after), so a period already due under an
 * older version is not dropped when a new one is signed. A replaced version owes only up to the day before its
 * successor starts; a discarded draft in between is skipped; a return home, a withdrawal or a gap starts afresh.
 * The rule (continues, continuedTermEnd) is in ./owed.ts, shared with the supervision dashboard's SQL.
 */
export function owedTerms(a: AgreementTerm, versions: readonly AgreementTerm[]): Term[] {
  const terms: Term[] = [{ cadence: a.cadence, from: a.validFrom, to: a.validTo }];
  let successor = a;
  for (let prev = versions.find((v) => v.id === a.previousId); prev; prev = versions.find((v) => v.id === prev!.previousId)) {
    if (skippedDraft(prev)) continue;
    if (!continues(prev, successor.validFrom)) break;
    const to = continuedTermEnd(prev.validTo, successor.validFrom);
    if (to >= prev.validFrom) terms.push({ cadence: prev.cadence, from: prev.validFrom, to });
    successor = prev;
  }
  return terms;
}

/** The earliest period owed under any of the terms that no report covers. */
export function firstUncovered(terms: readonly Term[], reportedPeriods: readonly string[], graceDays: number): NextDue | undefined {
  let first: NextDue | undefined;
  for (const t of terms) {
    const due = nextDue(t.cadence, t.from, t.to, reportedPeriods, graceDays);
    if (due && (!first || due.dueOn < first.dueOn || (due.dueOn === first.dueOn && due.period.start < first.period.start))) first = due;
  }
  return first;
}

/** The report columns the next-due rule reads. */
export type DueReport = Pick<typeof statusReports.$inferSelect, 'personId' | 'period' | 'periodStart' | 'periodEnd' | 'reportedOn'>;

/**
 * Pure: an active agreement's next due period and date, and its last report, from the person's agreement versions
 * and current reports (those outside the owed terms are ignored here).
 */
export function nextDueColumns(a: AgreementTerm, versions: readonly AgreementTerm[], personReports: readonly DueReport[], graceDays: number) {
  const terms = owedTerms(a, versions);
  const from = termsStart(a, terms);
  const reports = personReports.filter((r) => r.periodEnd >= from && (!a.validTo || r.periodStart <= a.validTo));
  const due = firstUncovered(terms, reports.map((r) => r.period), graceDays);
  const last = reports.reduce<DueReport | undefined>((best, r) => (!best || r.periodStart > best.periodStart ? r : best), undefined);
  return {
    id: a.id,
    nextDuePeriod: due?.period.label ?? null,
    nextDueStart: due?.period.start ?? null,
    nextDueOn: due?.dueOn ?? null,
    lastReportPeriod: last?.period ?? null,
    lastReportOn: last?.reportedOn ?? null,
  };
}

const termsStart = (a: AgreementTerm, terms: readonly Term[]) => terms.reduce((min, t) => (t.from < min ? t.from : min), a.validFrom);

/**
 * Recomputes and stores active agreements' next due period and date from the reports that cover their periods
 * (and those still owed under the versions they continue), so "who is overdue" is one indexed query. Called
 * whenever a report is recorded or an agreement activates; a batch of reports refreshes all its agreements at once
 * (three statements whatever their number).
 */
export async function refreshNextDue(tx: Db, list: readonly AgreementTerm[], graceDays: number): Promise<void> {
  const active = list.filter((a) => a.status === 'ACTIVE');
  if (active.length === 0) return;
  const personIds = [...new Set(active.map((a) => a.personId))];
  // Their earlier versions (owedTerms follows previousId): most people have none, so the batch reads few rows.
  const earlier = await tx
    .select(TERM_COLUMNS)
    .from(agreements)
    .where(and(anyOf(agreements.personId, personIds), not(anyOf(agreements.id, active.map((a) => a.id)))));
  const versions = [...active, ...earlier];
  // The earliest period end any of them needs; each agreement then keeps its own window (nextDueColumns).
  const from = active.map((a) => termsStart(a, owedTerms(a, versions))).reduce((min, f) => (f < min ? f : min));
  const reports = await tx
    .select({ personId: statusReports.personId, period: statusReports.period, periodStart: statusReports.periodStart, periodEnd: statusReports.periodEnd, reportedOn: statusReports.reportedOn })
    .from(statusReports)
    .where(and(anyOf(statusReports.personId, personIds), isNull(statusReports.supersededAt), gte(statusReports.periodEnd, from)));
  // Grouped by person once: a batch refreshes hundreds of agreements over thousands of reports.
  const byPerson = <T extends { personId: string }>(rows: readonly T[]) => {
    const of = new Map<string, T[]>();
    for (const r of rows) (of.get(r.personId) ?? of.set(r.personId, []).get(r.personId)!).push(r);
    return of;
  };
  const [versionsOf, reportsOf] = [byPerson(versions), byPerson(reports)];
  await updateRows(
    tx,
    agreements,
    'id',
    active.map((a) => nextDueColumns(a, versionsOf.get(a.personId)!, reportsOf.get(a.personId) ?? [], graceDays)),
  );
}

export type DueStateKind = 'OVERDUE' | 'DUE_SOON' | 'DUE' | 'UP_TO_DATE' | 'NOTHING_DUE';

export interface DueState {
  state: DueStateKind;
  period: string | null;
  dueOn: string | null;
  daysOverdue: number;
}

/** Where an active agreement stands on a given day, from its stored next-due columns. */
export function dueState(a: Pick<Agreement, 'status' | 'nextDuePeriod' | 'nextDueStart' | 'nextDueOn'>, asOf: string, dueSoonDays: number): DueState {
  if (a.status !== 'ACTIVE' || !a.nextDueOn || !a.nextDueStart) return { state: 'NOTHING_DUE', period: null, dueOn: null, daysOverdue: 0 };
  const base = { period: a.nextDuePeriod, dueOn: a.nextDueOn };
  if (asOf > a.nextDueOn) return { ...base, state: 'OVERDUE', daysOverdue: daysBetween(a.nextDueOn, asOf) };
  if (daysBetween(asOf, a.nextDueOn) <= dueSoonDays) return { ...base, state: 'DUE_SOON', daysOverdue: 0 };
  if (asOf >= a.nextDueStart) return { ...base, state: 'DUE', daysOverdue: 0 };
  return { ...base, state: 'UP_TO_DATE', daysOverdue: 0 };
}
