import crypto from 'node:crypto';
import { and, asc, desc, eq, isNull, lt, or, sql, type Column, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { agreementInStatus } from '../agreements/ending';
import { assertAllowed } from '../agreements/lifecycle';
import type { Agreement, AgreementTerm } from '../agreements/ending';
import { agreements } from '../agreements/tables';
import { appendAuditMany, type AuditEvent } from '../audit/service';
import { addDays, todayIn } from '../calendar';
import { insertRows } from '../db/bulk';
import { anyOf, anyOfIds, arrayLiteral, lookupMany, preparedShape, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import { mapRowsByLayout } from '../db/map-rows';
import { AGREEMENT_PAGE_COLUMNS, PERSON_PAGE_COLUMNS } from '../graphql/page-columns';
import type { Deps } from '../deps';
import { badInput, conflict, requireUuid } from '../errors';
import { requireLiaison } from '../liaisons/service';
import type { Caller } from '../policy/actor';
import { authorize, type Target } from '../policy/policy';
import { scopeEqualities, scopeSql } from '../policy/scope-sql';
import { contactAudit, loadPerson, personTarget, planContactChanges, validateContactChanges, writeContactChanges, type ChangedPerson, type ContactPlan, type Person } from '../people/service';
import { optionalText, requireDate, requireNeeds, type PlaceInput } from '../people/validation';
import { people } from '../people/tables';
import { registryTransaction } from '../people/transaction';
import { refreshNextDue } from './due';
import { parsePeriod } from './periods';
import { ARRIVALS, statusReports, WORK_STATUSES, type Arrival } from './tables';

export type StatusReport = typeof statusReports.$inferSelect;

export interface StatusReportInput {
  personId: string;
  period: string;
  arrival: Arrival;
  reportedOn?: string | null;
  place?: PlaceInput | null;
  employer?: string | null;
  workStatus?: (typeof WORK_STATUSES)[number] | null;
  /** A new phone number, when the person reports one. */
  phone?: string | null;
  needs?: string[] | null;
  needsNote?: string | null;
  note?: string | null;
  liaisonContactId?: string | null;
  /** Id of the current report for the same period that this one replaces. */
  amends?: string | null;
}

/**
 * Other modules widen who may write a person's report (association staff for their members): they add what they
 * know about the person to the policy target.
 */
export type TargetEnricher = (db: Db, person: ChangedPerson) => Promise<Partial<Target>>;
const enrichers: TargetEnricher[] = [];
export function enrichReportTarget(e: TargetEnricher): void {
  enrichers.push(e);
}

/** Only a user's jurisdiction reads the target (policy `can`): partners and the system need no enrichment. */
export async function reportTarget(db: Db, caller: Caller, p: ChangedPerson): Promise<Target> {
  let target = personTarget(p);
  if (caller.actor.kind !== 'user') return target;
  for (const e of enrichers) target = { ...target, ...(await e(db, p)) };
  return target;
}

export type ValidReport = ReturnType<typeof validateStatusReport>;

/** Checks a report before any transaction starts (BAD_USER_INPUT), so a bad one writes nothing. */
export function validateStatusReport(deps: Pick<Deps, 'config'>, input: StatusReportInput) {
  const period = parsePeriod(input.period);
  if (!period) throw badInput('period', 'use 2026-11 (month), 2026-Q3 (quarter) or 2026-H2 (half-year)');
  if (!ARRIVALS.includes(input.arrival)) throw badInput('arrival', 'unknown arrival channel');
  const today = todayIn(deps.config.timeZone);
  const reportedOn = input.reportedOn ? requireDate('reportedOn', input.reportedOn) : today;
  if (reportedOn > today) throw badInput('reportedOn', 'cannot be in the future');
  if (period.start > today) throw badInput('period', 'cannot report for a period that has not started');
  if (input.workStatus && !WORK_STATUSES.includes(input.workStatus)) throw badInput('workStatus', 'unknown work status');
  const needs = requireNeeds('needs', input.needs);
  const needsNote = optionalText('needsNote', input.needsNote, 500) ?? null;
  if (needs.includes('OTHER') && !needsNote) throw badInput('needsNote', 'say what the OTHER need is');
  const contact = validateContactChanges('', { phone: input.phone, currentPlace: input.place, employer: input.employer });
  const amends = input.amends ? requireUuid('amends', input.amends) : null;
  return { input, period, reportedOn, needs, needsNote, contact, amends, note: optionalText('note', input.note, 1000) ?? null };
}

/** What a report is recorded against, loaded and locked in its transaction (person first, then agreement, then report). */
export interface ReportState {
  person: ChangedPerson;
  /** The policy target of the person (reportTarget). */
  target: Target;
  active: AgreementTerm | undefined;
  /** The current report for the same person and period, if any. */
  existing: { id: string } | undefined;
  liaisonContactId: string | null;
}

/** A report ready to write: the row, the report it supersedes, the contact change it carries, and its audit entries. */
export interface ReportPlan {
  row: typeof statusReports.$inferInsert & { id: string };
  supersedes: string | null;
  active: AgreementTerm | undefined;
  contact: ContactPlan | undefined;
  audit: AuditEvent[];
}

/**
 * Pure: the rules of recording a report. One current report per person and period: a second is CONFLICT unless it
 * names the first in `amends`, which keeps the first as history. Only what the report carries changes the person
 * (an absent phone is not "no phone").
 */
export function planStatusReport(caller: Caller, v: ValidReport, s: ReportState): ReportPlan {
  const { person: p, active, existing } = s;
  authorize(caller.actor, 'report.write', s.target);
  if (p.status !== 'AWAY') throw conflict(`the person is ${p.status}; reports are kept only while they are away`);
  if (active) assertAllowed(active.status, 'RECORD_REPORT');
  if (existing && existing.id !== v.amends) {
    throw conflict(`a report for ${v.period.label} already exists; pass its id in amends to correct it`, { existingReportId: existing.id });
  }
  if (!existing && v.amends) throw badInput('amends', `there is no current report for ${v.period.label} with that id`);
  const recorder = caller.actor;
  const row = {
    id: crypto.randomUUID(),
    personId: p.id,
    agreementId: active?.id ?? null,
    villageCode: p.homeVillageCode,
    period: v.period.label,
    periodStart: v.period.start,
    periodEnd: v.period.end,
    arrival: v.input.arrival,
    reportedOn: v.reportedOn,
    placeCountyCode: v.contact.currentCountyCode ?? null,
    placeTown: v.contact.currentTown ?? null,
    placeArea: v.contact.currentArea ?? null,
    employer: v.contact.employer ?? null,
    workStatus: v.input.workStatus ?? null,
    phone: v.contact.phone ?? null,
    needs: v.needs,
    needsNote: v.needsNote,
    note: v.note,
    liaisonContactId: s.liaisonContactId,
    supersedesId: existing?.id ?? null,
    recordedByType: recorder.kind === 'user' ? recorder.role : recorder.kind.toUpperCase(),
    recordedById: recorder.kind === 'user' ? recorder.userId : recorder.kind === 'partner' ? recorder.countyCode : null,
  };
  const changes = Object.fromEntries(Object.entries(v.contact).filter(([, value]) => value !== null && value !== undefined));
  const contact = planContactChanges(p, changes, `STATUS_REPORT:${v.input.arrival}`);
  const report: AuditEvent = {
    action: existing ? 'report.amend' : 'report.submit',
    targetType: 'StatusReport',
    targetId: row.id,
    details: { personId: p.id, period: v.period.label, arrival: v.input.arrival },
  };
  return { row, supersedes: existing?.id ?? null, active, contact, audit: contact ? [contactAudit(contact), report] : [report] };
}

/**
 * Writes planned reports in the caller's transaction, a statement per table whatever their number: the reports they
 * supersede marked, the reports, the contact changes they carry (with `moreContacts`, others of the same batch),
 * their agreements' next due period. The caller appends the plans' audit entries.
 */
export async function writeStatusReports(tx: Db, caller: Caller, graceDays: number, plans: readonly ReportPlan[], moreContacts: readonly ContactPlan[] = []): Promise<void> {
  const superseded = plans.flatMap((p) => (p.supersedes ? [p.supersedes] : []));
  if (superseded.length) await tx.update(statusReports).set({ supersededAt: new Date() }).where(anyOf(statusReports.id, superseded));
  await insertRows(tx, statusReports, plans.map((p) => p.row));
  await writeContactChanges(tx, caller, [...plans.flatMap((p) => (p.contact ? [p.contact] : [])), ...moreContacts]);
  await refreshNextDue(tx, plans.flatMap((p) => (p.active ? [p.active] : [])), graceDays);
}

export type CurrentReport = Awaited<ReturnType<typeof currentReports>>[number];

/** The current report of each (person, period), locked: the row a new report for that period must amend. */
export function currentReports(tx: Db, keys: readonly { personId: string; period: string }[]) {
  return tx
    .select({ id: statusReports.id, personId: statusReports.personId, period: statusReports.period, byType: statusReports.recordedByType, byId: statusReports.recordedById })
    .from(statusReports)
    .where(
      and(
        isNull(statusReports.supersededAt),
        sql`(${statusReports.personId}, ${statusReports.period}) in (select * from unnest(${arrayLiteral(keys.map((k) => k.personId))}::uuid[], ${arrayLiteral(keys.map((k) => k.period))}::text[]))`,
      ),
    )
    .orderBy(statusReports.id)
    .for('update');
}

/**
 * Records a status report, and with it any new phone, place or employer it carries (audited, and shown in the
 * village's change feed), in one registry transaction.
 */
export async function submitStatusReport(deps: Deps, caller: Caller, input: StatusReportInput): Promise<StatusReport> {
  const v = validateStatusReport(deps, input);
  const liaisonContactId = input.liaisonContactId ? (await requireLiaison(deps.db, 'liaisonContactId', input.liaisonContactId)).id : null;
  return registryTransaction(deps, async (tx) => {
    const person = await loadPerson(tx, input.personId, { lock: true });
    const target = await reportTarget(tx, caller, person);
    const active = await agreementInStatus(tx, person.id, 'ACTIVE', true);
    const [existing] = await currentReports(tx, [{ personId: person.id, period: v.period.label }]);
    const plan = planStatusReport(caller, v, { person, target, active, existing, liaisonContactId });
    await writeStatusReports(tx, caller, deps.config.reportGraceDays, [plan]);
    await appendAuditMany(tx, caller, plan.audit);
    const [report] = await loadReports(tx, [plan.row.id]);
    return report!;
  });
}

export async function listStatusReports(deps: Deps, caller: Caller, personId: string, opts: { includeSuperseded?: boolean | null }, first: number, after?: string) {
  const p = await loadPerson(deps.db, personId);
  authorize(caller.actor, 'report.read', personTarget(p));
  const where: SQL[] = [eq(statusReports.personId, p.id)];
  if (!opts.includeSuperseded) where.push(isNull(statusReports.supersededAt));
  if (after) {
    const [cursorRow] = await deps.db.select().from(statusReports).where(eq(statusReports.id, requireUuid('after', after)));
    if (!cursorRow) throw badInput('after', 'malformed cursor');
    where.push(
      or(
        lt(statusReports.periodStart, cursorRow.periodStart),
        and(eq(statusReports.periodStart, cursorRow.periodStart), lt(statusReports.createdAt, cursorRow.createdAt)),
      )!,
    );
  }
  const rows = await deps.db
    .select()
    .from(statusReports)
    .where(and(...where))
    .orderBy(desc(statusReports.periodStart), desc(statusReports.createdAt))
    .limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first), hasMore: rows.length > first };
}

