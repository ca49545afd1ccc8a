import type { Resolvers } from '../graphql/generated/types';
import { allowedPartnerActions } from './lifecycle';
import {
  agreementInForce,
  endPartner,
  getPartner,
  listPartners,
  pastePartnerKeys,
  reactivatePartner,
  refreshPartnerKeys,
  registerPartner,
  renewPartner,
  suspendPartner,
  updatePartner,
} from './service';

export const partnerResolvers: Resolvers = {
  Query: {
    partners: (_, { status }, { deps, caller }) => listPartners(deps, caller, { status }),
    partner: (_, { countyCode }, { deps, caller }) => getPartner(deps, caller, countyCode),
  },
  Mutation: {
    registerPartner: (_, { input }, { deps, caller }) => registerPartner(deps, caller, input),
    updatePartner: (_, { countyCode, input, note }, { deps, caller }) => updatePartner(deps, caller, countyCode, input, note),
    suspendPartner: (_, { countyCode, note }, { deps, caller }) => suspendPartner(deps, caller, countyCode, note),
    reactivatePartner: (_, { countyCode, note }, { deps, caller }) => reactivatePartner(deps, caller, countyCode, note),
    endPartner: (_, { countyCode, note }, { deps, caller }) => endPartner(deps, caller, countyCode, note),
    renewPartner: (_, { countyCode, validFrom, validTo, note }, { deps, caller }) => renewPartner(deps, caller, countyCode, validFrom, validTo, note),
    refreshPartnerKeys: (_, { countyCode }, { deps, caller }) => refreshPartnerKeys(deps, caller, countyCode),
    pastePartnerKeys: (_, { countyCode, jwks, note }, { deps, caller }) => pastePartnerKeys(deps, caller, countyCode, jwks, note),
  },
  Partner: {
    inForce: (p) => agreementInForce(p),
    allowedActions: (p) => allowedPartnerActions(p.status),
    keys: (p, _, { loaders }) => loaders.partnerKeys.load(p.countyCode),
    history: (p, _, { loaders }) => loaders.partnerHistory.load(p.countyCode),
  },
  PartnerKey: {
    jwk: (k) => k.publicJwk,
  },
  PartnerHistoryEntry: {
    id: (h) => String(h.id),
  },
};
