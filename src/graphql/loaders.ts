import { anyOfIds, lookupMany, type Db } from '../db/client';
import DataLoader from 'dataloader';
import { complaintsOf, type DepositComplaint } from '../agreements/complaints';
import { agreementHistory, type AgreementEvent } from '../agreements/history';
import { activeAgreementsOf, listCommitmentItems, loadAgreements, versionsOf, type Agreement, type CommitmentItem } from '../agreements/service';
import { loadAssociations, type Association } from '../associations/service';
import { users } from '../auth/tables';
import type { User } from '../auth/service';
import type { Deps } from '../deps';
import { deliveryStats, type DeliveryStats } from '../exchange/monitor';
import { childrenOf, getDivisions, type Division } from '../jurisdiction/divisions';
import { liaisonContacts } from '../liaisons/tables';
import type { LiaisonContact } from '../liaisons/service';
import { consentsOf, type Consent } from '../people/consent';
import { dependantsOf, loadPeople, type Dependant, type Person } from '../people/service';
import { lastReportsOf, loadReports, type StatusReport } from '../reports/service';
import type { VerificationKey } from '../exchange/envelope';
import { historyOfPartners, keysOfPartners, partnerHistoricalKeys, type PartnerHistoryEntry, type PartnerKey } from '../partners/service';
import { servicesDeliveredTo, type ServiceDelivered } from '../assistance/service';
import { inquiriesAbout, inquiryHistory, type Inquiry, type InquiryEvent } from '../inquiries/service';
import { activeLiaisonsIn } from '../liaisons/service';
import { loadNotices, noticeHistory, type IncomingNotice, type IncomingNoticeEvent } from '../notices/service';

/**
 * A batch loader that a list page can also fill from its own statement (`give`): what it was given is answered at
 * once by `get`, without a promise, so graphql-js completes those fields synchronously; other keys are loaded in one
 * batch as usual. Giving only saves a statement: the values are the rows the loader would have fetched.
 */
export class PageLoader<K, V> extends DataLoader<K, V> {
  private readonly given = new Map<K, V>();

  give(key: K, value: V): void {
    this.given.set(key, value);
  }

  /** The value, or a promise of it when no page gave it. */
  get(key: K): V | Promise<V> {
    return this.given.has(key) ? (this.given.get(key) as V) : super.load(key);
  }

  override load(key: K): Promise<V> {
    return this.given.has(key) ? Promise.resolve(this.given.get(key) as V) : super.load(key);
  }
}

/** Applies `f` to a loaded value: at once when it is known, else when its batch arrives. */
export function mapLoaded<T, U>(value: T | Promise<T>, f: (v: T) => U): U | Promise<U> {
  return value instanceof Promise ? value.then(f) : f(value);
}

/** A loaded value, or null where there is none. */
export function orNull<T>(value: T | undefined | Promise<T | undefined>): T | null | Promise<T | null> {
  return mapLoaded(value, (v) => v ?? null);
}

/** One loader keyed by id: fetches a batch, returns results in key order (undefined where missing). */
function byKey<T, K extends string>(fetch: (keys: readonly K[]) => Promise<T[]>, keyOf: (row: T) => K) {
  return new PageLoader<K, T | undefined>(async (keys) => {
    const rows = await fetch(keys);
    const map = new Map(rows.map((r) => [keyOf(r), r]));
    return keys.map((k) => map.get(k));
  });
}

/** One loader keyed by parent id returning all children, grouped. */
function groupedBy<T>(fetch: (keys: readonly string[]) => Promise<T[]>, keyOf: (row: T) => string) {
  return new DataLoader<string, T[]>(async (keys) => {
    const rows = await fetch(keys);
    const map = new Map<string, T[]>();
    for (const r of rows) {
      const group = map.get(keyOf(r));
      if (group) group.push(r);
      else map.set(keyOf(r), [r]);
    }
    return keys.map((k) => map.get(k) ?? []);
  });
}

/**
 * How each per-request loader is made. A request uses two or three of them, so they are made on first use (see
 * createLoaders), not all thirty for every request.
 */
