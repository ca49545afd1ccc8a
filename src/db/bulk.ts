import { getTableColumns, sql } from 'drizzle-orm';
import { toSnakeCase } from 'drizzle-orm/casing';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { arrayLiteral, rows as resultRows, type Db } from './client';

function columnOf(table: PgTable, key: string): PgColumn {
  const column = (getTableColumns(table) as Record<string, PgColumn>)[key];
  if (!column) throw new Error(`${key} is not a column`);
  return column;
}

/** A column's name in the database: the databases are opened with snake_case casing (client.ts). */
const nameOf = (c: PgColumn) => sql.identifier(c.keyAsName ? toSnakeCase(c.name) : c.name);

/**
 * Many rows in one statement whose text and parameters do not grow with them: each column's values travel as one
 * array parameter, unnested back into rows (`... from unnest($1::uuid[], $2::text[], ...) with ordinality`). drizzle
 * builds a multi-row VALUES list value by value (a third of the exchange ingest's CPU at 250 records a batch), and
 * each row count is another statement text to prepare; this is a handful of parameters and one text per table and
 * set of columns. Values are encoded as drizzle encodes them for the column (dates, jsonb, arrays).
 */
function unnested(table: PgTable, names: readonly string[], rows: readonly Record<string, unknown>[]) {
  const cols = names.map((k) => columnOf(table, k));
  const alias = (i: number) => sql.identifier(`c${i}`);
  // An array column (text[]) cannot be unnested from a 2-D array: each row's array travels as its literal, cast back.
  const isArray = (c: PgColumn) => c.getSQLType().endsWith('[]');
  const params = cols.map((c, i) => {
    // A value repeated down a column (the batch's one timestamp, its partner) is encoded once.
    const name = names[i]!;
    let last: unknown;
    let lastEncoded: string | null = null;
    const values = new Array<string | null>(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![name];
      if (v === null || v === undefined) values[r] = null;
      else {
        if (v !== last) {
          last = v;
          lastEncoded = String(c.mapToDriverValue(v));
        }
        values[r] = lastEncoded;
      }
    }
    return sql`${arrayLiteral(values)}::${sql.raw(isArray(c) ? 'text[]' : `${c.getSQLType()}[]`)}`;
  });
  return {
    /** The columns' names in the table, for the INSERT list or the SET clause. */
    target: cols.map(nameOf),
    /** Each column's values as `u.cN`, typed. */
    value: cols.map((c, i) => (isArray(c) ? sql`u.${alias(i)}::${sql.raw(c.getSQLType())}` : sql`u.${alias(i)}`)),
    /** `unnest(...) with ordinality as u(c0, c1, ..., n)`. */
    from: sql`unnest(${sql.join(params, sql`, `)}) with ordinality as u(${sql.join([...cols.map((_, i) => alias(i)), sql.identifier('n')], sql`, `)})`,
  };
}

/**
 * Inserts rows in one statement (see unnested), in their order (identity columns follow it: the audit chain relies
 * on that). Columns are those the rows name; the others take their defaults. With `returning`, answers that
 * column of the rows inserted (with `onConflictDoNothing`, only those not already there).
 */
export async function insertRows<T extends PgTable>(
  tx: Db,
  table: T,
  rows: readonly T['$inferInsert'][],
  opts: { onConflictDoNothing?: boolean; returning?: keyof T['$inferSelect'] & string } = {},
): Promise<string[]> {
  if (rows.length === 0) return [];
  const seen = new Set<string>();
  for (const r of rows) for (const k in r) seen.add(k);
  const names = [...seen];
  const u = unnested(table, names, rows as Record<string, unknown>[]);
  const returning = opts.returning ? nameOf(columnOf(table, opts.returning)) : undefined;
  const statement = sql`insert into ${table} (${sql.join(u.target, sql`, `)}) select ${sql.join(u.value, sql`, `)} from ${u.from} order by u.n${
    opts.onConflictDoNothing ? sql` on conflict do nothing` : sql``
  }${returning ? sql` returning ${returning} as v` : sql``}`;
  const inserted = await resultRows<{ v: unknown }>(tx, statement);
  return inserted.map((r) => String(r.v));
}

/**
 * Updates many rows, each with its own values, in one `UPDATE ... FROM unnest(...)` per set of columns (rows that
 * change the same columns share a statement): what a batch writes where a single change sends one UPDATE per row.
 * Each row names its key column and the columns it sets.
 */
export async function updateRows<T extends PgTable>(tx: Db, table: T, key: keyof T['$inferSelect'] & string, rows: readonly Partial<T['$inferInsert']>[]): Promise<void> {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) {
    const names = [key, ...Object.keys(row).filter((k) => k !== key).sort()].join(',');
    groups.set(names, [...(groups.get(names) ?? []), row as Record<string, unknown>]);
  }
  for (const [names, group] of groups) {
    const u = unnested(table, names.split(','), group);
    if (u.target.length < 2) continue;
    const set = sql.join(u.target.slice(1).map((t, i) => sql`${t} = ${u.value[i + 1]!}`), sql`, `);
    await tx.execute(sql`update ${table} set ${set} from ${u.from} where ${table}.${u.target[0]!} = ${u.value[0]!}`);
  }
}
