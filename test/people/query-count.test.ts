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
  // After the 50 in name order: one with neither an agreement nor a report, and one whose Q1 report was amended and
  // who reported for Q2 too (the last report is the current one of the latest period).
  const bare = await register(t, official.token, { name: '人90', homeVillageCode: SEED.villageWangji });
  bareId = bare.id;
  const amended = await register(t, official.token, { name: '人91', homeVillageCode: SEED.villageWangji });
  amendedId = amended.id;
  await activeAgreement(t, official.token, amended.id, { validFrom: '2026-01-01' });
  for (const period of ['2026-Q1', '2026-Q2', '2026-Q1']) await t.gql(SUBMIT, { input: { personId: amended.id, period, arrival: 'PHONE' } }, official.token);
});
let bareId: string;
let amendedId: string;
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
    // authenticate; the people with their active agreements and last reports; divisions; users; complaints.
    expect(small).toBe(5);
  });

  // The benchmark's page: the agreements and last reports come in the page's own statement.
  const BENCH_PAGE = `query($first: Int, $after: String) { people(first: $first, after: $after) { edges { node { id name ...Related } } pageInfo { endCursor } } }
    fragment Related on Person { activeAgreement { cadence nextDueOn } lastReport { period superseded } reportStatus { state } }`;

  it('answers a page of people with their agreements and last reports in one statement after authentication', async () => {
    statements.length = 0;
    const r = await t.gql(BENCH_PAGE, { first: 50 }, official.token);
    expect(r.errors).toBeUndefined();
    expect(r.data?.people.edges.every((e: any) => e.node.activeAgreement?.cadence && e.node.lastReport?.period === '2026-Q1')).toBe(true);
    expect(statements).toHaveLength(2);
    expect(statements[1]).toMatch(/left join "agreements"[^]*left join lateral \(select [^]* from "status_reports"/);
  });

  // A LIMIT sent as a parameter makes PostgreSQL plan the statement again at every execution (docs/performance.md).
  it('writes the page size and the constants into the page statement, so the database can keep one plan for it', async () => {
    const OWN_VILLAGE = `query($v: String!, $after: String) { people(filter: { villageCode: $v }, first: 7, after: $after) { edges { node { id ...Related } } pageInfo { endCursor } } }
      fragment Related on Person { activeAgreement { cadence } lastReport { period } }`;
    statements.length = 0;
    const r = await t.gql(OWN_VILLAGE, { v: SEED.villageWangji }, official.token);
    expect(r.data?.people.edges).toHaveLength(7);
    const page = statements[1]!;
    expect(page).toMatch(/ limit 8$/);
    expect(page).toMatch(/"agreements"\."status" = 'ACTIVE'/);
    expect(page).toMatch(/ limit 1\) "last_report"/);
    // the official's own village is one condition, not the filter and the jurisdiction each
    expect(page.match(/"people"\."home_village_code" = \$/g)).toHaveLength(1);
    const again = await t.gql(OWN_VILLAGE, { v: SEED.villageWangji, after: r.data!.people.pageInfo.endCursor }, official.token);
    expect(again.errors).toBeUndefined();
    expect(statements.at(-1)).toMatch(/ limit 8$/);
  });

  it('gives null where a person has no agreement or report, and the current report of the latest period', async () => {
    const first = await t.gql(BENCH_PAGE, { first: 50 }, official.token);
    statements.length = 0;
    const r = await t.gql(BENCH_PAGE, { first: 50, after: first.data!.people.pageInfo.endCursor }, official.token);
    expect(r.errors).toBeUndefined();
    const byId = new Map(r.data!.people.edges.map((e: any) => [e.node.id, e.node]));
    expect(byId.get(bareId)).toMatchObject({ activeAgreement: null, lastReport: null, reportStatus: { state: 'NOTHING_DUE' } });
    expect(byId.get(amendedId)).toMatchObject({ activeAgreement: { cadence: expect.any(String) }, lastReport: { period: '2026-Q2', superseded: false } });
    expect(statements).toHaveLength(2);
  });

  it('joins nothing the request does not read', async () => {
    statements.length = 0;
    const r = await t.gql(`{ people(first: 50) { edges { node { name } } } }`, {}, official.token);
    expect(r.data?.people.edges).toHaveLength(50);
    expect(statements).toHaveLength(2);
    expect(statements[1]).not.toMatch(/agreements|status_reports/);
  });
});

describe('overdue reports page', () => {
  it('brings each agreement’s person in the page’s statement', async () => {
    const Q = `{ overdueReports(asOf: "2027-06-01", first: 50) { edges { node { person { id name phone } period daysOverdue } } } }`;
    statements.length = 0;
    const r = await t.gql(Q, {}, official.token);
    expect(r.errors).toBeUndefined();
    expect(r.data?.overdueReports.edges).toHaveLength(50);
    expect(r.data?.overdueReports.edges.every((e: any) => e.node.person.name.startsWith('人'))).toBe(true);
    expect(statements).toHaveLength(2);
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
