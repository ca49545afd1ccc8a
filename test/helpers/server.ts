import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createUser, type NewUserInput } from '../../src/auth/service';
import { addDays, todayIn } from '../../src/calendar';
import { loadConfig, type Config } from '../../src/config';
import type { DestinationStream } from 'pino';
import { createLogger } from '../../src/logger';
import { systemCaller } from '../../src/policy/actor';
import { Secrets } from '../../src/secrets';
import { startServer, type RunningServer } from '../../src/server';
import { openTestDatabase, type TestDatabase } from './db';

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data: T | null | undefined;
  errors?: { message: string; path?: string[]; extensions: { code: string; field?: string; [k: string]: unknown } }[];
}

export interface TestServer {
  server: RunningServer;
  database: TestDatabase;
  config: Config;
  url: string;
  /**
   * The date `n` days from the day the test runs, in the county's calendar: for dates the registry compares with
   * today (an agreement's end, an inquiry's deadline, a period not started yet), which a fixed date would one day pass.
   */
  day(n: number): string;
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  /** Creates a user directly (as the bootstrap command would) and logs them in. */
  user(input: Partial<NewUserInput> & Pick<NewUserInput, 'role'>): Promise<{ id: string; token: string; username: string; password: string }>;
  /** Stops the HTTP server (the database stays): the county is "down". */
  stop(): Promise<void>;
  /** Starts it again on the same port, database and data keys. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestServer(
  env: Record<string, string> = {},
  dbOpts: { onQuery?: (sql: string) => void; logTo?: DestinationStream } = {},
): Promise<TestServer> {
  const database = await openTestDatabase(dbOpts);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-srv-'));
  // The delivery worker is off unless a test turns it on; tests drive it with server.delivery.runOnce(). Partners
  // are servers on 127.0.0.1 over http, which a county in production would refuse.
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    EXCHANGE_DELIVERY_ENABLED: 'false',
    EXCHANGE_ALLOW_HTTP: 'true',
    EXCHANGE_ALLOW_PRIVATE_ADDRESSES: 'true',
    ...env,
  });
  const secrets = Secrets.generate();
  const logger = createLogger(config.logLevel, dbOpts.logTo);
  let server = await startServer(config, { database, secrets, logger });
  let running = true;

  const gql: TestServer['gql'] = async (query, variables, token) => {
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as Omit<GqlResult, 'status'>;
    return { status: res.status, ...body } as GqlResult<any>;
  };

  return {
    get server() {
      return server;
    },
    database,
    config,
    url: server.url,
    day: (n) => addDays(todayIn(config.timeZone), n),
    gql,
    async user(input) {
      const username = input.username ?? `u${process.pid}x${++counter}`;
      const password = input.password ?? 'correct horse battery';
      const u = await createUser(server.deps, systemCaller('test'), {
        username,
        password,
        displayName: input.displayName ?? username,
        role: input.role,
        scope: input.scope ?? null,
      });
      const r = await gql('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: username, p: password });
      if (!r.data?.login) throw new Error(`login failed: ${JSON.stringify(r.errors)}`);
      return { id: u.id, token: r.data.login.token as string, username, password };
    },
    async stop() {
      running = false;
      await server.close();
    },
    async restart() {
      if (running) await server.close();
      server = await startServer({ ...config, port: server.port }, { database, secrets, logger });
      running = true;
    },
    async close() {
      if (running) await server.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The division codes from the built-in Suining seed that tests use. */
export const SEED = {
  county: '320324',
  townWangji: '320324101',
  villageWangji: '320324101201',
  villageLiyushan: '320324101202',
  townShuanggou: '320324102',
  villageShuanggou: '320324102201',
} as const;
