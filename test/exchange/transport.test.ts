import crypto from 'node:crypto';
import { count, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, inboundRecords, outboundRecords, seenTokens } from '../../src/db/schema';
import { agreement, compact, FakePartner, partnerKey, REGISTER } from '../helpers/partner';
import { createLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { startTestServer, type TestServer } from '../helpers/server';

const COOLDOWN_S = 2;
let t: TestServer;
let admin: { token: string };
let wuzhong: FakePartner; // ACTIVE
let gusu: FakePartner; // SUSPENDED
let wujiang: FakePartner; // ENDED
let future: FakePartner; // ACTIVE, but its term has not begun
let stranger: FakePartner; // never registered

beforeAll(async () => {
  t = await startTestServer({ EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS: String(COOLDOWN_S) });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  const us = t.config.countyCode;
  [wuzhong, gusu, wujiang, future, stranger] = (await Promise.all(['320506', '320508', '320509', '320412', '320584'].map((c) => FakePartner.start(c, us)))) as [
    FakePartner,
    FakePartner,
    FakePartner,
    FakePartner,
    FakePartner,
  ];
  for (const [p, extra] of [[wuzhong, {}], [gusu, {}], [wujiang, {}], [future, { validFrom: '2090-01-01', validTo: '2090-12-31' }]] as const) {
    const r = await t.gql(REGISTER, { input: agreement(p, extra) }, admin.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  await t.gql('mutation { suspendPartner(countyCode:"320508") { status } }', {}, admin.token);
  await t.gql('mutation { endPartner(countyCode:"320509") { status } }', {}, admin.token);
});
afterAll(async () => {
  await Promise.all([wuzhong, gusu, wujiang, future, stranger].map((p) => p?.close()));
  await t.close();
});

const db = () => t.server.deps.db;
const written = async () => ({
  inbound: (await db().select({ n: count() }).from(inboundRecords))[0]!.n,
  outbound: (await db().select({ n: count() }).from(outboundRecords))[0]!.n,
  tokens: (await db().select({ n: count() }).from(seenTokens))[0]!.n,
});

function call(authorization: string | undefined, method = 'GET', path = '/exchange/v1/records', body?: unknown) {
  return fetch(`${t.url}${path}`, {
    method,
    headers: { ...(authorization === undefined ? {} : { authorization }), ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
}
const bearer = (token: string) => `Bearer ${token}`;

describe('transport authentication of /exchange/v1', () => {
  it('admits a well-formed token from an active partner, with either of its algorithms', async () => {
    for (const key of [wuzhong.es, wuzhong.ed]) {
      const res = await call(bearer(wuzhong.token({ key })));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ records: [], next: null, hasMore: false });
    }
  });

  it('refuses every malformed, forged, misdirected or stale token with an opaque 401 and writes nothing', async () => {
    const now = Math.floor(Date.now() / 1000);
    const [h, p] = wuzhong.token().split('.') as [string, string, string];
    const sig = wuzhong.token().split('.')[2]!;
    const flipped = `${sig.slice(0, 5)}${sig[5] === 'A' ? 'B' : 'A'}${sig.slice(6)}`;
    const hmacWith = (secret: string) => (input: Buffer) => crypto.createHmac('sha256', secret).update(input).digest();
    const claims = { iss: wuzhong.countyCode, sub: wuzhong.countyCode, aud: t.config.countyCode, iat: now, exp: now + 60 };
    const pem = crypto.createPublicKey({ key: wuzhong.es.jwk as crypto.JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
    const foreign = await partnerKey('ES256');
    const ours = await t.server.deps.keys.signingKey('EXCHANGE');

    // Each case names the reason the log and audit table must record (the caller only ever sees 401).
    const cases: [string, string | undefined, string][] = [
      ['no token', undefined, 'TOKEN_MISSING'],
      ['empty bearer', 'Bearer ', 'TOKEN_MALFORMED'],
      ['basic auth', 'Basic dXNlcjpwdw==', 'TOKEN_MALFORMED'],
      ['garbled', 'Bearer not-a-token', 'TOKEN_MALFORMED'],
      ['garbled parts', 'Bearer a.b.c', 'TOKEN_MALFORMED'],
      ['header only', `Bearer ${h}.${p}`, 'TOKEN_MALFORMED'],
      ...['none', 'None', 'NONE', 'nOnE'].map((alg): [string, string, string] => [`alg ${alg}`, bearer(compact({ alg, kid: wuzhong.es.kid, typ: 'hl-req+jwt' }, { ...claims, jti: crypto.randomUUID() })), 'UNSUPPORTED_HEADER']),
      ['HS256 keyed with the public JWK', bearer(compact({ alg: 'HS256', kid: wuzhong.es.kid, typ: 'hl-req+jwt' }, { ...claims, jti: crypto.randomUUID() }, hmacWith(JSON.stringify(wuzhong.es.jwk)))), 'UNSUPPORTED_HEADER'],
      ['HS256 keyed with the public PEM', bearer(compact({ alg: 'HS256', kid: wuzhong.es.kid, typ: 'hl-req+jwt' }, { ...claims, jti: crypto.randomUUID() }, hmacWith(pem))), 'UNSUPPORTED_HEADER'],
      ['EdDSA header on the ES256 key', bearer(wuzhong.token({ key: wuzhong.ed, header: { kid: wuzhong.es.kid } })), 'ALG_MISMATCH'],
      ['ES256 header on the EdDSA key', bearer(wuzhong.token({ key: wuzhong.es, header: { kid: wuzhong.ed.kid } })), 'ALG_MISMATCH'],
      ['ES384', bearer(wuzhong.token({ header: { alg: 'ES384' } })), 'UNSUPPORTED_HEADER'],
      ['empty signature', `Bearer ${h}.${p}.`, 'BAD_SIGNATURE'],
      ['bit-flipped signature', `Bearer ${h}.${p}.${flipped}`, 'BAD_SIGNATURE'],
      ['signed by a key not in the registry, with a registered kid', bearer(wuzhong.token({ key: foreign, header: { kid: wuzhong.es.kid } })), 'BAD_SIGNATURE'],
      ['unknown kid', bearer(wuzhong.token({ key: foreign })), 'KEY_UNKNOWN'],
      ['missing kid', bearer(wuzhong.token({ drop: ['kid'] })), 'UNSUPPORTED_HEADER'],
      ['path in kid', bearer(wuzhong.token({ header: { kid: '../../../etc/passwd' } })), 'UNSUPPORTED_HEADER'],
      ['SQL in kid', bearer(wuzhong.token({ header: { kid: "' OR '1'='1" } })), 'UNSUPPORTED_HEADER'],
      ['our own kid', bearer(wuzhong.token({ header: { kid: ours.kid } })), 'KEY_UNKNOWN'],
      ['jku', bearer(wuzhong.token({ header: { jku: `${wuzhong.baseUrl}/.well-known/jwks.json` } })), 'UNSUPPORTED_HEADER'],
      ['x5u', bearer(wuzhong.token({ header: { x5u: 'https://example.org/cert.pem' } })), 'UNSUPPORTED_HEADER'],
      ['embedded jwk (its own, valid)', bearer(wuzhong.token({ header: { jwk: wuzhong.es.jwk } })), 'UNSUPPORTED_HEADER'],
      ['embedded foreign jwk', bearer(wuzhong.token({ key: foreign, header: { jwk: foreign.jwk, kid: foreign.kid } })), 'UNSUPPORTED_HEADER'],
      ['x5c', bearer(wuzhong.token({ header: { x5c: ['MIIB'] } })), 'UNSUPPORTED_HEADER'],
      ['crit', bearer(wuzhong.token({ header: { crit: ['exp'] } })), 'UNSUPPORTED_HEADER'],
      ['typ JWT', bearer(wuzhong.token({ header: { typ: 'JWT' } })), 'UNSUPPORTED_HEADER'],
      ['typ missing', bearer(wuzhong.token({ drop: ['typ'] })), 'UNSUPPORTED_HEADER'],
      ['expired', bearer(wuzhong.token({ claims: { iat: now - 400, exp: now - 100 } })), 'TOKEN_EXPIRED'],
      ['not yet valid', bearer(wuzhong.token({ claims: { iat: now + 120, exp: now + 180 } })), 'TOKEN_NOT_YET_VALID'],
      ['lives 301 s', bearer(wuzhong.token({ claims: { iat: now, exp: now + 301 } })), 'LIFETIME_TOO_LONG'],
      ['exp before iat', bearer(wuzhong.token({ claims: { iat: now, exp: now - 1 } })), 'CLAIMS_INVALID'],
      ['missing exp', bearer(wuzhong.token({ drop: ['exp'] })), 'CLAIMS_INVALID'],
      ['missing iat', bearer(wuzhong.token({ drop: ['iat'] })), 'CLAIMS_INVALID'],
      ['missing jti', bearer(wuzhong.token({ drop: ['jti'] })), 'CLAIMS_INVALID'],
      ['empty jti', bearer(wuzhong.token({ claims: { jti: '' } })), 'CLAIMS_INVALID'],
      ['numeric jti', bearer(wuzhong.token({ claims: { jti: 42 } })), 'CLAIMS_INVALID'],
      ['wrong aud', bearer(wuzhong.token({ claims: { aud: '320000' } })), 'CLAIMS_INVALID'],
      ['object aud', bearer(wuzhong.token({ claims: { aud: { county: t.config.countyCode } } })), 'CLAIMS_INVALID'],
      ['array aud', bearer(wuzhong.token({ claims: { aud: [t.config.countyCode] } })), 'CLAIMS_INVALID'],
      ['missing aud', bearer(wuzhong.token({ drop: ['aud'] })), 'CLAIMS_INVALID'],
      ['sub other than iss', bearer(wuzhong.token({ claims: { sub: '320508' } })), 'CLAIMS_INVALID'],
      ['iss another partner', bearer(wuzhong.token({ claims: { iss: '320508', sub: '320508' } })), 'KEY_UNKNOWN'],
      ['iss not a partner', bearer(stranger.token()), 'ISSUER_UNKNOWN'],
      ['iss not a county code', bearer(wuzhong.token({ claims: { iss: 'urn:x', sub: 'urn:x' } })), 'CLAIMS_INVALID'],
    ];
    const before = await written();
    for (const [name, authorization, reason] of cases) {
      for (const [method, path, body] of [['GET', '/exchange/v1/records'], ['POST', '/exchange/v1/records', { records: [] }]] as const) {
        const res = await call(authorization, method, path, body);
        expect(res.status, `${name} ${method}`).toBe(401);
        expect(await res.json(), name).toEqual({ error: 'unauthorized' });
      }
      const last = await t.gql('{ auditLog(first: 1) { edges { node { action outcome details } } } }', {}, admin.token);
      expect(last.data!.auditLog.edges[0].node, name).toMatchObject({ action: 'exchange.authenticate', outcome: 'DENIED', details: { reason } });
    }
    expect(await written()).toEqual(before);
  });

  it('answers 403 to a verified partner whose agreement is suspended, ended or not yet in force', async () => {
    const before = await written();
    for (const p of [gusu, wujiang, future]) {
      const res = await call(bearer(p.token()));
      expect(res.status, p.countyCode).toBe(403);
      expect(await res.json()).toEqual({ error: 'forbidden' });
    }
    expect(await written()).toEqual(before);
  });

  it('refuses a replayed jti, also when the copies arrive at once', async () => {
    const token = wuzhong.token();
    expect((await call(bearer(token))).status).toBe(200);
    const before = await written();
    expect((await call(bearer(token))).status).toBe(401);
    expect((await call(bearer(token), 'POST', '/exchange/v1/records', { records: [] })).status).toBe(401);
    expect(await written()).toEqual(before);

    const twin = wuzhong.token();
    const statuses = await Promise.all(Array.from({ length: 6 }, () => call(bearer(twin)).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
  });

  it('refuses a replayed jti across two instances sharing one database', async () => {
    const second = await startServer({ ...t.config, port: 0 }, { database: t.database, secrets: t.server.deps.secrets, logger: createLogger('silent') });
    try {
      const token = wuzhong.token();
      const at = (url: string) => fetch(`${url}/exchange/v1/records`, { headers: { authorization: bearer(token) } }).then((r) => r.status);
      const statuses = await Promise.all([t.url, second.url, t.url, second.url].map(at));
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    } finally {
      await second.close();
    }
  });

  it('puts the reason in the audit log, as PARTNER once the signature verified and PUBLIC before', async () => {
    const ok = wuzhong.token();
    await call(bearer(ok));
    await call(bearer(ok));
    await call(bearer(wuzhong.token({ header: { jku: 'https://evil.example/jwks' } })));
    const r = await t.gql('{ auditLog(filter:{action:"exchange.authenticate"}, first: 2) { edges { node { actorType actorId outcome details ip } } } }', {}, admin.token);
    const [jku, replay] = r.data!.auditLog.edges.map((e: any) => e.node);
    expect(jku).toMatchObject({ actorType: 'PUBLIC', actorId: null, outcome: 'DENIED', details: { reason: 'UNSUPPORTED_HEADER', claimedIss: '320506' } });
    expect(replay).toMatchObject({ actorType: 'PARTNER', actorId: '320506', outcome: 'DENIED', details: { reason: 'TOKEN_REPLAYED' } });
    expect(replay.ip).toMatch(/127\.0\.0\.1/);
  });

  it('guards every path under /exchange/v1, known or not', async () => {
    expect((await call(undefined, 'GET', '/exchange/v1/nothing-here')).status).toBe(401);
    expect((await call(bearer(wuzhong.token()), 'GET', '/exchange/v1/nothing-here')).status).toBe(404);
  });

  it('serves no method or spelling of a path under /exchange/v1 without authentication, and says nothing why', async () => {
    const before = await written();
    const paths = ['/exchange/v1', '/exchange/v1/', '/exchange/v1/records', '/exchange/v1/records/', '/EXCHANGE/V1/records', '/exchange/v1//records',
      `/exchange/v1/records/${crypto.randomUUID()}`, '/exchange/v1/lookup', '/exchange/v1/records?after=1.x', '/exchange/v1/nothing-here'];
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
        const res = await call(bearer(wuzhong.token({ drop: ['jti'] })), method, path, method === 'GET' || method === 'OPTIONS' ? undefined : { records: [] });
        expect(res.status, `${method} ${path}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
        expect(await res.text()).toBe('{"error":"unauthorized"}');
      }
    }
    expect((await fetch(`${t.url}/exchange/v1/records`, { method: 'HEAD' })).status).toBe(401);
    expect(await written()).toEqual(before);
  });

  it('keeps what it audits of a refused request bounded, whatever the request carries', async () => {
    const longPath = `/exchange/v1/${'p'.repeat(3000)}`;
    await call(bearer(wuzhong.token({ claims: { iss: '3'.repeat(4000) } })), 'GET', longPath);
    const [row] = await db().select({ details: auditLog.details }).from(auditLog).where(sql`${auditLog.action} = 'exchange.authenticate'`).orderBy(sql`${auditLog.id} desc`).limit(1);
    expect(row!.details).toMatchObject({ reason: 'CLAIMS_INVALID' });
    expect(JSON.stringify(row!.details).length).toBeLessThan(800);
    // A NUL in what the request claims is written out, not allowed to break the audit row (and the 401 with it).
    const res = await call(bearer(wuzhong.token({ claims: { iss: '3205\u000006' } })), 'GET', '/exchange/v1/records');
    expect(res.status).toBe(401);
  });

  it('refreshes the JWKS on an unknown kid at most once per cooldown window', async () => {
    await new Promise((r) => setTimeout(r, COOLDOWN_S * 1000 + 100)); // earlier unknown kids used this window
    const rotated = await partnerKey('ES256');
    const another = await partnerKey('EdDSA');
    wuzhong.published = [wuzhong.es, wuzhong.ed, rotated];
    const fetches = wuzhong.fetches;

    expect((await call(bearer(wuzhong.token({ key: rotated })))).status).toBe(200);
    expect(wuzhong.fetches).toBe(fetches + 1);
    // The partner publishes another key; we only learn of it at the next refresh, which must wait for the window.
    wuzhong.published = [wuzhong.es, wuzhong.ed, rotated, another];
    expect((await call(bearer(wuzhong.token({ key: another })))).status).toBe(401);
    expect((await call(bearer(wuzhong.token({ key: await partnerKey('ES256') })))).status).toBe(401);
    expect(wuzhong.fetches).toBe(fetches + 1);

    await new Promise((r) => setTimeout(r, COOLDOWN_S * 1000 + 100));
    expect((await call(bearer(wuzhong.token({ key: another })))).status).toBe(200);
    expect(wuzhong.fetches).toBe(fetches + 2);
    const keys = await t.gql('{ partner(countyCode:"320506") { keys { kid published } } }', {}, admin.token);
    expect(keys.data!.partner.keys.filter((k: any) => k.published)).toHaveLength(4);
  });

  it('keeps jti rows only until the token expires', async () => {
    const { purgeSeenTokens } = await import('../../src/exchange/transport');
    const now = Math.floor(Date.now() / 1000);
    // A token that expires within the tolerance: accepted (30 s clock tolerance), its jti stored until exp + 30 s.
    expect((await call(bearer(wuzhong.token({ claims: { iat: now - 80, exp: now - 20 } }))) ).status).toBe(200);
    const stored = await db().select().from(seenTokens);
    expect(stored.length).toBeGreaterThan(0);
    await db().insert(seenTokens).values({ issuer: '320506', jti: 'long-gone', expiresAt: new Date(Date.now() - 1000) });
    expect(await purgeSeenTokens(db())).toBe(1);
    expect((await db().select().from(seenTokens)).length).toBe(stored.length);
  });

  it('audits nothing as success for refused requests: every refusal is DENIED', async () => {
    const before = (await db().select({ n: count() }).from(auditLog))[0]!.n;
    await call(undefined);
    const rows = await t.gql('{ auditLog(first: 1) { edges { node { action outcome details } } } }', {}, admin.token);
    expect(rows.data!.auditLog.edges[0].node).toMatchObject({ action: 'exchange.authenticate', outcome: 'DENIED', details: { reason: 'TOKEN_MISSING' } });
    expect((await db().select({ n: count() }).from(auditLog))[0]!.n).toBe(before + 1);
  });
});
