import { and, asc, eq, gt, or, sql } from 'drizzle-orm';
import { isActiveAgreementOf, type Agreement } from '../agreements/service';
import { agreements } from '../agreements/tables';
import { literalLimit } from '../db/keyset';
import type { Deps } from '../deps';
import type { Caller } from '../policy/actor';
import { isLastReportOf, type StatusReport } from '../reports/service';
import { statusReports } from '../reports/tables';
import { peopleWhere, type PeopleCursor, type PeopleFilter, type Person } from './service';
import { people } from './tables';

/** Related rows a people page can bring in its own statement, when the request will read them. */
export interface PageRelations {
  activeAgreement?: boolean;
  lastReport?: boolean;
}

export interface PeoplePageRow {
  person: Person;
  /** Present (null when there is none) only when asked for. */
  activeAgreement?: Agreement | null;
  lastReport?: StatusReport | null;
}

/**
 * A page of people, ordered by name (code-point order) then id, keyset-paginated. Each person's active agreement
 * and last report, when asked for, come in the same statement (joins, an index lookup or two per person)
 * rather than in one batched statement apiece: a statement costs the server a socket write and the database a
 * round of parse, plan and execute, which on a page of 50 weigh more than the lookups themselves.
 */
export async function listPeople(deps: Deps, caller: Caller, f: PeopleFilter, first: number, after?: PeopleCursor, related: PageRelations = {}) {
  const where = peopleWhere(deps, caller, f);
  const nameC = sql`${people.name} collate "C"`;
  let q = deps.db
    .select({ person: people, ...(related.activeAgreement ? { activeAgreement: agreements } : {}), ...(related.lastReport ? { lastReport: statusReports } : {}) })
    .from(people)
    .$dynamic();
  // (the joins make those fields nullable, which the row type below says)
  if (related.activeAgreement) q = q.leftJoin(agreements, isActiveAgreementOf(people.id)) as unknown as typeof q;
  if (related.lastReport) q = q.leftJoin(statusReports, isLastReportOf(deps.db, people.id)) as unknown as typeof q;
  const page = (await q
    .where(and(where, after ? or(gt(nameC, after[0]), and(eq(nameC, after[0]), gt(people.id, after[1]))) : undefined))
    .orderBy(nameC, asc(people.id))
    .limit(literalLimit(first + 1))) as PeoplePageRow[];
  return { rows: page.slice(0, first), hasMore: page.length > first };
}
