import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string };
const statements: string[] = [];
beforeAll(async () => {
  t = await startTestServer({}, { onQuery: (q) => statements.push(q) });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  for (let i = 0; i < 50; i++) {
    const p = await register(t, official.token, { name: `人${String(i).padStart(2, '0')}`, homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    await t.gql(SUBMIT, { input: { personId: p.id, period: '2026-Q1', arrival: 'PHONE' } }, official.token);
  }
});
afterAll(() => t.close());

// A village official's people page: each person with village, active agreement and last report.
const PAGE = `query($first: Int) { people(first: $first) { edges { node { name phone idNumber homeVillage { name }
  activeAgreement { cadence nextDueOn official { displayName } depositComplaints { id } } lastReport { period reportedOn } reportStatus { state } } } } }`;

async function queriesFor(first: number): Promise<number> {
  statements.length = 0;
  const r = await t.gql(PAGE, { first }, official.token);
  expect(r.errors).toBeUndefined();
  expect(r.data?.people.edges).toHaveLength(first);
  expect(r.data?.people.edges.every((e: any) => e.node.activeAgreement && e.node.lastReport)).toBe(true);
  return statements.length;
}

describe('people page', () => {
  it('costs the same number of queries for 2, 10 and 50 people (a full page)', async () => {
    const small = await queriesFor(2);
    expect(await queriesFor(10)).toBe(small);
    expect(await queriesFor(50)).toBe(small);
    // authenticate, people, divisions, agreements, last reports, users, complaints: one each.
    expect(small).toBeLessThanOrEqual(7);
  });
});

describe('division tree', () => {
  it('loads the children of every town in one query', async () => {
    const count = async (query: string) => {
      statements.length = 0;
      const r = await t.gql(query, {}, official.token);
      expect(r.errors).toBeUndefined();
      return { n: statements.length, towns: r.data!.divisions.length as number };
    };
    const flat = await count(`{ divisions(level: TOWN) { code } }`);
    const tree = await count(`{ divisions(level: TOWN) { code children { code } } }`);
    expect(flat.towns).toBeGreaterThan(1);
    expect(tree.n).toBe(flat.n + 1);
  });
});
