import { sql, type SQL } from 'drizzle-orm';
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
  inquiries: ['created_at', 'answered_at', 'closed_at'],
} as const;

/** Runs a seeding change on an append-only history table (its trigger refuses updates otherwise). */
async function rewritingHistory(db: Db, table: string, change: SQL): Promise<void> {
  await db.execute(sql.raw(`alter table ${table} disable trigger ${table}_append_only`));
  try {
    await db.execute(change);
  } finally {
    await db.execute(sql.raw(`alter table ${table} enable trigger ${table}_append_only`));
  }
}

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
  await rewritingHistory(db, 'inquiry_events', sql.raw(`update inquiry_events set at = at - make_interval(days => ${days})`));
}

/** Sets when rows were recorded (activation, creation), for seeding a past quarter's history. */
export async function recordedAt(db: Db, table: keyof typeof RECORDED, column: string, id: string, instant: string): Promise<void> {
  await db.execute(sql`update ${sql.identifier(table)} set ${sql.identifier(column)} = ${instant}::timestamptz where id = ${id}`);
}

/** A row, and the day it was recorded (at 10:00 in the county's time). */
export type RecordedOn = [table: keyof typeof RECORDED, column: string, id: string, day: string];

/** recordedOnPinnedDay, then each listed row recorded on its own day instead. */
export async function pinHistory(db: Db, timeZone: string, recorded: readonly RecordedOn[]): Promise<void> {
  await recordedOnPinnedDay(db, timeZone);
  for (const [table, column, id, day] of recorded) await recordedAt(db, table, column, id, `${day}T10:00:00+08:00`);
}

/**
 * Seeds an inquiry's past: issued and recorded at `instant` (its history so far happened then too) and due on `dueOn`.
 * Partners cannot send an inquiry already past due, so tests of overdue figures move one back in time.
 */
export async function inquiryRecordedAt(db: Db, id: string, instant: string, dueOn: string): Promise<void> {
  await db.execute(sql`update inquiries set created_at = ${instant}::timestamptz, issued_on = (${instant}::timestamptz at time zone 'Asia/Shanghai')::date, due_on = ${dueOn}::date where id = ${id}`);
  await rewritingHistory(db, 'inquiry_events', sql`update inquiry_events set at = ${instant}::timestamptz where inquiry_id = ${id}`);
}
