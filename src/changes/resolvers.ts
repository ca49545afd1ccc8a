import { connection, decodeCursor, pageSize } from '../graphql/cursor';
import type { Resolvers } from '../graphql/generated/types';
import { isChangeCursor, recentChanges } from './service';

export const changesResolvers: Resolvers = {
  Query: {
    recentChanges: async (_, { villageCode, townCode, first, after }, { deps, caller }) => {
      const before = after ? decodeCursor(after, isChangeCursor) : undefined;
      const { rows, hasMore } = await recentChanges(deps, caller, { villageCode, townCode }, pageSize(first), before);
      return connection(rows, hasMore, (c) => c.id);
    },
  },
  PersonChange: {
    id: (c) => String(c.id),
    person: async (c, _, { loaders }) => (await loaders.person.load(c.personId))!,
    actor: async (c, _, { loaders }) => (c.actorType === 'USER' && c.actorId ? ((await loaders.user.load(c.actorId)) ?? null) : null),
  },
};
