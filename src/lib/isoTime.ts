// ISO 8601 texts checked field by field: Date.parse rolls 2025-02-30 over to March 2 (and
// PostgreSQL refuses it), so a date or time that does not exist must be caught before either.

const FIELDS = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/i;

/** Whether the year-month-day (and hour:minute:second, when given) of an ISO 8601 text exist. */
export function isoFieldsExist(text: string): boolean {
  const m = FIELDS.exec(text);
  if (!m) return false;
  const [y, mo, d, h = 0, mi = 0, s = 0] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v))) as number[];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const daysInMonth = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][mo - 1];
  return y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysInMonth && h <= 23 && mi <= 59 && s <= 59;
}
