import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGREEMENT_PAGE_COLUMNS, PERSON_PAGE_COLUMNS, REPORT_PAGE_COLUMNS } from '../../src/graphql/page-columns';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

// The people page reads a table's PageColumns instead of its whole row when the operation asks nothing else of its
// type. Each field those columns claim to serve must then answer exactly what it answers from the whole row
// (`person(id: ...)` reads whole rows), for a person with everything and a person with nothing.
let t: TestServer;
let official: { token: string };
let supervisor: { token: string };
let full: string;
let bare: string;
const statements: string[] = [];
beforeAll(async () => {
  t = await startTestServer({}, { onQuery: (q) => statements.push(q) });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  const p = await register(t, official.token, {
    name: '列宽全',
    homeVillageCode: SEED.villageWangji,
    currentPlace: { countyCode: '320214', town: '梅村街道', area: '新区' },
    employer: '某厂',
    occupation: '焊工',
    departureDate: '2025-03-01',
    dependants: [{ relation: 'CHILD', ageBand: 'AGE_6_11', caregiverName: '祖母', caregiverPhone: '13800138000' }],
  });
  full = p.id;
  await activeAgreement(t, official.token, full, { validFrom: '2026-01-01', validTo: '2027-12-31' });
  const r = await t.gql(SUBMIT, { input: { personId: full, period: '2026-Q1', arrival: 'PHONE', reportedOn: '2026-03-20', workStatus: 'EMPLOYED', place: { countyCode: '320214' }, phone: '13900139000', needs: ['LEGAL_AID'], note: '工资' } }, official.token);
  expect(r.errors).toBeUndefined();
  bare = (await register(t, official.token, { name: '列宽无', homeVillageCode: SEED.villageWangji })).id;
});
afterAll(() => t.close());

/** What to select under a field of an object type (scalars and enums select nothing). */
const SUB: Record<string, string> = {
  'Person.homeVillage': '{ code }',
  'Person.currentPlace': '{ countyCode town area }',
  'Person.dependants': '{ relation ageBand caregiverPhone }',
  'Person.consents': '{ kind scope }',
  'Person.activeAgreement': '{ id }',
  'Person.agreements': '{ id version }',
  'Person.lastReport': '{ id }',
  'Person.statusReports': '{ edges { node { id period } } }',
  'Person.reportStatus': '{ state period dueOn daysOverdue }',
  'Agreement.person': '{ id name }',
  'Agreement.village': '{ code }',
  'Agreement.reportStatus': '{ state period dueOn daysOverdue }',
  'Agreement.history': '{ action actorRole }',
  'Agreement.depositComplaints': '{ id }',
  'StatusReport.person': '{ id }',
  'StatusReport.agreement': '{ id version }',
};

/** For each narrow field: its selection under a person. */
const cases = [
  ...[...PERSON_PAGE_COLUMNS.fields].map((f) => [`Person.${f}`, `${f} ${SUB[`Person.${f}`] ?? ''}`]),
  ...[...AGREEMENT_PAGE_COLUMNS.fields].map((f) => [`Agreement.${f}`, `activeAgreement { ${f} ${SUB[`Agreement.${f}`] ?? ''} }`]),
  ...[...REPORT_PAGE_COLUMNS.fields].map((f) => [`StatusReport.${f}`, `lastReport { ${f} ${SUB[`StatusReport.${f}`] ?? ''} }`]),
];

async function viaPage(selection: string, token: string) {
  statements.length = 0;
  const r = await t.gql(`{ people(filter: { namePrefix: "列宽" }) { edges { node { id ${selection} } } } }`, {}, token);
  expect(r.errors).toBeUndefined();
  return { byId: new Map((r.data!.people.edges as { node: { id: string } }[]).map((e) => [e.node.id, e.node])), statement: statements.find((s) => s.includes('from "people"'))! };
}

async function viaPerson(id: string, selection: string, token: string) {
  const r = await t.gql(`query($id: ID!) { person(id: $id) { id ${selection} } }`, { id }, token);
  expect(r.errors).toBeUndefined();
  return r.data!.person;
}

