import type { Resolvers } from '../graphql/generated/types';
import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import { authorize } from '../policy/policy';
import { queryAudit, verifyAuditChain } from './service';

const isId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

export const auditResolvers: Resolvers = {
  Query: {
    auditLog: async (_, { filter, first, after }, { deps, caller }) => {
      authorize(caller.actor, 'audit.read');
      const beforeId = after ? decodeCursor(after, isId) : undefined;
      const { rows, hasMore } = await queryAudit(deps.db, filter ?? {}, pageSize(first, 500), beforeId);
      return connection(rows, hasMore, (r) => r.id);
    },
    verifyAuditChain: async (_, __, { deps, caller }) => {
      authorize(caller.actor, 'audit.read');
      const r = await verifyAuditChain(deps.db);
      return {
        ok: r.ok,
        checked: r.checked,
        headId: r.headId === null ? null : String(r.headId),
        headHash: r.headHash,
        brokenAtId: r.brokenAtId === undefined ? null : String(r.brokenAtId),
        reason: r.reason ?? null,
      };
    },
  },
};
