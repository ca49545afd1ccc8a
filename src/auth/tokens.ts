import crypto from 'node:crypto';
import { SignJWT, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import type { KeyStore } from '../keys/keystore';
import type { Role } from './tables';

export const ACCESS_TOKEN_TYPE = 'hl-access+jwt';

export interface AccessClaims {
  sub: string;
  role: Role;
  scope: string | null;
  ver: number;
}

/** Headers that would let a token name its own key; we only ever use keys from our own store. */
export const FORBIDDEN_KEY_HEADERS = ['jku', 'x5u', 'jwk', 'x5c', 'x5t', 'x5t#S256'] as const;

/**
 * Verified tokens are remembered (bounded) until they expire: a signature checks out the same way every time. The
 * key that signed it may be retired meanwhile, so a hit is accepted only while its kid is still in the key set.
 */
const VERIFIED_CACHE_SIZE = 10_000;

type Verified = JWTPayload & AccessClaims;

export class TokenService {
  private verified = new Map<string, { claims: Verified; kid: string }>();

  constructor(
    private readonly keys: KeyStore,
    private readonly countyCode: string,
    private readonly ttlSeconds: number,
  ) {}

  private get issuer(): string {
    return `urn:hometown-link:${this.countyCode}`;
  }

  private get audience(): string {
    return `urn:hometown-link:${this.countyCode}:api`;
  }

  async issue(claims: AccessClaims): Promise<{ token: string; expiresAt: Date }> {
    const key = await this.keys.signingKey('SESSION');
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ role: claims.role, scope: claims.scope, ver: claims.ver })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: ACCESS_TOKEN_TYPE })
      .setSubject(claims.sub)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .setJti(crypto.randomUUID())
      .sign(key.key);
    return { token, expiresAt: new Date((now + this.ttlSeconds) * 1000) };
  }

  /** Returns the claims of a valid token, or undefined for anything else (expired, tampered, foreign key...). */
  async verify(token: string): Promise<Verified | undefined> {
    const known = this.verified.get(token);
    if (known) {
      // The key set is cached by the key store: a map lookup, no signature check.
      if ((known.claims.exp ?? 0) * 1000 > Date.now() && (await this.keys.verificationKey('SESSION', known.kid))) return known.claims;
      this.verified.delete(token);
    }
    const verified = await this.verifyUncached(token);
    if (!verified) return undefined;
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, verified);
    return verified.claims;
  }

  private async verifyUncached(token: string): Promise<{ claims: Verified; kid: string } | undefined> {
    try {
      const header = decodeProtectedHeader(token);
      if (FORBIDDEN_KEY_HEADERS.some((h) => h in header) || header.crit !== undefined) return undefined;
      if (typeof header.kid !== 'string') return undefined;
      const key = await this.keys.verificationKey('SESSION', header.kid);
      if (!key) return undefined;
      const { payload } = await jwtVerify<AccessClaims>(token, key, {
        algorithms: ['ES256', 'EdDSA'],
        issuer: this.issuer,
        audience: this.audience,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        maxTokenAge: this.ttlSeconds + 60,
        clockTolerance: 30,
      });
      // jose accepts an audience list containing ours; a token for us names only us.
      if (payload.aud !== this.audience) return undefined;
      if (typeof payload.role !== 'string' || typeof payload.ver !== 'number') return undefined;
      return { claims: payload as Verified, kid: header.kid };
    } catch (e) {
      if (e instanceof errors.JOSEError || e instanceof TypeError || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }
}
