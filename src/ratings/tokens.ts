import crypto from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import { FORBIDDEN_KEY_HEADERS } from '../auth/tokens';
import type { Config } from '../config';
import type { KeyStore } from '../keys/keystore';

export const RATING_TOKEN_TYPE = 'hl-rating+jwt';

export interface RatingClaims {
  /** The agreement whose official's service is rated. */
  agreementId: string;
  period: string;
  jti: string;
  expiresAt: Date;
}

const issuer = (config: Config) => `urn:hometown-link:${config.countyCode}`;
const audience = (config: Config) => `urn:hometown-link:${config.countyCode}:rating`;

/**
 * Rating links are JWTs signed with this server's session keys, but with their own `typ` and audience so neither
 * kind of token is ever accepted as the other.
 */
export async function signRatingToken(keys: KeyStore, config: Config, agreementId: string, period: string): Promise<{ token: string; expiresAt: Date }> {
  const key = await keys.signingKey('SESSION');
  const now = Math.floor(Date.now() / 1000);
  const exp = now + config.ratingLinkTtlDays * 86_400;
  const token = await new SignJWT({ per: period })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RATING_TOKEN_TYPE })
    .setSubject(agreementId)
    .setIssuer(issuer(config))
    .setAudience(audience(config))
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(key.key);
  return { token, expiresAt: new Date(exp * 1000) };
}

/** The claims of a valid rating token; undefined for anything else (expired, tampered, foreign key, wrong type). */
export async function verifyRatingToken(keys: KeyStore, config: Config, token: string): Promise<RatingClaims | undefined> {
  try {
    const header = decodeProtectedHeader(token);
    if (FORBIDDEN_KEY_HEADERS.some((h) => h in header) || header.crit !== undefined || typeof header.kid !== 'string') return undefined;
    const key = await keys.verificationKey('SESSION', header.kid);
    if (!key) return undefined;
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['ES256', 'EdDSA'],
      issuer: issuer(config),
      audience: audience(config),
      typ: RATING_TOKEN_TYPE,
      requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      maxTokenAge: config.ratingLinkTtlDays * 86_400 + 60,
      clockTolerance: 30,
    });
    if (typeof payload.per !== 'string' || !payload.jti || !payload.sub || !payload.exp) return undefined;
    return { agreementId: payload.sub, period: payload.per, jti: payload.jti, expiresAt: new Date(payload.exp * 1000) };
  } catch (e) {
    if (e instanceof errors.JOSEError || e instanceof TypeError || e instanceof SyntaxError) return undefined;
    throw e;
  }
}
