import { and, asc, getTableColumns, or, sql } from 'drizzle-orm';
import { isActiveAgreementOf, type Agreement } from '../agreements/service';
import { agreements } from '../agreements/tables';
import { preparedShape, type Db } from '../db/client';
import { literalLimit } from '../db/keyset';
import { AGREEMENT_PAGE_COLUMNS, PERSON_PAGE_COLUMNS, REPORT_PAGE_COLUMNS } from '../graphql/page-columns';
import { mapRowsByLayout } from '../db/map-rows';
import type { Deps } from '../deps';
import type { Caller } from '../policy/actor';
import { lastReportOfRow, type StatusReport } from '../reports/service';
import { statusReports } from '../reports/tables';
import { peopleConditions, peopleConditionsShape, peopleWhere, type PeopleConditions, type PeopleCursor, type PeopleFilter, type Person } from './service';
import { people } from './tables';

/** Related rows a people page can bring in its own statement, when the request will read them. */
export interface PageRelations {
  activeAgreement?: boolean;
  lastReport?: boolean;
}

/** Which tables a page reads narrowly (PageColumns) rather than whole. */
export interface PageNarrow {
  person?: boolean;
  activeAgreement?: boolean;
  lastReport?: boolean;
}

export interface PeoplePageRow {
  /** Narrow (PageNarrow), only the page columns' fields: the operation then reads no others (graphql/page-columns.ts). */
  person: Person;
  /** Present (null when there is none) only when asked for. */
  activeAgreement?: Agreement | null;
  lastReport?: StatusReport | null;
}

/** What a page statement's text depends on; everything else (the jurisdiction, the filter's values, the cursor) is a value. */
interface PageShape {
  /** Which conditions apply (their values here are not written into the statement: placeholders stand for them). */
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
  const reportColumns = Object.keys(s.narrow.lastReport ? REPORT_PAGE_COLUMNS.columns : getTableColumns(statusReports)) as (keyof StatusReport)[];
  const last = s.related.lastReport ? lastReportOfRow(db, people.id, reportColumns) : undefined;
  let q = db
    .select({
      person: s.narrow.person ? PERSON_PAGE_COLUMNS.columns : people,
      ...(s.related.activeAgreement ? { activeAgreement: s.narrow.activeAgreement ? AGREEMENT_PAGE_COLUMNS.columns : agreements } : {}),
      ...(last ? { lastReport: last._.selectedFields } : {}),
    })
    .from(people)
    .$dynamic();
  // (the joins make those fields nullable, which the row type below says)
  if (s.related.activeAgreement) q = q.leftJoin(agreements, isActiveAgreementOf(people.id)) as unknown as typeof q;
  if (last) q = q.leftJoinLateral(last, sql`true`) as unknown as typeof q;
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
