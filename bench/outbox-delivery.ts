// Outbox delivery end to end: two counties on 127.0.0.1 with their own PostgreSQL databases; 100,000 records are
// queued in the home county, then its delivery worker is started and pushes them to the partner. Measures
// records/s from start until the last one is acknowledged, and which side bounds it: the home county reaches the
// partner through a timing proxy (how long the receiver had a push in hand), and the CPU each side used (its
// server process and its PostgreSQL backends) is read from /proc.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/outbox-delivery.ts [--records 100000]
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { createUser } from '../src/auth/service';
import { boot } from '../src/bootstrap';
import { addDays } from '../src/calendar';
import { loadConfig } from '../src/config';
import { queueRecord } from '../src/exchange/outbox';
import { createLogger } from '../src/logger';
import { makeResidentId } from '../src/people/fixtures';
import { systemCaller } from '../src/policy/actor';
import { cpuMeter, fmtRate, printTable, Progress, requireDatabaseUrl, resultsDir, writeResult } from './lib';
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

/**
 * Forwards everything to `target`, timing the pushes (POST /exchange/v1/records): `busyMs` is the time at least
 * one push was in the receiver's hands (from its arrival to the end of the answer), so records / busy seconds is
 * the receiver's own accept rate, whatever the sender did in between.
 */
async function timingProxy(target: string) {
  const to = new URL(target);
  const stats = { pushes: 0, busyMs: 0, pushMs: 0 };
  let active = 0;
  let since = 0;
  const server = http.createServer((req, res) => {
    const push = req.method === 'POST' && req.url === '/exchange/v1/records';
    const arrived = performance.now();
    if (push && active++ === 0) since = arrived;
    res.on('close', () => {
      if (!push) return;
      const now = performance.now();
      stats.pushes += 1;
      stats.pushMs += now - arrived;
      if (--active === 0) stats.busyMs += now - since;
    });
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function env(c: County, extra: Record<string, string> = {}) {
  // Both counties on 127.0.0.1: plain http and loopback addresses between them are allowed for the benchmark.
  return { DATABASE_URL: c.url, SECRETS_FILE: c.secretsFile, COUNTY_CODE: c.code, PORT: String(c.port), EXCHANGE_DELIVERY_ENABLED: 'false', EXCHANGE_ALLOW_HTTP: 'true', EXCHANGE_ALLOW_PRIVATE_ADDRESSES: 'true', ...extra };
}

async function main() {
  const adminUrl = requireDatabaseUrl();
  const total = arg('records', 100_000);
  const counties: County[] = [];
  const names = ['hl_bench_home', 'hl_bench_dest'] as const;
  for (const [code, db] of [['320324', names[0]], ['320506', names[1]]] as const) {
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
  const proxy = await timingProxy(destServer.url);
  // The home county reaches the partner through the timing proxy.
  for (const [at, other, baseUrl] of [[homeServer, destServer, proxy.url], [destServer, homeServer, homeServer.url]] as const) {
    const token = await at.login('admin', PASSWORD);
    const otherCode = other === destServer ? dest.code : home.code;
    const r = await at.gql('mutation($i: RegisterPartnerInput!) { registerPartner(input: $i) { countyCode } }', {
      i: { countyCode: otherCode, name: `County ${otherCode}`, baseUrl, validFrom: '2020-01-01', validTo: '2099-12-31', inboundTypes: ALL, outboundTypes: ALL },
    }, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  await homeServer.stop();

  // Queue the records in the home county's outbox (not timed), 1,000 per transaction, a few transactions at once.
  const { deps, database } = await boot(loadConfig(env(home)), { logger: createLogger('warn') });
  const queued = new Progress('queue', total);
  const chunks = Array.from({ length: Math.ceil(total / 1000) }, (_, k) => k * 1000);
  const queueChunk = async (i: number) => {
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
  };
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = chunks.shift(); i !== undefined; i = chunks.shift()) await queueChunk(i);
  }));
  await database.close();

  // The bench's own connection names itself, so the CPU meters leave it out.
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'bench-outbox' } });
  const poll = postgres(home.url, { max: 1, onnotice: () => {}, connection: { application_name: 'bench-outbox' } });

  // Start the worker and time it until the last record is acknowledged.
  homeServer = await startBenchServer(env(home, { EXCHANGE_DELIVERY_ENABLED: 'true', EXCHANGE_DELIVERY_INTERVAL_MS: '50', EXCHANGE_DELIVERY_BATCH_SIZE: '500' }));
  // Timed from the moment the worker's server is ready (its start-up is cold-start's business).
  const started = performance.now();
  const [senderCpu, receiverCpu] = [await cpuMeter(admin, homeServer.process.pid!, names[0]), await cpuMeter(admin, destServer.process.pid!, names[1])];
  const busyBefore = proxy.stats.busyMs;
  const delivered = new Progress('deliver', total);
  let last = 0;
  for (;;) {
    const [row] = await poll<{ n: number }[]>`select count(*)::int as n from exchange_outbound_records where status = 'DELIVERED'`;
    const n = row?.n ?? 0;
    delivered.add(n - last);
    last = n;
    if (n >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  const [sender, receiver] = [await senderCpu(), await receiverCpu()];
  const receiverBusy = (proxy.stats.busyMs - busyBefore) / 1000;
  const [failed] = await poll<{ n: number }[]>`select count(*)::int as n from exchange_outbound_records where status = 'FAILED'`;
  await poll.end();
  await admin.end();
  await homeServer.stop();
  await destServer.stop();
  await proxy.close();

  const perRecordMs = (cpu: { node: number; pg: number }) => ({ node: (cpu.node * 1000) / total, pg: (cpu.pg * 1000) / total });
  const result = {
    records: total,
    seconds,
    recordsPerSecond: total / seconds,
    failed: failed?.n ?? 0,
    goalRecordsPerSecond: 2000,
    receiver: { busySeconds: receiverBusy, acceptRecordsPerSecond: total / receiverBusy, pushes: proxy.stats.pushes, meanPushMs: proxy.stats.pushMs / proxy.stats.pushes, cpuMsPerRecord: perRecordMs(receiver) },
    sender: { cpuMsPerRecord: perRecordMs(sender) },
  };
  const ms = (cpu: { node: number; pg: number }) => `${cpu.node.toFixed(2)} + ${cpu.pg.toFixed(2)}`;
  printTable([
    {
      records: total,
      seconds: seconds.toFixed(1),
      'records/s': fmtRate(result.recordsPerSecond),
      'receiver busy': `${((100 * receiverBusy) / seconds).toFixed(0)}%`,
      'receiver accepts/s': fmtRate(result.receiver.acceptRecordsPerSecond),
      'sender CPU ms/rec (node + pg)': ms(result.sender.cpuMsPerRecord),
      'receiver CPU ms/rec (node + pg)': ms(result.receiver.cpuMsPerRecord),
      failed: result.failed,
      goal: '>= 2,000 records/s',
    },
  ]);
  console.log(
    `The receiver had a push in hand ${((100 * receiverBusy) / seconds).toFixed(0)}% of the time (${proxy.stats.pushes} pushes, ${result.receiver.meanPushMs.toFixed(0)} ms each on average): ` +
      (receiverBusy / seconds > 0.9 ? 'it bounds the figure.' : 'the rest of the time it waited for the sender.'),
  );
  console.log(`results: ${writeResult('outbox-delivery', result)}`);
}

await main();
