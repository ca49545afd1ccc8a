import { and, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

/** `(c1, c2, ...) < (v1, v2, ...)` in sort order: the rows after a keyset cursor when listing newest first. */
export function sortsBefore(columns: PgColumn[], values: unknown[]): SQL {
  const [column, ...moreColumns] = columns;
  const [value, ...moreValues] = values;
  if (moreColumns.length === 0) return lt(column!, value);
  return or(lt(column!, value), and(eq(column!, value), sortsBefore(moreColumns, moreValues)))!;
}

/**
 * A `LIMIT` (a page's size), written into the statement instead of sent as a parameter. PostgreSQL cannot cost a cached
 * generic plan whose LIMIT is a parameter (it assumes a tenth of the matching rows), so it would plan such a
 * statement again at every execution: on the people page at 1M people, planning cost as much database time as
 * running it. With the literal, the plan is cached after a few executions (one statement text per page size).
 * Drizzle writes an SQL object given as the limit into the statement as it is.
 */
export function literalLimit(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`page limit must be a non-negative integer, got ${n}`);
  return sql.raw(String(n)) as unknown as number;
}
