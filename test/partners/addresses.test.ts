import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../src/http/addresses';
import { fetchLimited, type FetchLimits } from '../../src/http/fetch-limited';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Partner URLs are reached server-side: without EXCHANGE_ALLOW_PRIVATE_ADDRESSES they must not lead to our own
 * network (loopback, private, link-local such as cloud metadata), and without EXCHANGE_ALLOW_HTTP they must be https.
 */
let target: http.Server;
let port = 0;
let hits = 0;

beforeAll(async () => {
  target = http.createServer((_req, res) => {
    hits += 1;
    res.end('{"keys":[]}');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  port = (target.address() as AddressInfo).port;
});
afterAll(async () => {
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
});

const strict: FetchLimits = { timeoutMs: 2000, maxBytes: 1024, allowHttp: true, allowPrivateAddresses: false };

describe('addresses', () => {
  it('tells public addresses from loopback, private, link-local and reserved ones', () => {
    const nonPublic = ['127.0.0.1', '127.9.9.9', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', '::ffff:127.0.0.1', '::ffff:7f00:1', 'ff02::1', 'not-an-ip'];
    const pub = ['8.8.8.8', '1.1.1.1', '58.215.1.1', '172.32.0.1', '2001:4860:4860::8888', '240e::1'];
    expect(nonPublic.filter(isPublicAddress)).toEqual([]);
    expect(pub.filter((a) => !isPublicAddress(a))).toEqual([]);
  });

  it('refuses to connect to a non-public address, by IP literal or by a name resolving to one, before any byte is sent', async () => {
    const before = hits;
    for (const url of [`http://127.0.0.1:${port}/x`, `http://[::1]:${port}/x`, `http://[::ffff:127.0.0.1]:${port}/x`, `http://169.254.169.254/latest/meta-data/`, `http://10.0.0.1/x`]) {
      await expect(fetchLimited(url, {}, strict), url).rejects.toThrow(/^refused: .*(not a public address|loopback)/);
    }
    expect(hits).toBe(before);
  });

  it('checks a name against what it resolves to when the socket connects, not only when the URL was registered', async () => {
    const before = hits;
    // `localhost` goes through the resolver here (registration refuses the name outright).
    await expect(fetchLimited(`http://localhost:${port}/x`, {}, strict)).rejects.toThrow(/^refused: localhost resolves to (127\.0\.0\.1|::1), not a public address/);
    expect(hits).toBe(before);
  });

  it('reaches them when the configuration allows private addresses, and refuses http unless allowed', async () => {
    expect((await fetchLimited(`http://localhost:${port}/x`, {}, { ...strict, allowPrivateAddresses: true })).status).toBe(200);
    await expect(fetchLimited(`http://127.0.0.1:${port}/x`, {}, { ...strict, allowHttp: false, allowPrivateAddresses: true })).rejects.toThrow(/^refused: http: URL/);
    await expect(fetchLimited(`ftp://127.0.0.1:${port}/x`, {}, { ...strict, allowPrivateAddresses: true })).rejects.toThrow(/^refused/);
  });
});

describe('registering a partner without EXCHANGE_ALLOW_PRIVATE_ADDRESSES or EXCHANGE_ALLOW_HTTP', () => {
  let t: TestServer;
  let admin: { token: string };
  let wuzhong: FakePartner;
  beforeAll(async () => {
    t = await startTestServer({ EXCHANGE_ALLOW_PRIVATE_ADDRESSES: 'false' });
    admin = await t.user({ role: 'COUNTY_ADMIN' });
    wuzhong = await FakePartner.start('320506', t.config.countyCode);
  });
  afterAll(async () => {
    await wuzhong.close();
    await t.close();
  });

  it('refuses base and JWKS URLs on our own network, fetching nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ baseUrl: wuzhong.baseUrl, jwksUrl: 'https://keys.wuzhong.example/jwks.json' }, 'baseUrl'],
      [{ baseUrl: 'https://wuzhong.example', jwksUrl: wuzhong.jwksUrl }, 'jwksUrl'],
      [{ baseUrl: 'https://localhost:8443' }, 'baseUrl'],
      [{ baseUrl: 'https://[fe80::1]' }, 'baseUrl'],
      [{ baseUrl: 'https://wuzhong.example', jwksUrl: 'http://169.254.169.254/latest/meta-data' }, 'jwksUrl'],
    ];
    for (const [urls, field] of cases) {
      const r = await t.gql(REGISTER, { input: { ...agreement(wuzhong), ...urls } }, admin.token);
      expect(r.errors?.[0]?.extensions, JSON.stringify(urls)).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.errors?.[0]?.message).toMatch(/EXCHANGE_ALLOW_PRIVATE_ADDRESSES/);
    }
    expect(wuzhong.fetches).toBe(0);
  });

  it('refuses http when it is not allowed', async () => {
    const strictHttp = await startTestServer({ EXCHANGE_ALLOW_HTTP: 'false' });
    try {
      const a = await strictHttp.user({ role: 'COUNTY_ADMIN' });
      const r = await strictHttp.gql(REGISTER, { input: agreement(wuzhong) }, a.token);
      expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'baseUrl' });
      expect(r.errors?.[0]?.message).toMatch(/must be https/);
      expect(wuzhong.fetches).toBe(0);
    } finally {
      await strictHttp.close();
    }
  });
});
