import { and, asc, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expireAgreements } from '../../src/agreements/service';
import { agreementEvents, agreements } from '../../src/agreements/tables';
import { auditLog } from '../../src/audit/tables';
import { verifyAuditChain } from '../../src/audit/service';
import { systemCaller } from '../../src/policy/actor';
import { activeAgreement, register } from '../helpers/registry';
import { SEED, type TestServer } from '../helpers/server';
import { rowLocks, startRecordingServer } from '../helpers/statements';

let t: TestServer;
let statements: string[];
let official: { token: string };
beforeAll(async () => {
  ({ t, statements } = await startRecordingServer());
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
});
afterAll(() => t.close());

async function agreementEnding(validTo: string): Promise<string> {
  const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
  return (await activeAgreement(t, official.token, p.id, { validFrom: '2025-01-01', validTo })).id;
}

describe('the daily expiry job', () => {
  it('ends several agreements at once, locking their people and then them in two statements, with one history row and one audit entry each', async () => {
    const over = [await agreementEnding('2026-10-31'), await agreementEnding('2026-11-15'), await agreementEnding('2026-11-22'), await agreementEnding('2026-06-30')];
    const running = await agreementEnding('2026-11-23'); // its last day is the reference day: still in force
    const db = t.server.deps.db;
    statements.length = 0;
    expect(await expireAgreements(t.server.deps, systemCaller('expiry'), '2026-11-23')).toBe(4);
    // set-based: the people, then the agreements, however many expire
    expect(rowLocks(statements)).toEqual(['people', 'agreements']);

    const rows = await db.select().from(agreements).where(inArray(agreements.id, [...over, running]));
    expect(Object.fromEntries(rows.map((a) => [a.id, [a.status, a.endReason, a.nextDueOn]]))).toEqual({
      ...Object.fromEntries(over.map((id) => [id, ['ENDED', 'EXPIRED', null]])),
      [running]: ['ACTIVE', null, expect.any(String)],
    });
    const history = await db
      .select({ agreementId: agreementEvents.agreementId, actorType: agreementEvents.actorType, actorId: agreementEvents.actorId, details: agreementEvents.details })
      .from(agreementEvents)
      .where(and(inArray(agreementEvents.agreementId, [...over, running]), eq(agreementEvents.action, 'END')));
    expect(history.sort((a, b) => a.agreementId.localeCompare(b.agreementId))).toEqual(
      [...over].sort().map((agreementId) => ({ agreementId, actorType: 'SYSTEM', actorId: 'expiry', details: { reason: 'EXPIRED' } })),
    );
    const audit = await db
      .select({ targetId: auditLog.targetId, actorType: auditLog.actorType, actorId: auditLog.actorId, details: auditLog.details })
      .from(auditLog)
      .where(and(eq(auditLog.action, 'agreement.end'), inArray(auditLog.targetId, [...over, running])))
      .orderBy(asc(auditLog.id));
    expect(audit.map((a) => a.targetId).sort()).toEqual([...over].sort());
    expect(new Set(audit.map(({ targetId: _, ...rest }) => JSON.stringify(rest)))).toEqual(new Set([JSON.stringify({ actorType: 'SYSTEM', actorId: 'expiry', details: { reason: 'EXPIRED' } })]));
    expect((await verifyAuditChain(db)).ok).toBe(true);

    // Run again: nothing left to expire, and no lock taken.
    statements.length = 0;
    expect(await expireAgreements(t.server.deps, systemCaller('expiry'), '2026-11-23')).toBe(0);
    expect(rowLocks(statements)).toEqual([]);
  });
});
