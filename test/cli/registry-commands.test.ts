import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { rows } from '../../src/db/client';
import { createLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { admin } from '../helpers/cli';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cli-'));
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `work` against the same database the commands use (PostgreSQL: this test's; PGlite: the data folder). */
async function withServer<T>(work: (db: Awaited<ReturnType<typeof startServer>>['deps']['db']) => Promise<T>): Promise<T> {
  const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database?.url, PORT: '0', LOG_LEVEL: 'silent' });
  const server = await startServer(config, { logger: createLogger('silent') });
  try {
    return await work(server.deps.db);
  } finally {
    await server.close();
  }
}

describe('registry admin commands', () => {
  // each admin command is a fresh process (tsx and the database to open): slow on a busy machine
  it("load an operator's division list, refuse a malformed one whole, and verify the audit chain", { timeout: 120_000 }, async () => {
    database = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: database?.url ?? '', LOG_LEVEL: 'silent' };
    const good = path.join(dataDir, 'divisions.csv');
    fs.writeFileSync(good, 'code,name\n320324199,新设镇\n320324199201,新设村\n');
    const loaded = admin(env, 'load-divisions', good);
    expect(loaded.code).toBe(0);
    const bad = path.join(dataDir, 'bad.csv');
    fs.writeFileSync(bad, 'code,name\n320324198,另一镇\n32032419820,位数不对的村\n');
    const refused = admin(env, 'load-divisions', bad);
    expect(refused.code).toBe(1);
    const codes = await withServer(async (db) =>
      (await rows<{ code: string }>(db, sql`select code from divisions where code in ('320324199', '320324199201', '320324198')`)).map((r) => r.code),
    );
    expect(codes).toContain('320324199201');
    expect(codes).not.toContain('320324198'); // nothing of the refused file was written

    const intact = admin(env, 'verify-audit');
    expect(intact.code).toBe(0);
    expect(intact.out).toMatch(/ok['"]?:\s*true/);
    await withServer(async (db) => {
      await db.transaction(async (tx) => {
        await tx.execute(sql`alter table audit_log disable trigger audit_log_no_update_delete`);
        await tx.execute(sql`update audit_log set action = 'edited.afterwards' where id = (select min(id) from audit_log)`);
        await tx.execute(sql`alter table audit_log enable trigger audit_log_no_update_delete`);
      });
    });
    const broken = admin(env, 'verify-audit');
    expect(broken.code).toBe(2);
    expect(broken.out).toMatch(/ok['"]?:\s*false/);
  });
});
