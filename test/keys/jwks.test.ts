import { calculateJwkThumbprint } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRecord, RECORD_VERSION, signRecord, type RecordEnvelope } from '../../src/exchange/envelope';
import { systemCaller } from '../../src/policy/actor';
import { startTestServer, type TestServer } from '../helpers/server';
import { BODIES, SUBJECTS } from '../helpers/records';

let t: TestServer;
let admin: { token: string };
beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const jwks = async () => {
  const res = await fetch(`${t.url}/.well-known/jwks.json`);
  return { res, body: (await res.json()) as { keys: Record<string, string>[] } };
};

const auditActions = async (action: string) => {
  const r = await t.gql(`{ auditLog(filter:{action:"${action}"}) { edges { node { actorType actorId targetId details } } } }`, {}, admin.token);
  return r.data!.auditLog.edges.map((e: any) => e.node);
};

describe('GET /.well-known/jwks.json', () => {
  it('publishes the EXCHANGE public keys, without authentication, cacheable', async () => {
    const { res, body } = await jwks();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    expect(res.headers.get('content-type')).toMatch(/^application\/jwk-set\+json/);
    const exchange = await t.server.deps.keys.published('EXCHANGE');
    expect(body.keys.map((k) => k.kid)).toEqual(exchange.map((k) => k.kid));
    for (const k of body.keys) {
      expect(k).toMatchObject({ alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' });
      expect(k).not.toHaveProperty('d');
      expect(k.kid).toBe(await calculateJwkThumbprint(k, 'sha256'));
    }
    // session keys are not partners' business
    const session = await t.server.deps.keys.published('SESSION');
    expect(body.keys.map((k) => k.kid)).not.toContain(session[0]!.kid);
  });
});

describe('key rotation', () => {
  it('publishes before signing, keeps old keys verifiable forever, and audits each step', async () => {
    const keys = t.server.deps.keys;
    const old = await keys.signingKey('EXCHANGE');
    const record: RecordEnvelope<'ARRIVAL'> = {
      v: RECORD_VERSION,
      id: '7c0e8a52-0d55-4f6f-9a4c-5b0b8e2f6a10',
      iss: t.config.countyCode,
      aud: '320506',
      type: 'ARRIVAL',
      iat: Math.floor(Date.now() / 1000),
      subject: { ...SUBJECTS[1] },
      body: BODIES.ARRIVAL as RecordEnvelope<'ARRIVAL'>['body'],
    };
    const signedByOld = await signRecord(old, record);

    // Published now, signing only after the grace period.
    const ahead = await keys.rotate(systemCaller('test'), 'EXCHANGE', 3600, 'EdDSA');
    expect((await jwks()).body.keys.map((k) => k.kid)).toEqual([old.kid, ahead.kid]);
    expect((await jwks()).body.keys[1]).toMatchObject({ alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519' });
    expect((await keys.signingKey('EXCHANGE')).kid).toBe(old.kid);

    // A rotation without grace signs at once; the current key cannot be retired.
    const now = await keys.rotate(systemCaller('test'), 'EXCHANGE', 0);
    expect((await keys.signingKey('EXCHANGE')).kid).toBe(now.kid);
    await expect(keys.retire(systemCaller('test'), now.kid)).rejects.toThrow(/signing now/);

    await keys.retire(systemCaller('test'), old.kid);
    expect((await jwks()).body.keys.map((k) => k.kid)).not.toContain(old.kid);
    await expect(keys.retire(systemCaller('test'), old.kid)).rejects.toThrow(/already retired/);

    // What the retired key signed still verifies against our full key history, and only there.
    const reverified = await openRecord(signedByOld, (kid) => keys.historicalKey('EXCHANGE', kid));
    expect(reverified).toMatchObject({ ok: true, kid: old.kid, record: { id: record.id } });
    expect(await keys.verificationKey('EXCHANGE', old.kid)).toBeUndefined();
    expect(await keys.historicalKey('SESSION', old.kid)).toBeUndefined();

    const rotations = await auditActions('key.rotate');
    expect(rotations.map((r: any) => r.targetId).sort()).toEqual([ahead.kid, now.kid].sort());
    expect(rotations[0]).toMatchObject({ actorType: 'SYSTEM', actorId: 'test', details: { purpose: 'EXCHANGE' } });
    expect((await auditActions('key.retire')).map((r: any) => r.targetId)).toEqual([old.kid]);
    // keys made at first start are audited too
    expect((await auditActions('key.create')).length).toBe(2);
  });
});
