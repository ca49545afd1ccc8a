import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, todayIn } from '../../src/calendar';
import { activeAgreement, nextIdNumber, nextPhone, register, REGISTER } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string; id: string };
let supervisor: { token: string };
let admin: { token: string };
beforeAll(async () => {
  t = await startTestServer();
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const PERSON = `query($id: ID!) { person(id: $id) { id name idNumber phone status currentPlace { countyCode town area } employer
  homeVillage { code name } dependants { relation ageBand caregiverPhone serviceNeeds } } }`;

describe('registering people', () => {
  it('stores a person with a validated ID, normalised phone, place and dependants', async () => {
    const idNumber = nextIdNumber();
    const r = await t.gql(
      REGISTER,
      {
        input: {
          name: ' 李 娜 ',
          idNumber: idNumber.toLowerCase(),
          homeVillageCode: SEED.villageWangji,
          phone: '+86 138-0013-8000',
          currentPlace: { countyCode: '320506', town: '郭巷街道', area: '吴中经济开发区' },
          employer: '苏州某电子厂',
          departureDate: '2026-03-01',
          dependants: [{ relation: 'CHILD', ageBand: 'AGE_6_11', caregiverName: '李奶奶', caregiverPhone: '13912345678', serviceNeeds: ['SCHOOL_PLACE'] }],
        },
      },
      official.token,
    );
    expect(r.errors).toBeUndefined();
    const id = r.data!.registerPerson.id;
    const p = (await t.gql(PERSON, { id }, official.token)).data!.person;
    expect(p).toMatchObject({
      name: '李 娜',
      idNumber: `${idNumber.slice(0, 6)}********${idNumber.slice(14)}`,
      phone: '13800138000',
      status: 'AWAY',
      currentPlace: { countyCode: '320506', town: '郭巷街道', area: '吴中经济开发区' },
      homeVillage: { code: SEED.villageWangji, name: '王集村' },
      dependants: [{ relation: 'CHILD', ageBand: 'AGE_6_11', caregiverPhone: '13912345678', serviceNeeds: ['SCHOOL_PLACE'] }],
    });
  });

  it('refuses bad ID numbers, phones, places and villages, naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ idNumber: '320324199001010010' }, 'idNumber'],
      [{ idNumber: '320324199002300019' }, 'idNumber'],
      [{ phone: '12345' }, 'phone'],
      [{ currentPlace: { countyCode: '3205' } }, 'currentPlace.countyCode'],
      [{ name: '' }, 'name'],
      [{ dependants: [{ relation: 'CHILD', ageBand: 'AGE_6_11', caregiverPhone: 'x' }] }, 'dependants.0.caregiverPhone'],
    ];
    for (const [input, field] of cases) {
      const r = await t.gql(REGISTER, { input: { name: '王五', idNumber: nextIdNumber(), homeVillageCode: SEED.villageWangji, ...input } }, official.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    // A town code where a village is expected (asked by an admin, whose scope covers both).
    const town = await t.gql(REGISTER, { input: { name: '王五', idNumber: nextIdNumber(), homeVillageCode: SEED.townWangji } }, admin.token);
    expect(town.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'homeVillageCode' });
  });

  it('answers CONFLICT naming the existing record for a known ID number, and stores nothing new', async () => {
    const idNumber = nextIdNumber();
    const first = await register(t, official.token, { idNumber, homeVillageCode: SEED.villageWangji });
    const again = await t.gql(REGISTER, { input: { name: '另一个', idNumber, homeVillageCode: SEED.villageWangji } }, official.token);
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', existingPersonId: first.id, existingVillageCode: SEED.villageWangji });
    const list = await t.gql(`{ people(filter: { namePrefix: "另一个" }) { totalCount } }`, {}, official.token);
    expect(list.data?.people.totalCount).toBe(0);
  });

  it('names the existing record only to a caller who may see it, and audits every duplicate attempt', async () => {
    const idNumber = nextIdNumber();
    const first = await register(t, official.token, { idNumber, homeVillageCode: SEED.villageWangji });
    const elsewhere = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageShuanggou });
    const again = await t.gql(REGISTER, { input: { name: '外村', idNumber, homeVillageCode: SEED.villageShuanggou } }, elsewhere.token);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(again.errors?.[0]?.extensions).not.toHaveProperty('existingPersonId');
    expect(again.errors?.[0]?.extensions).not.toHaveProperty('existingVillageCode');
    expect(JSON.stringify(again.errors)).not.toContain(SEED.villageWangji);
    const audit = await t.gql(`{ auditLog(filter: { action: "person.register", outcome: DENIED, targetId: "${first.id}" }) { edges { node { actorId details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges).toEqual([
      { node: { actorId: elsewhere.id, details: { reason: 'DUPLICATE_ID_NUMBER', village: SEED.villageShuanggou, disclosed: false } } },
    ]);
  });
});

describe('masking and reveal', () => {
  it('masks phones for a supervisor and shows them to the official; ID numbers are masked for everyone', async () => {
    const phone = nextPhone();
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, phone });
    const bySupervisor = (await t.gql(PERSON, { id: p.id }, supervisor.token)).data!.person;
    expect(bySupervisor.phone).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
    expect(bySupervisor.idNumber).toMatch(/^320324\*{8}\d{3}[\dX]$/);
    expect((await t.gql(PERSON, { id: p.id }, official.token)).data!.person.phone).toBe(phone);
    expect((await t.gql(PERSON, { id: p.id }, admin.token)).data!.person.phone).toBe(`${phone.slice(0, 3)}****${phone.slice(7)}`);
  });

  it('reveals the full ID number to the official with a reason, and audits the read and its reason', async () => {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, idNumber });
    const noReason = await t.gql(`mutation { revealIdNumber(personId: "${p.id}", reason: "") }`, {}, official.token);
    expect(noReason.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const r = await t.gql(`mutation { revealIdNumber(personId: "${p.id}", reason: "办理社保转移") }`, {}, official.token);
    expect(r.data?.revealIdNumber).toBe(idNumber);
    const byAdmin = await t.gql(`mutation { revealIdNumber(personId: "${p.id}", reason: "核对身份") }`, {}, admin.token);
    expect(byAdmin.data?.revealIdNumber).toBe(idNumber);
    const audit = await t.gql(`{ auditLog(filter: { action: "person.revealId", targetId: "${p.id}" }) { edges { node { actorId details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges.map((e: any) => e.node.details.reason).sort()).toEqual(['办理社保转移', '核对身份'].sort());
    expect(audit.data?.auditLog.edges.some((e: any) => e.node.actorId === official.id)).toBe(true);
    const bySupervisor = await t.gql(`mutation { revealIdNumber(personId: "${p.id}", reasonCode: IDENTITY_CHECK) }`, {}, supervisor.token);
    expect(bySupervisor.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('takes the reveal reason from a fixed list, or as a text of 4 to 200 characters', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const reveal = (args: string) => t.gql(`mutation { revealIdNumber(personId: "${p.id}", ${args}) }`, {}, official.token);
    for (const bad of ['reason: "看看"', `reason: "${'很'.repeat(201)}"`, 'reasonCode: OTHER', 'reasonCode: OTHER, reason: "  "', 'reasonCode: LEGAL_AID, reason: "' + 'x'.repeat(201) + '"']) {
      expect((await reveal(bad)).errors?.[0]?.extensions, bad).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    }
    expect((await reveal('reasonCode: SOCIAL_INSURANCE_TRANSFER')).errors).toBeUndefined();
    expect((await reveal('reasonCode: OTHER, reason: "法院来函核对"')).errors).toBeUndefined();
    const audit = await t.gql(`{ auditLog(filter: { action: "person.revealId", targetId: "${p.id}" }) { edges { node { details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges.map((e: any) => e.node.details)).toEqual([
      { reasonCode: 'OTHER', reason: '法院来函核对' },
      { reasonCode: 'SOCIAL_INSURANCE_TRANSFER', reason: null },
    ]);
  });

  it('never stores the plain ID number', async () => {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, idNumber });
    const { people } = await import('../../src/people/tables');
    const { eq } = await import('drizzle-orm');
    const [row] = await t.server.deps.db.select().from(people).where(eq(people.id, p.id));
    expect(JSON.stringify(row)).not.toContain(idNumber);
    expect(JSON.stringify(row)).not.toContain(idNumber.slice(6, 14));
    expect(t.server.deps.secrets.decrypt(row!.idNumberEnc!)).toBe(idNumber);
  });
});

describe('listing people', () => {
  it('pages by name within the caller’s jurisdiction, filters by status, destination and name prefix', async () => {
    const other = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
    await register(t, other.token, { name: '赵一', homeVillageCode: SEED.villageLiyushan, currentPlace: { countyCode: '320214' } });
    await register(t, other.token, { name: '赵二', homeVillageCode: SEED.villageLiyushan, currentPlace: { countyCode: '320412' } });
    await register(t, other.token, { name: '钱三', homeVillageCode: SEED.villageLiyushan, currentPlace: { countyCode: '320214' } });
    const Q = `query($f: PeopleFilter, $first: Int, $after: String) { people(filter: $f, first: $first, after: $after) {
      totalCount edges { node { name homeVillage { code } } } pageInfo { hasNextPage endCursor } } }`;
    const mine = await t.gql(Q, { f: {}, first: 2 }, other.token);
    expect(mine.data?.people.totalCount).toBe(3);
    // Code-point order: 赵 (U+8D75) sorts before 钱 (U+94B1).
    expect(mine.data?.people.edges.map((e: any) => e.node.name)).toEqual(['赵一', '赵二']);
    const next = await t.gql(Q, { f: {}, first: 2, after: mine.data!.people.pageInfo.endCursor }, other.token);
    expect(next.data?.people.edges).toHaveLength(1);
    const all = [...mine.data!.people.edges, ...next.data!.people.edges].map((e: any) => e.node.name);
    expect(all.sort()).toEqual(['赵一', '赵二', '钱三'].sort());
    expect(next.data?.people.pageInfo.hasNextPage).toBe(false);
    const byDest = await t.gql(Q, { f: { destinationCountyCode: '320214' } }, other.token);
    expect(byDest.data?.people.totalCount).toBe(2);
    const byPrefix = await t.gql(Q, { f: { namePrefix: '赵' } }, other.token);
    expect(byPrefix.data?.people.edges.map((e: any) => e.node.name).sort()).toEqual(['赵一', '赵二']);
    const town = await t.gql(Q, { f: { villageCode: SEED.villageLiyushan } }, supervisor.token);
    expect(town.data?.people.totalCount).toBe(3);
  });

  it('filters by whether the active agreement’s report is overdue today', async () => {
    const today = todayIn(t.config.timeZone);
    const late = await register(t, official.token, { name: '过滤逾期', homeVillageCode: SEED.villageWangji });
    // A quarterly agreement from 200 days ago owes at least one quarter whose report was due more than a month ago.
    await activeAgreement(t, official.token, late.id, { validFrom: addDays(today, -200) });
    const fresh = await register(t, official.token, { name: '过滤按时', homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, fresh.id, { validFrom: today });
    await register(t, official.token, { name: '过滤无约', homeVillageCode: SEED.villageWangji }); // no agreement: never overdue
    const Q = `query($f: PeopleFilter) { people(filter: $f) { totalCount edges { node { name } } } }`;
    const names = async (overdue: boolean) =>
      ((await t.gql(Q, { f: { namePrefix: '过滤', overdue } }, official.token)).data!.people.edges as any[]).map((e) => e.node.name).sort();
    expect(await names(true)).toEqual(['过滤逾期']);
    expect(await names(false)).toEqual(['过滤按时', '过滤无约'].sort());
  });

  // The page statement is built once per shape and reused with other values: it must take each caller's own.
  it('answers each caller from their own jurisdiction when one page statement serves them all', async () => {
    const here = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const there = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageShuanggou });
    await register(t, here.token, { name: '同形甲', homeVillageCode: SEED.villageWangji });
    await register(t, there.token, { name: '同形乙', homeVillageCode: SEED.villageShuanggou });
    await register(t, there.token, { name: '同形丙', homeVillageCode: SEED.villageShuanggou });
    const Q = `query($f: PeopleFilter, $after: String) { people(filter: $f, first: 1, after: $after) {
      edges { node { name homeVillage { code } activeAgreement { cadence } lastReport { period } } } pageInfo { endCursor } } }`;
    const page = async (token: string, f: object, after?: string) => {
      const r = await t.gql(Q, { f, after }, token);
      expect(r.errors).toBeUndefined();
      return r.data!.people as { edges: { node: { name: string; homeVillage: { code: string } } }[]; pageInfo: { endCursor: string | null } };
    };
    const names = async (token: string, f: object) => {
      const out: string[] = [];
      for (let after: string | undefined; ; ) {
        const p = await page(token, f, after);
        if (p.edges.length === 0) return out;
        out.push(...p.edges.map((e) => `${e.node.name} ${e.node.homeVillage.code}`));
        after = p.pageInfo.endCursor!;
      }
    };
    for (let round = 0; round < 2; round++) {
      expect(await names(here.token, { namePrefix: '同形' })).toEqual([`同形甲 ${SEED.villageWangji}`]);
      expect(await names(there.token, { namePrefix: '同形' })).toEqual([`同形丙 ${SEED.villageShuanggou}`, `同形乙 ${SEED.villageShuanggou}`]);
      expect(await names(admin.token, { namePrefix: '同形', villageCode: SEED.villageShuanggou })).toEqual([`同形丙 ${SEED.villageShuanggou}`, `同形乙 ${SEED.villageShuanggou}`]);
      expect(await names(admin.token, { namePrefix: '同形', villageCode: SEED.villageWangji })).toEqual([`同形甲 ${SEED.villageWangji}`]);
      expect(await names(supervisor.token, { namePrefix: '同形' })).toEqual([`同形甲 ${SEED.villageWangji}`]);
    }
    const outside = await t.gql(Q, { f: { villageCode: SEED.villageShuanggou } }, here.token);
    expect(outside.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('refuses a malformed cursor as bad input', async () => {
    const r = await t.gql(`{ people(after: "bm90IGpzb24") { totalCount } }`, {}, official.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  });
});

describe('updating people', () => {
  it('changes contact details, records the change with its source, and audits it', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const r = await t.gql(
      `mutation($id: ID!) { updatePerson(id: $id, input: { phone: "13700001111", employer: "无锡某厂", currentPlace: { countyCode: "320214" } }) { phone employer currentPlace { countyCode } } }`,
      { id: p.id },
      official.token,
    );
    expect(r.data?.updatePerson).toEqual({ phone: '13700001111', employer: '无锡某厂', currentPlace: { countyCode: '320214' } });
    const audit = await t.gql(`{ auditLog(filter: { action: "person.update", targetId: "${p.id}" }) { edges { node { details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges[0].node.details).toMatchObject({ source: 'OFFICIAL_EDIT', fields: expect.arrayContaining(['phone', 'employer', 'currentCountyCode']) });
  });

  it('adds, edits and removes a dependant', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const add = await t.gql(`mutation($id: ID!) { addDependant(personId: $id, input: { relation: GRANDPARENT, ageBand: AGE_80_PLUS, serviceNeeds: [ELDER_CARE] }) { id ageBand } }`, { id: p.id }, official.token);
    const did = add.data!.addDependant.id;
    const upd = await t.gql(`mutation($id: ID!) { updateDependant(id: $id, input: { relation: GRANDPARENT, ageBand: AGE_70_79 }) { ageBand serviceNeeds } }`, { id: did }, official.token);
    expect(upd.data?.updateDependant).toEqual({ ageBand: 'AGE_70_79', serviceNeeds: [] });
    expect((await t.gql(`mutation($id: ID!) { removeDependant(id: $id) }`, { id: did }, official.token)).data?.removeDependant).toBe(true);
    expect((await t.gql(PERSON, { id: p.id }, official.token)).data?.person.dependants).toEqual([]);
  });
});
