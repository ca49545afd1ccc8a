import { and, eq, lt, or, type SQL } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';

/** `(c1, c2, ...) < (v1, v2, ...)` in sort order: the rows after a keyset cursor when listing newest first. */
export function sortsBefore(columns: PgColumn[], values: unknown[]): SQL {
  const [column, ...moreColumns] = columns;
  const [value, ...moreValues] = values;
  if (moreColumns.length === 0) return lt(column!, value);
  return or(lt(column!, value), and(eq(column!, value), sortsBefore(moreColumns, moreValues)))!;
}
