import { isIsoDate } from '../graphql/scalars';
import { countyDate } from './calendar';

// Interim: the registry core will provide src/people/identity.ts; switch to it when it lands.

const SHAPE = /^\d{17}[\dX]$/;
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARS = '10X98765432';

/**
 * Why a resident ID number (GB 11643-1999) is invalid, or null when it is valid: 18 characters, the last a digit
 * or upper-case X; digits 7-14 a real date not in the future; the GB 11643 check digit. The division code (digits
 * 1-6) is not checked against a list: retired codes stay valid in older numbers.
 */
export function residentIdProblem(idNumber: string): string | null {
  if (!SHAPE.test(idNumber)) return 'must be 17 digits and a digit or X';
  const birth = `${idNumber.slice(6, 10)}-${idNumber.slice(10, 12)}-${idNumber.slice(12, 14)}`;
  if (!isIsoDate(birth) || birth > countyDate()) return 'digits 7-14 are not a real date of birth';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(idNumber[i]) * WEIGHTS[i]!;
  if (CHECK_CHARS[sum % 11] !== idNumber[17]) return 'check digit does not match';
  return null;
}

export function isValidResidentId(idNumber: string): boolean {
  return residentIdProblem(idNumber) === null;
}

/** `320324********001X`: division code and the last four, for people whose role does not need the whole number. */
export function maskResidentId(idNumber: string): string {
  return idNumber.length === 18 ? `${idNumber.slice(0, 6)}********${idNumber.slice(14)}` : '******************';
}
