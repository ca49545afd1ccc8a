import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { startServer } from '../../src/server';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cli-'));
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('first administrator from the command line', () => {
  it('creates the admin on a fresh install, who then logs in to the started server', { timeout: 120_000 }, async () => {
    // On PostgreSQL the command and the server share this test's database; on PGlite, the data folder.
    database = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: database?.url ?? '', LOG_LEVEL: 'silent' };
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', 'create-user', '--role', 'COUNTY_ADMIN', '--username', 'admin'], { env, encoding: 'utf8' });
    const password = /password \(shown once\): (\S+)/.exec(out)?.[1];
    expect(password).toBeTruthy();
    expect(fs.existsSync(path.join(dataDir, 'secrets.json'))).toBe(true);

    const config = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: database?.url, PORT: '0', LOG_LEVEL: 'silent' });
    const server = await startServer(config, { logger: createLogger('silent') });
    try {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: `mutation { login(username:"admin", password:"${password}") { user { role } } }` }),
      });
      expect(await res.json()).toEqual({ data: { login: { user: { role: 'COUNTY_ADMIN' } } } });
    } finally {
      await server.close();
    }
  });
});
