import type { Resolvers } from '../graphql/generated/types';
import { createLiaison, listLiaisons, updateLiaison } from './service';

export const liaisonsResolvers: Resolvers = {
  Query: {
    liaisonContacts: (_, args, { deps, caller }) => listLiaisons(deps, caller, args),
  },
  Partner: {
    liaisonContacts: (p, _, { loaders }) => loaders.liaisonsByCounty.load(p.countyCode),
    ourLiaisonContacts: (_, __, { deps, loaders }) => loaders.liaisonsByCounty.load(deps.config.countyCode),
  },
  Mutation: {
    createLiaisonContact: (_, { input }, { deps, caller }) => createLiaison(deps, caller, input),
    updateLiaisonContact: (_, { id, input }, { deps, caller }) => updateLiaison(deps, caller, id, input),
  },
};
