import type { Resolvers } from '../graphql/generated/types';
import { issueRatingLink, ratingComments, ratingGroups, submitRating } from './service';

export const ratingsResolvers: Resolvers = {
  Query: {
    serviceRatings: (_, f, { deps, caller }) => ratingGroups(deps, caller, f),
    ratingComments: (_, f, { deps, caller }) => ratingComments(deps, caller, f),
  },
  Mutation: {
    issueRatingLink: (_, { agreementId, period }, { deps, caller }) => issueRatingLink(deps, caller, agreementId, period),
    submitRating: (_, { token, score, comment }, { deps, caller }) => submitRating(deps, caller, token, score, comment),
  },
  RatingGroup: {
    village: async (g, _, { loaders }) => (await loaders.division.load(g.villageCode))!,
    shown: (g, _, { deps }) => g.count >= deps.config.ratingMinGroupSize,
    count: (g, _, { deps }) => (g.count >= deps.config.ratingMinGroupSize ? g.count : null),
    average: (g, _, { deps }) => (g.count >= deps.config.ratingMinGroupSize ? g.average : null),
  },
  RatingComment: {
    village: async (c, _, { loaders }) => (await loaders.division.load(c.villageCode))!,
  },
};
