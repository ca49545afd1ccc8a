import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/client';
import { allMonths, isCovered, monthsInside, monthsInsideSql } from '../../src/reports/coverage';
import { CADENCES, nextPeriod, periodContaining, type Period } from '../../src/reports/periods';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database.close();
});

/** Every month, quarter and half-year of 2026 and 2027 (across the year boundary). */
function periods(): Period[] {
  const out: Period[] = [];
  for (const c of CADENCES) for (let p = periodContaining(c, '2026-01-01'); p.start < '2028-01-01'; p = nextPeriod(c, p)) out.push(p);
  return out;
}

describe('coverage rule', () => {
  it('gives a cadence period the months inside each report', () => {
    const p = (start: string, end: string) => ({ start, end });
    const q4 = p('2026-10-01', '2026-12-31');
    expect(allMonths(q4)).toBe(0b111);
    expect(monthsInside(q4, p('2026-11-01', '2026-11-30'))).toBe(0b010);
    expect(monthsInside(q4, p('2026-07-01', '2026-12-31'))).toBe(0b111);
    expect(monthsInside(q4, p('2026-07-01', '2026-09-30'))).toBe(0);
    expect(monthsInside(p('2026-07-01', '2026-12-31'), q4)).toBe(0b111000);
    expect(isCovered(q4, [p('2026-10-01', '2026-10-31'), p('2026-12-01', '2026-12-31')])).toBe(false);
    expect(isCovered(q4, [p('2026-10-01', '2026-10-31'), p('2026-11-01', '2026-11-30'), p('2026-12-01', '2026-12-31')])).toBe(true);
  });

  it('is the same rule in SQL as in TypeScript for every pair of periods', async () => {
    const all = periods();
    const pairs = all.flatMap((p) => all.map((r) => ({ p, r })));
    const values = sql.join(
      pairs.map(({ p, r }, i) => sql`(${i}::int, ${p.start}::date, ${p.end}::date, ${r.start}::date, ${r.end}::date)`),
      sql`, `,
    );
    const got = await rows<{ i: number; inside: number }>(
      database.db,
      sql`select i, ${monthsInsideSql(sql`p_start`, sql`p_end`, sql`r_start`, sql`r_end`)} as inside
          from (values ${values}) as v(i, p_start, p_end, r_start, r_end) order by i`,
    );
    expect(got).toHaveLength(pairs.length);
    const mismatches = got.filter((g) => {
      const { p, r } = pairs[g.i]!;
      return Number(g.inside) !== monthsInside(p, r);
    });
    expect(mismatches).toEqual([]);
    // no report at all (the nulls of an outer join) covers nothing
    const [none] = await rows<{ inside: number }>(database.db, sql`select ${monthsInsideSql(sql`'2026-10-01'::date`, sql`'2026-12-31'::date`, sql`null::date`, sql`null::date`)} as inside`);
    expect(Number(none!.inside)).toBe(0);
    // and the pairs include both overlapping and disjoint ones
    expect(got.filter((g) => Number(g.inside) !== 0).length).toBeGreaterThan(100);
    expect(got.filter((g) => Number(g.inside) === 0).length).toBeGreaterThan(100);
  });
});
