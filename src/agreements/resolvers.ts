import { todayIn } from '../calendar';
import { connection, decodeCursor, isUuidCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { authorize, can } from '../policy/policy';
import { dueState } from '../reports/due';
import { listDepositComplaints, recordDepositComplaint, resolveDepositComplaint } from './complaints';
import { allowedActions } from './lifecycle';
import {
  amendAgreement,
  createAgreement,
  endAgreement,
  getAgreement,
  listAgreements,
  listCommitmentItems,
  renewAgreement,
  signAgreement,
  updateDraft,
  type CommitmentItem,
} from './service';

async function items(codes: string[], all: () => Promise<CommitmentItem[]>): Promise<CommitmentItem[]> {
  const list = await all();
  return codes.map((c) => list.find((i) => i.code === c)).filter((i): i is CommitmentItem => i !== undefined);
}

export const agreementsResolvers: Resolvers = {
  Query: {
    agreement: (_, { id }, { deps, caller }) => getAgreement(deps, caller, id),
    agreements: async (_, { filter, first, after }, { deps, caller }) => {
      const { rows, hasMore } = await listAgreements(deps, caller, filter ?? {}, pageSize(first), after ? decodeCursor(after, isUuidCursor) : undefined);
      return connection(rows, hasMore, (a) => a.id);
    },
    commitmentItems: (_, __, { deps, caller }) => {
      authorize(caller.actor, 'commitment.read');
      return listCommitmentItems(deps.db);
    },
    depositComplaints: (_, { filter }, { deps, caller }) => listDepositComplaints(deps, caller, filter ?? {}),
  },
  Mutation: {
    createAgreement: (_, { input }, { deps, caller }) => createAgreement(deps, caller, input),
    updateAgreementDraft: (_, { id, input }, { deps, caller }) => updateDraft(deps, caller, id, input),
    signAgreement: (_, { id, input }, { deps, caller }) => signAgreement(deps, caller, id, input),
    amendAgreement: (_, { id, input }, { deps, caller }) => amendAgreement(deps, caller, id, input),
    renewAgreement: (_, { id, input }, { deps, caller }) => renewAgreement(deps, caller, id, input),
    endAgreement: (_, { id, reason, note }, { deps, caller }) => endAgreement(deps, caller, id, reason, note),
    recordDepositComplaint: (_, { agreementId, description, reportedOn }, { deps, caller }) =>
      recordDepositComplaint(deps, caller, agreementId, { description, reportedOn }),
    resolveDepositComplaint: (_, { id, resolution }, { deps, caller }) => resolveDepositComplaint(deps, caller, id, resolution),
  },
  Agreement: {
    person: async (a, _, { loaders }) => (await loaders.person.load(a.personId))!,
    previous: async (a, _, { loaders }) => (a.previousId ? ((await loaders.agreement.load(a.previousId)) ?? null) : null),
    allowedActions: (a) => [...allowedActions(a.status)],
    official: async (a, _, { loaders, caller }) => {
      const u = (await loaders.user.load(a.officialUserId))!;
      // Officials and supervisors see who signed, not the account (username, role, last login).
      return { id: u.id, displayName: u.displayName, user: can(caller.actor, 'user.read') ? u : null };
    },
    village: async (a, _, { loaders }) => (await loaders.division.load(a.villageCode))!,
    officialCommitments: (a, _, { loaders }) => items(a.officialCommitments, loaders.commitmentItems),
    personCommitments: (a, _, { loaders }) => items(a.personCommitments, loaders.commitmentItems),
    officialSignature: (a) => (a.officialSignedAt ? { signedAt: a.officialSignedAt, method: a.officialSignMethod!, scanRef: a.officialSignRef } : null),
    personSignature: (a) => (a.personSignedAt ? { signedAt: a.personSignedAt, method: a.personSignMethod!, scanRef: a.personSignRef } : null),
    reportStatus: (a, { asOf }, { deps }) => dueState(a, asOf ?? todayIn(deps.config.timeZone), deps.config.dueSoonDays),
    history: (a, _, { loaders }) => loaders.historyByAgreement.load(a.id),
    depositComplaints: async (a, _, { caller, loaders }) => (can(caller.actor, 'complaint.read', { villageCode: a.villageCode }) ? loaders.complaintsByAgreement.load(a.id) : []),
  },
  DepositComplaint: {
    agreement: async (c, _, { loaders }) => (await loaders.agreement.load(c.agreementId))!,
    village: async (c, _, { loaders }) => (await loaders.division.load(c.villageCode))!,
  },
};
