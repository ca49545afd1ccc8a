import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admin } from '../helpers/cli';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cli-'));
let database: TestDatabase | undefined;
afterAll(async () => {
  await database?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('admin commands of the association and reminder modules', () => {
  // each admin command is a fresh process (tsx and the database to open): slow on a busy machine
  it('checks association scopes when creating staff, and runs the reminder job for cron', { timeout: 120_000 }, async () => {
    database = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: database?.url ?? '', LOG_LEVEL: 'silent' };
    // The association module's scope check is registered for the command line too (not "cannot be checked yet").
    const staff = admin(env, 'create-user', '--role', 'ASSOCIATION_STAFF', '--username', 'staff', '--scope', '00000000-0000-4000-8000-000000000000');
    expect(staff.code).toBe(1);
    expect(staff.out).toContain('is not a known association id');
    const run = admin(env, 'send-reminders', '--date', '2026-11-23');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({ date: '2026-11-23', planned: 0, sent: 0, retrying: 0, failed: 0 });
    expect(admin(env, 'send-reminders', '--date', '23/11/2026').code).toBe(1);
  });
});
