import { and, asc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { agreementInStatus } from '../agreements/ending';
import { loadAgreement, type Agreement } from '../agreements/service';
import { loadMemberView } from '../associations/service';
import { appendAudit } from '../audit/service';
import { todayIn } from '../calendar';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict, isAppError } from '../errors';
import { optionalText } from '../people/validation';
import type { Caller } from '../policy/actor';
import { authorize, type Target } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { render, periodZh } from '../reminders/templates';
import { NotifierError, notifierChannel } from '../reminders/notifier';
import { notificationKey, notifications, type Channel } from '../reminders/tables';
import { getDivision } from '../jurisdiction/divisions';
import { parsePeriod } from '../reports/periods';
import { ratingSubmissions, serviceRatings, spentRatingTokens } from './tables';
import { signRatingToken, verifyRatingToken } from './tokens';

export interface RatingLink {
  token: string;
  link: string;
  expiresAt: Date;
}

/** Only a period that is over can be rated: the service it rates is complete. */
function requireClosedPeriod(deps: Deps, field: string, raw: string): string {
  const p = parsePeriod(raw);
  if (!p) throw badInput(field, 'use 2026-11 (month), 2026-Q3 (quarter) or 2026-H2 (half-year)');
  if (p.end >= todayIn(deps.config.timeZone)) throw badInput(field, `${p.label} is not over yet; it can be rated from the day after it ends`);
  return p.label;
}

/** Signs a link without a policy check or audit: for callers that did both (the reminder job, sendRatingInvitation). */
export async function ratingLinkFor(deps: Deps, agreementId: string, period: string): Promise<RatingLink> {
  const { token, expiresAt } = await signRatingToken(deps.keys, deps.config, agreementId, period);
  return { token, expiresAt, link: `${deps.config.ratingLinkBaseUrl}?token=${token}` };
}

/** Where the link goes in a rating invitation's stored text: it is signed only when the message is sent. */
export const RATING_LINK_SLOT = '{link}';

/** A rating invitation's text as stored in the outbox: everything but the link. */
/**
 * An invitation to rate a closed period of a person's agreement, whoever sends it (the daily job or an official):
 * one per person and period. The link is signed when the message is sent, so the outbox never holds one.
 */
export function ratingInvitation(a: { personId: string; agreementId: string }, period: string, county: string, channel: Channel) {
  const kind = 'RATING_INVITATION' as const;
  return { dedupeKey: notificationKey(kind, a.personId, period), kind, channel, personId: a.personId, agreementId: a.agreementId, period, body: ratingInvitationBody(county, period) };
}

function ratingInvitationBody(county: string, period: string): string {
  return render('RATING_INVITATION', { county, period: periodZh(period), link: RATING_LINK_SLOT });
}

/**
 * The text a rating invitation is sent with: its stored text with a link signed now for the agreement and period.
 * Each attempt signs its own link (one rating per person and period whichever is used), valid RATING_LINK_TTL_DAYS
 * from sending.
 */
export async function ratingInvitationText(deps: Deps, n: { body: string; agreementId: string | null; period: string }): Promise<string> {
  if (!n.agreementId || !n.body.includes(RATING_LINK_SLOT)) throw new NotifierError('the invitation names no agreement to rate', true);
  const { link } = await ratingLinkFor(deps, n.agreementId, n.period);
  return n.body.replace(RATING_LINK_SLOT, link);
}

export interface RatingInvitation {
  period: string;
  expiresAt: Date;
}

type RatedRef = { agreementId?: string | null; memberId?: string | null };

/**
 * The person's active agreement, if any, where the reference puts it for the policy, and why a caller it does not
 * admit is refused. Each reference belongs to the roles that know it: the agreement to the person's official (and
 * administrators), the membership to staff of the person's association (and administrators), who never see
 * agreements. So an agreement's target names no association, and a membership's no village.
 */
