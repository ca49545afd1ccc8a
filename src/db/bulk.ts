import { eq, getTableColumns, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from './client';

/**
 * Updates many rows, each with its own values, in one `UPDATE ... FROM (VALUES ...)` per set of columns (rows that
 * change the same columns share a statement): what a batch writes where a single change would send one UPDATE per
 * row. Each row names its key column and the columns it sets; values are cast to their column's type.
 */
export async function updateRows<T extends PgTable>(tx: Db, table: T, key: keyof T['$inferSelect'] & string, rows: readonly Partial<T['$inferInsert']>[]): Promise<void> {
  const columns = getTableColumns(table) as Record<string, PgColumn>;
  const groups = new Map<string, Partial<T['$inferInsert']>[]>();
  for (const row of rows) {
    const names = Object.keys(row).filter((k) => k !== key).sort().join(',');
    groups.set(names, [...(groups.get(names) ?? []), row]);
  }
  for (const [names, group] of groups) {
    const set = names.split(',').filter(Boolean);
    if (set.length === 0) continue;
    const all = [key, ...set];
    const values = sql.join(
      group.map((row) => sql`(${sql.join(all.map((k) => cast(columns[k]!, (row as Record<string, unknown>)[k])), sql`, `)})`),
      sql`, `,
    );
    const alias = sql`(values ${values}) as v(${sql.join(all.map((k) => sql.identifier(k)), sql`, `)})`;
    const assignments = Object.fromEntries(set.map((k) => [k, sql`v.${sql.identifier(k)}`]));
    await tx
      .update(table)
      .set(assignments as never)
      .from(alias)
      .where(eq(columns[key]!, sql`v.${sql.identifier(key)}`));
  }
}

/** A value as its column stores it (drizzle's own encoding), typed so VALUES rows need no inference. */
function cast(column: PgColumn, value: unknown): SQL {
  return sql`${sql.param(value ?? null, column)}::${sql.raw(column.getSQLType())}`;
}
