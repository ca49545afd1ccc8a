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

/** JSON with object keys sorted, so a value hashes the same after a round trip through jsonb. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
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
  return crypto.createHash('sha256').update(material).digest('hex');
}
