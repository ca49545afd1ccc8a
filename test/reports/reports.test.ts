import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string; id: string };
let otherOfficial: { token: string };
let supervisor: { token: string };
let admin: { token: string };
beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '15', DUE_SOON_DAYS: '14' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  otherOfficial = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
});
afterAll(() => t.close());

const STATUS = `query($id: ID!, $asOf: Date) { person(id: $id) { reportStatus(asOf: $asOf) { state period dueOn daysOverdue } } }`;

async function submit(token: string, input: Record<string, unknown>) {
  return t.gql(SUBMIT, { input: { arrival: 'PHONE', ...input } }, token);
}

describe('status reports', () => {
  it('keeps one report per person and period; a correction names the first and keeps it as history', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-10' });
    const first = await submit(official.token, { personId: p.id, period: '2026-Q1', workStatus: 'EMPLOYED', reportedOn: '2026-03-20' });
    expect(first.data?.submitStatusReport).toMatchObject({ period: '2026-Q1', arrival: 'PHONE', superseded: false });
    const second = await submit(official.token, { personId: p.id, period: '2026-Q1', workStatus: 'SEEKING' });
    expect(second.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', existingReportId: first.data!.submitStatusReport.id });
    const amend = await submit(official.token, { personId: p.id, period: '2026-Q1', workStatus: 'SEEKING', amends: first.data!.submitStatusReport.id });
    expect(amend.errors).toBeUndefined();
    const list = await t.gql(`query($id: ID!) { person(id: $id) { current: statusReports { edges { node { id workStatus supersedes { id } } } }
      all: statusReports(includeSuperseded: true) { edges { node { workStatus superseded } } } } }`, { id: p.id }, official.token);
    expect(list.data?.person.current.edges).toEqual([{ node: { id: amend.data!.submitStatusReport.id, workStatus: 'SEEKING', supersedes: { id: first.data!.submitStatusReport.id } } }]);
    expect(list.data?.person.all.edges.map((e: any) => e.node)).toEqual(
      expect.arrayContaining([{ workStatus: 'SEEKING', superseded: false }, { workStatus: 'EMPLOYED', superseded: true }]),
    );
  });

  it('refuses bad periods, future dates and an OTHER need without a note', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    for (const [input, field] of [
      [{ period: '2026-Q5' }, 'period'],
      [{ period: '2099-01' }, 'period'],
      [{ period: '2026-10', reportedOn: '2099-01-01' }, 'reportedOn'],
      [{ period: '2026-10', needs: ['OTHER'] }, 'needsNote'],
      [{ period: '2026-10', phone: '99' }, 'phone'],
    ] as const) {
      const r = await submit(official.token, { personId: p.id, ...input });
      expect(r.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });

  it('updates the person’s phone, place and employer from a report in the same transaction, and audits it', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, phone: '13500000001', currentPlace: { countyCode: '320506' } });
    const r = await submit(official.token, {
      personId: p.id,
      period: '2026-10',
      arrival: 'LIAISON',
      phone: '13500000002',
      place: { countyCode: '320412', town: '湖塘镇' },
      employer: '常州某机械厂',
      needs: ['WAGE_ARREARS'],
    });
    expect(r.errors).toBeUndefined();
    const person = await t.gql(`query($id: ID!) { person(id: $id) { phone employer currentPlace { countyCode town } lastReport { period needs } } }`, { id: p.id }, official.token);
    expect(person.data?.person).toEqual({ phone: '13500000002', employer: '常州某机械厂', currentPlace: { countyCode: '320412', town: '湖塘镇' }, lastReport: { period: '2026-10', needs: ['WAGE_ARREARS'] } });
    const audit = await t.gql(`{ auditLog(filter: { targetId: "${p.id}", action: "person.update" }) { edges { node { details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges[0].node.details).toEqual({ source: 'STATUS_REPORT:LIAISON', fields: ['phone', 'currentCountyCode', 'currentTown', 'employer'] });
  });

  it('leaves the person untouched when the report fails', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, phone: '13500000011' });
    await submit(official.token, { personId: p.id, period: '2026-09' });
    const dup = await submit(official.token, { personId: p.id, period: '2026-09', phone: '13500000012' });
    expect(dup.errors?.[0]?.extensions.code).toBe('CONFLICT');
    const person = await t.gql(`query($id: ID!) { person(id: $id) { phone } }`, { id: p.id }, official.token);
    expect(person.data?.person.phone).toBe('13500000011');
  });

  it('refuses reports from officials of other villages, and for people who came home', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    expect((await submit(otherOfficial.token, { personId: p.id, period: '2026-10' })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await submit(supervisor.token, { personId: p.id, period: '2026-10' })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    await t.gql(`mutation { markReturned(personId: "${p.id}", returnedOn: "2026-11-01") { status } }`, {}, official.token);
    expect((await submit(official.token, { personId: p.id, period: '2026-10' })).errors?.[0]?.extensions.code).toBe('CONFLICT');
  });
});

describe('due and overdue', () => {
  it('walks through the states of a quarterly agreement as reports arrive', async () => {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, p.id, { cadence: 'QUARTERLY', validFrom: '2026-02-10' });
    const at = async (asOf: string) => (await t.gql(STATUS, { id: p.id, asOf }, official.token)).data!.person.reportStatus;
    // Q1 is due from its start; its report is on time until 15 days after the quarter ends.
    expect(await at('2026-02-20')).toEqual({ state: 'DUE', period: '2026-Q1', dueOn: '2026-04-15', daysOverdue: 0 });
    expect(await at('2026-04-05')).toMatchObject({ state: 'DUE_SOON' });
    expect(await at('2026-04-15')).toMatchObject({ state: 'DUE_SOON' });
    expect(await at('2026-04-16')).toMatchObject({ state: 'OVERDUE', daysOverdue: 1 });
    await submit(official.token, { personId: p.id, period: '2026-Q1' });
    // Q2 has already started, so its report is what is due now.
    expect(await at('2026-04-16')).toEqual({ state: 'DUE', period: '2026-Q2', dueOn: '2026-07-15', daysOverdue: 0 });
    // A monthly report covers its month only: the quarter is covered once all three months are.
    await submit(official.token, { personId: p.id, period: '2026-05' });
    expect(await at('2026-05-20')).toEqual({ state: 'DUE', period: '2026-Q2', dueOn: '2026-07-15', daysOverdue: 0 });
    await submit(official.token, { personId: p.id, period: '2026-04' });
    await submit(official.token, { personId: p.id, period: '2026-06' });
    expect(await at('2026-06-20')).toEqual({ state: 'UP_TO_DATE', period: '2026-Q3', dueOn: '2026-10-15', daysOverdue: 0 });
    await submit(official.token, { personId: p.id, period: '2026-Q4' });
    // Q3 was skipped: it is what is due, not Q1 of next year.
    expect(await at('2026-11-23')).toEqual({ state: 'OVERDUE', period: '2026-Q3', dueOn: '2026-10-15', daysOverdue: 39 });
  });

  it('computes monthly and half-yearly cadences across a year boundary', async () => {
    const m = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, m.id, { cadence: 'MONTHLY', validFrom: '2026-11-05' });
    await submit(official.token, { personId: m.id, period: '2026-11' });
    expect((await t.gql(STATUS, { id: m.id, asOf: '2027-01-16' }, official.token)).data!.person.reportStatus).toEqual({ state: 'OVERDUE', period: '2026-12', dueOn: '2027-01-15', daysOverdue: 1 });
    const h = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    await activeAgreement(t, official.token, h.id, { cadence: 'HALF_YEARLY', validFrom: '2026-08-01' });
    expect((await t.gql(STATUS, { id: h.id, asOf: '2027-01-10' }, official.token)).data!.person.reportStatus).toEqual({ state: 'DUE_SOON', period: '2026-H2', dueOn: '2027-01-15', daysOverdue: 0 });
  });

  it('lists overdue people most overdue first, pages through them, and counts per village', async () => {
    const village2 = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
    const starts = ['2026-01-05', '2026-04-05', '2026-07-05'];
    for (const [i, validFrom] of starts.entries()) {
      const p = await register(t, village2.token, { name: `逾期${i}`, homeVillageCode: SEED.villageLiyushan });
      await activeAgreement(t, village2.token, p.id, { validFrom });
    }
    const onTime = await register(t, village2.token, { name: '按时', homeVillageCode: SEED.villageLiyushan });
    await activeAgreement(t, village2.token, onTime.id, { validFrom: '2026-10-05' });
    const Q = `query($after: String) { overdueReports(asOf: "2026-11-23", villageCode: "${SEED.villageLiyushan}", first: 2, after: $after) {
      asOf totalCount edges { node { person { name } period dueOn daysOverdue } } pageInfo { hasNextPage endCursor }
      byVillage { village { code } active overdue dueSoon } } }`;
    const page1 = (await t.gql(Q, {}, village2.token)).data!.overdueReports;
    expect(page1.totalCount).toBe(3);
    expect(page1.edges.map((e: any) => e.node)).toEqual([
      { person: { name: '逾期0' }, period: '2026-Q1', dueOn: '2026-04-15', daysOverdue: 222 },
      { person: { name: '逾期1' }, period: '2026-Q2', dueOn: '2026-07-15', daysOverdue: 131 },
    ]);
    const page2 = (await t.gql(Q, { after: page1.pageInfo.endCursor }, village2.token)).data!.overdueReports;
    expect(page2.edges.map((e: any) => e.node.person.name)).toEqual(['逾期2']);
    expect(page2.pageInfo.hasNextPage).toBe(false);
    expect(page1.byVillage).toEqual([{ village: { code: SEED.villageLiyushan }, active: 4, overdue: 3, dueSoon: 0 }]);
    const town = (await t.gql(`{ overdueReports(asOf: "2026-11-23", townCode: "${SEED.townWangji}") { byVillage { village { code } overdue } } }`, {}, supervisor.token)).data!.overdueReports;
    expect(town.byVillage.map((v: any) => v.village.code)).toEqual(expect.arrayContaining([SEED.villageWangji, SEED.villageLiyushan]));
  });

  it('keeps officials to their village and supervisors to their town', async () => {
    const q = (args: string, token: string) => t.gql(`{ overdueReports(${args}) { totalCount } }`, {}, token);
    expect((await q(`villageCode: "${SEED.villageLiyushan}"`, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await q(`townCode: "${SEED.townWangji}"`, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await q(`townCode: "${SEED.townShuanggou}"`, supervisor.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await q(`villageCode: "${SEED.villageShuanggou}"`, supervisor.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await q('first: 5', admin.token)).errors).toBeUndefined();
  });
});
