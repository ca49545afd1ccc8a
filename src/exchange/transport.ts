import crypto from 'node:crypto';
import { lt, sql } from 'drizzle-orm';
import type { NextFunction, Request, Response } from 'express';
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { auditStandalone } from '../audit/service';
import type { Db } from '../db/client';
import type { Deps } from '../deps';
import { agreementInForce, findPartner, notePartnerContact, partnerSigningKey, type Partner } from '../partners/service';
import type { Caller, PartnerActor } from '../policy/actor';
import { headerProblem } from './envelope';
import { clip, type AuthFailure } from './reasons';
import { seenTokens } from './tables';

export const TRANSPORT_TYP = 'hl-req+jwt';
/** Longest a transport token may live (exp - iat). */
export const MAX_TOKEN_LIFETIME_SECONDS = 300;
export const CLOCK_TOLERANCE_SECONDS = 30;
/** What our own tokens live: short, well under the maximum. */
const OWN_TOKEN_LIFETIME_SECONDS = 60;

/**
 * Signs a transport token for a request to a partner: `iss` = `sub` = our county, `aud` = theirs, a fresh `jti`,
 * signed with our current EXCHANGE key.
 */
export async function signTransportToken(deps: Deps, partnerCode: string): Promise<string> {
  const key = await deps.keys.signingKey('EXCHANGE');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TRANSPORT_TYP })
    .setIssuer(deps.config.countyCode)
    .setSubject(deps.config.countyCode)
    .setAudience(partnerCode)
    .setIssuedAt(now)
    .setExpirationTime(now + OWN_TOKEN_LIFETIME_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(key.key);
}

export type TransportResult =
  | { ok: true; partner: Partner }
  | { ok: false; status: 401 | 403; reason: AuthFailure; detail: string; claimedIss: string | null; verified: boolean };

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function fail(reason: AuthFailure, detail: string, claimedIss: string | null = null, verified = false, status: 401 | 403 = 401): TransportResult {
  return { ok: false, status, reason, detail, claimedIss, verified };
}

/** Maps jose's verification errors onto our reasons. */
function joseFailure(e: unknown, iss: string): TransportResult {
  if (e instanceof errors.JWSSignatureVerificationFailed) return fail('BAD_SIGNATURE', 'signature does not verify', iss);
  if (e instanceof errors.JWTExpired) return fail('TOKEN_EXPIRED', e.message, iss);
  if (e instanceof errors.JWTClaimValidationFailed) {
    const early = e.claim === 'nbf' || (e.claim === 'iat' && /in the past/.test(e.message));
    return fail(early ? 'TOKEN_NOT_YET_VALID' : 'CLAIMS_INVALID', e.message, iss);
  }
  if (e instanceof errors.JOSEError || e instanceof TypeError || e instanceof SyntaxError) return fail('TOKEN_MALFORMED', (e as Error).message, iss);
  throw e;
}

/**
 * Authenticates a request from a partner county (docs/exchange-protocol.md, "Transport authentication"). The key
 * comes only from our registry for the token's `iss`; the replay check is a row in the database, so two
 * concurrent requests with the same `jti` cannot both pass, on any number of instances.
 */
