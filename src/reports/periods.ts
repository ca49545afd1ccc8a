import { addDays } from '../calendar';
import { isCovered } from './coverage';
import { owes } from './owed';

export { isCovered };

/**
 * Reporting periods: `2026-11` (month), `2026-Q3` (quarter), `2026-H2` (half-year). An agreement's cadence says which
 * kind it expects. A report covers only what lies inside its own period: a Q3 report covers July, August and
 * September (and Q3), but a November report says nothing about December, so it does not cover Q4 on its own. A
 * cadence period is covered when every month of it is inside some report (Q4 by a Q4 or H2 report, or by reports
 * for October, November and December). The rule itself is in ./coverage.ts, shared with the dashboard's SQL.
 */
export const CADENCES = ['MONTHLY', 'QUARTERLY', 'HALF_YEARLY'] as const;
export type Cadence = (typeof CADENCES)[number];

export interface Period {
  label: string;
  /** First and last day, ISO dates. */
  start: string;
  end: string;
}

const MONTHS: Record<Cadence, number> = { MONTHLY: 1, QUARTERLY: 3, HALF_YEARLY: 6 };

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month0: number) => (month0 === 1 && isLeap(year) ? 29 : DAYS[month0]!);

/** A period of whole months inside one year (every cadence's are), its dates written out without Date objects (hot in the next-due rule). */
function build(year: number, firstMonth0: number, months: number, label: string): Period {
  const y = String(year).padStart(4, '0');
  const last0 = firstMonth0 + months - 1;
  return { label, start: `${y}-${pad2(firstMonth0 + 1)}-01`, end: `${y}-${pad2(last0 + 1)}-${pad2(daysIn(year, last0))}` };
}

function labelFor(cadence: Cadence, year: number, month0: number): string {
  if (cadence === 'MONTHLY') return `${year}-${String(month0 + 1).padStart(2, '0')}`;
  if (cadence === 'QUARTERLY') return `${year}-Q${Math.floor(month0 / 3) + 1}`;
  return `${year}-H${Math.floor(month0 / 6) + 1}`;
}

/**
 * Valid labels parsed before (a batch's next-due rule parses every report's label of hundreds of people): there are
 * few of them, and only valid ones (at most 7 characters) are kept.
 */
const parsed = new Map<string, Readonly<Period & { cadence: Cadence }>>();

/** Parses a period label; undefined if it is not one. The answer is shared (frozen). */
export function parsePeriod(label: string): Readonly<Period & { cadence: Cadence }> | undefined {
  const known = parsed.get(label);
  if (known) return known;
  const period = parseLabel(label);
  if (!period) return undefined;
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(label, Object.freeze(period));
  return period;
}

function parseLabel(label: string): (Period & { cadence: Cadence }) | undefined {
  const m = /^(\d{4})-(?:(0[1-9]|1[0-2])|Q([1-4])|H([12]))$/.exec(label);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (year < 2000 || year > 2999) return undefined;
  if (m[2]) return { ...build(year, Number(m[2]) - 1, 1, label), cadence: 'MONTHLY' };
  if (m[3]) return { ...build(year, (Number(m[3]) - 1) * 3, 3, label), cadence: 'QUARTERLY' };
  return { ...build(year, (Number(m[4]) - 1) * 6, 6, label), cadence: 'HALF_YEARLY' };
}

/** The cadence period containing a date. */
export function periodContaining(cadence: Cadence, date: string): Period {
  return periodOfMonth(cadence, Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1);
}

function periodOfMonth(cadence: Cadence, year: number, month0: number): Period {
  const months = MONTHS[cadence];
  const first = Math.floor(month0 / months) * months;
  return build(year, first, months, labelFor(cadence, year, first));
}

/** The cadence period containing the day after `p` ends. */
export function nextPeriod(cadence: Cadence, p: Period): Period {
  const year = Number(p.end.slice(0, 4));
  const month0 = Number(p.end.slice(5, 7)) - 1;
  // Every period ends on a month's last day; anything else is followed by a day of the same month.
  if (Number(p.end.slice(8, 10)) < daysIn(year, month0)) return periodOfMonth(cadence, year, month0);
  return month0 === 11 ? periodOfMonth(cadence, year + 1, 0) : periodOfMonth(cadence, year, month0 + 1);
}

/** The last period of a cadence that is over on `today` (ended before it): the one before the period containing it. */
export function lastClosedPeriod(cadence: Cadence, today: string): Period {
  return periodContaining(cadence, addDays(periodContaining(cadence, today).start, -1));
}

export interface NextDue {
  period: Period;
  /** Last day the report is on time: see reportDueOn. */
  dueOn: string;
}

/** The one grace rule: a period's report is on time until its last day plus REPORT_GRACE_DAYS, late from the day after. */
export function reportDueOn(period: Pick<Period, 'end'>, graceDays: number): string {
  return addDays(period.end, graceDays);
}

/**
 * The first cadence period, from the one containing `validFrom`, that no report covers. Undefined when every period
 * up to `validTo` is covered (nothing more is due under this agreement). The periods walked are those owed under the
 * term (owes, ./owed.ts).
 */
export function nextDue(
  cadence: Cadence,
  validFrom: string,
  validTo: string | null,
  reportedPeriods: readonly string[],
  graceDays: number,
): NextDue | undefined {
  const reported = reportedPeriods.map(parsePeriod).filter((p): p is NonNullable<typeof p> => p !== undefined);
  let p = periodContaining(cadence, validFrom);
  // Bounded: reports can cover at most the periods that exist before the latest reported one, plus one.
  for (let i = 0; i < 10_000; i++) {
    if (!owes({ from: validFrom, to: validTo }, p)) return undefined;
    if (!isCovered(p, reported)) return { period: p, dueOn: reportDueOn(p, graceDays) };
    p = nextPeriod(cadence, p);
  }
  return undefined;
}
