import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * Every registry query and mutation, tried on a record in 王集村 by people whose jurisdiction does not cover it
 * (or whose role may not make the change): each must answer FORBIDDEN.
 */
let t: TestServer;
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer();
  const owner = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  tokens.neighbourOfficial = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan })).token;
  tokens.otherTownSupervisor = (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou })).token;
  tokens.ownTownSupervisor = (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji })).token;
  const p = await register(t, owner.token, { homeVillageCode: SEED.villageWangji, dependants: [{ relation: 'PARENT', ageBand: 'AGE_70_79' }] });
  ids.person = p.id;
  ids.agreement = (await activeAgreement(t, owner.token, p.id)).id;
  const draft = await register(t, owner.token, { homeVillageCode: SEED.villageWangji });
  const d = await t.gql(`mutation { createAgreement(input: { personId: "${draft.id}", cadence: MONTHLY }) { id } }`, {}, owner.token);
  ids.draft = d.data!.createAgreement.id;
  const dep = await t.gql(`{ person(id: "${p.id}") { dependants { id } } }`, {}, owner.token);
  ids.dependant = dep.data!.person.dependants[0].id;
  const c = await t.gql(`mutation { recordDepositComplaint(agreementId: "${ids.agreement}", description: "押金") { id } }`, {}, owner.token);
  ids.complaint = c.data!.recordDepositComplaint.id;
  const admin = await t.user({ role: 'COUNTY_ADMIN' });
  const l = await t.gql(`mutation { createLiaisonContact(input: { name: "周联络", organisation: "吴中区流动人口服务站", countyCode: "320506" }) { id } }`, {}, admin.token);
  ids.liaison = l.data!.createLiaisonContact.id;
});
afterAll(() => t.close());

const V = SEED.villageWangji;
const reads = (): [string, string][] => [
  ['person', `{ person(id: "${ids.person}") { id } }`],
  ['people in the village', `{ people(filter: { villageCode: "${V}" }) { totalCount } }`],
  ['agreement', `{ agreement(id: "${ids.agreement}") { id } }`],
  ['agreements in the village', `{ agreements(filter: { villageCode: "${V}" }) { edges { cursor } } }`],
  ['status reports', `{ statusReports(personId: "${ids.person}") { edges { cursor } } }`],
  ['overdue in the village', `{ overdueReports(villageCode: "${V}") { totalCount } }`],
  ['complaints in the village', `{ depositComplaints(filter: { villageCode: "${V}" }) { id } }`],
];
const writes = (): [string, string][] => [
  ['registerPerson', `mutation { registerPerson(input: { name: "越权", idNumber: "${nextIdNumber()}", homeVillageCode: "${V}" }) { id } }`],
  ['updatePerson', `mutation { updatePerson(id: "${ids.person}", input: { employer: "x" }) { id } }`],
  ['revealIdNumber', `mutation { revealIdNumber(personId: "${ids.person}", reason: "好奇") }`],
  ['addDependant', `mutation { addDependant(personId: "${ids.person}", input: { relation: CHILD, ageBand: UNDER_3 }) { id } }`],
  ['updateDependant', `mutation { updateDependant(id: "${ids.dependant}", input: { relation: PARENT, ageBand: AGE_80_PLUS }) { id } }`],
  ['removeDependant', `mutation { removeDependant(id: "${ids.dependant}") }`],
  ['markReturned', `mutation { markReturned(personId: "${ids.person}", returnedOn: "2026-11-01") { id } }`],
  ['recordConsent', `mutation { recordConsent(personId: "${ids.person}", input: { kind: PARTNER_SHARING, scope: "320214", method: PHONE }) { id } }`],
  ['withdrawConsent', `mutation { withdrawConsent(personId: "${ids.person}", kind: AGREEMENT) { id } }`],
  ['createAgreement', `mutation { createAgreement(input: { personId: "${ids.person}", cadence: MONTHLY }) { id } }`],
  ['updateAgreementDraft', `mutation { updateAgreementDraft(id: "${ids.draft}", input: { cadence: QUARTERLY }) { id } }`],
  ['signAgreement', `mutation { signAgreement(id: "${ids.draft}", input: { side: PERSON, method: PHONE }) { id } }`],
  ['amendAgreement', `mutation { amendAgreement(id: "${ids.agreement}", input: { cadence: MONTHLY }) { id } }`],
  ['renewAgreement', `mutation { renewAgreement(id: "${ids.agreement}", input: {}) { id } }`],
  ['endAgreement', `mutation { endAgreement(id: "${ids.draft}", reason: DISCARDED) { id } }`],
  ['recordDepositComplaint', `mutation { recordDepositComplaint(agreementId: "${ids.agreement}", description: "x") { id } }`],
  ['resolveDepositComplaint', `mutation { resolveDepositComplaint(id: "${ids.complaint}", resolution: "x") { id } }`],
  ['submitStatusReport', `mutation { submitStatusReport(input: { personId: "${ids.person}", period: "2026-10", arrival: PHONE }) { id } }`],
  ['createLiaisonContact', `mutation { createLiaisonContact(input: { name: "x", organisation: "y", countyCode: "320506" }) { id } }`],
  ['updateLiaisonContact', `mutation { updateLiaisonContact(id: "${ids.liaison}", input: { active: false }) { id } }`],
];

describe('jurisdiction', () => {
  for (const who of ['neighbourOfficial', 'otherTownSupervisor'] as const) {
    it(`refuses every read and write to a ${who}`, async () => {
      for (const [name, op] of [...reads(), ...writes()]) {
        const r = await t.gql(op, {}, tokens[who]);
        expect(r.errors?.[0]?.extensions.code, `${who}: ${name}`).toBe('FORBIDDEN');
      }
    });
  }

  it('lets the town supervisor read its villages but not change the records it supervises', async () => {
    for (const [name, op] of reads()) expect((await t.gql(op, {}, tokens.ownTownSupervisor)).errors, name).toBeUndefined();
    for (const [name, op] of writes().filter(([n]) => !['recordDepositComplaint', 'resolveDepositComplaint'].includes(n))) {
      expect((await t.gql(op, {}, tokens.ownTownSupervisor)).errors?.[0]?.extensions.code, name).toBe('FORBIDDEN');
    }
  });

  it('left the record as it was', async () => {
    const owner = await t.user({ role: 'COUNTY_ADMIN' });
    const p = await t.gql(`{ person(id: "${ids.person}") { status employer dependants { id } activeAgreement { id version } consents { withdrawnAt } } }`, {}, owner.token);
    expect(p.data?.person).toMatchObject({ status: 'AWAY', employer: null, dependants: [{ id: ids.dependant }], activeAgreement: { id: ids.agreement, version: 1 } });
    expect(p.data?.person.consents.every((c: any) => c.withdrawnAt === null)).toBe(true);
  });
});