export async function authenticateTransport(deps: Deps, authorization: string | undefined): Promise<TransportResult> {
  if (!authorization) return fail('TOKEN_MISSING', 'no Authorization header');
  const token = /^Bearer ([^\s]+)$/i.exec(authorization)?.[1];
  if (!token || !COMPACT.test(token)) return fail('TOKEN_MALFORMED', 'not "Bearer <compact JWS>"');
  let header: ProtectedHeaderParameters;
  let unverified: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch (e) {
    return fail('TOKEN_MALFORMED', e instanceof Error ? e.message : 'undecodable');
  }
  const claimedIss = typeof unverified.iss === 'string' ? unverified.iss : null;
  const problem = headerProblem(header, TRANSPORT_TYP);
  if (problem) return fail('UNSUPPORTED_HEADER', problem, claimedIss);
  if (!claimedIss || !/^\d{6}$/.test(claimedIss)) return fail('CLAIMS_INVALID', 'iss is not a county code', claimedIss);
  const partner = await findPartner(deps.db, claimedIss);
  if (!partner) return fail('ISSUER_UNKNOWN', 'iss is not a registered partner', claimedIss);
  const key = await partnerSigningKey(deps, claimedIss, header.kid!);
  if (!key) return fail('KEY_UNKNOWN', `no published key ${header.kid}`, claimedIss);
  if (key.alg !== header.alg) return fail('ALG_MISMATCH', `key is ${key.alg}, header says ${header.alg}`, claimedIss);
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(token, key.key, {
      algorithms: [key.alg],
      issuer: claimedIss,
      subject: claimedIss,
      audience: deps.config.countyCode,
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_TOKEN_LIFETIME_SECONDS,
    }));
  } catch (e) {
    return joseFailure(e, claimedIss);
  }
  const verifiedFail = (reason: AuthFailure, detail: string, status: 401 | 403 = 401) => fail(reason, detail, claimedIss, true, status);
  if (typeof claims.aud !== 'string') return verifiedFail('CLAIMS_INVALID', 'aud must be a single county code');
  if (typeof claims.jti !== 'string' || claims.jti.length < 1 || claims.jti.length > 128) return verifiedFail('CLAIMS_INVALID', 'jti must be a string of 1-128 characters');
  const { exp, iat } = claims as { exp: number; iat: number };
  if (exp <= iat) return verifiedFail('CLAIMS_INVALID', 'exp must be after iat');
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) return verifiedFail('LIFETIME_TOO_LONG', `exp - iat = ${exp - iat} s`);
  if (!agreementInForce(partner)) return verifiedFail('PARTNER_INACTIVE', `agreement ${partner.status} ${partner.validFrom}..${partner.validTo}`, 403);
  if (!(await rememberToken(deps.db, claimedIss, claims.jti, exp))) return verifiedFail('TOKEN_REPLAYED', `jti ${claims.jti} already used`);
  await notePartnerContact(deps.db, claimedIss, 'seen');
  return { ok: true, partner };
}

/** Stores the token id until the token expires (plus tolerance); false if this issuer already used it. */
async function rememberToken(db: Db, issuer: string, jti: string, exp: number): Promise<boolean> {
  const expiresAt = new Date((exp + CLOCK_TOLERANCE_SECONDS) * 1000);
  const inserted = await db.insert(seenTokens).values({ issuer, jti, expiresAt }).onConflictDoNothing().returning({ jti: seenTokens.jti });
  return inserted.length === 1;
}

/** Token ids past their expiry can no longer be replayed (the token is refused as expired): forget them. */
export async function purgeSeenTokens(db: Db): Promise<number> {
  const gone = await db.delete(seenTokens).where(lt(seenTokens.expiresAt, sql`now()`)).returning({ jti: seenTokens.jti });
  return gone.length;
}

const PURGE_EVERY_MS = 60_000;
let lastPurge = 0;

export interface ExchangeLocals {
  partner: Partner;
  caller: Caller;
}

/** Express middleware for every /exchange/v1 request: 401/403 with an opaque body, the reason to the log and audit. */
export function requirePartner(deps: Deps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const result = await authenticateTransport(deps, req.get('authorization'));
    if (Date.now() - lastPurge > PURGE_EVERY_MS) {
      lastPurge = Date.now();
      await purgeSeenTokens(deps.db);
    }
    if (!result.ok) {
      const actor: Caller['actor'] = result.verified && result.claimedIss ? { kind: 'partner', countyCode: result.claimedIss } : { kind: 'anonymous' };
      const caller: Caller = { actor, ip: req.ip, requestId: req.id };
      // Everything but the reason comes from the request: kept, but bounded.
      const details = {
        reason: result.reason,
        detail: clip(result.detail),
        claimedIss: result.claimedIss === null ? null : clip(result.claimedIss, 20),
        method: clip(req.method, 20),
        path: clip(req.path, 200),
      };
      req.log.warn(details, 'exchange request refused');
      await auditStandalone(deps.db, caller, { action: 'exchange.authenticate', outcome: 'DENIED', details });
      if (result.status === 401) res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      res.status(result.status).json({ error: result.status === 401 ? 'unauthorized' : 'forbidden' });
      return;
    }
    const actor: PartnerActor = { kind: 'partner', countyCode: result.partner.countyCode };
    const locals: ExchangeLocals = { partner: result.partner, caller: { actor, ip: req.ip, requestId: req.id } };
    res.locals.exchange = locals;
    next();
  };
}
