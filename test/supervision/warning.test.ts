import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { rows } from '../../src/db/client';
import { periodContaining } from '../../src/reports/periods';
import { recordedAt } from '../helpers/history';
import { partnerInquiries, PARTNER } from '../helpers/inquiries';
import { ratingToken } from '../helpers/ratings';
import { activeAgreement, nextIdNumber, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * 双沟镇's history in 2026-Q3 (15 days' grace: reports due in the quarter are Q2 (07-15), H1 (07-15) and the June,
 * July and August monthly reports), recorded back then; then later changes that must not alter the Q3 warning.
 */
let t: TestServer;
let official: { token: string; id: string };
let official2: { token: string; id: string };
let supervisor: { token: string };
let inquiries: Awaited<ReturnType<typeof partnerInquiries>>;
let admin: { token: string };
const S1 = SEED.villageShuanggou;
const S2 = '320324102202';

const WARNING = `query($town: String) { quarterlyWarning(quarter: "2026-Q3", townCode: $town) { quarter from to town { code } thresholds { overdueRatePercent brokenCommitments unansweredInquiries }
  villages { figures { village { code } reportsDue reportsOnTime reportsOverdue overdueRate checksDone brokenCommitments openInquiriesPastDue ratingCount averageRating } reasons { code value threshold } } csvPath pdfPath computedAt } }`;
const DASHBOARD = `query($town: String!) { supervisionDashboard(townCode: $town, period: "2026-Q3") { complete
  villages { village { code } reportsDue reportsOnTime reportsOverdue overdueRate checksDone brokenCommitments openInquiriesPastDue ratingCount averageRating } } }`;

const ids: Record<string, string> = {};

async function seedAgreement(token: string, village: string, cadence: string, validFrom: string, activatedAt: string) {
  const p = await register(t, token, { homeVillageCode: village });
  const a = await activeAgreement(t, token, p.id, { cadence, validFrom });
  await recordedAt(t.server.deps.db, 'agreements', 'activated_at', a.id, activatedAt);
  return { personId: p.id, agreementId: a.id };
}

async function seedReport(token: string, personId: string, period: string, reportedOn: string, recordedOn: string) {
  const r = await t.gql(SUBMIT, { input: { personId, period, arrival: 'PHONE', reportedOn } }, token);
  await recordedAt(t.server.deps.db, 'status_reports', 'created_at', r.data!.submitStatusReport.id, `${recordedOn}T10:00:00+08:00`);
}

async function seedCheck(villageOfficial: string, finding: string, checkedOn: string, recordedOn?: string) {
  const r = await t.gql(`mutation { recordSupervisionCheck(input: { officialUserId: "${villageOfficial}", commitmentCode: "FOLLOW_UP_SERVICE", finding: ${finding}, evidence: "督查记录", checkedOn: "${checkedOn}" }) { id } }`, {}, supervisor.token);
  if (recordedOn) await recordedAt(t.server.deps.db, 'supervision_checks', 'created_at', r.data!.recordSupervisionCheck.id, `${recordedOn}T10:00:00+08:00`);
}

beforeAll(async () => {
  t = await startTestServer({ REPORT_GRACE_DAYS: '15', WARNING_OVERDUE_RATE_PERCENT: '30' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: S1 });
  official2 = await t.user({ role: 'VILLAGE_OFFICIAL', scope: S2 });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou });
  // 双沟村: A reported Q2 on time; B did not report Q2; C (monthly from June) reported June on time, July late, August not.
  const a = await seedAgreement(official.token, S1, 'QUARTERLY', '2026-01-01', '2026-03-01T09:00:00+08:00');
  await seedReport(official.token, a.personId, '2026-Q2', '2026-07-10', '2026-07-10');
  const b = await seedAgreement(official.token, S1, 'QUARTERLY', '2026-01-01', '2026-03-01T09:00:00+08:00');
  const c = await seedAgreement(official.token, S1, 'MONTHLY', '2026-06-01', '2026-06-01T09:00:00+08:00');
  await seedReport(official.token, c.personId, '2026-06', '2026-07-01', '2026-07-01');
  await seedReport(official.token, c.personId, '2026-07', '2026-08-20', '2026-08-20');
  await seedCheck(official.id, 'BROKEN', '2026-08-10', '2026-08-10');
  // 官路村: D reported Q2 on time; a KEPT check.
  const d = await seedAgreement(official2.token, S2, 'QUARTERLY', '2026-01-01', '2026-03-01T09:00:00+08:00');
  await seedReport(official2.token, d.personId, '2026-Q2', '2026-07-05', '2026-07-05');
  await seedCheck(official2.id, 'KEPT', '2026-09-01', '2026-09-01');
  // Inquiries about people of 官路村: one open past its deadline at the quarter's end (answered only later); one
  // answered in time; one about no one we knew then (linked to a person of 官路村 only later).
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  inquiries = await partnerInquiries(t, admin.token);
  const r = await inquiries.resident(official2.token, S2);
  const inQuarter = '2026-08-01T10:00:00+08:00';
  const open = await inquiries.pastInquiry(r.subject, inQuarter, '2026-09-01');
  const answeredInTime = await inquiries.pastInquiry(r.subject, inQuarter, '2026-08-20');
  await t.gql(`mutation { answerInquiry(id: "${answeredInTime}", result: DECLINED, answer: "本人不同意核实") { status } }`, {}, official2.token);
  await recordedAt(t.server.deps.db, 'inquiries', 'answered_at', answeredInTime, '2026-08-15T10:00:00+08:00');
  const unknown = await inquiries.pastInquiry({ idNumber: nextIdNumber(), name: '丁' }, inQuarter, '2026-09-01');
  Object.assign(ids, { b: b.personId, c: c.personId, dAgreement: d.agreementId, open, unknown, resident: r.id });
});
afterAll(async () => {
  await inquiries.close();
  await t.close();
});

