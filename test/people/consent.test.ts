import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreements, auditLog, people, statusReports, supervisionChecks } from '../../src/db/schema';
import { ERASED_EVIDENCE } from '../../src/supervision/service';
import { eraseExpiredRecords, ERASED_NAME } from '../../src/people/erasure';
import { systemCaller } from '../../src/policy/actor';
import { activeAgreement, nextIdNumber, register, REGISTER, sign, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string };
let admin: { token: string };
beforeAll(async () => {
  t = await startTestServer({ RETENTION_DAYS_AFTER_WITHDRAWAL: '30', RETENTION_DAYS_AFTER_RETURN: '365' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const CONSENTS = `query($id: ID!) { person(id: $id) { status consents { kind scope withdrawnAt } activeAgreement { id } agreements { status endReason } } }`;
const DAY = 86_400_000;

describe('consent', () => {
  it('records and withdraws sharing with one partner county without touching the rest', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { sharingCounties: ['320506'] });
    const add = await t.gql(`mutation { recordConsent(personId: "${p.id}", input: { kind: PARTNER_SHARING, scope: "320214", method: PHONE }) { kind scope withdrawnAt } }`, {}, official.token);
    const open = (list: any[]) => list.filter((c) => !c.withdrawnAt).map((c) => String(c.scope)).sort();
    expect(open(add.data!.recordConsent)).toEqual(['320214', '320506', 'null']);
    const bad = await t.gql(`mutation { recordConsent(personId: "${p.id}", input: { kind: PARTNER_SHARING, scope: "32", method: PHONE }) { kind } }`, {}, official.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });
    const w = await t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: PARTNER_SHARING, scope: "320506") { kind scope withdrawnAt } }`, {}, official.token);
    expect(open(w.data!.withdrawConsent)).toEqual(['320214', 'null']);
    const state = (await t.gql(CONSENTS, { id: p.id }, official.token)).data!.person;
    expect(state.status).toBe('AWAY');
    expect(state.activeAgreement).not.toBeNull();
  });

  it('withdrawing the agreement ends it, stops all sharing and marks the person withdrawn', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { sharingCounties: ['320506', '320214'] });
    const w = await t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: AGREEMENT) { kind withdrawnAt } }`, {}, official.token);
    expect(w.errors).toBeUndefined();
    const state = (await t.gql(CONSENTS, { id: p.id }, official.token)).data!.person;
    expect(state.status).toBe('WITHDRAWN');
    expect(state.activeAgreement).toBeNull();
    expect(state.agreements).toEqual([{ status: 'ENDED', endReason: 'WITHDRAWN' }]);
    expect(state.consents.every((c: any) => c.withdrawnAt !== null)).toBe(true);
  });

  it('withdrawing again keeps the first withdrawal time, so the retention period is not restarted', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id);
    const withdraw = () => t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: AGREEMENT) { kind } }`, {}, official.token);
    expect((await withdraw()).errors).toBeUndefined();
    const db = t.server.deps.db;
    const first = (await db.select().from(people).where(eq(people.id, p.id)))[0]!.withdrawnAt;
    expect(first).not.toBeNull();
    expect((await withdraw()).errors).toBeUndefined();
    expect((await db.select().from(people).where(eq(people.id, p.id)))[0]!.withdrawnAt).toEqual(first);
    const entries = await db.select().from(auditLog).where(and(eq(auditLog.action, 'person.withdraw'), eq(auditLog.targetId, p.id)));
    expect(entries).toHaveLength(1);
  });

  it('consenting to the agreement again after a withdrawal puts the person back in service', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id);
    await t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: AGREEMENT) { kind } }`, {}, official.token);
    const sharing = await t.gql(`mutation { recordConsent(personId: "${p.id}", input: { kind: PARTNER_SHARING, scope: "320214", method: PHONE }) { kind } }`, {}, official.token);
    expect(sharing.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', status: 'WITHDRAWN' });
    const again = await t.gql(`mutation { recordConsent(personId: "${p.id}", input: { kind: AGREEMENT, method: IN_PERSON }) { kind withdrawnAt } }`, {}, official.token);
    expect(again.errors).toBeUndefined();
    const state = (await t.gql(CONSENTS, { id: p.id }, official.token)).data!.person;
    expect(state.status).toBe('AWAY');
    expect(state.consents.filter((c: any) => c.kind === 'AGREEMENT' && c.withdrawnAt === null)).toHaveLength(1);
    const [row] = await t.server.deps.db.select().from(people).where(eq(people.id, p.id));
    // No longer withdrawn: the withdrawal's retention period does not apply.
    expect(row!.withdrawnAt).toBeNull();
  });
});

