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
describe.runIf(engine === 'postgres')('the benchmark county generator (bench/generate.ts)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-bench-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads a county of valid people, one agreement each, mixed cadences, one in ten overdue; a rerun adds nothing', { timeout: 180_000 }, async () => {
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
    } finally {
      await sql.end();
      await db.close();
    }
  });
});
