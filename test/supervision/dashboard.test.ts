import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inquiryRecordedAt, PINNED_DAY, recordedAt, recordedOnPinnedDay } from '../helpers/history';
import { nextIdNumber } from '../helpers/registry';
import { partnerInquiries, PARTNER } from '../helpers/inquiries';
import { activeAgreement, register, sign, SUBMIT } from '../helpers/registry';
import { ratingToken } from '../helpers/ratings';
import { SEED, startTestServer, type TestServer } from '../helpers/server';
import { figuresWindow, villageChunks, villageFigures } from '../../src/supervision/dashboard';

/**
 * A seeded town (王集镇: 王集村, 鲤鱼山村, 路东村) and its dashboard for the running quarter 2026-Q4, taken on
 * 2026-11-23 with 15 days' grace: the reports due in the window are 2026-Q3 (due 10-15), 2026-09 (10-15) and
 * 2026-10 (11-15). Every expected figure below is worked out by hand next to the data that produces it. What was
 * recorded today counts as recorded on 2026-11-23 (see recordedOnPinnedDay).
 */
let t: TestServer;
let official: { token: string; id: string };
let officialL: { token: string };
let supervisor: { token: string };
let inquiries: Awaited<ReturnType<typeof partnerInquiries>>;
const W = SEED.villageWangji;
const L = SEED.villageLiyushan;
const D = '320324101203';

const DASHBOARD = `query($p: String!, $asOf: Date = "${PINNED_DAY}") { supervisionDashboard(townCode: "${SEED.townWangji}", period: $p, asOf: $asOf) {
  period from to asOf complete
  villages { village { code } activeAgreements reportsDue reportsOnTime reportsOverdue overdueRate checksDone brokenCommitments openDepositComplaints openInquiriesPastDue ratingCount averageRating }
  totals { village { code } activeAgreements reportsDue reportsOnTime reportsOverdue overdueRate checksDone brokenCommitments openDepositComplaints openInquiriesPastDue ratingCount averageRating }
  depositComplaints { description status resolution } } }`;

/** Reports and when each was recorded (entered here: a day at 10:00, or an instant), set once everything is seeded. */
const recordedOn: [string, string][] = [];

