import { index, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import type { JWK } from 'jose';

export const KEY_PURPOSES = ['SESSION', 'EXCHANGE'] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];

/**
 * This county's own signing keys. The private half is encrypted with the data key. A key is published from
 * `createdAt`, signs from `signsFrom` (a rotation sets this a grace period ahead) and stops being published at `retiredAt`.
 */
export const signingKeys = pgTable(
  'signing_keys',
  {
    kid: text().primaryKey(),
    purpose: text({ enum: KEY_PURPOSES }).notNull(),
    alg: text({ enum: ['ES256', 'EdDSA'] }).notNull(),
    publicJwk: jsonb().$type<JWK>().notNull(),
    privateJwkEnc: text().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    signsFrom: timestamp({ withTimezone: true }).notNull(),
    retiredAt: timestamp({ withTimezone: true }),
  },
  (t) => [index('signing_keys_purpose_idx').on(t.purpose, t.signsFrom)],
);
