import { and, desc, eq, gte, or, sql, type SQL } from 'drizzle-orm';
import type { DepositComplaint } from '../agreements/complaints';
import { depositComplaints } from '../agreements/tables';
import { divisions } from '../jurisdiction/tables';
import { addDays, todayIn } from '../calendar';
import { arrayLiteral, rows, type Db } from '../db/client';
import type { Config } from '../config';
import type { Deps } from '../deps';
import { badInput } from '../errors';
import { openInquiriesPastDueByVillage } from '../inquiries/figures';
import { requireDivision } from '../jurisdiction/divisions';
import { requireDate } from '../people/validation';
import type { Caller } from '../policy/actor';
import { listScope, PolicyDenied, type Action } from '../policy/policy';
import { allMonths, monthsInsideSql } from '../reports/coverage';
import { continuedTermEndSql, continuesSql, owesSql, skippedDraftSql } from '../reports/owed';
import { CADENCES, nextPeriod, parsePeriod, periodContaining, reportDueOn, type Cadence, type Period } from '../reports/periods';

/** The period a dashboard covers and the day its figures are taken on (the period's end, or today if it has not ended). */
export interface FiguresWindow {
  label: string;
  start: string;
  end: string;
  /** The reference day: figures count only facts dated, and recorded, on or before it. */
  asOf: string;
  complete: boolean;
}

export interface VillageFigures {
  villageCode: string;
  activeAgreements: number;
  reportsDue: number;
  reportsOnTime: number;
  reportsOverdue: number;
  /** Percent of reports due that were not in on time, one decimal; null when none were due. */
  overdueRate: number | null;
  checksDone: number;
  brokenCommitments: number;
  openDepositComplaints: number;
  openInquiriesPastDue: number;
  /** Both null when fewer ratings than the minimum group size were given. */
  ratingCount: number | null;
  averageRating: number | null;
}

/** The window of a period label, taken on `asOf` (default today; never in the future), or on its last day once it is over. */
export function figuresWindow(deps: Deps, label: string, field = 'period', asOf?: string | null): FiguresWindow {
  const p = parsePeriod(label);
  if (!p) throw badInput(field, 'use 2026-11 (month), 2026-Q3 (quarter) or 2026-H2 (half-year)');
  const today = todayIn(deps.config.timeZone);
  const day = asOf ? requireDate('asOf', asOf) : today;
  if (day > today) throw badInput('asOf', 'cannot be in the future');
  if (p.start > day) throw badInput(field, 'the period had not started by then');
  // on its last day a period is still running: facts may yet be recorded that day
  const complete = p.end < day;
  return { label: p.label, start: p.start, end: p.end, asOf: complete ? p.end : day, complete };
}

interface Obligation {
  cadence: Cadence;
  period: Period;
  dueOn: string;
}

/**
 * Cadence periods whose report fell due inside the window (on or before its reference day), so a quarter's
 * dashboard grades the reports due in that quarter — all of them final by its last day, which the quarterly warning
 * needs on the first day of the next quarter. For 2026-Q3 with 15 days' grace: 2026-Q2, 2026-H1, and the monthly
 * reports of June, July and August.
 */
export function obligationPeriods(w: FiguresWindow, graceDays: number): Obligation[] {
  const out: Obligation[] = [];
  for (const cadence of CADENCES) {
    for (let p = periodContaining(cadence, addDays(w.start, -(graceDays + 200))); ; p = nextPeriod(cadence, p)) {
      const dueOn = reportDueOn(p, graceDays);
      if (dueOn > w.asOf) break;
      if (dueOn >= w.start) out.push({ cadence, period: p, dueOn });
    }
  }
  return out;
}

/**
 * The periods whose service ratings a window's figures count: every month, quarter and half-year inside the window
 * that is over by its reference day (a rating is of a period, and can only be given once the period has ended).
 * For 2026-Q4 taken on 11-23: 2026-10; once Q4 is over: 2026-10, 2026-11, 2026-12 and 2026-Q4.
 */
export function ratedPeriods(w: FiguresWindow): string[] {
  // on the reference day of a running window a period ending that day is still running (as in figuresWindow)
  const over = (p: Period) => (w.complete ? p.end <= w.end : p.end < w.asOf);
  const out: string[] = [];
  for (const cadence of CADENCES) {
    for (let p = periodContaining(cadence, w.start); over(p); p = nextPeriod(cadence, p)) if (p.start >= w.start) out.push(p.label);
  }
  return out;
}

type FiguresRow = Omit<VillageFigures, 'reportsOverdue' | 'overdueRate' | 'openInquiriesPastDue' | 'ratingCount'> & { ratingCount: number };

/**
 * "Recorded on or before day D (county time)" is "recorded before the first instant of D + 1": compared as instants,
 * the big tables' timestamps need no conversion row by row.
 */
