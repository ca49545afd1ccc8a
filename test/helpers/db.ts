import crypto from 'node:crypto';
import fs from 'node:fs';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client';

export const engine: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export interface TestDatabase extends Database {
  /** For PostgreSQL: the URL of this test's own database (a second server may need it). */
  url?: string;
}

/** A fresh, migrated database of the engine under test; `close()` throws it away. */
export async function openTestDatabase(opts: { onQuery?: (sql: string) => void } = {}): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = `hl_t_${crypto.randomBytes(6).toString('hex')}`;
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name} template ${inject('pgTemplate')}`);
    const u = new URL(url);
    u.pathname = `/${name}`;
    const database = await openDatabase({ databaseUrl: u.toString(), poolMax: 5, ...opts });
    let closed: Promise<void> | undefined;
    return {
      ...database,
      url: u.toString(),
      close: () =>
        (closed ??= (async () => {
          await database.close();
          await admin.unsafe(`drop database if exists ${name} with (force)`);
          await admin.end();
        })()),
    };
  }
  const dump = new Blob([fs.readFileSync(inject('pgliteTemplateFile'))]);
  return openDatabase({ pgliteDataDir: 'memory://', pgliteLoadDataDir: dump, ...opts });
}
