/**
 * Why a record was REJECTED: the stable codes of receipts (docs/exchange-protocol.md lists them with their meaning).
 * Codes are part of the contract: add new ones, never rename.
 */
export const REJECTION_REASONS = [
  'MALFORMED_JWS',
  'RECORD_TOO_LARGE',
  'UNSUPPORTED_HEADER',
  'UNKNOWN_KEY',
  'ALG_MISMATCH',
  'BAD_SIGNATURE',
  'UNSUPPORTED_VERSION',
  'MALFORMED_ENVELOPE',
  'ISS_MISMATCH',
  'AUD_MISMATCH',
  'UNKNOWN_TYPE',
  'TYPE_NOT_ALLOWED',
  'INVALID_SUBJECT',
  'MISSING_REF',
  'MALFORMED_BODY',
  'ID_REUSED',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/**
 * Receipt reasons of this registry's own refusals, added as the protocol allows (senders treat every REJECTED
 * alike): an applier found the record impossible to take for the person it is about. docs/exchange-protocol.md,
 * section 8, lists them with their meaning.
 */
export const REGISTRY_REJECTION_REASONS = [
  'PERSON_WITHDRAWN',
  'PERSON_NOT_AWAY',
  'PERIOD_ALREADY_REPORTED',
  'UNKNOWN_INQUIRY',
  'INQUIRY_NOT_OPEN',
  'SUBJECT_MISMATCH',
  'REGISTRY_REFUSED',
  'STORAGE_REFUSED',
] as const;
export type RegistryRejectionReason = (typeof REGISTRY_REJECTION_REASONS)[number];

/** Longest free-text detail kept in an audit entry: details can quote what a partner (or an attacker) sent. */
export const MAX_AUDIT_DETAIL_CHARS = 300;

const CONTROL = /[\u0000-\u001F\u007F-\u009F]/g;

/**
 * A detail string fit for the audit table and the log: control characters written as `\uXXXX` (a NUL would make
 * the audit row, a jsonb value, fail and take the whole request with it) and cut to a bounded size.
 */
export function clip(value: string, max = MAX_AUDIT_DETAIL_CHARS): string {
  const safe = value.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length <= max ? safe : `${safe.slice(0, max)}... (${safe.length} chars)`;
}

export interface Rejection {
  reason: RejectionReason;
  /** For our log and audit only; never sent to the partner. */
  detail: string;
}

/**
 * Why a transport token was refused. Never sent to the caller (it gets an opaque 401/403); the log and the audit
 * table keep it.
 */
export const AUTH_FAILURES = [
  'TOKEN_MISSING',
  'TOKEN_MALFORMED',
  'UNSUPPORTED_HEADER',
  'ISSUER_UNKNOWN',
  'KEY_UNKNOWN',
  'ALG_MISMATCH',
  'BAD_SIGNATURE',
  'CLAIMS_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_NOT_YET_VALID',
  'LIFETIME_TOO_LONG',
  'TOKEN_REPLAYED',
  'PARTNER_INACTIVE',
  'NOT_ALLOWED',
] as const;
export type AuthFailure = (typeof AUTH_FAILURES)[number];
