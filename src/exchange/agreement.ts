import type { Partner } from '../partners/service';
import { isExchangedType, type ExchangedType } from './record-types';

/** May the partner send us records of this type? */
export function allowsInbound(partner: Pick<Partner, 'inboundTypes'>, type: string): type is ExchangedType {
  return isExchangedType(type) && partner.inboundTypes.includes(type);
}

/** May we send the partner records of this type? */
export function allowsOutbound(partner: Pick<Partner, 'outboundTypes'>, type: string): type is ExchangedType {
  return isExchangedType(type) && partner.outboundTypes.includes(type);
}
