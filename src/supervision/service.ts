import { and, desc, eq, gte, inArray, isNotNull, isNull, lte, not, type Column, type SQL } from 'drizzle-orm';
import { loadAgreement } from '../agreements/service';
import { agreements, commitmentItems } from '../agreements/tables';
import { appendAudit } from '../audit/service';
import { users } from '../auth/tables';
import { todayIn } from '../calendar';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, notFound, requireUuid } from '../errors';
import { requireDivision } from '../jurisdiction/divisions';
import { loadPerson } from '../people/service';
import { dependants } from '../people/tables';
import { optionalText, requireDate, requireNeeds } from '../people/validation';
import { actorColumns, type Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { assertFollowUpAllows, followUpState } from './lifecycle';
import { careVisits, FINDINGS, supervisionChecks, supervisionEvents, type Finding } from './tables';

export type SupervisionCheck = typeof supervisionChecks.$inferSelect;
export type CareVisit = typeof careVisits.$inferSelect;

async function recordEvent(tx: Db, caller: Caller, subjectType: 'CHECK' | 'VISIT', subjectId: string, action: string, details?: Record<string, unknown>) {
  await tx.insert(supervisionEvents).values({ subjectType, subjectId, action, ...actorColumns(caller.actor), details: details ?? null });
}

function pastDate(deps: Deps, field: string, raw: string | null | undefined): string {
  const today = todayIn(deps.config.timeZone);
  const d = raw ? requireDate(field, raw) : today;
  if (d > today) throw badInput(field, 'cannot be in the future');
  return d;
}

function followUpDue(field: string, raw: string | null | undefined, after: string): string | null {
  if (!raw) return null;
  const d = requireDate(field, raw);
  if (d < after) throw badInput(field, 'must not be before the day of the check or visit');
  return d;
}

export interface CheckInput {
  /** The agreement checked; or, for a check of the official's work in general, the official. */
  agreementId?: string | null;
  officialUserId?: string | null;
  commitmentCode: string;
  finding: Finding;
  evidence: string;
  checkedOn?: string | null;
  followUpDueOn?: string | null;
}

/** Which official and village a check is about: from the agreement, or from the official's own scope. */
async function checkSubject(db: Db, input: CheckInput) {
  if (input.agreementId) {
    const a = await loadAgreement(db, input.agreementId);
    if (input.officialUserId && input.officialUserId !== a.officialUserId) throw badInput('officialUserId', 'is not the official of that agreement');
    return { agreement: a, officialUserId: a.officialUserId, villageCode: a.villageCode, townCode: a.townCode };
  }
  if (!input.officialUserId) throw badInput('officialUserId', 'name the agreement or the official checked');
  const [u] = await db.select().from(users).where(eq(users.id, requireUuid('officialUserId', input.officialUserId)));
  if (!u || u.role !== 'VILLAGE_OFFICIAL' || !u.scope) throw badInput('officialUserId', 'not a village official');
  const village = await requireDivision(db, 'officialUserId', u.scope, 'VILLAGE');
  return { agreement: undefined, officialUserId: u.id, villageCode: village.code, townCode: village.parentCode! };
}

export async function recordCheck(deps: Deps, caller: Caller, input: CheckInput): Promise<SupervisionCheck> {
  if (!FINDINGS.includes(input.finding)) throw badInput('finding', 'KEPT, PARTLY_KEPT or BROKEN');
  const evidence = optionalText('evidence', input.evidence, 2000);
  if (!evidence) throw badInput('evidence', 'say what was seen or heard');
  const checkedOn = pastDate(deps, 'checkedOn', input.checkedOn);
  const followUpDueOn = followUpDue('followUpDueOn', input.followUpDueOn, checkedOn);
  return deps.db.transaction(async (tx) => {
    const s = await checkSubject(tx, input);
    authorize(caller.actor, 'supervision.record', { villageCode: s.villageCode });
    const [item] = await tx.select().from(commitmentItems).where(eq(commitmentItems.code, input.commitmentCode));
    if (!item || item.side !== 'OFFICIAL') throw badInput('commitmentCode', 'not one of the official’s commitment items');
    if (s.agreement && !s.agreement.officialCommitments.includes(item.code)) throw badInput('commitmentCode', 'that agreement does not contain this commitment');
    const [row] = await tx
      .insert(supervisionChecks)
      .values({
        villageCode: s.villageCode,
        townCode: s.townCode,
        officialUserId: s.officialUserId,
        agreementId: s.agreement?.id ?? null,
        commitmentCode: item.code,
        finding: input.finding,
        evidence,
        checkedOn,
        followUpDueOn,
        recordedBy: caller.actor.kind === 'user' ? caller.actor.userId : null,
      })
      .returning();
    await recordEvent(tx, caller, 'CHECK', row!.id, 'RECORD', { finding: row!.finding });
    await appendAudit(tx, caller, { action: 'supervision.recordCheck', targetType: 'SupervisionCheck', targetId: row!.id, details: { finding: row!.finding, commitment: item.code } });
    return row!;
  });
}

export interface VisitInput {
  dependantId: string;
  visitedOn?: string | null;
  visitors: string;
  needsFound?: string[] | null;
  note?: string | null;
  followUpDueOn?: string | null;
}

export async function recordCareVisit(deps: Deps, caller: Caller, input: VisitInput): Promise<CareVisit> {
  const visitedOn = pastDate(deps, 'visitedOn', input.visitedOn);
  const visitors = optionalText('visitors', input.visitors, 200);
  if (!visitors) throw badInput('visitors', 'say who visited');
  const needsFound = requireNeeds('needsFound', input.needsFound);
  const note = optionalText('note', input.note, 2000) ?? null;
  if (needsFound.includes('OTHER') && !note) throw badInput('note', 'say what the OTHER need is');
  const followUpDueOn = followUpDue('followUpDueOn', input.followUpDueOn, visitedOn);
  return deps.db.transaction(async (tx) => {
    const [d] = await tx.select().from(dependants).where(eq(dependants.id, requireUuid('dependantId', input.dependantId)));
    if (!d) throw notFound('Dependant', input.dependantId);
    const p = await loadPerson(tx, d.personId);
    authorize(caller.actor, 'careVisit.record', { villageCode: p.homeVillageCode });
    const [row] = await tx
      .insert(careVisits)
      .values({
        personId: p.id,
        dependantId: d.id,
        villageCode: p.homeVillageCode,
        townCode: p.homeTownCode,
        relation: d.relation,
        ageBand: d.ageBand,
        visitedOn,
        visitors,
        needsFound,
        note,
        followUpDueOn,
        recordedBy: caller.actor.kind === 'user' ? caller.actor.userId : null,
      })
      .returning();
    await recordEvent(tx, caller, 'VISIT', row!.id, 'RECORD', { needs: needsFound });
    await appendAudit(tx, caller, { action: 'careVisit.record', targetType: 'CareVisit', targetId: row!.id, details: { personId: p.id } });
    return row!;
  });
}

/** Closes the follow-up of a check or a visit (once). */
export function completeFollowUp(deps: Deps, caller: Caller, kind: 'CHECK', id: string, input: FollowUpInput): Promise<SupervisionCheck>;
export function completeFollowUp(deps: Deps, caller: Caller, kind: 'VISIT', id: string, input: FollowUpInput): Promise<CareVisit>;
export async function completeFollowUp(deps: Deps, caller: Caller, kind: 'CHECK' | 'VISIT', id: string, input: FollowUpInput): Promise<SupervisionCheck | CareVisit> {
  const doneOn = pastDate(deps, 'doneOn', input.doneOn);
  const note = optionalText('note', input.note, 2000);
  if (!note) throw badInput('note', 'say what was done');
  const table = kind === 'CHECK' ? supervisionChecks : careVisits;
  return deps.db.transaction(async (tx) => {
    const [current] = await tx.select().from(table).where(eq(table.id, requireUuid('id', id))).for('update');
    if (!current) throw notFound(kind === 'CHECK' ? 'SupervisionCheck' : 'CareVisit', id);
    authorize(caller.actor, kind === 'CHECK' ? 'supervision.record' : 'careVisit.record', { villageCode: current.villageCode });
    assertFollowUpAllows(followUpState(current), 'COMPLETE_FOLLOW_UP');
    const [row] = await tx.update(table).set({ followUpDoneOn: doneOn, followUpNote: note }).where(eq(table.id, current.id)).returning();
    await recordEvent(tx, caller, kind, current.id, 'COMPLETE_FOLLOW_UP', { doneOn });
    await appendAudit(tx, caller, { action: kind === 'CHECK' ? 'supervision.completeFollowUp' : 'careVisit.completeFollowUp', targetType: kind === 'CHECK' ? 'SupervisionCheck' : 'CareVisit', targetId: current.id });
    return row!;
  });
}

export interface FollowUpInput {
  doneOn?: string | null;
  note: string;
}

export interface SupervisionFilter {
  villageCode?: string | null;
  townCode?: string | null;
  from?: string | null;
  to?: string | null;
  /** Only records whose follow-up is still open. */
  followUpOpen?: boolean | null;
}

function listWhere(caller: Caller, action: 'supervision.read' | 'careVisit.read', table: typeof supervisionChecks | typeof careVisits, dateCol: Column, f: SupervisionFilter): SQL[] {
  const where = scopeConditions(caller.actor, action, table.villageCode, table.townCode, f.villageCode, f.townCode);
  if (f.from) where.push(gte(dateCol, requireDate('from', f.from)));
  if (f.to) where.push(lte(dateCol, requireDate('to', f.to)));
  const open = and(isNotNull(table.followUpDueOn), isNull(table.followUpDoneOn))!;
  if (f.followUpOpen != null) where.push(f.followUpOpen ? open : not(open));
  return where;
}

export async function listChecks(deps: Deps, caller: Caller, f: SupervisionFilter & { finding?: Finding | null }): Promise<SupervisionCheck[]> {
  const where = listWhere(caller, 'supervision.read', supervisionChecks, supervisionChecks.checkedOn, f);
  if (f.finding) where.push(eq(supervisionChecks.finding, f.finding));
  return deps.db.select().from(supervisionChecks).where(and(...where)).orderBy(desc(supervisionChecks.checkedOn), desc(supervisionChecks.createdAt)).limit(500);
}

export async function listCareVisits(deps: Deps, caller: Caller, f: SupervisionFilter): Promise<CareVisit[]> {
  const where = listWhere(caller, 'careVisit.read', careVisits, careVisits.visitedOn, f);
  return deps.db.select().from(careVisits).where(and(...where)).orderBy(desc(careVisits.visitedOn), desc(careVisits.createdAt)).limit(500);
}

/** What stands in a check's evidence once the person its agreement was with is erased (the column is required). */
export const ERASED_EVIDENCE = '（已按删除要求清除）';

/**
 * Erasure: visit notes may describe the family, and a check's evidence and follow-up note may describe the person
 * whose agreement was checked. The records themselves (relation, age band, needs, finding, dates) stay for counts.
 */
export async function eraseSupervisionNotes(tx: Db, personIds: string[]): Promise<void> {
  await tx.update(careVisits).set({ note: null, followUpNote: null }).where(inArray(careVisits.personId, personIds));
  const theirAgreements = tx.select({ id: agreements.id }).from(agreements).where(inArray(agreements.personId, personIds));
  await tx.update(supervisionChecks).set({ evidence: ERASED_EVIDENCE, followUpNote: null }).where(inArray(supervisionChecks.agreementId, theirAgreements));
}
