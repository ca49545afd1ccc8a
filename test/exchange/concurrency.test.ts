import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { engine } from '../helpers/db';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { raceOnPeople } from '../helpers/race';
import { BODIES, idWithCheckDigit } from '../helpers/records';
import { sharingResident } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

// PGlite runs one transaction at a time, so this race exists only on PostgreSQL.
describe.runIf(engine === 'postgres')('two partners pushing records about the same people at once (PostgreSQL)', () => {
  let t: TestServer;
  let official: string;
  let wuzhong: FakePartner;
  let gusu: FakePartner;
  let pg: postgres.Sql;
  beforeAll(async () => {
    t = await startTestServer();
    const admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
    official = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
    wuzhong = await FakePartner.start('320506', t.config.countyCode);
    gusu = await FakePartner.start('320508', t.config.countyCode);
    await t.gql(REGISTER, { input: agreement(wuzhong) }, admin);
    await t.gql(REGISTER, { input: agreement(gusu) }, admin);
    pg = postgres(t.database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await pg.end();
    await wuzhong.close();
    await gusu.close();
    await t.close();
  });

  const person = (name: string) => sharingResident(t, official, name, ['320506', '320508']);

  const push = (from: FakePartner, records: string[]) => from.pushTo(t.url, records) as Promise<{ status: number; body: { receipts?: { status: string }[] } }>;

  /**
   * Each batch first touches a person the test holds (c, d), then two people both batches name, in opposite orders.
   * Applied record by record in the partner's order, the batches then each held one of a and b and waited for the
   * other: a deadlock, and one batch failed (HTTP 500). A batch locks its people in id order first, so one waits.
   */
  it('batches naming the same people in opposite orders both go through', async () => {
    const [a, b, c, d] = [await person('李明'), await person('王芳'), await person('赵强'), await person('陈静')];
    const update = (from: FakePartner, who: { subject: { idNumber: string; name: string } }, phone: string) =>
      from.record({ type: 'CONTACT_UPDATE', subject: who.subject, body: { phone } });
    const [first, second] = await raceOnPeople(
      pg,
      [c.id, d.id],
      () => push(wuzhong, [update(wuzhong, a, '13900000001'), update(wuzhong, c, '13900000003'), update(wuzhong, b, '13900000002')]),
      () => push(gusu, [update(gusu, b, '13911110002'), update(gusu, d, '13911110004'), update(gusu, a, '13911110001')]),
    );
    expect([first.status, second.status]).toEqual([200, 200]);
    for (const r of [first, second]) expect(r.body.receipts?.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    const phones = await pg<{ id: string; phone: string }[]>`select id, phone from people where id in ${pg([a.id, b.id])} order by id`;
    // The later batch wins on both people: one batch ran whole after the other.
    const byId = Object.fromEntries(phones.map((p) => [p.id, p.phone]));
    expect([['13900000001', '13900000002'], ['13911110001', '13911110002']]).toContainEqual([byId[a.id], byId[b.id]]);
    expect((await verifyAuditChain(t.server.deps.db)).ok).toBe(true);
  });

  /**
   * The same for a partner's residents living here: two batches of one partner about two of them, in opposite
   * orders, each after a person the test holds. Record by record, each batch locked one notice and waited for the
   * other's; a batch locks the notices it names in id order first, after its people.
   */
  it('batches naming the same notices in opposite orders both go through', async () => {
    const [c, d] = [await person('孙丽'), await person('周杰')];
    const residents = [{ idNumber: idWithCheckDigit('11010519800101001'), name: '钱文' }, { idNumber: idWithCheckDigit('11010519800202002'), name: '冯超' }];
    const departures = residents.map((subject) => wuzhong.record({ type: 'DEPARTURE', subject, body: BODIES.DEPARTURE }));
    expect((await push(wuzhong, departures)).body.receipts?.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED']);
    const update = (subject: { idNumber: string; name: string }, phone: string) => wuzhong.record({ type: 'CONTACT_UPDATE', subject, body: { phone } });
    const [r1, r2] = residents as [(typeof residents)[0], (typeof residents)[0]];
    const [first, second] = await raceOnPeople(
      pg,
      [c.id, d.id],
      () => push(wuzhong, [update(c.subject, '13900000013'), update(r1, '13900000011'), update(r2, '13900000012')]),
      () => push(wuzhong, [update(d.subject, '13911110014'), update(r2, '13911110012'), update(r1, '13911110011')]),
    );
    expect([first.status, second.status]).toEqual([200, 200]);
    for (const r of [first, second]) expect(r.body.receipts?.map((x) => x.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    const phones = await pg<{ phone: string }[]>`select phone from incoming_notices where partner_code = '320506' order by subject_name`;
    // one batch ran whole after the other
    expect([['13900000012', '13900000011'], ['13911110012', '13911110011']]).toContainEqual(phones.map((p) => p.phone));
  });
});
