import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { associationMembers } from '../../src/db/schema';
import { eraseExpiredRecords } from '../../src/people/erasure';
import { people } from '../../src/people/tables';
import { systemCaller } from '../../src/policy/actor';
import { activeAgreement, nextIdNumber, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let official: { token: string; id: string };
let otherOfficial: { token: string };
let staffA: { token: string; id: string };
let staffB: { token: string };
const assoc: Record<'a' | 'b', string> = { a: '', b: '' };

const CREATE_ASSOC = `mutation($input: AssociationInput!) { createAssociation(input: $input) { id name status } }`;
const ADD = `mutation($a: ID!, $input: AddMemberInput!) { addAssociationMember(associationId: $a, input: $input) { id name idNumber role reportState } }`;
const MEMBERS = `query($a: ID!, $after: String) { association(id: $a) { members(first: 2, after: $after) { edges { node { id name idNumber phone employer reportState homeVillage { code } } } pageInfo { hasNextPage endCursor } } } }`;
const UPDATE = `mutation($m: ID!, $input: MemberContactInput!) { updateAssociationMember(memberId: $m, input: $input) { id phone employer currentPlace { countyCode town } } }`;
const BULK = `mutation($items: [MemberUpdateInput!]!) { updateAssociationMembers(items: $items) { memberId ok changedFields error { code field message } } }`;
const FEED = `query($after: String, $first: Int) { recentChanges(first: $first, after: $after) { edges { node { person { id } fields source actorRole actor { id } } } pageInfo { hasNextPage endCursor } } }`;

beforeAll(async () => {
  t = await startTestServer({ RETENTION_DAYS_AFTER_WITHDRAWAL: '0' });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  otherOfficial = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
  assoc.a = (await t.gql(CREATE_ASSOC, { input: { name: '苏州睢宁商会流动人口服务会', hostCityCode: '320500', hostChamber: '苏州市睢宁商会', contactName: '刘会长' } }, admin.token)).data!.createAssociation.id;
  assoc.b = (await t.gql(CREATE_ASSOC, { input: { name: '无锡睢宁老乡会', hostCityCode: '320214' } }, admin.token)).data!.createAssociation.id;
  staffA = await t.user({ role: 'ASSOCIATION_STAFF', scope: assoc.a });
  staffB = await t.user({ role: 'ASSOCIATION_STAFF', scope: assoc.b });
});
afterAll(() => t.close());

async function member(token: string, associationId: string, extra: Record<string, unknown> = {}) {
  const idNumber = nextIdNumber();
  const p = await register(t, official.token, { name: '陈静', idNumber, homeVillageCode: SEED.villageWangji, employer: '旧厂', ...extra });
  const r = await t.gql(ADD, { a: associationId, input: { idNumber, name: '陈静', consentMethod: 'IN_PERSON' } }, token);
  if (!r.data?.addAssociationMember) throw new Error(JSON.stringify(r.errors));
  return { personId: p.id, memberId: r.data.addAssociationMember.id as string, idNumber };
}

describe('associations and their staff', () => {
  it('checks that a staff account names an existing association', async () => {
    const create = `mutation($s: String) { createUser(input: { username: "staff.x", displayName: "x", password: "long enough pw", role: ASSOCIATION_STAFF, scope: $s }) { scope } }`;
    for (const s of ['00000000-0000-4000-8000-000000000000', 'not-an-id']) {
      expect((await t.gql(create, { s }, admin.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });
    }
    expect((await t.gql(create, { s: assoc.a }, admin.token)).data?.createUser.scope).toBe(assoc.a);
    const bad = await t.gql(CREATE_ASSOC, { input: { name: 'x', hostCityCode: '320000' } }, admin.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'hostCityCode' });
    expect((await t.gql(CREATE_ASSOC, { input: { name: 'x', hostCityCode: '320500' } }, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('adds members by ID number and matching name only, records the consent, and refuses duplicates', async () => {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: '王芳', idNumber, homeVillageCode: SEED.villageWangji });
    const wrongName = await t.gql(ADD, { a: assoc.a, input: { idNumber, name: '王方', consentMethod: 'PAPER' } }, staffA.token);
    expect(wrongName.errors?.[0]?.extensions).toEqual({ code: 'NOT_FOUND', field: 'idNumber' });
    const unknown = await t.gql(ADD, { a: assoc.a, input: { idNumber: nextIdNumber(), name: '王芳', consentMethod: 'PAPER' } }, staffA.token);
    expect(unknown.errors?.[0]).toEqual(wrongName.errors?.[0]);
    // A person back home, or (for an official) a person of another village, gets the very same answer.
    const returnedId = nextIdNumber();
    const returned = await register(t, official.token, { name: '王芳', idNumber: returnedId, homeVillageCode: SEED.villageWangji });
    await t.gql(`mutation { markReturned(personId: "${returned.id}", returnedOn: "2026-11-01") { status } }`, {}, official.token);
    expect((await t.gql(ADD, { a: assoc.a, input: { idNumber: returnedId, name: '王芳', consentMethod: 'PAPER' } }, staffA.token)).errors?.[0]).toEqual(wrongName.errors?.[0]);
    expect((await t.gql(ADD, { a: assoc.a, input: { idNumber, name: '王芳', consentMethod: 'PAPER' } }, otherOfficial.token)).errors?.[0]).toEqual(wrongName.errors?.[0]);
    // Each miss is audited against the association, without the number or name tried.
    const misses = await t.gql(`{ auditLog(filter: { action: "member.add", outcome: FAILURE, targetId: "${assoc.a}" }) { edges { node { actorId details } } } }`, {}, admin.token);
    expect(misses.data?.auditLog.edges.map((e: any) => e.node.details)).toEqual(Array(4).fill({ reason: 'NO_MATCH' }));
    // Staff add only to their own association.
    expect((await t.gql(ADD, { a: assoc.a, input: { idNumber, name: '王芳', consentMethod: 'PAPER' } }, staffB.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const ok = await t.gql(ADD, { a: assoc.a, input: { idNumber, name: '王芳', role: 'VOLUNTEER', consentMethod: 'PAPER', consentGivenOn: '2026-11-01' } }, staffA.token);
    expect(ok.data?.addAssociationMember).toMatchObject({ name: '王芳', role: 'VOLUNTEER', idNumber: `${idNumber.slice(0, 6)}********${idNumber.slice(14)}` });
    const again = await t.gql(ADD, { a: assoc.a, input: { idNumber, name: '王芳', consentMethod: 'PAPER' } }, staffA.token);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    const consents = await t.gql(`{ person(id: "${p.id}") { consents { kind scope method givenOn withdrawnAt } } }`, {}, official.token);
    expect(consents.data?.person.consents).toContainEqual({ kind: 'ASSOCIATION_MEMBERSHIP', scope: assoc.a, method: 'PAPER', givenOn: '2026-11-01', withdrawnAt: null });
  });

  it('shows staff only their own members, masked, with nothing but the report state', async () => {
    const m1 = await member(staffA.token, assoc.a, { phone: '13700001111' });
    await activeAgreement(t, official.token, m1.personId, { validFrom: '2026-01-05' });
    await member(staffA.token, assoc.a);
    await member(staffA.token, assoc.a);
    const inB = await member(staffB.token, assoc.b);
    const page1 = (await t.gql(MEMBERS, { a: assoc.a }, staffA.token)).data!.association.members;
    expect(page1.edges).toHaveLength(2);
    const page2 = (await t.gql(MEMBERS, { a: assoc.a, after: page1.pageInfo.endCursor }, staffA.token)).data!.association.members;
    const all = [...page1.edges, ...page2.edges].map((e: any) => e.node);
    expect(all.map((n: any) => n.id)).not.toContain(inB.memberId);
    const mine = all.find((n: any) => n.id === m1.memberId);
    expect(mine).toMatchObject({ idNumber: `${m1.idNumber.slice(0, 6)}********${m1.idNumber.slice(14)}`, phone: '137****1111', reportState: 'OVERDUE', homeVillage: { code: SEED.villageWangji } });
    // The restricted type has no agreement or report fields at all.
    const probe = await t.gql(`{ associationMember(id: "${m1.memberId}") { activeAgreement { id } } }`, {}, staffA.token);
    expect(probe.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    // Other associations' members, the people registry and the other association's list are closed to staff.
    expect((await t.gql(`{ associationMember(id: "${inB.memberId}") { id } }`, {}, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(MEMBERS, { a: assoc.b }, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(`{ person(id: "${m1.personId}") { id } }`, {}, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(`{ people { totalCount } }`, {}, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    // The official of another village sees none of these members; the home official sees the full phone.
    const other = (await t.gql(MEMBERS, { a: assoc.a }, otherOfficial.token)).data!.association.members.edges;
    expect(other).toEqual([]);
    const home = (await t.gql(`{ associationMember(id: "${m1.memberId}") { phone } }`, {}, official.token)).data!.associationMember;
    expect(home.phone).toBe('13700001111');
  });

  it('applies a staff update to the person, audits it with the staff member as actor, and shows it in the official’s feed', async () => {
    const m = await member(staffA.token, assoc.a);
    const r = await t.gql(UPDATE, { m: m.memberId, input: { phone: '+86 139-0000-2222', employer: '苏州新厂', currentPlace: { countyCode: '320506', town: '郭巷街道' } } }, staffA.token);
    expect(r.data?.updateAssociationMember).toMatchObject({ phone: '139****2222', employer: '苏州新厂', currentPlace: { countyCode: '320506', town: '郭巷街道' } });
    const person = (await t.gql(`{ person(id: "${m.personId}") { phone employer } }`, {}, official.token)).data!.person;
    expect(person).toEqual({ phone: '13900002222', employer: '苏州新厂' });
    const audit = await t.gql(`{ auditLog(filter: { targetId: "${m.personId}", action: "person.update" }) { edges { node { actorId actorRole details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges[0].node).toEqual({ actorId: staffA.id, actorRole: 'ASSOCIATION_STAFF', details: { fields: ['phone', 'currentCountyCode', 'currentTown', 'employer'], source: `ASSOCIATION:${assoc.a}` } });
    const feed = (await t.gql(FEED, { first: 50 }, official.token)).data!.recentChanges.edges.map((e: any) => e.node);
    expect(feed).toContainEqual({ person: { id: m.personId }, fields: ['phone', 'currentCountyCode', 'currentTown', 'employer'], source: `ASSOCIATION:${assoc.a}`, actorRole: 'ASSOCIATION_STAFF', actor: { id: staffA.id } });
    // Staff of another association cannot touch this member.
    const b = await t.gql(UPDATE, { m: m.memberId, input: { employer: '别处' } }, staffB.token);
    expect(b.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('keeps the official’s own edits out of their feed and pages through the rest, newest first', async () => {
    const m = await member(staffA.token, assoc.a);
    await t.gql(`mutation { updatePerson(id: "${m.personId}", input: { occupation: "电工" }) { id } }`, {}, official.token);
    for (const employer of ['甲厂', '乙厂', '丙厂']) await t.gql(UPDATE, { m: m.memberId, input: { employer } }, staffA.token);
    const first = (await t.gql(FEED, { first: 2 }, official.token)).data!.recentChanges;
    expect(first.edges.map((e: any) => e.node.actorRole)).toEqual(['ASSOCIATION_STAFF', 'ASSOCIATION_STAFF']);
    const next = (await t.gql(FEED, { first: 50, after: first.pageInfo.endCursor }, official.token)).data!.recentChanges;
    const all = [...first.edges, ...next.edges].map((e: any) => e.node);
    expect(all.filter((n: any) => n.person.id === m.personId).map((n: any) => n.fields)).toEqual([['employer'], ['employer'], ['employer']]);
    expect(all.some((n: any) => n.actor?.id === official.id)).toBe(false);
    expect((await t.gql(FEED, { first: 5 }, otherOfficial.token)).data!.recentChanges.edges).toEqual([]);
    expect((await t.gql(FEED, { first: 5 }, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('shows town supervisors the members and the staff changes of their own town only, from an index on town and time', async () => {
    const supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
    const elsewhere = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou });
    const m = await member(staffA.token, assoc.a);
    await t.gql(UPDATE, { m: m.memberId, input: { employer: '镇里看得到' } }, staffA.token);
    const ALL = `query($a: ID!) { association(id: $a) { members(first: 200) { edges { node { id } } } } }`;
    const ids = async (token: string) => (await t.gql(ALL, { a: assoc.a }, token)).data!.association.members.edges.map((e: any) => e.node.id);
    expect(await ids(supervisor.token)).toContain(m.memberId);
    expect(await ids(elsewhere.token)).toEqual([]);
    expect((await t.gql(`{ associationMember(id: "${m.memberId}") { name } }`, {}, elsewhere.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const feed = (await t.gql(FEED, { first: 1 }, supervisor.token)).data!.recentChanges.edges.map((e: any) => e.node);
    expect(feed).toEqual([{ person: { id: m.personId }, fields: ['employer'], source: `ASSOCIATION:${assoc.a}`, actorRole: 'ASSOCIATION_STAFF', actor: { id: staffA.id } }]);
    expect((await t.gql(FEED, { first: 50 }, elsewhere.token)).data!.recentChanges.edges).toEqual([]);
    const asked = await t.gql(`{ recentChanges(townCode: "${SEED.townWangji}") { edges { node { id } } } }`, {}, elsewhere.token);
    expect(asked.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    // The feed filters on the village or the town and pages by id (time): each has an index that serves it in order.
    const plan = async (column: string, code: string) =>
      t.server.deps.db.transaction(async (tx) => {
        await tx.execute(sql.raw('set local enable_seqscan = off'));
        const rows = await tx.execute(sql.raw(`explain select id from person_changes where ${column} = '${code}' order by id desc limit 51`));
        return JSON.stringify(rows);
      });
    expect(await plan('home_town_code', SEED.townWangji)).toContain('person_changes_town_idx');
    expect(await plan('home_village_code', SEED.villageWangji)).toContain('person_changes_village_idx');
  });

  it('applies a bulk update item by item: good ones go through, bad ones fail with a reason and change nothing', async () => {
    const good1 = await member(staffA.token, assoc.a, { phone: '13700003333' });
    const good2 = await member(staffA.token, assoc.a);
    const badPhone = await member(staffA.token, assoc.a, { phone: '13700004444' });
    const foreign = await member(staffB.token, assoc.b, { phone: '13700005555' });
    const left = await member(staffA.token, assoc.a);
    await t.gql(`mutation { leaveAssociation(memberId: "${left.memberId}") { status } }`, {}, staffA.token);
    const r = await t.gql(
      BULK,
      {
        items: [
          { memberId: good1.memberId, phone: '13700003334', employer: '新单位' },
          { memberId: badPhone.memberId, phone: '123', employer: '不应写入' },
          { memberId: foreign.memberId, phone: '13700005556' },
          { memberId: good2.memberId, currentPlace: { countyCode: '320412' } },
          { memberId: left.memberId, employer: 'x' },
          { memberId: '00000000-0000-4000-8000-000000000000', employer: 'x' },
        ],
      },
      staffA.token,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.updateAssociationMembers).toEqual([
      { memberId: good1.memberId, ok: true, changedFields: ['phone', 'employer'], error: null },
      { memberId: badPhone.memberId, ok: false, changedFields: [], error: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'items.1.phone' }) },
      { memberId: foreign.memberId, ok: false, changedFields: [], error: expect.objectContaining({ code: 'FORBIDDEN', field: null }) },
      { memberId: good2.memberId, ok: true, changedFields: ['currentCountyCode'], error: null },
      { memberId: left.memberId, ok: false, changedFields: [], error: expect.objectContaining({ code: 'FORBIDDEN' }) },
      { memberId: '00000000-0000-4000-8000-000000000000', ok: false, changedFields: [], error: expect.objectContaining({ code: 'NOT_FOUND' }) },
    ]);
    const [p1, pBad, pForeign] = await Promise.all(
      [good1, badPhone, foreign].map(async (m) => (await t.server.deps.db.select().from(people).where(eq(people.id, m.personId)))[0]!),
    );
    expect(p1).toMatchObject({ phone: '13700003334', employer: '新单位' });
    expect(pBad).toMatchObject({ phone: '13700004444', employer: '旧厂' });
    expect(pForeign).toMatchObject({ phone: '13700005555' });
    const denied = await t.gql(`{ auditLog(filter: { outcome: DENIED, targetId: "${foreign.memberId}" }) { edges { node { action actorId } } } }`, {}, admin.token);
    expect(denied.data?.auditLog.edges.map((e: any) => e.node)).toEqual([{ action: 'member.update', actorId: staffA.id }]);
    expect((await t.gql(BULK, { items: [{ memberId: good1.memberId, employer: 'x' }] }, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('lets staff report on behalf of their own members, answering with a receipt only', async () => {
    const REPORT = `mutation($m: ID!, $input: MemberReportInput!) { submitMemberReport(memberId: $m, input: $input) { id period accepted } }`;
    const m = await member(staffA.token, assoc.a);
    const r = await t.gql(REPORT, { m: m.memberId, input: { period: '2026-10', employer: '报告里的厂', note: '工作稳定' } }, staffA.token);
    expect(r.data?.submitMemberReport).toEqual({ id: expect.any(String), period: '2026-10', accepted: true });
    const stored = (await t.gql(`{ statusReports(personId: "${m.personId}") { edges { node { id arrival employer } } } }`, {}, official.token)).data!.statusReports.edges;
    expect(stored.map((e: any) => e.node)).toEqual([{ id: r.data!.submitMemberReport.id, arrival: 'ASSOCIATION', employer: '报告里的厂' }]);
    // A second report for the period: CONFLICT, without the first report's id for staff (the official gets it).
    const again = await t.gql(REPORT, { m: m.memberId, input: { period: '2026-10' } }, staffA.token);
    expect(again.errors?.[0]?.extensions).toEqual({ code: 'CONFLICT' });
    const officialAgain = await t.gql(SUBMIT, { input: { personId: m.personId, period: '2026-10', arrival: 'PHONE' } }, official.token);
    expect(officialAgain.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', existingReportId: r.data!.submitMemberReport.id });
    // Staff correct their own report with the receipt id.
    const amended = await t.gql(REPORT, { m: m.memberId, input: { period: '2026-10', employer: '更正的厂', amends: r.data!.submitMemberReport.id } }, staffA.token);
    expect(amended.data?.submitMemberReport).toMatchObject({ period: '2026-10', accepted: true });
    // The ordinary mutation answers with the full report, which staff may not read: refused before anything is stored.
    const direct = await t.gql(SUBMIT, { input: { personId: m.personId, period: '2026-11', arrival: 'ASSOCIATION' } }, staffA.token);
    expect(direct.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const periods = (await t.gql(`{ statusReports(personId: "${m.personId}") { edges { node { period } } } }`, {}, official.token)).data!.statusReports.edges;
    expect(periods.map((e: any) => e.node.period)).toEqual(['2026-10']);
    // Another association's staff cannot report for this member.
    expect((await t.gql(REPORT, { m: m.memberId, input: { period: '2026-09' } }, staffB.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const feed = (await t.gql(FEED, { first: 5 }, official.token)).data!.recentChanges.edges.map((e: any) => e.node);
    expect(feed[0]).toMatchObject({ person: { id: m.personId }, source: 'STATUS_REPORT:ASSOCIATION', actorRole: 'ASSOCIATION_STAFF', actor: { id: staffA.id } });
  });

  it('reads a membership the same way on every path that names one: member page, report on their behalf, rating invitation', async () => {
    const m = await member(staffA.token, assoc.a);
    const paths = {
      page: (id: string, token: string) => t.gql(`query($m: ID!) { associationMember(id: $m) { name } }`, { m: id }, token),
      report: (id: string, token: string) => t.gql(`mutation($m: ID!) { submitMemberReport(memberId: $m, input: { period: "2026-09" }) { id } }`, { m: id }, token),
      invite: (id: string, token: string) => t.gql(`mutation($m: ID!) { sendRatingInvitation(memberId: $m, period: "2026-Q3") { period } }`, { m: id }, token),
    };
    for (const [name, run] of Object.entries(paths)) {
      const malformed = (await run('not-a-membership', staffA.token)).errors?.[0]?.extensions;
      expect(malformed, name).toMatchObject({ code: 'BAD_USER_INPUT', field: name === 'page' ? 'id' : 'memberId' });
      expect((await run('00000000-0000-4000-8000-000000000000', staffA.token)).errors?.[0]?.extensions.code, name).toBe('NOT_FOUND');
      expect((await run(m.memberId, staffB.token)).errors?.[0]?.extensions.code, name).toBe('FORBIDDEN');
    }
    expect((await paths.page(m.memberId, staffA.token)).data?.associationMember.name).toBe('陈静');
  });

  it('takes a member away from staff the moment they come home', async () => {
    const m = await member(staffA.token, assoc.a);
    expect((await t.gql(`{ associationMember(id: "${m.memberId}") { name } }`, {}, staffA.token)).data?.associationMember.name).toBe('陈静');
    await t.gql(`mutation { markReturned(personId: "${m.personId}", returnedOn: "2026-11-01") { status } }`, {}, official.token);
    expect((await t.gql(`{ associationMember(id: "${m.memberId}") { name } }`, {}, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(UPDATE, { m: m.memberId, input: { employer: 'x' } }, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const listed = (await t.gql(`query($a: ID!) { association(id: $a) { members(first: 100) { edges { node { id } } } } }`, { a: assoc.a }, staffA.token)).data!.association.members.edges;
    expect(listed.map((e: any) => e.node.id)).not.toContain(m.memberId);
    const [row] = await t.server.deps.db.select().from(associationMembers).where(eq(associationMembers.id, m.memberId));
    expect(row).toMatchObject({ status: 'LEFT', leftReason: 'RETURNED_HOME' });
    expect((await t.gql(`{ associationMember(id: "${m.memberId}") { status } }`, {}, official.token)).data?.associationMember.status).toBe('LEFT');
  });

  it('ends the membership when the person leaves, withdraws the membership consent, or withdraws everything', async () => {
    const status = async (memberId: string) => (await t.gql(`{ associationMember(id: "${memberId}") { status } }`, {}, admin.token)).data!.associationMember.status;
    const leaving = await member(staffA.token, assoc.a);
    const l = await t.gql(`mutation { leaveAssociation(memberId: "${leaving.memberId}") { status leftAt } }`, {}, staffA.token);
    expect(l.data?.leaveAssociation.status).toBe('LEFT');
    const c = await t.gql(`{ person(id: "${leaving.personId}") { consents { kind withdrawnAt } } }`, {}, official.token);
    expect(c.data?.person.consents.find((x: any) => x.kind === 'ASSOCIATION_MEMBERSHIP').withdrawnAt).not.toBeNull();
    // A former member is no longer the association's to see or change; their official still sees the membership.
    expect((await t.gql(UPDATE, { m: leaving.memberId, input: { employer: 'x' } }, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(`{ associationMember(id: "${leaving.memberId}") { name } }`, {}, staffA.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(`{ associationMember(id: "${leaving.memberId}") { status } }`, {}, official.token)).data?.associationMember.status).toBe('LEFT');

    const narrow = await member(staffA.token, assoc.a);
    await t.gql(`mutation { withdrawConsent(personId: "${narrow.personId}", kind: ASSOCIATION_MEMBERSHIP, scope: "${assoc.a}") { kind } }`, {}, official.token);
    expect(await status(narrow.memberId)).toBe('LEFT');
    expect((await t.gql(MEMBERS, { a: assoc.a }, staffA.token)).data!.association.members.edges.map((e: any) => e.node.id)).not.toContain(narrow.memberId);

    const everything = await member(staffA.token, assoc.a);
    await t.gql(`mutation { withdrawConsent(personId: "${everything.personId}", kind: AGREEMENT) { kind } }`, {}, official.token);
    expect(await status(everything.memberId)).toBe('LEFT');
    // After the retention period the membership data is gone with the rest.
    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'), new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await t.server.deps.db.select().from(associationMembers).where(eq(associationMembers.personId, everything.personId))).toEqual([]);
  });
});
