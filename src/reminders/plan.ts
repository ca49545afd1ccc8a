import { and, eq, gte, inArray, isNull, lt, lte, sql } from 'drizzle-orm';
import { agreements } from '../agreements/tables';
import { appendAudit } from '../audit/service';
import { users } from '../auth/tables';
import { addDays } from '../calendar';
import { anyOf, type Db } from '../db/client';
import { ADVISORY_LOCK } from '../db/locks';
import type { Deps } from '../deps';
import { inquiriesNearDue } from '../inquiries/figures';
import { getDivision } from '../jurisdiction/divisions';
import { people } from '../people/tables';
import { systemCaller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { ratingInvitation } from '../ratings/service';
import { CADENCES, lastClosedPeriod } from '../reports/periods';
import { quarterFigures, warningReasons } from '../supervision/warning';
import { dateZh, periodZh, render } from './templates';
import { notificationKey, notifications, reminderRuns, type Channel, type NotificationKind } from './tables';

export const REMINDER_CALLER = systemCaller('reminders');

interface Planned {
  dedupeKey: string;
  kind: NotificationKind;
  channel: Channel;
  personId?: string;
  userId?: string;
  agreementId?: string;
  period: string;
  body: string;
}

/** ISO week label (`2026-W48`) of a date: official summaries go out at most once a week. */
export function isoWeek(date: string): string {
  const d = new Date(`${date}T00:00:00Z`);
  // The ISO week belongs to the year of its Thursday; week 1 is the one with 4 January.
  d.setUTCDate(d.getUTCDate() + 3 - ((d.getUTCDay() + 6) % 7));
  const year = d.getUTCFullYear();
  const week = 1 + Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 604_800_000);
  return `${year}-W${String(week).padStart(2, '0')}`;
}

const key = notificationKey;
const notPlanned = (k: ReturnType<typeof sql>) => sql`not exists (select 1 from ${notifications} n where n.dedupe_key = ${k})`;

/** People with an active agreement whose report is due within the window, or overdue: one reminder each per period. */
async function reportReminders(tx: Db, deps: Deps, today: string, county: string, channel: Channel): Promise<Planned[]> {
  const out: Planned[] = [];
  const soon = addDays(today, deps.config.reminders.daysBeforeDue);
  for (const kind of ['REPORT_DUE_SOON', 'REPORT_OVERDUE'] as const) {
    const window = kind === 'REPORT_DUE_SOON' ? and(gte(agreements.nextDueOn, today), lte(agreements.nextDueOn, soon)) : lt(agreements.nextDueOn, today);
    const rows = await tx
      .select({ personId: agreements.personId, period: agreements.nextDuePeriod, dueOn: agreements.nextDueOn })
      .from(agreements)
      .innerJoin(people, eq(people.id, agreements.personId))
      .where(and(eq(agreements.status, 'ACTIVE'), window, eq(people.status, 'AWAY'), isNull(people.erasedAt), notPlanned(sql`${kind} || ':' || ${agreements.personId}::text || ':' || ${agreements.nextDuePeriod}`)));
    for (const r of rows) {
      out.push({ dedupeKey: key(kind, r.personId, r.period!), kind, channel, personId: r.personId, period: r.period!, body: render(kind, { county, period: periodZh(r.period!), dueOn: dateZh(r.dueOn!) }) });
    }
  }
  return out;
}

/**
 * A person who reported in the last 30 days is invited to rate the service of the last closed period of their
 * agreement's cadence (a period still running cannot be rated: the link would be refused until it ends and might
 * expire first), once per person and period. A report for the running period leads to an invitation for that period
 * once it has ended, if the report is still recent then; a period that ended before the agreement began is skipped.
 */
async function ratingInvitations(tx: Db, today: string, county: string, channel: Channel): Promise<Planned[]> {
  authorize(REMINDER_CALLER.actor, 'ratingLink.issue');
  const out: Planned[] = [];
  for (const cadence of CADENCES) {
    const closed = lastClosedPeriod(cadence, today);
    const rows = await tx
      .select({ agreementId: agreements.id, personId: agreements.personId })
      .from(agreements)
      .innerJoin(people, eq(people.id, agreements.personId))
      .where(
        and(
          eq(agreements.status, 'ACTIVE'),
          eq(agreements.cadence, cadence),
          lte(agreements.validFrom, closed.end),
          gte(agreements.lastReportOn, addDays(today, -30)),
          eq(people.status, 'AWAY'),
          isNull(people.erasedAt),
          notPlanned(sql`'RATING_INVITATION:' || ${agreements.personId}::text || ':' || ${closed.label}`),
        ),
      );
    for (const r of rows) out.push(ratingInvitation(r, closed.label, county, channel));
  }
  return out;
}

/** Each enabled village official with overdue people gets one summary a week, in their in-app inbox. */
async function officialSummaries(tx: Db, today: string): Promise<Planned[]> {
  const week = isoWeek(today);
  const rows = await tx
    .select({ userId: users.id, count: sql<number>`count(${agreements.id})::int` })
    .from(users)
    .innerJoin(agreements, and(eq(agreements.villageCode, users.scope), eq(agreements.status, 'ACTIVE'), lt(agreements.nextDueOn, today)))
    .where(and(eq(users.role, 'VILLAGE_OFFICIAL'), isNull(users.disabledAt), notPlanned(sql`'OVERDUE_SUMMARY:' || ${users.id}::text || ':' || ${week}`)))
    .groupBy(users.id);
  return rows.map((r) => ({ dedupeKey: key('OVERDUE_SUMMARY', r.userId, week), kind: 'OVERDUE_SUMMARY', channel: 'INBOX', userId: r.userId, period: week, body: render('OVERDUE_SUMMARY', { count: r.count }) }));
}