/** A person's last report: the current (not superseded) one of the latest period, the newest if amended the same day. */
const CURRENT = isNull(statusReports.supersededAt);
const LATEST_FIRST = [desc(statusReports.periodStart), desc(statusReports.createdAt)];

/** Batch: each person's last report (for people pages). */
export function lastReportsOf(db: Db, personIds: readonly string[]): Promise<StatusReport[]> {
  return lookupMany(db, 'last_reports', personIds, (d) =>
    d
      .selectDistinctOn([statusReports.personId])
      .from(statusReports)
      .where(and(anyOfIds(statusReports.personId), CURRENT))
      .orderBy(statusReports.personId, ...LATEST_FIRST)
      .prepare('last_reports'),
  );
}

const latest = alias(statusReports, 'latest');

/**
 * The last report of `personId`'s row, as a subquery to join laterally (a people page in one statement): its row
 * comes straight from `status_reports_person_idx`, where an `id = (subquery)` join of the table would look the same
 * row up again by primary key (a third of the page's buffer reads). It selects the given columns of the table
 * (by their keys in `statusReports`), and its fields have the same keys.
 */
export function lastReportOfRow(db: Db, personId: Column, columns: readonly (keyof typeof statusReports.$inferSelect)[]) {
  return db
    .select(Object.fromEntries(columns.map((k) => [k, latest[k]])))
    .from(latest)
    .where(and(eq(latest.personId, personId), isNull(latest.supersededAt)))
    .orderBy(desc(latest.periodStart), desc(latest.createdAt))
    .limit(literalLimit(1))
    .as('last_report');
}

