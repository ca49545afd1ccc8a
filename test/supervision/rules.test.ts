import { describe, expect, it } from 'vitest';
import { obligationPeriods, ratedPeriods, type FiguresWindow, type VillageFigures } from '../../src/supervision/dashboard';
import { sfntFromWoff, BUNDLED_FONT } from '../../src/supervision/font';
import { assertFollowUpAllows, followUpActions, followUpState } from '../../src/supervision/lifecycle';
import { warningReasons } from '../../src/supervision/warning';
import fs from 'node:fs';

const q3: FiguresWindow = { label: '2026-Q3', start: '2026-07-01', end: '2026-09-30', asOf: '2026-09-30', complete: true };

describe('which reports a window grades', () => {
  it('takes the cadence periods whose due date (end + grace) falls in the window', () => {
    const labels = obligationPeriods(q3, 15).map((o) => `${o.period.label}@${o.dueOn}`);
    expect(labels).toEqual(['2026-06@2026-07-15', '2026-07@2026-08-15', '2026-08@2026-09-15', '2026-Q2@2026-07-15', '2026-H1@2026-07-15']);
  });

  it('stops at the reference day of a running window, and shifts with the grace days', () => {
    const running = { ...q3, asOf: '2026-08-20', complete: false };
    expect(obligationPeriods(running, 15).map((o) => o.period.label)).toEqual(['2026-06', '2026-07', '2026-Q2', '2026-H1']);
    expect(obligationPeriods(q3, 0).map((o) => o.period.label)).toEqual(['2026-07', '2026-08', '2026-09', '2026-Q3']);
  });
});

describe('which ratings a window counts', () => {
  it('takes the rated periods inside the window that are over by its reference day', () => {
    expect(ratedPeriods(q3)).toEqual(['2026-07', '2026-08', '2026-09', '2026-Q3']);
    expect(ratedPeriods({ ...q3, asOf: '2026-08-20', complete: false })).toEqual(['2026-07']);
    // on its last day a month is not over yet
    expect(ratedPeriods({ ...q3, asOf: '2026-07-31', complete: false })).toEqual([]);
    expect(ratedPeriods({ label: '2026-H2', start: '2026-07-01', end: '2026-12-31', asOf: '2026-12-31', complete: true })).toHaveLength(6 + 2 + 1);
    // a half-year is not inside one of its quarters, even once both are over
    expect(ratedPeriods({ label: '2026-Q4', start: '2026-10-01', end: '2026-12-31', asOf: '2026-12-31', complete: true })).toEqual(['2026-10', '2026-11', '2026-12', '2026-Q4']);
  });
});

describe('warning reasons', () => {
  const base: VillageFigures = { villageCode: 'v', activeAgreements: 9, reportsDue: 10, reportsOnTime: 8, reportsOverdue: 2, overdueRate: 20, checksDone: 1, brokenCommitments: 0, openDepositComplaints: 0, openInquiriesPastDue: 0, ratingCount: null, averageRating: null };
  const th = { overdueRatePercent: 20, brokenCommitments: 1, unansweredInquiries: 2 };

  it('lists each threshold reached (at or above), with the figure', () => {
    expect(warningReasons(base, th)).toEqual([{ code: 'OVERDUE_RATE', value: 20, threshold: 20 }]);
    expect(warningReasons({ ...base, overdueRate: 19.9, brokenCommitments: 1, openInquiriesPastDue: 2 }, th).map((r) => r.code)).toEqual(['BROKEN_COMMITMENTS', 'UNANSWERED_INQUIRIES']);
  });

  it('does not warn for a rate when no report was due', () => {
    expect(warningReasons({ ...base, reportsDue: 0, reportsOverdue: 0, overdueRate: null }, th)).toEqual([]);
  });
});

describe('follow-ups', () => {
  it('moves from OPEN to DONE once, and has nothing to do when none was asked for', () => {
    expect(followUpState({ followUpDueOn: null, followUpDoneOn: null })).toBe('NONE');
    expect(followUpState({ followUpDueOn: '2026-12-01', followUpDoneOn: null })).toBe('OPEN');
    expect(followUpState({ followUpDueOn: '2026-12-01', followUpDoneOn: '2026-11-30' })).toBe('DONE');
    expect(followUpActions('OPEN')).toEqual(['COMPLETE_FOLLOW_UP']);
    for (const s of ['NONE', 'DONE'] as const) expect(() => assertFollowUpAllows(s, 'COMPLETE_FOLLOW_UP')).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
  });
});

describe('the PDF font', () => {
  it('unpacks the bundled WOFF into a TrueType font with the same tables', () => {
    const woff = fs.readFileSync(BUNDLED_FONT);
    const ttf = sfntFromWoff(woff);
    expect(ttf.readUInt32BE(0)).toBe(woff.readUInt32BE(4));
    expect(ttf.readUInt16BE(4)).toBe(woff.readUInt16BE(12));
    // The sfnt is as long as the WOFF header says the original font was.
    expect(ttf.length).toBe(woff.readUInt32BE(16));
  });
});
