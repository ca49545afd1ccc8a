import { sql } from 'drizzle-orm';
import { bigint, date, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { users } from '../auth/tables';
import { people } from '../people/tables';

export const ASSOCIATION_STATUSES = ['ACTIVE', 'CLOSED'] as const;
export type AssociationStatus = (typeof ASSOCIATION_STATUSES)[number];
export const MEMBER_ROLES = ['MEMBER', 'VOLUNTEER'] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];
export const MEMBERSHIP_STATUSES = ['ACTIVE', 'LEFT'] as const;
export type MembershipStatus = (typeof MEMBERSHIP_STATUSES)[number];
export const LEAVE_REASONS = ['LEFT', 'CONSENT_WITHDRAWN', 'RETURNED_HOME'] as const;
export type LeaveReason = (typeof LEAVE_REASONS)[number];

/** A hometown association in a destination city (e.g. hosted by the Suining chamber of commerce in Suzhou). */
export const associations = pgTable('associations', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  /** Division code of the host city or district (GB/T 2260, 6 digits). */
  hostCityCode: text().notNull(),
  hostChamber: text(),
  contactName: text(),
  contactPhone: text(),
  status: text({ enum: ASSOCIATION_STATUSES }).notNull().default('ACTIVE'),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/**
 * A person's membership of an association. The consent behind it lives in `consents` (ASSOCIATION_MEMBERSHIP,
 * scope = association id); leaving, withdrawing that consent or returning home sets `leftAt`. Erasure deletes the rows.
 */
export const associationMembers = pgTable(
  'association_members',
  {
    id: uuid().primaryKey().defaultRandom(),
    associationId: uuid()
      .notNull()
      .references(() => associations.id),
    personId: uuid()
      .notNull()
      .references(() => people.id, { onDelete: 'cascade' }),
    role: text({ enum: MEMBER_ROLES }).notNull().default('MEMBER'),
    status: text({ enum: MEMBERSHIP_STATUSES }).notNull().default('ACTIVE'),
    joinedOn: date({ mode: 'string' }).notNull(),
    addedBy: uuid().references(() => users.id),
    leftAt: timestamp({ withTimezone: true }),
    leftReason: text({ enum: LEAVE_REASONS }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('association_members_active_uq').on(t.associationId, t.personId).where(sql`${t.status} = 'ACTIVE'`),
    index('association_members_list_idx').on(t.associationId, t.status, t.id),
    index('association_members_person_idx').on(t.personId),
  ],
);

/** Append-only history of every action on a membership (who, role, when). */
export const membershipEvents = pgTable(
  'membership_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    membershipId: uuid()
      .notNull()
      .references(() => associationMembers.id, { onDelete: 'cascade' }),
    action: text().notNull(),
    actorType: text().notNull(),
    actorId: text(),
    actorRole: text(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    details: jsonb().$type<Record<string, unknown>>(),
  },
  (t) => [index('membership_events_membership_idx').on(t.membershipId, t.id)],
);
