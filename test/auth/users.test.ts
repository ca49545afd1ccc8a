import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, SEED, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string; id: string };
beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const CREATE = `mutation($input: CreateUserInput!) { createUser(input: $input) { id username role scope disabled } }`;

describe('user management', () => {
  it('lets an administrator create a village official and a town supervisor who can then log in', async () => {
    const official = await t.gql(CREATE, { input: { username: 'wang.cun', displayName: '王村干部', password: 'long enough pw', role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji } }, admin.token);
    expect(official.data?.createUser).toMatchObject({ username: 'wang.cun', role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji, disabled: false });
    const supervisor = await t.gql(CREATE, { input: { username: 'wang.zhen', displayName: '王集镇', password: 'long enough pw', role: 'TOWN_SUPERVISOR', scope: SEED.townWangji } }, admin.token);
    expect(supervisor.data?.createUser.role).toBe('TOWN_SUPERVISOR');
    const login = await t.gql('mutation { login(username:"wang.cun", password:"long enough pw") { user { scope } } }');
    expect(login.data?.login.user.scope).toBe(SEED.villageWangji);
  });

  it('checks role and scope fit together', async () => {
    const cases = [
      { role: 'VILLAGE_OFFICIAL', scope: SEED.townWangji },
      { role: 'TOWN_SUPERVISOR', scope: SEED.villageWangji },
      { role: 'VILLAGE_OFFICIAL', scope: '320324999999' },
      { role: 'VILLAGE_OFFICIAL', scope: null },
      { role: 'COUNTY_ADMIN', scope: SEED.townWangji },
    ];
    for (const c of cases) {
      const r = await t.gql(CREATE, { input: { username: `x${Math.random().toString(36).slice(2, 8)}`, displayName: 'x', password: 'long enough pw', ...c } }, admin.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(c)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'scope' });
    }
  });

  it('names the field of a bad input and answers CONFLICT for a taken username', async () => {
    const short = await t.gql(CREATE, { input: { username: 'shorty', displayName: 'x', password: 'short', role: 'COUNTY_ADMIN' } }, admin.token);
    expect(short.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'password' });
    const name = await t.gql(CREATE, { input: { username: 'has space', displayName: 'x', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, admin.token);
    expect(name.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'username' });
    await t.gql(CREATE, { input: { username: 'twice', displayName: 'x', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, admin.token);
    const dup = await t.gql(CREATE, { input: { username: 'TWICE', displayName: 'y', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, admin.token);
    expect(dup.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', field: 'username' });
  });

  it('re-scopes a user, which ends their current session', async () => {
    const u = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const r = await t.gql('mutation($id:ID!,$s:String){ updateUser(id:$id, input:{scope:$s}){ scope } }', { id: u.id, s: SEED.villageLiyushan }, admin.token);
    expect(r.data?.updateUser.scope).toBe(SEED.villageLiyushan);
    expect((await t.gql('{ me { id } }', {}, u.token)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses user management and the audit log to every other role, and audits the refusal', async () => {
    const others = [
      await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji }),
      await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji }),
    ];
    for (const u of others) {
      const create = await t.gql(CREATE, { input: { username: `n${u.username}`, displayName: 'x', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, u.token);
      expect(create.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await t.gql('{ users { id } }', {}, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await t.gql(`mutation { updateUser(id:"${u.id}", input:{role: COUNTY_ADMIN}) { id } }`, {}, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await t.gql('{ auditLog { edges { node { id } } } }', {}, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    }
    const denied = await t.gql(`{ auditLog(filter: {outcome: DENIED, actorId: "${others[1]!.id}"}) { edges { node { action actorRole } } } }`, {}, admin.token);
    expect(denied.data?.auditLog.edges.map((e: any) => e.node.action).sort()).toEqual(['audit.read', 'user.manage', 'user.manage', 'user.read']);
  });

  it('treats a malformed id as bad input, not a server error', async () => {
    const r = await t.gql('{ user(id: "not-a-uuid") { id } }', {}, admin.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const missing = await t.gql('{ user(id: "00000000-0000-4000-8000-000000000000") { id } }', {}, admin.token);
    expect(missing.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });
});

describe('divisions', () => {
  it('lists towns and villages of the home county from the seed', async () => {
    const r = await t.gql(`{ division(code: "${SEED.townWangji}") { name level parent { code } children { code name } } }`, {}, admin.token);
    expect(r.data?.division).toMatchObject({ name: '王集镇', level: 'TOWN', parent: { code: SEED.county } });
    expect(r.data?.division.children.map((c: any) => c.code)).toContain(SEED.villageWangji);
    const towns = await t.gql('{ divisions(level: TOWN) { code } }', {}, admin.token);
    expect(towns.data?.divisions.length).toBeGreaterThanOrEqual(5);
    expect((await t.gql('{ divisions { code } }')).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});
