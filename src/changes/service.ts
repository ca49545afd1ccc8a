import { and, desc, eq, isNull, lt, sql } from 'drizzle-orm';
import type { Deps } from '../deps';
import { people, personChanges } from '../people/tables';
import type { Caller } from '../policy/actor';
import { scopeConditions } from '../policy/scope-sql';
import { literalLimit } from '../db/keyset';

export type PersonChange = typeof personChanges.$inferSelect;

export const isChangeCursor = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * The "recent changes" feed: changes to people in the caller's scope made by anyone but the caller (reports,
 * association staff, partner counties, colleagues), newest first, keyset-paginated by id.
 */
export async function recentChanges(deps: Deps, caller: Caller, f: { villageCode?: string | null; townCode?: string | null }, first: number, beforeId?: number) {
  const where = scopeConditions(caller.actor, 'personChange.read', personChanges.homeVillageCode, personChanges.homeTownCode, f.villageCode, f.townCode);
  where.push(isNull(people.erasedAt));
  if (caller.actor.kind === 'user') where.push(sql`not (${personChanges.actorType} = 'USER' and ${personChanges.actorId} = ${caller.actor.userId})`);
  if (beforeId !== undefined) where.push(lt(personChanges.id, beforeId));
  const rows = await deps.db
    .select({ change: personChanges })
    .from(personChanges)
    .innerJoin(people, eq(people.id, personChanges.personId))
    .where(and(...where))
    .orderBy(desc(personChanges.id))
    .limit(literalLimit(first + 1));
  return { rows: rows.slice(0, first).map((r) => r.change), hasMore: rows.length > first };
}
