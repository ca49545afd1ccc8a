import { sql, type SQL } from 'drizzle-orm';
import type { Period } from './periods';

/**
 * The coverage rule: a report covers exactly the months inside its own period, and a cadence period is covered when
 * every one of its months is inside some report. Reports and cadence periods are whole months, so the months of `p`
 * inside a report are those of their overlap; they are written as a bit mask (bit 0: the first month of `p`) and a
 * period is covered when the masks of its reports together have all its bits set.
 *
 * The rule is written twice, once per language, side by side here: in TypeScript for the core (nextDue, the stored
 * next-due columns, the overdue list and reminders) and in SQL for the set-based dashboard, which grades a town's
 * obligations in one statement. test/reports/coverage.test.ts checks that both give the same mask for every pair of
 * months, quarters and half-years over two years.
 */

/** Months since year 0 of an ISO date. */
function monthIndex(date: string): number {
  return Number(date.slice(0, 4)) * 12 + Number(date.slice(5, 7)) - 1;
}

/** Every month of `p`. */
export function allMonths(p: Pick<Period, 'start' | 'end'>): number {
  return 2 ** (monthIndex(p.end) - monthIndex(p.start) + 1) - 1;
}

/** The months of `p` inside the report's period `r`; 0 when they do not overlap. */
export function monthsInside(p: Pick<Period, 'start' | 'end'>, r: Pick<Period, 'start' | 'end'>): number {
  if (r.start > p.end || r.end < p.start) return 0;
  const lo = monthIndex(r.start > p.start ? r.start : p.start);
  const hi = monthIndex(r.end < p.end ? r.end : p.end);
  return (2 ** (hi - lo + 1) - 1) * 2 ** (lo - monthIndex(p.start));
}

/** Whether reports for these periods cover every month of `p`. */
export function isCovered(p: Pick<Period, 'start' | 'end'>, reported: readonly Pick<Period, 'start' | 'end'>[]): boolean {
  return reported.reduce((mask, r) => mask | monthsInside(p, r), 0) === allMonths(p);
}

const monthIndexSql = (d: SQL) => sql`(extract(year from ${d})::int * 12 + extract(month from ${d})::int - 1)`;

/** monthsInside in SQL, for date expressions (an int mask; aggregate with bit_or and compare with allMonths); 0 for null report dates. */
export function monthsInsideSql(pStart: SQL, pEnd: SQL, rStart: SQL, rEnd: SQL): SQL {
  const lo = monthIndexSql(sql`greatest(${rStart}, ${pStart})`);
  const hi = monthIndexSql(sql`least(${rEnd}, ${pEnd})`);
  // written so that no report (nulls from an outer join) gives 0: greatest and least would skip the nulls
  return sql`(case when ${rStart} <= ${pEnd} and ${rEnd} >= ${pStart} then ((1 << (${hi} - ${lo} + 1)) - 1) << (${lo} - ${monthIndexSql(pStart)}) else 0 end)`;
}