const dayAfter = (tz: string, day: SQL) => sql`((${day} + 1)::timestamp at time zone ${tz})`;

/**
 * The deposit complaints the figures and the list take on a reference day, from dated facts: `known`, reported and
 * recorded by that day; `open`, not resolved by that day's end in the county (a complaint resolved at 23:30 county
 * time is closed that day, though it is still the afternoon in UTC).
 */
function complaintsOn(tz: string, asOf: string): { known: SQL; open: SQL } {
  const after = dayAfter(tz, sql`${asOf}::date`);
  const c = depositComplaints;
  return {
    known: sql`${c.reportedOn} <= ${asOf}::date and ${c.createdAt} < ${after}`,
    open: sql`(${c.resolvedAt} is null or ${c.resolvedAt} >= ${after})`,
  };
}

/**
 * The one statement behind villageFigures (apart from inquiries); exported so benchmarks can EXPLAIN it. With
 * `villageCodes`, only those villages of the town (or county) are figured: every figure is one village's own.
 */
export function figuresQuery(config: Pick<Config, 'timeZone' | 'reportGraceDays'>, townCode: string | null, w: FiguresWindow, villageCodes?: readonly string[]): SQL {
  const tz = config.timeZone;
  const obligations = obligationPeriods(w, config.reportGraceDays);
  const rated = ratedPeriods(w);
  const periodRows = obligations.length
    ? sql`select * from (values ${sql.join(
        obligations.map(
          (o) => sql`(${o.cadence}, ${o.period.label}, ${o.period.start}::date, ${o.period.end}::date, ${allMonths(o.period)}::int, ${o.dueOn}::date, ${dayAfter(tz, sql`${o.period.end}::date`)}, ${dayAfter(tz, sql`${o.dueOn}::date`)})`,
        ),
        sql`, `,
      )}) as v(cadence, label, p_start, p_end, all_months, due_on, after_end, after_due)`
    : sql`select null::text as cadence, null::text as label, null::date as p_start, null::date as p_end, null::int as all_months, null::date as due_on, null::timestamptz as after_end, null::timestamptz as after_due where false`;
  const afterAsOf = dayAfter(tz, sql`${w.asOf}::date`);
  const complaints = complaintsOn(tz, w.asOf);
  const only = villageCodes ? sql` and code = any(${arrayLiteral(villageCodes)}::text[])` : sql``;
  const villages = townCode
    ? sql`select code from divisions where level = 'VILLAGE' and parent_code = ${townCode}${only}`
    : sql`select code from divisions where level = 'VILLAGE'${only}`;
  return sql`
    with recursive villages as (${villages}),
    obligation_periods as (${periodRows}),
    spans as (
      select a.id, a.person_id, a.village_code, a.cadence, a.valid_from, a.valid_to, a.version, a.ended_at
      from agreements a
      where a.village_code in (select code from villages) and a.activated_at < ${afterAsOf}
    ),
    -- the core's walk (owedTerms): from each version activated by the reference day back over discarded drafts to
    -- the version it follows. Only later versions have one: they are picked out in agreements_village_dates_idx
    -- (version is in it) and only they are read from the table
    walk as (
      select a.id as succ_id, a.valid_from as succ_from, a.previous_id as prev_id
      from agreements a
      where a.village_code in (select code from villages) and a.activated_at < ${afterAsOf} and a.version > 1 and a.previous_id is not null
      union all
      select w.succ_id, w.succ_from, d.previous_id from walk w join agreements d on d.id = w.prev_id
      where ${skippedDraftSql(sql`d`)} and d.previous_id is not null
    ),
    -- the versions continued by a later one, whose term then ends the day before it starts (src/reports/owed.ts)
    links as (
      select w.prev_id, w.succ_id, ${continuedTermEndSql(sql`p.valid_to`, sql`w.succ_from`)} as prev_to
      from walk w join agreements p on p.id = w.prev_id
      where ${continuesSql(sql`p`, sql`w.succ_from`)}
    ),
    -- how long the chain of versions a continued version belongs to stayed in force: its last version's end
    chain_end as (
      select l.prev_id as id, s.ended_at from links l join spans s on s.id = l.succ_id
      where l.succ_id not in (select prev_id from links)
      union all
      select l.prev_id, c.ended_at from chain_end c join links l on l.succ_id = c.id
    ),
    -- the continued versions with their term's end and their chain's end (few: only amended or renewed ones), so
    -- that the town's versions are joined to a small table
    continued as (
      select l.prev_id, l.prev_to, c.ended_at from links l left join chain_end c on c.id = l.prev_id
    ),
    terms as (
      select s.person_id, s.village_code, s.cadence, s.valid_from as t_from,
        case when l.prev_id is null then s.valid_to else l.prev_to end as t_to,
        case when l.prev_id is null then s.ended_at else l.ended_at end as bound_until
      from spans s left join continued l on l.prev_id = s.id
    ),
    -- a period owed under two versions of a person's agreement comes twice: graded groups the rows by person and
    -- period (all versions of a person are of their home village, which never changes), and bit_or does not mind
    -- a report matched twice; no sort to drop the duplicates first
    obligations as (
      select t.person_id, t.village_code, op.label, op.p_start, op.p_end, op.all_months, op.due_on, op.after_due
      from terms t join obligation_periods op on op.cadence = t.cadence
      where ${owesSql(sql`op.p_start`, sql`op.p_end`, sql`t.t_from`, sql`t.t_to`)}
        and (t.bound_until is null or t.bound_until >= op.after_end)
    ),
    -- the reports that may grade these obligations, read once from status_reports_village_idx alone (a report
    -- carries its person's home village, which never changes), then matched to the obligations in one hash join
    town_reports as materialized (
      select r.person_id, r.period_start, r.period_end, r.reported_on, r.created_at
      from status_reports r
      where r.village_code in (select code from villages)
        and r.period_end >= (select min(p_start) from obligation_periods) and r.period_start <= (select max(p_end) from obligation_periods)
    ),
    graded as (
      -- on time: every month of the period inside some report of the person reported and recorded (county day) by
      -- its due day: the core's coverage rule (src/reports/coverage.ts), over the reports overlapping the period
      select o.village_code,
        coalesce(bit_or(${monthsInsideSql(sql`o.p_start`, sql`o.p_end`, sql`r.period_start`, sql`r.period_end`)}), 0) = o.all_months as on_time
      from obligations o
      left join town_reports r on r.person_id = o.person_id and r.period_start <= o.p_end and r.period_end >= o.p_start
        and r.reported_on <= o.due_on and r.created_at < o.after_due
      group by o.village_code, o.person_id, o.label, o.all_months
    ),
    -- each figure aggregated by village apart, once: joined to the villages whatever plan the join gets (with a few
    -- villages estimated, a nested loop would otherwise aggregate the obligations again for every village)
    active as materialized (
      select village_code, count(*) as n from spans where ended_at is null or ended_at >= ${afterAsOf} group by village_code
    ),
    due as materialized (
      select village_code, count(*) as due, count(*) filter (where on_time) as on_time from graded group by village_code
    ),
    checks as materialized (
      select village_code, count(*) as done, count(*) filter (where finding = 'BROKEN') as broken
      from supervision_checks
      where village_code in (select code from villages) and checked_on between ${w.start}::date and ${w.asOf}::date
        and created_at < ${afterAsOf}
      group by village_code
    ),
    complaints as materialized (
      select village_code, count(*) as open
      from deposit_complaints
      where village_code in (select code from villages) and ${complaints.known} and ${complaints.open}
      group by village_code
    ),
    ratings as materialized (
      select village_code, count(*) as n, round(avg(score), 2) as average
      from service_ratings
      where village_code in (select code from villages) and ${rated.length ? sql`period in (${sql.join(rated.map((l) => sql`${l}`), sql`, `)})` : sql`false`}
      group by village_code
    )
    select v.code as "villageCode",
      coalesce(act.n, 0)::int as "activeAgreements",
      coalesce(g.due, 0)::int as "reportsDue",
      coalesce(g.on_time, 0)::int as "reportsOnTime",
      coalesce(ch.done, 0)::int as "checksDone",
      coalesce(ch.broken, 0)::int as "brokenCommitments",
      coalesce(dc.open, 0)::int as "openDepositComplaints",
      coalesce(rt.n, 0)::int as "ratingCount",
      rt.average::float8 as "averageRating"
    from villages v
    left join active act on act.village_code = v.code
    left join due g on g.village_code = v.code
    left join checks ch on ch.village_code = v.code
    left join complaints dc on dc.village_code = v.code
    left join ratings rt on rt.village_code = v.code
    order by v.code`;
}

