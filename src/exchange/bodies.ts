import { z } from 'zod';
import { addDays, isIsoDate } from '../calendar';
import { SERVICE_NEEDS } from '../people/tables';
import { CADENCES, parsePeriod } from '../reports/periods';
import { WORK_STATUSES } from '../reports/tables';
import type { RecordType } from './record-types';

/**
 * The body of each record type, exactly as docs/exchange-protocol.md specifies. Objects are strict: an unknown
 * field is a malformed body (the protocol is versioned by `v`, and we collect no more than it names).
 */

/**
 * Control characters (C0, DEL, C1) have no place in a record's text: they garble the registry's screens, logs and
 * exports. One-line fields (names, places, employers) refuse them all; free text (note, question, answer) may
 * break lines (tab, LF, CR), as the registry's own inputs may.
 */
export const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
const CONTROL_BUT_LINE_BREAKS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** 1-max characters on one line, no control characters. */
export const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL.test(v), 'must not contain control characters');
/** 1-max characters of free text: line breaks and tabs allowed, no other control character. */
const freeText = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((v) => !CONTROL_BUT_LINE_BREAKS.test(v), 'must not contain control characters other than tab and line breaks');
const IsoDate = z.string().refine(isIsoDate, 'must be a real date, YYYY-MM-DD');
const CountyCode = z.string().regex(/^\d{6}$/, 'must be a 6-digit county code');
/** Normalised mainland mobile number: no +86, spaces or hyphens. */
const Phone = z.string().regex(/^1[3-9]\d{9}$/, 'must be an 11-digit mobile number (no prefix or separators)');

/** Where someone lives or works, at county and town level at most (never an address or a location trail). */
const Place = z.strictObject({ countyCode: CountyCode, town: text(50).optional(), area: text(100).optional() });

/** The registry's reporting cadences (src/reports/periods.ts). */
const Cadence = z.enum(CADENCES);

/** `2026-07` (month), `2026-Q3` (quarter) or `2026-H2` (half-year), as the registry's reports use. */
const Period = z.string().refine((p) => parsePeriod(p) !== undefined, 'must be YYYY-MM, YYYY-Qn or YYYY-Hn');

/** Kinds of service a person may need or receive away from home: the registry's fixed list. Deliberately no health category. */
export const SERVICE_KINDS = SERVICE_NEEDS;
const ServiceKind = z.enum(SERVICE_KINDS);

export const INQUIRY_PURPOSES = [
  'CONTACT_VERIFICATION',
  'RESIDENCE_VERIFICATION',
  'EMPLOYMENT_VERIFICATION',
  'BENEFIT_ELIGIBILITY',
  'SERVICE_FOLLOW_UP',
  'DOCUMENT_VERIFICATION',
] as const;

export const URGENCIES = ['URGENT', 'NORMAL'] as const;
export const REPLY_RESULTS = ['VERIFIED', 'UNMATCHED', 'DECLINED'] as const;
export const SUMMARY_STATUSES = ['AWAY', 'RETURNED'] as const;

/** Reply deadline when an inquiry names none: 15 days for urgent ones, 30 otherwise (the historical practice). */
export const INQUIRY_DUE_DAYS = { URGENT: 15, NORMAL: 30 } as const;

export const BODY_SCHEMAS = {
  DEPARTURE: z.strictObject({
    leftOn: IsoDate,
    destination: Place,
    phone: Phone.optional(),
    agreement: z.strictObject({ cadence: Cadence, validTo: IsoDate }),
  }),
  ARRIVAL: z.strictObject({ arrivedOn: IsoDate, place: Place, employer: text(200).optional() }),
  STATUS_REPORT: z.strictObject({
    period: Period,
    place: Place,
    employer: text(200).optional(),
    workStatus: z.enum(WORK_STATUSES),
    phone: Phone.optional(),
    needs: z
      .array(ServiceKind)
      .max(SERVICE_KINDS.length)
      .refine((a) => new Set(a).size === a.length, 'must not repeat a need'),
    note: freeText(500).optional(),
  }),
  CONTACT_UPDATE: z
    .strictObject({ phone: Phone.optional(), place: Place.optional(), employer: text(200).optional() })
    .refine((b) => b.phone !== undefined || b.place !== undefined || b.employer !== undefined, 'must change at least one of phone, place, employer'),
  RETURN_HOME: z.strictObject({ returnedOn: IsoDate }),
  SERVICE_DELIVERED: z.strictObject({ service: ServiceKind, deliveredOn: IsoDate, note: freeText(500).optional() }),
  INQUIRY: z.strictObject({
    purpose: z.enum(INQUIRY_PURPOSES),
    question: freeText(1000),
    urgency: z.enum(URGENCIES),
    dueOn: IsoDate.optional(),
  }),
  INQUIRY_REPLY: z.strictObject({ result: z.enum(REPLY_RESULTS), answer: freeText(2000) }),
  STATUS_SUMMARY: z.strictObject({
    status: z.enum(SUMMARY_STATUSES),
    place: z.strictObject({ countyCode: CountyCode, town: text(50).optional() }),
    agreement: z.strictObject({ cadence: Cadence, validTo: IsoDate }).nullable(),
    lastReportPeriod: Period.nullable(),
  }),
} as const satisfies Record<RecordType, z.ZodType>;

type Bodies = { [T in RecordType]: z.infer<(typeof BODY_SCHEMAS)[T]> };
/** The body of a record of type T after parsing; an INQUIRY always has its `dueOn` filled in. */
export type RecordBody<T extends RecordType = RecordType> = T extends 'INQUIRY' ? Bodies[T] & { dueOn: string } : Bodies[T];

export type BodyResult<T extends RecordType> = { ok: true; body: RecordBody<T> } | { ok: false; message: string };

/**
 * Checks a body against its type's schema. `issuedOn` (the county date of the record's `iat`) gives an inquiry
 * without `dueOn` its default deadline; an inquiry due before it was issued is malformed.
 */
export function parseBody<T extends RecordType>(type: T, body: unknown, issuedOn: string): BodyResult<T> {
  const parsed = BODY_SCHEMAS[type].safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    return { ok: false, message: `${issue.path.join('.') || 'body'}: ${issue.message}` };
  }
  const value = parsed.data as Bodies[RecordType];
  if (type === 'INQUIRY') {
    const inquiry = value as Bodies['INQUIRY'];
    const dueOn = inquiry.dueOn ?? addDays(issuedOn, INQUIRY_DUE_DAYS[inquiry.urgency]);
    if (dueOn < issuedOn) return { ok: false, message: 'dueOn: must not be before the record was issued' };
    return { ok: true, body: { ...inquiry, dueOn } as RecordBody<T> };
  }
  return { ok: true, body: value as RecordBody<T> };
}
