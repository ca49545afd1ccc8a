import { and, asc, eq, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, notFound, requireUuid } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { isCountyCode } from '../people/identity';
import { optionalMobile, optionalText, requireName } from '../people/validation';
import { liaisonContacts } from './tables';

export type LiaisonContact = typeof liaisonContacts.$inferSelect;

export interface LiaisonInput {
  name?: string | null;
  organisation?: string | null;
  countyCode?: string | null;
  phone?: string | null;
  role?: string | null;
  active?: boolean | null;
  notes?: string | null;
}

function validate(input: LiaisonInput, creating: boolean) {
  const out: Partial<LiaisonContact> = {};
  if (input.name != null || creating) out.name = requireName('name', input.name ?? '');
  if (input.organisation != null || creating) {
    const org = optionalText('organisation', input.organisation, 100);
    if (!org) throw badInput('organisation', 'required');
    out.organisation = org;
  }
  if (input.countyCode != null || creating) {
    if (!input.countyCode || !isCountyCode(input.countyCode)) throw badInput('countyCode', 'not a 6-digit county code');
    out.countyCode = input.countyCode;
  }
  const phone = optionalMobile('phone', input.phone);
  if (phone !== undefined) out.phone = phone;
  const role = optionalText('role', input.role, 100);
  if (role !== undefined) out.role = role;
  const notes = optionalText('notes', input.notes, 1000);
  if (notes !== undefined) out.notes = notes;
  if (input.active != null) out.active = input.active;
  return out;
}

export async function createLiaison(deps: Deps, caller: Caller, input: LiaisonInput): Promise<LiaisonContact> {
  authorize(caller.actor, 'liaison.manage');
  const values = validate(input, true) as typeof liaisonContacts.$inferInsert;
  return deps.db.transaction(async (tx) => {
    const [row] = await tx.insert(liaisonContacts).values(values).returning();
    await appendAudit(tx, caller, { action: 'liaison.create', targetType: 'LiaisonContact', targetId: row!.id });
    return row!;
  });
}

export async function updateLiaison(deps: Deps, caller: Caller, id: string, input: LiaisonInput): Promise<LiaisonContact> {
  authorize(caller.actor, 'liaison.manage');
  const set = validate(input, false);
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .update(liaisonContacts)
      .set({ ...set, updatedAt: new Date() })
      .where(eq(liaisonContacts.id, requireUuid('id', id)))
      .returning();
    if (!row) throw notFound('LiaisonContact', id);
    await appendAudit(tx, caller, { action: 'liaison.update', targetType: 'LiaisonContact', targetId: id, details: { fields: Object.keys(set) } });
    return row;
  });
}

export async function listLiaisons(deps: Deps, caller: Caller, f: { countyCode?: string | null; active?: boolean | null }): Promise<LiaisonContact[]> {
  authorize(caller.actor, 'liaison.read');
  const where: SQL[] = [];
  if (f.countyCode) where.push(eq(liaisonContacts.countyCode, f.countyCode));
  if (f.active != null) where.push(eq(liaisonContacts.active, f.active));
  return deps.db.select().from(liaisonContacts).where(and(...where)).orderBy(asc(liaisonContacts.countyCode), asc(liaisonContacts.name));
}

/** For references from people and reports: the contact must exist (an inactive one is still a valid historical reference). */
export async function requireLiaison(db: Db, field: string, id: string): Promise<LiaisonContact> {
  const [row] = await db.select().from(liaisonContacts).where(eq(liaisonContacts.id, requireUuid(field, id)));
  if (!row) throw badInput(field, 'no such liaison contact');
  return row;
}

/** Batch: the active liaison contacts of these counties, by name (a partner's side, or ours). */
export function activeLiaisonsIn(db: Db, countyCodes: readonly string[]): Promise<LiaisonContact[]> {
  return lookupMany(db, 'liaisons_in', countyCodes, (d) =>
    d
      .select()
      .from(liaisonContacts)
      .where(and(anyOfIds(liaisonContacts.countyCode, 'text'), eq(liaisonContacts.active, true)))
      .orderBy(asc(liaisonContacts.name), asc(liaisonContacts.id))
      .prepare('liaisons_in'),
  );
}
