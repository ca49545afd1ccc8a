import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-start-'));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

// The newcomer's path, whatever engine the suite runs on: `npm start` builds the bundle and runs it on the embedded
// database. Graceful shutdown must close that database (its lock file goes) and exit 0.
describe('the start command', () => {
  it('serves the probes and GraphQL from the bundle, and shuts down cleanly on SIGTERM', { timeout: 120_000 }, async () => {
    execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: '', PORT: String(port), LOG_LEVEL: 'silent', NODE_ENV: 'development' },
      stdio: 'inherit',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 600; i++) {
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    const gql = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ serverInfo { countyCode } }' }) });
    expect(await gql.json()).toEqual({ data: { serverInfo: { countyCode: '320324' } } });
    expect(fs.existsSync(path.join(dataDir, 'pglite.lock'))).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'pglite.lock'))).toBe(false);
  });
});
