import { appendAudit } from '../audit/service';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, isAppError, type AppError } from '../errors';
import { applyContactChanges, loadPerson, validateContactChanges, type ContactChanges, type ValidContactChanges } from '../people/service';
import type { Caller } from '../policy/actor';
import { listScope, PolicyDenied } from '../policy/policy';
import { membershipForWrite, type MemberView } from './service';

/** How a change made by association staff is labelled in the person's change feed. */
const source = (associationId: string) => `ASSOCIATION:${associationId}`;

async function applyMemberUpdate(tx: Db, caller: Caller, memberId: string, changes: ValidContactChanges): Promise<{ view: MemberView; fields: string[] }> {
  const view = await membershipForWrite(tx, caller, memberId, 'member.update', 'UPDATE_CONTACT');
  const fields = await applyContactChanges(tx, caller, view.person, changes, source(view.membership.associationId));
  return { view, fields };
}

/** Staff keep a member's phone, current place, employer and occupation current; audited with them as the actor. */
export async function updateMember(deps: Deps, caller: Caller, memberId: string, input: ContactChanges): Promise<MemberView> {
  const changes = validateContactChanges('', input);
  return deps.db.transaction(async (tx) => {
    const { view } = await applyMemberUpdate(tx, caller, memberId, changes);
    return { ...view, person: await loadPerson(tx, view.person.id) };
  });
}

export interface MemberUpdateItem extends ContactChanges {
  memberId: string;
}

export interface MemberUpdateResult {
  memberId: string;
  ok: boolean;
  changedFields: string[];
  error: { code: string; message: string; field: string | null } | null;
}

const MAX_BULK_ITEMS = 200;

function failure(memberId: string, e: AppError): MemberUpdateResult {
  const field = typeof e.extensions.field === 'string' ? e.extensions.field : null;
  return { memberId, ok: false, changedFields: [], error: { code: e.code, message: e.message, field } };
}

/**
 * Many member updates in one call. Each item is checked on its own and applied in its own savepoint inside one
 * transaction: a bad or refused item is rolled back whole and reported with its reason, the others go through.
 */
export async function updateMembers(deps: Deps, caller: Caller, items: readonly MemberUpdateItem[]): Promise<MemberUpdateResult[]> {
  listScope(caller.actor, 'member.update');
  if (items.length === 0 || items.length > MAX_BULK_ITEMS) throw badInput('items', `send between 1 and ${MAX_BULK_ITEMS} updates`);
  const checked = items.map((item, i) => {
    try {
      return { item, changes: validateContactChanges(`items.${i}.`, item) };
    } catch (e) {
      if (isAppError(e)) return { item, error: e };
      throw e;
    }
  });
  return deps.db.transaction(async (tx) => {
    const results: MemberUpdateResult[] = [];
    for (const c of checked) {
      if (c.error) {
        results.push(failure(c.item.memberId, c.error));
        continue;
      }
      try {
        const { fields } = await tx.transaction((sp) => applyMemberUpdate(sp, caller, c.item.memberId, c.changes!));
        results.push({ memberId: c.item.memberId, ok: true, changedFields: fields, error: null });
      } catch (e) {
        if (!isAppError(e)) throw e;
        if (e instanceof PolicyDenied) {
          await appendAudit(tx, caller, { action: e.action, outcome: 'DENIED', targetType: 'AssociationMember', targetId: c.item.memberId });
        }
        results.push(failure(c.item.memberId, e));
      }
    }
    await appendAudit(tx, caller, { action: 'member.bulkUpdate', details: { items: results.length, applied: results.filter((r) => r.ok).length } });
    return results;
  });
}
