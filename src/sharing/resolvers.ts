import type { Resolvers } from '../graphql/generated/types';
import { recordDeparture, sendNotification } from './send';

export const sharingResolvers: Resolvers = {
  Mutation: {
    recordDeparture: (_, { personId, input }, { deps, caller }) => recordDeparture(deps, caller, personId, input),
    sendNotification: (_, { input }, { deps, caller }) => sendNotification(deps, caller, input),
  },
};
