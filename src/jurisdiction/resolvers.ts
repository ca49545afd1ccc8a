import { notFound } from '../errors';
import type { Resolvers } from '../graphql/generated/types';
import { authorize } from '../policy/policy';
import { listDivisions } from './divisions';

export const jurisdictionResolvers: Resolvers = {
  Query: {
    divisions: (_, { parentCode, level }, { deps, caller }) => {
      authorize(caller.actor, 'division.read');
      return listDivisions(deps.db, { parentCode, level });
    },
    division: async (_, { code }, { caller, loaders }) => {
      authorize(caller.actor, 'division.read');
      const d = await loaders.division.load(code);
      if (!d) throw notFound('Division', code);
      return d;
    },
  },
  Division: {
    parent: async (d, _, { loaders }) => (d.parentCode ? ((await loaders.division.load(d.parentCode)) ?? null) : null),
    children: (d, _, { loaders }) => loaders.divisionChildren.load(d.code),
  },
};
