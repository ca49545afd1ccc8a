import type { GraphQLContext } from '../graphql/context';
import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import { orNull } from '../graphql/loaders';
import { asksFor, fieldsAskedByType } from '../graphql/lookahead';
import { AGREEMENT_PAGE_COLUMNS, pageColumnsServe, PERSON_PAGE_COLUMNS, REPORT_PAGE_COLUMNS } from '../graphql/page-columns';
import { listPeople } from './page';
import type { Resolvers } from '../graphql/generated/types';
import { can } from '../policy/policy';
import { dueState } from '../reports/due';
import { statusReportPage } from '../reports/resolvers';
import { todayIn } from '../calendar';
import { recordConsent, withdrawConsent } from './consent';
import { maskMobile } from './identity';
import {
  addDependant,
  countPeople,
  getPerson,
  isPeopleCursor,
  personTarget,
  registerPerson,
  removeDependant,
  revealIdNumber,
  updateDependant,
  updatePerson,
  type Person,
} from './service';
import { markReturned } from '../agreements/service';

export type PersonConnectionModel = ReturnType<typeof connection<Person>> & { count: () => Promise<number> };

/** Phone numbers are shown in full only to roles that need them for this person (the policy decides). */
export function phoneFor(ctx: GraphQLContext, villageCode: string, phone: string | null): string | null {
  if (!phone) return null;
  return can(ctx.caller.actor, 'person.fullPhone', { villageCode }) ? phone : maskMobile(phone);
}

const NO_AGREEMENT = { status: 'ENDED', nextDuePeriod: null, nextDueStart: null, nextDueOn: null } as const;

export const peopleResolvers: Resolvers = {
  Query: {
    person: (_, { id }, { deps, caller }) => getPerson(deps, caller, id),
    people: async (_, { filter, first, after }, { deps, caller, loaders }, info) => {
      const f = filter ?? {};
      const related = {
        activeAgreement: asksFor(info, ['edges', 'node', 'activeAgreement']) || asksFor(info, ['edges', 'node', 'reportStatus']),
        lastReport: asksFor(info, ['edges', 'node', 'lastReport']),
      };
      // Each table read narrowly when the operation asks nothing of its type beyond what those columns serve.
      const asked = fieldsAskedByType(info);
      const narrow = {
        person: pageColumnsServe(asked, 'Person', PERSON_PAGE_COLUMNS),
        activeAgreement: pageColumnsServe(asked, 'Agreement', AGREEMENT_PAGE_COLUMNS),
        lastReport: pageColumnsServe(asked, 'StatusReport', REPORT_PAGE_COLUMNS),
      };
      const { rows, hasMore } = await listPeople(deps, caller, f, pageSize(first), after ? decodeCursor(after, isPeopleCursor) : undefined, related, narrow);
      for (const r of rows) {
        if (r.activeAgreement !== undefined) loaders.activeAgreementByPerson.give(r.person.id, r.activeAgreement ?? undefined);
        if (r.lastReport !== undefined) loaders.lastReportByPerson.give(r.person.id, r.lastReport ?? undefined);
      }
      const people = rows.map((r) => r.person);
      return { ...connection(people, hasMore, (p) => [p.name, p.id]), count: () => countPeople(deps, caller, f) };
    },
  },
  PersonConnection: {
    totalCount: (c) => c.count(),
  },
  Mutation: {
    registerPerson: (_, { input }, { deps, caller }) => registerPerson(deps, caller, input),
    updatePerson: (_, { id, input }, { deps, caller }) => updatePerson(deps, caller, id, input),
    revealIdNumber: (_, { personId, reasonCode, reason }, { deps, caller }) => revealIdNumber(deps, caller, personId, { reasonCode, reason }),
    addDependant: (_, { personId, input }, { deps, caller }) => addDependant(deps, caller, personId, input),
    updateDependant: (_, { id, input }, { deps, caller }) => updateDependant(deps, caller, id, input),
    removeDependant: async (_, { id }, { deps, caller }) => {
      await removeDependant(deps, caller, id);
      return true;
    },
    markReturned: (_, { personId, returnedOn }, { deps, caller }) => markReturned(deps, caller, personId, returnedOn),
    recordConsent: (_, { personId, input }, { deps, caller }) => recordConsent(deps, caller, personId, input),
    withdrawConsent: (_, { personId, kind, scope }, { deps, caller }) => withdrawConsent(deps, caller, personId, kind, scope),
  },
  Person: {
    idNumber: (p) => p.idNumberMasked,
    homeVillage: async (p, _, { loaders }) => (await loaders.division.load(p.homeVillageCode))!,
    phone: (p, _, ctx) => phoneFor(ctx, p.homeVillageCode, p.phone),
    currentPlace: (p) => (p.currentCountyCode ? { countyCode: p.currentCountyCode, town: p.currentTown, area: p.currentArea } : null),
    liaisonContact: async (p, _, { loaders }) => (p.liaisonContactId ? ((await loaders.liaison.load(p.liaisonContactId)) ?? null) : null),
    dependants: (p, _, { loaders }) => loaders.dependantsByPerson.load(p.id),
    consents: (p, _, { loaders }) => loaders.consentsByPerson.load(p.id),
    activeAgreement: (p, _, { loaders }) => orNull(loaders.activeAgreementByPerson.get(p.id)),
    agreements: (p, _, { loaders }) => loaders.versionsByPerson.load(p.id),
    lastReport: (p, _, { loaders }) => orNull(loaders.lastReportByPerson.get(p.id)),
    statusReports: (p, args, { deps, caller }) => statusReportPage(deps, caller, p.id, args),
    reportStatus: async (p, { asOf }, { deps, loaders }) => {
      const a = await loaders.activeAgreementByPerson.load(p.id);
      return dueState(a ?? NO_AGREEMENT, asOf ?? todayIn(deps.config.timeZone), deps.config.dueSoonDays);
    },
  },
  Dependant: {
    caregiverPhone: async (d, _, ctx) => {
      const p = await ctx.loaders.person.load(d.personId);
      return p ? phoneFor(ctx, personTarget(p).villageCode!, d.caregiverPhone) : null;
    },
  },
  Consent: {
    scope: (c) => c.scope || null,
  },
};