async function ratedAgreement(deps: Deps, ref: RatedRef): Promise<{ agreement?: Agreement; target: Target; refusal: string }> {
  if (!ref.agreementId === !ref.memberId) throw badInput('agreementId', 'name either the agreement or the association membership');
  if (ref.agreementId) {
    const agreement = await loadAgreement(deps.db, ref.agreementId);
    const refusal = 'an invitation naming the agreement is sent by the person’s village official or an administrator; association staff name the membership (memberId)';
    return { agreement, target: { villageCode: agreement.villageCode }, refusal };
  }
  const { person, target } = await loadMemberView(deps.db, ref.memberId!);
  const refusal = 'an invitation naming the membership is sent by staff of the person’s association or an administrator; village officials name the agreement (agreementId)';
  return { agreement: await agreementInStatus(deps.db, person.id, 'ACTIVE'), target: { associationIds: target.associationIds }, refusal };
}

/**
 * Invites the person to rate their village official's service for a closed period: the invitation is queued for them
 * in the outbox and its single-use link is signed only when the notifier sends it (ratingInvitationText), never
 * handed to the caller nor stored, so nobody but the person can rate in their name. One invitation per person and period, shared with the reminder job's.
 * Issued by the person's official (naming the agreement), staff of an association the person belongs to (naming the
 * membership), or an administrator (either).
 */
export async function sendRatingInvitation(deps: Deps, caller: Caller, ref: RatedRef, rawPeriod: string): Promise<RatingInvitation> {
  const period = requireClosedPeriod(deps, 'period', rawPeriod);
  const { agreement: a, target, refusal } = await ratedAgreement(deps, ref);
  authorize(caller.actor, 'ratingLink.issue', target, refusal);
  if (a?.status !== 'ACTIVE') throw conflict('rating invitations go to people with an active agreement');
  return deps.db.transaction(async (tx) => {
    const county = (await getDivision(tx, deps.config.countyCode))?.name ?? '';
    const [queued] = await tx
      .insert(notifications)
      .values(ratingInvitation({ personId: a.personId, agreementId: a.id }, period, county, notifierChannel(deps.config)))
      .onConflictDoNothing({ target: notifications.dedupeKey })
      .returning({ id: notifications.id });
    if (!queued) throw conflict(`the person has already been invited to rate ${period}`);
    await appendAudit(tx, caller, { action: 'ratingLink.issue', targetType: 'Agreement', targetId: a.id, details: { period, notificationId: queued.id } });
    // the earliest the link can expire: it is signed when sent and lasts the TTL from then
    return { period, expiresAt: new Date(Date.now() + deps.config.ratingLinkTtlDays * 86_400_000) };
  });
}

