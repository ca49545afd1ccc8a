import { anyOfIds, lookupMany } from '../db/client';
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

/** One loader keyed by id: fetches a batch, returns results in key order (undefined where missing). */
function byKey<T, K extends string>(fetch: (keys: readonly K[]) => Promise<T[]>, keyOf: (row: T) => K) {
  return new DataLoader<K, T | undefined>(async (keys) => {
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
    for (const r of rows) map.set(keyOf(r), [...(map.get(keyOf(r)) ?? []), r]);
    return keys.map((k) => map.get(k) ?? []);
  });
}

/**
 * Per-request batching: a page of N records resolves each kind of related record in one query, so the number of
 * queries does not grow with the page size.
 */
export function createLoaders(deps: Deps) {
  const db = deps.db;
  let commitmentItems: Promise<CommitmentItem[]> | undefined;
  return {
    division: byKey<Division, string>((codes) => getDivisions(db, codes), (d) => d.code),
    user: byKey<User, string>((ids) => lookupMany(db, 'users_by_id', ids, (d) => d.select().from(users).where(anyOfIds(users.id)).prepare('users_by_id')), (u) => u.id),
    person: byKey<Person, string>((ids) => loadPeople(db, ids), (p) => p.id),
    association: byKey<Association, string>((ids) => loadAssociations(db, ids), (a) => a.id),
    agreement: byKey<Agreement, string>((ids) => loadAgreements(db, ids), (a) => a.id),
    report: byKey<StatusReport, string>((ids) => loadReports(db, ids), (r) => r.id),
    liaison: byKey<LiaisonContact, string>(
      (ids) => lookupMany(db, 'liaisons_by_id', ids, (d) => d.select().from(liaisonContacts).where(anyOfIds(liaisonContacts.id)).prepare('liaisons_by_id')),
      (l) => l.id,
    ),
    activeAgreementByPerson: byKey<Agreement, string>((ids) => activeAgreementsOf(db, ids), (a) => a.personId),
    lastReportByPerson: byKey<StatusReport, string>((ids) => lastReportsOf(db, ids), (r) => r.personId),
    dependantsByPerson: groupedBy<Dependant>((ids) => dependantsOf(db, ids), (d) => d.personId),
    consentsByPerson: groupedBy<Consent>((ids) => consentsOf(db, ids), (c) => c.personId),
    versionsByPerson: groupedBy<Agreement>((ids) => versionsOf(db, ids), (a) => a.personId),
    historyByAgreement: groupedBy<AgreementEvent>((ids) => agreementHistory(db, ids), (e) => e.agreementId),
    complaintsByAgreement: groupedBy<DepositComplaint>((ids) => complaintsOf(db, ids), (c) => c.agreementId),
    divisionChildren: groupedBy<Division>((codes) => childrenOf(db, codes), (d) => d.parentCode!),
    commitmentItems: () => (commitmentItems ??= listCommitmentItems(db)),
    partnerKeys: groupedBy<PartnerKey>((codes) => keysOfPartners(db, codes), (k) => k.countyCode),
    /** By `<countyCode>/<kid>`. */
    partnerHistoricalKey: new DataLoader<string, VerificationKey | undefined>((ids) => partnerHistoricalKeys(db, ids)),
    deliveryStats: new DataLoader<string, DeliveryStats>((codes) => deliveryStats(db, codes)),
    partnerHistory: groupedBy<PartnerHistoryEntry>((codes) => historyOfPartners(db, codes), (h) => h.countyCode),
    /** Active liaison contacts by county code. */
    liaisonsByCounty: groupedBy<LiaisonContact>((codes) => activeLiaisonsIn(db, codes), (l) => l.countyCode),
    notice: byKey<IncomingNotice, string>((ids) => loadNotices(db, ids), (n) => n.id),
    noticeHistory: groupedBy<IncomingNoticeEvent>((ids) => noticeHistory(db, ids), (e) => e.noticeId),
    inquiryHistory: groupedBy<InquiryEvent>((ids) => inquiryHistory(db, ids), (e) => e.inquiryId),
    inquiriesByPerson: groupedBy<Inquiry>((ids) => inquiriesAbout(db, 'personId', ids), (i) => i.personId!),
    inquiriesByNotice: groupedBy<Inquiry>((ids) => inquiriesAbout(db, 'noticeId', ids), (i) => i.noticeId!),
    servicesByPerson: groupedBy<ServiceDelivered>((ids) => servicesDeliveredTo(db, 'personId', ids), (s) => s.personId!),
    servicesByNotice: groupedBy<ServiceDelivered>((ids) => servicesDeliveredTo(db, 'noticeId', ids), (s) => s.noticeId!),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
