import { makeMobile, makeResidentId } from '../../src/people/fixtures';
import { SEED, type TestServer } from './server';

let seq = 0;

/** A fresh valid ID number per call (unique within a test run). */
export function nextIdNumber(): string {
  seq += 1;
  const day = String((seq % 28) + 1).padStart(2, '0');
  const month = String((Math.floor(seq / 28) % 12) + 1).padStart(2, '0');
  return makeResidentId('320324', `1990${month}${day}`, 100 + (seq % 900));
}

export function nextPhone(): string {
  seq += 1;
  return makeMobile(seq * 7919);
}

export const REGISTER = `mutation($input: RegisterPersonInput!) { registerPerson(input: $input) { id name idNumber phone status homeVillage { code } } }`;

export async function register(t: TestServer, token: string, input: Record<string, unknown>) {
  const r = await t.gql(REGISTER, { input: { name: '张伟', idNumber: nextIdNumber(), phone: nextPhone(), ...input } }, token);
  if (!r.data?.registerPerson) throw new Error(`registerPerson failed: ${JSON.stringify(r.errors)}`);
  return r.data.registerPerson as { id: string; name: string; idNumber: string; phone: string };
}

const CREATE = `mutation($input: CreateAgreementInput!) { createAgreement(input: $input) { id status version } }`;
const SIGN = `mutation($id: ID!, $input: SignatureInput!) { signAgreement(id: $id, input: $input) { id status nextDuePeriod nextDueOn } }`;

/** Creates an agreement as `token` (an official of the person's village) and records both signatures. */
export async function activeAgreement(t: TestServer, token: string, personId: string, terms: Record<string, unknown> = {}) {
  const c = await t.gql(CREATE, { input: { personId, cadence: 'QUARTERLY', ...terms } }, token);
  if (!c.data?.createAgreement) throw new Error(`createAgreement failed: ${JSON.stringify(c.errors)}`);
  const id = c.data.createAgreement.id as string;
  await sign(t, token, id, 'OFFICIAL');
  const s = await sign(t, token, id, 'PERSON');
  return s.data!.signAgreement as { id: string; status: string; nextDuePeriod: string | null; nextDueOn: string | null };
}

export async function sign(t: TestServer, token: string, id: string, side: 'OFFICIAL' | 'PERSON') {
  const r = await t.gql(SIGN, { id, input: { side, method: 'PAPER', scanRef: `scan-${side.toLowerCase()}-${id.slice(0, 8)}` } }, token);
  if (r.errors) throw new Error(`sign failed: ${JSON.stringify(r.errors)}`);
  return r;
}

export const SUBMIT = `mutation($input: StatusReportInput!) { submitStatusReport(input: $input) { id period arrival superseded } }`;

/**
 * A resident of 望集村 working in 吴中区 (320506), whose active agreement (as `official`, for a year) shares their
 * records with `counties`: the subject partners' records name in the exchange tests.
 */
export async function sharingResident(t: TestServer, official: string, name: string, counties: string[]) {
  const idNumber = nextIdNumber();
  const p = await register(t, official, { name, idNumber, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
  await activeAgreement(t, official, p.id, { sharingCounties: counties, validTo: t.day(365) });
  return { id: p.id, subject: { idNumber, name } };
}