// ---- overdue ----

export interface OverdueQuery {
  asOf?: string | null;
  villageCode?: string | null;
  townCode?: string | null;
}

export type OverdueCursor = [string, string];
export const isOverdueCursor = (v: unknown): v is OverdueCursor =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v[0]) && /^[0-9a-f-]{36}$/.test(v[1]);

/** The overdue lists' date and checked jurisdiction; `where` for the counts (the page's statement has placeholders). */
function overdueScope(deps: Deps, caller: Caller, q: OverdueQuery) {
  const asOf = q.asOf ? requireDate('asOf', q.asOf) : todayIn(deps.config.timeZone);
  const scope = scopeEqualities(caller.actor, 'report.read', q.villageCode, q.townCode);
  const where = [...scopeSql(scope, agreements.villageCode, agreements.townCode), eq(agreements.status, 'ACTIVE')];
  return { asOf, scope, where };
}

/** Which tables an overdue page reads narrowly (graphql/page-columns.ts) rather than whole. */
export interface OverdueNarrow {
  agreement?: boolean;
  person?: boolean;
}

interface OverdueShape {
  village: boolean;
  town: boolean;
  after: boolean;
  withPerson: boolean;
  narrow: Required<OverdueNarrow>;
  limit: number;
}

/** The overdue page statement of a shape, its values as placeholders (built once per shape, see overdueReports). */
function overduePageStatement(db: Db, s: OverdueShape, name: string) {
  const value = (v: string) => sql.placeholder(v);
  const agreement = s.narrow.agreement ? AGREEMENT_PAGE_COLUMNS.columns : agreements;
  const query = s.withPerson
    ? db.select({ agreement, person: s.narrow.person ? PERSON_PAGE_COLUMNS.columns : people }).from(agreements).innerJoin(people, eq(people.id, agreements.personId))
    : db.select({ agreement }).from(agreements);
  const where: SQL[] = [];
  if (s.village) where.push(sql`${agreements.villageCode} = ${value('village')}`);
  if (s.town) where.push(sql`${agreements.townCode} = ${value('town')}`);
  // 'ACTIVE' written as a literal: the statement's cached plan can then use the partial indexes of active agreements.
  where.push(sql`${agreements.status} = 'ACTIVE'`, sql`${agreements.nextDueOn} < ${value('asOf')}`);
  if (s.after) {
    where.push(or(sql`${agreements.nextDueOn} > ${value('afterDue')}`, and(sql`${agreements.nextDueOn} = ${value('afterDue')}`, sql`${agreements.id} > ${value('afterId')}`))!);
  }
  return mapRowsByLayout(
    query
      .where(and(...where))
      .orderBy(asc(agreements.nextDueOn), asc(agreements.id))
      .limit(literalLimit(s.limit))
      .prepare(name),
  );
}

