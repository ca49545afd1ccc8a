import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let official: { token: string };
beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
});
afterAll(() => t.close());

const CREATE = `mutation($input: LiaisonContactInput!) { createLiaisonContact(input: $input) { id name organisation countyCode phone active } }`;

describe('liaison contacts', () => {
  it('are managed by county administrators and read by officials', async () => {
    const c = await t.gql(CREATE, { input: { name: '周敏', organisation: '吴中区流动人口服务中心', countyCode: '320506', phone: '0086 139-1234-5678', role: '联络员' } }, admin.token);
    expect(c.data?.createLiaisonContact).toMatchObject({ name: '周敏', countyCode: '320506', phone: '13912345678', active: true });
    const id = c.data!.createLiaisonContact.id;
    await t.gql(CREATE, { input: { name: '吴强', organisation: '新吴区服务站', countyCode: '320214' } }, admin.token);
    const list = await t.gql(`{ liaisonContacts(countyCode: "320506") { name } }`, {}, official.token);
    expect(list.data?.liaisonContacts).toEqual([{ name: '周敏' }]);
    const off = await t.gql(`mutation { updateLiaisonContact(id: "${id}", input: { active: false }) { active } }`, {}, admin.token);
    expect(off.data?.updateLiaisonContact.active).toBe(false);
    expect((await t.gql(`{ liaisonContacts(active: true) { name } }`, {}, official.token)).data?.liaisonContacts).toEqual([{ name: '吴强' }]);
  });

  it('check their input', async () => {
    const r = await t.gql(CREATE, { input: { name: '某人', organisation: '某站', countyCode: '3205' } }, admin.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'countyCode' });
    const missing = await t.gql(`mutation { updateLiaisonContact(id: "00000000-0000-4000-8000-000000000000", input: { active: false }) { id } }`, {}, admin.token);
    expect(missing.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });

  it('can be named on a person and on a report as the one who helped', async () => {
    const c = await t.gql(CREATE, { input: { name: '钱进', organisation: '武进区服务站', countyCode: '320412' } }, admin.token);
    const liaisonId = c.data!.createLiaisonContact.id;
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, liaisonContactId: liaisonId });
    await t.gql(SUBMIT, { input: { personId: p.id, period: '2026-10', arrival: 'LIAISON', liaisonContactId: liaisonId } }, official.token);
    const r = await t.gql(`{ person(id: "${p.id}") { liaisonContact { name } lastReport { arrival liaisonContact { name countyCode } } } }`, {}, official.token);
    expect(r.data?.person).toEqual({ liaisonContact: { name: '钱进' }, lastReport: { arrival: 'LIAISON', liaisonContact: { name: '钱进', countyCode: '320412' } } });
    const byLiaison = await t.gql(`{ people(filter: { liaisonContactId: "${liaisonId}" }) { totalCount } }`, {}, official.token);
    expect(byLiaison.data?.people.totalCount).toBe(1);
    const bad = await t.gql(SUBMIT, { input: { personId: p.id, period: '2026-09', arrival: 'LIAISON', liaisonContactId: '00000000-0000-4000-8000-000000000000' } }, official.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'liaisonContactId' });
  });

  it('are shown on each side of a partner agreement: theirs by the partner’s county code, ours by our own', async () => {
    const liangxi = await FakePartner.start('320213', t.config.countyCode);
    try {
      const reg = await t.gql(REGISTER, { input: agreement(liangxi) }, admin.token);
      expect(reg.errors).toBeUndefined();
      await t.gql(CREATE, { input: { name: '孔丽', organisation: '梁溪区流动人口服务站', countyCode: '320213' } }, admin.token);
      const gone = await t.gql(CREATE, { input: { name: '曹军', organisation: '梁溪区某街道', countyCode: '320213' } }, admin.token);
      await t.gql(`mutation { updateLiaisonContact(id: "${gone.data!.createLiaisonContact.id}", input: { active: false }) { id } }`, {}, admin.token);
      await t.gql(CREATE, { input: { name: '陈刚', organisation: '睢宁县流动人口服务中心', countyCode: t.config.countyCode } }, admin.token);
      const r = await t.gql(`{ partner(countyCode: "320213") { liaisonContacts { name organisation } ourLiaisonContacts { name countyCode } } }`, {}, admin.token);
      expect(r.data?.partner).toEqual({
        liaisonContacts: [{ name: '孔丽', organisation: '梁溪区流动人口服务站' }],
        ourLiaisonContacts: [{ name: '陈刚', countyCode: t.config.countyCode }],
      });
    } finally {
      await liangxi.close();
    }
  });
});
