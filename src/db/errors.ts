/**
 * What a database error may be known by: its SQLSTATE and the names of the constraint, table and column, found
 * under drizzle's and the drivers' wrapping. Never the message or detail, which can quote the statement's values
 * (names, phone numbers).
 */
export interface DatabaseErrorInfo {
  code: string;
  constraint: string | null;
  table: string | null;
  column: string | null;
  routine: string | null;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The errors an error wraps, outermost first (drizzle's "Failed query", then the driver's). */
export function causeChain(err: unknown, max = 5): unknown[] {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < max; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

export const codeOf = (e: unknown): string | undefined => {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

export function databaseError(err: unknown): DatabaseErrorInfo | undefined {
  const found = causeChain(err).find((e) => SQLSTATE.test(codeOf(e) ?? ''));
  if (!found) return undefined;
  // postgres.js names the fields constraint_name, table_name...; PGlite constraint, table...
  const e = found as { constraint_name?: string; constraint?: string; table_name?: string; table?: string; column_name?: string; column?: string; routine?: string };
  return {
    code: codeOf(found)!,
    constraint: e.constraint_name ?? e.constraint ?? null,
    table: e.table_name ?? e.table ?? null,
    column: e.column_name ?? e.column ?? null,
    routine: e.routine ?? null,
  };
}
