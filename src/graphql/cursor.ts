import { badInput, isUuid } from '../errors';

/** Opaque page cursors: base64url JSON of the sort key of the last row. */
export function encodeCursor(key: unknown): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T>(cursor: string, isValid: (v: unknown) => v is T, field = 'after'): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badInput(field, 'malformed cursor');
  }
  if (!isValid(value)) throw badInput(field, 'malformed cursor');
  return value;
}

/** Clamps a page size to 1..max; a bad value is the caller's mistake, not ours. */
export function pageSize(first: number | null | undefined, max = 200, fallback = 50): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badInput('first', `must be between 1 and ${max}`);
  return n;
}

/** An edge whose cursor is encoded only if it is asked for (pages usually ask for the end cursor alone). */
class Edge<T> {
  constructor(
    readonly node: T,
    private readonly keyOf: (row: T) => unknown,
  ) {}

  get cursor(): string {
    return encodeCursor(this.keyOf(this.node));
  }
}

/** A Relay-style page from rows fetched with one extra to tell whether more follow. */
export function connection<T>(rows: T[], hasMore: boolean, keyOf: (row: T) => unknown) {
  const edges = rows.map((node) => new Edge(node, keyOf));
  return { edges, pageInfo: { hasNextPage: hasMore, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null } };
}

export const isUuidCursor = isUuid;
