import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { engine } from '../helpers/db';
import { raceOnPeople } from '../helpers/race';
import { nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

// PGlite runs one transaction at a time, so this race exists only on PostgreSQL.
describe.runIf(engine === 'postgres')('association staff and an official changing one person at once (PostgreSQL)', () => {
  let t: TestServer;
  let official: { token: string };
  let staff: { token: string };
  let associationId: string;
  let pg: postgres.Sql;
  beforeAll(async () => {
    t = await startTestServer();
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const created = await t.gql(`mutation { createAssociation(input: { name: "苏州睢宁商会", hostCityCode: "320500" }) { id } }`, {}, admin.token);
    associationId = created.data!.createAssociation.id;
    staff = await t.user({ role: 'ASSOCIATION_STAFF', scope: associationId });
    pg = postgres(t.database.url!, { max: 2, onnotice: () => {} });
  });
  afterAll(async () => {
    await pg.end();
    await t.close();
  });

  /**
   * Return home locks the person, then ends their memberships. A member update that locked the membership before
   * the person (as it once did) held what return home needs next: a deadlock, and the update failed as an internal
   * error. In the registry's order the update queues behind return home and finds the membership ended.
   */
  it('return home and a staff update of the membership: return home wins, the update is refused', async () => {
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: '陈静', idNumber, homeVillageCode: SEED.villageWangji });
    const added = await t.gql(
      `mutation($a: ID!, $input: AddMemberInput!) { addAssociationMember(associationId: $a, input: $input) { id } }`,
      { a: associationId, input: { idNumber, name: '陈静', consentMethod: 'IN_PERSON' } },
      staff.token,
    );
    const memberId = added.data!.addAssociationMember.id as string;
    const [returned, updated] = await raceOnPeople(
      pg,
      [p.id],
      () => t.gql(`mutation { markReturned(personId: "${p.id}", returnedOn: "2026-10-01") { status } }`, {}, official.token),
      () => t.gql(`mutation { updateAssociationMember(memberId: "${memberId}", input: { employer: "新厂" }) { id } }`, {}, staff.token),
    );
    expect(returned.errors).toBeUndefined();
    // The staff's rights over the person end with the membership.
    expect(updated.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN' });
    const after = await t.gql(`{ person(id: "${p.id}") { status employer } }`, {}, official.token);
    expect(after.data?.person).toEqual({ status: 'RETURNED', employer: null });
    const [membership] = await pg<{ status: string; left_reason: string }[]>`select status, left_reason from association_members where id = ${memberId}`;
    expect(membership).toEqual({ status: 'LEFT', left_reason: 'RETURNED_HOME' });
    expect((await verifyAuditChain(t.server.deps.db)).ok).toBe(true);
  });
});
