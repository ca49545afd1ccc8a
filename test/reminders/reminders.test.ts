import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/client';
import { notifications } from '../../src/db/schema';
import type { Deps } from '../../src/deps';
import { deliverPending } from '../../src/reminders/deliver';
import { createNotifier } from '../../src/reminders/notifier';
import { REMINDER_CALLER } from '../../src/reminders/plan';
import { runReminders } from '../../src/reminders/service';
import { createLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { addDays, todayIn } from '../../src/calendar';
import { recordedAt } from '../helpers/history';
import { partnerInquiries } from '../helpers/inquiries';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';
import { startSmsStub } from '../helpers/sms-stub';

let t: TestServer;
let stub: Awaited<ReturnType<typeof startSmsStub>>;
let official: { token: string; id: string };
let admin: { token: string; id: string };
let supervisor: { token: string };
let otherSupervisor: { token: string };
let deps: Deps;
const notifier = () => createNotifier(deps.config, deps.logger);

beforeAll(async () => {
  stub = await startSmsStub();
  t = await startTestServer({
    NOTIFIER: 'sms',
    SMS_GATEWAY_URL: stub.url,
    SMS_GATEWAY_TOKEN: 'gateway-test-token',
    SMS_GATEWAY_TIMEOUT_MS: '20000',
    REPORT_GRACE_DAYS: '0',
    REMINDER_DAYS_BEFORE_DUE: '7',
    REMINDER_LEASE_SECONDS: '40',
    REMINDER_RETRY_BASE_SECONDS: '60',
    REMINDER_MAX_ATTEMPTS: '3',
  });
  deps = t.server.deps;
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  otherSupervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou });
  // A commitment broken in 2026-Q3 and recorded then: 王集村 is on that quarter's warning list.
  const check = await t.gql(`mutation { recordSupervisionCheck(input: { officialUserId: "${official.id}", commitmentCode: "FOLLOW_UP_SERVICE", finding: BROKEN, evidence: "未回访", checkedOn: "2026-09-10" }) { id } }`, {}, supervisor.token);
  await recordedAt(deps.db, 'supervision_checks', 'created_at', check.data!.recordSupervisionCheck.id, '2026-09-10T10:00:00+08:00');
});
afterAll(async () => {
  await t.close();
  await stub.close();
});

