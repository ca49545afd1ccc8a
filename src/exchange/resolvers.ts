import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { listInbound, listOutbound, maskedSubjectOf, requeueOutbound, reverifyInbound, reverifyOutbound, storedSubject } from './monitor';
import { resolveUnmatched } from './resolve';

const isStrings =
  (n: number) =>
  (v: unknown): v is string[] =>
    Array.isArray(v) && v.length === n && v.every((x) => typeof x === 'string');

const later = (a: Date | null, b: Date | null) => (a && b ? (a > b ? a : b) : (a ?? b));

export const exchangeResolvers: Resolvers = {
  Query: {
    exchangeOutbox: async (_, { filter, first, after }, { deps, caller }) => {
      const cursor = after ? (decodeCursor(after, isStrings(2)) as [string, string]) : undefined;
      const { rows, hasMore } = await listOutbound(deps, caller, filter ?? {}, pageSize(first, 200), cursor);
      return connection(rows, hasMore, (r) => [r.createdAt.toISOString(), r.id]);
    },
    exchangeInbox: async (_, { filter, first, after }, { deps, caller }) => {
      const cursor = after ? (decodeCursor(after, isStrings(3)) as [string, string, string]) : undefined;
      const { rows, hasMore } = await listInbound(deps, caller, filter ?? {}, pageSize(first, 200), cursor);
      return connection(rows, hasMore, (r) => [r.receivedAt.toISOString(), r.issuer, r.id]);
    },
  },
  Mutation: {
    requeueOutboundRecord: (_, { id }, { deps, caller }) => requeueOutbound(deps, caller, id),
    resolveUnmatchedRecord: (_, { issuerCountyCode, id, personId }, { deps, caller }) => resolveUnmatched(deps, caller, issuerCountyCode, id, personId),
  },
  Partner: {
    delivery: async (p, _, { loaders }) => {
      const s = await loaders.deliveryStats.load(p.countyCode);
      return {
        queued: s.queued,
        delivered: s.delivered,
        failed: s.failed,
        oldestUndeliveredAgeSeconds: s.oldestQueuedAt ? Math.max(0, Math.floor((Date.now() - s.oldestQueuedAt.getTime()) / 1000)) : null,
        lastError: s.lastError,
        lastContactAt: later(p.lastSeenAt, p.lastReachedAt),
      };
    },
  },
  OutboundRecord: {
    partnerCountyCode: (r) => r.partnerCode,
    subjectIdNumberMasked: (r, _, { deps }) => maskedSubjectOf(deps, r.jwsEnc),
    signatureVerified: (r, _, { deps }) => reverifyOutbound(deps, r),
  },
  InboundRecord: {
    issuerCountyCode: (r) => r.issuer,
    subjectIdNumberMasked: (r, _, { deps }) => maskedSubjectOf(deps, r.jwsEnc),
    subjectName: (r, _, { deps }) => storedSubject(deps, r.jwsEnc)?.name ?? null,
    signatureVerified: (r, _, { deps, loaders }) => reverifyInbound(deps, r, (kid) => loaders.partnerHistoricalKey.load(`${r.issuer}/${kid}`)),
  },
};
