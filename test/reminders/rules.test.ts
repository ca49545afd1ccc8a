import { describe, expect, it } from 'vitest';
import { nextNotificationStatus, notificationActions, retryDelaySeconds } from '../../src/reminders/lifecycle';
import { isoWeek } from '../../src/reminders/plan';
import { dateZh, periodZh, render, TEMPLATES } from '../../src/reminders/templates';

describe('notification lifecycle', () => {
  it('goes PENDING -> SENDING -> SENT, back to PENDING to retry, or to FAILED; FAILED can be requeued', () => {
    expect(nextNotificationStatus('PENDING', 'CLAIM')).toBe('SENDING');
    expect(nextNotificationStatus('SENDING', 'DELIVERED')).toBe('SENT');
    expect(nextNotificationStatus('SENDING', 'RETRY_LATER')).toBe('PENDING');
    expect(nextNotificationStatus('SENDING', 'GIVE_UP')).toBe('FAILED');
    expect(nextNotificationStatus('SENDING', 'CLAIM')).toBe('SENDING');
    expect(nextNotificationStatus('FAILED', 'REQUEUE')).toBe('PENDING');
    expect(notificationActions('SENT')).toEqual([]);
    for (const [status, action] of [['SENT', 'REQUEUE'], ['PENDING', 'DELIVERED'], ['SENT', 'CLAIM']] as const) {
      expect(() => nextNotificationStatus(status, action)).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }));
    }
  });

  it('backs off exponentially, capped at a day', () => {
    expect([1, 2, 3, 4].map((n) => retryDelaySeconds(n, 60))).toEqual([60, 120, 240, 480]);
    expect(retryDelaySeconds(30, 60)).toBe(86_400);
  });
});

describe('message texts', () => {
  it('renders Chinese periods and dates, and refuses a missing value', () => {
    expect(periodZh('2026-Q3')).toBe('2026年第三季度');
    expect(periodZh('2026-11')).toBe('2026年11月');
    expect(periodZh('2026-H1')).toBe('2026年上半年');
    expect(dateZh('2026-10-05')).toBe('10月5日');
    expect(render('REPORT_DUE_SOON', { county: '睢宁县', period: '2026年11月', dueOn: '11月30日' })).toBe(TEMPLATES.REPORT_DUE_SOON.replace('{county}', '睢宁县').replace('{period}', '2026年11月').replace('{dueOn}', '11月30日'));
    expect(() => render('OVERDUE_SUMMARY', {})).toThrow(/count/);
  });

  it('keys official summaries by ISO week', () => {
    expect(['2026-11-23', '2026-11-29', '2026-11-30', '2021-01-03', '2024-12-30'].map(isoWeek)).toEqual(['2026-W48', '2026-W48', '2026-W49', '2020-W53', '2025-W01']);
  });
});
