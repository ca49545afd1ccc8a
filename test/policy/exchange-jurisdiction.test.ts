import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outboundRecords } from '../../src/db/schema';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * Every operation of the registry side of the exchange, tried on a person of 王集村 (and on what the county
 * administrators alone handle) by people whose jurisdiction or role does not cover it: each must answer FORBIDDEN
 * and change nothing.
 */
let t: TestServer;
let wuzhong: FakePartner;
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};

async function push(records: string[]) {
  return (await wuzhong.pushTo(t.url, records)).body as { receipts: { id: string; status: string }[] };
}

beforeAll(async () => {
  t = await startTestServer();
  const admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
  tokens.admin = admin;
  const owner = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
  tokens.neighbourOfficial = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan })).token;
  tokens.otherTownSupervisor = (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townShuanggou })).token;
  tokens.ownTownSupervisor = (await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji })).token;
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong) }, admin);
  const idNumber = nextIdNumber();
  const p = await register(t, owner, { name: '黄磊', idNumber, homeVillageCode: SEED.villageWangji });
  ids.person = p.id;
  await activeAgreement(t, owner, p.id, { sharingCounties: ['320506'], validTo: t.day(365) });
  const sent = await t.gql(
    `mutation { sendInquiry(input: { personId: "${p.id}", partnerCountyCode: "320506", purpose: CONTACT_VERIFICATION, question: "电话?", urgency: NORMAL }) { id } }`,
    {},
    owner,
  );
  ids.outbound = sent.data!.sendInquiry.id;
  const inquiry = wuzhong.record({ type: 'INQUIRY', subject: { idNumber, name: '黄磊' }, body: BODIES.INQUIRY });
  const departure = wuzhong.record({ type: 'DEPARTURE', subject: { idNumber: nextIdNumber(), name: '外地人' }, body: BODIES.DEPARTURE });
  const unmatched = wuzhong.record({ type: 'SERVICE_DELIVERED', subject: { idNumber: nextIdNumber(), name: '无名' }, body: BODIES.SERVICE_DELIVERED });
  const receipts = (await push([inquiry, departure, unmatched])).receipts;
  ids.unmatched = receipts[2]!.id;
  const list = await t.gql(`{ inquiries(filter: { direction: INBOUND }) { edges { node { id } } } incomingNotices { edges { node { id } } } }`, {}, admin);
  ids.inbound = list.data!.inquiries.edges[0].node.id;
  ids.notice = list.data!.incomingNotices.edges[0].node.id;
});
afterAll(async () => {
  await wuzhong.close();
  await t.close();
});

const V = SEED.villageWangji;
/** Reads a town supervisor of the village may make. */
const villageReads = (): [string, string][] => [
  ['inquiries in the village', `{ inquiries(filter: { villageCode: "${V}" }) { edges { cursor } } }`],
  ['inbound inquiry', `{ inquiry(id: "${ids.inbound}") { id } }`],
  ['outbound inquiry', `{ inquiry(id: "${ids.outbound}") { id } }`],
];
/** Reads for county administrators only. */
const countyReads = (): [string, string][] => [
  ['incoming notices', `{ incomingNotices { edges { cursor } } }`],
  ['incoming notice', `{ incomingNotice(id: "${ids.notice}") { id } }`],
];
const writes = (): [string, string][] => [
  ['recordDeparture', `mutation { recordDeparture(personId: "${ids.person}", input: { partnerCountyCode: "320506", leftOn: "2026-11-01" }) { record { id } } }`],
  ['sendNotification (person)', `mutation { sendNotification(input: { personId: "${ids.person}", partnerCountyCode: "320506", contactUpdate: { phone: "13900000001" } }) { id } }`],
  ['sendInquiry (person)', `mutation { sendInquiry(input: { personId: "${ids.person}", partnerCountyCode: "320506", purpose: RESIDENCE_VERIFICATION, question: "x", urgency: URGENT }) { id } }`],
  ['verifyInquiry', `mutation { verifyInquiry(id: "${ids.inbound}") { id } }`],
  ['answerInquiry', `mutation { answerInquiry(id: "${ids.inbound}", result: DECLINED, answer: "x") { id } }`],
  ['closeInquiry', `mutation { closeInquiry(id: "${ids.outbound}") { id } }`],
  ['resolveUnmatchedRecord', `mutation { resolveUnmatchedRecord(issuerCountyCode: "320506", id: "${ids.unmatched}", personId: "${ids.person}") { id } }`],
  ['recordNoticeArrival', `mutation { recordNoticeArrival(noticeId: "${ids.notice}", input: { arrivedOn: "2026-11-02" }) { id } }`],
  ['dismissIncomingNotice', `mutation { dismissIncomingNotice(id: "${ids.notice}") { id } }`],
  ['sendNotification (notice)', `mutation { sendNotification(input: { noticeId: "${ids.notice}", contactUpdate: { phone: "13900000002" } }) { id } }`],
  ['sendInquiry (notice)', `mutation { sendInquiry(input: { noticeId: "${ids.notice}", purpose: RESIDENCE_VERIFICATION, question: "x", urgency: URGENT }) { id } }`],
];

describe('jurisdiction over the exchange', () => {
  for (const who of ['neighbourOfficial', 'otherTownSupervisor'] as const) {
    it(`refuses every read and write to a ${who}`, async () => {
      for (const [name, op] of [...villageReads(), ...countyReads(), ...writes()]) {
        const r = await t.gql(op, {}, tokens[who]);
        expect(r.errors?.[0]?.extensions.code, `${who}: ${name}`).toBe('FORBIDDEN');
      }
    });
  }

  it('lets the town supervisor read the inquiries of its villages, but not change them or handle notices', async () => {
    for (const [name, op] of villageReads()) expect((await t.gql(op, {}, tokens.ownTownSupervisor)).errors, name).toBeUndefined();
    for (const [name, op] of [...countyReads(), ...writes()]) {
      expect((await t.gql(op, {}, tokens.ownTownSupervisor)).errors?.[0]?.extensions.code, name).toBe('FORBIDDEN');
    }
  });

  it('narrows lists to the jurisdiction rather than refusing them', async () => {
    const r = await t.gql(`{ inquiries { edges { node { id } } } }`, {}, tokens.neighbourOfficial);
    expect(r.data!.inquiries.edges).toEqual([]);
  });

  it('left everything as it was', async () => {
    expect((await t.server.deps.db.select({ n: count() }).from(outboundRecords))[0]!.n).toBe(1);
    const r = await t.gql(
      `{ a: inquiry(id: "${ids.inbound}") { status } b: inquiry(id: "${ids.outbound}") { status } incomingNotice(id: "${ids.notice}") { status } exchangeInbox(filter: {state: UNMATCHED}) { edges { node { id } } } }`,
      {},
      tokens.admin,
    );
    expect(r.data).toEqual({ a: { status: 'MATCHED' }, b: { status: 'SENT' }, incomingNotice: { status: 'OPEN' }, exchangeInbox: { edges: [{ node: { id: ids.unmatched } }] } });
  });
});
