import { eraseServiceNotes } from '../assistance/service';
import { registerApplier, registerBatchApplier, type RecordApplier } from '../exchange/appliers';
import { registerLookupProvider } from '../exchange/lookup';
import type { ExchangedType } from '../exchange/record-types';
import { receiveInquiry, receiveInquiryReply } from '../inquiries/appliers';
import { eraseInquiriesAbout } from '../inquiries/service';
import { onConsentWithdrawn } from '../people/consent';
import { onErasure } from '../people/erasure';
import { NOTIFICATION_APPLIERS } from './appliers';
import { receiveBatch } from './batch';
import { lookupStatusSummary } from './lookup';
import { cancelUndeliveredSharing, eraseExchangeRecords } from './stop';

let installed = false;

/**
 * Plugs the registry into the exchange's seams: an applier per inbound type and the batch applier, the lookup
 * provider, and the hooks that stop sharing on consent withdrawal and erase exchange data with the person. Called
 * by boot() for the server and the admin command alike; once per process (the seams are process-wide, several servers in one
 * process share them: they take everything from the context they are given).
 */
export function installRegistryExchange(): void {
  if (installed) return;
  installed = true;
  const appliers: { [T in ExchangedType]: RecordApplier<T> } = { ...NOTIFICATION_APPLIERS, INQUIRY: receiveInquiry, INQUIRY_REPLY: receiveInquiryReply };
  for (const [type, applier] of Object.entries(appliers)) registerApplier(type as ExchangedType, applier as RecordApplier);
  registerBatchApplier(receiveBatch);
  registerLookupProvider(lookupStatusSummary);
  onConsentWithdrawn(cancelUndeliveredSharing);
  onErasure(eraseExchangeRecords);
  onErasure(eraseInquiriesAbout);
  onErasure(eraseServiceNotes);
}