describe('erasure after the retention period', () => {
  it('anonymises withdrawn and long-returned people, keeps the counts, and frees the ID number', async () => {
    const idNumber = nextIdNumber();
    const gone = await register(t, official.token, {
      homeVillageCode: SEED.villageWangji,
      idNumber,
      employer: '某厂',
      dependants: [{ relation: 'CHILD', ageBand: 'AGE_3_5' }],
    });
    const goneAgreement = await activeAgreement(t, official.token, gone.id, { validFrom: '2026-01-01' });
    await t.gql(SUBMIT, { input: { personId: gone.id, period: '2026-Q1', arrival: 'PHONE', note: '在厂里做工', phone: '13600000001' } }, official.token);
    const supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
    const check = await t.gql(
      `mutation { recordSupervisionCheck(input: { agreementId: "${goneAgreement.id}", commitmentCode: "FOLLOW_UP_SERVICE", finding: KEPT, evidence: "电话回访本人，在某厂做工" }) { id } }`,
      {},
      supervisor.token,
    );
    expect(check.errors).toBeUndefined();
    await t.gql(`mutation { withdrawConsent(personId: "${gone.id}", kind: AGREEMENT) { kind } }`, {}, official.token);
    const returned = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await t.gql(`mutation { markReturned(personId: "${returned.id}", returnedOn: "2025-06-01") { status } }`, {}, official.token);
    const recent = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await t.gql(`mutation { withdrawConsent(personId: "${recent.id}", kind: AGREEMENT) { kind } }`, {}, official.token);

    const db = t.server.deps.db;
    const count = async () => (await db.select({ n: sql<number>`count(*)::int` }).from(people))[0]!.n;
    const before = await count();
    // The return in June 2025 is past its 365 days; the withdrawals are minutes old and stay.
    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'))).toBe(1);
    expect((await db.select().from(people).where(eq(people.id, returned.id)))[0]!.erasedAt).not.toBeNull();
    // Forty days on, the first withdrawal is past its 30 days; the other one is still recent.
    await db.update(people).set({ withdrawnAt: new Date(Date.now() - 40 * DAY) }).where(eq(people.id, gone.id));
    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'))).toBe(1);

    expect(await count()).toBe(before);
    const [row] = await db.select().from(people).where(eq(people.id, gone.id));
    expect(row).toMatchObject({ name: ERASED_NAME, idNumberEnc: null, idNumberHmac: null, idNumberMasked: null, phone: null, employer: null, homeVillageCode: SEED.villageWangji, status: 'WITHDRAWN' });
    expect(row!.erasedAt).not.toBeNull();
    const [report] = await db.select().from(statusReports).where(eq(statusReports.personId, gone.id));
    expect(report).toMatchObject({ note: null, phone: null, period: '2026-Q1' });
    const [checked] = await db.select().from(supervisionChecks).where(eq(supervisionChecks.id, check.data!.recordSupervisionCheck.id));
    expect(checked).toMatchObject({ evidence: ERASED_EVIDENCE, followUpNote: null, finding: 'KEPT' });
    const [stillThere] = await db.select().from(people).where(eq(people.id, recent.id));
    expect(stillThere!.erasedAt).toBeNull();

    expect((await t.gql(`{ person(id: "${gone.id}") { id } }`, {}, official.token)).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    const again = await t.gql(REGISTER, { input: { name: '重新登记', idNumber, homeVillageCode: SEED.villageWangji } }, official.token);
    expect(again.errors).toBeUndefined();
  });
});

describe('erasure of people no longer served', () => {
  it('erases people away whose agreement lapsed or was never signed, discards their drafts, and keeps the rest', async () => {
    const db = t.server.deps.db;
    const longAgo = new Date(Date.now() - 400 * DAY);
    const liaison = await t.gql(`mutation { createLiaisonContact(input: { name: "周敏", organisation: "吴中区服务中心", countyCode: "320506" }) { id } }`, {}, admin.token);
    const liaisonId = liaison.data!.createLiaisonContact.id;
    // Never signed: a draft left open, both sides of it long ago.
    const neverSigned = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const draft = await t.gql(`mutation { createAgreement(input: { personId: "${neverSigned.id}", cadence: QUARTERLY }) { id } }`, {}, official.token);
    const draftId = draft.data!.createAgreement.id;
    await sign(t, official.token, draftId, 'OFFICIAL');
    // Expired long ago, with a report that named the liaison who helped.
    const expired = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, expired.id, { validFrom: '2024-01-01', validTo: '2024-12-31' });
    await t.gql(SUBMIT, { input: { personId: expired.id, period: '2024-Q1', arrival: 'LIAISON', liaisonContactId: liaisonId } }, official.token);
    await db.update(agreements).set({ status: 'ENDED', endReason: 'EXPIRED', endedAt: longAgo, nextDueOn: null }).where(eq(agreements.id, a.id));
    // Still served: an active agreement, however old.
    const served = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, served.id, { validFrom: '2024-01-01' });
    // A recent report keeps a person whose agreement lapsed.
    const stillInTouch = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const b = await activeAgreement(t, official.token, stillInTouch.id, { validFrom: '2024-01-01', validTo: '2024-12-31' });
    await t.gql(SUBMIT, { input: { personId: stillInTouch.id, period: '2024-Q4', arrival: 'PHONE' } }, official.token);
    await db.update(agreements).set({ status: 'ENDED', endReason: 'EXPIRED', endedAt: longAgo, nextDueOn: null }).where(eq(agreements.id, b.id));
    for (const p of [neverSigned, expired, served, stillInTouch]) {
      await db.update(people).set({ updatedAt: longAgo }).where(eq(people.id, p.id));
      await db.update(agreements).set({ createdAt: longAgo }).where(eq(agreements.personId, p.id));
    }
    await db.update(statusReports).set({ createdAt: longAgo }).where(eq(statusReports.personId, expired.id));

    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'))).toBe(2);
    const erased = async (id: string) => (await db.select().from(people).where(eq(people.id, id)))[0]!.erasedAt !== null;
    expect([await erased(neverSigned.id), await erased(expired.id), await erased(served.id), await erased(stillInTouch.id)]).toEqual([true, true, false, false]);
    const [d] = await db.select().from(agreements).where(eq(agreements.id, draftId));
    expect(d).toMatchObject({ status: 'ENDED', endReason: 'DISCARDED' });
    const [report] = await db.select().from(statusReports).where(eq(statusReports.personId, expired.id));
    expect(report!.liaisonContactId).toBeNull();
    // An erased person's agreement cannot be signed back into force.
    const late = await t.gql(`mutation { signAgreement(id: "${draftId}", input: { side: PERSON, method: PHONE }) { status } }`, {}, official.token);
    expect(late.errors?.[0]?.extensions.code).toBe('CONFLICT');
  });
});
