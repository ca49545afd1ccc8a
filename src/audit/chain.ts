import crypto from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);

export interface ChainedFields {
  at: Date;
  actorType: string;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  ip: string | null;
  requestId: string | null;
  details: Record<string, unknown> | null;
  prevHash: string;
}

/**
 * JSON with object keys sorted, so a value hashes the same after a round trip through jsonb. Written as one string
 * built in place (no entry arrays per object): every audit entry and every inbound record goes through it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, as the `<` ordering did.
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

export function entryHash(e: ChainedFields): string {
  const material = canonicalJson([
    e.at.toISOString(),
    e.actorType,
    e.actorId,
    e.actorRole,
    e.action,
    e.targetType,
    e.targetId,
    e.outcome,
    e.ip,
    e.requestId,
    e.details,
    e.prevHash,
  ]);
  return sha256Hex(material);
}

/** One-shot hashing (Node >= 20.12) spares a Hash object per entry; a batch writes hundreds of entries. */
const sha256Hex: (data: string) => string =
  typeof crypto.hash === 'function' ? (data) => crypto.hash('sha256', data, 'hex') : (data) => crypto.createHash('sha256').update(data).digest('hex');
