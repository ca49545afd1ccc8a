import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement, FakePartner, partnerKey, REGISTER } from '../helpers/partner';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Unknown kids from a known partner (docs/exchange-protocol.md, section 2.3): at most one JWKS refresh per cooldown
 * window, shared by concurrent misses, and a flood of unknown kids refused from memory inside the window.
 */
const COOLDOWN_S = 2;
let t: TestServer;
let wuzhong: FakePartner;
const queries: string[] = [];

beforeAll(async () => {
  t = await startTestServer({ EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS: String(COOLDOWN_S) }, { onQuery: (q) => queries.push(q) });
  const admin = await t.user({ role: 'COUNTY_ADMIN' });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  const r = await t.gql(REGISTER, { input: agreement(wuzhong) }, admin.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
});
afterAll(async () => {
  await wuzhong.close();
  await t.close();
});

const pull = (token: string) => fetch(`${t.url}/exchange/v1/records`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);
const refreshClaims = () => queries.filter((q) => /^update "partners" set "keys_refresh_claimed_at"/.test(q)).length;
const windowOver = () => new Promise((r) => setTimeout(r, COOLDOWN_S * 1000 + 200));

describe('automatic refresh of a partner’s keys', () => {
  it('lets concurrent requests signed with a newly published key share one fetch, and all pass', async () => {
    const rotated = await partnerKey('ES256');
    wuzhong.published = [wuzhong.es, wuzhong.ed, rotated];
    const fetches = wuzhong.fetches;
    const statuses = await Promise.all(Array.from({ length: 8 }, () => pull(wuzhong.token({ key: rotated }))));
    expect(statuses).toEqual(Array(8).fill(200));
    expect(wuzhong.fetches).toBe(fetches + 1);
    expect(refreshClaims()).toBe(1);
  });

  it('refuses a flood of unknown kids inside the window from memory: no fetch, no claim in the database', async () => {
    await windowOver();
    const fetches = wuzhong.fetches;
    const strangers = await Promise.all(Array.from({ length: 10 }, () => partnerKey('ES256')));
    // The first unknown kid of the window refreshes once (concurrent ones wait for it) ...
    expect(await Promise.all(strangers.slice(0, 5).map((k) => pull(wuzhong.token({ key: k }))))).toEqual(Array(5).fill(401));
    expect(wuzhong.fetches).toBe(fetches + 1);
    // ... the rest of the flood costs no fetch and no write.
    const claims = refreshClaims();
    expect(await Promise.all(strangers.slice(5).map((k) => pull(wuzhong.token({ key: k }))))).toEqual(Array(5).fill(401));
    expect(wuzhong.fetches).toBe(fetches + 1);
    expect(refreshClaims()).toBe(claims);
    // Known keys are unaffected.
    expect(await pull(wuzhong.token())).toBe(200);
  });

  it('refreshes again once the window is over, and then knows the new key', async () => {
    const another = await partnerKey('EdDSA');
    wuzhong.published = [...wuzhong.published, another];
    expect(await pull(wuzhong.token({ key: another }))).toBe(401); // still inside the window of the flood
    await windowOver();
    const fetches = wuzhong.fetches;
    expect(await pull(wuzhong.token({ key: another }))).toBe(200);
    expect(wuzhong.fetches).toBe(fetches + 1);
  });
});
