import { count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit, collectAudit, verifyAuditChain, writeAudit } from '../../src/audit/service';
import { auditLog, people, users } from '../../src/db/schema';
import { nextIdNumber, REGISTER } from '../helpers/registry';
import { systemCaller } from '../../src/policy/actor';
import { startTestServer, SEED, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string; id: string };
beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const db = () => t.server.deps.db;
const auditCount = async () => (await db().select({ n: count() }).from(auditLog))[0]!.n;

describe('audit log', () => {
  it('records a mutation with who, what, which record, from where and the outcome', async () => {
    const r = await t.gql(`mutation { createUser(input:{username:"audited", displayName:"x", password:"long enough pw", role: VILLAGE_OFFICIAL, scope:"${SEED.villageWangji}"}) { id } }`, {}, admin.token);
    const id = r.data!.createUser.id;
    const log = await t.gql(`{ auditLog(filter:{targetId:"${id}", action:"user.create"}) { edges { node { actorType actorId actorRole action targetType outcome ip requestId details } } } }`, {}, admin.token);
    expect(log.data?.auditLog.edges).toHaveLength(1);
    const node = log.data!.auditLog.edges[0].node;
    expect(node).toMatchObject({ actorType: 'USER', actorId: admin.id, actorRole: 'COUNTY_ADMIN', targetType: 'User', outcome: 'SUCCESS', details: { role: 'VILLAGE_OFFICIAL' } });
    expect(node.ip).toMatch(/127\.0\.0\.1/);
    expect(node.requestId).toBeTruthy();
  });

  it('writes nothing, neither the change nor its audit row, when the transaction fails', async () => {
    const before = await auditCount();
    await expect(
      db().transaction(async (tx) => {
        await tx.insert(users).values({ username: 'halfway', displayName: 'x', passwordHash: 'x', role: 'COUNTY_ADMIN' });
        await appendAudit(tx, systemCaller('test'), { action: 'user.create', targetType: 'User' });
        throw new Error('a later step fails');
      }),
    ).rejects.toThrow('a later step fails');
    expect(await auditCount()).toBe(before);
    expect(await db().select().from(users).where(eq(users.username, 'halfway'))).toHaveLength(0);
  });

  it('leaves no audit row and no user for a mutation refused as a conflict', async () => {
    const q = `mutation { createUser(input:{username:"once", displayName:"x", password:"long enough pw", role: COUNTY_ADMIN}) { id } }`;
    await t.gql(q, {}, admin.token);
    const before = await auditCount();
    const again = await t.gql(q, {}, admin.token);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect(await auditCount()).toBe(before);
    expect(await db().select().from(users).where(eq(users.username, 'once'))).toHaveLength(1);
  });

  it('leaves nothing of a GraphQL mutation whose later write fails: no person, no dependant, no audit row', async () => {
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    // The database refuses the second write of registerPerson (its dependant) after the person row was inserted.
    await db().execute(sql`alter table dependants add constraint test_refuse_all check (false) not valid`);
    try {
      const before = await auditCount();
      const r = await t.gql(REGISTER, { input: { name: '半途', idNumber: nextIdNumber(), homeVillageCode: SEED.villageWangji, dependants: [{ relation: 'CHILD', ageBand: 'AGE_6_11' }] } }, official.token);
      expect(r.errors?.[0]?.extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(await auditCount()).toBe(before);
      expect(await db().select().from(people).where(eq(people.name, '半途'))).toHaveLength(0);
    } finally {
      await db().execute(sql`alter table dependants drop constraint test_refuse_all`);
    }
  });

  it('collects the entries of a batch step and writes them once at the end; a failed step leaves none', async () => {
    const before = await auditCount();
    const caller = systemCaller('batch');
    const kept = await collectAudit(async () => {
      await appendAudit(db(), caller, { action: 'batch.kept', targetId: 'a' });
      await appendAudit(db(), caller, { action: 'batch.kept', targetId: 'b' });
      return 'done';
    });
    await expect(collectAudit(async () => {
      await appendAudit(db(), caller, { action: 'batch.dropped' });
      throw new Error('this step fails');
    })).rejects.toThrow('this step fails');
    // Nothing is written while collecting.
    expect(await auditCount()).toBe(before);
    expect(kept.result).toBe('done');
    await db().transaction((tx) => writeAudit(tx, kept.pending));
    const rows = await db().select().from(auditLog).where(eq(auditLog.action, 'batch.kept'));
    expect(rows.map((r) => r.targetId).sort()).toEqual(['a', 'b']);
    expect(await db().select().from(auditLog).where(eq(auditLog.action, 'batch.dropped'))).toHaveLength(0);
    expect((await verifyAuditChain(db())).ok).toBe(true);
  });

  it('refuses UPDATE and DELETE on the log at the database', async () => {
    await expect(db().execute(sql`update audit_log set action = 'x'`)).rejects.toThrow();
    await expect(db().execute(sql`delete from audit_log`)).rejects.toThrow();
  });

  it('verifies the chain, and detects an edited row', async () => {
    const good = await t.gql('{ verifyAuditChain { ok checked headHash } }', {}, admin.token);
    expect(good.data?.verifyAuditChain.ok).toBe(true);
    expect(good.data?.verifyAuditChain.checked).toBeGreaterThan(3);
    const [victim] = await db().select().from(auditLog).orderBy(auditLog.id).limit(1).offset(2);
    // Someone with database access edits a row behind the application's back.
    await db().transaction(async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
      await tx.execute(sql`update audit_log set action = 'nothing.to.see' where id = ${victim!.id}`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_no_update_delete`);
    });
    const bad = await verifyAuditChain(db());
    expect(bad).toMatchObject({ ok: false, brokenAtId: victim!.id, reason: expect.stringContaining('edited') });
  });

  it('detects a removed row by the broken link', async () => {
    const [before] = await db().select().from(auditLog).orderBy(sql`${auditLog.id} desc`).limit(1);
    await t.gql(`mutation { createUser(input:{username:"later", displayName:"x", password:"long enough pw", role: COUNTY_ADMIN}) { id } }`, {}, admin.token);
    await db().transaction(async (tx) => {
      await tx.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
      await tx.execute(sql`delete from audit_log where id = ${before!.id}`);
      await tx.execute(sql`alter table audit_log enable trigger audit_log_no_update_delete`);
    });
    const report = await verifyAuditChain(db());
    expect(report.ok).toBe(false);
  });
});
