import { PgDialect } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { literalLimit } from '../../src/db/keyset';

describe('literalLimit', () => {
  it('writes the number into the statement, with no parameter', () => {
    const q = new PgDialect().sqlToQuery(sql`select 1 limit ${literalLimit(51)}`);
    expect(q.sql).toBe('select 1 limit 51');
    expect(q.params).toEqual([]);
  });

  // it is SQL text: anything but a non-negative integer is refused, never written
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '1; drop table people' as unknown as number])('refuses %s', (n) => {
    expect(() => literalLimit(n)).toThrow(RangeError);
  });
});
