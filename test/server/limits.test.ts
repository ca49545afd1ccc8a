import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeError } from '../../src/logger';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
beforeAll(async () => {
  t = await startTestServer({ NODE_ENV: 'development' });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

describe('request limits', () => {
  it('refuses fragments that spread each other twice, sizing each fragment once', async () => {
    // Expanded, this document asks for 2^40 fields; checked naively it would never finish.
    const n = 40;
    const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i === n - 1 ? '__typename' : `...F${i + 1} ...F${i + 1}`} }`).join('\n');
    const r = await t.gql(`{ ...F0 }\n${frags}`);
    expect(r.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/fields; the limit is 500/);
  });

  it('refuses a request with hundreds of aliased pages', async () => {
    const aliases = Array.from({ length: 300 }, (_, i) => `p${i}: people(first: 200) { edges { node { id } } }`).join(' ');
    const r = await t.gql(`{ ${aliases} }`, {}, admin.token);
    expect(r.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('writes one audit row for a request, however many of its fields are refused', async () => {
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: '320324101201' });
    const aliases = Array.from({ length: 20 }, (_, i) => `a${i}: auditLog(first: 1) { edges { cursor } }`).join(' ');
    const r = await t.gql(`query Many { ${aliases} }`, {}, official.token);
    expect(r.errors?.length).toBeGreaterThan(0);
    const log = await t.gql(`{ auditLog(filter: { outcome: DENIED, action: "audit.read" }) { edges { node { details } } } }`, {}, admin.token);
    const rows = log.data!.auditLog.edges.filter((e: any) => e.node.details.operation === 'Many');
    expect(rows).toHaveLength(1);
    expect(rows[0].node.details.refusals).toBe(r.errors!.length);
  });

  it('refuses control characters in variables and literals as bad input, naming the variable', async () => {
    const r = await t.gql('mutation($i: CreateUserInput!) { createUser(input: $i) { id } }', { i: { username: 'nul-user', displayName: '张\u0000三', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, admin.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'i.displayName' });
    const lit = await t.gql('{ division(code: "32\u000132") { code } }', {}, admin.token);
    expect(lit.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'query' });
    // Line breaks and tabs are text.
    const ok = await t.gql('mutation($i: CreateUserInput!) { createUser(input: $i) { displayName } }', { i: { username: 'tab-user', displayName: '张\t三', password: 'long enough pw', role: 'COUNTY_ADMIN' } }, admin.token);
    expect(ok.errors).toBeUndefined();
  });
});

describe('internal errors', () => {
  it('keep the values of a failed statement out of the log', async () => {
    let caught: unknown;
    try {
      await t.server.deps.db.execute(sql`select ${'13812345678 张三'}::int`);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeDefined();
    const logged = JSON.stringify(safeError(caught));
    expect(logged).not.toContain('13812345678');
    expect(logged).not.toContain('张三');
    expect(safeError(caught)).toMatchObject({ type: 'DatabaseError', sqlState: expect.stringMatching(/^22/) });
  });

  it('name a driver failure by its code, so connection trouble is told apart from a refused statement', () => {
    const lost = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
    const wrapped = Object.assign(new Error('Failed query: select 1 params: 13812345678'), { params: ['13812345678'], cause: lost });
    expect(safeError(wrapped)).toMatchObject({ type: 'DatabaseError', sqlState: null, driverCode: 'CONNECTION_CLOSED' });
    expect(JSON.stringify(safeError(wrapped))).not.toContain('13812345678');
  });
});

describe('malformed arguments', () => {
  it('are bad input, not server errors', async () => {
    const dashes = Buffer.from(JSON.stringify(['x', '-'.repeat(36)])).toString('base64url');
    const r = await t.gql(`{ people(after: "${dashes}") { totalCount } }`, {}, admin.token);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const year0 = await t.gql('{ auditLog(filter: { from: "0000-01-01T00:00:00Z" }) { edges { cursor } } }', {}, admin.token);
    expect(year0.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });
});
