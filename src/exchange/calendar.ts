/**
 * Calendar dates as the counties see them. Every county of the registry is in China Standard Time (UTC+8, no
 * daylight saving), so "today" and "the date a record was issued" are computed there, whatever the server's zone.
 */
const CST_OFFSET_MS = 8 * 3600 * 1000;

/** YYYY-MM-DD of an instant in China Standard Time. */
export function countyDate(at: Date = new Date()): string {
  return new Date(at.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10);
}

export function addDays(isoDate: string, days: number): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}
