import { sql } from 'drizzle-orm';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundRecords } from '../../src/db/schema';
import { systemCaller } from '../../src/policy/actor';
import { eraseExpiredExchangeData } from '../../src/sharing/retention';
import { countyWithPartner, type FakePartner } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { nextIdNumber, register } from '../helpers/registry';
import { SEED, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: string;
let wuzhong: FakePartner;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ t, admin, partner: wuzhong, close } = await countyWithPartner({ RETENTION_DAYS_AFTER_RETURN: '365' }));
});
afterAll(() => close());

const db = () => t.server.deps.db;

/**
 * Makes every change to an inbound record fail as a lost race would (SQLSTATE 40P01, deadlock_detected), the way
 * PostgreSQL reports one: a real database error, on both engines, without having to stage the race itself.
 */
async function inboundRecordsDeadlock(on: boolean): Promise<void> {
  if (on) {
    await db().execute(sql`create function test_lost_race() returns trigger language plpgsql as $$
      begin raise exception 'deadlock detected (forced by the test)' using errcode = '40P01'; end $$`);
    await db().execute(sql`create trigger test_lost_race before update on exchange_inbound_records for each row execute function test_lost_race()`);
  } else {
    await db().execute(sql`drop trigger test_lost_race on exchange_inbound_records`);
    await db().execute(sql`drop function test_lost_race()`);
  }
}

describe('exchange changes that lose a race', () => {
  it('answer CONFLICT marked retryable (resolving an unmatched record, erasing expired exchange data), and change nothing', async () => {
    const somebody = await register(t, (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token, { name: '孙丽', homeVillageCode: SEED.villageWangji });
    const jws = wuzhong.record({ type: 'STATUS_REPORT', subject: { idNumber: nextIdNumber(), name: '孙丽' }, body: { ...BODIES.STATUS_REPORT, period: '2026-10' } });
    const [receipt] = ((await wuzhong.pushTo(t.url, [jws])).body as { receipts: { id: string; status: string }[] }).receipts;
    expect(receipt!.status).toBe('ACCEPTED');
    const RESOLVE = `mutation($id: ID!, $p: ID!) { resolveUnmatchedRecord(issuerCountyCode: "320506", id: $id, personId: $p) { state } }`;

    await inboundRecordsDeadlock(true);
    try {
      const lost = await t.gql(RESOLVE, { id: receipt!.id, p: somebody.id }, admin);
      expect(lost.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', retryable: true });
      const erasing = await eraseExpiredExchangeData(t.server.deps, systemCaller('test'), new Date(Date.now() + 366 * 86_400_000)).catch((e: unknown) => e);
      expect(erasing).toMatchObject({ extensions: { code: 'CONFLICT', retryable: true } });
    } finally {
      await inboundRecordsDeadlock(false);
    }
    const [kept] = await db().select().from(inboundRecords).where(eq(inboundRecords.id, receipt!.id));
    expect(kept).toMatchObject({ state: 'UNMATCHED', personId: null, erasedAt: null });
    const reports = await t.gql(`{ statusReports(personId: "${somebody.id}") { edges { node { period } } } }`, {}, admin);
    expect(reports.data?.statusReports.edges).toEqual([]);

    // Tried again once the race is over, both go through.
    expect((await t.gql(RESOLVE, { id: receipt!.id, p: somebody.id }, admin)).data?.resolveUnmatchedRecord).toEqual({ state: 'APPLIED' });
  });
});
