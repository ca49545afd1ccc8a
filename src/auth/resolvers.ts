import type { Resolvers } from '../graphql/generated/types';
import { authorizeUser } from '../policy/policy';
import { changePassword, createUser, getUser, listUsers, login, updateUser } from './service';

export const authResolvers: Resolvers = {
  Query: {
    me: (_, __, { deps, caller }) => getUser(deps, caller, authorizeUser(caller.actor, 'session.me').userId),
    users: (_, args, { deps, caller }) => listUsers(deps, caller, args),
    user: (_, { id }, { deps, caller }) => getUser(deps, caller, id),
  },
  Mutation: {
    login: (_, { username, password }, { deps, caller }) => login(deps, caller, username, password),
    createUser: (_, { input }, { deps, caller }) => createUser(deps, caller, input),
    updateUser: (_, { id, input }, { deps, caller }) => updateUser(deps, caller, id, input),
    changePassword: async (_, { oldPassword, newPassword }, { deps, caller }) => {
      await changePassword(deps, caller, oldPassword, newPassword);
      return true;
    },
  },
  User: {
    disabled: (u) => u.disabledAt !== null,
  },
};
