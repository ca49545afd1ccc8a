import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/** Overdue inquiries on both sides: partners' ones we have not answered, ours they have not. */
let t: TestServer;
let admin: string;
let wangji: string;
let wuzhong: FakePartner;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer();
  admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
  wangji = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
  const shuanggou = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageShuanggou })).token;
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong) }, admin);
  const resident = async (token: string, village: string, name: string) => {
    const idNumber = nextIdNumber();
    const p = await register(t, token, { name, idNumber, homeVillageCode: village });
    await activeAgreement(t, token, p.id, { sharingCounties: ['320506'], validTo: t.day(365) });
    return { id: p.id, subject: { idNumber, name } };
  };
  const a = await resident(wangji, SEED.villageWangji, '甲');
  const b = await resident(shuanggou, SEED.villageShuanggou, '乙');
  const ask = (subject: { idNumber: string; name: string }, dueOn: string) => wuzhong.record({ type: 'INQUIRY', subject, body: { ...BODIES.INQUIRY, dueOn } });
  const records = [ask(a.subject, t.day(2)), ask(b.subject, t.day(17)), ask({ idNumber: nextIdNumber(), name: '丙' }, t.day(1))];
  const [ra, rb, rc] = ((await wuzhong.pushTo(t.url, records)).body as { receipts: { id: string }[] }).receipts.map((r) => r.id);
  const all = (await t.gql(`{ inquiries(first: 200) { edges { node { id recordId } } } }`, {}, admin)).data!.inquiries.edges.map((e: any) => e.node);
  const byRecord = (id: string) => all.find((n: any) => n.recordId === id).id;
  ids.aIn = byRecord(ra!);
  ids.bIn = byRecord(rb!);
  ids.unknown = byRecord(rc!);
  const sent = await t.gql(
    `mutation($p: ID!, $d: Date) { sendInquiry(input: { personId: $p, partnerCountyCode: "320506", purpose: SERVICE_FOLLOW_UP, question: "工资追回了吗", urgency: NORMAL, dueOn: $d }) { id } }`,
    { p: a.id, d: t.day(3) },
    wangji,
  );
  ids.aOut = sent.data!.sendInquiry.id;
});
afterAll(async () => {
  await wuzhong.close();
  await t.close();
});

const OVERDUE = `query($f: InquiryFilter, $asOf: Date) { inquiries(filter: $f, asOf: $asOf) { asOf edges { node { id overdue(asOf: $asOf) } } } }`;

describe('overdue inquiries', () => {
  it('lists them per jurisdiction in GraphQL, and an answered or closed inquiry is no longer overdue', async () => {
    const mine = await t.gql(OVERDUE, { f: { overdue: true }, asOf: t.day(4) }, wangji);
    expect(mine.data!.inquiries).toEqual({ asOf: t.day(4), edges: [{ node: { id: ids.aIn, overdue: true } }, { node: { id: ids.aOut, overdue: true } }] });
    const county = await t.gql(OVERDUE, { f: { overdue: true, direction: 'INBOUND' }, asOf: t.day(4) }, admin);
    expect(county.data!.inquiries.edges.map((e: any) => e.node.id)).toEqual([ids.unknown, ids.aIn]);
    const notYet = await t.gql(OVERDUE, { f: { overdue: false }, asOf: t.day(4) }, admin);
    expect(notYet.data!.inquiries.edges.map((e: any) => e.node)).toEqual([{ id: ids.bIn, overdue: false }]);
    // due on the day itself is not overdue yet
    const dueToday = await t.gql(OVERDUE, { f: { overdue: true }, asOf: t.day(2) }, admin);
    expect(dueToday.data!.inquiries.edges.map((e: any) => e.node.id)).toEqual([ids.unknown]);
    expect((await t.gql(OVERDUE, { f: { overdue: true }, asOf: '2026-13-01' }, admin)).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');

    await t.gql(`mutation { answerInquiry(id: "${ids.aIn}", result: DECLINED, answer: "本人不在") { status } }`, {}, wangji);
    await t.gql(`mutation { closeInquiry(id: "${ids.aOut}") { status } }`, {}, wangji);
    const county2 = await t.gql(OVERDUE, { f: { overdue: true }, asOf: t.day(4) }, admin);
    expect(county2.data!.inquiries.edges.map((e: any) => e.node.id)).toEqual([ids.unknown]);
    const after = await t.gql(OVERDUE, { f: { overdue: true }, asOf: t.day(4) }, wangji);
    expect(after.data!.inquiries.edges).toEqual([]);
  });
});
