import { and, eq, gte, isNull, lte } from 'drizzle-orm';
import type { Agreement } from '../agreements/ending';
import { agreements } from '../agreements/tables';
import { daysBetween } from '../calendar';
import type { Db } from '../db/client';
import { nextDue } from './periods';
import { statusReports } from './tables';

/**
 * Recomputes and stores an active agreement's next due period and date from the reports that cover its periods,
 * so "who is overdue" is one indexed query. Called whenever a report is recorded or an agreement activates.
 */
export async function refreshNextDue(tx: Db, a: Agreement, graceDays: number): Promise<void> {
  if (a.status !== 'ACTIVE') return;
  const reports = await tx
    .select({ period: statusReports.period, periodStart: statusReports.periodStart, reportedOn: statusReports.reportedOn })
    .from(statusReports)
    .where(
      and(
        eq(statusReports.personId, a.personId),
        isNull(statusReports.supersededAt),
        gte(statusReports.periodEnd, a.validFrom),
        a.validTo ? lte(statusReports.periodStart, a.validTo) : undefined,
      ),
    );
  const due = nextDue(a.cadence, a.validFrom, a.validTo, reports.map((r) => r.period), graceDays);
  const last = reports.reduce<(typeof reports)[number] | undefined>((best, r) => (!best || r.periodStart > best.periodStart ? r : best), undefined);
  await tx
    .update(agreements)
    .set({
      nextDuePeriod: due?.period.label ?? null,
      nextDueStart: due?.period.start ?? null,
      nextDueOn: due?.dueOn ?? null,
      lastReportPeriod: last?.period ?? null,
      lastReportOn: last?.reportedOn ?? null,
    })
    .where(eq(agreements.id, a.id));
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
