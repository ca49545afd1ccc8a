import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, SEED, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ LOGIN_MAX_FAILURES: '3' });
});
afterAll(() => t.close());

const LOGIN = 'mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token expiresAt user { username role } } }';
const ME = '{ me { username role scope } }';

function claimsOf(token: string): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
}

describe('login', () => {
  it('issues a token that the server accepts as a bearer token', async () => {
    const admin = await t.user({ role: 'COUNTY_ADMIN', username: 'alice' });
    const r = await t.gql(LOGIN, { u: 'Alice', p: admin.password });
    expect(r.errors).toBeUndefined();
    expect(r.data?.login.user).toEqual({ username: 'alice', role: 'COUNTY_ADMIN' });
    const me = await t.gql(ME, {}, r.data!.login.token);
    expect(me.data?.me).toEqual({ username: 'alice', role: 'COUNTY_ADMIN', scope: null });
  });

  it('token carries sub, role, scope, exp, iat and jti and is short-lived', async () => {
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const header = JSON.parse(Buffer.from(official.token.split('.')[0]!, 'base64url').toString());
    const payload = claimsOf(official.token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'hl-access+jwt' });
    expect(payload).toMatchObject({ sub: official.id, role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp - payload.iat).toBe(t.config.accessTokenTtlSeconds);
  });

  it('refuses a wrong password and an unknown user with the same error', async () => {
    await t.user({ role: 'COUNTY_ADMIN', username: 'bob' });
    const wrong = await t.gql(LOGIN, { u: 'bob', p: 'not the password' });
    const unknown = await t.gql(LOGIN, { u: 'nobody-here', p: 'not the password' });
    expect(wrong.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(unknown.errors?.[0]).toEqual(wrong.errors?.[0]);
    expect(wrong.data).toBeNull();
  });

  it('refuses a disabled user, and their existing token stops working at once', async () => {
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    const carol = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji, username: 'carol' });
    const r = await t.gql('mutation($id:ID!){ updateUser(id:$id, input:{disabled:true}){ disabled } }', { id: carol.id }, admin.token);
    expect(r.data?.updateUser.disabled).toBe(true);
    const me = await t.gql(ME, {}, carol.token);
    expect(me.status).toBe(401);
    expect(me.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const again = await t.gql(LOGIN, { u: 'carol', p: carol.password });
    expect(again.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('locks the username after repeated failures, even for the right password', async () => {
    const dave = await t.user({ role: 'COUNTY_ADMIN', username: 'dave' });
    for (let i = 0; i < 3; i++) {
      const r = await t.gql(LOGIN, { u: 'dave', p: 'wrong password!' });
      expect(r.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    }
    const locked = await t.gql(LOGIN, { u: 'dave', p: dave.password });
    expect(locked.errors?.[0]?.extensions.code).toBe('TOO_MANY_REQUESTS');
    expect(locked.errors?.[0]?.extensions.retryAfterSeconds).toBeGreaterThan(0);
  });
});

describe('tokens', () => {
  it('rejects a tampered, truncated or garbled token', async () => {
    const u = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const [h, p, s] = u.token.split('.') as [string, string, string];
    const elevated = Buffer.from(JSON.stringify({ ...claimsOf(u.token), role: 'COUNTY_ADMIN', scope: null })).toString('base64url');
    const flippedSig = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
    for (const token of [`${h}.${elevated}.${s}`, `${h}.${p}.${flippedSig}`, `${h}.${p}.`, 'garbage', `${h}.${p}`]) {
      const r = await t.gql(ME, {}, token);
      expect(r.status, token).toBe(401);
      expect(r.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('rejects an expired token signed with the real key', async () => {
    const u = await t.user({ role: 'COUNTY_ADMIN' });
    const key = await t.server.deps.keys.signingKey('SESSION');
    const c = claimsOf(u.token);
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ role: c.role, scope: c.scope, ver: c.ver })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'hl-access+jwt' })
      .setSubject(c.sub)
      .setIssuer(c.iss)
      .setAudience(c.aud)
      .setJti('expired-1')
      .setIssuedAt(past - 900)
      .setExpirationTime(past)
      .sign(key.key);
    const r = await t.gql(ME, {}, expired);
    expect(r.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    // The same claims with a fresh lifetime pass: the refusal above is about expiry, not the construction.
    const fresh = await new SignJWT({ role: c.role, scope: c.scope, ver: c.ver })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'hl-access+jwt' })
      .setSubject(c.sub)
      .setIssuer(c.iss)
      .setAudience(c.aud)
      .setJti('fresh-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(key.key);
    expect((await t.gql(ME, {}, fresh)).data?.me.role).toBe('COUNTY_ADMIN');
  });

  it('rejects a token signed by a key that is not ours, even with our kid', async () => {
    const u = await t.user({ role: 'COUNTY_ADMIN' });
    const { privateKey } = await generateKeyPair('ES256');
    const ours = await t.server.deps.keys.signingKey('SESSION');
    const { iat: _i, exp: _e, jti: _j, ...rest } = claimsOf(u.token);
    const foreign = await new SignJWT(rest)
      .setProtectedHeader({ alg: 'ES256', kid: ours.kid, typ: 'hl-access+jwt' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .setJti('foreign-1')
      .sign(privateKey);
    const r = await t.gql(ME, {}, foreign);
    expect(r.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('answers anonymous calls to protected fields with UNAUTHENTICATED', async () => {
    const r = await t.gql(ME);
    expect(r.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});