/** A village's held ratings for a period are published together, shuffled, once there are enough of them. */
async function publishIfEnough(tx: Db, deps: Deps, villageCode: string, period: string): Promise<void> {
  // Two submissions of the same group take turns, so each held rating is published exactly once.
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`rating:${villageCode}:${period}`}))`);
  const group = and(eq(ratingSubmissions.villageCode, villageCode), eq(ratingSubmissions.period, period));
  const [held] = await tx.select({ n: sql<number>`count(*)::int` }).from(ratingSubmissions).where(group);
  if (held!.n < deps.config.ratingMinGroupSize) return;
  const today = todayIn(deps.config.timeZone);
  await tx.execute(sql`
    insert into ${serviceRatings} (village_code, town_code, official_user_id, period, score, comment, submitted_on)
    select village_code, town_code, official_user_id, period, score, comment, ${today}::date
    from ${ratingSubmissions} where village_code = ${villageCode} and period = ${period}
    order by random()`);
  await tx.delete(ratingSubmissions).where(group);
}

/**
 * Accepts one rating per link (its token id is recorded) and per person and period, for a closed period. No sign-in:
 * the link is the credential. The rating is held without any time, person or address, and published with others
 * of the same village and period once there are enough (see publishIfEnough), so when it appears says nothing
 * about who gave it. The audit entry keeps neither the address nor the request id.
 */
export async function submitRating(deps: Deps, caller: Caller, token: string, score: number, rawComment?: string | null): Promise<boolean> {
  if (!Number.isInteger(score) || score < 1 || score > 5) throw badInput('score', 'a whole number from 1 to 5');
  const comment = optionalText('comment', rawComment, 500) ?? null;
  const claims = await verifyRatingToken(deps.keys, deps.config, token);
  if (!claims) throw badInput('token', 'this rating link is not valid or has expired');
  const period = requireClosedPeriod(deps, 'token', claims.period);
  return deps.db.transaction(async (tx) => {
    const a = await loadAgreement(tx, claims.agreementId).catch((e: unknown) => {
      throw isAppError(e) ? badInput('token', 'this rating link is not valid or has expired') : e;
    });
    const [spent] = await tx
      .insert(spentRatingTokens)
      .values({ jti: claims.jti, personId: a.personId, period, expiresAt: claims.expiresAt })
      .onConflictDoNothing()
      .returning({ jti: spentRatingTokens.jti });
    if (!spent) throw conflict('this rating link has already been used (one rating per person and period)');
    await tx.insert(ratingSubmissions).values({ villageCode: a.villageCode, townCode: a.townCode, officialUserId: a.officialUserId, period, score, comment });
    await publishIfEnough(tx, deps, a.villageCode, period);
    await appendAudit(tx, { actor: caller.actor }, { action: 'rating.submit', targetType: 'Division', targetId: a.villageCode, details: { period } });
    return true;
  });
}

export interface RatingFilter {
  period?: string | null;
  villageCode?: string | null;
  townCode?: string | null;
}

/** A village's published ratings for a period; count and average only when the group is at least the minimum. */
export interface RatingGroup {
  villageCode: string;
  period: string;
  shown: boolean;
  count: number | null;
  average: number | null;
}

function ratingWhere(caller: Caller, action: 'rating.read' | 'rating.comments', f: RatingFilter): SQL[] {
  const where = scopeConditions(caller.actor, action, serviceRatings.villageCode, serviceRatings.townCode, f.villageCode, f.townCode);
  if (f.period) {
    const p = parsePeriod(f.period);
    if (!p) throw badInput('period', 'use 2026-11, 2026-Q3 or 2026-H2');
    where.push(eq(serviceRatings.period, p.label));
  }
  return where;
}

/**
 * Published ratings per village and rated period. The minimum group size is applied here, not left to the caller:
 * a group smaller than the configured minimum (say, published before the minimum was raised) shows neither count
 * nor average.
 */
export async function ratingGroups(deps: Deps, caller: Caller, f: RatingFilter): Promise<RatingGroup[]> {
  const rows = await deps.db
    .select({
      villageCode: serviceRatings.villageCode,
      period: serviceRatings.period,
      count: sql<number>`count(*)::int`,
      average: sql<number>`round(avg(${serviceRatings.score}), 2)::float8`,
    })
    .from(serviceRatings)
    .where(and(...ratingWhere(caller, 'rating.read', f)))
    .groupBy(serviceRatings.villageCode, serviceRatings.period)
    .orderBy(asc(serviceRatings.villageCode), asc(serviceRatings.period));
  const min = deps.config.ratingMinGroupSize;
  return rows.map((r) => (r.count >= min ? { ...r, shown: true } : { villageCode: r.villageCode, period: r.period, shown: false, count: null, average: null }));
}

export interface RatingCommentRow {
  villageCode: string;
  period: string;
  comment: string;
}

/**
 * Comments for supervisors: the text, village and period only (no score, no date), of published groups at least the
 * minimum size, in text order (nothing about when or by whom).
 */
export async function ratingComments(deps: Deps, caller: Caller, f: RatingFilter): Promise<RatingCommentRow[]> {
  const where = ratingWhere(caller, 'rating.comments', f);
  const big = sql`(${serviceRatings.villageCode}, ${serviceRatings.period}) in (
    select village_code, period from ${serviceRatings} group by village_code, period having count(*) >= ${deps.config.ratingMinGroupSize})`;
  return deps.db
    .select({ villageCode: serviceRatings.villageCode, period: serviceRatings.period, comment: sql<string>`${serviceRatings.comment}` })
    .from(serviceRatings)
    .where(and(...where, sql`${serviceRatings.comment} is not null`, big))
    .orderBy(asc(serviceRatings.villageCode), asc(serviceRatings.period), asc(serviceRatings.comment))
    .limit(1000);
}

/** Erasure: that an erased person once rated (the spent links naming them) goes; the anonymous ratings stay. */
export async function eraseSpentRatingTokens(tx: Db, personIds: string[]): Promise<void> {
  await tx.delete(spentRatingTokens).where(inArray(spentRatingTokens.personId, personIds));
}
