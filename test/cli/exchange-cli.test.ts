import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/db';
import { FakePartner } from '../helpers/partner';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cli-x-'));
let database: TestDatabase | undefined;
let partner: FakePartner | undefined;
afterAll(async () => {
  await partner?.close();
  await database?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('exchange commands of the admin CLI', () => {
  // each admin command is a fresh process (tsx and the database to open): slow on a busy machine
  it('registers an air-gapped partner from a JWKS file, and prints our own JWKS to hand over', { timeout: 120_000 }, async () => {
    database = process.env.DATABASE_URL ? await openTestDatabase() : undefined;
    partner = await FakePartner.start('370406', '320324');
    const jwksFile = path.join(dataDir, 'shanting-jwks.json');
    fs.writeFileSync(jwksFile, JSON.stringify(partner.jwks()));
    const env = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: database?.url ?? '', LOG_LEVEL: 'silent' };
    const admin = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { env, encoding: 'utf8' });

    const registered = JSON.parse(
      admin('partners', 'register', '--county-code', '370406', '--name', '山亭区', '--base-url', 'https://exchange.shanting.example.cn',
        '--jwks-file', jwksFile, '--valid-from', '2026-01-01', '--valid-to', '2099-12-31', '--inbound', 'ARRIVAL,STATUS_REPORT', '--outbound', 'DEPARTURE'),
    );
    expect(registered).toMatchObject({
      countyCode: '370406',
      status: 'ACTIVE',
      jwksUrl: 'https://exchange.shanting.example.cn/.well-known/jwks.json',
      inboundTypes: ['ARRIVAL', 'STATUS_REPORT'],
      outboundTypes: ['DEPARTURE'],
      lookupAllowed: false,
    });
    expect(partner.fetches).toBe(0);

    const ours = JSON.parse(admin('keys', 'jwks')) as { keys: Record<string, string>[] };
    expect(ours.keys).toHaveLength(1);
    expect(ours.keys[0]).toMatchObject({ kty: 'EC', alg: 'ES256', use: 'sig' });
    expect(ours.keys[0]).not.toHaveProperty('d');
  });
});
