// Exchange ingest at county scale: a load client on 127.0.0.1 acts as a partner county and pushes signed
// STATUS_REPORT and CONTACT_UPDATE records for people of the generated county, in batches, with valid transport
// tokens. In the same run it measures the two limits the ingest is compared with: verifying the same records with
// jose alone (worker threads, one per CPU), and PostgreSQL inserting the same rows alone. It also reads from /proc
// the CPU the server (all threads, and its main thread) and its PostgreSQL backends used per record: on a machine
// other work loads, that compares two versions better than the rates do.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/hl_bench npx tsx bench/exchange-ingest.ts [--records 20000] [--batch 250] [--parallel 4] [--stride 1]
import crypto from 'node:crypto';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CompactSign, SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import postgres from 'postgres';
import { boot } from '../src/bootstrap';
import { addDays } from '../src/calendar';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { findPartner, pastePartnerKeys, registerPartner } from '../src/partners/service';
import { makeMobile, makeResidentId } from '../src/people/fixtures';
import { systemCaller } from '../src/policy/actor';
import { COUNTY, personName } from './county';
import { benchSecretsFile, cpuMeter, fmtRate, printTable, requireDatabaseUrl, writeResult } from './lib';
import { startBenchServer } from './server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const PARTNER = '320506';
const TYPES = ['STATUS_REPORT', 'CONTACT_UPDATE'];

/** The generator's person number i has this ID number (see bench/generate.ts). */
const idOfPerson = (i: number) => makeResidentId(COUNTY, addDays('1966-01-01', i % 14_600).replace(/-/g, ''), Math.floor(i / 14_600));

async function verifyInWorkers(jws: string[], jwk: JWK): Promise<number> {
  const n = os.cpus().length;
  const per = Math.ceil(jws.length / n);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, w) =>
      new Promise<void>((resolve, reject) => {
        const worker = new Worker(
          `const { parentPort, workerData } = require('node:worker_threads');
           import('jose').then(async ({ compactVerify, importJWK }) => {
             const key = await importJWK(workerData.jwk, 'ES256');
             for (const j of workerData.jws) await compactVerify(j, key, { algorithms: ['ES256'] });
             parentPort.postMessage('done');
           });`,
          { eval: true, workerData: { jws: jws.slice(w * per, (w + 1) * per), jwk } },
        );
        worker.once('message', () => resolve());
        worker.once('error', reject);
      }),
    ),
  );
  return jws.length / ((performance.now() - started) / 1000);
}

