import type { Config } from '../config';
import type { Deps } from '../deps';
import { badInput } from '../errors';
import { getDivision } from '../jurisdiction/divisions';
import type { Caller } from '../policy/actor';
import { figuresWindow, townInScope, villageFigures, type FiguresWindow, type VillageFigures } from './dashboard';

export type WarningReasonCode = 'OVERDUE_RATE' | 'BROKEN_COMMITMENTS' | 'UNANSWERED_INQUIRIES';

export interface WarningReason {
  code: WarningReasonCode;
  value: number;
  threshold: number;
}

export interface WarnedVillage {
  figures: VillageFigures;
  reasons: WarningReason[];
}

export interface QuarterlyWarning {
  window: FiguresWindow;
  townCode: string | null;
  thresholds: Config['warningThresholds'];
  villages: WarnedVillage[];
}

/** Why a village is on the warning list: each threshold it reached, with its figure. Pure, unit-tested. */
export function warningReasons(f: VillageFigures, th: Config['warningThresholds']): WarningReason[] {
  const out: WarningReason[] = [];
  if (f.overdueRate !== null && f.overdueRate >= th.overdueRatePercent) out.push({ code: 'OVERDUE_RATE', value: f.overdueRate, threshold: th.overdueRatePercent });
  if (f.brokenCommitments >= th.brokenCommitments) out.push({ code: 'BROKEN_COMMITMENTS', value: f.brokenCommitments, threshold: th.brokenCommitments });
  if (f.openInquiriesPastDue >= th.unansweredInquiries) out.push({ code: 'UNANSWERED_INQUIRIES', value: f.openInquiriesPastDue, threshold: th.unansweredInquiries });
  return out;
}

/**
 * 公开预警: villages of the county (or one town) that reached a threshold in a quarter that has ended, with the
 * figures that put them there. Computed from dated facts up to the quarter's last day, so the list for a past quarter
 * is the same whenever it is produced.
 */
export async function quarterlyWarning(deps: Deps, caller: Caller, quarter: string, townCode?: string | null): Promise<QuarterlyWarning> {
  const town = townInScope(caller, 'warning.read', townCode);
  if (!/^\d{4}-Q[1-4]$/.test(quarter)) throw badInput('quarter', 'a quarter such as 2026-Q3');
  const window = figuresWindow(deps, quarter, 'quarter');
  if (!window.complete) throw badInput('quarter', 'the quarter has not ended yet');
  if (town && (await getDivision(deps.db, town))?.level !== 'TOWN') throw badInput('townCode', `${town} is not a known town code`);
  const th = deps.config.warningThresholds;
  const villages = (await villageFigures(deps, town, window))
    .map((figures) => ({ figures, reasons: warningReasons(figures, th) }))
    .filter((v) => v.reasons.length > 0);
  return { window, townCode: town, thresholds: th, villages };
}
