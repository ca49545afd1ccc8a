import { describe, expect, it } from 'vitest';
import { parseBody } from '../../src/exchange/bodies';
import { parseRecordPayload } from '../../src/exchange/envelope';
import { EXCHANGED_TYPES } from '../../src/exchange/record-types';
import { BODIES, SUBJECTS } from '../helpers/records';

const ISSUED = '2026-04-01';

function envelope(overrides: Record<string, unknown> = {}) {
  return {
    v: 1,
    id: '0b6f2a4e-9d1c-4c7e-8a51-3f2d9e7b1c00',
    iss: '320324',
    aud: '320506',
    type: 'ARRIVAL',
    iat: Date.UTC(2026, 3, 1, 2) / 1000,
    subject: SUBJECTS[0],
    body: BODIES.ARRIVAL,
    ...overrides,
  };
}

describe('record bodies', () => {
  it('accepts a valid body of every type', () => {
    for (const type of EXCHANGED_TYPES) {
      const r = parseBody(type, BODIES[type], ISSUED);
      expect(r.ok, `${type}: ${JSON.stringify(r)}`).toBe(true);
    }
    const summary = parseBody('STATUS_SUMMARY', { status: 'AWAY', place: { countyCode: '320506', town: '郭巷街道' }, agreement: { cadence: 'QUARTERLY', validTo: '2027-02-28' }, lastReportPeriod: '2026-Q1' }, ISSUED);
    expect(summary.ok).toBe(true);
  });

  it('gives an inquiry without dueOn the default deadline: 15 days urgent, 30 normal', () => {
    const normal = parseBody('INQUIRY', BODIES.INQUIRY, ISSUED);
    const urgent = parseBody('INQUIRY', { ...BODIES.INQUIRY, urgency: 'URGENT' }, ISSUED);
    expect(normal.ok && normal.body.dueOn).toBe('2026-05-01');
    expect(urgent.ok && urgent.body.dueOn).toBe('2026-04-16');
    const explicit = parseBody('INQUIRY', { ...BODIES.INQUIRY, dueOn: '2026-04-10' }, ISSUED);
    expect(explicit.ok && explicit.body.dueOn).toBe('2026-04-10');
  });

  it('refuses malformed bodies, naming the field', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['DEPARTURE', { ...BODIES.DEPARTURE, leftOn: '2026-02-30' }, /leftOn/],
      ['DEPARTURE', { ...BODIES.DEPARTURE, agreement: { cadence: 'WEEKLY', validTo: '2027-01-01' } }, /agreement\.cadence/],
      ['DEPARTURE', { ...BODIES.DEPARTURE, phone: '+86 138-1234-5678' }, /phone/],
      ['ARRIVAL', { ...BODIES.ARRIVAL, place: { countyCode: '3205' } }, /place\.countyCode/],
      ['ARRIVAL', { ...BODIES.ARRIVAL, gps: '31.2,120.6' }, /gps|Unrecognized/i],
      ['STATUS_REPORT', { ...BODIES.STATUS_REPORT, workStatus: 'RETIRED' }, /workStatus/],
      ['STATUS_REPORT', { ...BODIES.STATUS_REPORT, needs: ['ELDER_CARE', 'ELDER_CARE'] }, /needs/],
      ['STATUS_REPORT', { ...BODIES.STATUS_REPORT, needs: ['PREGNANCY_CHECK'] }, /needs/],
      ['STATUS_REPORT', { ...BODIES.STATUS_REPORT, period: '2026-13' }, /period/],
      ['CONTACT_UPDATE', {}, /at least one/],
      ['RETURN_HOME', {}, /returnedOn/],
      ['SERVICE_DELIVERED', { ...BODIES.SERVICE_DELIVERED, service: 'anything' }, /service/],
      ['INQUIRY', { ...BODIES.INQUIRY, urgency: 'SOON' }, /urgency/],
      ['INQUIRY', { ...BODIES.INQUIRY, dueOn: '2026-03-01' }, /dueOn/],
      ['INQUIRY', { ...BODIES.INQUIRY, question: '' }, /question/],
      ['INQUIRY_REPLY', { result: 'MAYBE', answer: 'x' }, /result/],
    ];
    for (const [type, body, field] of cases) {
      const r = parseBody(type as never, body, ISSUED);
      expect(r.ok, `${type} ${JSON.stringify(body)}`).toBe(false);
      if (!r.ok) expect(r.message).toMatch(field);
    }
  });
});

describe('record envelope', () => {
  it('accepts a well-formed record', () => {
    const r = parseRecordPayload(envelope());
    expect(r).toMatchObject({ ok: true, record: { type: 'ARRIVAL', subject: SUBJECTS[0] } });
  });

  it('gives each kind of malformation its reason code', () => {
    const cases: [unknown, string][] = [
      ['a string', 'MALFORMED_ENVELOPE'],
      [[1, 2], 'MALFORMED_ENVELOPE'],
      [envelope({ v: 2 }), 'UNSUPPORTED_VERSION'],
      [envelope({ v: undefined }), 'UNSUPPORTED_VERSION'],
      [envelope({ id: 'not-a-uuid' }), 'MALFORMED_ENVELOPE'],
      [envelope({ iat: 1.5 }), 'MALFORMED_ENVELOPE'],
      [envelope({ iat: 9e15 }), 'MALFORMED_ENVELOPE'],
      [envelope({ iss: 320324 }), 'MALFORMED_ENVELOPE'],
      [envelope({ extra: true }), 'MALFORMED_ENVELOPE'],
      [envelope({ subject: { idNumber: SUBJECTS[0].idNumber } }), 'MALFORMED_ENVELOPE'],
      [envelope({ type: 'GOSSIP' }), 'UNKNOWN_TYPE'],
      [envelope({ subject: { idNumber: '320324199001010010', name: 'x' } }), 'INVALID_SUBJECT'],
      [envelope({ subject: { idNumber: '320324199002300019', name: 'x' } }), 'INVALID_SUBJECT'],
      [envelope({ type: 'INQUIRY_REPLY', body: BODIES.INQUIRY_REPLY }), 'MISSING_REF'],
      [envelope({ body: { arrivedOn: 'yesterday', place: { countyCode: '320506' } } }), 'MALFORMED_BODY'],
    ];
    for (const [payload, reason] of cases) {
      expect(parseRecordPayload(payload), JSON.stringify(payload)).toMatchObject({ ok: false, reason });
    }
    expect(parseRecordPayload(envelope({ type: 'INQUIRY_REPLY', ref: '0b6f2a4e-9d1c-4c7e-8a51-3f2d9e7b1c01', body: BODIES.INQUIRY_REPLY })).ok).toBe(true);
  });
});
