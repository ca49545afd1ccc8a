import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { maskMobile } from '../people/identity';
import { can } from '../policy/policy';
import { recordNoticeArrival } from '../sharing/send';
import { allowedNoticeActions } from './lifecycle';
import { dismissNotice, getNotice, isNoticeCursor, listNotices } from './service';

export const noticesResolvers: Resolvers = {
  Query: {
    incomingNotices: async (_, { filter, first, after }, { deps, caller }) => {
      const { rows, hasMore } = await listNotices(deps, caller, filter ?? {}, pageSize(first), after ? decodeCursor(after, isNoticeCursor) : undefined);
      return connection(rows, hasMore, (n) => [n.createdAt.toISOString(), n.id]);
    },
    incomingNotice: (_, { id }, { deps, caller }) => getNotice(deps, caller, id),
  },
  Mutation: {
    recordNoticeArrival: (_, { noticeId, input }, { deps, caller }) => recordNoticeArrival(deps, caller, noticeId, input),
    dismissIncomingNotice: (_, { id }, { deps, caller }) => dismissNotice(deps, caller, id),
  },
  IncomingNotice: {
    partnerCountyCode: (n) => n.partnerCode,
    subjectIdNumberMasked: (n) => n.subjectIdMasked,
    place: (n) => ({ countyCode: n.placeCountyCode, town: n.placeTown, area: n.placeArea }),
    phone: (n, _, { caller }) => (n.phone && !can(caller.actor, 'notice.fullPhone') ? maskMobile(n.phone) : n.phone),
    allowedActions: (n) => allowedNoticeActions(n.status),
    history: (n, _, { loaders }) => loaders.noticeHistory.load(n.id),
    servicesDelivered: (n, _, { loaders }) => loaders.servicesByNotice.load(n.id),
    inquiries: (n, _, { loaders }) => loaders.inquiriesByNotice.load(n.id),
  },
};
