import { calculateJwkThumbprint, importJWK, type JWK } from 'jose';
import type { ExchangeConfig } from '../config';
import { badInput } from '../errors';
import { fetchLimited, OutboundHttpError } from '../http/fetch-limited';
import type { PartnerKeyAlg } from './tables';

export interface PartnerJwk {
  kid: string;
  alg: PartnerKeyAlg;
  /** Public members only, plus kid, alg and use. */
  jwk: JWK;
}

const MAX_KEYS = 20;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** The algorithm a public key can sign with in the exchange, or null for keys we do not use (RSA, encryption...). */
function algOf(jwk: Record<string, unknown>): PartnerKeyAlg | null {
  if (jwk.use !== undefined && jwk.use !== 'sig') return null;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256' && (jwk.alg === undefined || jwk.alg === 'ES256')) return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && (jwk.alg === undefined || jwk.alg === 'EdDSA' || jwk.alg === 'Ed25519')) return 'EdDSA';
  return null;
}

/**
 * Reads a partner's JWKS (fetched or pasted): keeps its ES256 (P-256) and EdDSA (Ed25519) signing keys, whose kid
 * must be their RFC 7638 thumbprint. Refuses the whole set if a key carries private material or a wrong kid,
 * or if no usable key is left: half a key set is worse than the old one.
 */
export async function parseJwks(text: string, field = 'jwks'): Promise<PartnerJwk[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw badInput(field, 'not JSON');
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw badInput(field, 'not a JWKS: expected {"keys": [...]}');
  if (keys.length > MAX_KEYS) throw badInput(field, `more than ${MAX_KEYS} keys`);
  const out = new Map<string, PartnerJwk>();
  for (const raw of keys) {
    if (typeof raw !== 'object' || raw === null) throw badInput(field, 'a key is not an object');
    const jwk = raw as Record<string, unknown>;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw badInput(field, 'contains private key material; publish and paste only public keys');
    const alg = algOf(jwk);
    if (!alg) continue;
    const pub: JWK =
      jwk.kty === 'EC'
        ? { kty: 'EC', crv: String(jwk.crv), x: String(jwk.x), y: String(jwk.y) }
        : { kty: 'OKP', crv: String(jwk.crv), x: String(jwk.x) };
    try {
      await importJWK(pub, alg);
    } catch {
      throw badInput(field, `key ${String(jwk.kid ?? '(no kid)')} is not a valid ${alg} public key`);
    }
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    if (jwk.kid !== undefined && jwk.kid !== kid) throw badInput(field, `kid ${String(jwk.kid)} is not the key's RFC 7638 thumbprint (${kid})`);
    out.set(kid, { kid, alg, jwk: { ...pub, kid, alg, use: 'sig' } });
  }
  if (out.size === 0) throw badInput(field, 'no ES256 (P-256) or EdDSA (Ed25519) signing key in the set');
  return [...out.values()];
}

/** Fetches a partner's JWKS server-side, bounded in time and size; failures are the admin's to fix (BAD_USER_INPUT). */
export async function fetchJwks(url: string, config: ExchangeConfig): Promise<PartnerJwk[]> {
  let text: string;
  try {
    const res = await fetchLimited(url, { headers: { accept: 'application/jwk-set+json, application/json' } }, {
      timeoutMs: config.fetchTimeoutMs,
      maxBytes: config.jwksMaxBytes,
      allowHttp: config.allowHttp,
      allowPrivateAddresses: config.allowPrivateAddresses,
    });
    if (res.status !== 200) throw new OutboundHttpError(`answered HTTP ${res.status}`, res.status);
    text = res.text;
  } catch (e) {
    if (e instanceof OutboundHttpError) throw badInput('jwksUrl', `could not fetch the partner's JWKS: ${e.message}`);
    throw e;
  }
  return parseJwks(text, 'jwksUrl');
}
