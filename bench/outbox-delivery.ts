// Outbox delivery end to end: two counties on 127.0.0.1 with their own PostgreSQL databases; 100,000 records are
// queued in the home county, then its delivery worker is started and pushes them to the partner. Measures
// records/s from start until the last one is acknowledged.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/outbox-delivery.ts [--records 100000]
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { createUser } from '../src/auth/service';
import { boot } from '../src/bootstrap';
import { addDays } from '../src/calendar';
import { loadConfig } from '../src/config';
import { outboundRecords } from '../src/db/schema';
import { queueRecord } from '../src/exchange/outbox';
import { createLogger } from '../src/logger';
import { makeResidentId } from '../src/people/fixtures';
import { systemCaller } from '../src/policy/actor';
import { fmtRate, printTable, Progress, requireDatabaseUrl, resultsDir, writeResult } from './lib';
import { freePort, startBenchServer, type BenchServer } from './server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** A distinct valid ID number per record: birth dates from 1970 on, then the sequence digits. */
const subjectId = (j: number) => makeResidentId('320324', addDays('1970-01-01', j % 10_000).replace(/-/g, ''), Math.floor(j / 10_000) % 1000);

const ALL = ['DEPARTURE', 'ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'RETURN_HOME', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];
const PASSWORD = 'bench-password-1';

interface County {
  code: string;
  url: string;
  secretsFile: string;
  port: number;
}

async function freshDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

function env(c: County, extra: Record<string, string> = {}) {
  // Both counties on 127.0.0.1: plain http and loopback addresses between them are allowed for the benchmark.
  return { DATABASE_URL: c.url, SECRETS_FILE: c.secretsFile, COUNTY_CODE: c.code, PORT: String(c.port), EXCHANGE_DELIVERY_ENABLED: 'false', EXCHANGE_ALLOW_HTTP: 'true', EXCHANGE_ALLOW_PRIVATE_ADDRESSES: 'true', ...extra };
}

async function main() {
  const adminUrl = requireDatabaseUrl();
  const total = arg('records', 100_000);
  const counties: County[] = [];
  for (const [code, db] of [['320324', 'hl_bench_home'], ['320506', 'hl_bench_dest']] as const) {
    const secretsFile = path.join(resultsDir, `secrets-${code}.json`);
    fs.rmSync(secretsFile, { force: true });
    counties.push({ code, url: await freshDatabase(adminUrl, db), secretsFile, port: await freePort() });
  }
  const [home, dest] = counties as [County, County];

  // Admin accounts, then both servers up and registered as partners of each other through their JWKS.
  for (const c of counties) {
    const { deps, database } = await boot(loadConfig(env(c)), { logger: createLogger('warn') });
    await createUser(deps, systemCaller('bench'), { username: 'admin', password: PASSWORD, displayName: 'admin', role: 'COUNTY_ADMIN' });
    await database.close();
  }
  let homeServer: BenchServer = await startBenchServer(env(home));
  const destServer = await startBenchServer(env(dest));
  for (const [at, other] of [[homeServer, destServer], [destServer, homeServer]] as const) {
    const token = await at.login('admin', PASSWORD);
    const otherCode = other === destServer ? dest.code : home.code;
    const r = await at.gql('mutation($i: RegisterPartnerInput!) { registerPartner(input: $i) { countyCode } }', {
      i: { countyCode: otherCode, name: `County ${otherCode}`, baseUrl: other.url, validFrom: '2020-01-01', validTo: '2099-12-31', inboundTypes: ALL, outboundTypes: ALL },
    }, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  await homeServer.stop();

  // Queue the records in the home county's outbox (not timed), 1,000 per transaction.
  const { deps, database } = await boot(loadConfig(env(home)), { logger: createLogger('warn') });
  const queued = new Progress('queue', total);
  for (let i = 0; i < total; i += 1000) {
    await deps.db.transaction(async (tx) => {
      for (let j = i; j < Math.min(total, i + 1000); j++) {
        await queueRecord({ ...deps, db: tx }, {
          partnerCode: dest.code,
          type: 'STATUS_REPORT',
          subject: { idNumber: subjectId(j), name: '测试' },
          body: { period: '2026-Q3', place: { countyCode: dest.code }, workStatus: 'EMPLOYED', needs: [] },
        });
      }
    });
    queued.add(Math.min(1000, total - i));
  }

  // Start the worker and time it until the last record is acknowledged.
  homeServer = await startBenchServer(env(home, { EXCHANGE_DELIVERY_ENABLED: 'true', EXCHANGE_DELIVERY_INTERVAL_MS: '50', EXCHANGE_DELIVERY_BATCH_SIZE: '500' }));
  // Timed from the moment the worker's server is ready (its start-up is cold-start's business).
  const started = performance.now();
  const delivered = new Progress('deliver', total);
  let last = 0;
  for (;;) {
    const [row] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(outboundRecords).where(sql`${outboundRecords.status} = 'DELIVERED'`);
    const n = row?.n ?? 0;
    delivered.add(n - last);
    last = n;
    if (n >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const [failed] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(outboundRecords).where(sql`${outboundRecords.status} = 'FAILED'`);
  await database.close();
  await homeServer.stop();
  await destServer.stop();

  const result = { records: total, seconds, recordsPerSecond: total / seconds, failed: failed?.n ?? 0, goalRecordsPerSecond: 2000 };
  printTable([{ records: total, seconds: seconds.toFixed(1), 'records/s': fmtRate(result.recordsPerSecond), failed: result.failed, goal: '>= 2,000 records/s' }]);
  console.log(`results: ${writeResult('outbox-delivery', result)}`);
}

await main();
