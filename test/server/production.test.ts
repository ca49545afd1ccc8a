import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ NODE_ENV: 'production' });
});
afterAll(() => t.close());

describe('production mode', () => {
  it('serves health and readiness probes', async () => {
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect((await fetch(`${t.url}/readyz`)).status).toBe(200);
  });

  it('refuses introspection', async () => {
    const r = await t.gql('{ __schema { types { name } } }');
    expect(r.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.data).toBeUndefined();
  });

  it('does not suggest field names in validation errors', async () => {
    const r = await t.gql('{ peopl { id } }');
    expect(r.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toContain('peopl');
    expect(r.errors?.[0]?.message).not.toMatch(/did you mean/i);
  });

  it('marks answers as not to be stored by caches, with no ETag; the public key set stays cacheable', async () => {
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('etag')).toBeNull();
    const jwks = await fetch(`${t.url}/.well-known/jwks.json`);
    expect(jwks.headers.get('cache-control')).toMatch(/^public, max-age=\d+$/);
  });

  it('has no landing page', async () => {
    const res = await fetch(`${t.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.headers.get('content-type') ?? '').not.toContain('text/html');
  });

  it('refuses queries nested past the depth limit', async () => {
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    const deep = `{ division(code:"320324") ${'{ children '.repeat(13)}{ code }${' }'.repeat(13)} }`;
    const r = await t.gql(deep, {}, admin.token);
    expect(r.errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  // Runs last: it takes the database away from this server.
  it('masks internal errors: no message from inside, no stack trace', async () => {
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    await t.database.close();
    const r = await t.gql('{ divisions { code } }', {}, admin.token);
    // The database fails while authenticating the token, before any resolver: still masked.
    expect(r.errors?.[0]?.message).toBe('Internal server error');
    expect(r.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    expect(JSON.stringify(r)).not.toMatch(/stack|at .*\.ts|postgres|pglite/i);
    expect((await fetch(`${t.url}/readyz`)).status).toBe(503);
  });
});
