import { sql } from 'drizzle-orm';
import { daysBetween, todayIn } from '../../src/calendar';
import type { Db } from '../../src/db/client';

/** The day the figures tests are written for. */
export const PINNED_DAY = '2026-11-23';

const RECORDED = {
  agreements: ['activated_at', 'ended_at', 'created_at'],
  status_reports: ['created_at', 'superseded_at'],
  supervision_checks: ['created_at'],
  care_visits: ['created_at'],
  deposit_complaints: ['created_at', 'resolved_at'],
} as const;

/**
 * Moves every recorded instant that dated figures read back from today to PINNED_DAY (a no-op on that day), as if
 * the seeded facts had been recorded then: tests that take figures on PINNED_DAY then pass whatever day they run.
 */
export async function recordedOnPinnedDay(db: Db, timeZone: string): Promise<void> {
  const days = daysBetween(PINNED_DAY, todayIn(timeZone));
  if (days === 0) return;
  for (const [table, cols] of Object.entries(RECORDED)) {
    for (const col of cols) await db.execute(sql.raw(`update ${table} set ${col} = ${col} - make_interval(days => ${days}) where ${col} is not null`));
  }
  await db.execute(sql.raw(`update service_ratings set submitted_on = submitted_on - ${days}`));
}

/** Sets when rows were recorded (activation, creation), for seeding a past quarter's history. */
export async function recordedAt(db: Db, table: keyof typeof RECORDED, column: string, id: string, instant: string): Promise<void> {
  await db.execute(sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${instant}::timestamptz where id = ${id}`);
}
