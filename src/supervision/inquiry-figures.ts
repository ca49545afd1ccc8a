import type { Db } from '../db/client';

/**
 * SEAM for the inter-county exchange (issue 4, built on another branch). Until it is merged these return nothing,
 * so dashboards show 0 open inquiries past due and the reminder job sends no inquiry reminders. At merge, answer
 * them from the exchange's inquiry table: an inquiry is "open" from `received` until `answered`, and "past due"
 * when its reply deadline is before the reference day.
 */

export interface VillageInquiryCount {
  villageCode: string;
  count: number;
}

/**
 * Inquiries about people of these villages that were open and past their reply deadline on `asOf`, counted from
 * dated facts (received/answered dates recorded on or before `asOf`) so past quarters stay reproducible.
 */
export async function openInquiriesPastDueByVillage(_db: Db, _villageCodes: readonly string[], _asOf: string): Promise<VillageInquiryCount[]> {
  return [];
}

export interface InquiryDueSoon {
  inquiryId: string;
  /** The user who must answer it. */
  userId: string;
  dueOn: string;
}

/** Open inquiries whose reply deadline falls within `days` of `asOf`, with who must answer each. */
export async function inquiriesNearDue(_db: Db, _asOf: string, _days: number): Promise<InquiryDueSoon[]> {
  return [];
}
