import type { Resolvers } from '../graphql/generated/types';
import { ratingComments, ratingGroups, sendRatingInvitation, submitRating } from './service';

export const ratingsResolvers: Resolvers = {
  Query: {
    serviceRatings: (_, f, { deps, caller }) => ratingGroups(deps, caller, f),
    ratingComments: (_, f, { deps, caller }) => ratingComments(deps, caller, f),
  },
  Mutation: {
    sendRatingInvitation: (_, { agreementId, memberId, period }, { deps, caller }) => sendRatingInvitation(deps, caller, { agreementId, memberId }, period),
    submitRating: (_, { token, score, comment }, { deps, caller }) => submitRating(deps, caller, token, score, comment),
  },
  RatingGroup: {
    village: async (g, _, { loaders }) => (await loaders.division.load(g.villageCode))!,
  },
  RatingComment: {
    village: async (c, _, { loaders }) => (await loaders.division.load(c.villageCode))!,
  },
};
