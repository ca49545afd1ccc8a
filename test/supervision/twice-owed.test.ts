import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PINNED_DAY, pinHistory, type RecordedOn } from '../helpers/history';
import { activeAgreement, register, sign, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * A period owed under two versions of one agreement is due once. 王集村: quarterly from January, amended (still
 * quarterly) from 08-16 and signed on 09-01: the core's v1 owes up to 08-15 and v2 from 08-16, so Q3 overlaps both
 * terms. The figures' statement no longer drops such duplicates before grading (it groups by person and period);
 * this is the case that would count Q3 twice if it did not. 鲤鱼山村: the same, without the Q3 report. Window 2026-Q4
 * taken on 2026-11-23 with 15 days' grace: Q3 (due 10-15) is the only period graded.
 */
let t: TestServer;
const W = SEED.villageWangji;
const L = SEED.villageLiyushan;
const D = '320324101203';
const recorded: RecordedOn[] = [];

const DASHBOARD = `query($p: String!, $asOf: Date) { supervisionDashboard(townCode: "${SEED.townWangji}", period: $p, asOf: $asOf) {
  villages { village { code } activeAgreements reportsDue reportsOnTime reportsOverdue } totals { reportsDue reportsOnTime } } }`;

async function amendedFromMidQ3(village: string, reportQ3: boolean) {
  const token = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: village })).token;
  const p = (await register(t, token, { homeVillageCode: village })).id;
  const v1 = (await activeAgreement(t, token, p, { cadence: 'QUARTERLY', validFrom: '2026-01-01' })).id;
  const r = await t.gql(`mutation { amendAgreement(id: "${v1}", input: { validFrom: "2026-08-16" }) { id } }`, {}, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  const v2 = r.data!.amendAgreement.id as string;
  await sign(t, token, v2, 'OFFICIAL');
  await sign(t, token, v2, 'PERSON');
  recorded.push(['agreements', 'activated_at', v1, '2026-01-05'], ['agreements', 'activated_at', v2, '2026-09-01'], ['agreements', 'ended_at', v1, '2026-09-01']);
  if (reportQ3) {
    const s = await t.gql(SUBMIT, { input: { personId: p, period: '2026-Q3', arrival: 'PHONE', reportedOn: '2026-10-10' } }, token);
    if (s.errors) throw new Error(JSON.stringify(s.errors));
    recorded.push(['status_reports', 'created_at', s.data!.submitStatusReport.id, '2026-10-10']);
  }
}

beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '15' });
  await amendedFromMidQ3(W, true);
  await amendedFromMidQ3(L, false);
  await pinHistory(t.server.deps.db, t.config.timeZone, recorded);
});
afterAll(async () => {
  await t.close();
});

describe('a period owed under two versions', () => {
  it('is due once, on time or not', async () => {
    const r = await t.gql(DASHBOARD, { p: '2026-Q4', asOf: PINNED_DAY }, (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji })).token);
    expect(r.errors).toBeUndefined();
    expect(r.data!.supervisionDashboard.villages).toEqual([
      { village: { code: W }, activeAgreements: 1, reportsDue: 1, reportsOnTime: 1, reportsOverdue: 0 },
      { village: { code: L }, activeAgreements: 1, reportsDue: 1, reportsOnTime: 0, reportsOverdue: 1 },
      { village: { code: D }, activeAgreements: 0, reportsDue: 0, reportsOnTime: 0, reportsOverdue: 0 },
    ]);
    expect(r.data!.supervisionDashboard.totals).toEqual({ reportsDue: 2, reportsOnTime: 1 });
  });
});