/** Partners' inquiries near their reply deadline, to whoever must answer them (in-app), once per user and inquiry. */
async function inquiryReminders(tx: Db, deps: Deps, today: string): Promise<Planned[]> {
  const due = await inquiriesNearDue(tx, today, deps.config.reminders.daysBeforeDue);
  return due.map((i) => ({ dedupeKey: key('INQUIRY_DUE_SOON', i.userId, i.inquiryId), kind: 'INQUIRY_DUE_SOON', channel: 'INBOX', userId: i.userId, period: i.inquiryId, body: render('INQUIRY_DUE_SOON', { dueOn: dateZh(i.dueOn), inquiryId: i.inquiryId }) }));
}

/**
 * At the start of each quarter (its first planning day), town supervisors and county administrators are told how
 * many villages of their town (the county) are on the last quarter's warning list.
 */
async function quarterlyWarnings(tx: Db, deps: Deps, today: string): Promise<Planned[]> {
  const last = lastClosedPeriod('QUARTERLY', today);
  const recipients = await tx
    .select({ id: users.id, role: users.role, scope: users.scope })
    .from(users)
    .where(and(inArray(users.role, ['TOWN_SUPERVISOR', 'COUNTY_ADMIN']), isNull(users.disabledAt), notPlanned(sql`'QUARTERLY_WARNING:' || ${users.id}::text || ':' || ${last.label}`)));
  if (recipients.length === 0) return [];
  const window = { label: last.label, start: last.start, end: last.end, asOf: last.end, complete: true };
  const { thresholds, villages } = await quarterFigures({ ...deps, db: tx }, window);
  const warned = villages.filter((f) => warningReasons(f, thresholds).length > 0);
  return recipients.map((u) => {
    const town = u.role === 'TOWN_SUPERVISOR' ? u.scope : null;
    const count = town ? warned.filter((f) => f.townCode === town).length : warned.length;
    const body = render('QUARTERLY_WARNING', { quarter: periodZh(last.label), scope: town ? '本镇' : '全县', count });
    return { dedupeKey: key('QUARTERLY_WARNING', u.id, last.label), kind: 'QUARTERLY_WARNING', channel: 'INBOX', userId: u.id, period: last.label, body };
  });
}

/**
 * The plan's rows by person id (rows for users last). Every outbox row's foreign keys lock its person and agreement
 * (FOR KEY SHARE, held to commit), which a partner's batch or any job over many people must wait for when it locks
 * them FOR UPDATE, in person-id order and then their agreements. In the plan's own order (by kind, then as its queries
 * return them) the plan held a later person while waiting for an earlier one the batch held, and the batch waited for
 * the later one: a deadlock on the first planning day of a large county. (Ids come back as lowercase text, which
 * sorts as PostgreSQL sorts uuids.)
 */
const inLockOrder = (planned: Planned[]): Planned[] =>
  [...planned].sort((a, b) => (a.personId === b.personId ? 0 : a.personId === undefined ? 1 : b.personId === undefined ? -1 : a.personId < b.personId ? -1 : 1));

/**
 * Takes the locks a chunk's foreign keys will take, in the registry's order: the people in id order, then their
 * agreements. Chunks come in person-id order and an agreement belongs to its row's person, so across the plan people
 * are locked in id order and each agreement after its person, as everyone else does.
 */
async function lockRecipients(tx: Db, chunk: Planned[]): Promise<void> {
  const ids = (pick: (p: Planned) => string | undefined) => [...new Set(chunk.flatMap((p) => pick(p) ?? []))];
  const personIds = ids((p) => p.personId);
  if (personIds.length) await tx.select({ id: people.id }).from(people).where(anyOf(people.id, personIds)).orderBy(people.id).for('key share');
  const agreementIds = ids((p) => p.agreementId);
  if (agreementIds.length) await tx.select({ id: agreements.id }).from(agreements).where(anyOf(agreements.id, agreementIds)).orderBy(agreements.id).for('key share');
}

/**
 * Writes the day's reminders into the outbox, in one transaction under an advisory lock (instances take turns; the
 * day is planned once). Rows already planned on earlier days or runs are skipped by their unique key, so a rerun or a
 * second instance adds nothing; a crash rolls the whole plan back and the next run redoes it.
 */
export async function planReminders(deps: Deps, today: string, channel: Channel, now = new Date()): Promise<number> {
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCK.planReminders})`);
    const [run] = await tx.select().from(reminderRuns).where(eq(reminderRuns.runDate, today));
    if (run?.finishedAt) return 0;
    const county = (await getDivision(tx, deps.config.countyCode))?.name ?? '';
    const planned = [
      ...(await reportReminders(tx, deps, today, county, channel)),
      ...(await ratingInvitations(tx, today, county, channel)),
      ...(await officialSummaries(tx, today)),
      ...(await inquiryReminders(tx, deps, today)),
      ...(await quarterlyWarnings(tx, deps, today)),
    ];
    let inserted = 0;
    const ordered = inLockOrder(planned);
    for (let i = 0; i < ordered.length; i += 500) {
      const chunk = ordered.slice(i, i + 500);
      await lockRecipients(tx, chunk);
      const rows = await tx
        .insert(notifications)
        .values(chunk.map((p) => ({ ...p, nextAttemptAt: now }))).onConflictDoNothing({ target: notifications.dedupeKey }).returning({ id: notifications.id });
      inserted += rows.length;
    }
    await tx
      .insert(reminderRuns)
      .values({ runDate: today, finishedAt: new Date(), planned: inserted })
      .onConflictDoUpdate({ target: reminderRuns.runDate, set: { finishedAt: new Date(), planned: inserted } });
    await appendAudit(tx, REMINDER_CALLER, { action: 'reminder.plan', details: { date: today, planned: inserted } });
    return inserted;
  });
}