describe('the people page’s narrow columns', () => {
  it.each(cases)('answer %s as the whole row does', async (_, selection) => {
    for (const who of [official, supervisor]) {
      const page = await viaPage(selection, who.token);
      expect(page.statement).not.toMatch(/"id_number_enc"|"official_sign_ref"|"needs_note"/);
      for (const id of [full, bare]) expect(page.byId.get(id)).toEqual(await viaPerson(id, selection, who.token));
    }
  });

  it('serve the benchmark’s page: no ciphertext, signatures or report notes read, and masking as on the whole row', async () => {
    const selection = 'name idNumber phone status currentPlace { countyCode } activeAgreement { cadence nextDuePeriod nextDueOn } lastReport { period reportedOn workStatus }';
    for (const who of [official, supervisor]) {
      const page = await viaPage(selection, who.token);
      expect(page.statement).toMatch(/left join "agreements"[^]*left join lateral \(select [^]* from "status_reports"/);
      expect(page.statement).not.toMatch(/"id_number_enc"|"id_number_hmac"|"official_sign_ref"|"needs_note"/);
      expect(page.byId.get(full)).toEqual(await viaPerson(full, selection, who.token));
      expect(page.byId.get(full)).toMatchObject({ activeAgreement: { cadence: 'QUARTERLY' }, lastReport: { period: '2026-Q1', workStatus: 'EMPLOYED' } });
      expect(page.byId.get(bare)).toMatchObject({ activeAgreement: null, lastReport: null });
    }
    const bySupervisor = (await viaPage(selection, supervisor.token)).byId.get(full) as unknown as { phone: string; idNumber: string };
    expect(bySupervisor.phone).toMatch(/^\d{3}\*{4}\d{4}$/);
    expect(bySupervisor.idNumber).toMatch(/^\d{6}\*{8}\d{3}[\dX]$/);
  });

  it('give way to the whole row when the operation asks more of the type, anywhere in it', async () => {
    const page = await viaPage('employer activeAgreement { cadence } lastReport { period }', official.token);
    expect(page.statement).toMatch(/"people"\."employer"/);
    expect(page.statement).not.toMatch(/"agreements"\."official_sign_ref"/);
    expect(page.byId.get(full)).toMatchObject({ employer: '某厂' });
    // The page gives its agreements to the request's loader, which another field of the operation reads (a person
    // asked by id here): what that field asks of agreements counts too.
    statements.length = 0;
    const r = await t.gql(
      `query($id: ID!) { people(filter: { namePrefix: "列宽" }) { edges { node { id activeAgreement { cadence } } } }
        person(id: $id) { activeAgreement { officialSignature { method scanRef } } lastReport { note needs } } }`,
      { id: full },
      official.token,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data!.person.activeAgreement.officialSignature).toMatchObject({ method: 'PAPER', scanRef: expect.stringMatching(/^scan-official-/) });
    expect(r.data!.person.lastReport).toEqual({ note: '工资', needs: ['LEGAL_AID'] });
    expect(statements.find((s) => s.includes('from "people"'))).toMatch(/"agreements"\."official_sign_ref"/);
  });
});

describe('mapRowsByLayout', () => {
  it('maps rows as drizzle does: whole rows of three tables, missing joins null, nesting without joins, expressions', async () => {
    const { and, eq, inArray, sql } = await import('drizzle-orm');
    const { mapRowsByLayout } = await import('../../src/db/map-rows');
    const { people } = await import('../../src/people/tables');
    const { agreements } = await import('../../src/agreements/tables');
    const { statusReports } = await import('../../src/reports/tables');
    const db = t.server.deps.db;
    const queries = [
      () =>
        db
          .select({ person: people, agreement: agreements, report: statusReports })
          .from(people)
          .leftJoin(agreements, eq(agreements.personId, people.id))
          .leftJoin(statusReports, eq(statusReports.personId, people.id))
          .where(inArray(people.id, [full, bare]))
          .orderBy(people.name),
      () => db.select({ p: { id: people.id, createdAt: people.createdAt, departureDate: people.departureDate }, name: people.name }).from(people).where(inArray(people.id, [full, bare])).orderBy(people.name),
      () => db.select({ id: people.id, n: sql<number>`1 + 1` }).from(people).where(and(inArray(people.id, [full, bare]))).orderBy(people.name),
    ];
    for (const [i, query] of queries.entries()) {
      const plain = await query().prepare(`map_plain_${i}`).execute();
      const prepared = mapRowsByLayout(query().prepare(`map_layout_${i}`));
      // (its own mapper for plain columns; drizzle's kept where an expression is selected)
      expect(typeof (prepared as unknown as { customResultMapper?: unknown }).customResultMapper).toBe(i < 2 ? 'function' : 'undefined');
      const byLayout = await prepared.execute();
      expect(plain).toHaveLength(2);
      expect(byLayout).toEqual(plain);
    }
    // (the first query's rows: a timestamp, dates, arrays and an integer among the cells, and null joins for the bare person)
    const [withAll, withNone] = (await mapRowsByLayout(queries[0]!().prepare('map_layout_check')).execute()) as any[];
    expect(withAll.agreement.createdAt).toBeInstanceOf(Date);
    expect(withAll.agreement.version).toBe(1);
    expect(withAll.report.needs).toEqual(['LEGAL_AID']);
    expect(withNone).toMatchObject({ person: { id: bare }, agreement: null, report: null });
  });
});

describe('the overdue page’s narrow columns', () => {
  // The same page with an alias asking more of both types anywhere in the operation reads whole rows.
  const WHOLE = `whole: overdueReports(asOf: "2027-06-01", first: 1) { edges { node { agreement { endNote } person { employer } } } }`;
  const overdueCases = [
    ...[...AGREEMENT_PAGE_COLUMNS.fields].map((f) => [`Agreement.${f}`, `agreement { id ${f} ${SUB[`Agreement.${f}`] ?? ''} } person { id }`]),
    ...[...PERSON_PAGE_COLUMNS.fields].map((f) => [`Person.${f}`, `agreement { id } person { id ${f} ${SUB[`Person.${f}`] ?? ''} }`]),
  ];
  it.each(overdueCases)('answer %s as whole rows do', async (_, selection) => {
    const page = `overdueReports(asOf: "2027-06-01", first: 50) { edges { node { period dueOn daysOverdue ${selection} } } pageInfo { endCursor } }`;
    for (const who of [official, supervisor]) {
      statements.length = 0;
      const narrow = await t.gql(`{ ${page} }`, {}, who.token);
      expect(narrow.errors).toBeUndefined();
      const statement = statements.find((s) => s.includes('from "agreements"'))!;
      expect(statement).not.toMatch(/"official_sign_ref"|"id_number_enc"/);
      statements.length = 0;
      const whole = await t.gql(`{ ${page} ${WHOLE} }`, {}, who.token);
      expect(whole.errors).toBeUndefined();
      expect(statements.find((s) => s.includes('from "agreements"'))).toMatch(/"agreements"\."official_sign_ref"[^]*"people"\."id_number_enc"/);
      expect(narrow.data!.overdueReports.edges.some((e: any) => e.node.person.id === full)).toBe(true);
      expect(narrow.data!.overdueReports).toEqual(whole.data!.overdueReports);
    }
  });
});
