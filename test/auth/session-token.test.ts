import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemCaller } from '../../src/policy/actor';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let claims: Record<string, any>;
beforeAll(async () => {
  t = await startTestServer({ LOGIN_MAX_FAILURES: '3' });
  const u = await t.user({ role: 'COUNTY_ADMIN' });
  claims = JSON.parse(Buffer.from(u.token.split('.')[1]!, 'base64url').toString());
});
afterAll(() => t.close());

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A token signed with the server's real session key, with the header and claims a test chooses. */
async function signed(header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const key = await t.server.deps.keys.signingKey('SESSION');
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'hl-access+jwt', ...header } as never).sign(key.key);
}

function fresh(overrides: Record<string, unknown> = {}, drop: string[] = []) {
  const now = Math.floor(Date.now() / 1000);
  const p: Record<string, unknown> = { ...claims, iat: now, exp: now + 300, jti: crypto.randomUUID(), ...overrides };
  for (const d of drop) delete p[d];
  return p;
}

const me = async (token: string) => (await t.gql('{ me { id } }', {}, token)).errors?.[0]?.extensions.code;

describe('session tokens', () => {
  it('accept the real thing (the cases below differ from it in one way each)', async () => {
    expect(await me(await signed({}, fresh()))).toBeUndefined();
  });

  it('refuse alg none, HS256 keyed with our public key, and unknown algorithms', async () => {
    const key = await t.server.deps.keys.signingKey('SESSION');
    const pub = (await t.server.deps.keys.published('SESSION'))[0]!.jwk;
    for (const alg of ['none', 'NONE', 'None']) expect(await me(`${b64({ alg, kid: key.kid, typ: 'hl-access+jwt' })}.${b64(fresh())}.`)).toBe('UNAUTHENTICATED');
    const input = `${b64({ alg: 'HS256', kid: key.kid, typ: 'hl-access+jwt' })}.${b64(fresh())}`;
    const hs = crypto.createHmac('sha256', JSON.stringify(pub)).update(input).digest('base64url');
    expect(await me(`${input}.${hs}`)).toBe('UNAUTHENTICATED');
  });

  it('refuse keys named or carried by the token, and critical headers', async () => {
    const pub = (await t.server.deps.keys.published('SESSION'))[0]!.jwk;
    for (const header of [{ jwk: pub }, { jku: 'https://evil.example/jwks.json' }, { x5u: 'https://evil.example/c.pem' }, { x5c: ['MIIB'] }]) {
      expect(await me(await signed(header, fresh())), JSON.stringify(Object.keys(header))).toBe('UNAUTHENTICATED');
    }
    // jose will not sign an unknown critical header, so this one is signed by hand with the same key.
    const key = await t.server.deps.keys.signingKey('SESSION');
    const input = `${b64({ alg: 'ES256', kid: key.kid, typ: 'hl-access+jwt', crit: ['hl-extra'], 'hl-extra': 1 })}.${b64(fresh())}`;
    const sig = Buffer.from(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.key, Buffer.from(input))).toString('base64url');
    expect(await me(`${input}.${sig}`)).toBe('UNAUTHENTICATED');
  });

  it('refuse a missing exp, iat or jti, and a wrong audience, issuer or type', async () => {
    for (const d of ['exp', 'iat', 'jti']) expect(await me(await signed({}, fresh({}, [d]))), d).toBe('UNAUTHENTICATED');
    expect(await me(await signed({}, fresh({ aud: 'urn:hometown-link:320506:api' })))).toBe('UNAUTHENTICATED');
    expect(await me(await signed({}, fresh({ aud: [claims.aud, 'other'] })))).toBe('UNAUTHENTICATED');
    expect(await me(await signed({}, fresh({ iss: 'urn:hometown-link:320506' })))).toBe('UNAUTHENTICATED');
    expect(await me(await signed({ typ: 'hl-rating+jwt' }, fresh()))).toBe('UNAUTHENTICATED');
    expect(await me(await signed({}, fresh({ iat: Math.floor(Date.now() / 1000) + 600, exp: Math.floor(Date.now() / 1000) + 900 })))).toBe('UNAUTHENTICATED');
  });
});

describe('session tokens after their key is retired', () => {
  it('a token already seen (and remembered as verified) is refused once its signing key is retired', async () => {
    const { keys } = t.server.deps;
    const user = await t.user({ role: 'COUNTY_ADMIN' });
    const kid = (JSON.parse(Buffer.from(user.token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    expect(await me(user.token)).toBeUndefined();
    await keys.rotate(systemCaller('test'), 'SESSION', 0);
    // Still published: the token keeps working through the rotation.
    expect(await me(user.token)).toBeUndefined();
    await keys.retire(systemCaller('test'), kid);
    expect(await me(user.token)).toBe('UNAUTHENTICATED');
    const again = await t.gql('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: user.username, p: user.password });
    expect(await me(again.data!.login.token)).toBeUndefined();
  });
});

describe('login throttling', () => {
  it('lets no more than the limit of parallel wrong passwords through to the password check', async () => {
    await t.user({ role: 'COUNTY_ADMIN', username: 'racer' });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => t.gql('mutation { login(username: "racer", password: "wrong password!") { token } }')),
    );
    const codes = results.map((r) => r.errors?.[0]?.extensions.code);
    expect(codes.filter((c) => c === 'UNAUTHENTICATED')).toHaveLength(3);
    expect(codes.filter((c) => c === 'TOO_MANY_REQUESTS')).toHaveLength(17);
  });
});
