import { auditStandalone } from '../audit/service';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, isAppError, requireUuid, type AppError } from '../errors';
import { applyContactChanges, loadPerson, validateContactChanges, type ContactChanges, type ValidContactChanges } from '../people/service';
import { registryTransaction } from '../people/transaction';
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
  return registryTransaction(deps, async (tx) => {
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

/** One item of a bulk call, in a transaction of its own: it is applied whole or not at all, whatever the others do. */
async function updateOne(deps: Deps, caller: Caller, item: MemberUpdateItem, i: number): Promise<MemberUpdateResult> {
  try {
    const memberId = requireUuid(`items.${i}.memberId`, item.memberId);
    const changes = validateContactChanges(`items.${i}.`, item);
    const { fields } = await registryTransaction(deps, (tx) => applyMemberUpdate(tx, caller, memberId, changes));
    return { memberId: item.memberId, ok: true, changedFields: fields, error: null };
  } catch (e) {
    if (e instanceof PolicyDenied) {
      await auditStandalone(deps.db, caller, { action: e.action, outcome: 'DENIED', targetType: 'AssociationMember', targetId: item.memberId });
    }
    if (isAppError(e)) return failure(item.memberId, e);
    // Earlier items are committed, so the answer must still list them: this item fails with a code, not the call.
    deps.logger.error({ err: e, memberId: item.memberId }, 'bulk member update item failed');
    return { memberId: item.memberId, ok: false, changedFields: [], error: { code: 'INTERNAL_SERVER_ERROR', message: 'internal error; nothing of this item was applied', field: null } };
  }
}

/**
 * Many member updates in one call. Each item is validated and applied in its own transaction, one after the other: a
 * bad or refused item changes nothing and is reported with its reason (the code as in `extensions.code`), the others
 * go through, and no item waits on another's locks.
 */
export async function updateMembers(deps: Deps, caller: Caller, items: readonly MemberUpdateItem[]): Promise<MemberUpdateResult[]> {
  listScope(caller.actor, 'member.update');
  if (items.length === 0 || items.length > MAX_BULK_ITEMS) throw badInput('items', `send between 1 and ${MAX_BULK_ITEMS} updates`);
  const results: MemberUpdateResult[] = [];
  for (const [i, item] of items.entries()) results.push(await updateOne(deps, caller, item, i));
  await auditStandalone(deps.db, caller, { action: 'member.bulkUpdate', details: { items: results.length, applied: results.filter((r) => r.ok).length } });
  return results;
}