async function main() {
  const url = requireDatabaseUrl();
  const total = arg('records', 20_000);
  const batch = arg('batch', 250);
  const parallel = arg('parallel', 4);
  // Person numbers offset, offset + stride, ...: the generator stores consecutive people on consecutive pages, so with
  // stride 1 a run updates every row of its pages (a HOT-hostile pattern); a stride of ~100 spreads the updates over
  // the table as a partner's records about people here and there would.
  const stride = arg('stride', 1);
  const offset = arg('offset', Math.floor(Math.random() * Math.max(1, 1_000_000 - total * stride - 100_000)));

  // A partner county with a fresh key, registered (or re-keyed) in the county's registry.
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const jwk: JWK = { ...pub, kid, alg: 'ES256', use: 'sig' };
  const config = loadConfig({ ...process.env, DATABASE_URL: url, SECRETS_FILE: benchSecretsFile, COUNTY_CODE: COUNTY, LOG_LEVEL: 'warn' });
  const booted = await boot(config, { logger: createLogger('warn') });
  const caller = systemCaller('bench');
  const jwks = JSON.stringify({ keys: [jwk] });
  if (await findPartner(booted.deps.db, PARTNER)) await pastePartnerKeys(booted.deps, caller, PARTNER, jwks);
  else {
    await registerPartner(booted.deps, caller, {
      countyCode: PARTNER, name: '吴中区', baseUrl: 'https://wuzhong.example', validFrom: '2020-01-01', validTo: '2099-12-31', inboundTypes: TYPES, outboundTypes: TYPES, jwks,
    });
  }
  await booted.database.close();

  // Sign every record up front (not timed): half status reports, half contact updates, each for a different person.
  const now = Math.floor(Date.now() / 1000);
  const records: string[] = [];
  for (let k = 0; k < total; k++) {
    const i = offset + k * stride;
    const type = TYPES[k % 2]!;
    const body = type === 'STATUS_REPORT'
      ? { period: '2026-Q4', place: { countyCode: PARTNER, town: '郭巷街道' }, workStatus: 'EMPLOYED', needs: [] }
      : { phone: makeMobile(70_000_000 + i) };
    const payload = { v: 1, id: crypto.randomUUID(), iss: PARTNER, aud: COUNTY, type, iat: now, subject: { idNumber: idOfPerson(i), name: personName(i) }, body };
    records.push(await new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid, typ: 'hl-record+jws' }).sign(privateKey));
  }
  const token = () =>
    new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid, typ: 'hl-req+jwt' }).setIssuer(PARTNER).setSubject(PARTNER).setAudience(COUNTY)
      .setIssuedAt().setExpirationTime('2m').setJti(crypto.randomUUID()).sign(privateKey);

  const server = await startBenchServer({ DATABASE_URL: url, SECRETS_FILE: benchSecretsFile, COUNTY_CODE: COUNTY, EXCHANGE_DELIVERY_ENABLED: 'false', REMINDERS_ENABLED: 'false' });
  const statuses: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  let ingestRate = 0;
  const sql = postgres(url, { max: parallel, onnotice: () => {} });
  let cpu = { node: 0, nodeMain: 0, pg: 0 };
  try {
    // (another server on this database at the same time would count in the PostgreSQL figure too)
    const meter = await cpuMeter(sql, server.process.pid!, new URL(url).pathname.slice(1));
    const batches: string[][] = [];
    for (let k = 0; k < total; k += batch) batches.push(records.slice(k, k + batch));
    const started = performance.now();
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        for (let b = batches.shift(); b; b = batches.shift()) {
          const res = await fetch(`${server.url}/exchange/v1/records`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${await token()}` },
            body: JSON.stringify({ records: b }),
          });
          if (res.status !== 200) throw new Error(`push answered ${res.status}: ${await res.text()}`);
          const { receipts } = (await res.json()) as { receipts: { status: string; reason?: string }[] };
          for (const r of receipts) {
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            if (r.reason) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
          }
        }
      }),
    );
    ingestRate = (statuses.ACCEPTED ?? 0) / ((performance.now() - started) / 1000);
    cpu = await meter();
  } finally {
    await server.stop();
  }

  // Limit 1: verifying the same records with jose alone, on every CPU.
  const verifyRate = await verifyInWorkers(records, jwk);

  // Limit 2: PostgreSQL inserting the same rows alone (the stored records and whatever rows applying them wrote).
  const ids = records.map((r) => JSON.parse(Buffer.from(r.split('.')[1]!, 'base64url').toString()).id as string);
  const inbound = await sql`select * from exchange_inbound_records where id = any(${ids}::uuid[])`;
  await sql`drop table if exists bench_inbound_copy`;
  await sql`create table bench_inbound_copy (like exchange_inbound_records including all)`;
  const rows = [...inbound];
  const insertStarted = performance.now();
  const chunks: (typeof rows)[] = [];
  for (let k = 0; k < rows.length; k += batch) chunks.push(rows.slice(k, k + batch));
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let c = chunks.shift(); c; c = chunks.shift()) await sql`insert into bench_inbound_copy ${sql(c)}`;
    }),
  );
  const insertRate = rows.length / ((performance.now() - insertStarted) / 1000);
  await sql`drop table bench_inbound_copy`;
  await sql.end();

  const result = { records: total, batch, parallel, statuses, reasons, ingestPerSecond: ingestRate, verifyOnlyPerSecond: verifyRate, insertOnlyPerSecond: insertRate,
    ingestOverVerify: ingestRate / verifyRate, ingestOverInsert: ingestRate / insertRate, goalIngestOverVerify: 0.5,
    cpuMsPerRecord: { server: (cpu.node * 1000) / total, serverMainThread: (cpu.nodeMain * 1000) / total, postgres: (cpu.pg * 1000) / total } };
  printTable([
    { measure: 'ingest (accepted, durable)', 'records/s': fmtRate(ingestRate), ratio: '' },
    { measure: `verify only (jose, ${os.cpus().length} threads)`, 'records/s': fmtRate(verifyRate), ratio: `ingest/verify = ${result.ingestOverVerify.toFixed(2)} (goal >= 0.5)` },
    { measure: 'insert only (PostgreSQL)', 'records/s': fmtRate(insertRate), ratio: `ingest/insert = ${result.ingestOverInsert.toFixed(2)}` },
  ]);
  const ms = (v: number) => `${v.toFixed(3)} ms`;
  console.log(`CPU per record: server ${ms(result.cpuMsPerRecord.server)} (main thread ${ms(result.cpuMsPerRecord.serverMainThread)}), PostgreSQL ${ms(result.cpuMsPerRecord.postgres)}`);
  console.log('receipts:', statuses, reasons);
  console.log(`results: ${writeResult('exchange-ingest', result)}`);
}

await main();
