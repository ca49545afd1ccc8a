import { sql, type Column, type SQL } from 'drizzle-orm';
import type { Actor } from './actor';
import { listScope, PolicyDenied, type Action } from './policy';

/**
 * SQL conditions limiting a list to the actor's jurisdiction for an action. Asking explicitly for a village or town
 * outside it is FORBIDDEN (and audited as a refusal), not silently empty.
 */
export function scopeConditions(actor: Actor, action: Action, villageCol: Column, townCol: Column, villageCode?: string | null, townCode?: string | null): SQL[] {
  const j = listScope(actor, action);
  const outside = () => new PolicyDenied(action, 'outside your jurisdiction');
  const where: SQL[] = [];
  if (villageCode) {
    if ((j.kind === 'village' && villageCode !== j.villageCode) || (j.kind === 'town' && !villageCode.startsWith(j.townCode))) throw outside();
    where.push(sql`${villageCol} = ${villageCode}`);
  }
  if (townCode) {
    if (j.kind === 'village' || (j.kind === 'town' && townCode !== j.townCode)) throw outside();
    where.push(sql`${townCol} = ${townCode}`);
  }
  // (a village filter, checked above, is the official's own village: the same condition once is enough)
  if (j.kind === 'village' && !villageCode) where.push(sql`${villageCol} = ${j.villageCode}`);
  if (j.kind === 'town') where.push(sql`${townCol} = ${j.townCode}`);
  if (j.kind === 'association') throw outside();
  return where;
}
