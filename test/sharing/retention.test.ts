import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incomingNotices, inboundRecords, inquiries, outboundRecords, servicesDelivered } from '../../src/db/schema';
import { systemCaller } from '../../src/policy/actor';
import { eraseExpiredExchangeData } from '../../src/sharing/retention';
import { countyWithPartner, type FakePartner } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { nextIdNumber } from '../helpers/registry';
import type { TestServer } from '../helpers/server';

/** What the exchange holds about partners' residents and about no one is kept only as long as needed. */
let t: TestServer;
let admin: string;
let wuzhong: FakePartner;
const DAY = 86_400_000;

let close: () => Promise<void>;
beforeAll(async () => {
  ({ t, admin, partner: wuzhong, close } = await countyWithPartner({ RETENTION_DAYS_AFTER_RETURN: '365' }));
});
afterAll(() => close());

const db = () => t.server.deps.db;
async function push(records: string[]) {
  return ((await wuzhong.pushTo(t.url, records)).body as { receipts: { id: string; status: string }[] }).receipts.map((r) => r.id);
}
const ok = async (query: string) => {
  const r = await t.gql(query, {}, admin);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data!;
};

describe('retention of exchange data about people who are not ours', () => {
  it('erases closed notices and long-unmatched records with what was exchanged about them, and nothing else', async () => {
    const gone = { idNumber: nextIdNumber(), name: '外来甲' };
    const staying = { idNumber: nextIdNumber(), name: '外来乙' };
    const [departureId] = await push([wuzhong.record({ type: 'DEPARTURE', subject: gone, body: BODIES.DEPARTURE })]);
    await push([wuzhong.record({ type: 'DEPARTURE', subject: staying, body: BODIES.DEPARTURE })]);
    const notices = await db().select().from(incomingNotices);
    const notice = notices.find((n) => n.departureRecordId === departureId)!;
    const other = notices.find((n) => n.departureRecordId !== departureId)!;
    await ok(`mutation { recordNoticeArrival(noticeId: "${notice.id}", input: { arrivedOn: "2026-11-02", town: "郭巷街道" }) { status } }`);
    await ok(`mutation { sendNotification(input: { noticeId: "${notice.id}", serviceDelivered: { service: LEGAL_AID, deliveredOn: "2026-11-03", note: "协助维权" } }) { id } }`);
    const [returnId] = await push([wuzhong.record({ type: 'RETURN_HOME', subject: gone, body: { returnedOn: '2026-11-20' } })]);
    // and an inquiry about someone nobody here knows, answered as such
    const [askedId] = await push([wuzhong.record({ type: 'INQUIRY', subject: { idNumber: nextIdNumber(), name: '无名' }, body: BODIES.INQUIRY })]);
    const [inquiry] = await db().select().from(inquiries).where(eq(inquiries.recordId, askedId!));
    await ok(`mutation { answerInquiry(id: "${inquiry!.id}", result: UNMATCHED, answer: "本县无此人") { status } }`);
    expect((await db().select().from(incomingNotices).where(eq(incomingNotices.id, notice.id)))[0]).toMatchObject({ status: 'CLOSED', closeReason: 'RETURNED_HOME' });

    // not yet
    expect(await eraseExpiredExchangeData(t.server.deps, systemCaller('test'), new Date(Date.now() + 300 * DAY))).toEqual({ notices: 0, unmatched: 0 });
    // a year after
    expect(await eraseExpiredExchangeData(t.server.deps, systemCaller('test'), new Date(Date.now() + 366 * DAY))).toEqual({ notices: 1, unmatched: 1 });

    const [erased] = await db().select().from(incomingNotices).where(eq(incomingNotices.id, notice.id));
    expect(erased).toMatchObject({ subjectIdHmac: null, subjectName: null, subjectIdMasked: null, phone: null, placeTown: null, placeCountyCode: t.config.countyCode, status: 'CLOSED', erasedAt: expect.any(Date) });
    const theirs = await db().select().from(inboundRecords).where(inArray(inboundRecords.id, [departureId!, returnId!, askedId!]));
    expect(theirs.map((r) => [r.jwsEnc, r.subjectIdHmac, r.erasedAt !== null])).toEqual([[null, null, true], [null, null, true], [null, null, true]]);
    const ours = await db().select().from(outboundRecords);
    expect(ours.map((r) => r.type).sort()).toEqual(['ARRIVAL', 'INQUIRY_REPLY', 'SERVICE_DELIVERED']);
    for (const r of ours) expect(r, r.type).toMatchObject({ jwsEnc: null, status: 'CANCELLED', lastError: 'ERASED' });
    expect((await db().select().from(servicesDelivered).where(eq(servicesDelivered.noticeId, notice.id)))[0]).toMatchObject({ service: 'LEGAL_AID', note: null });
    expect((await db().select().from(inquiries).where(eq(inquiries.id, inquiry!.id)))[0]).toMatchObject({ question: null, answer: null, subjectName: null, result: 'UNMATCHED' });

    // the open notice and its departure stay
    const [kept] = await db().select().from(incomingNotices).where(eq(incomingNotices.id, other.id));
    expect(kept).toMatchObject({ subjectName: '外来乙', erasedAt: null });
    expect((await db().select().from(inboundRecords).where(eq(inboundRecords.id, other.departureRecordId)))[0]!.jwsEnc).not.toBeNull();
    const audit = await ok(`{ auditLog(filter: {action: "exchange.erase"}) { edges { node { actorType details } } } }`);
    expect(audit.auditLog.edges[0].node.details).toEqual({ notices: [notice.id], unmatched: [`320506/${askedId}`] });
  });
});
