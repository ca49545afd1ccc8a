import { sql, type SQL } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/client';
import { END_REASONS } from '../../src/agreements/tables';
import { continuedTermEnd, continuedTermEndSql, continues, continuesSql, owes, owesSql, skippedDraft, skippedDraftSql } from '../../src/reports/owed';
import { CADENCES, nextPeriod, periodContaining, type Period } from '../../src/reports/periods';
import { openTestDatabase, type TestDatabase } from '../helpers/db';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database.close();
});

/** Days around month, quarter, half-year and year boundaries. */
const DAYS = ['2025-12-31', '2026-01-01', '2026-02-15', '2026-03-31', '2026-04-01', '2026-05-20', '2026-06-30', '2026-07-01', '2026-09-30', '2026-10-01', '2026-12-31'];
const OR_NONE = [null, ...DAYS];

function periods(): Period[] {
  const out: Period[] = [];
  for (const c of CADENCES) for (let p = periodContaining(c, '2025-10-01'); p.start < '2027-01-01'; p = nextPeriod(c, p)) out.push(p);
  return out;
}

/** Evaluates one SQL expression per row of values and returns it by row index. */
async function evaluate(columns: string[], values: SQL[][], expr: SQL): Promise<unknown[]> {
  const table = sql.join(
    values.map((v, i) => sql`(${sql.join([sql`${i}::int`, ...v], sql`, `)})`),
    sql`, `,
  );
  const got = await rows<{ i: number; v: unknown }>(database.db, sql`select i, ${expr} as v from (values ${table}) as p(${sql.raw(['i', ...columns].join(', '))}) order by i`);
  expect(got).toHaveLength(values.length);
  return got.map((g) => g.v);
}

const date = (d: string | null) => sql`${d}::date`;
const instant = (d: string | null) => sql`${d ? `${d}T10:00:00+08:00` : null}::timestamptz`;
const text = (s: string | null) => sql`${s}::text`;

describe('the rule of periods owed across versions', () => {
  it('continues a version in SQL exactly as in TypeScript', async () => {
    const cases = [true, false].flatMap((activated) =>
      [null, ...END_REASONS].flatMap((endReason) => OR_NONE.flatMap((validTo) => DAYS.map((successorFrom) => ({ activated, endReason, validTo, successorFrom })))),
    );
    const got = await evaluate(
      ['activated_at', 'end_reason', 'valid_to', 'succ_from'],
      cases.map((c) => [instant(c.activated ? '2025-06-01' : null), text(c.endReason), date(c.validTo), date(c.successorFrom)]),
      continuesSql(sql`p`, sql`p.succ_from`),
    );
    const skipped = await evaluate(
      ['activated_at', 'end_reason', 'valid_to', 'succ_from'],
      cases.map((c) => [instant(c.activated ? '2025-06-01' : null), text(c.endReason), date(c.validTo), date(c.successorFrom)]),
      skippedDraftSql(sql`p`),
    );
    const mismatches = cases.filter((c, i) => {
      const v = { activatedAt: c.activated ? new Date('2025-06-01T02:00:00Z') : null, endReason: c.endReason, validFrom: '2025-01-01', validTo: c.validTo } as Parameters<typeof continues>[0];
      return got[i] !== continues(v, c.successorFrom) || skipped[i] !== skippedDraft(v);
    });
    expect(mismatches).toEqual([]);
    // both outcomes occur: continued (replaced or expired, no gap) and not (a gap, a return home, a draft)
    expect(got.filter((g) => g === true).length).toBeGreaterThan(50);
    expect(got.filter((g) => g === false).length).toBeGreaterThan(50);
    expect(skipped.filter((g) => g === true).length).toBeGreaterThan(0);
  });

  it('ends a continued version’s term on the same day in SQL as in TypeScript', async () => {
    const cases = OR_NONE.flatMap((validTo) => DAYS.map((successorFrom) => ({ validTo, successorFrom })));
    const got = await evaluate(['valid_to', 'succ_from'], cases.map((c) => [date(c.validTo), date(c.successorFrom)]), sql`${continuedTermEndSql(sql`valid_to`, sql`succ_from`)}::text`);
    expect(cases.filter((c, i) => got[i] !== continuedTermEnd(c.validTo, c.successorFrom))).toEqual([]);
  });

  it('owes the same cadence periods under a term in SQL as in TypeScript, an empty term none', async () => {
    const terms = DAYS.flatMap((from) => OR_NONE.map((to) => ({ from, to })));
    const cases = periods().flatMap((p) => terms.map((term) => ({ p, term })));
    const got = await evaluate(
      ['p_start', 'p_end', 't_from', 't_to'],
      cases.map(({ p, term }) => [date(p.start), date(p.end), date(term.from), date(term.to)]),
      owesSql(sql`p_start`, sql`p_end`, sql`t_from`, sql`t_to`),
    );
    expect(cases.filter(({ p, term }, i) => got[i] !== owes(term, p))).toEqual([]);
    expect(got.filter((g) => g === true).length).toBeGreaterThan(500);
    expect(got.filter((g) => g === false).length).toBeGreaterThan(500);
    // a term ending before it starts owes nothing, even the period holding both days
    expect(owes({ from: '2026-02-15', to: '2026-01-31' }, { start: '2026-01-01', end: '2026-03-31' })).toBe(false);
  });
});
