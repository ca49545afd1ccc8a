import { todayIn } from '../calendar';
import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { allowedInquiryActions } from './lifecycle';
import {
  answerInquiry,
  closeInquiry,
  getInquiry,
  isInquiryCursor,
  isOverdue,
  listInquiries,
  sendInquiry,
  verifyInquiry,
  type Inquiry,
} from './service';

export type InquiryConnectionModel = ReturnType<typeof connection<Inquiry>> & { asOf: string };

export const inquiriesResolvers: Resolvers = {
  Query: {
    inquiries: async (_, { filter, asOf, first, after }, { deps, caller }) => {
      const page = await listInquiries(deps, caller, filter ?? {}, asOf, pageSize(first), after ? decodeCursor(after, isInquiryCursor) : undefined);
      return { ...connection(page.rows, page.hasMore, (i) => [i.dueOn, i.id]), asOf: page.asOf };
    },
    inquiry: (_, { id }, { deps, caller }) => getInquiry(deps, caller, id),
  },
  Mutation: {
    sendInquiry: (_, { input }, { deps, caller }) => sendInquiry(deps, caller, input),
    verifyInquiry: (_, { id }, { deps, caller }) => verifyInquiry(deps, caller, id),
    answerInquiry: (_, { id, result, answer }, { deps, caller }) => answerInquiry(deps, caller, id, result, answer),
    closeInquiry: (_, { id }, { deps, caller }) => closeInquiry(deps, caller, id),
  },
  Inquiry: {
    partnerCountyCode: (i) => i.partnerCode,
    allowedActions: (i) => allowedInquiryActions(i.direction, i.status),
    person: async (i, _, { loaders }) => (i.personId ? ((await loaders.person.load(i.personId)) ?? null) : null),
    notice: async (i, _, { loaders }) => (i.noticeId ? ((await loaders.notice.load(i.noticeId)) ?? null) : null),
    village: async (i, _, { loaders }) => (i.villageCode ? ((await loaders.division.load(i.villageCode)) ?? null) : null),
    subjectIdNumberMasked: (i) => i.subjectIdMasked,
    overdue: (i, { asOf }, { deps }) => isOverdue(i, asOf ?? todayIn(deps.config.timeZone)),
    history: (i, _, { loaders }) => loaders.inquiryHistory.load(i.id),
  },
  Person: {
    inquiries: (p, _, { loaders }) => loaders.inquiriesByPerson.load(p.id),
  },
};