/** People whose reminders fall on `date` (15 days' grace is off): one overdue since Q1, one due on 11-30. */
async function seedPeople(village: string = SEED.villageWangji, token = official.token) {
  const overdue = await register(t, token, { homeVillageCode: village });
  await activeAgreement(t, token, overdue.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
  const dueSoon = await register(t, token, { homeVillageCode: village });
  await activeAgreement(t, token, dueSoon.id, { cadence: 'MONTHLY', validFrom: '2026-11-01' });
  return { overdue, dueSoon };
}

const rowsOf = async (personIds: string[]) => deps.db.select().from(notifications).where(inArray(notifications.personId, personIds));

describe('reminders', () => {
  it('sends each reminder once per person, period and kind, however often the job runs', async () => {
    const { overdue, dueSoon } = await seedPeople();
    const reported = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, reported.id, { cadence: 'MONTHLY', validFrom: '2026-10-01' });
    await t.gql(SUBMIT, { input: { personId: reported.id, period: '2026-10', arrival: 'PHONE', reportedOn: '2026-11-20' } }, official.token);
    const quiet = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, quiet.id, { cadence: 'QUARTERLY', validFrom: '2026-11-01' });
    const noPhone = await register(t, official.token, { homeVillageCode: SEED.villageWangji, phone: null });
    await activeAgreement(t, official.token, noPhone.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });

    const first = await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-23' });
    // overdue, due soon x2, a rating invitation, no-phone overdue, the official's summary, and the last quarter's
    // warning to the administrator and the two supervisors.
    expect(first).toMatchObject({ date: '2026-11-23', planned: 9, sent: 8, failed: 1, retrying: 0 });
    const again = await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-23' });
    const nextDay = await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-24' });
    expect([again.planned, again.sent, nextDay.planned, nextDay.sent]).toEqual([0, 0, 0, 0]);

    const rows = await rowsOf([overdue.id, dueSoon.id, reported.id, quiet.id, noPhone.id]);
    const summary = (r: (typeof rows)[number]) => [r.personId, r.kind, r.period, r.status];
    expect(rows.map(summary).sort()).toEqual(
      [
        [overdue.id, 'REPORT_OVERDUE', '2026-Q1', 'SENT'],
        [dueSoon.id, 'REPORT_DUE_SOON', '2026-11', 'SENT'],
        [reported.id, 'REPORT_DUE_SOON', '2026-11', 'SENT'],
        [reported.id, 'RATING_INVITATION', '2026-10', 'SENT'],
        [noPhone.id, 'REPORT_OVERDUE', '2026-Q1', 'FAILED'],
      ].sort(),
    );
    // The gateway got one request per message, with our token and the message id as idempotency key.
    expect(stub.requests).toHaveLength(4);
    expect(stub.delivered().sort()).toEqual(rows.filter((r) => r.status === 'SENT').map((r) => r.id).sort());
    expect(stub.requests.every((r) => r.authorization === 'Bearer gateway-test-token' && r.idempotencyKey === r.id)).toBe(true);
    const toOverdue = stub.requests.find((r) => r.id === rows.find((x) => x.personId === overdue.id)!.id)!;
    expect(toOverdue.to).toBe(overdue.phone);
    expect(toOverdue.text).toBe('【睢宁县乡情连心】您好！您2026年第一季度的情况报告已于3月31日到期，尚未收到。请尽快与村干部联系报送，谢谢。');
    const invitation = stub.requests.find((r) => r.text.includes('打分'))!;
    const token = /token=([\w.-]+)/.exec(invitation.text)![1];
    expect((await t.gql(`mutation($t: String!) { submitRating(token: $t, score: 5) }`, { t: token })).data?.submitRating).toBe(true);
    // The official's weekly summary is in their in-app inbox.
    const inbox = await t.gql(`{ myMessages { edges { node { id kind period body readAt } } } }`, {}, official.token);
    expect(inbox.data?.myMessages.edges.map((e: any) => e.node)).toEqual([
      { id: expect.any(String), kind: 'OVERDUE_SUMMARY', period: '2026-W48', body: '本村有2名外出人员的情况报告已逾期，请登录乡情连心系统查看“逾期报告”并及时联系。', readAt: null },
    ]);
    const read = await t.gql(`mutation { markMessageRead(id: "${inbox.data!.myMessages.edges[0].node.id}") { readAt } }`, {}, official.token);
    expect(read.data?.markMessageRead.readAt).not.toBeNull();
    const warning = async (token: string) => (await t.gql(`{ myMessages { edges { node { kind period body } } } }`, {}, token)).data!.myMessages.edges.map((e: any) => e.node);
    expect(await warning(supervisor.token)).toEqual([{ kind: 'QUARTERLY_WARNING', period: '2026-Q3', body: '2026年第三季度公开预警已生成：本镇有1个村达到预警线，请登录乡情连心系统查看“季度预警”。' }]);
    expect((await warning(otherSupervisor.token))[0].body).toContain('本镇有0个村');
    expect((await warning(admin.token))[0].body).toContain('全县有1个村');
    // The failure is visible to administrators, with its reason.
    const failed = await t.gql(`{ notifications(status: FAILED) { edges { node { kind person { id } lastError attempts } } } }`, {}, admin.token);
    expect(failed.data?.notifications.edges.map((e: any) => e.node)).toEqual([{ kind: 'REPORT_OVERDUE', person: { id: noPhone.id }, lastError: 'the person has no mobile number', attempts: 1 }]);
    expect((await t.gql(`{ notifications { edges { node { id } } } }`, {}, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('sends exactly once across a crash mid-sending: another run takes over when the lease runs out', async () => {
    const other = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
    const { overdue, dueSoon } = await seedPeople(SEED.villageLiyushan, other.token);
    const more = await seedPeople(SEED.villageLiyushan, other.token);
    const before = stub.requests.length;
    // The first sender gets its second message to the gateway, then dies before hearing back.
    stub.answer((_, n) => (n === before + 2 ? 'hang' : 'ok'));
    const crashed = runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-25' });
    while (stub.requests.length < before + 2) await new Promise((r) => setTimeout(r, 20));
    const inFlight = stub.requests[before + 1]!.id;
    // 41 seconds later the 40-second lease has run out (the gateway timeout, 20 s, is half the lease: see config).
    const rerun = await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-25', now: () => new Date(Date.now() + 41_000) });
    expect(rerun.planned).toBe(0);
    const ids = [overdue.id, dueSoon.id, more.overdue.id, more.dueSoon.id];
    const rows = await rowsOf(ids);
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.status === 'SENT')).toBe(true);
    const sent = stub.requests.slice(before);
    // Every message reached the gateway; only the one in flight at the crash went twice, with the same key.
    expect(new Set(sent.map((r) => r.idempotencyKey))).toEqual(new Set(rows.map((r) => r.id)));
    expect(sent.filter((r) => r.id === inFlight)).toHaveLength(2);
    expect(sent).toHaveLength(5);
    // When the dead sender's request finally returns, it changes nothing and sends nothing more.
    stub.release();
    await crashed;
    expect(stub.requests.slice(before)).toHaveLength(5);
    expect((await rowsOf(ids)).every((r) => r.status === 'SENT')).toBe(true);
    stub.answer(() => 'ok');
  });

  it('shares the work between instances running at once without sending anything twice', async () => {
    const o = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageShuanggou });
    const people = [await seedPeople(SEED.villageShuanggou, o.token), await seedPeople(SEED.villageShuanggou, o.token), await seedPeople(SEED.villageShuanggou, o.token)];
    const before = stub.requests.length;
    // On PostgreSQL the second instance has its own connection pool; PGlite has one connection, shared.
    const second = t.database.url ? await openDatabase({ databaseUrl: t.database.url, poolMax: 3 }) : undefined;
    try {
      const deps2 = second ? { ...deps, db: second.db } : deps;
      const [a, b] = await Promise.all([
        runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-26', batchSize: 2 }),
        runReminders(deps2, REMINDER_CALLER, notifier(), { date: '2026-11-26', batchSize: 2 }),
      ]);
      expect(a.planned + b.planned).toBe(7); // six people and the official's summary
      expect(a.sent + b.sent).toBe(7);
    } finally {
      await second?.close();
    }
    const sent = stub.requests.slice(before);
    expect(sent).toHaveLength(6);
    expect(new Set(sent.map((r) => r.id)).size).toBe(6);
    expect((await rowsOf(people.flatMap((p) => [p.overdue.id, p.dueSoon.id]))).every((r) => r.status === 'SENT')).toBe(true);
  });

  it('retries a gateway failure with backoff, gives up after the last attempt, and can be requeued', async () => {
    const o = await t.user({ role: 'VILLAGE_OFFICIAL', scope: '320324102202' });
    const p = await register(t, o.token, { homeVillageCode: '320324102202' });
    await activeAgreement(t, o.token, p.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
    stub.answer((r) => (r.to === p.phone ? 'unavailable' : 'ok'));
    const t0 = Date.now();
    const at = (seconds: number) => () => new Date(t0 + seconds * 1000);
    await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-27', now: at(0) });
    const row = async () => (await rowsOf([p.id]))[0]!;
    expect(await row()).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'gateway answered 503', nextAttemptAt: new Date(t0 + 60_000) });
    // Administrators see it waiting for its next attempt, with the reason.
    const retrying = await t.gql(`{ notifications(retrying: true) { edges { node { person { id } status attempts lastError nextAttemptAt } } } }`, {}, admin.token);
    expect(retrying.data?.notifications.edges.map((e: any) => e.node)).toEqual([
      { person: { id: p.id }, status: 'PENDING', attempts: 1, lastError: 'gateway answered 503', nextAttemptAt: new Date(t0 + 60_000).toISOString() },
    ]);
    expect(await deliverPending(deps, notifier(), { now: at(30) })).toEqual({ sent: 0, retrying: 0, failed: 0 }); // not yet due
    await deliverPending(deps, notifier(), { now: at(61) });
    expect(await row()).toMatchObject({ status: 'PENDING', attempts: 2, nextAttemptAt: new Date(t0 + 181_000) });
    expect(await deliverPending(deps, notifier(), { now: at(182) })).toEqual({ sent: 0, retrying: 0, failed: 1 });
    const failed = await row();
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 3 });
    expect(stub.requests.filter((r) => r.to === p.phone)).toHaveLength(3);

    stub.answer(() => 'ok');
    const requeued = await t.gql(`mutation { requeueNotification(id: "${failed.id}") { status attempts } }`, {}, admin.token);
    expect(requeued.data?.requeueNotification).toEqual({ status: 'PENDING', attempts: 0 });
    expect((await deliverPending(deps, notifier())).sent).toBe(1);
    expect((await row()).status).toBe('SENT');
    expect((await t.gql(`mutation { requeueNotification(id: "${failed.id}") { status } }`, {}, admin.token)).errors?.[0]?.extensions.code).toBe('CONFLICT');

    // A refusal (4xx) is permanent: no retry.
    const q = await register(t, o.token, { homeVillageCode: '320324102202' });
    await activeAgreement(t, o.token, q.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
    stub.answer((r) => (r.to === q.phone ? 'refuse' : 'ok'));
    await runReminders(deps, REMINDER_CALLER, notifier(), { date: '2026-11-28' });
    expect((await rowsOf([q.id]))[0]).toMatchObject({ status: 'FAILED', attempts: 1, lastError: 'gateway answered 400' });
    stub.answer(() => 'ok');
  });

  it('reminds whoever must answer a partner\'s inquiry near its deadline, once per user and inquiry', async () => {
    const inq = await partnerInquiries(t, admin.token);
    try {
      // A day of its own, in the future (partners can only set deadlines from today on).
      const day = addDays(todayIn(deps.config.timeZone), 30);
      const ask = (subject: { idNumber: string; name: string }, inDays: number) => inq.ask(subject, addDays(day, inDays));
      const mine = await inq.resident(official.token, SEED.villageWangji);
      const noOfficial = await inq.resident(admin.token, '320324101203'); // 路东村 has no official: the administrators answer
      const forOfficial = await ask(mine.subject, 3);
      const forAdmins = await ask(noOfficial.subject, 7);
      const unmatched = await ask({ idNumber: '11010519491231002X', name: '张三' }, 1);
      await ask(mine.subject, 9); // not within 7 days of either run
      const answered = await ask(mine.subject, 2);
      expect((await t.gql(`mutation { answerInquiry(id: "${answered}", result: DECLINED, answer: "本人不同意") { status } }`, {}, official.token)).errors).toBeUndefined();

      await runReminders(deps, REMINDER_CALLER, notifier(), { date: day });
      await runReminders(deps, REMINDER_CALLER, notifier(), { date: addDays(day, 1) });
      const rows = await deps.db.select().from(notifications).where(eq(notifications.kind, 'INQUIRY_DUE_SOON'));
      expect(rows.map((r) => [r.userId, r.period, r.channel, r.status]).sort()).toEqual(
        [
          [official.id, forOfficial, 'INBOX', 'SENT'],
          [admin.id, forAdmins, 'INBOX', 'SENT'],
          [admin.id, unmatched, 'INBOX', 'SENT'],
        ].sort(),
      );
      const inbox = await t.gql(`{ myMessages { edges { node { kind body } } } }`, {}, official.token);
      expect(inbox.data!.myMessages.edges.map((e: any) => e.node)).toContainEqual({
        kind: 'INQUIRY_DUE_SOON',
        body: `有一件协查将于${Number(addDays(day, 3).slice(5, 7))}月${Number(addDays(day, 3).slice(8, 10))}日到期，请及时答复（协查编号 ${forOfficial}）。`,
      });
    } finally {
      await inq.close();
    }
  });
});

