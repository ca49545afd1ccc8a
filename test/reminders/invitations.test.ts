import fs from 'node:fs';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreements, notifications } from '../../src/db/schema';
import { REMINDER_CALLER } from '../../src/reminders/plan';
import { deliverPending } from '../../src/reminders/deliver';
import { runReminders } from '../../src/reminders/service';
import { ratingLinkFor } from '../../src/ratings/service';
import { CapturingNotifier, INVITE } from '../helpers/ratings';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/** Rating invitations planned by the reminder job (today is 2026-11-23; 15 days' grace play no part here). */
let t: TestServer;
let official: { token: string };
const people: Record<string, string> = {};

async function report(personId: string, period: string, reportedOn: string) {
  const r = await t.gql(SUBMIT, { input: { personId, period, arrival: 'PHONE', reportedOn } }, official.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
}

beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '0' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  const person = async (cadence: string, validFrom: string) => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { cadence, validFrom });
    return p.id;
  };
  // Monthly: October reported, then the running month (November) early.
  people.monthly = await person('MONTHLY', '2026-10-01');
  await report(people.monthly, '2026-10', '2026-11-05');
  await report(people.monthly, '2026-11', '2026-11-20');
  // Quarterly: the running quarter (Q4) reported early; the last closed quarter is Q3.
  people.quarterly = await person('QUARTERLY', '2026-01-01');
  await report(people.quarterly, '2026-Q4', '2026-11-20');
  // Monthly from November: the last closed month (October) is before the agreement began.
  people.starter = await person('MONTHLY', '2026-11-01');
  await report(people.starter, '2026-11', '2026-11-20');
});
afterAll(async () => {
  await t.close();
});

const invited = async () =>
  (await t.server.deps.db.select({ personId: notifications.personId, period: notifications.period }).from(notifications).where(eq(notifications.kind, 'RATING_INVITATION')))
    .map((r) => `${Object.keys(people).find((k) => people[k] === r.personId)}:${r.period}`)
    .sort();

describe('rating invitations from the reminder job', () => {
  it('invites only for the last closed period of the cadence, once per person and period', async () => {
    const notifier = new CapturingNotifier();
    await runReminders(t.server.deps, REMINDER_CALLER, notifier, { date: '2026-11-23' });
    // The latest reports are for running periods (2026-11, 2026-Q4): their service cannot be rated yet.
    expect(await invited()).toEqual(['monthly:2026-10', 'quarterly:2026-Q3']);
    await runReminders(t.server.deps, REMINDER_CALLER, notifier, { date: '2026-11-24' });
    expect(await invited()).toEqual(['monthly:2026-10', 'quarterly:2026-Q3']);
    // Once November is over (the November reports are still recent), it is the one to rate.
    await runReminders(t.server.deps, REMINDER_CALLER, notifier, { date: '2026-12-01' });
    expect(await invited()).toEqual(['monthly:2026-10', 'monthly:2026-11', 'quarterly:2026-Q3', 'starter:2026-11']);
    // Every link sent was accepted for a period that is over: October and Q3 can be rated today.
    const sent = notifier.sent.filter((m) => m.kind === 'RATING_INVITATION');
    expect(sent).toHaveLength(4);
    for (const personId of [people.monthly!, people.quarterly!]) {
      const [row] = await t.server.deps.db
        .select({ id: notifications.id, period: notifications.period })
        .from(notifications)
        .where(and(eq(notifications.personId, personId), eq(notifications.kind, 'RATING_INVITATION'), eq(notifications.period, personId === people.monthly ? '2026-10' : '2026-Q3')));
      const token = notifier.tokenSentIn(row!.id);
      const r = await t.gql(`mutation($t: String!) { submitRating(token: $t, score: 4) }`, { t: token });
      expect(r.errors).toBeUndefined();
    }
  });

  it('counts an official’s invitation and the job’s as one per person and period, whoever sent first', async () => {
    const [monthlyAgreement] = await t.server.deps.db.select({ id: agreements.id }).from(agreements).where(eq(agreements.personId, people.monthly!));
    // The job invited for October already: the official's invitation for it is refused.
    const again = await t.gql(INVITE, { a: monthlyAgreement!.id, m: null, p: '2026-10' }, official.token);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    // The official invites the quarterly person for Q1; it is queued under the same key the job uses.
    const [quarterlyAgreement] = await t.server.deps.db.select({ id: agreements.id }).from(agreements).where(eq(agreements.personId, people.quarterly!));
    expect((await t.gql(INVITE, { a: quarterlyAgreement!.id, m: null, p: '2026-Q1' }, official.token)).errors).toBeUndefined();
    const [row] = await t.server.deps.db.select({ dedupeKey: notifications.dedupeKey }).from(notifications).where(and(eq(notifications.personId, people.quarterly!), eq(notifications.period, '2026-Q1'), eq(notifications.kind, 'RATING_INVITATION')));
    expect(row!.dedupeKey).toBe(`RATING_INVITATION:${people.quarterly}:2026-Q1`);
  });

  it('takes the link out of invitations queued before links were signed at send time (migration 0016)', async () => {
    const deps = t.server.deps;
    const [a] = await deps.db.select({ id: agreements.id }).from(agreements).where(and(eq(agreements.personId, people.quarterly!), eq(agreements.status, 'ACTIVE')));
    const { link } = await ratingLinkFor(deps, a!.id, '2026-Q2');
    const [legacy] = await deps.db
      .insert(notifications)
      .values({ dedupeKey: `RATING_INVITATION:${people.quarterly}:2026-Q2`, kind: 'RATING_INVITATION', channel: 'LOG', personId: people.quarterly, period: '2026-Q2', body: `【睢宁县乡情连心】感谢您报送2026年第二季度情况。请为村干部的服务打分（匿名，仅限一次）：${link}` })
      .returning();
    const file = fs.readdirSync('drizzle').find((f) => f.startsWith('0016_'))!;
    for (const statement of fs.readFileSync(`drizzle/${file}`, 'utf8').split('--> statement-breakpoint')) await deps.db.execute(sql.raw(statement));
    const [row] = await deps.db.select().from(notifications).where(eq(notifications.id, legacy!.id));
    expect(row).toMatchObject({ agreementId: a!.id, body: '【睢宁县乡情连心】感谢您报送2026年第二季度情况。请为村干部的服务打分（匿名，仅限一次）：{link}' });
    // Sent now, it carries a freshly signed, working link.
    const notifier = new CapturingNotifier();
    await deliverPending(deps, notifier);
    const token = notifier.tokenSentIn(legacy!.id);
    expect(link).not.toContain(token);
    expect((await t.gql(`mutation($t: String!) { submitRating(token: $t, score: 3) }`, { t: token })).errors).toBeUndefined();
  });
});
