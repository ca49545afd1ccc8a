import { and, asc, or, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import { isActiveAgreementOf, type Agreement } from '../agreements/service';
import { agreements } from '../agreements/tables';
import { preparedShape, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import { mapRowsByLayout } from '../db/map-rows';
import type { Deps } from '../deps';
import type { Caller } from '../policy/actor';
import { isLastReportOf, type StatusReport } from '../reports/service';
import { statusReports } from '../reports/tables';
import { peopleConditions, peopleConditionsShape, peopleWhere, type PeopleConditions, type PeopleCursor, type PeopleFilter, type Person } from './service';
import { people } from './tables';

/** Related rows a people page can bring in its own statement, when the request will read them. */
export interface PageRelations {
  activeAgreement?: boolean;
  lastReport?: boolean;
}

/**
 * A narrower selection of a table for a page: its columns, and the GraphQL fields of the table's type that read
 * nothing else of the row (the type's resolvers in people/, agreements/ and reports/resolvers.ts, its guard in
 * graphql/guards.ts, and the services given the row: the cursor, the loaders). A page reads these columns only when
 * the operation asks nothing else of that type anywhere (fieldsAskedByType): the rows go into the request's loaders,
 * where any part of the operation may meet them. test/people/page-columns.test.ts checks each field against the whole row.
 */
export interface PageColumns {
  columns: Record<string, PgColumn>;
  fields: ReadonlySet<string>;
}

/** A person's list fields; not their ID number's ciphertext or keyed hash, nor the dates the page does not show. */
export const PERSON_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: people.id,
    name: people.name,
    idNumberMasked: people.idNumberMasked,
    homeVillageCode: people.homeVillageCode,
    phone: people.phone,
    status: people.status,
    currentCountyCode: people.currentCountyCode,
    currentTown: people.currentTown,
    currentArea: people.currentArea,
  },
  fields: new Set(['id', 'name', 'idNumber', 'homeVillage', 'phone', 'status', 'currentPlace', 'dependants', 'consents', 'activeAgreement', 'agreements', 'lastReport', 'statusReports', 'reportStatus']),
};

/** An agreement's terms and reporting state (with what dueState reads, for a person's or member's reportStatus), not its signatures and commitments. */
export const AGREEMENT_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: agreements.id,
    personId: agreements.personId,
    version: agreements.version,
    status: agreements.status,
    villageCode: agreements.villageCode,
    cadence: agreements.cadence,
    validFrom: agreements.validFrom,
    validTo: agreements.validTo,
    nextDuePeriod: agreements.nextDuePeriod,
    nextDueStart: agreements.nextDueStart,
    nextDueOn: agreements.nextDueOn,
    lastReportPeriod: agreements.lastReportPeriod,
  },
  fields: new Set(['id', 'person', 'version', 'status', 'allowedActions', 'village', 'cadence', 'validFrom', 'validTo', 'nextDuePeriod', 'nextDueOn', 'lastReportPeriod', 'reportStatus', 'history', 'depositComplaints']),
};

/** A report's period, arrival and work status, not its place, phone, needs and notes. */
export const REPORT_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: statusReports.id,
    personId: statusReports.personId,
    agreementId: statusReports.agreementId,
    villageCode: statusReports.villageCode,
    period: statusReports.period,
    arrival: statusReports.arrival,
    reportedOn: statusReports.reportedOn,
    workStatus: statusReports.workStatus,
    supersededAt: statusReports.supersededAt,
  },
  fields: new Set(['id', 'person', 'agreement', 'period', 'arrival', 'reportedOn', 'workStatus', 'superseded']),
};

/** Whether the operation asks of `type` only fields these columns serve. */
export function pageColumnsServe(asked: ReadonlyMap<string, ReadonlySet<string>>, type: string, c: PageColumns): boolean {
  for (const f of asked.get(type) ?? []) if (!c.fields.has(f)) return false;
  return true;
}

/** Which tables a page reads narrowly (PageColumns) rather than whole. */
export interface PageNarrow {
  person?: boolean;
  activeAgreement?: boolean;
  lastReport?: boolean;
}

export interface PeoplePageRow {
  person: Person;
  /** Present (null when there is none) only when asked for. */
  activeAgreement?: Agreement | null;
  lastReport?: StatusReport | null;
}

