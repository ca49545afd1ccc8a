import { count, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerHistory, partnerKeys, partners } from '../../src/db/schema';
import { partnerKey, agreement, FakePartner, REGISTER } from '../helpers/partner';
import { startTestServer, SEED, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string; id: string };
const fakes: FakePartner[] = [];
beforeAll(async () => {
  t = await startTestServer({ EXCHANGE_FETCH_TIMEOUT_MS: '500', EXCHANGE_JWKS_MAX_BYTES: '2048' });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await t.close();
});

async function fake(code: string) {
  const f = await FakePartner.start(code, t.config.countyCode);
  fakes.push(f);
  return f;
}

const db = () => t.server.deps.db;
const counts = async () => ({
  partners: (await db().select({ n: count() }).from(partners))[0]!.n,
  keys: (await db().select({ n: count() }).from(partnerKeys))[0]!.n,
  history: (await db().select({ n: count() }).from(partnerHistory))[0]!.n,
});

const PARTNER = `query($c: String!) { partner(countyCode: $c) { status inForce validFrom validTo allowedActions inboundTypes
  keys { kid published source } history { action fromStatus toStatus actorType actorId actorRole note changes } } }`;

describe('registering a partner county', () => {
  it('fetches its keys from its JWKS URL, server-side, and records who registered it', async () => {
    const wuzhong = await fake('320506');
    const r = await t.gql(REGISTER, { input: agreement(wuzhong, { inboundTypes: ['ARRIVAL', 'STATUS_REPORT'], outboundTypes: ['DEPARTURE'], lookupAllowed: true }) }, admin.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.registerPartner).toMatchObject({
      countyCode: '320506',
      status: 'ACTIVE',
      inForce: true,
      inboundTypes: ['ARRIVAL', 'STATUS_REPORT'],
      outboundTypes: ['DEPARTURE'],
      lookupAllowed: true,
      allowedActions: ['SUSPEND', 'END', 'EDIT', 'LOAD_KEYS'],
      history: [{ action: 'REGISTER', fromStatus: null, toStatus: 'ACTIVE', actorType: 'USER', actorRole: 'COUNTY_ADMIN' }],
    });
    expect(r.data!.registerPartner.keys).toEqual([
      { kid: wuzhong.es.kid, alg: 'ES256', published: true, source: 'FETCHED' },
      { kid: wuzhong.ed.kid, alg: 'EdDSA', published: true, source: 'FETCHED' },
    ]);
    expect(wuzhong.fetches).toBe(1);
    const log = await t.gql('{ auditLog(filter:{action:"partner.register"}) { edges { node { actorId targetId } } } }', {}, admin.token);
    expect(log.data!.auditLog.edges[0].node).toEqual({ actorId: admin.id, targetId: '320506' });
  });

  it('takes a pasted JWKS instead (air-gapped), without fetching anything', async () => {
    const gusu = await fake('320508');
    const r = await t.gql(REGISTER, { input: agreement(gusu, { jwksUrl: null, jwks: JSON.stringify(gusu.jwks()) }) }, admin.token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.registerPartner.jwksUrl).toBe(`${gusu.baseUrl}/.well-known/jwks.json`);
    expect(r.data!.registerPartner.keys.map((k: any) => k.source)).toEqual(['PASTED', 'PASTED']);
    expect(gusu.fetches).toBe(0);
  });

  it('refuses bad input with the field named, and writes nothing', async () => {
    const wujiang = await fake('320509');
    const base = agreement(wujiang);
    const rsaOnly = { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB', kid: 'r' }] };
    const withPrivate = { keys: [{ ...wujiang.es.jwk, d: 'c2VjcmV0' }] };
    const wrongKid = { keys: [{ ...wujiang.es.jwk, kid: wujiang.ed.kid }] };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ countyCode: '3205' }, 'BAD_USER_INPUT', 'countyCode'],
      [{ countyCode: SEED.county }, 'BAD_USER_INPUT', 'countyCode'],
      [{ countyCode: '320506' }, 'CONFLICT', 'countyCode'],
      [{ name: '  ' }, 'BAD_USER_INPUT', 'name'],
      [{ baseUrl: 'ftp://example.org' }, 'BAD_USER_INPUT', 'baseUrl'],
      [{ baseUrl: 'http://user:pw@example.org' }, 'BAD_USER_INPUT', 'baseUrl'],
      [{ jwksUrl: 'not a url' }, 'BAD_USER_INPUT', 'jwksUrl'],
      [{ validFrom: '2026-06-01', validTo: '2026-05-31' }, 'BAD_USER_INPUT', 'validTo'],
      [{ jwks: 'not json' }, 'BAD_USER_INPUT', 'jwks'],
      [{ jwks: JSON.stringify(rsaOnly) }, 'BAD_USER_INPUT', 'jwks'],
      [{ jwks: JSON.stringify(withPrivate) }, 'BAD_USER_INPUT', 'jwks'],
      [{ jwks: JSON.stringify(wrongKid) }, 'BAD_USER_INPUT', 'jwks'],
      [{ jwksUrl: 'http://127.0.0.1:1/jwks.json' }, 'BAD_USER_INPUT', 'jwksUrl'],
    ];
    const before = await counts();
    for (const [override, code, field] of cases) {
      const r = await t.gql(REGISTER, { input: { ...base, ...override } }, admin.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(override)).toMatchObject({ code, field });
    }
    const unknownType = await t.gql(REGISTER, { input: { ...base, inboundTypes: ['GOSSIP'] } }, admin.token);
    expect(unknownType.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    expect(await counts()).toEqual(before);
  });

  it('fetches with a timeout and a size limit, and follows no redirect', async () => {
    const slow = await fake('320412');
    const cases: [FakePartner['override'], RegExp][] = [
      [{ hang: true }, /timed out/],
      [{ body: JSON.stringify({ keys: [slow.es.jwk], padding: 'x'.repeat(4096) }) }, /larger than/],
      [{ status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } }, /redirect/],
      [{ status: 500, body: '{}' }, /HTTP 500/],
    ];
    for (const [override, message] of cases) {
      slow.override = override;
      const r = await t.gql(REGISTER, { input: agreement(slow) }, admin.token);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jwksUrl' });
      expect(r.errors?.[0]?.message).toMatch(message);
    }
  });

  it('is for county administrators only', async () => {
    const f = await fake('320213');
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
    for (const u of [official, supervisor]) {
      expect((await t.gql(REGISTER, { input: agreement(f) }, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await t.gql('{ partners { countyCode } }', {}, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await t.gql('mutation { suspendPartner(countyCode:"320506") { status } }', {}, u.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    }
    expect((await t.gql(REGISTER, { input: agreement(f) })).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(f.fetches).toBe(0);
  });
});

describe('the agreement lifecycle', () => {
  it('suspends, reactivates, ends and renews, each an append-only history row', async () => {
    const f = await fake('320214');
    await t.gql(REGISTER, { input: agreement(f) }, admin.token);
    const step = async (m: string, args = '') => t.gql(`mutation { ${m}(countyCode:"320214"${args}) { status inForce allowedActions } }`, {}, admin.token);
    expect((await step('suspendPartner', ', note:"yearly review"')).data?.suspendPartner).toEqual({ status: 'SUSPENDED', inForce: false, allowedActions: ['REACTIVATE', 'END', 'EDIT', 'LOAD_KEYS'] });
    const again = await step('suspendPartner');
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', status: 'SUSPENDED' });
    expect((await step('reactivatePartner')).data?.reactivatePartner.status).toBe('ACTIVE');
    expect((await step('endPartner')).data?.endPartner).toEqual({ status: 'ENDED', inForce: false, allowedActions: ['RENEW'] });
    const edit = await t.gql('mutation { updatePartner(countyCode:"320214", input:{name:"x"}) { name } }', {}, admin.token);
    expect(edit.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect((await step('refreshPartnerKeys')).errors?.[0]?.extensions.code).toBe('CONFLICT');
    const renewed = await step('renewPartner', ', validFrom:"2090-01-01", validTo:"2090-12-31"');
    expect(renewed.data?.renewPartner).toMatchObject({ status: 'ACTIVE', inForce: false });

    const p = (await t.gql(PARTNER, { c: '320214' }, admin.token)).data!.partner;
    expect(p.history.map((h: any) => `${h.action}:${h.fromStatus}->${h.toStatus}`)).toEqual([
      'RENEW:ENDED->ACTIVE',
      'END:ACTIVE->ENDED',
      'REACTIVATE:SUSPENDED->ACTIVE',
      'SUSPEND:ACTIVE->SUSPENDED',
      'REGISTER:null->ACTIVE',
    ]);
    expect(p.history[3]).toMatchObject({ note: 'yearly review', actorType: 'USER', actorId: admin.id, actorRole: 'COUNTY_ADMIN' });
    expect(p.history[0].changes).toMatchObject({ validFrom: '2090-01-01', validTo: '2090-12-31' });
    await expect(db().execute(sql`update partner_history set note = 'edited'`)).rejects.toMatchObject({ cause: { message: 'partner_history is append-only' } });
    await expect(db().execute(sql`delete from partner_history`)).rejects.toThrow();
  });

  it('edits the allowed types and dates, checking them', async () => {
    const f = await fake('320311');
    await t.gql(REGISTER, { input: agreement(f) }, admin.token);
    const r = await t.gql('mutation { updatePartner(countyCode:"320311", input:{inboundTypes:[INQUIRY_REPLY, ARRIVAL], lookupAllowed:true}, note:"annual review") { inboundTypes lookupAllowed } }', {}, admin.token);
    expect(r.data?.updatePartner).toEqual({ inboundTypes: ['ARRIVAL', 'INQUIRY_REPLY'], lookupAllowed: true });
    const bad = await t.gql('mutation { updatePartner(countyCode:"320311", input:{validTo:"2019-12-31"}) { validTo } }', {}, admin.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'validTo' });
    const missing = await t.gql('mutation { suspendPartner(countyCode:"999999") { status } }', {}, admin.token);
    expect(missing.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });
});

describe('partner keys', () => {
  it('refreshes from the JWKS URL: new keys added, withdrawn ones kept but no longer published', async () => {
    const f = await fake('370406');
    await t.gql(REGISTER, { input: agreement(f) }, admin.token);
    const next = await partnerKey('ES256');
    f.published = [next, f.ed];
    const r = await t.gql('mutation { refreshPartnerKeys(countyCode:"370406") { keys { kid published } history { action changes } } }', {}, admin.token);
    expect(r.errors).toBeUndefined();
    const keys = Object.fromEntries(r.data!.refreshPartnerKeys.keys.map((k: any) => [k.kid, k.published]));
    expect(keys).toEqual({ [f.es.kid]: false, [f.ed.kid]: true, [next.kid]: true });
    expect(r.data!.refreshPartnerKeys.history[0]).toEqual({ action: 'LOAD_KEYS', changes: { keysAdded: [next.kid], keysWithdrawn: [f.es.kid] } });

    // A key the partner publishes again is published again; a pasted set replaces the published set the same way.
    const pasted = await t.gql('mutation($j:String!) { pastePartnerKeys(countyCode:"370406", jwks:$j) { keys { kid published source } } }', { j: JSON.stringify({ keys: [f.es.jwk] }) }, admin.token);
    const after = Object.fromEntries(pasted.data!.pastePartnerKeys.keys.map((k: any) => [k.kid, k.published]));
    expect(after).toEqual({ [f.es.kid]: true, [f.ed.kid]: false, [next.kid]: false });
    const bad = await t.gql('mutation { pastePartnerKeys(countyCode:"370406", jwks:"{\\"keys\\":[]}") { countyCode } }', {}, admin.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'jwks' });
  });
});
