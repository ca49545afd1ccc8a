import { idProblemMessage, parseResidentId } from '../people/identity';

/**
 * Why a subject's resident ID number is invalid on the wire, or null. The wire form is strict (17 digits and a digit
 * or upper-case X, nothing to trim or fold); beyond that the rules are the registry's own (src/people/identity.ts).
 */
export function residentIdProblem(idNumber: string): string | null {
  if (!/^\d{17}[\dX]$/.test(idNumber)) return 'must be 17 digits and a digit or X';
  const parsed = parseResidentId(idNumber);
  return typeof parsed === 'string' ? idProblemMessage(parsed) : null;
}
