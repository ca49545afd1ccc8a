import type { Deps } from '../deps';
import { connection, decodeCursor, isUuidCursor, pageSize } from '../graphql/cursor';
import { mapLoaded } from '../graphql/loaders';
import { asksFor, fieldsAskedByType } from '../graphql/lookahead';
import { AGREEMENT_PAGE_COLUMNS, pageColumnsServe, PERSON_PAGE_COLUMNS } from '../graphql/page-columns';
import type { Caller } from '../policy/actor';
import type { Resolvers } from '../graphql/generated/types';
import { daysBetween } from '../calendar';
import type { Agreement } from '../agreements/service';
import { phoneFor } from '../people/resolvers';
import { countOverdue, dueCountsByVillage, isOverdueCursor, listStatusReports, overdueReports, submitStatusReport } from './service';

/** One page of a person's reports, newest period first (Query.statusReports and Person.statusReports). */
export async function statusReportPage(
  deps: Deps,
  caller: Caller,
  personId: string,
  args: { first?: number | null; after?: string | null; includeSuperseded?: boolean | null },
) {
  const after = args.after ? decodeCursor(args.after, isUuidCursor) : undefined;
  const { rows, hasMore } = await listStatusReports(deps, caller, personId, { includeSuperseded: args.includeSuperseded }, pageSize(args.first, 100, 20), after);
  return connection(rows, hasMore, (r) => r.id);
}

export interface OverdueReportModel {
  agreement: Agreement;
  asOf: string;
}

export type OverdueConnectionModel = ReturnType<typeof connection<OverdueReportModel>> & {
  asOf: string;
  count: () => Promise<number>;
  villages: () => ReturnType<typeof dueCountsByVillage>;
};

export const reportsResolvers: Resolvers = {
  Query: {
    statusReports: (_, { personId, ...args }, { deps, caller }) => statusReportPage(deps, caller, personId, args),
    overdueReports: async (_, { asOf, villageCode, townCode, first, after }, { deps, caller, loaders }, info) => {
      const q = { asOf, villageCode, townCode };
      const withPerson = asksFor(info, ['edges', 'node', 'person']);
      // Each table read narrowly when the operation asks nothing of its type beyond what those columns serve.
      const asked = fieldsAskedByType(info);
      const narrow = { agreement: pageColumnsServe(asked, 'Agreement', AGREEMENT_PAGE_COLUMNS), person: pageColumnsServe(asked, 'Person', PERSON_PAGE_COLUMNS) };
      const page = await overdueReports(deps, caller, q, pageSize(first), after ? decodeCursor(after, isOverdueCursor) : undefined, { withPerson, narrow });
      const nodes = page.rows.map(({ agreement, person }) => {
        if (person) loaders.person.give(person.id, person);
        return { agreement, asOf: page.asOf };
      });
      return {
        ...connection(nodes, page.hasMore, (n) => [n.agreement.nextDueOn, n.agreement.id]),
        asOf: page.asOf,
        count: () => countOverdue(deps, caller, q),
        villages: () => dueCountsByVillage(deps, caller, q, deps.config.dueSoonDays),
      };
    },
  },
  OverdueReportConnection: {
    totalCount: (c) => c.count(),
    byVillage: (c) => c.villages(),
  },
  OverdueReport: {
    person: (n, _, { loaders }) => mapLoaded(loaders.person.get(n.agreement.personId), (p) => p!),
    period: (n) => n.agreement.nextDuePeriod!,
    dueOn: (n) => n.agreement.nextDueOn!,
    daysOverdue: (n) => daysBetween(n.agreement.nextDueOn!, n.asOf),
  },
  VillageDueCount: {
    village: async (v, _, { loaders }) => (await loaders.division.load(v.villageCode))!,
  },
  Mutation: {
    submitStatusReport: (_, { input }, { deps, caller }) => submitStatusReport(deps, caller, input),
  },
  StatusReport: {
    person: async (r, _, { loaders }) => (await loaders.person.load(r.personId))!,
    agreement: async (r, _, { loaders }) => (r.agreementId ? ((await loaders.agreement.load(r.agreementId)) ?? null) : null),
    place: (r) => (r.placeCountyCode ? { countyCode: r.placeCountyCode, town: r.placeTown, area: r.placeArea } : null),
    phone: (r, _, ctx) => phoneFor(ctx, r.villageCode, r.phone),
    liaisonContact: async (r, _, { loaders }) => (r.liaisonContactId ? ((await loaders.liaison.load(r.liaisonContactId)) ?? null) : null),
    supersedes: async (r, _, { loaders }) => (r.supersedesId ? ((await loaders.report.load(r.supersedesId)) ?? null) : null),
    superseded: (r) => r.supersededAt !== null,
  },
};
