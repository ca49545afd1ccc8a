import type { Deps } from '../deps';
import { conflict, isAppError } from '../errors';
import type { Caller } from '../policy/actor';
import { authorize, can } from '../policy/policy';
import { submitStatusReport, type StatusReportInput } from '../reports/service';
import { loadMemberView } from './service';

export type MemberReportInput = Omit<StatusReportInput, 'personId' | 'arrival' | 'liaisonContactId'>;

/** What the submitter learns: the report went in, for which period. Nothing of it or of the person's other reports. */
export interface MemberReportReceipt {
  id: string;
  period: string;
  accepted: boolean;
}

/**
 * A status report given to the association on a member's behalf (arrival ASSOCIATION), through the ordinary report
 * rules (`report.write`, one current report per period, contact changes applied and shown in the official's feed).
 * A caller who may not read reports gets a receipt only, and a clash with an earlier report of the period does not
 * tell them that report's id.
 */
export async function submitMemberReport(deps: Deps, caller: Caller, memberId: string, input: MemberReportInput): Promise<MemberReportReceipt> {
  const { person, target } = await loadMemberView(deps.db, memberId);
  authorize(caller.actor, 'report.write', target);
  try {
    const report = await submitStatusReport(deps, caller, { ...input, personId: person.id, arrival: 'ASSOCIATION' });
    return { id: report.id, period: report.period, accepted: true };
  } catch (e) {
    if (isAppError(e) && e.code === 'CONFLICT' && 'existingReportId' in e.extensions && !can(caller.actor, 'report.read', target)) {
      throw conflict('a report for this period is already in; pass the id from your receipt in amends to correct it');
    }
    throw e;
  }
}

