import { sql } from 'drizzle-orm';
import { bigint, boolean, check, date, index, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import type { JWK } from 'jose';
import { ACTOR_TYPES } from '../audit/tables';
import type { ExchangedType } from '../exchange/record-types';

export const PARTNER_STATUSES = ['ACTIVE', 'SUSPENDED', 'ENDED'] as const;
export type PartnerStatus = (typeof PARTNER_STATUSES)[number];

export const PARTNER_KEY_ALGS = ['ES256', 'EdDSA'] as const;
export type PartnerKeyAlg = (typeof PARTNER_KEY_ALGS)[number];

/**
 * A partner county and the bilateral management agreement with it (流动人口双向管理协议书): which record types may
 * come in and go out, whether it may look people up, and for which dates. Liaison contacts belong to the registry
 * core and will reference `county_code`.
 */
export const partners = pgTable(
  'partners',
  {
    /** The partner's 6-digit GB/T 2260 county code: its `iss` in every token and record. */
    countyCode: text().primaryKey(),
    name: text().notNull(),
    /** Where its exchange endpoints live (`<baseUrl>/exchange/v1/...`). */
    baseUrl: text().notNull(),
    jwksUrl: text().notNull(),
    status: text({ enum: PARTNER_STATUSES }).notNull(),
    validFrom: date().notNull(),
    validTo: date().notNull(),
    /** Types the partner may send us. */
    inboundTypes: text().array().$type<ExchangedType[]>().notNull(),
    /** Types we may send the partner. */
    outboundTypes: text().array().$type<ExchangedType[]>().notNull(),
    /** Whether the partner may look up people who consented to sharing with it. */
    lookupAllowed: boolean().notNull().default(false),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** Last time its keys were loaded (fetched or pasted). */
    keysLoadedAt: timestamp({ withTimezone: true }),
    /** Last time an instance claimed an automatic JWKS refresh; the cooldown counts from here. */
    keysRefreshClaimedAt: timestamp({ withTimezone: true }),
    /** Last authenticated request from the partner. */
    lastSeenAt: timestamp({ withTimezone: true }),
    /** Last time the partner answered one of our pushes with 200. */
    lastReachedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    check('partners_county_code_shape', sql`${t.countyCode} ~ '^[0-9]{6}$'`),
    check('partners_valid_dates', sql`${t.validFrom} <= ${t.validTo}`),
  ],
);

/**
 * Every public key a partner ever published, kept forever so records stored years ago can be re-verified.
 * `published` says whether the partner still publishes it (as of the last refresh); only those authenticate
 * new requests and records.
 */
export const partnerKeys = pgTable(
  'partner_keys',
  {
    countyCode: text()
      .notNull()
      .references(() => partners.countyCode),
    /** RFC 7638 SHA-256 thumbprint of the key. */
    kid: text().notNull(),
    alg: text({ enum: PARTNER_KEY_ALGS }).notNull(),
    publicJwk: jsonb().$type<JWK>().notNull(),
    source: text({ enum: ['FETCHED', 'PASTED'] }).notNull(),
    published: boolean().notNull().default(true),
    firstSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastPublishedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.countyCode, t.kid] })],
);

/** Append-only (a trigger refuses UPDATE and DELETE): every action on a partner agreement, who did it and when. */
export const partnerHistory = pgTable(
  'partner_history',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    countyCode: text()
      .notNull()
      .references(() => partners.countyCode),
    action: text().notNull(),
    fromStatus: text({ enum: PARTNER_STATUSES }),
    toStatus: text({ enum: PARTNER_STATUSES }).notNull(),
    at: timestamp({ withTimezone: true, precision: 3 }).notNull().defaultNow(),
    actorType: text({ enum: ACTOR_TYPES }).notNull(),
    actorId: text(),
    actorRole: text(),
    note: text(),
    /** What changed (field names and new values; never personal data). */
    changes: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index('partner_history_county_idx').on(t.countyCode, t.id)],
);