async function report(token: string, personId: string, period: string, reportedOn: string, recorded = reportedOn) {
  const r = await t.gql(SUBMIT, { input: { personId, period, arrival: 'PHONE', reportedOn } }, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  recordedOn.push([r.data!.submitStatusReport.id, recorded]);
}

/** A rating of a closed period, given (and, with another of the village and period, published) today. */
async function rate(agreementId: string, score: number, period: string, token = official.token) {
  const rating = await ratingToken(t, token, { agreementId }, period);
  await t.gql(`mutation($t: String!) { submitRating(token: $t, score: ${score}) }`, { t: rating });
}

async function check(input: Record<string, unknown>) {
  const r = await t.gql(`mutation($i: SupervisionCheckInput!) { recordSupervisionCheck(input: $i) { id finding followUp { state } } }`, { i: input }, supervisor.token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.recordSupervisionCheck;
}

beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '15', RATING_MIN_GROUP_SIZE: '2' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: W });
  officialL = await t.user({ role: 'VILLAGE_OFFICIAL', scope: L });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  const person = async (village: string, token: string) => (await register(t, token, { homeVillageCode: village })).id;

  // 王集村
  const p1 = await person(W, official.token); // Q3 reported 10-10: on time
  const a1 = await activeAgreement(t, official.token, p1, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
  await report(official.token, p1, '2026-Q3', '2026-10-10');
  const p2 = await person(W, official.token); // Q3 reported 11-01: overdue
  const a2 = await activeAgreement(t, official.token, p2, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
  await report(official.token, p2, '2026-Q3', '2026-11-01');
  const p3 = await person(W, official.token); // monthly from August: September on time, October missing
  await activeAgreement(t, official.token, p3, { cadence: 'MONTHLY', validFrom: '2026-08-01' });
  await report(official.token, p3, '2026-09', '2026-10-12');
  const p4 = await person(W, official.token); // starts in October: nothing due yet, but active
  await activeAgreement(t, official.token, p4, { cadence: 'QUARTERLY', validFrom: '2026-10-05' });
  const p5 = await person(W, official.token); // in force at the end of Q3, withdrew today: Q3 overdue, not active
  await activeAgreement(t, official.token, p5, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
  await t.gql(`mutation { withdrawConsent(personId: "${p5}", kind: AGREEMENT) { kind } }`, {}, official.token);
  const p6 = await person(W, official.token); // quarterly v1 reported Q3 on time, amended today to monthly (v2, validFrom kept)
  const v1 = await activeAgreement(t, official.token, p6, { cadence: 'QUARTERLY', validFrom: '2026-01-01' });
  await report(official.token, p6, '2026-Q3', '2026-10-01');
  const v2 = (await t.gql(`mutation { amendAgreement(id: "${v1.id}", input: { cadence: MONTHLY }) { id } }`, {}, official.token)).data!.amendAgreement.id;
  await sign(t, official.token, v2, 'OFFICIAL');
  await sign(t, official.token, v2, 'PERSON');
  // Checks: one KEPT and one BROKEN in the quarter; one from September does not count.
  await check({ agreementId: a1.id, commitmentCode: 'NO_DEPOSIT', finding: 'KEPT', evidence: '走访核实未收押金', checkedOn: '2026-10-20' });
  await check({ officialUserId: official.id, commitmentCode: 'FOLLOW_UP_SERVICE', finding: 'BROKEN', evidence: '三个月未联系外出人员', checkedOn: '2026-11-02', followUpDueOn: '2026-12-01' });
  await check({ officialUserId: official.id, commitmentCode: 'RESPECT_RIGHTS', finding: 'BROKEN', evidence: '九月的检查', checkedOn: '2026-09-20' });
  // Complaints: one open; one reported in the quarter and resolved today (so not open on the reference day).
  await t.gql(`mutation { recordDepositComplaint(agreementId: "${a1.id}", description: "被要求交保证金", reportedOn: "2026-10-18") { id } }`, {}, official.token);
  const resolved = await t.gql(`mutation { recordDepositComplaint(agreementId: "${a2.id}", description: "被要求交押金", reportedOn: "2026-10-03") { id } }`, {}, official.token);
  await t.gql(`mutation { resolveDepositComplaint(id: "${resolved.data!.recordDepositComplaint.id}", resolution: "已退还并批评教育") { id } }`, {}, supervisor.token);
  // Ratings count in the window of the period rated, not of the day they were published (all were published today,
  // in Q4): October's in the Q4 window, Q3's in the Q3 window only.
  await rate(a1.id, 4, '2026-10');
  await rate(a2.id, 5, '2026-10');
  await rate(a1.id, 1, '2026-Q3');
  await rate(v2, 2, '2026-Q3');

  // 鲤鱼山村
  const q1 = await person(L, officialL.token); // half-yearly: H1 was due in July, H2 in January: nothing due
  await activeAgreement(t, officialL.token, q1, { cadence: 'HALF_YEARLY', validFrom: '2026-01-01' });
  const q2 = await person(L, officialL.token); // Q3 reported on its due day and entered late that day: on time
  const b2 = await activeAgreement(t, officialL.token, q2, { cadence: 'QUARTERLY', validFrom: '2026-07-01' });
  await report(officialL.token, q2, '2026-Q3', '2026-10-15', '2026-10-15T23:30:00+08:00');
  // Q3 reported on 10-14 but entered half an hour after its due day (county time; still 10-15 in UTC): overdue
  const q3 = await person(L, officialL.token);
  await activeAgreement(t, officialL.token, q3, { cadence: 'QUARTERLY', validFrom: '2026-07-01' });
  await report(officialL.token, q3, '2026-Q3', '2026-10-14', '2026-10-16T00:30:00+08:00');
  // Quarterly people reporting month by month: a report covers only the months inside it (the core's rule), so Q3
  // is on time only when July, August and September were all in on time. Counting any report that overlaps the
  // quarter, q4 and q5 would be on time too.
  const q4 = await person(L, officialL.token); // only September: July and August not covered, overdue
  await activeAgreement(t, officialL.token, q4, { cadence: 'QUARTERLY', validFrom: '2026-07-01' });
  await report(officialL.token, q4, '2026-09', '2026-10-10');
  const q5 = await person(L, officialL.token); // July and August on time, September after the due day: overdue
  await activeAgreement(t, officialL.token, q5, { cadence: 'QUARTERLY', validFrom: '2026-07-01' });
  await report(officialL.token, q5, '2026-07', '2026-08-05');
  await report(officialL.token, q5, '2026-08', '2026-09-05');
  await report(officialL.token, q5, '2026-09', '2026-10-20');
  const q6 = await person(L, officialL.token); // July, August and September all on time: Q3 on time
  await activeAgreement(t, officialL.token, q6, { cadence: 'QUARTERLY', validFrom: '2026-07-01' });
  await report(officialL.token, q6, '2026-07', '2026-08-05');
  await report(officialL.token, q6, '2026-08', '2026-09-05');
  await report(officialL.token, q6, '2026-09', '2026-10-15');
  await rate(b2.id, 3, '2026-10', officialL.token);

  // Inquiries about people of 王集村 (residents without agreements, so no other figure moves), recorded on 11-01/11-05.
  inquiries = await partnerInquiries(t, (await t.user({ role: 'COUNTY_ADMIN' })).token);
  const r1 = await inquiries.resident(official.token, W);
  const r2 = await inquiries.resident(official.token, W);
  const early = '2026-11-01T09:00:00+08:00';
  await inquiries.pastInquiry(r1.subject, early, '2026-11-10'); // never answered: past due from 11-11
  const answered = await inquiries.pastInquiry(r2.subject, early, '2026-11-15'); // past due from 11-16, answered on 11-23
  const a = await t.gql(`mutation { answerInquiry(id: "${answered}", result: DECLINED, answer: "本人暂不同意核实") { status } }`, {}, official.token);
  if (a.errors) throw new Error(JSON.stringify(a.errors));
  await inquiries.pastInquiry(r2.subject, early, PINNED_DAY); // due on the reference day: not past due yet
  await inquiries.pastInquiry({ idNumber: nextIdNumber(), name: '丙' }, early, '2026-11-10'); // no one here: county level, in no village
  // Ours to the partner, unanswered since its deadline of 11-20: the partner is late, and it counts too.
  const sent = await t.gql(
    `mutation($p: ID!) { sendInquiry(input: { personId: $p, partnerCountyCode: "${PARTNER}", purpose: SERVICE_FOLLOW_UP, question: "工资追回了吗", urgency: NORMAL }) { id } }`,
    { p: r1.id },
    official.token,
  );
  if (sent.errors) throw new Error(JSON.stringify(sent.errors));
  await inquiryRecordedAt(t.server.deps.db, sent.data!.sendInquiry.id, '2026-11-05T09:00:00+08:00', '2026-11-20');
  await recordedOnPinnedDay(t.server.deps.db, t.config.timeZone);
  for (const [id, at] of recordedOn) await recordedAt(t.server.deps.db, 'status_reports', 'created_at', id, at.length === 10 ? `${at}T10:00:00+08:00` : at);
});
afterAll(async () => {
  await inquiries.close();
  await t.close();
});

const figures = (code: string | null, f: Record<string, unknown>) => ({
  village: code ? { code } : null,
  openInquiriesPastDue: 0,
  ...f,
});

describe('supervision dashboard', () => {
  it('gives the hand-computed figures per village and for the town', async () => {
    const r = await t.gql(DASHBOARD, { p: '2026-Q4' }, supervisor.token);
    expect(r.errors).toBeUndefined();
    const d = r.data!.supervisionDashboard;
    expect(d).toMatchObject({ period: '2026-Q4', from: '2026-10-01', to: '2026-12-31', asOf: '2026-11-23', complete: false });
    expect(d.villages).toEqual([
      // active: p1 p2 p3 p4 p6(v2). due: p1 p2 p5 (Q3) + p3 (Sep, Oct) + p6 (Sep, Oct) = 7; on time: p1, p3 Sep,
      // p6 Sep (inside its Q3 report) = 3. p6's amendment kept validFrom 2026-01-01, so under the core's rule
      // (owedTerms) v2's monthly cadence applies from January and v1 owes nothing more (its term would end the day
      // before v2 starts); the dashboard's old rule graded Q3 under v1 and the months only from v2's activation.
      // inquiries past due on 11-23: the partner's due 11-10 and ours due 11-20 (the one due 11-15 was answered that day).
      figures(W, { activeAgreements: 5, reportsDue: 7, reportsOnTime: 3, reportsOverdue: 4, overdueRate: 57.1, checksDone: 2, brokenCommitments: 1, openDepositComplaints: 1, openInquiriesPastDue: 2, ratingCount: 2, averageRating: 4.5 }),
      // active: q1-q6. due: q2-q6 (Q3) = 5; on time: q2 (in and entered on the due day) and q6 (every month) = 2;
      // 3 of 5 overdue = 60% (by any overlapping report it would be 1 of 5 = 20%). One rating: below the minimum of
      // 2, hidden.
      figures(L, { activeAgreements: 6, reportsDue: 5, reportsOnTime: 2, reportsOverdue: 3, overdueRate: 60, checksDone: 0, brokenCommitments: 0, openDepositComplaints: 0, ratingCount: null, averageRating: null }),
      figures(D, { activeAgreements: 0, reportsDue: 0, reportsOnTime: 0, reportsOverdue: 0, overdueRate: null, checksDone: 0, brokenCommitments: 0, openDepositComplaints: 0, ratingCount: null, averageRating: null }),
    ]);
    // 7 overdue of 12 due = 58.3%.
    expect(d.totals).toEqual(figures(null, { activeAgreements: 11, reportsDue: 12, reportsOnTime: 5, reportsOverdue: 7, overdueRate: 58.3, checksDone: 2, brokenCommitments: 1, openDepositComplaints: 1, openInquiriesPastDue: 2, ratingCount: null, averageRating: null }));
    expect(d.depositComplaints).toEqual(
      expect.arrayContaining([
        { description: '被要求交保证金', status: 'OPEN', resolution: null },
        { description: '被要求交押金', status: 'RESOLVED', resolution: '已退还并批评教育' },
      ]),
    );
  });

  it('counts ratings by the period rated: a closed quarter shows the ratings of it given later', async () => {
    const q3 = (await t.gql(DASHBOARD, { p: '2026-Q3' }, supervisor.token)).data!.supervisionDashboard;
    expect(q3.complete).toBe(true);
    // 王集村's two Q3 ratings (1 and 2), published on 11-23, after the quarter; October's are not of Q3.
    expect(q3.villages.map((v: any) => [v.village.code, v.ratingCount, v.averageRating])).toEqual([
      [W, 2, 1.5],
      [L, null, null],
      [D, null, null],
    ]);
    // On 10-31 no period of Q4 was over yet: nothing to count, though October's ratings exist now.
    const early = (await t.gql(DASHBOARD, { p: '2026-Q4', asOf: '2026-10-31' }, supervisor.token)).data!.supervisionDashboard;
    expect(early.villages[0]).toMatchObject({ ratingCount: null, averageRating: null });
  });

  it('gives the same figures whether the villages are taken in one statement or split into several', async () => {
    const deps = t.server.deps;
    // three villages in runs of consecutive codes, in order: [W, L] and [D] for two statements, one each for three
    expect(await villageChunks(deps.db, SEED.townWangji, 1)).toEqual([undefined]);
    expect(await villageChunks(deps.db, SEED.townWangji, 2)).toEqual([[W, L], [D]]);
    expect(await villageChunks(deps.db, SEED.townWangji, 3)).toEqual([[W], [L], [D]]);
    expect(await villageChunks(deps.db, SEED.townWangji, 16)).toEqual([[W], [L], [D]]);
    for (const [period, asOf] of [['2026-Q4', PINNED_DAY], ['2026-Q3', PINNED_DAY], ['2026-H2', PINNED_DAY]] as const) {
      const w = figuresWindow(deps, period, 'period', asOf);
      const one = await villageFigures(deps, SEED.townWangji, w, 1);
      expect(one.map((f) => f.villageCode)).toEqual([W, L, D]);
      // Q3 as it stood on its last day: nothing recorded by then but its ratings (given later)
      expect(one.some((f) => (period === '2026-Q3' ? (f.ratingCount ?? 0) : f.reportsOnTime) > 0)).toBe(true);
      for (const n of [2, 3]) expect(await villageFigures(deps, SEED.townWangji, w, n)).toEqual(one);
      // the whole county (the quarterly warning's figures): every village once, in code order, the same figures
      const county = await villageFigures(deps, null, w, 1);
      expect(county.map((f) => f.villageCode)).toEqual([...county.map((f) => f.villageCode)].sort());
      expect(await villageFigures(deps, null, w, 2)).toEqual(county);
      expect(county.filter((f) => [W, L, D].includes(f.villageCode))).toEqual(one);
    }
  });

  it('counts inquiries open past their deadline as they stood on an earlier day', async () => {
    const past = async (asOf: string) => (await t.gql(DASHBOARD, { p: '2026-Q4', asOf }, supervisor.token)).data!.supervisionDashboard.villages.map((v: any) => v.openInquiriesPastDue);
    // 11-10: nothing past due yet (due 11-10 is due that day). 11-12: the one due 11-10. 11-16: and the one due
    // 11-15, not answered until 11-23. 11-21: and ours due 11-20.
    expect(await past('2026-11-10')).toEqual([0, 0, 0]);
    expect(await past('2026-11-12')).toEqual([1, 0, 0]);
    expect(await past('2026-11-16')).toEqual([2, 0, 0]);
    expect(await past('2026-11-21')).toEqual([3, 0, 0]);
  });

  it('lists only the deposit complaints recorded by the reference day', async () => {
    // Both complaints were recorded on 11-23, dated back to October: on 11-12 neither was known.
    const d = (await t.gql(DASHBOARD, { p: '2026-Q4', asOf: '2026-11-12' }, supervisor.token)).data!.supervisionDashboard;
    expect(d.depositComplaints).toEqual([]);
    expect(d.totals.openDepositComplaints).toBe(0);
  });

  it('keeps the dashboard to supervisors of the town and administrators', async () => {
    const other = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou });
    expect((await t.gql(DASHBOARD, { p: '2026-Q4' }, other.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(DASHBOARD, { p: '2026-Q4' }, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(DASHBOARD, { p: '2027-Q1' }, supervisor.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'period' });
    expect((await t.gql(DASHBOARD, { p: '2026-Q4', asOf: '2099-01-01' }, supervisor.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'asOf' });
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    expect((await t.gql(DASHBOARD, { p: '2026-11' }, admin.token)).data?.supervisionDashboard.period).toBe('2026-11');
  });

  it('lists checks and care visits, and completes a follow-up once', async () => {
    const checks = await t.gql(`{ supervisionChecks(filter: { followUpOpen: true }) { id finding commitment { code } official { id } followUp { state dueOn } } }`, {}, supervisor.token);
    expect(checks.data?.supervisionChecks).toEqual([{ id: expect.any(String), finding: 'BROKEN', commitment: { code: 'FOLLOW_UP_SERVICE' }, official: { id: official.id }, followUp: { state: 'OPEN', dueOn: '2026-12-01' } }]);
    const id = checks.data!.supervisionChecks[0].id;
    const done = await t.gql(`mutation { completeCheckFollowUp(id: "${id}", input: { note: "已约谈村干部并恢复联系" }) { followUp { state note } } }`, {}, supervisor.token);
    expect(done.data?.completeCheckFollowUp.followUp).toEqual({ state: 'DONE', note: '已约谈村干部并恢复联系' });
    expect((await t.gql(`mutation { completeCheckFollowUp(id: "${id}", input: { note: "again" }) { id } }`, {}, supervisor.token)).errors?.[0]?.extensions.code).toBe('CONFLICT');
    // Officials see the checks about their village but cannot record them.
    expect((await t.gql(`{ supervisionChecks { id } }`, {}, official.token)).data?.supervisionChecks).toHaveLength(3);
    expect((await t.gql(`{ supervisionChecks { id } }`, {}, officialL.token)).data?.supervisionChecks).toHaveLength(0);
    const bad = await t.gql(`mutation { recordSupervisionCheck(input: { officialUserId: "${official.id}", commitmentCode: "REPORT_PERIODICALLY", finding: KEPT, evidence: "x" }) { id } }`, {}, supervisor.token);
    expect(bad.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'commitmentCode' });

    const p = await register(t, official.token, { homeVillageCode: W, dependants: [{ relation: 'GRANDPARENT', ageBand: 'AGE_80_PLUS' }, { relation: 'CHILD', ageBand: 'AGE_6_11' }] });
    const deps = (await t.gql(`{ person(id: "${p.id}") { dependants { id relation } } }`, {}, official.token)).data!.person.dependants;
    const child = deps.find((d: any) => d.relation === 'CHILD').id;
    const v = await t.gql(`mutation { recordCareVisit(input: { dependantId: "${child}", visitedOn: "2026-11-10", visitors: "镇民政办 李某；村妇联 王某", needsFound: [SCHOOL_PLACE], followUpDueOn: "2026-12-10" }) { relation ageBand needsFound followUp { state } person { id } dependant { id } } }`, {}, supervisor.token);
    expect(v.data?.recordCareVisit).toEqual({ relation: 'CHILD', ageBand: 'AGE_6_11', needsFound: ['SCHOOL_PLACE'], followUp: { state: 'OPEN' }, person: { id: p.id }, dependant: { id: child } });
    const visitByOfficial = await t.gql(`mutation { recordCareVisit(input: { dependantId: "${child}", visitors: "x" }) { id } }`, {}, official.token);
    expect(visitByOfficial.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(`{ careVisits { visitors } }`, {}, official.token)).data?.careVisits).toEqual([{ visitors: '镇民政办 李某；村妇联 王某' }]);
  });
});
