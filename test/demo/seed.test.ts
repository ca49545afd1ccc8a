import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemo, type DemoLogin } from '../../src/demo/seed';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let logins: DemoLogin[];
beforeAll(async () => {
  t = await startTestServer();
  ({ logins } = await seedDemo(t.server.deps, { people: 40 }));
});
afterAll(() => t.close());

async function login(l: DemoLogin) {
  const r = await t.gql('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: l.username, p: l.password });
  return r.data!.login.token as string;
}

describe('demo seed', () => {
  it('gives each village official people with agreements and reports, some overdue', async () => {
    const official = logins.find((l) => l.role === 'VILLAGE_OFFICIAL')!;
    const token = await login(official);
    const page = await t.gql(`{ people(first: 50) { totalCount edges { node { homeVillage { code } activeAgreement { status } lastReport { period } } } } }`, {}, token);
    expect(page.data?.people.totalCount).toBe(10);
    const nodes = page.data!.people.edges.map((e: any) => e.node);
    expect(nodes.every((n: any) => n.homeVillage.code === official.scope)).toBe(true);
    expect(nodes.filter((n: any) => n.activeAgreement).length).toBeGreaterThan(5);
    expect(nodes.filter((n: any) => n.lastReport).length).toBeGreaterThan(5);
  });

  it('gives the town supervisor an overdue picture per village', async () => {
    const supervisor = logins.find((l) => l.role === 'TOWN_SUPERVISOR')!;
    const r = await t.gql(`{ overdueReports { totalCount byVillage { active overdue } } }`, {}, await login(supervisor));
    const villages = r.data!.overdueReports.byVillage;
    expect(villages.length).toBeGreaterThan(1);
    expect(villages.reduce((n: number, v: any) => n + v.active, 0)).toBeGreaterThan(15);
    expect(r.data!.overdueReports.totalCount).toBeGreaterThan(0);
  });

  it('fills only an empty registry', async () => {
    await expect(seedDemo(t.server.deps, { people: 1 })).rejects.toThrow(/already holds people/);
  });
});
