import { describe, expect, it } from 'vitest';
import type { Agreement } from '../../src/agreements/ending';
import { firstUncovered, owedTerms } from '../../src/reports/due';
import { isCovered, nextDue, nextPeriod, parsePeriod, periodContaining, reportDueOn } from '../../src/reports/periods';

describe('periods', () => {
  it('parses months, quarters and half-years with their first and last days', () => {
    expect(parsePeriod('2026-02')).toMatchObject({ start: '2026-02-01', end: '2026-02-28', cadence: 'MONTHLY' });
    expect(parsePeriod('2028-02')).toMatchObject({ end: '2028-02-29' });
    expect(parsePeriod('2026-Q3')).toMatchObject({ start: '2026-07-01', end: '2026-09-30', cadence: 'QUARTERLY' });
    expect(parsePeriod('2026-H2')).toMatchObject({ start: '2026-07-01', end: '2026-12-31', cadence: 'HALF_YEARLY' });
    for (const bad of ['2026-13', '2026-Q5', '2026-H3', '2026-1', '26-Q1', '2026Q1']) expect(parsePeriod(bad)).toBeUndefined();
  });

  it('finds the period containing a date and the one after, across a year boundary', () => {
    expect(periodContaining('QUARTERLY', '2026-11-23').label).toBe('2026-Q4');
    expect(nextPeriod('QUARTERLY', periodContaining('QUARTERLY', '2026-11-23')).label).toBe('2027-Q1');
    expect(nextPeriod('MONTHLY', periodContaining('MONTHLY', '2026-12-05')).label).toBe('2027-01');
    expect(nextPeriod('HALF_YEARLY', periodContaining('HALF_YEARLY', '2026-08-01')).label).toBe('2027-H1');
  });
});

describe('next due report', () => {
  it('is the first period from the start that no report covers, due at its end plus grace', () => {
    expect(nextDue('QUARTERLY', '2026-02-10', null, [], 15)).toEqual({ period: expect.objectContaining({ label: '2026-Q1' }), dueOn: '2026-04-15' });
    expect(nextDue('QUARTERLY', '2026-02-10', null, ['2026-Q1', '2026-Q2'], 15)?.period.label).toBe('2026-Q3');
  });

  it('finds a gap rather than running past the latest report', () => {
    expect(nextDue('MONTHLY', '2026-01-01', null, ['2026-01', '2026-03'], 0)).toMatchObject({ period: { label: '2026-02' }, dueOn: '2026-02-28' });
  });

  // This used to assert the overlap rule (a November report covered all of Q4, a Q1 report all of H1). A report
  // says nothing about months outside its own period, so it covers only the cadence periods inside it.
  it('counts a report of another granularity only for the cadence periods inside it', () => {
    expect(nextDue('QUARTERLY', '2026-10-01', null, ['2026-11'], 15)?.period.label).toBe('2026-Q4');
    expect(nextDue('MONTHLY', '2026-07-01', null, ['2026-Q3'], 0)?.period.label).toBe('2026-10');
    expect(nextDue('HALF_YEARLY', '2026-01-01', null, ['2026-Q1'], 30)?.period.label).toBe('2026-H1');
    expect(nextDue('HALF_YEARLY', '2026-01-01', null, ['2026-Q1', '2026-Q2'], 30)?.period.label).toBe('2026-H2');
  });

  it('counts a cadence period covered when smaller reports fill every month of it', () => {
    const q4 = parsePeriod('2026-Q4')!;
    expect(isCovered(q4, ['2026-10', '2026-11'].map((l) => parsePeriod(l)!))).toBe(false);
    expect(isCovered(q4, ['2026-10', '2026-11', '2026-12'].map((l) => parsePeriod(l)!))).toBe(true);
    expect(isCovered(q4, [parsePeriod('2026-H2')!])).toBe(true);
    expect(nextDue('QUARTERLY', '2026-10-01', null, ['2026-10', '2026-11', '2026-12'], 15)?.period.label).toBe('2027-Q1');
  });

  it('is nothing once every period up to the end of the term is covered', () => {
    expect(nextDue('HALF_YEARLY', '2026-01-01', '2026-12-31', ['2026-H1', '2026-H2'], 30)).toBeUndefined();
    expect(nextDue('HALF_YEARLY', '2026-01-01', '2026-12-31', ['2026-H1'], 30)).toMatchObject({ dueOn: '2027-01-30' });
  });
});

describe('grace days', () => {
  it('make a report due on the last day of its period plus the grace days, every cadence alike', () => {
    expect(reportDueOn(parsePeriod('2026-Q4')!, 15)).toBe('2027-01-15');
    expect(reportDueOn(parsePeriod('2028-02')!, 0)).toBe('2028-02-29');
    expect(nextDue('HALF_YEARLY', '2026-01-01', null, [], 15)?.dueOn).toBe(reportDueOn(parsePeriod('2026-H1')!, 15));
  });
});

describe('periods owed across versions', () => {
  let n = 0;
  const version = (v: Partial<Agreement>): Agreement =>
    ({ id: `v${++n}`, previousId: null, cadence: 'QUARTERLY', validTo: null, activatedAt: new Date(), endReason: null, status: 'ENDED', ...v }) as Agreement;

  it('keeps a period still owed under an expired or replaced version when the next one starts', () => {
    const v1 = version({ validFrom: '2025-01-01', validTo: '2025-12-31', endReason: 'EXPIRED' });
    const v2 = version({ previousId: v1.id, validFrom: '2026-01-01', status: 'ACTIVE' });
    const terms = owedTerms(v2, [v1, v2]);
    expect(terms).toEqual([
      { cadence: 'QUARTERLY', from: '2026-01-01', to: null },
      { cadence: 'QUARTERLY', from: '2025-01-01', to: '2025-12-31' },
    ]);
    expect(firstUncovered(terms, ['2025-Q1', '2025-Q2', '2025-Q3'], 15)).toMatchObject({ period: { label: '2025-Q4' }, dueOn: '2026-01-15' });
    expect(firstUncovered(terms, ['2025-Q1', '2025-Q2', '2025-Q3', '2025-Q4'], 15)?.period.label).toBe('2026-Q1');
  });

  it('starts afresh after a return home, a withdrawal or a gap, and skips a discarded draft', () => {
    const returned = version({ validFrom: '2025-01-01', endReason: 'RETURNED_HOME' });
    const after = version({ previousId: returned.id, validFrom: '2026-01-01', status: 'ACTIVE' });
    expect(owedTerms(after, [returned, after])).toHaveLength(1);
    const expired = version({ validFrom: '2025-01-01', validTo: '2025-06-30', endReason: 'EXPIRED' });
    const late = version({ previousId: expired.id, validFrom: '2026-01-01', status: 'ACTIVE' });
    expect(owedTerms(late, [expired, late])).toHaveLength(1);
    const replaced = version({ validFrom: '2025-01-01', endReason: 'REPLACED' });
    const discarded = version({ previousId: replaced.id, validFrom: '2025-01-01', activatedAt: null, endReason: 'DISCARDED' });
    const amended = version({ previousId: discarded.id, validFrom: '2025-10-01', cadence: 'MONTHLY', status: 'ACTIVE' });
    expect(owedTerms(amended, [replaced, discarded, amended])).toEqual([
      { cadence: 'MONTHLY', from: '2025-10-01', to: null },
      { cadence: 'QUARTERLY', from: '2025-01-01', to: '2025-09-30' },
    ]);
  });
});
