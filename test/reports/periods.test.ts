import { describe, expect, it } from 'vitest';
import { nextDue, nextPeriod, parsePeriod, periodContaining } from '../../src/reports/periods';

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

  it('counts a report of another granularity for the periods it overlaps', () => {
    expect(nextDue('QUARTERLY', '2026-10-01', null, ['2026-11'], 15)?.period.label).toBe('2027-Q1');
    expect(nextDue('MONTHLY', '2026-07-01', null, ['2026-Q3'], 0)?.period.label).toBe('2026-10');
    expect(nextDue('HALF_YEARLY', '2026-01-01', null, ['2026-Q1'], 30)?.period.label).toBe('2026-H2');
  });

  it('is nothing once every period up to the end of the term is covered', () => {
    expect(nextDue('HALF_YEARLY', '2026-01-01', '2026-12-31', ['2026-H1', '2026-H2'], 30)).toBeUndefined();
    expect(nextDue('HALF_YEARLY', '2026-01-01', '2026-12-31', ['2026-H1'], 30)).toMatchObject({ dueOn: '2027-01-30' });
  });
});
