/**
 * Every PostgreSQL advisory lock key of the app, in one place: two jobs on one key take turns for nothing (the
 * reminder plan and the outbox publish step once shared 7_301_325). Add a new key here, never reuse one.
 *
 * A key only works if every instance uses the same one for the same job, so a key in use is never changed: an
 * instance of the previous release would no longer take turns with one of the next during a rolling deploy. Moving a
 * job to a new key is safe only if the job is correct when two runs overlap once (docs/operations.md, *Reminders*).
 *
 * Rating groups lock `hashtext(...)` of their village and period (ratings/service.ts) in the same one-key space; a
 * hash equal to one of these only makes the two take turns once.
 */
export const ADVISORY_LOCK = {
  /** Session lock while applying migrations (db/client.ts). */
  migrate: 7_301_320,
  /** The audit chain's inserts (audit/service.ts): the chain stays linear. */
  auditChain: 7_301_324,
  /** The exchange outbox's publish step (exchange/outbox.ts): pull numbers in commit order. */
  publishOutbox: 7_301_325,
  /** Claims of exchange deliveries (exchange/delivery.ts): one record per person in flight. */
  claimDeliveries: 7_301_326,
  /** The daily reminder plan (reminders/plan.ts): instances take turns, the day is planned once. */
  planReminders: 7_301_327,
} as const;
