import crypto from 'node:crypto';
import { CompactSign, compactVerify, decodeProtectedHeader, type CryptoKey, type ProtectedHeaderParameters } from 'jose';
import { z } from 'zod';
import { canonicalJson } from '../audit/chain';
import type { SigningAlg, SigningKey } from '../keys/keystore';
import { parseBody, text, type RecordBody } from './bodies';
import { protocolDate } from '../calendar';
import { isRecordType, type RecordType } from './record-types';
import type { Rejection } from './reasons';
import { residentIdProblem } from './resident-id';

export const RECORD_TYP = 'hl-record+jws';
export const RECORD_VERSION = 1;
/** Signature algorithms of the exchange; a key has exactly one, and a token or record must use that one. */
export const EXCHANGE_ALGS: readonly SigningAlg[] = ['ES256', 'EdDSA'];
/** Our keys' ids are RFC 7638 SHA-256 thumbprints: 43 base64url characters. */
export const KID_SHAPE = /^[A-Za-z0-9_-]{43}$/;
/** No honest record comes near this; it bounds the work an oversized one can cause. */
export const MAX_RECORD_CHARS = 32_768;

const ALLOWED_HEADER_MEMBERS = new Set(['alg', 'kid', 'typ']);

/** The signed content of a record (docs/exchange-protocol.md, "Record envelope"). */
export interface RecordEnvelope<T extends RecordType = RecordType> {
  v: typeof RECORD_VERSION;
  id: string;
  iss: string;
  aud: string;
  type: T;
  iat: number;
  subject: { idNumber: string; name: string };
  ref?: string;
  body: RecordBody<T>;
}

export type VerificationKey = { alg: SigningAlg; key: CryptoKey };
export type KeyLookup = (kid: string) => Promise<VerificationKey | undefined>;

/**
 * Why a protected header (of a record or a transport token) is unacceptable, or null. Exactly `alg`, `kid` and
 * `typ` are allowed: anything else (jku, x5u, jwk, x5c, crit, b64...) would let the sender steer verification.
 */
export function headerProblem(header: ProtectedHeaderParameters, typ: string): string | null {
  const extra = Object.keys(header).filter((k) => !ALLOWED_HEADER_MEMBERS.has(k));
  if (extra.length > 0) return `header members not allowed: ${extra.join(', ')}`;
  if (header.typ !== typ) return `typ must be ${typ}`;
  if (typeof header.alg !== 'string' || !(EXCHANGE_ALGS as readonly string[]).includes(header.alg)) return `alg ${String(header.alg)} not allowed`;
  if (typeof header.kid !== 'string' || !KID_SHAPE.test(header.kid)) return 'kid missing or not a key thumbprint';
  return null;
}

export async function signRecord<T extends RecordType>(key: SigningKey, envelope: RecordEnvelope<T>): Promise<string> {
  return new CompactSign(new TextEncoder().encode(JSON.stringify(envelope)))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RECORD_TYP })
    .sign(key.key);
}

const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Checks a record's header and signature with a key from `lookup`; returns the kid and the decoded payload. */
export async function verifyRecordSignature(
  jws: unknown,
  lookup: KeyLookup,
): Promise<{ ok: true; kid: string; payload: unknown } | ({ ok: false } & Rejection)> {
  if (typeof jws !== 'string' || !COMPACT.test(jws)) return { ok: false, reason: 'MALFORMED_JWS', detail: 'not a compact JWS' };
  if (jws.length > MAX_RECORD_CHARS) return { ok: false, reason: 'RECORD_TOO_LARGE', detail: `over ${MAX_RECORD_CHARS} characters` };
  let header: ProtectedHeaderParameters;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return { ok: false, reason: 'MALFORMED_JWS', detail: 'protected header is not base64url JSON' };
  }
  const problem = headerProblem(header, RECORD_TYP);
  if (problem) return { ok: false, reason: 'UNSUPPORTED_HEADER', detail: problem };
  const kid = header.kid!;
  const key = await lookup(kid);
  if (!key) return { ok: false, reason: 'UNKNOWN_KEY', detail: `no published key ${kid}` };
  if (key.alg !== header.alg) return { ok: false, reason: 'ALG_MISMATCH', detail: `key ${kid} is ${key.alg}, header says ${header.alg}` };
  let bytes: Uint8Array;
  try {
    bytes = (await compactVerify(jws, key.key, { algorithms: [key.alg] })).payload;
  } catch {
    return { ok: false, reason: 'BAD_SIGNATURE', detail: 'signature does not verify' };
  }
  try {
    return { ok: true, kid, payload: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown };
  } catch {
    return { ok: false, reason: 'MALFORMED_ENVELOPE', detail: 'payload is not UTF-8 JSON' };
  }
}

