// Fills PostgreSQL with a big county for the benchmarks: 20 towns x 25 villages, 1,000,000 people (one agreement
// each, mixed cadences, 10% overdue), about 4,000,000 status reports over two years, consents, liaison contacts,
// staff accounts. Loads with COPY, one transaction per village, so it is resumable: a rerun skips finished villages.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/hl_bench npx tsx bench/generate.ts [--people 1000000]
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { hashPassword } from '../src/auth/passwords';
import { boot } from '../src/bootstrap';
import { addDays, todayIn } from '../src/calendar';
import { loadConfig } from '../src/config';
import type { Deps } from '../src/deps';
import { createLogger } from '../src/logger';
import { registerPartner } from '../src/partners/service';
import { systemCaller } from '../src/policy/actor';
import { makeMobile, makeResidentId } from '../src/people/fixtures';
import { maskIdNumber } from '../src/people/identity';
import { nextDue, nextPeriod, periodContaining, type Cadence, type Period } from '../src/reports/periods';
import { BENCH_PASSWORD, COUNTY, personName, rand, TOWNS, townCode, villageCode, VILLAGES_PER_TOWN } from './county';
import { benchSecretsFile, noDelaySocket, Progress, requireDatabaseUrl, resultsDir, writeResult } from './lib';

const DESTINATIONS = ['320506', '320508', '320509', '320213', '320214', '320412', '320585', '320583', '320211', '320411'];
const OFFICIAL_ITEMS = '{RESPECT_RIGHTS,DELIVER_BENEFITS,NO_DEPOSIT,FOLLOW_UP_SERVICE}';
const PERSON_ITEMS = '{ACCEPT_LOCAL_SERVICES,REPORT_PERIODICALLY,KEEP_IN_TOUCH}';
const GRACE_DAYS = 15;


function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

/** COPY text format: tab-separated, \N for null, backslash escapes. */
function cell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '\\N';
  return String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
}
const line = (cells: (string | number | null | undefined)[]) => cells.map(cell).join('\t') + '\n';

/** 50 partner counties of the province and its neighbours: prefecture 3201-3213, counties 02-06 (not ours). */
const PARTNER_CODES = Array.from({ length: 13 }, (_, p) => Array.from({ length: 5 }, (_, c) => `32${String(p + 1).padStart(2, '0')}${String(c + 2).padStart(2, '0')}`))
  .flat()
  .filter((c) => c !== COUNTY)
  .slice(0, 50);