/**
 * The villages of a town (or the county) in `figuresStatements` runs of consecutive codes, one statement each: on
 * PostgreSQL they run at once on the pool's connections, so one dashboard uses more than one core (a village's
 * figures need nothing of another village's). Each statement orders its villages by code, so the runs put together
 * are in order too. Each run reads its own snapshot: facts recorded while they run may reach one run and not another,
 * as they may reach one request and not the next. One run (undefined: no list, the town's villages) on PGlite, whose one connection would take
 * them in turn anyway, or when there is one village or none.
 */
export async function villageChunks(db: Db, townCode: string | null, n: number): Promise<(readonly string[] | undefined)[]> {
  if (n <= 1) return [undefined];
  const level = eq(divisions.level, 'VILLAGE');
  const codes = (
    await db
      .select({ code: divisions.code })
      .from(divisions)
      .where(townCode ? and(level, eq(divisions.parentCode, townCode)) : level)
      .orderBy(divisions.code)
  ).map((d) => d.code);
  if (codes.length <= 1) return [undefined];
  const size = Math.ceil(codes.length / Math.min(n, codes.length));
  const out: string[][] = [];
  for (let i = 0; i < codes.length; i += size) out.push(codes.slice(i, i + size));
  return out;
}

/**
 * The figures of each village of a town (or of the county) for a window, in one SQL statement per run of villages
 * (villageChunks). Everything is read
 * from dated facts recorded by the reference day (activation and end dates, report periods and report dates,
 * check dates, complaint and resolution dates), never from current status columns, so a past period gives the same
 * figures whenever it is asked for. docs/supervision.md defines each figure.
 */
