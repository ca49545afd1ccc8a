import type { PgColumn } from 'drizzle-orm/pg-core';
import { agreements } from '../agreements/tables';
import { people } from '../people/tables';
import { statusReports } from '../reports/tables';

/**
 * A narrower selection of a table for a page: its columns, and the GraphQL fields of the table's type that read
 * nothing else of the row (the type's resolvers in people/, agreements/ and reports/resolvers.ts, its guard in
 * guards.ts, and the services given the row: the cursor, the loaders). A list page (people, overdueReports) reads these columns only
 * when the operation asks nothing else of that type anywhere (fieldsAskedByType): the rows go into the request's loaders,
 * where any part of the operation may meet them. test/people/page-columns.test.ts checks each field against the whole row.
 */
export interface PageColumns {
  columns: Record<string, PgColumn>;
  fields: ReadonlySet<string>;
}

/**
 * A person's list fields; not their ID number's ciphertext or keyed hash, nor the dates the page does not show. With
 * `erasedAt`, which a care visit's person reads of the row from the person loader (an overdue page fills it).
 */
export const PERSON_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: people.id,
    name: people.name,
    idNumberMasked: people.idNumberMasked,
    homeVillageCode: people.homeVillageCode,
    phone: people.phone,
    status: people.status,
    currentCountyCode: people.currentCountyCode,
    currentTown: people.currentTown,
    currentArea: people.currentArea,
    erasedAt: people.erasedAt,
  },
  fields: new Set(['id', 'name', 'idNumber', 'homeVillage', 'phone', 'status', 'currentPlace', 'dependants', 'consents', 'activeAgreement', 'agreements', 'lastReport', 'statusReports', 'reportStatus']),
};

/**
 * An agreement's terms and reporting state, not its signatures and commitments: with what dueState reads (a person's
 * or member's reportStatus) and what an overdue report reads of its agreement (its person, period, due date, cursor).
 */
export const AGREEMENT_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: agreements.id,
    personId: agreements.personId,
    version: agreements.version,
    status: agreements.status,
    villageCode: agreements.villageCode,
    cadence: agreements.cadence,
    validFrom: agreements.validFrom,
    validTo: agreements.validTo,
    nextDuePeriod: agreements.nextDuePeriod,
    nextDueStart: agreements.nextDueStart,
    nextDueOn: agreements.nextDueOn,
    lastReportPeriod: agreements.lastReportPeriod,
  },
  fields: new Set(['id', 'person', 'version', 'status', 'allowedActions', 'village', 'cadence', 'validFrom', 'validTo', 'nextDuePeriod', 'nextDueOn', 'lastReportPeriod', 'reportStatus', 'history', 'depositComplaints']),
};

/** A report's period, arrival and work status, not its place, phone, needs and notes. */
export const REPORT_PAGE_COLUMNS: PageColumns = {
  columns: {
    id: statusReports.id,
    personId: statusReports.personId,
    agreementId: statusReports.agreementId,
    villageCode: statusReports.villageCode,
    period: statusReports.period,
    arrival: statusReports.arrival,
    reportedOn: statusReports.reportedOn,
    workStatus: statusReports.workStatus,
    supersededAt: statusReports.supersededAt,
  },
  fields: new Set(['id', 'person', 'agreement', 'period', 'arrival', 'reportedOn', 'workStatus', 'superseded']),
};

/** Whether the operation asks of `type` only fields these columns serve. */
export function pageColumnsServe(asked: ReadonlyMap<string, ReadonlySet<string>>, type: string, c: PageColumns): boolean {
  for (const f of asked.get(type) ?? []) if (!c.fields.has(f)) return false;
  return true;
}

