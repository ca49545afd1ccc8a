import { bigint, index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const ACTOR_TYPES = ['USER', 'PARTNER', 'SYSTEM', 'PUBLIC'] as const;
export const OUTCOMES = ['SUCCESS', 'DENIED', 'FAILURE'] as const;

/**
 * Append-only (a trigger refuses UPDATE and DELETE). Each row stores the hash of the previous row and its own hash
 * over its content, so an edited or removed row breaks the chain. Rows never hold personal data, only record ids.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp({ withTimezone: true, precision: 3 }).notNull(),
    actorType: text({ enum: ACTOR_TYPES }).notNull(),
    actorId: text(),
    actorRole: text(),
    action: text().notNull(),
    targetType: text(),
    targetId: text(),
    outcome: text({ enum: OUTCOMES }).notNull(),
    ip: text(),
    requestId: text(),
    details: jsonb().$type<Record<string, unknown>>(),
    prevHash: text().notNull(),
    hash: text().notNull(),
  },
  (t) => [
    // Only queryAudit's from/to filters read `at`, and it grows with `id` (stamped under the chain's lock), so a BRIN
    // index (a few pages; a row written rarely touches it) finds a time range here; a B-tree cost one more entry for
    // each of the ~2.5 rows the exchange ingest appends per record (docs/performance.md, "Exchange ingest").
    index('audit_log_at_idx').using('brin', t.at),
    index('audit_log_target_idx').on(t.targetType, t.targetId),
    index('audit_log_actor_idx').on(t.actorId),
    index('audit_log_action_idx').on(t.action),
  ],
);
