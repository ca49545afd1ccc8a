import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
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

describe('reminder configuration', () => {
  it('refuses a claim lease shorter than twice the SMS gateway timeout', () => {
    const sms = { NOTIFIER: 'sms', SMS_GATEWAY_URL: 'http://127.0.0.1:9/sms', SMS_GATEWAY_TOKEN: 'gateway-token' };
    expect(() => loadConfig({ ...sms, REMINDER_LEASE_SECONDS: '19', SMS_GATEWAY_TIMEOUT_MS: '10000' })).toThrow(/REMINDER_LEASE_SECONDS \(19\) must be at least twice SMS_GATEWAY_TIMEOUT_MS/);
    expect(() => loadConfig({ ...sms, REMINDER_LEASE_SECONDS: '60', SMS_GATEWAY_TIMEOUT_MS: '120000' })).toThrow(/REMINDER_LEASE_SECONDS/);
    expect(loadConfig({ ...sms, REMINDER_LEASE_SECONDS: '20', SMS_GATEWAY_TIMEOUT_MS: '10000' }).reminders.leaseSeconds).toBe(20);
    expect(loadConfig(sms).reminders.leaseSeconds).toBe(300);
    // The default notifier waits on no gateway.
    expect(loadConfig({ REMINDER_LEASE_SECONDS: '5' }).reminders.leaseSeconds).toBe(5);
  });
});