/**
 * Active agreements whose next report was due before `asOf`, most overdue first. One indexed range scan on the
 * stored next-due date: no per-person computation. The person of each agreement, when the request reads it, comes in
 * the same statement (by primary key): one statement fewer than a batched lookup afterwards. As the people page
 * (people/page.ts), the statement is built once per shape with its values as placeholders, and `narrow` reads a
 * table's page columns, which the caller asks for only when the operation asks nothing more of its type.
 */
export async function overdueReports(
  deps: Deps,
  caller: Caller,
  q: OverdueQuery,
  first: number,
  after?: OverdueCursor,
  opts: { withPerson?: boolean; narrow?: OverdueNarrow } = {},
) {
  const { asOf, scope } = overdueScope(deps, caller, q);
  const withPerson = !!opts.withPerson;
  const shape: OverdueShape = {
    village: scope.villageCode !== undefined,
    town: scope.townCode !== undefined,
    after: after !== undefined,
    withPerson,
    narrow: { agreement: !!opts.narrow?.agreement, person: withPerson && !!opts.narrow?.person },
    limit: first + 1,
  };
  const key = `overdue_page:${shape.village ? 'v' : ''}${shape.town ? 't' : ''}${shape.after ? 'a' : ''}${withPerson ? 'p' : ''}${shape.narrow.agreement ? 'G' : ''}${shape.narrow.person ? 'P' : ''}:${shape.limit}`;
  const statement = preparedShape(deps.db, key, OVERDUE_SHAPES_KEPT, (db) => overduePageStatement(db, shape, key));
  const rows = (await statement.execute({ village: scope.villageCode, town: scope.townCode, asOf, ...(after ? { afterDue: after[0], afterId: after[1] } : {}) })) as {
    agreement: Agreement;
    person?: Person;
  }[];
  return { asOf, rows: rows.slice(0, first), hasMore: rows.length > first };
}

