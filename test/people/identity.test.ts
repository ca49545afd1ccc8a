import { describe, expect, it } from 'vitest';
import { makeResidentId } from '../../src/people/fixtures';
import { isCountyCode, maskIdNumber, maskMobile, normalizeMobile, parseResidentId } from '../../src/people/identity';

describe('resident ID number (GB 11643-1999)', () => {
  it('accepts the published valid examples and reads birth date and sex', () => {
    expect(parseResidentId('11010519491231002X')).toEqual({ idNumber: '11010519491231002X', divisionCode: '110105', birthDate: '1949-12-31', sex: 'FEMALE' });
    expect(parseResidentId('440524188001010014')).toMatchObject({ birthDate: '1880-01-01', sex: 'MALE' });
    expect(parseResidentId(' 11010519491231002x ')).toMatchObject({ idNumber: '11010519491231002X' });
  });

  it('rejects a wrong check digit and an impossible birth date', () => {
    expect(parseResidentId('320324199001010010')).toBe('CHECK_DIGIT');
    expect(parseResidentId('320324199002300019')).toBe('BIRTH_DATE');
  });

  it('rejects bad shapes, unknown provinces and future births', () => {
    expect(parseResidentId('32032419900101001')).toBe('FORMAT');
    expect(parseResidentId('3203241990010100AB')).toBe('FORMAT');
    expect(parseResidentId(makeResidentId('990324', '19900101', 1))).toBe('DIVISION');
    expect(parseResidentId(makeResidentId('320324', '20990101', 1), new Date('2026-11-23'))).toBe('BIRTH_DATE');
  });

  it('accepts a retired division prefix (Canglang 320502, Wujiang city 320584)', () => {
    for (const code of ['320502', '320584']) expect(parseResidentId(makeResidentId(code, '19850607', 21))).toMatchObject({ divisionCode: code });
  });

  it('masks all but the division code and the last four', () => {
    expect(maskIdNumber('32032419900101001X')).toBe('320324********001X');
  });
});

describe('mobile numbers', () => {
  it('strips +86, 86, spaces and hyphens', () => {
    for (const raw of ['13800138000', '+86 138 0013 8000', '86-138-0013-8000', '+8613800138000', '0086 138 0013 8000']) expect(normalizeMobile(raw)).toBe('13800138000');
  });

  it('rejects what is not a mainland mobile', () => {
    for (const raw of ['12800138000', '1380013800', '138001380001', '025-83331234', '']) expect(normalizeMobile(raw)).toBeUndefined();
  });

  it('masks the middle four digits', () => {
    expect(maskMobile('13800138000')).toBe('138****8000');
  });
});

describe('division codes', () => {
  it('knows county-level codes from prefecture and province codes', () => {
    for (const code of ['320324', '370406', '320506', '320214', '320412']) expect(isCountyCode(code)).toBe(true);
    for (const code of ['320300', '32032', '990324', 'abcdef']) expect(isCountyCode(code)).toBe(false);
  });
});
