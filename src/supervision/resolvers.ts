import type { Resolvers } from '../graphql/generated/types';
import { dashboardComplaints, supervisionDashboard, totalsOf, type VillageFigures } from './dashboard';
import { followUpState } from './lifecycle';
import { completeFollowUp, listCareVisits, listChecks, recordCareVisit, recordCheck } from './service';
import { quarterlyWarning } from './warning';

const followUp = (r: { followUpDueOn: string | null; followUpDoneOn: string | null; followUpNote: string | null }) => ({
  state: followUpState(r),
  dueOn: r.followUpDueOn,
  doneOn: r.followUpDoneOn,
  note: r.followUpNote,
});

export type SupervisionFiguresModel = Omit<VillageFigures, 'villageCode'> & { villageCode?: string };

export const supervisionResolvers: Resolvers = {
  Query: {
    supervisionChecks: (_, { filter, finding }, { deps, caller }) => listChecks(deps, caller, { ...filter, finding }),
    careVisits: (_, { filter }, { deps, caller }) => listCareVisits(deps, caller, filter ?? {}),
    supervisionDashboard: (_, { townCode, period, asOf }, { deps, caller }) => supervisionDashboard(deps, caller, townCode, period, asOf),
    quarterlyWarning: (_, { quarter, townCode }, { deps, caller }) => quarterlyWarning(deps, caller, quarter, townCode),
  },
  Mutation: {
    recordSupervisionCheck: (_, { input }, { deps, caller }) => recordCheck(deps, caller, input),
    completeCheckFollowUp: (_, { id, input }, { deps, caller }) => completeFollowUp(deps, caller, 'CHECK', id, input),
    recordCareVisit: (_, { input }, { deps, caller }) => recordCareVisit(deps, caller, input),
    completeVisitFollowUp: (_, { id, input }, { deps, caller }) => completeFollowUp(deps, caller, 'VISIT', id, input),
  },
  SupervisionCheck: {
    village: async (c, _, { loaders }) => (await loaders.division.load(c.villageCode))!,
    official: async (c, _, { loaders }) => (await loaders.user.load(c.officialUserId))!,
    agreement: async (c, _, { loaders }) => (c.agreementId ? ((await loaders.agreement.load(c.agreementId)) ?? null) : null),
    commitment: async (c, _, { loaders }) => (await loaders.commitmentItems()).find((i) => i.code === c.commitmentCode)!,
    followUp: (c) => followUp(c),
    recordedBy: async (c, _, { loaders }) => (c.recordedBy ? ((await loaders.user.load(c.recordedBy)) ?? null) : null),
  },
  CareVisit: {
    village: async (v, _, { loaders }) => (await loaders.division.load(v.villageCode))!,
    person: async (v, _, { loaders }) => {
      const p = await loaders.person.load(v.personId);
      return p && !p.erasedAt ? p : null;
    },
    dependant: async (v, _, { loaders }) => (v.dependantId ? ((await loaders.dependantsByPerson.load(v.personId)).find((d) => d.id === v.dependantId) ?? null) : null),
    followUp: (v) => followUp(v),
  },
  SupervisionDashboard: {
    town: async (d, _, { loaders }) => (await loaders.division.load(d.townCode))!,
    period: (d) => d.window.label,
    from: (d) => d.window.start,
    to: (d) => d.window.end,
    asOf: (d) => d.window.asOf,
    complete: (d) => d.window.complete,
    totals: (d) => totalsOf(d.villages),
    depositComplaints: (d, _, { deps }) => dashboardComplaints(deps, d.townCode, d.window),
  },
  SupervisionFigures: {
    village: async (f, _, { loaders }) => (f.villageCode ? ((await loaders.division.load(f.villageCode)) ?? null) : null),
  },
  QuarterlyWarning: {
    quarter: (w) => w.window.label,
    from: (w) => w.window.start,
    to: (w) => w.window.end,
    town: async (w, _, { loaders }) => (w.townCode ? ((await loaders.division.load(w.townCode)) ?? null) : null),
    csvPath: (w) => `/exports/quarterly-warning.csv?quarter=${w.window.label}${w.townCode ? `&townCode=${w.townCode}` : ''}`,
    pdfPath: (w) => `/exports/quarterly-warning.pdf?quarter=${w.window.label}${w.townCode ? `&townCode=${w.townCode}` : ''}`,
  },
};
