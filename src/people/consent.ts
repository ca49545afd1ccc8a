import { and, asc, eq, isNull } from 'drizzle-orm';
import { endAllAgreementsTx } from '../agreements/ending';
import { appendAudit } from '../audit/service';
import { todayIn } from '../calendar';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict, notFound } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { isCountyCode } from './identity';
import { loadPerson, personTarget } from './service';
import { registryTransaction } from './transaction';
import { consents, CONSENT_KINDS, CONSENT_METHODS, people, type ConsentKind } from './tables';
import { requireDate } from './validation';

export type Consent = typeof consents.$inferSelect;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

/** Hooks other modules register to act on a withdrawal (e.g. ending an association membership). */
type WithdrawalHook = (tx: Db, caller: Caller, personId: string, kind: ConsentKind, scope: string) => Promise<void>;
const withdrawalHooks: WithdrawalHook[] = [];
export function onConsentWithdrawn(hook: WithdrawalHook): void {
  withdrawalHooks.push(hook);
}

/** Records a consent unless the same one is already in force. */
export async function grantConsentTx(tx: Db, caller: Caller, personId: string, kind: ConsentKind, scope: string, method: ConsentMethod, givenOn: string): Promise<void> {
  const recordedBy = caller.actor.kind === 'user' ? caller.actor.userId : null;
  const [row] = await tx
    .insert(consents)
    .values({ personId, kind, scope, method, givenOn, recordedBy })
    .onConflictDoNothing()
    .returning({ id: consents.id });
  if (row) await appendAudit(tx, caller, { action: 'consent.grant', targetType: 'Person', targetId: personId, details: { kind, scope } });
}

/** Withdraws one consent inside the caller's transaction (running the withdrawal hooks); false if none was in force. */
export async function withdrawOneTx(tx: Db, caller: Caller, personId: string, kind: ConsentKind, scope: string): Promise<boolean> {
  const rows = await tx
    .update(consents)
    .set({ withdrawnAt: new Date() })
    .where(and(eq(consents.personId, personId), eq(consents.kind, kind), eq(consents.scope, scope), isNull(consents.withdrawnAt)))
    .returning({ id: consents.id });
  if (rows.length === 0) return false;
  for (const hook of withdrawalHooks) await hook(tx, caller, personId, kind, scope);
  await appendAudit(tx, caller, { action: 'consent.withdraw', targetType: 'Person', targetId: personId, details: { kind, scope } });
  return true;
}

function checkScope(kind: ConsentKind, scope: string | null | undefined): string {
  const s = scope?.trim() ?? '';
  if (kind === 'AGREEMENT' && s) throw badInput('scope', 'the agreement consent has no scope');
  if (kind === 'PARTNER_SHARING' && !isCountyCode(s)) throw badInput('scope', 'sharing consent needs the partner county code');
  if (kind === 'ASSOCIATION_MEMBERSHIP' && !s) throw badInput('scope', 'membership consent needs the association id');
  return s;
}

export interface ConsentInput {
  kind: ConsentKind;
  scope?: string | null;
  method: ConsentMethod;
  givenOn?: string | null;
}

export async function recordConsent(deps: Deps, caller: Caller, personId: string, input: ConsentInput): Promise<Consent[]> {
  if (!CONSENT_KINDS.includes(input.kind)) throw badInput('kind', 'unknown consent kind');
  if (!CONSENT_METHODS.includes(input.method)) throw badInput('method', 'unknown method');
  const scope = checkScope(input.kind, input.scope);
  const givenOn = input.givenOn ? requireDate('givenOn', input.givenOn) : todayIn(deps.config.timeZone);
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, personId, { lock: true });
    authorize(caller.actor, 'consent.write', personTarget(p));
    if (p.status === 'WITHDRAWN') {
      if (input.kind !== 'AGREEMENT') throw conflict('the person has withdrawn; record their consent to the agreement first', { status: p.status });
      // Consenting again undoes the withdrawal: the record is no longer due for erasure and is back in service.
      const status = p.returnedOn ? 'RETURNED' : 'AWAY';
      await tx.update(people).set({ status, withdrawnAt: null, updatedAt: new Date() }).where(eq(people.id, p.id));
      await appendAudit(tx, caller, { action: 'person.reconsent', targetType: 'Person', targetId: p.id, details: { status } });
    }
    await grantConsentTx(tx, caller, p.id, input.kind, scope, input.method, givenOn);
    return consentsOf(tx, p.id);
  });
}

/**
 * The person's right to withdraw (PIPL Art. 15). Withdrawing the agreement consent withdraws everything: the
 * agreement ends (WITHDRAWN), sharing with partner counties stops, memberships end, and the record is erased after
 * the retention period. It costs the person no hometown service. Narrower withdrawals stop one sharing or membership.
 */
export async function withdrawConsent(deps: Deps, caller: Caller, personId: string, kind: ConsentKind, rawScope?: string | null): Promise<Consent[]> {
  if (!CONSENT_KINDS.includes(kind)) throw badInput('kind', 'unknown consent kind');
  const scope = checkScope(kind, rawScope);
  return registryTransaction(deps, async (tx) => {
    const p = await loadPerson(tx, personId, { lock: true });
    authorize(caller.actor, 'consent.write', personTarget(p));
    if (kind !== 'AGREEMENT') {
      if (!(await withdrawOneTx(tx, caller, p.id, kind, scope))) throw notFound('Consent');
      return consentsOf(tx, p.id);
    }
    await endAllAgreementsTx(tx, caller, p.id, 'WITHDRAWN');
    const open = await tx.select().from(consents).where(and(eq(consents.personId, p.id), isNull(consents.withdrawnAt)));
    for (const c of open) await withdrawOneTx(tx, caller, p.id, c.kind, c.scope);
    // Withdrawing again changes nothing: the retention period runs from the first withdrawal.
    if (p.status !== 'WITHDRAWN') {
      await tx.update(people).set({ status: 'WITHDRAWN', withdrawnAt: new Date(), updatedAt: new Date() }).where(eq(people.id, p.id));
      await appendAudit(tx, caller, { action: 'person.withdraw', targetType: 'Person', targetId: p.id });
    }
    return consentsOf(tx, p.id);
  });
}

export function consentsOf(db: Db, personIds: string | readonly string[]): Promise<Consent[]> {
  return lookupMany(db, 'consents_of', typeof personIds === 'string' ? [personIds] : personIds, (d) =>
    d
      .select()
      .from(consents)
      .where(anyOfIds(consents.personId))
      .orderBy(asc(consents.givenOn), asc(consents.kind), asc(consents.scope), asc(consents.id))
      .prepare('consents_of'),
  );
}

export async function hasConsent(db: Db, personId: string, kind: ConsentKind, scope = ''): Promise<boolean> {
  const [row] = await db
    .select({ id: consents.id })
    .from(consents)
    .where(and(eq(consents.personId, personId), eq(consents.kind, kind), eq(consents.scope, scope), isNull(consents.withdrawnAt)));
  return row !== undefined;
}

/** Stops sharing with counties no longer named in a newly activated agreement version. */
export async function withdrawSharingExceptTx(tx: Db, caller: Caller, personId: string, keep: readonly string[]): Promise<void> {
  const open = await tx
    .select()
    .from(consents)
    .where(and(eq(consents.personId, personId), eq(consents.kind, 'PARTNER_SHARING'), isNull(consents.withdrawnAt)));
  for (const c of open) if (!keep.includes(c.scope)) await withdrawOneTx(tx, caller, personId, 'PARTNER_SHARING', c.scope);
}
