import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partnerInquiries } from '../helpers/inquiries';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, type TestServer } from '../helpers/server';
import { rowLocks, startRecordingServer } from '../helpers/statements';

let t: TestServer;
let statements: string[];
let admin: { token: string };
let official: { token: string };
beforeAll(async () => {
  ({ t, statements } = await startRecordingServer());
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
});
afterAll(() => t.close());

/** The row locks a request took, in order: the table each `for update` read. */
async function locksTakenBy(run: () => Promise<{ errors?: unknown }>): Promise<string[]> {
  statements.length = 0;
  const r = await run();
  expect(r.errors).toBeUndefined();
  return rowLocks(statements);
}

describe('rows that belong to a person are locked after their person (lockPersonThenRow)', () => {
  it('an agreement change, a dependant change, a membership change and an inquiry answer each lock the person once, then the row', async () => {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: '孙丽', idNumber, homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    const amended = await locksTakenBy(() => t.gql(`mutation { amendAgreement(id: "${a.id}", input: { cadence: MONTHLY }) { id } }`, {}, official.token));
    expect(amended).toEqual(['people', 'agreements']);

    const dependant = (await t.gql(`mutation { addDependant(personId: "${p.id}", input: { relation: GRANDPARENT, ageBand: AGE_80_PLUS }) { id } }`, {}, official.token)).data!.addDependant.id;
    const updated = await locksTakenBy(() => t.gql(`mutation { updateDependant(id: "${dependant}", input: { relation: GRANDPARENT, ageBand: AGE_70_79 }) { ageBand } }`, {}, official.token));
    expect(updated).toEqual(['people', 'dependants']);

    const association = (await t.gql(`mutation { createAssociation(input: { name: "苏州睢宁商会", hostCityCode: "320500" }) { id } }`, {}, admin.token)).data!.createAssociation.id;
    const staff = await t.user({ role: 'ASSOCIATION_STAFF', scope: association });
    const m = await t.gql(`mutation($a: ID!, $i: AddMemberInput!) { addAssociationMember(associationId: $a, input: $i) { id } }`, { a: association, i: { idNumber, name: '孙丽', consentMethod: 'PAPER' } }, staff.token);
    const role = await locksTakenBy(() => t.gql(`mutation { setAssociationMemberRole(memberId: "${m.data!.addAssociationMember.id}", role: VOLUNTEER) { role } }`, {}, staff.token));
    expect(role).toEqual(['people', 'association_members']);

    const partner = await partnerInquiries(t, admin.token);
    try {
      const resident = await partner.resident(official.token, SEED.villageWangji);
      const inquiry = await partner.ask(resident.subject, new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10));
      const answered = await locksTakenBy(() => t.gql(`mutation { answerInquiry(id: "${inquiry}", result: DECLINED, answer: "本人不同意核实") { status } }`, {}, official.token));
      // the person once (it used to be locked a second time after the inquiry), then the inquiry
      expect(answered.slice(0, 2)).toEqual(['people', 'inquiries']);
      expect(answered.filter((table) => table === 'people')).toHaveLength(1);
    } finally {
      await partner.close();
    }
  });
});
