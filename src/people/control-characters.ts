import { and, asc, isNull, or, sql } from 'drizzle-orm';
import type { Deps } from '../deps';
import { CONTROL } from '../exchange/bodies';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { applyContactChanges, loadPerson } from './service';
import { people } from './tables';
import { registryTransaction } from './transaction';

/** The person's one-line text fields: what records about them carry, where the exchange refuses control characters. */
const TEXT_FIELDS = ['name', 'phone', 'currentTown', 'currentArea', 'employer', 'occupation'] as const;
type TextField = (typeof TEXT_FIELDS)[number];

/** The source of the cleaning in the change feed and the audit entry. */
export const CLEANING_SOURCE = 'MAINTENANCE:CONTROL_CHARACTERS';

/** The same characters as the exchange's CONTROL, as a PostgreSQL regular expression (NUL cannot be stored). */
const CONTROL_SQL = '[\\u0001-\\u001f\\u007f-\\u009f]';

/** Line breaks and tabs become a space, other control characters go; then spaces are tidied. */
export function withoutControlCharacters(value: string): string {
  return value
    .replace(/[\t\n\u000B\f\r\u0085]+/g, ' ')
    .replace(new RegExp(CONTROL.source, 'g'), '')
    .replace(/ {2,}/g, ' ')
    .trim();
}

export interface ControlCharacterFinding {
  personId: string;
  villageCode: string;
  /** The fields holding control characters (never their values). */
  fields: TextField[];
  /** With fix: CLEANED, or LEFT when the name would be empty (to be corrected by hand). */
  outcome?: 'CLEANED' | 'LEFT';
}

const dirty = (p: Pick<typeof people.$inferSelect, TextField>) => TEXT_FIELDS.filter((f) => CONTROL.test(p[f] ?? ''));

/**
 * People (not erased) whose text fields hold control characters: data stored before the GraphQL text guard refused
 * them, which makes every exchange record about the person fail (BAD_USER_INPUT). With `fix`, each is cleaned in a
 * registry transaction of its own, recorded like any change (change feed and `person.update` audit entry, source
 * MAINTENANCE:CONTROL_CHARACTERS, the caller as actor).
 */
export async function personTextWithControlCharacters(deps: Deps, caller: Caller, opts: { fix: boolean }): Promise<ControlCharacterFinding[]> {
  authorize(caller.actor, 'person.write');
  const found = await deps.db
    .select()
    .from(people)
    .where(and(isNull(people.erasedAt), or(...TEXT_FIELDS.map((f) => sql`${people[f]} ~ ${CONTROL_SQL}`))))
    .orderBy(asc(people.id));
  const findings: ControlCharacterFinding[] = [];
  for (const p of found) {
    const finding: ControlCharacterFinding = { personId: p.id, villageCode: p.homeVillageCode, fields: dirty(p) };
    if (opts.fix) {
      finding.outcome = await registryTransaction(deps, async (tx) => {
        const person = await loadPerson(tx, p.id, { lock: true });
        const changes = Object.fromEntries(dirty(person).map((f) => [f, withoutControlCharacters(person[f]!) || null]));
        if (changes.name === null) return 'LEFT';
        await applyContactChanges(tx, caller, person, changes, CLEANING_SOURCE);
        return 'CLEANED';
      });
    }
    findings.push(finding);
  }
  return findings;
}
