/** Calendar dates as ISO `YYYY-MM-DD` strings: what the registry stores and compares. */

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written YYYY-MM-DD (rejects 2026-02-30). */
export function isIsoDate(value: string): boolean {
  const m = DATE_RE.exec(value);
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.toISOString().slice(0, 10) === value;
}

export function addDays(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

const formats = new Map<string, Intl.DateTimeFormat>();
/** Per zone, the dates of the last few whole seconds asked for: a batch asks hundreds of times for the same second. */
const recentDays = new Map<string, Map<number, string>>();

/** Today's date in the county's time zone (a server in UTC would otherwise be 8 hours behind Beijing time). */
export function todayIn(timeZone: string, now = new Date()): string {
  // Zone offsets are whole seconds, so a whole second has one date.
  const second = Math.floor(now.getTime() / 1000);
  let days = recentDays.get(timeZone);
  const hit = days?.get(second);
  if (hit !== undefined) return hit;
  // Building a DateTimeFormat is costly (it showed in profiles); one per zone is enough.
  let format = formats.get(timeZone);
  if (!format) formats.set(timeZone, (format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })));
  const day = format.format(now);
  if (!days || days.size >= 16) recentDays.set(timeZone, (days = new Map()));
  days.set(second, day);
  return day;
}

/**
 * The date of an instant on the exchange protocol's calendar: China Standard Time, whatever a county's TIME_ZONE,
 * so both sides of a bilateral agreement agree on when a record was issued and when it falls due.
 */
export function protocolDate(at: Date = new Date()): string {
  return todayIn('Asia/Shanghai', at);
}
