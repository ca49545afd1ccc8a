import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configForProcess } from '../../src/cluster';
import { ConfigError, loadConfig } from '../../src/config';
import { engine, openTestDatabase } from '../helpers/db';

const postgresUrl = 'postgres://postgres@127.0.0.1:5432/x';

describe('SERVER_PROCESSES', () => {
  it('is one process unless set, "auto" is one per core on PostgreSQL, and PGlite refuses more than one', () => {
    expect(loadConfig({}).serverProcesses).toBe(1);
    expect(loadConfig({ DATABASE_URL: postgresUrl, SERVER_PROCESSES: '3' }).serverProcesses).toBe(3);
    expect(loadConfig({ DATABASE_URL: postgresUrl, SERVER_PROCESSES: 'auto' }).serverProcesses).toBe(os.availableParallelism());
    expect(loadConfig({ SERVER_PROCESSES: 'auto' }).serverProcesses).toBe(1);
    expect(() => loadConfig({ SERVER_PROCESSES: '2' })).toThrow(ConfigError);
    expect(() => loadConfig({ SERVER_PROCESSES: '2' })).toThrow(/SERVER_PROCESSES.*DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: postgresUrl, SERVER_PROCESSES: '0' })).toThrow(/SERVER_PROCESSES/);
    expect(() => loadConfig({ DATABASE_URL: postgresUrl, SERVER_PROCESSES: 'many' })).toThrow(/SERVER_PROCESSES/);
  });

  it('runs the background jobs in the first process only', () => {
    const config = loadConfig({ DATABASE_URL: postgresUrl, SERVER_PROCESSES: '2', NODE_ENV: 'production' });
    expect(configForProcess(config, {})).toBe(config);
    expect(configForProcess(config, { REGISTRY_PROCESS_SLOT: '1' })).toBe(config);
    const second = configForProcess(config, { REGISTRY_PROCESS_SLOT: '2' });
    expect(second.exchange.deliveryEnabled).toBe(false);
    expect(second.reminders.enabled).toBe(false);
    expect(config.exchange.deliveryEnabled).toBe(true);
    expect(config.reminders.enabled).toBe(true);
  });

  it('the start command exits with EX_CONFIG when PGlite is asked for two processes', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, DATABASE_URL: '', SERVER_PROCESSES: '2' },
      encoding: 'utf8',
    });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/SERVER_PROCESSES/);
  });
});

/** The pids of a process's children, from /proc. */
function children(pid: number): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const line = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (line) out.push(...line.split(' ').map(Number));
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(engine === 'postgres')('several server processes on one PostgreSQL', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-processes-'));
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('share the port, replace a process that dies, and all stop on SIGTERM', { timeout: 120_000 }, async () => {
    const db = await openTestDatabase();
    let primary: ChildProcess | undefined;
    try {
      const port = await freePort();
      // A fresh secrets file: the primary creates it once, before the processes start (they would race for it).
      const secretsFile = path.join(dataDir, 'secrets.json');
      primary = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, DATABASE_URL: db.url, SERVER_PROCESSES: '2', PORT: String(port), SECRETS_FILE: secretsFile, LOG_LEVEL: 'silent', NODE_ENV: 'development', REMINDERS_ENABLED: 'false' },
        stdio: 'inherit',
      });
      const pid = primary.pid!;
      const exited = new Promise<number | null>((resolve) => primary!.once('exit', (code) => resolve(code)));
      const url = `http://127.0.0.1:${port}`;
      const answers = async (): Promise<any> => {
        const r = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', connection: 'close' },
          body: JSON.stringify({ query: '{ serverInfo { countyCode } }' }),
          // a connection handed to a process as it is killed may never be answered
          signal: AbortSignal.timeout(3_000),
        });
        return r.json();
      };
      await until('readiness', () => fetch(`${url}/readyz`).then((r) => (r.ok ? true : undefined), () => undefined));
      const first = await until('two server processes', () => (children(pid).length === 2 ? children(pid) : undefined));
      expect(fs.statSync(secretsFile).mode & 0o777).toBe(0o600);
      // node:cluster hands connections to the processes in turn: each of these is a new connection.
      for (let i = 0; i < 6; i++) expect(await answers()).toEqual({ data: { serverInfo: { countyCode: '320324' } } });

      process.kill(first[0]!, 'SIGKILL');
      const replaced = await until('a replacement process', () => {
        const now = children(pid);
        return now.length === 2 && !now.includes(first[0]!) ? now : undefined;
      });
      expect(replaced).toContain(first[1]);
      // With the other first process gone too, only the replacement can answer.
      process.kill(first[1]!, 'SIGKILL');
      await until('the replacement to answer alone', async () => ((await answers().catch(() => null))?.data?.serverInfo?.countyCode === '320324' ? true : undefined));
      const last = await until('two processes again', () => (children(pid).length === 2 ? children(pid) : undefined));

      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const pid of last) expect(alive(pid)).toBe(false);
    } finally {
      primary?.kill('SIGKILL');
      await db.close();
    }
  });

  it('give up, exit 1, when the processes keep failing as they start (here: the port is taken)', { timeout: 90_000 }, async () => {
    const db = await openTestDatabase();
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
    let primary: ChildProcess | undefined;
    try {
      const port = (taken.address() as net.AddressInfo).port;
      primary = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, DATABASE_URL: db.url, SERVER_PROCESSES: '2', PORT: String(port), SECRETS_FILE: path.join(dataDir, 'secrets-3.json'), LOG_LEVEL: 'silent', NODE_ENV: 'development', REMINDERS_ENABLED: 'false' },
        stdio: 'inherit',
      });
      const code = await new Promise<number | null>((resolve) => primary!.once('exit', (c) => resolve(c)));
      expect(code).toBe(1);
    } finally {
      primary?.kill('SIGKILL');
      taken.close();
      await db.close();
    }
  });

  // node:cluster's own rule (a process whose primary has gone exits at once); checked, since nothing here must outlive it
  it('stop when their primary is killed', { timeout: 90_000 }, async () => {
    const db = await openTestDatabase();
    let primary: ChildProcess | undefined;
    try {
      const port = await freePort();
      primary = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: { ...process.env, DATABASE_URL: db.url, SERVER_PROCESSES: '2', PORT: String(port), SECRETS_FILE: path.join(dataDir, 'secrets-2.json'), LOG_LEVEL: 'silent', NODE_ENV: 'development', REMINDERS_ENABLED: 'false' },
        stdio: 'inherit',
      });
      const pid = primary.pid!;
      const workers = await until('two server processes', () => (children(pid).length === 2 ? children(pid) : undefined), 60_000);
      await until('readiness', () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => (r.ok ? true : undefined), () => undefined));
      primary.kill('SIGKILL');
      await until('the server processes to stop', () => (workers.every((w) => !alive(w)) ? true : undefined), 20_000);
    } finally {
      primary?.kill('SIGKILL');
      await db.close();
    }
  });
});
