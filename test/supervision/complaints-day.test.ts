import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordedAt } from '../helpers/history';
import { activeAgreement, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string };
let supervisor: { token: string };
beforeAll(async () => {
  t = await startTestServer({ TIME_ZONE: 'Asia/Shanghai' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
});
afterAll(() => t.close());

/** A complaint reported in October (before the window), recorded then, resolved at `resolvedAt`. */
async function complaint(description: string, resolvedAt: string): Promise<void> {
  const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
  const a = await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
  const r = await t.gql(`mutation($a: ID!, $d: String!) { recordDepositComplaint(agreementId: $a, description: $d, reportedOn: "2026-10-05") { id } }`, { a: a.id, d: description }, official.token);
  const id = r.data!.recordDepositComplaint.id as string;
  await t.gql(`mutation { resolveDepositComplaint(id: "${id}", resolution: "已退还") { id } }`, {}, supervisor.token);
  await recordedAt(t.server.deps.db, 'deposit_complaints', 'created_at', id, '2026-10-05T02:00:00Z');
  await recordedAt(t.server.deps.db, 'deposit_complaints', 'resolved_at', id, resolvedAt);
}

describe('deposit complaints open on the reference day', () => {
  it('are the same complaints in the figures and in the list, by the county day of their resolution', async () => {
    // 2026-11-20 23:30 in Beijing: resolved on the reference day, though still 11-20 15:30 in UTC.
    await complaint('当天深夜解决', '2026-11-20T15:30:00Z');
    // 2026-11-21 00:30 in Beijing: still open at the end of the reference day, though 11-20 16:30 in UTC.
    await complaint('次日凌晨解决', '2026-11-20T16:30:00Z');
    const d = await t.gql(
      `{ supervisionDashboard(townCode: "${SEED.townWangji}", period: "2026-11", asOf: "2026-11-20") { villages { village { code } openDepositComplaints } depositComplaints { description } } }`,
      {},
      supervisor.token,
    );
    expect(d.errors).toBeUndefined();
    const village = d.data!.supervisionDashboard.villages.find((v: any) => v.village.code === SEED.villageWangji);
    expect(village.openDepositComplaints).toBe(1);
    // reported before the window, so listed only while open: the one still open, as the figure counts
    expect(d.data!.supervisionDashboard.depositComplaints).toEqual([{ description: '次日凌晨解决' }]);
  });
});
