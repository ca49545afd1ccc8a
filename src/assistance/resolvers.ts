import type { Resolvers } from '../graphql/generated/types';

export const assistanceResolvers: Resolvers = {
  Person: {
    servicesDelivered: (p, _, { loaders }) => loaders.servicesByPerson.load(p.id),
  },
};
