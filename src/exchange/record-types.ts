/**
 * Record types of the exchange protocol (docs/exchange-protocol.md). The first eight travel between partners
 * and are what an agreement allows inbound or outbound; STATUS_SUMMARY is only ever the signed answer to a lookup.
 */
export const EXCHANGED_TYPES = [
  'DEPARTURE',
  'ARRIVAL',
  'STATUS_REPORT',
  'CONTACT_UPDATE',
  'RETURN_HOME',
  'SERVICE_DELIVERED',
  'INQUIRY',
  'INQUIRY_REPLY',
] as const;
export type ExchangedType = (typeof EXCHANGED_TYPES)[number];

export const RECORD_TYPES = [...EXCHANGED_TYPES, 'STATUS_SUMMARY'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export function isExchangedType(v: unknown): v is ExchangedType {
  return typeof v === 'string' && (EXCHANGED_TYPES as readonly string[]).includes(v);
}

export function isRecordType(v: unknown): v is RecordType {
  return typeof v === 'string' && (RECORD_TYPES as readonly string[]).includes(v);
}