/** What a page statement's text depends on; everything else (the jurisdiction, the filter's values, the cursor) is a value. */
interface PageShape {
  conditions: PeopleConditions;
  after: boolean;
  related: PageRelations;
  narrow: PageNarrow;
  /** The rows to fetch (one more than the page, to tell whether more follow), written into the statement (literalLimit). */
  limit: number;
}

const nameC = sql`${people.name} collate "C"`;

/** The page statement of a shape, with placeholders for its values (built once per shape, see listPeople). */
function pageStatement(db: Db, s: PageShape, name: string) {
  const value = (v: string) => sql.placeholder(v);
  let q = db
    .select({
      person: s.narrow.person ? PERSON_PAGE_COLUMNS.columns : people,
      ...(s.related.activeAgreement ? { activeAgreement: s.narrow.activeAgreement ? AGREEMENT_PAGE_COLUMNS.columns : agreements } : {}),
      ...(s.related.lastReport ? { lastReport: s.narrow.lastReport ? REPORT_PAGE_COLUMNS.columns : statusReports } : {}),
    })
    .from(people)
    .$dynamic();
  // (the joins make those fields nullable, which the row type below says)
  if (s.related.activeAgreement) q = q.leftJoin(agreements, isActiveAgreementOf(people.id)) as unknown as typeof q;
  if (s.related.lastReport) q = q.leftJoin(statusReports, isLastReportOf(db, people.id)) as unknown as typeof q;
  const after = s.after ? or(sql`${nameC} > ${value('afterName')}`, and(sql`${nameC} = ${value('afterName')}`, sql`${people.id} > ${value('afterId')}`)) : undefined;
  return mapRowsByLayout(
    q
      .where(and(peopleWhere(db, s.conditions, value), after))
      .orderBy(nameC, asc(people.id))
      .limit(literalLimit(s.limit))
      .prepare(name),
  );
}

/** Page statements kept per database: the shapes in use are few (a role's usual filters, a page size or two). */
const PAGE_SHAPES_KEPT = 200;

/**
 * A page of people, ordered by name (code-point order) then id, keyset-paginated. Each person's active agreement
 * and last report, when asked for, come in the same statement (joins, an index lookup or two per person)
 * rather than in one batched statement apiece: a statement costs the server a socket write and the database a
 * round of parse, plan and execute, which on a page of 50 weigh more than the lookups themselves.
 *
 * The statement is built once per shape (which conditions, a cursor or not, the joins, the page size) and its
 * values are placeholders, so drizzle does not build its SQL again for each request. `narrow` reads a table's
 * PageColumns instead of the whole row: the caller says so only when the operation asks nothing more of its type.
 */
export async function listPeople(
  deps: Deps,
  caller: Caller,
  f: PeopleFilter,
  first: number,
  after?: PeopleCursor,
  related: PageRelations = {},
  narrow: PageNarrow = {},
) {
  const conditions = peopleConditions(deps, caller, f);
  const shape: PageShape = {
    conditions,
    after: after !== undefined,
    related: { activeAgreement: !!related.activeAgreement, lastReport: !!related.lastReport },
    narrow: { person: !!narrow.person, activeAgreement: !!narrow.activeAgreement, lastReport: !!narrow.lastReport },
    limit: first + 1,
  };
  const flags = `${shape.after ? 'a' : ''}${shape.related.activeAgreement ? 'g' : ''}${shape.related.lastReport ? 'r' : ''}`;
  const narrowed = `${shape.narrow.person ? 'P' : ''}${shape.narrow.activeAgreement ? 'G' : ''}${shape.narrow.lastReport ? 'R' : ''}`;
  const key = `people_page:${peopleConditionsShape(conditions)}:${flags}${narrowed}:${shape.limit}`;
  const statement = preparedShape(deps.db, key, PAGE_SHAPES_KEPT, (db) => pageStatement(db, shape, key));
  const { overdue: _, ...values } = conditions;
  const page = (await statement.execute({ ...values, ...(after ? { afterName: after[0], afterId: after[1] } : {}) })) as PeoplePageRow[];
  return { rows: page.slice(0, first), hasMore: page.length > first };
}
