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
