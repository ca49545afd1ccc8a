import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { registryTransaction } from '../../src/people/transaction';
import { engine, openTestDatabase } from '../helpers/db';
import { raceOnPeople } from '../helpers/race';
import { activeAgreement, register, sign } from '../helpers/registry';
import { SEED, startTestServer, type GqlResult, type TestServer } from '../helpers/server';

const code = (r: GqlResult) => r.errors?.[0]?.extensions.code;

describe('lost races', () => {
  it('retries a deadlock or serialization failure once, then answers CONFLICT marked retryable', async () => {
    const database = await openTestDatabase();
    try {
      const lost = (sqlState: string) => Object.assign(new Error('lost the race'), { code: sqlState });
      let attempts = 0;
      const result = await registryTransaction(database, async () => {
        attempts += 1;
        if (attempts === 1) throw lost('40P01');
        return 'done';
      });
      expect({ result, attempts }).toEqual({ result: 'done', attempts: 2 });

      attempts = 0;
      const failure = await registryTransaction(database, async () => {
        attempts += 1;
        throw lost('40001');
      }).catch((e: unknown) => e);
      expect(attempts).toBe(2);
      expect(failure).toMatchObject({ extensions: { code: 'CONFLICT', retryable: true } });
      // Anything else is not retried.
      attempts = 0;
      await expect(registryTransaction(database, async () => { attempts += 1; throw new Error('boom'); })).rejects.toThrow('boom');
      expect(attempts).toBe(1);
    } finally {
      await database.close();
    }
  });
});

// PGlite runs one transaction at a time, so these races exist only on PostgreSQL.
describe.runIf(engine === 'postgres')('concurrent changes to one person (PostgreSQL)', () => {
  let t: TestServer;
  let official: { token: string };
  let pg: postgres.Sql;
  beforeAll(async () => {
    t = await startTestServer();
    official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    pg = postgres(t.database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await pg.end();
    await t.close();
  });

  const race = (personId: string, first: () => Promise<GqlResult>, second: () => Promise<GqlResult>) => raceOnPeople(pg, [personId], first, second);

  async function amendedPerson() {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const v1 = await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    const amend = await t.gql(`mutation { amendAgreement(id: "${v1.id}", input: { cadence: MONTHLY }) { id } }`, {}, official.token);
    const v2 = amend.data!.amendAgreement.id as string;
    await sign(t, official.token, v2, 'OFFICIAL');
    return { p, v1: v1.id, v2 };
  }

  const AGREEMENTS = `query($id: ID!) { person(id: $id) { status agreements { version status endReason } } }`;

  it('return home and the signature that would activate an amendment: one wins, the other is a plain CONFLICT', async () => {
    const { p, v2 } = await amendedPerson();
    const [returned, signed] = await race(
      p.id,
      () => t.gql(`mutation { markReturned(personId: "${p.id}", returnedOn: "2026-10-01") { status } }`, {}, official.token),
      () => t.gql(`mutation { signAgreement(id: "${v2}", input: { side: PERSON, method: PHONE }) { status } }`, {}, official.token),
    );
    expect(returned.errors).toBeUndefined();
    expect(code(signed)).toBe('CONFLICT');
    expect(signed.errors?.[0]?.extensions.retryable).toBeUndefined();
    expect((await t.gql(AGREEMENTS, { id: p.id }, official.token)).data?.person).toEqual({
      status: 'RETURNED',
      agreements: [
        { version: 1, status: 'ENDED', endReason: 'RETURNED_HOME' },
        { version: 2, status: 'ENDED', endReason: 'DISCARDED' },
      ],
    });
    expect((await verifyAuditChain(t.server.deps.db)).ok).toBe(true);
  });

  it('withdrawal and an amendment of the same agreement: one wins, the other is a plain CONFLICT', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    const v1 = await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    const [withdrawn, amended] = await race(
      p.id,
      () => t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: AGREEMENT) { kind } }`, {}, official.token),
      () => t.gql(`mutation { amendAgreement(id: "${v1.id}", input: { cadence: MONTHLY }) { id } }`, {}, official.token),
    );
    expect(withdrawn.errors).toBeUndefined();
    expect(code(amended)).toBe('CONFLICT');
    expect((await t.gql(AGREEMENTS, { id: p.id }, official.token)).data?.person).toEqual({
      status: 'WITHDRAWN',
      agreements: [{ version: 1, status: 'ENDED', endReason: 'WITHDRAWN' }],
    });
  });

  it('a status report and a signature on the same person both go through', async () => {
    const { p, v2 } = await amendedPerson();
    const [report, signed] = await race(
      p.id,
      () => t.gql(`mutation { submitStatusReport(input: { personId: "${p.id}", period: "2026-Q1", arrival: PHONE, phone: "13900001111" }) { id } }`, {}, official.token),
      () => t.gql(`mutation { signAgreement(id: "${v2}", input: { side: PERSON, method: PHONE }) { status } }`, {}, official.token),
    );
    expect(report.errors).toBeUndefined();
    expect(signed.errors).toBeUndefined();
    expect(signed.data?.signAgreement.status).toBe('ACTIVE');
  });
});
