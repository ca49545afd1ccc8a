import type { ExchangedType } from '../../src/exchange/record-types';

/** Valid resident ID numbers (GB 11643 check digits) for test subjects. */
export const SUBJECTS = [
  { idNumber: '11010519491231002X', name: '张三' },
  { idNumber: '440524188001010014', name: '李四' },
  { idNumber: idWithCheckDigit('32032419900101001'), name: '王五' },
  { idNumber: idWithCheckDigit('32032419851215002'), name: '赵六' },
] as const;

export function idWithCheckDigit(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((s, d, i) => s + Number(d) * weights[i]!, 0);
  return first17 + '10X98765432'[sum % 11];
}

/** One valid body per exchanged type. */
export const BODIES: Record<ExchangedType, Record<string, unknown>> = {
  DEPARTURE: {
    leftOn: '2026-03-01',
    destination: { countyCode: '320506', town: '郭巷街道' },
    phone: '13812345678',
    agreement: { cadence: 'QUARTERLY', validTo: '2027-02-28' },
  },
  ARRIVAL: { arrivedOn: '2026-03-02', place: { countyCode: '320506' }, employer: '苏州某电子厂' },
  STATUS_REPORT: {
    period: '2026-Q1',
    place: { countyCode: '320506', town: '郭巷街道', area: '吴中经济开发区' },
    workStatus: 'EMPLOYED',
    needs: ['SCHOOL_PLACE'],
    note: '孩子明年上小学',
  },
  CONTACT_UPDATE: { phone: '13987654321' },
  RETURN_HOME: { returnedOn: '2026-12-20' },
  SERVICE_DELIVERED: { service: 'WAGE_ARREARS', deliveredOn: '2026-05-10', note: '协助追回工资' },
  INQUIRY: { purpose: 'CONTACT_VERIFICATION', question: '请核实此人目前联系电话是否有效', urgency: 'NORMAL' },
  INQUIRY_REPLY: { result: 'VERIFIED', answer: '电话有效，已联系本人' },
};
