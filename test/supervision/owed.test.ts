import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PINNED_DAY, pinHistory, type RecordedOn } from '../helpers/history';
import { activeAgreement, register, sign, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * The reports a person owes across amended and renewed agreement versions, on the dashboard as in the core
 * (owedTerms, src/reports/owed.ts). One case per village of 王集镇, where the dashboard's former rule (a replacing
 * version starts on the day it was activated; a version counts only periods that ended before it was replaced)
 * gave other figures. Window 2026-Q4 taken on 2026-11-23 with 15 days' grace: graded are 2026-Q3 (due 10-15),
 * 2026-09 (10-15) and 2026-10 (11-15). Activations and reports are dated back to when they happened.
 */
let t: TestServer;
const W = SEED.villageWangji;
const L = SEED.villageLiyushan;
const D = '320324101203';
/** The core's next due period of each case's current version, as stored when it was signed and reported. */
const coreNextDue: Record<string, string | null> = {};
const recorded: RecordedOn[] = [];

const DASHBOARD = `query($p: String!, $asOf: Date) { supervisionDashboard(townCode: "${SEED.townWangji}", period: $p, asOf: $asOf) {
  villages { village { code } activeAgreements reportsDue reportsOnTime reportsOverdue } } }`;

async function newVersion(token: string, action: 'amendAgreement' | 'renewAgreement', id: string, input: string) {
  const r = await t.gql(`mutation { ${action}(id: "${id}", input: { ${input} }) { id } }`, {}, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const next = r.data![action].id as string;
  await sign(t, token, next, 'OFFICIAL');
  await sign(t, token, next, 'PERSON');
  return next;
}

/** Dates a version's activation and the end of the one it replaced back to `day` (10:00 county time). */
function activatedOn(id: string, replaced: string | null, day: string) {
  recorded.push(['agreements', 'activated_at', id, day]);
  if (replaced) recorded.push(['agreements', 'ended_at', replaced, day]);
}

async function report(token: string, personId: string, period: string, reportedOn: string) {
  const r = await t.gql(SUBMIT, { input: { personId, period, arrival: 'PHONE', reportedOn } }, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  recorded.push(['status_reports', 'created_at', r.data!.submitStatusReport.id, reportedOn]);
}

/** Q1 and Q2 reported on time by everyone, so the core's next due period is the first one the cases differ on. */
async function firstHalf(token: string, personId: string) {
  await report(token, personId, '2026-Q1', '2026-04-10');
  await report(token, personId, '2026-Q2', '2026-07-10');
}

async function nextDueOf(id: string) {
  const r = await t.gql(`query { agreement(id: "${id}") { nextDuePeriod } }`, {}, (await t.user({ role: 'COUNTY_ADMIN' })).token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!.agreement.nextDuePeriod as string | null;
}

beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '15' });
  const official = async (village: string) => (await t.user({ role: 'VILLAGE_OFFICIAL', scope: village })).token;

  // 王集村: quarterly from January, amended to monthly from 09-01, signed on 10-20; Q3 reported on 10-10.
  // Core: v1 owes up to 08-31 (Q3), v2 every month from September: Q3 and 09 on time (the Q3 report holds
  // September), 10 missing. Old rule: Q3 (v1 ended after it), and v2 only from 10-20: 10.
  const w = await official(W);
  const a = (await register(t, w, { homeVillageCode: W })).id;
  const a1 = (await activeAgreement(t, w, a, { cadence: 'QUARTERLY', validFrom: '2026-01-01' })).id;
  await firstHalf(w, a);
  await report(w, a, '2026-Q3', '2026-10-10');
  const a2 = await newVersion(w, 'amendAgreement', a1, 'cadence: MONTHLY, validFrom: "2026-09-01"');
  activatedOn(a1, null, '2026-01-05');
  activatedOn(a2, a1, '2026-10-20');
  coreNextDue.W = await nextDueOf(a2);
  // 王集村 too: the renewal of case 鲤鱼山村 below (signed 09-20), then home on 09-25, before Q3 ended: no longer
  // bound on Q3's last day, so Q3 is not graded (the core asks nothing once no agreement is active) — the old term
  // stays owed only while its chain of versions is in force.
  const e = (await register(t, w, { homeVillageCode: W })).id;
  const e1 = (await activeAgreement(t, w, e, { cadence: 'QUARTERLY', validFrom: '2026-01-01', validTo: '2026-09-30' })).id;
  await firstHalf(w, e);
  const e2 = await newVersion(w, 'renewAgreement', e1, 'cadence: QUARTERLY');
  const home = await t.gql(`mutation { markReturned(personId: "${e}", returnedOn: "2026-09-25") { status } }`, {}, w);
  if (home.errors) throw new Error(JSON.stringify(home.errors));
  activatedOn(e1, null, '2026-01-05');
  activatedOn(e2, e1, '2026-09-20');
  recorded.push(['agreements', 'ended_at', e2, '2026-09-25']);

  // 鲤鱼山村: quarterly for 2026-01-01..09-30, renewed from 10-01 and signed on 09-20, before the term ended.
  // Core: v1 owes Q3 (its term ends 09-30, the day before v2 starts); not reported: overdue. Old rule: v1 was
  // replaced before Q3 ended and v2 starts on 10-01: Q3 owed by no one.
  const l = await official(L);
  const b = (await register(t, l, { homeVillageCode: L })).id;
  const b1 = (await activeAgreement(t, l, b, { cadence: 'QUARTERLY', validFrom: '2026-01-01', validTo: '2026-09-30' })).id;
  await firstHalf(l, b);
  const b2 = await newVersion(l, 'renewAgreement', b1, 'cadence: QUARTERLY');
  activatedOn(b1, null, '2026-01-05');
  activatedOn(b2, b1, '2026-09-20');
  coreNextDue.L = await nextDueOf(b2);

  // 路东村: the same renewal (signed 09-10), then the renewal amended to monthly from its start 10-01 (signed
  // 09-20, still before Q3 ended): three versions in a row. Core: v1 owes Q3, v2 nothing (its term ends before it
  // starts), v3 every month from October; October reported on time, Q3 not. Old rule: only October.
  const d = await official(D);
  const c = (await register(t, d, { homeVillageCode: D })).id;
  const c1 = (await activeAgreement(t, d, c, { cadence: 'QUARTERLY', validFrom: '2026-01-01', validTo: '2026-09-30' })).id;
  await firstHalf(d, c);
  const c2 = await newVersion(d, 'renewAgreement', c1, 'cadence: QUARTERLY');
  const c3 = await newVersion(d, 'amendAgreement', c2, 'cadence: MONTHLY');
  await report(d, c, '2026-10', '2026-11-10');
  activatedOn(c1, null, '2026-01-05');
  activatedOn(c2, c1, '2026-09-10');
  activatedOn(c3, c2, '2026-09-20');
  coreNextDue.D = await nextDueOf(c3);

  await pinHistory(t.server.deps.db, t.config.timeZone, recorded);
});
afterAll(async () => {
  await t.close();
});

