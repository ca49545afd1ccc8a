import { describe, expect, it } from 'vitest';
import { residentIdProblem } from '../../src/exchange/resident-id';

const isValidResidentId = (id: string) => residentIdProblem(id) === null;

describe('resident ID numbers (GB 11643-1999)', () => {
  it('accepts the published valid examples', () => {
    expect(isValidResidentId('11010519491231002X')).toBe(true);
    expect(isValidResidentId('440524188001010014')).toBe(true);
  });

  it('checks the check digit', () => {
    expect(residentIdProblem('320324199001010010')).toMatch(/check digit/);
    // the same number with its correct check digit passes
    const body = '32032419900101001';
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const sum = [...body].reduce((s, d, i) => s + Number(d) * weights[i]!, 0);
    expect(isValidResidentId(body + '10X98765432'[sum % 11])).toBe(true);
  });

  it('refuses impossible dates, bad shapes, lower-case x and future births', () => {
    expect(residentIdProblem('320324199002300019')).toMatch(/date/);
    for (const bad of ['', '12345', '11010519491231002x', '1101051949123100XX', '11010519491231002Ⅹ', ' 11010519491231002X']) {
      expect(isValidResidentId(bad), bad).toBe(false);
    }
    expect(residentIdProblem('320324209901010019')).toMatch(/date/);
  });

  it('is strict about the wire form: no lower-case x, no spaces', () => {
    expect(residentIdProblem('11010519491231002x')).toMatch(/digit or X/);
    expect(residentIdProblem(' 11010519491231002X')).toMatch(/digit or X/);
  });
});