export async function villageFigures(deps: Deps, townCode: string | null, w: FiguresWindow, statements = deps.config.databaseUrl ? deps.config.figuresStatements : 1): Promise<VillageFigures[]> {
  const tz = deps.config.timeZone;
  const chunks = await villageChunks(deps.db, townCode, statements);
  const figures = (await Promise.all(chunks.map((c) => rows<FiguresRow>(deps.db, figuresQuery(deps.config, townCode, w, c))))).flat();
  const inquiries = new Map((await openInquiriesPastDueByVillage(deps.db, figures.map((f) => f.villageCode), w.asOf, tz)).map((i) => [i.villageCode, i.count]));
  const minRatings = deps.config.ratingMinGroupSize;
  return figures.map((f) => {
    const reportsOverdue = f.reportsDue - f.reportsOnTime;
    return {
      ...f,
      reportsOverdue,
      overdueRate: f.reportsDue === 0 ? null : Math.round((reportsOverdue / f.reportsDue) * 1000) / 10,
      openInquiriesPastDue: inquiries.get(f.villageCode) ?? 0,
      ratingCount: f.ratingCount >= minRatings ? f.ratingCount : null,
      averageRating: f.ratingCount >= minRatings ? f.averageRating : null,
    };
  });
}

/** Sums over villages (the overdue rate from the sums; ratings are per village only). */
export function totalsOf(villages: VillageFigures[]): Omit<VillageFigures, 'villageCode'> {
  const sum = (k: keyof VillageFigures) => villages.reduce((n, v) => n + (v[k] as number), 0);
  const reportsDue = sum('reportsDue');
  const reportsOverdue = sum('reportsOverdue');
  return {
    activeAgreements: sum('activeAgreements'),
    reportsDue,
    reportsOnTime: sum('reportsOnTime'),
    reportsOverdue,
    overdueRate: reportsDue === 0 ? null : Math.round((reportsOverdue / reportsDue) * 1000) / 10,
    checksDone: sum('checksDone'),
    brokenCommitments: sum('brokenCommitments'),
    openDepositComplaints: sum('openDepositComplaints'),
    openInquiriesPastDue: sum('openInquiriesPastDue'),
    ratingCount: null,
    averageRating: null,
  };
}

/** The town a caller may see figures for: its own town for a supervisor, any (or the whole county) for an administrator. */
export function townInScope(caller: Caller, action: Action, townCode: string | null | undefined): string | null {
  const j = listScope(caller.actor, action);
  if (j.kind === 'county') return townCode ?? null;
  if (j.kind === 'town' && (!townCode || townCode === j.townCode)) return j.townCode;
  throw new PolicyDenied(action, 'outside your jurisdiction');
}

/**
 * The deposit complaints a town's dashboard lists, from dated facts like the figures: recorded by the reference day,
 * and reported in the window or still open on the reference day (not resolved by its end). Newest first, with their
 * resolution as it stands now.
 */
export async function dashboardComplaints(deps: Deps, townCode: string, w: FiguresWindow): Promise<DepositComplaint[]> {
  const complaints = complaintsOn(deps.config.timeZone, w.asOf);
  return deps.db
    .select()
    .from(depositComplaints)
    .where(and(eq(depositComplaints.townCode, townCode), complaints.known, or(gte(depositComplaints.reportedOn, w.start), complaints.open)))
    .orderBy(desc(depositComplaints.reportedOn), desc(depositComplaints.createdAt))
    .limit(500);
}

export interface Dashboard {
  townCode: string;
  window: FiguresWindow;
  villages: VillageFigures[];
}

/** The supervision dashboard of one town for one period (month, quarter or half-year), as it stood on `asOf`. */
export async function supervisionDashboard(deps: Deps, caller: Caller, townCode: string, period: string, asOf?: string | null): Promise<Dashboard> {
  const town = townInScope(caller, 'dashboard.read', townCode);
  await requireDivision(deps.db, 'townCode', townCode, 'TOWN');
  const window = figuresWindow(deps, period, 'period', asOf);
  return { townCode: town!, window, villages: await villageFigures(deps, town, window) };
}
