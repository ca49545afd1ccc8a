import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { auditLog } from '../../src/audit/tables';
import { loadConfig } from '../../src/config';
import type { Db } from '../../src/db/client';
import { createLogger } from '../../src/logger';
import { registerPerson } from '../../src/people/service';
import { people, personChanges } from '../../src/people/tables';
import { systemCaller } from '../../src/policy/actor';
import { startServer } from '../../src/server';
import { admin } from '../helpers/cli';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { nextIdNumber } from '../helpers/registry';
import { SEED } from '../helpers/server';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cli-'));
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `work` against the database the commands use (PostgreSQL: this test's; PGlite: the data folder). */
async function withServer<T>(work: (deps: Awaited<ReturnType<typeof startServer>>['deps']) => Promise<T>): Promise<T> {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database?.url, PORT: '0', LOG_LEVEL: 'silent' });
  const server = await startServer(config, { logger: createLogger('silent') });
  try {
    return await work(server.deps);
  } finally {
    await server.close();
  }
}

const textOf = (db: Db, ids: string[]) =>
  db.select({ id: people.id, name: people.name, employer: people.employer, currentArea: people.currentArea, occupation: people.occupation }).from(people).where(inArray(people.id, ids));

describe('clean-person-text', () => {
  it('lists people whose text holds control characters (ids and fields only), and with --fix cleans them as an audited system change', async () => {
    database = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: database?.url ?? '', LOG_LEVEL: 'silent' };
    const ids = await withServer(async (deps) => {
      const add = async (name: string) => (await registerPerson(deps, systemCaller('test'), { name, idNumber: nextIdNumber(), homeVillageCode: SEED.villageWangji })).id;
      const legacy = await add('王芳');
      const blank = await add('李四');
      const clean = await add('张三');
      // as stored before the GraphQL text guard existed
      await deps.db.update(people).set({ name: '王芳\r\n', employer: '旧\u0007厂', currentArea: '工业园\t三区', occupation: '电工' }).where(eq(people.id, legacy));
      await deps.db.update(people).set({ name: '\u0001\u0002' }).where(eq(people.id, blank));
      return { legacy, blank, clean };
    });

    const listed = admin(env, 'clean-person-text');
    expect(listed.code).toBe(0);
    const lines = listed.out.trim().split('\n');
    expect(lines).toEqual(
      [
        [ids.legacy, SEED.villageWangji, 'name,currentArea,employer'].join('\t'),
        [ids.blank, SEED.villageWangji, 'name'].join('\t'),
      ]
        .sort()
        .concat('2 people with control characters; run with --fix to clean them'),
    );
    expect(listed.out).not.toContain('王芳'); // no personal data on the terminal

    // (listing changed nothing: the fix below still finds the same fields)
    const fixed = admin(env, 'clean-person-text', '--fix');
    expect(fixed.code).toBe(0);
    expect(fixed.out).toContain(`${ids.legacy}\t${SEED.villageWangji}\tname,currentArea,employer\tCLEANED`);
    expect(fixed.out).toContain(`${ids.blank}\t${SEED.villageWangji}\tname\tLEFT`);
    expect(fixed.out.trim().split('\n').at(-1)).toBe('1 people cleaned, 1 left (the name would be empty: correct it by hand)');

    await withServer(async (deps) => {
      const db = deps.db;
      const rows = Object.fromEntries((await textOf(db, [ids.legacy, ids.blank, ids.clean])).map(({ id, ...text }) => [id, text]));
      expect(rows[ids.legacy]).toEqual({ name: '王芳', employer: '旧厂', currentArea: '工业园 三区', occupation: '电工' });
      expect(rows[ids.blank]!.name).toBe('\u0001\u0002');
      expect(rows[ids.clean]!.name).toBe('张三');
      const changes = await db.select().from(personChanges).where(inArray(personChanges.personId, [ids.legacy, ids.blank]));
      expect(changes.map((c) => ({ personId: c.personId, fields: [...c.fields].sort(), source: c.source, actorType: c.actorType, actorId: c.actorId }))).toEqual([
        { personId: ids.legacy, fields: ['currentArea', 'employer', 'name'], source: 'MAINTENANCE:CONTROL_CHARACTERS', actorType: 'SYSTEM', actorId: 'clean-person-text' },
      ]);
      const audit = await db.select().from(auditLog).where(and(eq(auditLog.action, 'person.update'), inArray(auditLog.targetId, [ids.legacy, ids.blank])));
      expect(audit.map((a) => ({ targetId: a.targetId, actorType: a.actorType, actorId: a.actorId, source: a.details?.source }))).toEqual([
        { targetId: ids.legacy, actorType: 'SYSTEM', actorId: 'clean-person-text', source: 'MAINTENANCE:CONTROL_CHARACTERS' },
      ]);
      expect((await verifyAuditChain(db)).ok).toBe(true);
    });
  }, 180_000); // two runs of the command and three of the server, each booting the registry
});
