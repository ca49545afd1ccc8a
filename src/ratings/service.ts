import { and, asc, eq, sql, type SQL } from 'drizzle-orm';
import { loadAgreement } from '../agreements/service';
import { associationIdsOf } from '../associations/service';
import { appendAudit } from '../audit/service';
import { todayIn } from '../calendar';
import type { Deps } from '../deps';
import { badInput, conflict, isAppError } from '../errors';
import { optionalText } from '../people/validation';
import type { Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import { scopeConditions } from '../policy/scope-sql';
import { parsePeriod } from '../reports/periods';
import { serviceRatings, spentRatingTokens } from './tables';
import { signRatingToken, verifyRatingToken } from './tokens';

export interface RatingLink {
  token: string;
  link: string;
  expiresAt: Date;
}

function requireStartedPeriod(deps: Deps, raw: string): string {
  const p = parsePeriod(raw);
  if (!p) throw badInput('period', 'use 2026-11 (month), 2026-Q3 (quarter) or 2026-H2 (half-year)');
  if (p.start > todayIn(deps.config.timeZone)) throw badInput('period', 'cannot rate a period that has not started');
  return p.label;
}

/** Issues a link without a policy check or audit: for callers that did both (the reminder job, the mutation). */
export async function ratingLinkFor(deps: Deps, agreementId: string, period: string): Promise<RatingLink> {
  const { token, expiresAt } = await signRatingToken(deps.keys, deps.config, agreementId, period);
  return { token, expiresAt, link: `${deps.config.ratingLinkBaseUrl}?token=${token}` };
}

/**
 * A single-use link for the person to rate their village official's service for a period: issued by that official,
 * by staff of an association the person belongs to, or by the reminder job.
 */
export async function issueRatingLink(deps: Deps, caller: Caller, agreementId: string, rawPeriod: string): Promise<RatingLink> {
  const period = requireStartedPeriod(deps, rawPeriod);
  const a = await loadAgreement(deps.db, agreementId);
  authorize(caller.actor, 'ratingLink.issue', { villageCode: a.villageCode, associationIds: await associationIdsOf(deps.db, a.personId) });
  if (a.status !== 'ACTIVE') throw conflict(`the agreement is ${a.status}; rating links are for active agreements`);
  const link = await ratingLinkFor(deps, a.id, period);
  await deps.db.transaction((tx) => appendAudit(tx, caller, { action: 'ratingLink.issue', targetType: 'Agreement', targetId: a.id, details: { period } }));
  return link;
}

/**
 * Accepts one rating per link (its token id is recorded) and per agreement and period. No sign-in: the link is the
 * credential. What is stored names the village, official and period, never the person.
 */
export async function submitRating(deps: Deps, caller: Caller, token: string, score: number, rawComment?: string | null): Promise<boolean> {
  if (!Number.isInteger(score) || score < 1 || score > 5) throw badInput('score', 'a whole number from 1 to 5');
  const comment = optionalText('comment', rawComment, 500) ?? null;
  const claims = await verifyRatingToken(deps.keys, deps.config, token);
  if (!claims) throw badInput('token', 'this rating link is not valid or has expired');
  return deps.db.transaction(async (tx) => {
    const a = await loadAgreement(tx, claims.agreementId).catch((e: unknown) => {
      throw isAppError(e) ? badInput('token', 'this rating link is not valid or has expired') : e;
    });
    const [spent] = await tx
      .insert(spentRatingTokens)
      .values({ jti: claims.jti, agreementId: a.id, period: claims.period, expiresAt: claims.expiresAt })
      .onConflictDoNothing()
      .returning({ jti: spentRatingTokens.jti });
    if (!spent) throw conflict('this rating link has already been used (one rating per agreement and period)');
    await tx.insert(serviceRatings).values({
      villageCode: a.villageCode,
      townCode: a.townCode,
      officialUserId: a.officialUserId,
      period: claims.period,
      score,
      comment,
      submittedOn: todayIn(deps.config.timeZone),
    });
    await appendAudit(tx, caller, { action: 'rating.submit', targetType: 'Division', targetId: a.villageCode, details: { period: claims.period } });
    return true;
  });
}

export interface RatingFilter {
  period?: string | null;
  villageCode?: string | null;
  townCode?: string | null;
}

export interface RatingGroup {
  villageCode: string;
  period: string;
  count: number;
  average: number;
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

/** Ratings per village and rated period. The caller shows a group's figures only when it is large enough. */
export async function ratingGroups(deps: Deps, caller: Caller, f: RatingFilter): Promise<RatingGroup[]> {
  return deps.db
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
}

export interface RatingCommentRow {
  villageCode: string;
  period: string;
  comment: string;
}

/** Comments for supervisors: the text, village and period only (no score, no date, no order that hints at who). */
export async function ratingComments(deps: Deps, caller: Caller, f: RatingFilter): Promise<RatingCommentRow[]> {
  return deps.db
    .select({ villageCode: serviceRatings.villageCode, period: serviceRatings.period, comment: sql<string>`${serviceRatings.comment}` })
    .from(serviceRatings)
    .where(and(...ratingWhere(caller, 'rating.comments', f), sql`${serviceRatings.comment} is not null`))
    .orderBy(asc(serviceRatings.villageCode), asc(serviceRatings.period), asc(serviceRatings.id))
    .limit(1000);
}