const Uuid = z.uuid();
const CountyCode = z.string().regex(/^\d{6}$/);
const Envelope = z.strictObject({
  v: z.literal(RECORD_VERSION),
  id: Uuid,
  iss: CountyCode,
  aud: CountyCode,
  type: z.string(),
  // Up to 2100-01-01: a sane instant, so it always converts to a timestamp.
  iat: z.int().min(0).max(4_102_444_800),
  subject: z.strictObject({ idNumber: z.string(), name: text(50) }),
  ref: Uuid.optional(),
  body: z.unknown(),
});

/**
 * Checks a decoded payload is a well-formed record: envelope, known type, valid subject, `ref` where the type needs
 * one, body per type. Whether the issuer, audience and type suit the agreement is the inbox's business.
 */
export function parseRecordPayload(payload: unknown): { ok: true; record: RecordEnvelope } | ({ ok: false } & Rejection) {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: 'MALFORMED_ENVELOPE', detail: 'payload is not a JSON object' };
  }
  const v = (payload as { v?: unknown }).v;
  if (v !== RECORD_VERSION) return { ok: false, reason: 'UNSUPPORTED_VERSION', detail: `v is ${JSON.stringify(v ?? null)}` };
  const env = Envelope.safeParse(payload);
  if (!env.success) {
    const issue = env.error.issues[0]!;
    return { ok: false, reason: 'MALFORMED_ENVELOPE', detail: `${issue.path.join('.') || 'payload'}: ${issue.message}` };
  }
  const { type, subject, ref, body, iat } = env.data;
  if (!isRecordType(type)) return { ok: false, reason: 'UNKNOWN_TYPE', detail: `type ${type}` };
  const idProblem = residentIdProblem(subject.idNumber);
  if (idProblem) return { ok: false, reason: 'INVALID_SUBJECT', detail: `subject.idNumber ${idProblem}` };
  if (type === 'INQUIRY_REPLY' && ref === undefined) return { ok: false, reason: 'MISSING_REF', detail: 'an INQUIRY_REPLY names the inquiry in ref' };
  const parsed = parseBody(type, body, protocolDate(new Date(iat * 1000)));
  if (!parsed.ok) return { ok: false, reason: 'MALFORMED_BODY', detail: parsed.message };
  return { ok: true, record: { ...env.data, type, body: parsed.body } as RecordEnvelope };
}

/** Signature and content in one: what re-verifying a stored record means. */
export async function openRecord(jws: string, lookup: KeyLookup): Promise<{ ok: true; kid: string; record: RecordEnvelope } | ({ ok: false } & Rejection)> {
  const verified = await verifyRecordSignature(jws, lookup);
  if (!verified.ok) return verified;
  const parsed = parseRecordPayload(verified.payload);
  return parsed.ok ? { ok: true, kid: verified.kid, record: parsed.record } : parsed;
}

/**
 * Keyed hash of a record's content (canonical JSON of its payload, keys sorted), so "same id, same content" is
 * recognised even if the issuer re-signed or re-serialised it.
 */
export function contentHmac(hmac: (value: string) => string, payload: unknown): string {
  return hmac(`record-content:${canonicalJson(payload)}`);
}

export function newRecordId(): string {
  return crypto.randomUUID();
}
