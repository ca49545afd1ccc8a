import type { Resolvers } from '../graphql/generated/types';
import { createLiaison, listLiaisons, updateLiaison } from './service';

export const liaisonsResolvers: Resolvers = {
  Query: {
    liaisonContacts: (_, args, { deps, caller }) => listLiaisons(deps, caller, args),
  },
  Mutation: {
    createLiaisonContact: (_, { input }, { deps, caller }) => createLiaison(deps, caller, input),
    updateLiaisonContact: (_, { id, input }, { deps, caller }) => updateLiaison(deps, caller, id, input),
  },
};
