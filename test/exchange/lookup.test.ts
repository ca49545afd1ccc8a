import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerLookupProvider } from '../../src/exchange/lookup';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { SUBJECTS } from '../helpers/records';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let wuzhong: FakePartner; // no LOOKUP in its agreement
let gusu: FakePartner; // LOOKUP allowed

beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong) }, admin.token);
  await t.gql(REGISTER, { input: agreement(gusu, { lookupAllowed: true }) }, admin.token);
});
afterAll(async () => {
  await wuzhong.close();
  await gusu.close();
  await t.close();
});

async function lookup(from: FakePartner, body: unknown) {
  const res = await fetch(`${t.url}/exchange/v1/lookup`, {
    method: 'POST',
    headers: { authorization: `Bearer ${from.token()}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const SUMMARY = { status: 'AWAY', place: { countyCode: '320508', town: '平江街道' }, agreement: { cadence: 'QUARTERLY', validTo: '2027-02-28' }, lastReportPeriod: '2026-Q3' };

describe('POST /exchange/v1/lookup', () => {
  it('is refused (403) when the agreement does not allow LOOKUP, and audited', async () => {
    expect(await lookup(wuzhong, { idNumber: SUBJECTS[0].idNumber })).toEqual({ status: 403, body: { error: 'forbidden' } });
    const audit = await t.gql('{ auditLog(filter:{action:"exchange.lookup", actorId:"320506"}) { edges { node { outcome details } } } }', {}, admin.token);
    expect(audit.data!.auditLog.edges[0].node).toMatchObject({ outcome: 'DENIED', details: { reason: 'NOT_ALLOWED' } });
  });

  it('answers "not found" until the registry provides lookups (phase 1), and 400 to a malformed request', async () => {
    expect(await lookup(gusu, { idNumber: SUBJECTS[0].idNumber })).toEqual({ status: 404, body: { error: 'not_found' } });
    for (const body of [{}, { idNumber: '320324199001010010' }, { idNumber: SUBJECTS[0].idNumber, name: 'x' }, { idNumber: 18 }]) {
      expect(await lookup(gusu, body), JSON.stringify(body)).toEqual({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_REQUEST' } });
    }
  });

  it('returns a signed STATUS_SUMMARY the caller verifies with our JWKS; unknown and unshared look alike', async () => {
    const off = registerLookupProvider(async ({ idNumber, partner }) =>
      idNumber === SUBJECTS[0].idNumber && partner.countyCode === '320508' ? { name: SUBJECTS[0].name, summary: SUMMARY as never } : null,
    );
    try {
      const found = await lookup(gusu, { idNumber: SUBJECTS[0].idNumber });
      expect(found.status).toBe(200);
      const jwks = createLocalJWKSet((await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
      const { payload, protectedHeader } = await compactVerify(found.body.record, jwks);
      expect(protectedHeader.typ).toBe('hl-record+jws');
      expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
        v: 1,
        iss: t.config.countyCode,
        aud: '320508',
        type: 'STATUS_SUMMARY',
        subject: SUBJECTS[0],
        body: SUMMARY,
      });
      const missing = await lookup(gusu, { idNumber: SUBJECTS[1].idNumber });
      expect(missing).toEqual({ status: 404, body: { error: 'not_found' } });

      const audit = await t.gql('{ auditLog(filter:{action:"exchange.lookup", actorId:"320508"}) { edges { node { outcome targetType targetId details } } } }', {}, admin.token);
      const entries = audit.data!.auditLog.edges.map((e: any) => e.node);
      expect(entries.slice(0, 2).map((e: any) => e.details.found)).toEqual([false, true]);
      expect(JSON.stringify(entries)).not.toContain(SUBJECTS[0].idNumber);
    } finally {
      off();
    }
  });
});
