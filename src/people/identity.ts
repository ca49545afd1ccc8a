import { isIsoDate } from '../calendar';

/** Resident identity number (GB 11643-1999), parsed. */
export interface ResidentId {
  idNumber: string;
  /** First six digits: the division where it was issued (may be a retired code). */
  divisionCode: string;
  birthDate: string;
  sex: 'MALE' | 'FEMALE';
}

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
// Province-level prefixes in use since 1999 (GB/T 2260), plus Taiwan/Hong Kong/Macao codes.
const PROVINCE = /^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|8[1-2])/;

export type IdProblem = 'FORMAT' | 'CHECK_DIGIT' | 'BIRTH_DATE' | 'DIVISION';

export function checkDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK[sum % 11]!;
}

/** Parses and validates an ID number; returns the problem instead of throwing so callers choose the error. */
export function parseResidentId(raw: string, today = new Date()): ResidentId | IdProblem {
  const id = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return 'FORMAT';
  if (!PROVINCE.test(id)) return 'DIVISION';
  const birthDate = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
  if (!isIsoDate(birthDate) || birthDate < '1800-01-01' || birthDate > today.toISOString().slice(0, 10)) return 'BIRTH_DATE';
  if (checkDigit(id.slice(0, 17)) !== id[17]) return 'CHECK_DIGIT';
  return { idNumber: id, divisionCode: id.slice(0, 6), birthDate, sex: Number(id[16]) % 2 === 1 ? 'MALE' : 'FEMALE' };
}

const ID_MESSAGES: Record<IdProblem, string> = {
  FORMAT: 'must be 17 digits followed by a digit or X',
  DIVISION: 'does not start with a known province code',
  BIRTH_DATE: 'digits 7-14 are not a real birth date',
  CHECK_DIGIT: 'check digit does not match (GB 11643)',
};

export function idProblemMessage(p: IdProblem): string {
  return ID_MESSAGES[p];
}

/** `320324********001X`: division code and last four only. */
export function maskIdNumber(id: string): string {
  return `${id.slice(0, 6)}********${id.slice(14)}`;
}

/** Strips +86/0086/86, spaces and hyphens; returns the 11-digit mobile number or undefined if it is not one. */
export function normalizeMobile(raw: string): string | undefined {
  let n = raw.replace(/[\s-]/g, '');
  if (n.startsWith('+86')) n = n.slice(3);
  else if (n.startsWith('0086')) n = n.slice(4);
  else if (n.startsWith('86') && n.length === 13) n = n.slice(2);
  return /^1[3-9]\d{9}$/.test(n) ? n : undefined;
}

/** `138****8000`. */
export function maskMobile(phone: string): string {
  return `${phone.slice(0, 3)}****${phone.slice(-4)}`;
}

/** A 6-digit GB/T 2260 county-level code (any province; retired codes are not rejected). */
export function isCountyCode(code: string): boolean {
  return /^\d{6}$/.test(code) && PROVINCE.test(code) && code.slice(4) !== '00';
}