describe('reminder scheduler in the server', () => {
  it('plans and sends by itself when enabled, and stops cleanly with the server', async () => {
    const s = await startTestServer();
    let second: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      const o = await s.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
      const p = await register(s, o.token, { homeVillageCode: SEED.villageWangji });
      await activeAgreement(s, o.token, p.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
      // A second instance on the same database, with the scheduler on: it plans today and sends.
      const config = loadConfig({ NODE_ENV: 'test', PORT: '0', DATA_DIR: s.config.dataDir, LOG_LEVEL: 'silent', REMINDERS_ENABLED: 'true', REMINDER_POLL_SECONDS: '1', REMINDER_DAILY_AT: '00:00' });
      second = await startServer(config, { database: s.database, secrets: s.server.deps.secrets, logger: createLogger('silent') });
      const deadline = Date.now() + 10_000;
      let row: (typeof notifications.$inferSelect) | undefined;
      while (Date.now() < deadline && row?.status !== 'SENT') {
        await new Promise((r) => setTimeout(r, 200));
        [row] = await s.server.deps.db.select().from(notifications).where(eq(notifications.personId, p.id));
      }
      expect(row).toMatchObject({ kind: 'REPORT_OVERDUE', channel: 'LOG', status: 'SENT' });
      await second.close();
      second = undefined;
      // The first instance, whose scheduler is off, is unaffected by the second one stopping.
      expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    } finally {
      await second?.close();
      await s.close();
    }
  });
});

describe('the default notifier', () => {
  it('keeps the message in the database (readable by administrators) and marks it sent', async () => {
    const s = await startTestServer({ REPORT_GRACE_DAYS: '0' });
    try {
      const o = await s.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
      const a = await s.user({ role: 'COUNTY_ADMIN' });
      const p = await register(s, o.token, { homeVillageCode: SEED.villageWangji });
      await activeAgreement(s, o.token, p.id, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
      const d = s.server.deps;
      expect(d.config.notifier).toBe('log');
      await runReminders(d, REMINDER_CALLER, createNotifier(d.config, d.logger), { date: '2026-11-23' });
      const r = await s.gql(`{ notifications(kind: REPORT_OVERDUE) { edges { node { channel status body person { id } sentAt } } } }`, {}, a.token);
      expect(r.data?.notifications.edges.map((e: any) => e.node)).toEqual([
        { channel: 'LOG', status: 'SENT', body: expect.stringContaining('2026年第一季度的情况报告已于3月31日到期'), person: { id: p.id }, sentAt: expect.any(String) },
      ]);
      const [row] = await d.db.select().from(notifications).where(eq(notifications.personId, p.id));
      expect(row!.channel).toBe('LOG');
    } finally {
      await s.close();
    }
  });
});
