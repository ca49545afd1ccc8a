import type postgres from 'postgres';
import { waitFor } from './wait';

/** How many sessions of this database are waiting for a lock (PostgreSQL only). */
export async function waitingForLocks(pg: postgres.Sql): Promise<number> {
  const [row] = await pg<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
  return row!.n;
}

/**
 * Holds the people's rows so both operations queue behind them: `first` waits on one, `second` then runs as far as
 * it gets before waiting too. An operation that takes a row the person's lock should come before (its agreement, a
 * membership, the audit chain), or people out of id order, leaves `second` holding what `first` needs next: a
 * deadlock as soon as the rows are released. PostgreSQL only (PGlite runs one transaction at a time).
 */
export async function raceOnPeople<A, B>(pg: postgres.Sql, personIds: string[], first: () => Promise<A>, second: () => Promise<B>): Promise<[A, B]> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const holder = pg.begin(async (tx) => {
    await tx`select id from people where id in ${tx(personIds)} order by id for update`;
    locked();
    await released;
  });
  await isLocked;
  const a = first();
  await waitFor('the first operation to wait', async () => (await waitingForLocks(pg)) >= 1);
  const b = second();
  await waitFor('the second operation to wait', async () => (await waitingForLocks(pg)) >= 2);
  release();
  await holder;
  return Promise.all([a, b]);
}
