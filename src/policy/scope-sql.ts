import { sql, type Column, type SQL } from 'drizzle-orm';
import type { Actor } from './actor';
import { listScope, PolicyDenied, type Action } from './policy';

/** The village and town a list is limited to (either may be absent: the whole county). */
export interface ScopeEqualities {
  villageCode?: string;
  townCode?: string;
}

/**
 * What limits a list to the actor's jurisdiction for an action, with the filter's village or town: the equalities
 * its rows must meet. Asking explicitly for a village or town outside it is FORBIDDEN (and audited as a refusal),
 * not silently empty.
 */
export function scopeEqualities(actor: Actor, action: Action, villageCode?: string | null, townCode?: string | null): ScopeEqualities {
  const j = listScope(actor, action);
  const outside = () => new PolicyDenied(action, 'outside your jurisdiction');
  if (villageCode && ((j.kind === 'village' && villageCode !== j.villageCode) || (j.kind === 'town' && !villageCode.startsWith(j.townCode)))) throw outside();
  if (townCode && (j.kind === 'village' || (j.kind === 'town' && townCode !== j.townCode))) throw outside();
  if (j.kind === 'association') throw outside();
  const out: ScopeEqualities = {};
  // (a village or town filter, checked above, lies within the jurisdiction: the filter's condition is enough)
  const village = villageCode || (j.kind === 'village' ? j.villageCode : undefined);
  const town = townCode || (j.kind === 'town' ? j.townCode : undefined);
  if (village) out.villageCode = village;
  if (town) out.townCode = town;
  return out;
}

/** SQL conditions limiting a list to the actor's jurisdiction for an action, and to the filter's village or town (scopeEqualities). */
export function scopeConditions(actor: Actor, action: Action, villageCol: Column, townCol: Column, villageCode?: string | null, townCode?: string | null): SQL[] {
  return scopeSql(scopeEqualities(actor, action, villageCode, townCode), villageCol, townCol);
}

/** The SQL of checked scope equalities, on a table's village and town columns. */
export function scopeSql(s: ScopeEqualities, villageCol: Column, townCol: Column): SQL[] {
  const where: SQL[] = [];
  if (s.villageCode !== undefined) where.push(sql`${villageCol} = ${s.villageCode}`);
  if (s.townCode !== undefined) where.push(sql`${townCol} = ${s.townCode}`);
  return where;
}
