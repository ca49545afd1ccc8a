import { checkDigit } from './identity';

/**
 * Builders of valid-looking identifiers for tests, the demo seed and benchmarks. They produce structurally valid
 * numbers (real dates, correct check digits); nothing here is a real person's number.
 */

/** An 18-character resident ID number: division, birth date `YYYYMMDD`, a sequence (0-999, odd = male) and check digit. */
export function makeResidentId(divisionCode: string, birthDate: string, sequence: number): string {
  const first17 = `${divisionCode}${birthDate}${String(sequence % 1000).padStart(3, '0')}`;
  return first17 + checkDigit(first17);
}

/** A mainland mobile number from a small integer (13800000000 + n). */
export function makeMobile(n: number): string {
  return String(13_800_000_000 + (n % 100_000_000));
}
