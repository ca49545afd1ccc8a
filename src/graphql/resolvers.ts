import { GraphQLScalarType } from 'graphql';
import { agreementsResolvers } from '../agreements/resolvers';
import { associationsResolvers } from '../associations/resolvers';
import { auditResolvers } from '../audit/resolvers';
import { authResolvers } from '../auth/resolvers';
import { exchangeResolvers } from '../exchange/resolvers';
import { changesResolvers } from '../changes/resolvers';
import { jurisdictionResolvers } from '../jurisdiction/resolvers';
import { liaisonsResolvers } from '../liaisons/resolvers';
import { peopleResolvers } from '../people/resolvers';
import { ratingsResolvers } from '../ratings/resolvers';
import { remindersResolvers } from '../reminders/resolvers';
import { reportsResolvers } from '../reports/resolvers';
import { partnerResolvers } from '../partners/resolvers';
import { supervisionResolvers } from '../supervision/resolvers';
import { assistanceResolvers } from '../assistance/resolvers';
import { inquiriesResolvers } from '../inquiries/resolvers';
import { noticesResolvers } from '../notices/resolvers';
import { sharingResolvers } from '../sharing/resolvers';
import type { Resolvers } from './generated/types';
import { guardResolvers } from './guards';
import { DateScalar, DateTimeScalar, JSONScalar } from './scalars';
import { loadTypeDefs } from './sdl';

const baseResolvers: Resolvers = {
  Date: DateScalar,
  DateTime: DateTimeScalar,
  JSON: JSONScalar,
  Query: {
    serverInfo: async (_, __, { deps, loaders }) => ({
      countyCode: deps.config.countyCode,
      countyName: (await loaders.division.load(deps.config.countyCode))?.name ?? null,
      version: process.env.npm_package_version ?? '0.1.0',
    }),
  },
};

/** Each module contributes its own resolver map; this merges them type by type and refuses a field resolved twice. */
function merge(...maps: Resolvers[]): Resolvers {
  const out: Record<string, Record<string, unknown> | GraphQLScalarType> = {};
  for (const map of maps) {
    for (const [type, value] of Object.entries(map)) {
      if (value instanceof GraphQLScalarType) {
        out[type] = value;
        continue;
      }
      const target = (out[type] ??= {}) as Record<string, unknown>;
      for (const [field, resolver] of Object.entries(value as Record<string, unknown>)) {
        if (field in target) throw new Error(`${type}.${field} is resolved by two modules`);
        target[field] = resolver;
      }
    }
  }
  return out as Resolvers;
}

/** The merged map, with the policy's field guards around the types that carry registry records. */
export const resolvers = guardResolvers(
  merge(
  baseResolvers,
  authResolvers,
  jurisdictionResolvers,
  auditResolvers,
  peopleResolvers,
  agreementsResolvers,
  reportsResolvers,
  liaisonsResolvers,
  partnerResolvers,
  exchangeResolvers,
  associationsResolvers,
  changesResolvers,
  ratingsResolvers,
  supervisionResolvers,
  remindersResolvers,
  noticesResolvers,
  inquiriesResolvers,
  assistanceResolvers,
  sharingResolvers,
  ),
  loadTypeDefs(),
);
