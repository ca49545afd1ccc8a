import { todayIn } from '../calendar';
import { connection, decodeCursor, isUuidCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { phoneFor } from '../people/resolvers';
import { dueState } from '../reports/due';
import {
  addMember,
  createAssociation,
  getAssociation,
  getMember,
  leaveAssociation,
  listAssociations,
  listMembers,
  setMemberRole,
  updateAssociation,
} from './service';
import { submitMemberReport } from './reports';
import { updateMember, updateMembers } from './updates';

const NO_AGREEMENT = { status: 'ENDED', nextDuePeriod: null, nextDueStart: null, nextDueOn: null } as const;

export const associationsResolvers: Resolvers = {
  Query: {
    associations: (_, { status }, { deps, caller }) => listAssociations(deps, caller, status),
    association: (_, { id }, { deps, caller }) => getAssociation(deps, caller, id),
    associationMember: (_, { id }, { deps, caller }) => getMember(deps, caller, id),
  },
  Mutation: {
    createAssociation: (_, { input }, { deps, caller }) => createAssociation(deps, caller, input),
    updateAssociation: (_, { id, input }, { deps, caller }) => updateAssociation(deps, caller, id, input),
    addAssociationMember: (_, { associationId, input }, { deps, caller }) => addMember(deps, caller, associationId, input),
    setAssociationMemberRole: (_, { memberId, role }, { deps, caller }) => setMemberRole(deps, caller, memberId, role),
    leaveAssociation: (_, { memberId }, { deps, caller }) => leaveAssociation(deps, caller, memberId),
    updateAssociationMember: (_, { memberId, input }, { deps, caller }) => updateMember(deps, caller, memberId, input),
    updateAssociationMembers: (_, { items }, { deps, caller }) => updateMembers(deps, caller, items),
    submitMemberReport: (_, { memberId, input }, { deps, caller }) => submitMemberReport(deps, caller, memberId, input),
  },
  Association: {
    members: async (a, { first, after }, { deps, caller }) => {
      const { rows, hasMore } = await listMembers(deps, caller, a.id, pageSize(first), after ? decodeCursor(after, isUuidCursor) : undefined);
      return connection(rows, hasMore, (m) => m.membership.id);
    },
  },
  AssociationMember: {
    id: (m) => m.membership.id,
    association: async (m, _, { loaders }) => (await loaders.association.load(m.membership.associationId))!,
    name: (m) => m.person.name,
    idNumber: (m) => m.person.idNumberMasked,
    phone: (m, _, ctx) => phoneFor(ctx, m.person.homeVillageCode, m.person.phone),
    homeVillage: async (m, _, { loaders }) => (await loaders.division.load(m.person.homeVillageCode))!,
    currentPlace: ({ person: p }) => (p.currentCountyCode ? { countyCode: p.currentCountyCode, town: p.currentTown, area: p.currentArea } : null),
    employer: (m) => m.person.employer,
    occupation: (m) => m.person.occupation,
    role: (m) => m.membership.role,
    status: (m) => m.membership.status,
    joinedOn: (m) => m.membership.joinedOn,
    leftAt: (m) => m.membership.leftAt,
    reportState: async (m, _, { deps, loaders }) => {
      const a = await loaders.activeAgreementByPerson.load(m.person.id);
      return dueState(a ?? NO_AGREEMENT, todayIn(deps.config.timeZone), deps.config.dueSoonDays).state;
    },
  },
};
