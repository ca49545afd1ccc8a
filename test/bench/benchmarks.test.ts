import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { todayIn } from '../../src/calendar';
import { normalizeMobile, parseResidentId } from '../../src/people/identity';
import { Secrets } from '../../src/secrets';
import { engine, openTestDatabase } from '../helpers/db';

// The benchmarks run against real PostgreSQL only (bench/lib.ts refuses otherwise), so this is PostgreSQL's alone.
describe.runIf(engine === 'postgres')('the benchmarks', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-bench-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads a county of valid people, one agreement each, mixed cadences, one in ten overdue; a rerun adds nothing; the load scripts run on it', { timeout: 180_000 }, async () => {
    const db = await openTestDatabase();
    const sql = postgres(db.url!, { max: 1, onnotice: () => {} });
    try {
      const generate = () => {
        const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/generate.ts', '--people', '3000'], {
          env: { ...process.env, DATABASE_URL: db.url, BENCH_RESULTS_DIR: dir },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(fs.readFileSync(path.join(dir, 'generate.json'), 'utf8'));
      };
      const first = generate();
      expect(first).toMatchObject({ loadedVillages: 500, people: 3000, agreements: 3000, partners: 50, associations: 100 });
      // about two years of reports for most, less for the one in ten who stopped reporting
      expect(first.reports / first.people).toBeGreaterThan(2);
      expect(first.overdue / first.people).toBeGreaterThan(0.06);
      expect(first.overdue / first.people).toBeLessThan(0.14);
      expect(first.members).toBeGreaterThan(0);

      const [shape] = await sql`select count(distinct person_id)::int as people, count(distinct cadence)::int as cadences,
        count(*) filter (where status = 'ACTIVE')::int as active from agreements`;
      expect(shape).toEqual({ people: 3000, cadences: 3, active: 3000 });
      // the overdue count is the registry's own rule: a due day already past
      const [due] = await sql<{ overdue: number }[]>`select count(*)::int as overdue from agreements where next_due_on < ${todayIn('Asia/Shanghai')}`;
      expect(due!.overdue).toBe(first.overdue);

      const secrets = Secrets.load({ secretsFile: path.join(dir, 'secrets.json'), dataKey: undefined, hmacKey: undefined });
      const people = await sql<{ id_number_enc: string; id_number_masked: string; phone: string }[]>`select id_number_enc, id_number_masked, phone from people`;
      const idNumbers = new Set<string>();
      for (const p of people) {
        const idNumber = secrets.decrypt(p.id_number_enc);
        expect(typeof parseResidentId(idNumber), idNumber).toBe('object');
        expect(p.id_number_masked).toBe(`${idNumber.slice(0, 6)}********${idNumber.slice(14)}`);
        expect(normalizeMobile(p.phone), p.phone).toBe(p.phone);
        idNumbers.add(idNumber);
      }
      expect(idNumbers.size).toBe(3000);

      const again = generate();
      expect(again).toMatchObject({ loadedVillages: 0, people: 3000, agreements: 3000, reports: first.reports, partners: 50, associations: 100, members: first.members });

      // The load scripts run on it (briefly): every scenario answered, every record accepted.
      const bench = (script: string, ...args: string[]) => {
        const r = spawnSync(process.execPath, ['--import', 'tsx', `bench/${script}.ts`, ...args], {
          env: { ...process.env, DATABASE_URL: db.url, BENCH_RESULTS_DIR: dir, SERVER_PROCESSES: '2' },
          encoding: 'utf8',
        });
        expect(r.status, r.stderr).toBe(0);
        return JSON.parse(fs.readFileSync(path.join(dir, `${script}.json`), 'utf8'));
      };
      const reads = bench('graphql-reads', '--seconds', '1', '--connections', '2');
      expect(reads.serverProcesses).toBe(2);
      expect(reads.scenarios.map((x: { scenario: string }) => x.scenario)).toHaveLength(7);
      for (const x of reads.scenarios) {
        expect(x.non2xx + x.errors, x.scenario).toBe(0);
        expect(x.rps, x.scenario).toBeGreaterThan(0);
        expect(x.cpuMsPerRequest, x.scenario).toBeGreaterThan(0);
      }
      const ingest = bench('exchange-ingest', '--records', '400', '--batch', '100', '--parallel', '2', '--offset', '0');
      expect(ingest.statuses).toEqual({ ACCEPTED: 400 });
      expect(ingest.ingestOverVerify).toBeGreaterThan(0);
      const [stored] = await sql<{ n: number }[]>`select count(*)::int as n from exchange_inbound_records where state = 'APPLIED'`;
      expect(stored!.n).toBe(400);
    } finally {
      await sql.end();
      await db.close();
    }
  });
});

describe('the cold-start benchmark (bench/cold-start.ts, PGlite)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-bench-cold-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('starts the bundle on a new PGlite folder and reports its time to ready and its memory', { timeout: 120_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/cold-start.ts', '--runs', '1'], {
      env: { ...process.env, DATABASE_URL: '', BENCH_RESULTS_DIR: dir },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(fs.readFileSync(path.join(dir, 'cold-start.json'), 'utf8'));
    expect(result.runs).toHaveLength(1);
    expect(result.medianReadyMs).toBeGreaterThan(0);
    expect(result.medianPeakRssMiB).toBeGreaterThan(0);
  });
});