/** Overdue page statements kept per database (the shapes in use are few). */
const OVERDUE_SHAPES_KEPT = 100;

export async function countOverdue(deps: Deps, caller: Caller, q: OverdueQuery): Promise<number> {
  const { asOf, where } = overdueScope(deps, caller, q);
  const [row] = await deps.db.select({ n: sql<number>`count(*)::int` }).from(agreements).where(and(...where, lt(agreements.nextDueOn, asOf)));
  return row?.n ?? 0;
}

export interface VillageDueCount {
  villageCode: string;
  active: number;
  overdue: number;
  dueSoon: number;
}

/** Per village in scope: active agreements, overdue, and due within the due-soon window. */
export async function dueCountsByVillage(deps: Deps, caller: Caller, q: OverdueQuery, dueSoonDays: number): Promise<VillageDueCount[]> {
  const { asOf, where } = overdueScope(deps, caller, q);
  const soon = addDays(asOf, dueSoonDays);
  return deps.db
    .select({
      villageCode: agreements.villageCode,
      active: sql<number>`count(*)::int`,
      overdue: sql<number>`(count(*) filter (where ${agreements.nextDueOn} < ${asOf}))::int`,
      dueSoon: sql<number>`(count(*) filter (where ${agreements.nextDueOn} >= ${asOf} and ${agreements.nextDueOn} <= ${soon}))::int`,
    })
    .from(agreements)
    .where(and(...where))
    .groupBy(agreements.villageCode)
    .orderBy(agreements.villageCode);
}

export function loadReports(db: Db, ids: readonly string[]): Promise<StatusReport[]> {
  return lookupMany(db, 'reports_by_id', ids, (d) => d.select().from(statusReports).where(anyOfIds(statusReports.id)).prepare('reports_by_id'));
}
