import { and, desc, eq, type SQL } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { todayIn } from '../calendar';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict, notFound, requireUuid } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { optionalText, requireDate } from '../people/validation';
import { recordAgreementEvent } from './history';
import { assertAllowed } from './lifecycle';
import { registryTransaction } from '../people/transaction';
import { lockAgreement } from './service';
import { COMPLAINT_STATUSES, depositComplaints } from './tables';

export type DepositComplaint = typeof depositComplaints.$inferSelect;

/** Someone asked the person for a deposit: recorded against the agreement, for the town supervisor to follow up. */
export async function recordDepositComplaint(deps: Deps, caller: Caller, agreementId: string, input: { description: string; reportedOn?: string | null }): Promise<DepositComplaint> {
  const description = optionalText('description', input.description, 2000);
  if (!description) throw badInput('description', 'say what was asked for, by whom and when');
  const reportedOn = input.reportedOn ? requireDate('reportedOn', input.reportedOn) : todayIn(deps.config.timeZone);
  return registryTransaction(deps, async (tx) => {
    const { agreement: a } = await lockAgreement(tx, agreementId);
    authorize(caller.actor, 'complaint.record', { villageCode: a.villageCode });
    assertAllowed(a.status, 'RECORD_COMPLAINT');
    const [row] = await tx
      .insert(depositComplaints)
      .values({
        agreementId: a.id,
        villageCode: a.villageCode,
        townCode: a.townCode,
        description,
        reportedOn,
        recordedBy: caller.actor.kind === 'user' ? caller.actor.userId : null,
      })
      .returning();
    await recordAgreementEvent(tx, caller, a.id, 'RECORD_COMPLAINT', { complaintId: row!.id });
    await appendAudit(tx, caller, { action: 'complaint.record', targetType: 'DepositComplaint', targetId: row!.id, details: { agreementId: a.id } });
    return row!;
  });
}

export async function resolveDepositComplaint(deps: Deps, caller: Caller, id: string, resolution: string): Promise<DepositComplaint> {
  const text = optionalText('resolution', resolution, 2000);
  if (!text) throw badInput('resolution', 'say how it was resolved');
  return registryTransaction(deps, async (tx) => {
    const [ref] = await tx.select({ agreementId: depositComplaints.agreementId }).from(depositComplaints).where(eq(depositComplaints.id, requireUuid('id', id)));
    if (!ref) throw notFound('DepositComplaint', id);
    // Lock order: person, agreement, then the complaint (its agreement never changes).
    await lockAgreement(tx, ref.agreementId);
    const [c] = await tx.select().from(depositComplaints).where(eq(depositComplaints.id, id)).for('update');
    if (!c) throw notFound('DepositComplaint', id);
    authorize(caller.actor, 'complaint.resolve', { villageCode: c.villageCode });
    if (c.status === 'RESOLVED') throw conflict('this complaint is already resolved');
    const [row] = await tx
      .update(depositComplaints)
      .set({ status: 'RESOLVED', resolution: text, resolvedAt: new Date(), resolvedBy: caller.actor.kind === 'user' ? caller.actor.userId : null })
      .where(eq(depositComplaints.id, c.id))
      .returning();
    await recordAgreementEvent(tx, caller, c.agreementId, 'RESOLVE_COMPLAINT', { complaintId: c.id });
    await appendAudit(tx, caller, { action: 'complaint.resolve', targetType: 'DepositComplaint', targetId: c.id });
    return row!;
  });
}

/** Batch: the complaints recorded against these agreements, newest first (Agreement.depositComplaints). */
export function complaintsOf(db: Db, agreementIds: readonly string[]): Promise<DepositComplaint[]> {
  return lookupMany(db, 'complaints_of', agreementIds, (d) =>
    d
      .select()
      .from(depositComplaints)
      .where(anyOfIds(depositComplaints.agreementId))
      .orderBy(desc(depositComplaints.reportedOn), desc(depositComplaints.createdAt))
      .prepare('complaints_of'),
  );
}

export async function listDepositComplaints(
  deps: Deps,
  caller: Caller,
  f: { status?: (typeof COMPLAINT_STATUSES)[number] | null; villageCode?: string | null; townCode?: string | null; agreementId?: string | null },
): Promise<DepositComplaint[]> {
  const where: SQL[] = scopeConditions(caller.actor, 'complaint.read', depositComplaints.villageCode, depositComplaints.townCode, f.villageCode, f.townCode);
  if (f.status) where.push(eq(depositComplaints.status, f.status));
  if (f.agreementId) where.push(eq(depositComplaints.agreementId, requireUuid('agreementId', f.agreementId)));
  return deps.db.select().from(depositComplaints).where(and(...where)).orderBy(desc(depositComplaints.reportedOn), desc(depositComplaints.createdAt)).limit(500);
}
