/**
 * A record's lifecycle as data: for each status, the actions allowed and the status each leads to. Pure, so each
 * table is unit-tested on its own; services ask it before every change and write the action as a history row.
 */
export interface Lifecycle<S extends string, A extends string> {
  /** The actions allowed in this status, in the order of `actions`. */
  allowed(status: S): A[];
  /** The status the action leads to, or null when it is not allowed in this status. */
  next(status: S, action: A): S | null;
}

export function lifecycle<S extends string, A extends string>(actions: readonly A[], table: Record<S, Partial<Record<A, S>>>): Lifecycle<S, A> {
  return {
    allowed: (status) => actions.filter((a) => table[status][a] !== undefined),
    next: (status, action) => table[status][action] ?? null,
  };
}
