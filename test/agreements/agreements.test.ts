import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireAgreements } from '../../src/agreements/service';
import { systemCaller } from '../../src/policy/actor';
import { activeAgreement, register, sign } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string; id: string };
let supervisor: { token: string };
beforeAll(async () => {
  t = await startTestServer();
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
});
afterAll(() => t.close());

const AGREEMENT = `query($id: ID!) { agreement(id: $id) { id version status allowedActions cadence validFrom validTo endReason
  previous { id status endReason } official { id } officialCommitments { code textZh textEn } personCommitments { code }
  officialSignature { method scanRef } personSignature { method } sharingCounties history { action actorId actorRole }
  person { status consents { kind scope withdrawnAt } } } }`;
const CREATE = `mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { id status version } }`;

async function draft(personId: string, terms: Record<string, unknown> = {}) {
  const r = await t.gql(CREATE, { input: { personId, cadence: 'QUARTERLY', validFrom: '2026-01-15', ...terms } }, official.token);
  expect(r.errors).toBeUndefined();
  return r.data!.createAgreement.id as string;
}

const code = (r: { errors?: { extensions: { code: string } }[] }) => r.errors?.[0]?.extensions.code;

describe('mutual-commitment agreements', () => {
  it('starts as a DRAFT from the county template, and activates when both sides have signed', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id, { sharingCounties: ['320506'] });
    let a = (await t.gql(AGREEMENT, { id }, official.token)).data!.agreement;
    expect(a).toMatchObject({ version: 1, status: 'DRAFT', official: { id: official.id }, allowedActions: ['EDIT_DRAFT', 'SIGN', 'END'] });
    expect(a.officialCommitments.map((c: any) => c.code)).toEqual(['RESPECT_RIGHTS', 'DELIVER_BENEFITS', 'NO_DEPOSIT', 'FOLLOW_UP_SERVICE']);
    expect(a.officialCommitments[2]).toMatchObject({ textZh: '不收取任何保证金和押金', textEn: expect.stringContaining('deposit') });
    expect(a.personCommitments).toHaveLength(3);

    await sign(t, official.token, id, 'OFFICIAL');
    a = (await t.gql(AGREEMENT, { id }, official.token)).data!.agreement;
    expect(a.status).toBe('DRAFT');
    await sign(t, official.token, id, 'PERSON');
    a = (await t.gql(AGREEMENT, { id }, official.token)).data!.agreement;
    expect(a).toMatchObject({ status: 'ACTIVE', officialSignature: { method: 'PAPER' }, personSignature: { method: 'PAPER' } });
    expect(a.history.map((h: any) => h.action)).toEqual(['CREATE', 'SIGN', 'SIGN', 'ACTIVATE']);
    expect(a.history[0]).toMatchObject({ actorId: official.id, actorRole: 'VILLAGE_OFFICIAL' });
    expect(a.person.consents.map((c: any) => [c.kind, c.scope])).toEqual([
      ['AGREEMENT', null],
      ['PARTNER_SHARING', '320506'],
    ]);
  });

  it('refuses to leave out the no-deposit commitment or use items not in the template', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const noDeposit = await t.gql(CREATE, { input: { personId: p.id, cadence: 'MONTHLY', officialCommitments: ['RESPECT_RIGHTS'] } }, official.token);
    expect(noDeposit.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'officialCommitments' });
    const unknown = await t.gql(CREATE, { input: { personId: p.id, cadence: 'MONTHLY', personCommitments: ['PAY_DEPOSIT'] } }, official.token);
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'personCommitments' });
    const dates = await t.gql(CREATE, { input: { personId: p.id, cadence: 'MONTHLY', validFrom: '2026-05-01', validTo: '2026-04-01' } }, official.token);
    expect(dates.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'validTo' });
  });

  it('needs a scan reference for a paper signature', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id);
    const r = await t.gql(`mutation($id: ID!) { signAgreement(id: $id, input: { side: PERSON, method: PAPER }) { id } }`, { id }, official.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scanRef' });
    const phone = await t.gql(`mutation($id: ID!) { signAgreement(id: $id, input: { side: PERSON, method: PHONE }) { personSignature { method } } }`, { id }, official.token);
    expect(phone.data?.signAgreement.personSignature.method).toBe('PHONE');
  });

  it('answers CONFLICT to every illegal transition', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const active = await activeAgreement(t, official.token, p.id);
    const terms = '{ cadence: MONTHLY }';
    // ACTIVE: no editing the draft, no signing again, no second agreement
    expect(code(await t.gql(`mutation { updateAgreementDraft(id: "${active.id}", input: ${terms}) { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { signAgreement(id: "${active.id}", input: { side: PERSON, method: PHONE }) { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(CREATE, { input: { personId: p.id, cadence: 'MONTHLY' } }, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { endAgreement(id: "${active.id}", reason: DISCARDED) { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { endAgreement(id: "${active.id}", reason: REPLACED) { id } }`, {}, official.token))).toBe('BAD_USER_INPUT');
    // DRAFT (an amendment): no amending or renewing a draft, no reports against it, a second draft refused
    const amendment = await t.gql(`mutation { amendAgreement(id: "${active.id}", input: ${terms}) { id status version } }`, {}, official.token);
    const draftId = amendment.data!.amendAgreement.id;
    expect(code(await t.gql(`mutation { amendAgreement(id: "${draftId}", input: ${terms}) { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { renewAgreement(id: "${draftId}", input: ${terms}) { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { recordDepositComplaint(agreementId: "${draftId}", description: "x") { id } }`, {}, official.token))).toBe('CONFLICT');
    expect(code(await t.gql(`mutation { amendAgreement(id: "${active.id}", input: ${terms}) { id } }`, {}, official.token))).toBe('CONFLICT');
    // ENDED: nothing but renewal and complaints
    const ended = await t.gql(`mutation { endAgreement(id: "${draftId}", reason: DISCARDED) { status endReason } }`, {}, official.token);
    expect(ended.data?.endAgreement).toEqual({ status: 'ENDED', endReason: 'DISCARDED' });
    for (const m of [
      `signAgreement(id: "${draftId}", input: { side: PERSON, method: PHONE }) { id }`,
      `updateAgreementDraft(id: "${draftId}", input: ${terms}) { id }`,
      `amendAgreement(id: "${draftId}", input: ${terms}) { id }`,
      `endAgreement(id: "${draftId}", reason: EXPIRED) { id }`,
    ]) {
      expect(code(await t.gql(`mutation { ${m} }`, {}, official.token)), m).toBe('CONFLICT');
    }
  });

  it('amends by a new version that replaces the old one when signed, keeping the history', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const v1 = await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01', sharingCounties: ['320506', '320214'] });
    const amend = await t.gql(`mutation { amendAgreement(id: "${v1.id}", input: { cadence: HALF_YEARLY, sharingCounties: ["320214"] }) { id version status } }`, {}, official.token);
    const v2 = amend.data!.amendAgreement;
    expect(v2).toMatchObject({ version: 2, status: 'DRAFT' });
    // v1 stays in force until v2 is signed
    expect((await t.gql(AGREEMENT, { id: v1.id }, official.token)).data!.agreement.status).toBe('ACTIVE');
    await sign(t, official.token, v2.id, 'OFFICIAL');
    await sign(t, official.token, v2.id, 'PERSON');
    const a2 = (await t.gql(AGREEMENT, { id: v2.id }, official.token)).data!.agreement;
    expect(a2).toMatchObject({ status: 'ACTIVE', cadence: 'HALF_YEARLY', validFrom: '2026-01-01', previous: { id: v1.id, status: 'ENDED', endReason: 'REPLACED' } });
    const sharing = a2.person.consents.filter((c: any) => c.kind === 'PARTNER_SHARING');
    expect(sharing.find((c: any) => c.scope === '320506').withdrawnAt).not.toBeNull();
    expect(sharing.find((c: any) => c.scope === '320214').withdrawnAt).toBeNull();
    const versions = await t.gql(`query($id: ID!) { person(id: $id) { agreements { version status endReason } activeAgreement { version } } }`, { id: p.id }, official.token);
    expect(versions.data?.person).toEqual({
      agreements: [
        { version: 1, status: 'ENDED', endReason: 'REPLACED' },
        { version: 2, status: 'ACTIVE', endReason: null },
      ],
      activeAgreement: { version: 2 },
    });
  });

  it('renews for a further term starting when the old one ends', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const v1 = await activeAgreement(t, official.token, p.id, { validFrom: '2025-01-01', validTo: '2025-12-31' });
    const validTo = t.day(365);
    const r = await t.gql(`mutation { renewAgreement(id: "${v1.id}", input: { validTo: "${validTo}" }) { version validFrom validTo status } }`, {}, official.token);
    expect(r.data?.renewAgreement).toEqual({ version: 2, validFrom: '2026-01-01', validTo, status: 'DRAFT' });
  });

  it('keeps a report already overdue under the old term due after the renewal is signed', async () => {
    const STATUS = `query($id: ID!) { person(id: $id) { reportStatus(asOf: "2026-01-20") { state period dueOn daysOverdue } } }`;
    const SUBMIT_Q = `mutation($input: StatusReportInput!) { submitStatusReport(input: $input) { id } }`;
    for (const expire of [false, true]) {
      const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
      const v1 = await activeAgreement(t, official.token, p.id, { validFrom: '2025-01-01', validTo: '2025-12-31' });
      for (const period of ['2025-Q1', '2025-Q2', '2025-Q3']) {
        expect((await t.gql(SUBMIT_Q, { input: { personId: p.id, period, arrival: 'PHONE' } }, official.token)).errors).toBeUndefined();
      }
      if (expire) await expireAgreements(t.server.deps, systemCaller('test'), '2026-01-01');
      const r = await t.gql(`mutation { renewAgreement(id: "${v1.id}", input: { validTo: "${t.day(365)}" }) { id } }`, {}, official.token);
      await sign(t, official.token, r.data!.renewAgreement.id, 'OFFICIAL');
      await sign(t, official.token, r.data!.renewAgreement.id, 'PERSON');
      const status = (await t.gql(STATUS, { id: p.id }, official.token)).data!.person.reportStatus;
      expect(status, expire ? 'renewed after expiry' : 'renewed while active').toEqual({ state: 'OVERDUE', period: '2025-Q4', dueOn: '2026-01-15', daysOverdue: 5 });
    }
  });

  it('routes return home and withdrawal to their own mutations', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, p.id);
    const r = await t.gql(`mutation { endAgreement(id: "${a.id}", reason: RETURNED_HOME) { id } }`, {}, official.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const back = await t.gql(`mutation { markReturned(personId: "${p.id}", returnedOn: "2026-10-01") { status returnedOn activeAgreement { id } } }`, {}, official.token);
    expect(back.data?.markReturned).toEqual({ status: 'RETURNED', returnedOn: '2026-10-01', activeAgreement: null });
    expect((await t.gql(AGREEMENT, { id: a.id }, official.token)).data!.agreement).toMatchObject({ status: 'ENDED', endReason: 'RETURNED_HOME' });
  });

  it('records a deposit complaint that the town supervisor sees and resolves', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, p.id);
    const c = await t.gql(`mutation { recordDepositComplaint(agreementId: "${a.id}", description: "村里要求交500元押金", reportedOn: "2026-11-02") { id status } }`, {}, official.token);
    expect(c.data?.recordDepositComplaint.status).toBe('OPEN');
    const seen = await t.gql(`{ depositComplaints(filter: { status: OPEN }) { id description village { code } agreement { id } } }`, {}, supervisor.token);
    expect(seen.data?.depositComplaints).toContainEqual({ id: c.data!.recordDepositComplaint.id, description: '村里要求交500元押金', village: { code: SEED.villageWangji }, agreement: { id: a.id } });
    const byOfficial = await t.gql(`mutation { resolveDepositComplaint(id: "${c.data!.recordDepositComplaint.id}", resolution: "已退还") { id } }`, {}, official.token);
    expect(code(byOfficial)).toBe('FORBIDDEN');
    const resolved = await t.gql(`mutation { resolveDepositComplaint(id: "${c.data!.recordDepositComplaint.id}", resolution: "已退还并批评教育") { status resolution } }`, {}, supervisor.token);
    expect(resolved.data?.resolveDepositComplaint).toEqual({ status: 'RESOLVED', resolution: '已退还并批评教育' });
    const history = (await t.gql(AGREEMENT, { id: a.id }, official.token)).data!.agreement.history.map((h: any) => h.action);
    expect(history.slice(-2)).toEqual(['RECORD_COMPLAINT', 'RESOLVE_COMPLAINT']);
  });

  it('expires agreements whose term is over, and only those', async () => {
    const { expireAgreements } = await import('../../src/agreements/service');
    const { systemCaller } = await import('../../src/policy/actor');
    const over = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, over.id, { validFrom: '2025-01-01', validTo: '2025-12-31' });
    const running = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const b = await activeAgreement(t, official.token, running.id, { validFrom: '2025-01-01', validTo: t.day(365) });
    expect(await expireAgreements(t.server.deps, systemCaller('test'), '2026-11-23')).toBeGreaterThanOrEqual(1);
    expect((await t.gql(AGREEMENT, { id: a.id }, official.token)).data!.agreement).toMatchObject({ status: 'ENDED', endReason: 'EXPIRED' });
    expect((await t.gql(AGREEMENT, { id: b.id }, official.token)).data!.agreement.status).toBe('ACTIVE');
    const history = (await t.gql(AGREEMENT, { id: a.id }, official.token)).data!.agreement.history;
    expect(history[history.length - 1]).toMatchObject({ action: 'END', actorId: 'test' });
  });

  it('dates the consents of a signature by the county’s calendar, not UTC', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id);
    await sign(t, official.token, id, 'OFFICIAL');
    // 17:30 UTC on 1 March is 01:30 on 2 March in Suining (TIME_ZONE Asia/Shanghai).
    const r = await t.gql(`mutation { signAgreement(id: "${id}", input: { side: PERSON, method: PHONE, signedAt: "2026-03-01T17:30:00Z" }) { person { consents { kind givenOn } } } }`, {}, official.token);
    expect(r.data?.signAgreement.person.consents).toEqual([{ kind: 'AGREEMENT', givenOn: '2026-03-02' }]);
  });

  it('bounds the length of scan references and end notes', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id);
    const long = await t.gql(`mutation { signAgreement(id: "${id}", input: { side: OFFICIAL, method: PAPER, scanRef: "${'s'.repeat(101)}" }) { id } }`, {}, official.token);
    expect(long.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scanRef' });
    const note = await t.gql(`mutation { endAgreement(id: "${id}", reason: DISCARDED, note: "${'n'.repeat(1001)}") { id } }`, {}, official.token);
    expect(note.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'note' });
    expect((await t.gql(`mutation { endAgreement(id: "${id}", reason: DISCARDED, note: "未签") { status } }`, {}, official.token)).data?.endAgreement.status).toBe('ENDED');
  });

  it('shows the official who signs, and their account only to those who may read users', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id);
    const Q = `query($id: ID!) { agreement(id: $id) { official { id displayName user { username role } } } }`;
    for (const token of [official.token, supervisor.token]) {
      expect((await t.gql(Q, { id }, token)).data?.agreement.official).toMatchObject({ id: official.id, displayName: expect.any(String), user: null });
    }
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    expect((await t.gql(Q, { id }, admin.token)).data?.agreement.official.user).toMatchObject({ role: 'VILLAGE_OFFICIAL' });
  });

  it('lets only the named official, or an administrator, record the official signature', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const id = await draft(p.id);
    const colleague = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const SIGN_OFFICIAL = `mutation($id: ID!) { signAgreement(id: $id, input: { side: OFFICIAL, method: PHONE }) { officialSignature { method } } }`;
    expect(code(await t.gql(SIGN_OFFICIAL, { id }, colleague.token))).toBe('CONFLICT');
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    expect((await t.gql(SIGN_OFFICIAL, { id }, admin.token)).data?.signAgreement.officialSignature).toEqual({ method: 'PHONE' });
    // A colleague who makes a new version signs it as its official.
    const a = await activeAgreement(t, official.token, (await register(t, official.token, { homeVillageCode: SEED.villageWangji })).id);
    const v2 = await t.gql(`mutation { amendAgreement(id: "${a.id}", input: { cadence: MONTHLY }) { official { id } } }`, {}, colleague.token);
    expect(v2.data?.amendAgreement.official.id).toBe(colleague.id);
  });

  it('keeps the history append-only: no update, delete or truncate', async () => {
    const db = t.server.deps.db;
    for (const statement of [sql`update agreement_events set action = 'EDITED'`, sql`delete from agreement_events`, sql`truncate agreement_events`]) {
      await expect(db.execute(statement)).rejects.toMatchObject({ cause: { message: 'agreement_events is append-only' } });
    }
  });

  it('lists agreements by person, status, village and town within scope, paging with a cursor', async () => {
    const other = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
    const p = await register(t, other.token, { homeVillageCode: SEED.villageLiyushan });
    const active = await activeAgreement(t, other.token, p.id, { validFrom: '2026-01-01' });
    const q = await register(t, other.token, { homeVillageCode: SEED.villageLiyushan });
    const drafted = await t.gql(CREATE, { input: { personId: q.id, cadence: 'MONTHLY', validFrom: '2026-02-01' } }, other.token);
    const Q = `query($f: AgreementFilter, $first: Int, $after: String) { agreements(filter: $f, first: $first, after: $after) {
      edges { node { id status person { id } } } pageInfo { hasNextPage endCursor } } }`;
    const ids = async (f: Record<string, unknown>, token = other.token) => {
      const r = await t.gql(Q, { f }, token);
      expect(r.errors).toBeUndefined();
      return (r.data!.agreements.edges as any[]).map((e) => e.node.id).sort();
    };
    expect(await ids({ villageCode: SEED.villageLiyushan })).toEqual([active.id, drafted.data!.createAgreement.id].sort());
    expect(await ids({ villageCode: SEED.villageLiyushan, status: 'ACTIVE' })).toEqual([active.id]);
    expect(await ids({ personId: q.id })).toEqual([drafted.data!.createAgreement.id]);
    expect(await ids({ townCode: SEED.townWangji, status: 'DRAFT' }, supervisor.token)).toContain(drafted.data!.createAgreement.id);
    // Paging: one at a time, the two pages together are the whole list, no repeats.
    const first = await t.gql(Q, { f: { villageCode: SEED.villageLiyushan }, first: 1 }, other.token);
    expect(first.data!.agreements.pageInfo.hasNextPage).toBe(true);
    const second = await t.gql(Q, { f: { villageCode: SEED.villageLiyushan }, first: 1, after: first.data!.agreements.pageInfo.endCursor }, other.token);
    const paged = [first, second].map((r) => r.data!.agreements.edges[0].node.id);
    expect(paged.sort()).toEqual([active.id, drafted.data!.createAgreement.id].sort());
    expect(second.data!.agreements.pageInfo.hasNextPage).toBe(false);
    // Another village's official sees none of them, asking by person or by village.
    expect(await ids({ personId: q.id }, official.token)).toEqual([]);
    expect(code(await t.gql(Q, { f: { villageCode: SEED.villageLiyushan } }, official.token))).toBe('FORBIDDEN');
  });

  it('has no field for money in its schema', async () => {
    const r = await t.gql(`{ __type(name: "Agreement") { fields { name } } }`);
    const names: string[] = r.data!.__type.fields.map((f: any) => f.name);
    expect(names.filter((n) => /deposit(?!Complaints)|amount|money|fee|guarantee/i.test(n))).toEqual([]);
  });
});
