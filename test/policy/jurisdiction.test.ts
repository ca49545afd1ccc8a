import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * Every registry query and mutation, tried on a record in 王集村 by people whose jurisdiction does not cover it
 * (or whose role may not make the change): each must answer FORBIDDEN (for the bulk member update: each item).
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
  // Associations, supervision and ratings on the same person.
  const assoc = await t.gql(`mutation { createAssociation(input: { name: "苏州睢宁商会", hostCityCode: "320500" }) { id } }`, {}, admin.token);
  ids.association = assoc.data!.createAssociation.id;
  const other = await t.gql(`mutation { createAssociation(input: { name: "无锡睢宁商会", hostCityCode: "320200" }) { id } }`, {}, admin.token);
  tokens.otherAssociationStaff = (await t.user({ role: 'ASSOCIATION_STAFF', scope: other.data!.createAssociation.id })).token;
  const idNumber = nextIdNumber();
  await register(t, owner.token, { name: '成员', idNumber, homeVillageCode: SEED.villageWangji });
  ids.memberIdNumber = idNumber;
  const m = await t.gql(`mutation($a: ID!, $i: AddMemberInput!) { addAssociationMember(associationId: $a, input: $i) { id } }`, { a: ids.association, i: { idNumber, name: '成员', consentMethod: 'PAPER' } }, owner.token);
  ids.member = m.data!.addAssociationMember.id;
  const sup = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  const chk = await t.gql(`mutation { recordSupervisionCheck(input: { agreementId: "${ids.agreement}", commitmentCode: "NO_DEPOSIT", finding: KEPT, evidence: "核实", followUpDueOn: "2099-01-01" }) { id } }`, {}, sup.token);
  ids.check = chk.data!.recordSupervisionCheck.id;
  const visit = await t.gql(`mutation { recordCareVisit(input: { dependantId: "${ids.dependant}", visitors: "镇民政办", followUpDueOn: "2099-01-01" }) { id } }`, {}, sup.token);
  ids.visit = visit.data!.recordCareVisit.id;
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
  ['association member', `{ associationMember(id: "${ids.member}") { id } }`],
  ['recent changes in the village', `{ recentChanges(villageCode: "${V}") { edges { cursor } } }`],
  ['supervision checks in the village', `{ supervisionChecks(filter: { villageCode: "${V}" }) { id } }`],
  ['care visits in the village', `{ careVisits(filter: { villageCode: "${V}" }) { id } }`],
  ['supervision dashboard of the town', `{ supervisionDashboard(townCode: "${SEED.townWangji}", period: "2026-Q3") { period } }`],
  ['service ratings in the village', `{ serviceRatings(villageCode: "${V}") { period } }`],
  ['rating comments in the village', `{ ratingComments(villageCode: "${V}") { comment } }`],
];
const writes = (): [string, string][] => [
  ['registerPerson', `mutation { registerPerson(input: { name: "越权", idNumber: "${nextIdNumber()}", homeVillageCode: "${V}" }) { id } }`],
  ['updatePerson', `mutation { updatePerson(id: "${ids.person}", input: { employer: "x" }) { id } }`],
  ['revealIdNumber', `mutation { revealIdNumber(personId: "${ids.person}", reasonCode: IDENTITY_CHECK) }`],
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
  ['addAssociationMember', `mutation { addAssociationMember(associationId: "${ids.association}", input: { idNumber: "${ids.memberIdNumber}", name: "成员", consentMethod: PHONE }) { id } }`],
  ['setAssociationMemberRole', `mutation { setAssociationMemberRole(memberId: "${ids.member}", role: VOLUNTEER) { id } }`],
  ['updateAssociationMember', `mutation { updateAssociationMember(memberId: "${ids.member}", input: { employer: "x" }) { id } }`],
  ['updateAssociationMembers', `mutation { updateAssociationMembers(items: [{ memberId: "${ids.member}", employer: "x" }]) { error { code } } }`],
  ['leaveAssociation', `mutation { leaveAssociation(memberId: "${ids.member}") { id } }`],
  ['recordSupervisionCheck', `mutation { recordSupervisionCheck(input: { agreementId: "${ids.agreement}", commitmentCode: "NO_DEPOSIT", finding: BROKEN, evidence: "x" }) { id } }`],
  ['completeCheckFollowUp', `mutation { completeCheckFollowUp(id: "${ids.check}", input: { note: "x" }) { id } }`],
  ['recordCareVisit', `mutation { recordCareVisit(input: { dependantId: "${ids.dependant}", visitors: "x" }) { id } }`],
  ['completeVisitFollowUp', `mutation { completeVisitFollowUp(id: "${ids.visit}", input: { note: "x" }) { id } }`],
  ['sendRatingInvitation', `mutation { sendRatingInvitation(agreementId: "${ids.agreement}", period: "2026-Q3") { period } }`],
  ['sendRatingInvitation to a member', `mutation { sendRatingInvitation(memberId: "${ids.member}", period: "2026-Q3") { period } }`],
  ['submitMemberReport', `mutation { submitMemberReport(memberId: "${ids.member}", input: { period: "2026-Q3" }) { id } }`],
];

/** The refusal of an operation: its error, or for a bulk call its item's error. */
const refusal = (r: { data?: any; errors?: { extensions: { code: string } }[] }) => r.errors?.[0]?.extensions.code ?? r.data?.updateAssociationMembers?.[0]?.error?.code;

describe('jurisdiction', () => {
  for (const who of ['neighbourOfficial', 'otherTownSupervisor', 'otherAssociationStaff'] as const) {
    it(`refuses every read and write to a ${who}`, async () => {
      for (const [name, op] of [...reads(), ...writes()]) {
        const r = await t.gql(op, {}, tokens[who]);
        // Adding a member answers a person outside an official's scope exactly as an unknown one (no probing).
        const expected = who === 'neighbourOfficial' && name === 'addAssociationMember' ? 'NOT_FOUND' : 'FORBIDDEN';
        expect(refusal(r), `${who}: ${name}`).toBe(expected);
      }
    });
  }

  it('lets the town supervisor read its villages but not change the records it supervises', async () => {
    for (const [name, op] of reads()) expect((await t.gql(op, {}, tokens.ownTownSupervisor)).errors, name).toBeUndefined();
    const supervisorsWork = ['recordDepositComplaint', 'resolveDepositComplaint', 'recordSupervisionCheck', 'completeCheckFollowUp', 'recordCareVisit', 'completeVisitFollowUp'];
    for (const [name, op] of writes().filter(([n]) => !supervisorsWork.includes(n))) {
      expect(refusal(await t.gql(op, {}, tokens.ownTownSupervisor)), name).toBe('FORBIDDEN');
    }
  });

  it('left the record as it was', async () => {
    const owner = await t.user({ role: 'COUNTY_ADMIN' });
    const p = await t.gql(`{ person(id: "${ids.person}") { status employer dependants { id } activeAgreement { id version } consents { withdrawnAt } } }`, {}, owner.token);
    expect(p.data?.person).toMatchObject({ status: 'AWAY', employer: null, dependants: [{ id: ids.dependant }], activeAgreement: { id: ids.agreement, version: 1 } });
    expect(p.data?.person.consents.every((c: any) => c.withdrawnAt === null)).toBe(true);
    const m = await t.gql(`{ associationMember(id: "${ids.member}") { status role employer } }`, {}, owner.token);
    expect(m.data?.associationMember).toEqual({ status: 'ACTIVE', role: 'MEMBER', employer: null });
  });
});
