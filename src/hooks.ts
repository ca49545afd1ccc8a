import { registerAssociationHooks } from './associations/hooks';
import { onErasure } from './people/erasure';
import { eraseSpentRatingTokens } from './ratings/service';
import { eraseNotifications } from './reminders/service';
import { installRegistryExchange } from './sharing/install';
import { eraseSupervisionNotes } from './supervision/service';

let registered = false;

/**
 * Later modules plug into earlier ones (user scopes, report targets, consent withdrawal, erasure, the exchange's
 * appliers and lookup) through hooks.
 * They are registered here, once, when the registry boots (server and admin command alike), rather than as a side
 * effect of some import.
 */
export function registerModuleHooks(): void {
  if (registered) return;
  registered = true;
  registerAssociationHooks();
  installRegistryExchange();
  onErasure(eraseSupervisionNotes);
  onErasure(eraseNotifications);
  onErasure(eraseSpentRatingTokens);
}