const get = (path: string, token?: string) => fetch(`${t.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const bytes = async (path: string) => Buffer.from(await (await get(path, supervisor.token)).arrayBuffer());
const exported: Record<string, Buffer> = {};

describe('quarterly warning (公开预警)', () => {
  let first: any;

  it('lists the villages past a threshold with the figures that put them there', async () => {
    const r = await t.gql(WARNING, { town: SEED.townShuanggou }, supervisor.token);
    expect(r.errors).toBeUndefined();
    first = r.data!.quarterlyWarning;
    expect(first).toMatchObject({ quarter: '2026-Q3', from: '2026-07-01', to: '2026-09-30', town: { code: SEED.townShuanggou }, thresholds: { overdueRatePercent: 30, brokenCommitments: 1, unansweredInquiries: 1 } });
    // 双沟村: active A B C; due A(Q2) B(Q2) C(06, 07, 08) = 5; on time A and C's June = 2; 3 overdue = 60%.
    // 官路村: 1 due, on time; one inquiry open past its deadline (09-01) on 09-30: listed for it alone.
    expect(first.villages).toEqual([
      {
        figures: { village: { code: S1 }, reportsDue: 5, reportsOnTime: 2, reportsOverdue: 3, overdueRate: 60, checksDone: 1, brokenCommitments: 1, openInquiriesPastDue: 0, ratingCount: null, averageRating: null },
        reasons: [
          { code: 'OVERDUE_RATE', value: 60, threshold: 30 },
          { code: 'BROKEN_COMMITMENTS', value: 1, threshold: 1 },
        ],
      },
      {
        figures: { village: { code: S2 }, reportsDue: 1, reportsOnTime: 1, reportsOverdue: 0, overdueRate: 0, checksDone: 1, brokenCommitments: 0, openInquiriesPastDue: 1, ratingCount: null, averageRating: null },
        reasons: [{ code: 'UNANSWERED_INQUIRIES', value: 1, threshold: 1 }],
      },
    ]);
    expect(first.csvPath).toBe(`/exports/quarterly-warning.csv?quarter=2026-Q3&townCode=${SEED.townShuanggou}`);
    // The dashboard computes the same figures from the dated facts.
    const dashboard = (await t.gql(DASHBOARD, { town: SEED.townShuanggou }, supervisor.token)).data!.supervisionDashboard;
    expect(dashboard.complete).toBe(true);
    for (const v of first.villages) expect(dashboard.villages).toContainEqual(v.figures);
    exported.csv = await bytes(first.csvPath);
    exported.pdf = await bytes(first.pdfPath);
  });

  it('gives the same list after later reports, checks and withdrawals', async () => {
    // Recorded now, dated back into the quarter: none was known at the end of the quarter.
    await t.gql(SUBMIT, { input: { personId: ids.b, period: '2026-Q2', arrival: 'PHONE', reportedOn: '2026-07-12' } }, official.token);
    await t.gql(SUBMIT, { input: { personId: ids.c, period: '2026-08', arrival: 'PHONE', reportedOn: '2026-09-10' } }, official.token);
    await seedCheck(official2.id, 'BROKEN', '2026-09-15');
    await t.gql(`mutation { withdrawConsent(personId: "${ids.c}", kind: AGREEMENT) { kind } }`, {}, official.token);
    // The open inquiry is answered now; the unknown one is linked to a person of 官路村 now; a new one comes in now,
    // due back in the quarter; a rating for the quarter is given now.
    expect((await t.gql(`mutation { answerInquiry(id: "${ids.open}", result: DECLINED, answer: "已超期") { status } }`, {}, official2.token)).errors).toBeUndefined();
    const [unknown] = await rows<{ record_id: string }>(t.server.deps.db, sql`select record_id from inquiries where id = ${ids.unknown}`);
    const linked = await t.gql(`mutation($id: ID!, $p: ID!) { resolveUnmatchedRecord(issuerCountyCode: "${PARTNER}", id: $id, personId: $p) { state } }`, { id: unknown!.record_id, p: ids.resident }, admin.token);
    expect(linked.errors).toBeUndefined();
    const late = await inquiries.ask((await inquiries.resident(official2.token, S2)).subject, '2099-01-01');
    await t.server.deps.db.execute(sql`update inquiries set due_on = '2026-09-10' where id = ${late}`);
    const link = await ratingToken(t, official2.token, { agreementId: ids.dAgreement }, '2026-Q3');
    expect((await t.gql(`mutation($t: String!) { submitRating(token: $t, score: 1) }`, { t: link })).errors).toBeUndefined();

    const again = (await t.gql(WARNING, { town: SEED.townShuanggou }, supervisor.token)).data!.quarterlyWarning;
    expect(again).toEqual(first);
    // Computed afresh from the dated facts, the figures are the same too.
    const dashboard = (await t.gql(DASHBOARD, { town: SEED.townShuanggou }, supervisor.token)).data!.supervisionDashboard;
    for (const v of first.villages) expect(dashboard.villages).toContainEqual(v.figures);
    // The exports are byte for byte the ones made before.
    expect((await bytes(first.csvPath)).equals(exported.csv!)).toBe(true);
    expect((await bytes(first.pdfPath)).equals(exported.pdf!)).toBe(true);
    // The county-wide list (any staff of the registry may read it) holds the same village.
    const county = (await t.gql(WARNING, {}, official2.token)).data!.quarterlyWarning;
    expect(county.villages).toEqual(first.villages);
  });

  it('keeps a stored quarter as it was when thresholds or the grace period are changed later', async () => {
    const config = t.server.deps.config;
    const saved = { grace: config.reportGraceDays, thresholds: config.warningThresholds };
    try {
      config.reportGraceDays = 40;
      config.warningThresholds = { overdueRatePercent: 100, brokenCommitments: 5, unansweredInquiries: 5 };
      expect((await t.gql(WARNING, { town: SEED.townShuanggou }, supervisor.token)).data!.quarterlyWarning).toEqual(first);
      // The live dashboard follows the new grace period: due in Q3 are now A's and B's Q2 and C's June and July.
      const live = (await t.gql(DASHBOARD, { town: SEED.townShuanggou }, supervisor.token)).data!.supervisionDashboard;
      expect(live.villages.find((v: any) => v.village.code === S1).reportsDue).toBe(4);
    } finally {
      config.reportGraceDays = saved.grace;
      config.warningThresholds = saved.thresholds;
    }
  });

  it('refuses a quarter that has not ended and anything that is not a quarter', async () => {
    // the quarter running today, a month, no quarter at all
    for (const quarter of [periodContaining('QUARTERLY', t.day(0)).label, '2026-09', '2026-Q5']) {
      const r = await t.gql(`{ quarterlyWarning(quarter: "${quarter}") { quarter } }`, {}, supervisor.token);
      expect(r.errors?.[0]?.extensions, quarter).toMatchObject({ code: 'BAD_USER_INPUT', field: 'quarter' });
    }
  });

  it('exports the list as CSV and as a printable PDF with Chinese text, to signed-in staff only', async () => {
    const csv = await get(first.csvPath, supervisor.token);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const text = await csv.text();
    const lines = text.replace(/^\uFEFF/, '').trim().split('\r\n');
    expect(lines[0]).toBe('村代码,村名,在效协议,应交报告,按时,逾期,逾期率(%),督查次数,违背承诺,未结押金投诉,逾期未复协查,预警原因');
    expect(lines.slice(1)).toEqual([`${S1},双沟村,3,5,2,3,60.0,1,1,0,0,报告逾期率 60 ≥ 30；违背承诺 1 ≥ 1`, `${S2},官路村,1,1,1,0,0.0,1,0,0,1,逾期未复协查 1 ≥ 1`]);
    const pdf = await get(first.pdfPath, supervisor.token);
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const bytes = Buffer.from(await pdf.arrayBuffer());
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    // The Chinese font is embedded (as a subset), not left to the reader's machine.
    expect(bytes.toString('latin1')).toMatch(/\/FontFile2/);
    expect(bytes.toString('latin1')).toMatch(/UnifontExMono/);
    expect((await get(first.csvPath)).status).toBe(401);
    expect((await get(`/exports/quarterly-warning.csv?quarter=${periodContaining('QUARTERLY', t.day(0)).label}`, supervisor.token)).status).toBe(400);
    // Each export is audited: these two and the two pairs made before and after the late facts.
    const audit = await t.gql(`{ auditLog(filter: { action: "warning.export" }) { edges { node { details } } } }`, {}, admin.token);
    expect(audit.data?.auditLog.edges.map((e: any) => e.node.details.format).sort()).toEqual(['csv', 'csv', 'csv', 'pdf', 'pdf', 'pdf']);
  });
});
