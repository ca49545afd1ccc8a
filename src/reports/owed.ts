import { sql, type SQL } from 'drizzle-orm';
import type { Agreement } from '../agreements/ending';
import { addDays } from '../calendar';
import type { Period } from './periods';

/**
 * Which cadence periods an agreement's versions owe, across amendments and renewals. A version owes the periods of
 * its own cadence that overlap its term: from its `validFrom` to its `validTo`, or, once a later version continues
 * it, to the day before that version's `validFrom` (so a period already owed under it stays owed when the next one
 * is signed, and a day in both terms is owed once). A version is continued by the next one when it was activated,
 * ended as REPLACED or EXPIRED, and left no gap; discarded drafts in between are skipped. A return home, a
 * withdrawal or a gap starts afresh.
 *
 * The rule is written twice, once per language, side by side here: in TypeScript for the core (owedTerms in
 * ./due.ts: the stored next-due columns, the overdue list and reminders) and in SQL for the set-based supervision
 * dashboard, which walks every version of a town in one statement. test/reports/owed.test.ts checks that both agree.
 */

type Version = Pick<Agreement, 'activatedAt' | 'endReason' | 'validFrom' | 'validTo'>;

/** A never-activated draft that was discarded: the walk from a version back to the one it continues passes over it. */
export function skippedDraft(v: Pick<Agreement, 'activatedAt' | 'endReason'>): boolean {
  return !v.activatedAt && v.endReason === 'DISCARDED';
}

/** Whether `prev` (the version a later one follows, drafts skipped) is continued by a version starting on `successorFrom`. */
export function continues(prev: Version, successorFrom: string): boolean {
  if (!prev.activatedAt || (prev.endReason !== 'REPLACED' && prev.endReason !== 'EXPIRED')) return false;
  return !prev.validTo || addDays(prev.validTo, 1) >= successorFrom;
}

/** The last day of a continued version's term: its own end, or the day before its successor starts if earlier. */
export function continuedTermEnd(prevValidTo: string | null, successorFrom: string): string {
  const dayBefore = addDays(successorFrom, -1);
  return prevValidTo && prevValidTo < dayBefore ? prevValidTo : dayBefore;
}

/** Whether a cadence period is owed under a term: it overlaps it (an empty term, ending before it starts, owes nothing). */
export function owes(term: { from: string; to: string | null }, p: Pick<Period, 'start' | 'end'>): boolean {
  return p.end >= term.from && (term.to === null || (term.to >= term.from && p.start <= term.to));
}

/** skippedDraft in SQL, for a row alias of agreements. */
export function skippedDraftSql(v: SQL): SQL {
  return sql`(${v}.activated_at is null and coalesce(${v}.end_reason = 'DISCARDED', false))`;
}

/** continues in SQL, for a row alias of agreements and a date expression. */
export function continuesSql(prev: SQL, successorFrom: SQL): SQL {
  return sql`(${prev}.activated_at is not null and coalesce(${prev}.end_reason in ('REPLACED', 'EXPIRED'), false) and (${prev}.valid_to is null or ${prev}.valid_to + 1 >= ${successorFrom}))`;
}

/** continuedTermEnd in SQL (least skips a null validTo). */
export function continuedTermEndSql(prevValidTo: SQL, successorFrom: SQL): SQL {
  return sql`least(${prevValidTo}, ${successorFrom} - 1)`;
}

/** owes in SQL, for date expressions. */
export function owesSql(pStart: SQL, pEnd: SQL, from: SQL, to: SQL): SQL {
  return sql`(${pEnd} >= ${from} and (${to} is null or (${to} >= ${from} and ${pStart} <= ${to})))`;
}