const ALL_TYPES = ['DEPARTURE', 'ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'RETURN_HOME', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];

/**
 * Bilateral agreements (each partner with a real key pair, its JWKS pasted as for an air-gapped partner) and 100
 * hometown associations, each with 500 members living in its host city. Both stages skip what exists.
 */
async function partnersAndAssociations(deps: Deps, sql: postgres.Sql): Promise<void> {
  const caller = systemCaller('bench-generator');
  const known = new Set((await sql<{ c: string }[]>`select county_code as c from partners`).map((r) => r.c));
  for (const code of PARTNER_CODES.filter((c) => !known.has(c))) {
    const { publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(jwk, 'sha256');
    await registerPartner(deps, caller, {
      countyCode: code, name: `County ${code}`, baseUrl: `https://c${code}.partners.example`, validFrom: '2020-01-01', validTo: '2099-12-31',
      inboundTypes: ALL_TYPES, outboundTypes: ALL_TYPES, lookupAllowed: true, jwks: JSON.stringify({ keys: [{ ...jwk, kid, alg: 'ES256', use: 'sig' }] }),
    });
  }
  const [{ n: existing } = { n: 0 }] = await sql<{ n: number }[]>`select count(*)::int as n from associations`;
  for (let a = existing; a < 100; a++) {
    const host = DESTINATIONS[a % DESTINATIONS.length]!;
    const [assoc] = await sql<{ id: string }[]>`insert into associations (name, host_city_code, host_chamber, status)
      values (${`睢宁老乡会 ${a + 1}`}, ${host}, ${'睢宁商会'}, 'ACTIVE') returning id`;
    const offset = Math.floor(a / DESTINATIONS.length) * 500;
    await sql`with picked as (select id, departure_date from people where current_county_code = ${host} order by id offset ${offset} limit 500),
      m as (insert into association_members (association_id, person_id, role, status, joined_on)
            select ${assoc!.id}, id, 'MEMBER', 'ACTIVE', departure_date from picked returning person_id)
      insert into consents (person_id, kind, scope, method, given_on)
      select p.id, 'ASSOCIATION_MEMBERSHIP', ${assoc!.id}, 'PAPER', p.departure_date from picked p`;
  }
}

async function main() {
  const url = requireDatabaseUrl();
  const total = arg('people', 1_000_000);
  const villages = TOWNS * VILLAGES_PER_TOWN;
  const perVillage = Math.ceil(total / villages);
  const divisionsFile = path.join(resultsDir, 'divisions.csv');
  const rows = [`${COUNTY},睢宁县`];
  for (let t = 0; t < TOWNS; t++) {
    rows.push(`${townCode(t)},第${t + 1}镇`);
    for (let v = 0; v < VILLAGES_PER_TOWN; v++) rows.push(`${villageCode(t, v)},第${t + 1}镇${v + 1}村`);
  }
  fs.writeFileSync(divisionsFile, rows.join('\n'));

  const config = loadConfig({ ...process.env, DATABASE_URL: url, SECRETS_FILE: benchSecretsFile, DIVISIONS_FILE: divisionsFile, COUNTY_CODE: COUNTY, LOG_LEVEL: 'warn' });
  const { deps, database } = await boot(config, { logger: createLogger('warn') });
  const secrets = deps.secrets;
  const sql = postgres(url, { max: 4, onnotice: () => {}, ...({ socket: noDelaySocket } as object) });
  const started = Date.now();
  const today = todayIn(config.timeZone);

  // Staff: one official per village, one supervisor per town, one admin; all with the bench password.
  const hash = await hashPassword(BENCH_PASSWORD);
  const staff = [{ username: 'bench-admin', role: 'COUNTY_ADMIN', scope: null as string | null }];
  for (let t = 0; t < TOWNS; t++) {
    staff.push({ username: `sup-${townCode(t)}`, role: 'TOWN_SUPERVISOR', scope: townCode(t) });
    for (let v = 0; v < VILLAGES_PER_TOWN; v++) staff.push({ username: `off-${villageCode(t, v)}`, role: 'VILLAGE_OFFICIAL', scope: villageCode(t, v) });
  }
  await sql`insert into users ${sql(staff.map((s) => ({ ...s, display_name: s.username, password_hash: hash })))} on conflict (username) do nothing`;
  const officials = new Map((await sql<{ id: string; scope: string }[]>`select id, scope from users where role = 'VILLAGE_OFFICIAL'`).map((r) => [r.scope, r.id]));
  const [liaisons] = await sql<{ n: number }[]>`select count(*)::int as n from liaison_contacts`;
  if (liaisons?.n === 0) {
    await sql`insert into liaison_contacts ${sql(
      Array.from({ length: 100 }, (_, i) => ({ name: `联络员${i + 1}`, organisation: `流动人口服务站${i + 1}`, county_code: DESTINATIONS[i % DESTINATIONS.length]!, phone: makeMobile(50_000_000 + i), role: '联络员' })),
    )}`;
  }

  const done = new Set((await sql<{ v: string }[]>`select distinct home_village_code as v from people`).map((r) => r.v));
  const todo: [number, number][] = [];
  for (let t = 0; t < TOWNS; t++) for (let v = 0; v < VILLAGES_PER_TOWN; v++) if (!done.has(villageCode(t, v))) todo.push([t, v]);
  const progress = new Progress('people', villages * perVillage, done.size * perVillage);
  let reportRows = 0;

  const loadVillage = async (t: number, v: number) => {
    const village = villageCode(t, v);
    const official = officials.get(village)!;
    const base = (t * VILLAGES_PER_TOWN + v) * perVillage;
    let people = '';
    let agreements = '';
    let reports = '';
    let consents = '';
    for (let k = 0; k < perVillage; k++) {
      const i = base + k;
      const personId = crypto.randomUUID();
      const day = i % 14_600;
      const birth = addDays('1966-01-01', day).replace(/-/g, '');
      const idNumber = makeResidentId(COUNTY, birth, Math.floor(i / 14_600));
      const dest = DESTINATIONS[Math.floor(rand(i, 1) * DESTINATIONS.length)]!;
      const overdue = rand(i, 6) < 0.1;
      // Overdue people started long enough ago for at least one period to be past its grace days.
      const validFrom = addDays(today, overdue ? -(400 + Math.floor(rand(i, 2) * 330)) : -(60 + Math.floor(rand(i, 2) * 670)));
      const r3 = rand(i, 3);
      const cadence: Cadence = r3 < 0.6 ? 'QUARTERLY' : r3 < 0.9 ? 'HALF_YEARLY' : 'MONTHLY';
      const name = personName(i);
      people += line([personId, name, secrets.encrypt(idNumber), secrets.hmac(idNumber), maskIdNumber(idNumber), village, townCode(t), makeMobile(i), dest, null, null, `企业${i % 5000}`, null, validFrom, 'AWAY']);
      // Completed periods are reported, except that one person in ten stopped and is overdue.
      const periods: Period[] = [];
      for (let p = periodContaining(cadence, validFrom); addDays(p.end, 0) < today; p = nextPeriod(cadence, p)) periods.push(p);
      let reported = periods;
      if (overdue) {
        const cut = periods.findLastIndex((p) => addDays(p.end, GRACE_DAYS) < today);
        reported = cut >= 0 ? periods.slice(0, cut) : periods;
      }
      const agreementId = crypto.randomUUID();
      for (const p of reported) {
        const reportedOn = addDays(p.end, -Math.floor(rand(i, p.start.length + reportRows) * 10));
        // recorded on its report day, as an official would, so the dashboard's on-time grading has reports to match
        reports += line([crypto.randomUUID(), personId, agreementId, village, p.label, p.start, p.end, 'PHONE', reportedOn, dest, 'EMPLOYED', '{}', 'VILLAGE_OFFICIAL', official, `${reportedOn} 16:00:00+08`]);
      }
      reportRows += reported.length;
      const due = nextDue(cadence, validFrom, null, reported.map((p) => p.label), GRACE_DAYS);
      const last = reported[reported.length - 1];
      const signedAt = `${validFrom} 09:00:00+08`;
      agreements += line([agreementId, personId, 1, 'ACTIVE', village, townCode(t), official, OFFICIAL_ITEMS, PERSON_ITEMS, cadence, validFrom, `{${dest}}`, signedAt, 'PAPER', signedAt, 'PAPER', signedAt, due?.period.label, due?.period.start, due?.dueOn, last?.label, last ? addDays(last.end, 0) : null]);
      consents += line([personId, 'AGREEMENT', '', 'PAPER', validFrom]) + line([personId, 'PARTNER_SHARING', dest, 'PAPER', validFrom]);
    }
    await sql.begin(async (tx) => {
      const copy = async (statement: ReturnType<typeof tx.unsafe>, data: string) => {
        const c0 = Date.now();
        const stream = await statement.writable();
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('finish', () => resolve());
          stream.end(data);
        });
        if (process.env.BENCH_TRACE) process.stderr.write(`copy ${data.length}B ${Date.now() - c0}ms\n`);
      };
      await copy(tx.unsafe(`copy people (id, name, id_number_enc, id_number_hmac, id_number_masked, home_village_code, home_town_code, phone, current_county_code, current_town, current_area, employer, occupation, departure_date, status) from stdin`), people);
      await copy(tx.unsafe(`copy agreements (id, person_id, version, status, village_code, town_code, official_user_id, official_commitments, person_commitments, cadence, valid_from, sharing_counties, official_signed_at, official_sign_method, person_signed_at, person_sign_method, activated_at, next_due_period, next_due_start, next_due_on, last_report_period, last_report_on) from stdin`), agreements);
      await copy(tx.unsafe(`copy status_reports (id, person_id, agreement_id, village_code, period, period_start, period_end, arrival, reported_on, place_county_code, work_status, needs, recorded_by_type, recorded_by_id, created_at) from stdin`), reports);
      await copy(tx.unsafe(`copy consents (person_id, kind, scope, method, given_on) from stdin`), consents);
    });
    progress.add(perVillage, `(${reportRows.toLocaleString()} reports)`);
  };

  // Two villages in flight: while PostgreSQL ingests one, Node builds the next.
  const queue = [...todo];
  await Promise.all(
    [0, 1].map(async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await loadVillage(...next);
    }),
  );
  await partnersAndAssociations(deps, sql);
  await database.close();
  // VACUUM too: a freshly loaded table has no visibility map, so index-only scans (the dashboard's) would still
  // visit every heap page until autovacuum got round to it.
  process.stderr.write('vacuum analyze...\n');
  await sql`vacuum analyze`;
  const counts = await sql`select (select count(*) from people)::int as people, (select count(*) from agreements)::int as agreements,
    (select count(*) from status_reports)::int as reports, (select count(*) from consents)::int as consents,
    (select count(*) from agreements where status = 'ACTIVE' and next_due_on < ${today})::int as overdue,
    (select count(*) from partners)::int as partners, (select count(*) from associations)::int as associations,
    (select count(*) from association_members)::int as members`;
  const seconds = (Date.now() - started) / 1000;
  const result = { seconds, loadedVillages: todo.length, ...counts[0] };
  console.log(result);
  writeResult('generate', result);
  await sql.end();
}

await main();
