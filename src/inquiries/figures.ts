import { and, asc, eq, gte, inArray, isNull, lte, sql } from 'drizzle-orm';
import { users } from '../auth/tables';
import { addDays } from '../calendar';
import { anyOf, arrayLiteral, rows, type Db } from '../db/client';
import { can } from '../policy/policy';
import { inquiries, OPEN_INQUIRY_STATUSES } from './tables';

/**
 * Figures about inquiries for supervision and reminders (docs/supervision.md, docs/reminders.md). The overdue count
 * reads dated facts only — when the inquiry was recorded here, matched to a village, answered or closed — never the
 * current status, so the figure for a past day is the same whenever it is asked for.
 */

export interface VillageInquiryCount {
  villageCode: string;
  count: number;
}

/**
 * Per village, inquiries (either direction: partners' we had not answered, ours the partner had not) that were open
 * and past their reply deadline on `asOf`: recorded here by `asOf`, attributed to the village by then (ours from the
 * start; a partner's once matched to a person of the village), `dueOn` before `asOf`, and neither answered nor closed
 * by the end of `asOf` (county days in `timeZone`). One range scan of `inquiries_village_idx` per village.
 */
export async function openInquiriesPastDueByVillage(db: Db, villageCodes: readonly string[], asOf: string, timeZone: string): Promise<VillageInquiryCount[]> {
  if (villageCodes.length === 0) return [];
  const day = (col: ReturnType<typeof sql>) => sql`((${col}) at time zone ${timeZone})::date`;
  return rows<VillageInquiryCount>(
    db,
    sql`select i.village_code as "villageCode", count(*)::int as "count"
        from inquiries i
        where i.village_code = any(${arrayLiteral(villageCodes)}::text[]) and i.due_on < ${asOf}::date
          and ${day(sql`i.created_at`)} <= ${asOf}::date
          and (i.answered_at is null or ${day(sql`i.answered_at`)} > ${asOf}::date)
          and (i.closed_at is null or ${day(sql`i.closed_at`)} > ${asOf}::date)
          and (i.direction = 'OUTBOUND' or exists (
            select 1 from inquiry_events e where e.inquiry_id = i.id and e.to_status = 'MATCHED' and ${day(sql`e.at`)} <= ${asOf}::date))
        group by i.village_code
        order by i.village_code`,
  );
}

export interface InquiryDueSoon {
  inquiryId: string;
  /** A user who must answer it. */
  userId: string;
  dueOn: string;
}

/**
 * Partners' inquiries still waiting for our answer whose reply deadline is between `asOf` and `days` later, with
 * each user who must answer: the enabled officials of the person's village, or the county administrators when the
 * inquiry is about no person of ours (unmatched, or a partner's resident here) or the village has no enabled official.
 */
export async function inquiriesNearDue(db: Db, asOf: string, days: number): Promise<InquiryDueSoon[]> {
  const due = await db
    .select({ id: inquiries.id, villageCode: inquiries.villageCode, dueOn: inquiries.dueOn })
    .from(inquiries)
    .where(
      and(
        eq(inquiries.direction, 'INBOUND'),
        inArray(inquiries.status, [...OPEN_INQUIRY_STATUSES]),
        gte(inquiries.dueOn, asOf),
        lte(inquiries.dueOn, addDays(asOf, days)),
      ),
    )
    .orderBy(asc(inquiries.dueOn), asc(inquiries.id));
  if (due.length === 0) return [];
  const villages = [...new Set(due.flatMap((i) => (i.villageCode ? [i.villageCode] : [])))];
  const staff = await db
    .select({ id: users.id, username: users.username, role: users.role, scope: users.scope })
    .from(users)
    .where(and(isNull(users.disabledAt), sql`(${users.role} = 'COUNTY_ADMIN' or (${users.role} = 'VILLAGE_OFFICIAL' and ${anyOf(users.scope, villages, 'text')}))`))
    .orderBy(asc(users.id));
  // Routing picks the village's officials first; the policy still has the last word on who may answer.
  const mayAnswer = (u: (typeof staff)[number], villageCode: string | null) =>
    can({ kind: 'user', userId: u.id, username: u.username, role: u.role, scope: u.scope }, 'inquiry.handle', villageCode ? { villageCode } : {});
  const admins = staff.filter((u) => u.role === 'COUNTY_ADMIN' && mayAnswer(u, null)).map((u) => u.id);
  return due.flatMap((i) => {
    const officials = staff.filter((u) => u.role === 'VILLAGE_OFFICIAL' && u.scope === i.villageCode && mayAnswer(u, i.villageCode)).map((u) => u.id);
    return (officials.length > 0 ? officials : admins).map((userId) => ({ inquiryId: i.id, userId, dueOn: i.dueOn }));
  });
}