const makers = {
  division: (db: Db) => byKey<Division, string>((codes) => getDivisions(db, codes), (d) => d.code),
  user: (db: Db) => byKey<User, string>((ids) => lookupMany(db, 'users_by_id', ids, (d) => d.select().from(users).where(anyOfIds(users.id)).prepare('users_by_id')), (u) => u.id),
  person: (db: Db) => byKey<Person, string>((ids) => loadPeople(db, ids), (p) => p.id),
  association: (db: Db) => byKey<Association, string>((ids) => loadAssociations(db, ids), (a) => a.id),
  agreement: (db: Db) => byKey<Agreement, string>((ids) => loadAgreements(db, ids), (a) => a.id),
  report: (db: Db) => byKey<StatusReport, string>((ids) => loadReports(db, ids), (r) => r.id),
  liaison: (db: Db) =>
    byKey<LiaisonContact, string>(
      (ids) => lookupMany(db, 'liaisons_by_id', ids, (d) => d.select().from(liaisonContacts).where(anyOfIds(liaisonContacts.id)).prepare('liaisons_by_id')),
      (l) => l.id,
    ),
  activeAgreementByPerson: (db: Db) => byKey<Agreement, string>((ids) => activeAgreementsOf(db, ids), (a) => a.personId),
  lastReportByPerson: (db: Db) => byKey<StatusReport, string>((ids) => lastReportsOf(db, ids), (r) => r.personId),
  dependantsByPerson: (db: Db) => groupedBy<Dependant>((ids) => dependantsOf(db, ids), (d) => d.personId),
  consentsByPerson: (db: Db) => groupedBy<Consent>((ids) => consentsOf(db, ids), (c) => c.personId),
  versionsByPerson: (db: Db) => groupedBy<Agreement>((ids) => versionsOf(db, ids), (a) => a.personId),
  historyByAgreement: (db: Db) => groupedBy<AgreementEvent>((ids) => agreementHistory(db, ids), (e) => e.agreementId),
  complaintsByAgreement: (db: Db) => groupedBy<DepositComplaint>((ids) => complaintsOf(db, ids), (c) => c.agreementId),
  divisionChildren: (db: Db) => groupedBy<Division>((codes) => childrenOf(db, codes), (d) => d.parentCode!),
  commitmentItems: (db: Db) => {
    let items: Promise<CommitmentItem[]> | undefined;
    return () => (items ??= listCommitmentItems(db));
  },
  partnerKeys: (db: Db) => groupedBy<PartnerKey>((codes) => keysOfPartners(db, codes), (k) => k.countyCode),
  /** By `<countyCode>/<kid>`. */
  partnerHistoricalKey: (db: Db) => new DataLoader<string, VerificationKey | undefined>((ids) => partnerHistoricalKeys(db, ids)),
  deliveryStats: (db: Db) => new DataLoader<string, DeliveryStats>((codes) => deliveryStats(db, codes)),
  partnerHistory: (db: Db) => groupedBy<PartnerHistoryEntry>((codes) => historyOfPartners(db, codes), (h) => h.countyCode),
  /** Active liaison contacts by county code. */
  liaisonsByCounty: (db: Db) => groupedBy<LiaisonContact>((codes) => activeLiaisonsIn(db, codes), (l) => l.countyCode),
  notice: (db: Db) => byKey<IncomingNotice, string>((ids) => loadNotices(db, ids), (n) => n.id),
  noticeHistory: (db: Db) => groupedBy<IncomingNoticeEvent>((ids) => noticeHistory(db, ids), (e) => e.noticeId),
  inquiryHistory: (db: Db) => groupedBy<InquiryEvent>((ids) => inquiryHistory(db, ids), (e) => e.inquiryId),
  inquiriesByPerson: (db: Db) => groupedBy<Inquiry>((ids) => inquiriesAbout(db, 'personId', ids), (i) => i.personId!),
  inquiriesByNotice: (db: Db) => groupedBy<Inquiry>((ids) => inquiriesAbout(db, 'noticeId', ids), (i) => i.noticeId!),
  servicesByPerson: (db: Db) => groupedBy<ServiceDelivered>((ids) => servicesDeliveredTo(db, 'personId', ids), (s) => s.personId!),
  servicesByNotice: (db: Db) => groupedBy<ServiceDelivered>((ids) => servicesDeliveredTo(db, 'noticeId', ids), (s) => s.noticeId!),
} satisfies Record<string, (db: Db) => unknown>;

type Makers = typeof makers;
export type Loaders = { readonly [K in keyof Makers]: ReturnType<Makers[K]> };

/** The loaders' getters, defined once: each makes its loader on first use in a request and keeps it there. */
const loaderGetters = Object.create(null) as PropertyDescriptorMap;
for (const name of Object.keys(makers) as (keyof Makers)[]) {
  loaderGetters[name] = {
    get(this: { db: Db; made: Partial<Record<keyof Makers, unknown>> }) {
      return (this.made[name] ??= makers[name](this.db));
    },
  };
}
const loaderPrototype = Object.defineProperties({}, loaderGetters);

/**
 * Per-request batching: a page of N records resolves each kind of related record in one query, so the number of
 * queries does not grow with the page size.
 */
export function createLoaders(deps: Deps): Loaders {
  const set = Object.create(loaderPrototype) as { db: Db; made: Partial<Record<keyof Makers, unknown>> };
  set.db = deps.db;
  set.made = {};
  return set as unknown as Loaders;
}