describe('reports owed across agreement versions', () => {
  it('follow the core: a renewal keeps the old term’s last periods due, an amendment’s cadence applies from its validFrom', async () => {
    const r = await t.gql(DASHBOARD, { p: '2026-Q4', asOf: PINNED_DAY }, (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji })).token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.supervisionDashboard.villages).toEqual([
      // Q3, 09 on time; 10 overdue (old rule: 2 due, 1 on time); nothing for the person who came home
      { village: { code: W }, activeAgreements: 1, reportsDue: 3, reportsOnTime: 2, reportsOverdue: 1 },
      // Q3 overdue (old rule: nothing due)
      { village: { code: L }, activeAgreements: 1, reportsDue: 1, reportsOnTime: 0, reportsOverdue: 1 },
      // Q3 overdue, 10 on time (old rule: 1 due, on time)
      { village: { code: D }, activeAgreements: 1, reportsDue: 2, reportsOnTime: 1, reportsOverdue: 1 },
    ]);
    // the core's overdue list names the same first missing period for each
    expect(coreNextDue).toEqual({ W: '2026-10', L: '2026-Q3', D: '2026-Q3' });
  });

  it('take a later version into account from the day it was activated', async () => {
    // On 10-18 (graded: Q3 and 09, due 10-15) 王集村's amendment was not signed yet (10-20): the quarterly v1
    // alone owed Q3, reported on time; September was owed only once v2 was in force. The renewals were signed.
    const r = await t.gql(DASHBOARD, { p: '2026-Q4', asOf: '2026-10-18' }, (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji })).token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.supervisionDashboard.villages.map((v: any) => [v.village.code, v.reportsDue, v.reportsOnTime])).toEqual([
      [W, 1, 1],
      [L, 1, 0],
      [D, 1, 0],
    ]);
  });
});
