import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql, type Column, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { projectRoot } from '../paths';
import { ADVISORY_LOCK } from './locks';
import * as schema from './schema';

export type Schema = typeof schema;
/** The database or a transaction on it: every service function takes one of these. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  db: Db;
  engine: 'pglite' | 'postgres';
  /** Applies pending migrations (idempotent). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export const migrationsFolder = path.join(projectRoot, 'drizzle');

export interface OpenOptions {
  databaseUrl?: string | undefined;
  /** PGlite data directory, or `memory://` for a throwaway database. */
  pgliteDataDir?: string;
  /** A tarball from PGlite's dumpDataDir to start from (tests use a migrated template). */
  pgliteLoadDataDir?: Blob;
  poolMax?: number;
  /** Called with every SQL statement drizzle sends (tests count queries with it). */
  onQuery?: (sql: string) => void;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) {
    const client = postgres(opts.databaseUrl, {
      max: opts.poolMax ?? 10,
      onnotice: () => {}, // the migrator's "already exists, skipping" notices are noise
      connection: { application_name: 'hometown-link' },
    });
    const db = drizzlePostgres({ client: preparedByDefault(client), schema, casing: 'snake_case', logger: queryLogger(opts) }) as unknown as Db;
    return {
      db,
      engine: 'postgres',
      migrate: async () => {
        // Instances starting together would each apply a pending migration: one session lock makes them take turns
        // (the later ones then find nothing to do).
        const lock = await client.reserve();
        try {
          await lock`select pg_advisory_lock(${ADVISORY_LOCK.migrate})`;
          await migratePostgres(db as never, { migrationsFolder });
        } finally {
          await lock`select pg_advisory_unlock(${ADVISORY_LOCK.migrate})`.catch(() => undefined);
          lock.release();
        }
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dataDir = opts.pgliteDataDir ?? 'memory://';
  const unlock = dataDir.startsWith('memory://') ? () => {} : lockDataDir(dataDir);
  let client: PGlite;
  try {
    client = await PGlite.create(dataDir, opts.pgliteLoadDataDir ? { loadDataDir: opts.pgliteLoadDataDir } : {});
  } catch (e) {
    unlock();
    throw e;
  }
  const db = drizzlePglite({ client, schema, casing: 'snake_case', logger: queryLogger(opts) }) as unknown as Db;
  return {
    db,
    engine: 'pglite',
    migrate: () => migratePglite(db as never, { migrationsFolder }),
    close: async () => {
      if (!client.closed) await client.close();
      unlock();
    },
  };
}

/**
 * drizzle sends every ordinary query through `client.unsafe(query, params, { prepare: false })`, and postgres.js
 * then needs two round trips per query (Parse/Describe, then Bind/Execute): drizzle-orm issue #6096. Statements
 * are stable (batch lookups use `= any($1)`, see anyOf), so preparing them is safe and halves the round trips.
 */
function preparedByDefault<T extends object>(client: T): T {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'unsafe') {
        return (query: string, params?: unknown[], options?: Record<string, unknown>) =>
          (value as (...a: unknown[]) => unknown).call(target, query, params, { ...options, prepare: true });
      }
      if (prop === 'begin' || prop === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (tx: object) => unknown;
          return (value as (...a: unknown[]) => unknown).call(target, ...args, (tx: object) => fn(preparedByDefault(tx)));
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** `column = any($1)`: one statement whatever the number of ids, unlike `in ($1, $2, ...)`. */
export function anyOf(column: Column, values: readonly string[], pgType: 'uuid' | 'text' = 'uuid'): SQL {
  return sql`${column} = any(${arrayLiteral(values)}::${sql.raw(pgType)}[])`;
}

/** A PostgreSQL array literal, sent as one text parameter: both drivers pass it through unchanged. */
export function arrayLiteral(values: readonly (string | null)[]): string {
  // Built in one pass (a batch sends thousands of values, some of a kilobyte). Most values need no escaping:
  // looking for the two special characters first spares a replace per value.
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as string | null;
    if (i) out += ',';
    out += v === null ? 'NULL' : v.includes('"') || v.includes('\\') ? `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"` : `"${v}"`;
  }
  return `${out}}`;
}

const preparedCache = new WeakMap<Db, Map<string, unknown>>();

/**
 * A query built once per database and reused: drizzle then skips rebuilding its SQL on every call, which matters on
 * paths taken by every request (authentication, page loaders). Only for `db`, not a transaction.
 */
export function prepared<T>(db: Db, name: string, build: (db: Db) => T): T {
  let byName = preparedCache.get(db);
  if (!byName) preparedCache.set(db, (byName = new Map()));
  let q = byName.get(name) as T | undefined;
  if (!q) byName.set(name, (q = build(db)));
  return q;
}

const shapeCache = new WeakMap<Db, Map<string, unknown>>();

/**
 * As prepared, for statements whose text depends on what a request asks (a list's filter shape, page size, the
 * related rows it reads): a caller can choose among many shapes, so at most `max` are kept per database, the least
 * recently used dropped first.
 */
export function preparedShape<T>(db: Db, key: string, max: number, build: (db: Db) => T): T {
  let byKey = shapeCache.get(db);
  if (!byKey) shapeCache.set(db, (byKey = new Map()));
  let q = byKey.get(key) as T | undefined;
  if (q) {
    byKey.delete(key); // (to the end: most recently used)
  } else {
    q = build(db);
    if (byKey.size >= max) byKey.delete(byKey.keys().next().value!);
  }
  byKey.set(key, q);
  return q;
}

/** `column = any(:ids)`, the condition of a prepared batch lookup (see lookupMany). */
export function anyOfIds(column: Column, pgType: 'uuid' | 'text' = 'uuid'): SQL {
  return sql`${column} = any(${sql.placeholder('ids')}::${sql.raw(pgType)}[])`;
}

/**
 * A batch lookup by ids as a prepared query (built once per database): what DataLoaders call for every page.
 * `build` returns the drizzle query with `anyOfIds(...)` in its condition, `.prepare(name)`-ed.
 */
export async function lookupMany<T>(db: Db, name: string, ids: readonly string[], build: (db: Db) => { execute(values: { ids: string }): Promise<T[]> }): Promise<T[]> {
  if (ids.length === 0) return [];
  return prepared(db, name, build).execute({ ids: arrayLiteral(ids) });
}

function queryLogger(opts: OpenOptions) {
  const onQuery = opts.onQuery;
  return onQuery ? { logQuery: (query: string) => onQuery(query) } : false;
}

/**
 * PGlite is single-process: a second process opening the same folder would corrupt it. A lock file with our pid
 * turns that into a clear error (a stale lock from a dead process is taken over).
 */
function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, '..', `${path.basename(dataDir)}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockFile, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lockFile, 'utf8'));
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(`The embedded database in ${dataDir} is in use by process ${pid} (a running server?). Stop it first, or use PostgreSQL (DATABASE_URL).`);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs raw SQL and returns its rows, whichever driver is underneath. */
export async function rows<T>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as T[] | { rows: T[] };
  return Array.isArray(result) ? result : result.rows;
}

export async function ping(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
