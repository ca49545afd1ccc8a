import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { ADVISORY_LOCK } from '../../src/db/locks';
import { publishOutbox } from '../../src/exchange/outbox';
import { planReminders } from '../../src/reminders/plan';
import { engine } from '../helpers/db';
import { countyWithPartner, type FakePartner } from '../helpers/partner';
import { raceOnPeople, waitingForLocks } from '../helpers/race';
import { waitFor } from '../helpers/wait';
import { sharingResident } from '../helpers/registry';
import { SEED, type TestServer } from '../helpers/server';

it('every advisory lock key belongs to one job', () => {
  const keys = Object.values(ADVISORY_LOCK);
  expect(new Set(keys).size).toBe(keys.length);
});

// PGlite runs one transaction at a time, so this race exists only on PostgreSQL.
describe.runIf(engine === 'postgres')('the daily reminder plan beside a partner batch and the outbox publish step (PostgreSQL)', () => {
  let t: TestServer;
  let official: string;
  let wuzhong: FakePartner;
  let close: () => Promise<void>;
  let pg: postgres.Sql;
  beforeAll(async () => {
    ({ t, partner: wuzhong, close } = await countyWithPartner());
    official = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
    pg = postgres(t.database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await pg.end();
    await close();
  });

  const person = (name: string) => sharingResident(t, official, name, ['320506']);

  const dueOn = (personId: string, day: string) => pg`update agreements set next_due_on = ${day} where person_id = ${personId} and status = 'ACTIVE'`;

  /**
   * The plan inserts its reminders due soon before the overdue ones, and each outbox row locks its person (FOR KEY
   * SHARE, the foreign key). Here the later person (by id) is due soon and the earlier one overdue, so in that order
   * the plan held the later person and waited for the earlier one, which the batch (people in id order) held while
   * waiting for the later one: a deadlock, and the plan or the batch failed. The plan locks its people in id order.
   */
  it('both finish: the plan locks the people it reminds in id order', async () => {
    const [early, late] = [await person('吴刚'), await person('郑洁')].sort((a, b) => (a.id < b.id ? -1 : 1)) as [{ id: string; subject: { idNumber: string; name: string } }, { id: string; subject: { idNumber: string; name: string } }];
    await dueOn(early.id, t.day(-10));
    await dueOn(late.id, t.day(2));
    const update = (who: typeof early, phone: string) => wuzhong.record({ type: 'CONTACT_UPDATE', subject: who.subject, body: { phone } });
    const [push, planned] = await raceOnPeople(
      pg,
      [early.id],
      () => wuzhong.pushTo(t.url, [update(early, '13900000021'), update(late, '13900000022')]),
      () => planReminders(t.server.deps, t.day(0), 'LOG'),
    );
    expect(push.status).toBe(200);
    expect((push.body as { receipts: { status: string }[] }).receipts.map((r) => r.status)).toEqual(['ACCEPTED', 'ACCEPTED']);
    expect(planned).toBeGreaterThanOrEqual(2);
    const reminded = await pg<{ person_id: string; kind: string }[]>`select person_id, kind from notifications where person_id in ${pg([early.id, late.id])} order by kind`;
    expect(reminded.map((r) => [r.person_id, r.kind])).toEqual([
      [late.id, 'REPORT_DUE_SOON'],
      [early.id, 'REPORT_OVERDUE'],
    ]);
    const phones = await pg<{ phone: string }[]>`select phone from people where id in ${pg([early.id, late.id])} order by id`;
    expect(phones.map((p) => p.phone)).toEqual(['13900000021', '13900000022']);
    expect((await verifyAuditChain(t.server.deps.db)).ok).toBe(true);
  });

  /** The plan and the outbox's publish step shared one advisory lock key, so each waited for the other for nothing. */
  it('the outbox publish step does not wait for a reminder plan', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    const plan = pg.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${ADVISORY_LOCK.planReminders})`;
      locked();
      await released;
    });
    await isLocked;
    let published = false;
    const publish = publishOutbox(t.server.deps.db).then(() => (published = true));
    const outcome = await waitFor('the publish step to finish or wait', async () => (published ? 'finished' : (await waitingForLocks(pg)) > 0 ? 'waiting' : undefined));
    release();
    await plan;
    await publish;
    expect(outcome).toBe('finished');
  });
});
