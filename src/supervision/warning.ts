import { eq } from 'drizzle-orm';
import { todayIn } from '../calendar';
import type { Config } from '../config';
import type { Deps } from '../deps';
import { badInput } from '../errors';
import { getDivision } from '../jurisdiction/divisions';
import { divisions } from '../jurisdiction/tables';
import type { Caller } from '../policy/actor';
import { figuresWindow, townInScope, villageFigures, type FiguresWindow, type VillageFigures } from './dashboard';
import { quarterlyWarnings, type StoredVillageFigures } from './tables';

export type WarningReasonCode = 'OVERDUE_RATE' | 'BROKEN_COMMITMENTS' | 'UNANSWERED_INQUIRIES';

export interface WarningReason {
  code: WarningReasonCode;
  value: number;
  threshold: number;
}

export interface WarnedVillage {
  figures: StoredVillageFigures;
  reasons: WarningReason[];
}

export interface QuarterlyWarning {
  window: FiguresWindow;
  townCode: string | null;
  computedAt: Date;
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

export interface QuarterFigures {
  /** When the figures were first drawn up (and stored). */
  computedAt: Date;
  thresholds: Config['warningThresholds'];
  villages: StoredVillageFigures[];
}

/**
 * A quarter's figures for every village of the county, with the thresholds: stored the first time they are asked
 * for once the quarter is over (the county's day after its last), and read from the store ever after, so the list
 * for a past quarter never changes. Until the quarter is over they are computed and not kept. Two instances storing
 * at once: the first row wins and both serve it.
 */
export async function quarterFigures(deps: Deps, window: FiguresWindow): Promise<QuarterFigures> {
  const read = async () => (await deps.db.select().from(quarterlyWarnings).where(eq(quarterlyWarnings.quarter, window.label)))[0];
  const stored = await read();
  if (stored) return stored;
  const towns = new Map((await deps.db.select({ code: divisions.code, town: divisions.parentCode }).from(divisions).where(eq(divisions.level, 'VILLAGE'))).map((d) => [d.code, d.town]));
  const computed = {
    computedAt: new Date(),
    thresholds: deps.config.warningThresholds,
    villages: (await villageFigures(deps, null, window)).map((f) => ({ ...f, townCode: towns.get(f.villageCode) ?? null })),
  };
  if (todayIn(deps.config.timeZone) <= window.end) return computed;
  await deps.db.insert(quarterlyWarnings).values({ ...computed, quarter: window.label }).onConflictDoNothing();
  deps.logger.info({ quarter: window.label }, 'quarterly warning figures stored');
  return (await read())!;
}

/**
 * 公开预警: villages of the county (or one town) that reached a threshold in a quarter that has ended, with the
 * figures that put them there (see quarterFigures: the same list whenever it is produced).
 */
export async function quarterlyWarning(deps: Deps, caller: Caller, quarter: string, townCode?: string | null): Promise<QuarterlyWarning> {
  const town = townInScope(caller, 'warning.read', townCode);
  if (!/^\d{4}-Q[1-4]$/.test(quarter)) throw badInput('quarter', 'a quarter such as 2026-Q3');
  const window = figuresWindow(deps, quarter, 'quarter');
  if (!window.complete) throw badInput('quarter', 'the quarter has not ended yet');
  if (town && (await getDivision(deps.db, town))?.level !== 'TOWN') throw badInput('townCode', `${town} is not a known town code`);
  const { computedAt, thresholds, villages } = await quarterFigures(deps, window);
  const warned = villages
    .filter((f) => !town || f.townCode === town)
    .map((figures) => ({ figures, reasons: warningReasons(figures, thresholds) }))
    .filter((v) => v.reasons.length > 0);
  return { window, townCode: town, computedAt, thresholds, villages: warned };
}
