import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { SUBJECTS } from '../helpers/records';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let official: { token: string };
let wuzhong: FakePartner; // no LOOKUP in its agreement
let gusu: FakePartner; // LOOKUP allowed
let shared: { id: string; idNumber: string; name: string };
let unshared: { id: string; idNumber: string };
/** The end of both people's agreements: a year from the day the test runs. */
let validTo: string;

beforeAll(async () => {
  t = await startTestServer();
  validTo = t.day(365);
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong) }, admin.token);
  await t.gql(REGISTER, { input: agreement(gusu, { lookupAllowed: true }) }, admin.token);
  // one person who agreed to sharing with 姑苏 (320508), one who did not
  const idNumber = SUBJECTS[2].idNumber;
  const p = await register(t, official.token, { name: SUBJECTS[2].name, idNumber, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320508', town: '平江街道', area: '观前' } });
  shared = { id: p.id, idNumber, name: SUBJECTS[2].name };
  await activeAgreement(t, official.token, p.id, { sharingCounties: ['320508'], validTo });
  const r = await t.gql(SUBMIT, { input: { personId: p.id, period: '2026-10', arrival: 'PHONE' } }, official.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const q = await register(t, official.token, { idNumber: SUBJECTS[3].idNumber, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320508' } });
  unshared = { id: q.id, idNumber: SUBJECTS[3].idNumber };
  await activeAgreement(t, official.token, q.id, { sharingCounties: ['320506'], validTo });
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
  return { status: res.status, headers: Object.fromEntries([...res.headers].filter(([k]) => k === 'content-type' || k === 'content-length')), body: (await res.json()) as any };
}

const lookupAudit = async (actorId: string) =>
  (await t.gql(`{ auditLog(filter:{action:"exchange.lookup", actorId:"${actorId}"}) { edges { node { outcome targetType targetId details } } } }`, {}, admin.token)).data!.auditLog.edges.map(
    (e: any) => e.node,
  );

describe('POST /exchange/v1/lookup', () => {
  it('is refused (403) when the agreement does not allow LOOKUP, and audited', async () => {
    expect(await lookup(wuzhong, { idNumber: shared.idNumber })).toMatchObject({ status: 403, body: { error: 'forbidden' } });
    expect((await lookupAudit('320506'))[0]).toMatchObject({ outcome: 'DENIED', details: { reason: 'NOT_ALLOWED' } });
  });

  it('answers 400 to a malformed request', async () => {
    for (const body of [{}, { idNumber: '320324199001010010' }, { idNumber: shared.idNumber, name: 'x' }, { idNumber: 18 }]) {
      expect(await lookup(gusu, body), JSON.stringify(body)).toMatchObject({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_REQUEST' } });
    }
  });

  it('returns a signed STATUS_SUMMARY of a consenting person that the caller verifies with our JWKS, and nothing more', async () => {
    const found = await lookup(gusu, { idNumber: shared.idNumber });
    expect(found.status).toBe(200);
    const jwks = createLocalJWKSet((await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
    const { payload, protectedHeader } = await compactVerify(found.body.record, jwks);
    expect(protectedHeader.typ).toBe('hl-record+jws');
    const record = JSON.parse(new TextDecoder().decode(payload));
    expect(record).toMatchObject({ v: 1, iss: t.config.countyCode, aud: '320508', type: 'STATUS_SUMMARY', subject: { idNumber: shared.idNumber, name: shared.name } });
    // county and town, never the area; the agreement's cadence and end; the last report's period
    expect(record.body).toEqual({ status: 'AWAY', place: { countyCode: '320508', town: '平江街道' }, agreement: { cadence: 'QUARTERLY', validTo }, lastReportPeriod: '2026-10' });
    expect((await lookupAudit('320508'))[0]).toMatchObject({ outcome: 'SUCCESS', details: { found: true, recordId: record.id } });
  });

  it('answers a person who did not consent to sharing with this county exactly like an unknown number, and audits both', async () => {
    const unknown = await lookup(gusu, { idNumber: SUBJECTS[0].idNumber });
    const notShared = await lookup(gusu, { idNumber: unshared.idNumber });
    expect(unknown).toEqual({ status: 404, headers: unknown.headers, body: { error: 'not_found' } });
    expect(notShared).toEqual(unknown);
    const audit = await lookupAudit('320508');
    expect(audit.slice(0, 2).map((e: any) => e.details.found)).toEqual([false, false]);
    // the audit log identifies the subject by a keyed hash only
    expect(JSON.stringify(audit)).not.toContain(unshared.idNumber);
    expect(JSON.stringify(audit)).not.toContain(shared.idNumber);
  });

  it('stops answering once the person withdraws consent to sharing with that county', async () => {
    const w = await t.gql(`mutation { withdrawConsent(personId: "${shared.id}", kind: PARTNER_SHARING, scope: "320508") { kind withdrawnAt } }`, {}, official.token);
    expect(w.errors).toBeUndefined();
    expect(await lookup(gusu, { idNumber: shared.idNumber })).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });
});
