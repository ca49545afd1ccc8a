import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let staff: { token: string };
let association: string;
const statements: string[] = [];
beforeAll(async () => {
  t = await startTestServer({}, { onQuery: (q) => statements.push(q) });
  const admin = await t.user({ role: 'COUNTY_ADMIN' });
  const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  association = (await t.gql(`mutation { createAssociation(input: { name: "苏州睢宁商会", hostCityCode: "320500" }) { id } }`, {}, admin.token)).data!.createAssociation.id;
  staff = await t.user({ role: 'ASSOCIATION_STAFF', scope: association });
  for (let i = 0; i < 12; i++) {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: `会员${i}`, idNumber, homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    await t.gql(`mutation($a: ID!, $i: AddMemberInput!) { addAssociationMember(associationId: $a, input: $i) { id } }`, { a: association, i: { idNumber, name: `会员${i}`, consentMethod: 'PAPER' } }, staff.token);
  }
});
afterAll(() => t.close());

const PAGE = `query($a: ID!, $first: Int) { association(id: $a) { members(first: $first) { edges { node { name idNumber phone homeVillage { name } association { name } reportState } } } } }`;

async function queriesFor(first: number): Promise<number> {
  statements.length = 0;
  const r = await t.gql(PAGE, { a: association, first }, staff.token);
  expect(r.data?.association.members.edges).toHaveLength(first);
  return statements.length;
}

describe('association member page', () => {
  it('costs the same number of queries for 2 and 12 members', async () => {
    const small = await queriesFor(2);
    expect(await queriesFor(12)).toBe(small);
  });
});
