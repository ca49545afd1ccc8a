import { isIsoDate } from '../calendar';
import { badInput } from '../errors';
import { idProblemMessage, isCountyCode, normalizeMobile, parseResidentId, type ResidentId } from './identity';
import { AGE_BANDS, RELATIONS, SERVICE_NEEDS, type ServiceNeed } from './tables';

/** Input checks shared by every way a person's data arrives (official, report, association, partner county). */

export function requireName(field: string, raw: string): string {
  const name = raw.trim().replace(/\s+/g, ' ');
  if (name.length < 1 || name.length > 50) throw badInput(field, 'must be 1-50 characters');
  return name;
}

export function requireResidentId(field: string, raw: string): ResidentId {
  const parsed = parseResidentId(raw);
  if (typeof parsed === 'string') throw badInput(field, `not a valid resident ID number: ${idProblemMessage(parsed)}`);
  return parsed;
}

export function requireMobile(field: string, raw: string): string {
  const n = normalizeMobile(raw);
  if (!n) throw badInput(field, 'not a mainland mobile number (11 digits starting 13-19)');
  return n;
}

export function optionalMobile(field: string, raw: string | null | undefined): string | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === null || raw.trim() === '') return null;
  return requireMobile(field, raw);
}

export function optionalText(field: string, raw: string | null | undefined, max = 200): string | null | undefined {
  if (raw === undefined) return undefined;
  const v = raw?.trim() ?? '';
  if (v.length > max) throw badInput(field, `must be at most ${max} characters`);
  return v === '' ? null : v;
}

export function requireDate(field: string, raw: string): string {
  if (!isIsoDate(raw)) throw badInput(field, 'not a date (YYYY-MM-DD)');
  return raw;
}

export interface PlaceInput {
  countyCode: string;
  town?: string | null;
  area?: string | null;
}

export interface Place {
  countyCode: string;
  town: string | null;
  area: string | null;
}

/** County code plus optional town and a short free-text area: never finer than that (no addresses, no coordinates). */
export function requirePlace(field: string, p: PlaceInput): Place {
  if (!isCountyCode(p.countyCode)) throw badInput(`${field}.countyCode`, 'not a 6-digit county code');
  return {
    countyCode: p.countyCode,
    town: optionalText(`${field}.town`, p.town, 50) ?? null,
    area: optionalText(`${field}.area`, p.area, 100) ?? null,
  };
}

export function requireNeeds(field: string, needs: readonly string[] | null | undefined): ServiceNeed[] {
  const list = [...new Set(needs ?? [])];
  for (const n of list) if (!SERVICE_NEEDS.includes(n as ServiceNeed)) throw badInput(field, `unknown service need ${n}`);
  return list as ServiceNeed[];
}

export interface DependantInput {
  relation: string;
  ageBand: string;
  caregiverName?: string | null;
  caregiverPhone?: string | null;
  serviceNeeds?: readonly string[] | null;
  note?: string | null;
}

export function requireDependant(field: string, d: DependantInput) {
  if (!RELATIONS.includes(d.relation as never)) throw badInput(`${field}.relation`, 'unknown relation');
  if (!AGE_BANDS.includes(d.ageBand as never)) throw badInput(`${field}.ageBand`, 'unknown age band');
  return {
    relation: d.relation as (typeof RELATIONS)[number],
    ageBand: d.ageBand as (typeof AGE_BANDS)[number],
    caregiverName: optionalText(`${field}.caregiverName`, d.caregiverName, 50) ?? null,
    caregiverPhone: optionalMobile(`${field}.caregiverPhone`, d.caregiverPhone) ?? null,
    serviceNeeds: requireNeeds(`${field}.serviceNeeds`, d.serviceNeeds),
    note: optionalText(`${field}.note`, d.note, 500) ?? null,
  };
}
