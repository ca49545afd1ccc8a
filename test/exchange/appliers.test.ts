import crypto from 'node:crypto';
import { count, eq, sql } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundRecords, inquiries, outboundRecords, personChanges, servicesDelivered, statusReports, incomingNotices } from '../../src/db/schema';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { activeAgreement, nextIdNumber, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * What partners' records do to the registry (docs/exchange-protocol.md, section 8), pushed by a partner county
 * that signs its own records, against real people: matched, unmatched and resolved, and refused, each refusal
 * checked to have written nothing.
 */
let t: TestServer;
let admin: string;
let official: string;
let wuzhong: FakePartner; // every type inbound
let gusu: FakePartner; // no STATUS_REPORT inbound
type Who = { id: string; idNumber: string; name: string };
let away: Who;
let returned: Who;
let withdrawn: Who;

async function person(name: string, sharing: string[] = ['320506']): Promise<Who> {
  const idNumber = nextIdNumber();
  const p = await register(t, official, { name, idNumber, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
  // from January, so the reports of 2026's months fall inside the agreement whatever day the test runs
  await activeAgreement(t, official, p.id, { sharingCounties: sharing, validFrom: '2026-01-01', validTo: t.day(365) });
  return { id: p.id, idNumber, name };
}

beforeAll(async () => {
  t = await startTestServer();
  admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
  official = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong) }, admin);
  const all = agreement(gusu).inboundTypes as string[];
  await t.gql(REGISTER, { input: agreement(gusu, { inboundTypes: all.filter((x) => x !== 'STATUS_REPORT') }) }, admin);
  away = await person('李明');
  returned = await person('王芳');
  await t.gql(`mutation { markReturned(personId: "${returned.id}", returnedOn: "2026-10-01") { status } }`, {}, official);
  withdrawn = await person('赵强');
  await t.gql(`mutation { withdrawConsent(personId: "${withdrawn.id}", kind: AGREEMENT) { id } }`, {}, official);
});
afterAll(async () => {
  await wuzhong.close();
  await gusu.close();
  await t.close();
});

const db = () => t.server.deps.db;
const n = async (table: PgTable) => (await db().select({ n: count() }).from(table))[0]!.n;
/** Everything a record could write. */
const written = async () => ({
  inbound: await n(inboundRecords),
  reports: await n(statusReports),
  changes: await n(personChanges),
  services: await n(servicesDelivered),
  inquiries: await n(inquiries),
  notices: await n(incomingNotices),
  outbound: await n(outboundRecords),
  people: (await db().execute(sql`select string_agg(id || status || coalesce(phone, '') || coalesce(employer, ''), ',' order by id) as v from people`)) as unknown,
});

const push = (records: string[], from: FakePartner = wuzhong) =>
  from.pushTo(t.url, records) as Promise<{ status: number; body: { receipts: { id: string; status: string; reason?: string }[] } }>;
const idOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).id as string;
const subject = (w: Who, name = w.name) => ({ idNumber: w.idNumber, name });
const stored = async (id: string) => (await db().select().from(inboundRecords).where(eq(inboundRecords.id, id)))[0];
const PERSON = `query($id: ID!) { person(id: $id) { status phone employer currentPlace { countyCode town } activeAgreement { id lastReportPeriod }
  statusReports(includeSuperseded: true) { edges { node { id period arrival superseded note needsNote } } } servicesDelivered { service deliveredBy } } }`;
const personNow = async (w: Who) => (await t.gql(PERSON, { id: w.id }, official)).data!.person;

describe('records about our residents', () => {
  it('a status report appears under the person with arrival PARTNER_COUNTY; the same partner may correct it', async () => {
    const first = wuzhong.record({ type: 'STATUS_REPORT', subject: subject(away), body: { ...BODIES.STATUS_REPORT, period: '2026-11', phone: '13911112222', needs: ['OTHER'], note: '需要法律咨询' } });
    expect((await push([first])).body.receipts).toEqual([{ id: idOf(first), status: 'ACCEPTED' }]);
    expect(await stored(idOf(first))).toMatchObject({ state: 'APPLIED', personId: away.id, unmatchedReason: null });
    let p = await personNow(away);
    expect(p.phone).toBe('13911112222');
    expect(p.activeAgreement.lastReportPeriod).toBe('2026-11');
    expect(p.statusReports.edges.map((e: any) => e.node)).toEqual([expect.objectContaining({ period: '2026-11', arrival: 'PARTNER_COUNTY', needsNote: '需要法律咨询', note: null })]);
    const [report] = await db().select().from(statusReports).where(eq(statusReports.personId, away.id));
    expect(report).toMatchObject({ recordedByType: 'PARTNER', recordedById: '320506' });
    const feed = await db().select().from(personChanges).where(eq(personChanges.personId, away.id));
    expect(feed.at(-1)).toMatchObject({ source: 'STATUS_REPORT:PARTNER_COUNTY', actorType: 'PARTNER', actorId: '320506' });

    const correction = wuzhong.record({ type: 'STATUS_REPORT', subject: subject(away), body: { ...BODIES.STATUS_REPORT, period: '2026-11', workStatus: 'SEEKING', needs: [] } });
    expect((await push([correction])).body.receipts[0]!.status).toBe('ACCEPTED');
    p = await personNow(away);
    expect(p.statusReports.edges.map((e: any) => [e.node.period, e.node.superseded])).toEqual([
      ['2026-11', false],
      ['2026-11', true],
    ]);
  });

  it('refuses a report for a period recorded here by an official, for a person back home, or for a period not started, writing nothing', async () => {
    const r = await t.gql(SUBMIT, { input: { personId: away.id, period: '2026-10', arrival: 'PHONE' } }, official);
    expect(r.errors).toBeUndefined();
    const before = await written();
    const cases: [string, string, string][] = [
      ['period reported by an official', wuzhong.record({ type: 'STATUS_REPORT', subject: subject(away), body: { ...BODIES.STATUS_REPORT, period: '2026-10' } }), 'PERIOD_ALREADY_REPORTED'],
      ['person back home', wuzhong.record({ type: 'STATUS_REPORT', subject: subject(returned), body: { ...BODIES.STATUS_REPORT, period: '2026-11' } }), 'PERSON_NOT_AWAY'],
      ['arrival of a person back home', wuzhong.record({ type: 'ARRIVAL', subject: subject(returned), body: BODIES.ARRIVAL }), 'PERSON_NOT_AWAY'],
      ['contact change of a person back home', wuzhong.record({ type: 'CONTACT_UPDATE', subject: subject(returned), body: BODIES.CONTACT_UPDATE }), 'PERSON_NOT_AWAY'],
      ['period not started', wuzhong.record({ type: 'STATUS_REPORT', subject: subject(away), body: { ...BODIES.STATUS_REPORT, period: t.day(40).slice(0, 7) } }), 'REGISTRY_REFUSED'],
      ['return in the future', wuzhong.record({ type: 'RETURN_HOME', subject: subject(away), body: { returnedOn: t.day(30) } }), 'REGISTRY_REFUSED'],
      ...(['STATUS_REPORT', 'CONTACT_UPDATE', 'SERVICE_DELIVERED', 'INQUIRY', 'RETURN_HOME', 'ARRIVAL'] as const).map(
        (type): [string, string, string] => [`${type} about a person who withdrew`, wuzhong.record({ type, subject: subject(withdrawn), body: BODIES[type] }), 'PERSON_WITHDRAWN'],
      ),
    ];
    for (const [name, jws, reason] of cases) {
      const res = await push([jws]);
      expect(res.status, name).toBe(200);
      expect(res.body.receipts, name).toEqual([{ id: idOf(jws), status: 'REJECTED', reason }]);
    }
    expect(await written()).toEqual(before);
  });

  it('refuses a record its agreement does not allow inbound, or whose envelope names other counties, before it touches anyone', async () => {
    const before = await written();
    const cases: [string, FakePartner, string, string][] = [
      ['type not allowed inbound', gusu, gusu.record({ type: 'STATUS_REPORT', subject: subject(away), body: { ...BODIES.STATUS_REPORT, period: '2026-09' } }), 'TYPE_NOT_ALLOWED'],
      ['iss is another county', wuzhong, wuzhong.record({ type: 'CONTACT_UPDATE', subject: subject(away), body: { phone: '13700000001' }, envelope: { iss: '320508' } }), 'ISS_MISMATCH'],
      ['aud is another county', wuzhong, wuzhong.record({ type: 'CONTACT_UPDATE', subject: subject(away), body: { phone: '13700000001' }, envelope: { aud: '370406' } }), 'AUD_MISMATCH'],
    ];
    for (const [name, from, jws, reason] of cases) {
      expect((await push([jws], from)).body.receipts, name).toEqual([{ id: idOf(jws), status: 'REJECTED', reason }]);
    }
    expect(await written()).toEqual(before);
    expect((await personNow(away)).phone).not.toBe('13700000001');
  });

  it('changes contact details, records services, and brings the person home (once)', async () => {
    const contact = wuzhong.record({ type: 'CONTACT_UPDATE', subject: subject(away), body: { place: { countyCode: '320506', town: '木渎镇' }, employer: 'x'.repeat(150) } });
    const service = wuzhong.record({ type: 'SERVICE_DELIVERED', subject: subject(away), body: BODIES.SERVICE_DELIVERED });
    const serviceAtHome = wuzhong.record({ type: 'SERVICE_DELIVERED', subject: subject(returned), body: { ...BODIES.SERVICE_DELIVERED, service: 'SCHOOL_PLACE' } });
    expect((await push([contact, service, serviceAtHome])).body.receipts.map((r) => r.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    let p = await personNow(away);
    // the registry keeps employers to 100 characters
    expect(p).toMatchObject({ currentPlace: { countyCode: '320506', town: '木渎镇' }, employer: 'x'.repeat(100), servicesDelivered: [{ service: 'WAGE_ARREARS', deliveredBy: '320506' }] });
    expect((await personNow(returned)).servicesDelivered).toEqual([{ service: 'SCHOOL_PLACE', deliveredBy: '320506' }]);

    const home = wuzhong.record({ type: 'RETURN_HOME', subject: subject(away), body: { returnedOn: '2026-11-20' } });
    expect((await push([home])).body.receipts[0]!.status).toBe('ACCEPTED');
    p = await personNow(away);
    expect(p).toMatchObject({ status: 'RETURNED', activeAgreement: null });
    const again = wuzhong.record({ type: 'RETURN_HOME', subject: subject(away), body: { returnedOn: '2026-11-21' } });
    const before = await written();
    expect((await push([again])).body.receipts[0]!.status).toBe('ACCEPTED');
    expect(await stored(idOf(again))).toMatchObject({ state: 'APPLIED', personId: away.id });
    expect({ ...(await written()), inbound: before.inbound }).toEqual(before);
  });
});

describe('unmatched records', () => {
  it('keeps a record about someone unknown, and applies it when an administrator links it to the person', async () => {
    const unknownId = nextIdNumber();
    const somebody = await person('孙丽');
    // the partner has a wrong ID number for 孙丽
    const jws = wuzhong.record({ type: 'STATUS_REPORT', subject: { idNumber: unknownId, name: '孙丽' }, body: { ...BODIES.STATUS_REPORT, period: '2026-10' } });
    const before = await written();
    expect((await push([jws])).body.receipts).toEqual([{ id: idOf(jws), status: 'ACCEPTED' }]);
    expect(await written()).toEqual({ ...before, inbound: before.inbound + 1 });
    const list = await t.gql(`{ exchangeInbox(filter: {state: UNMATCHED, type: STATUS_REPORT}) { edges { node { id state unmatchedReason subjectName subjectIdNumberMasked } } } }`, {}, admin);
    expect(list.data!.exchangeInbox.edges.map((e: any) => e.node)).toContainEqual({
      id: idOf(jws),
      state: 'UNMATCHED',
      unmatchedReason: 'UNKNOWN_SUBJECT',
      subjectName: '孙丽',
      subjectIdNumberMasked: `${unknownId.slice(0, 6)}********${unknownId.slice(14)}`,
    });

    const RESOLVE = `mutation($id: ID!, $p: ID!) { resolveUnmatchedRecord(issuerCountyCode: "320506", id: $id, personId: $p) { state personId unmatchedReason } }`;
    expect((await t.gql(RESOLVE, { id: idOf(jws), p: somebody.id }, official)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const resolved = await t.gql(RESOLVE, { id: idOf(jws), p: somebody.id }, admin);
    expect(resolved.data!.resolveUnmatchedRecord).toEqual({ state: 'APPLIED', personId: somebody.id, unmatchedReason: null });
    expect((await personNow(somebody)).statusReports.edges.map((e: any) => [e.node.period, e.node.arrival])).toEqual([['2026-10', 'PARTNER_COUNTY']]);
    const again = await t.gql(RESOLVE, { id: idOf(jws), p: somebody.id }, admin);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    const audit = await t.gql(`{ auditLog(filter: {action: "exchange.resolve", targetId: "${idOf(jws)}"}) { edges { node { actorType details } } } }`, {}, admin);
    expect(audit.data!.auditLog.edges[0].node).toMatchObject({ actorType: 'USER', details: { personId: somebody.id } });
  });

  it('does not match an ID number under another name, and refuses to apply a resolution the registry cannot take', async () => {
    const jws = wuzhong.record({ type: 'CONTACT_UPDATE', subject: subject(returned, '王小芳'), body: { phone: '13755556666' } });
    expect((await push([jws])).body.receipts[0]!.status).toBe('ACCEPTED');
    expect(await stored(idOf(jws))).toMatchObject({ state: 'UNMATCHED', unmatchedReason: 'NAME_DIFFERS', personId: null });
    expect((await personNow(returned)).phone).not.toBe('13755556666');
    // 王芳 is back home: a contact change from the destination cannot be applied to her
    const r = await t.gql(`mutation { resolveUnmatchedRecord(issuerCountyCode: "320506", id: "${idOf(jws)}", personId: "${returned.id}") { state } }`, {}, admin);
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'PERSON_NOT_AWAY' });
    expect(await stored(idOf(jws))).toMatchObject({ state: 'UNMATCHED' });
  });
});

describe('inquiries from partners', () => {
  it('an unmatched inquiry is the county administrators’: answered UNMATCHED, the reply is queued with ref', async () => {
    const jws = wuzhong.record({ type: 'INQUIRY', subject: { idNumber: nextIdNumber(), name: '无名' }, body: { ...BODIES.INQUIRY, urgency: 'URGENT', dueOn: t.day(7) } });
    expect((await push([jws])).body.receipts[0]!.status).toBe('ACCEPTED');
    const Q = `query($f: InquiryFilter, $asOf: Date) { inquiries(filter: $f) { edges { node { id status dueOn overdue(asOf: $asOf) subjectName allowedActions } } } }`;
    expect((await t.gql(Q, { f: { status: 'UNMATCHED' }, asOf: t.day(8) }, official)).data!.inquiries.edges).toEqual([]);
    const [inquiry] = (await t.gql(Q, { f: { status: 'UNMATCHED' }, asOf: t.day(8) }, admin)).data!.inquiries.edges.map((e: any) => e.node);
    expect(inquiry).toMatchObject({ status: 'UNMATCHED', dueOn: t.day(7), overdue: true, subjectName: '无名', allowedActions: ['MATCH', 'ANSWER_UNMATCHED', 'ANSWER_DECLINED'] });
    const verified = await t.gql(`mutation { answerInquiry(id: "${inquiry.id}", result: VERIFIED, answer: "x") { status } }`, {}, admin);
    expect(verified.errors?.[0]?.extensions.code).toBe('CONFLICT');
    const a = await t.gql(`mutation { answerInquiry(id: "${inquiry.id}", result: UNMATCHED, answer: "本县无此人") { status result replyRecordId } }`, {}, admin);
    expect(a.data!.answerInquiry).toMatchObject({ status: 'ANSWERED', result: 'UNMATCHED' });
    const [reply] = await db().select().from(outboundRecords).where(eq(outboundRecords.id, a.data!.answerInquiry.replyRecordId));
    expect(reply).toMatchObject({ type: 'INQUIRY_REPLY', ref: idOf(jws), partnerCode: '320506', status: 'QUEUED' });
  });

  it('refuses replies to inquiries we never sent, about someone else, or already answered', async () => {
    const someone = await person('周杰');
    const asked = await t.gql(
      `mutation($i: SendInquiryInput!) { sendInquiry(input: $i) { id recordId status } }`,
      { i: { personId: someone.id, partnerCountyCode: '320506', purpose: 'RESIDENCE_VERIFICATION', question: '是否仍住在该街道', urgency: 'NORMAL' } },
      official,
    );
    const ref = asked.data!.sendInquiry.recordId;
    const before = await written();
    const cases: [string, string, string][] = [
      ['unknown ref', wuzhong.record({ type: 'INQUIRY_REPLY', ref: crypto.randomUUID(), subject: subject(someone), body: BODIES.INQUIRY_REPLY }), 'UNKNOWN_INQUIRY'],
      ['another partner asked', gusu.record({ type: 'INQUIRY_REPLY', ref, subject: subject(someone), body: BODIES.INQUIRY_REPLY }), 'UNKNOWN_INQUIRY'],
      ['another person', wuzhong.record({ type: 'INQUIRY_REPLY', ref, subject: subject(away), body: BODIES.INQUIRY_REPLY }), 'SUBJECT_MISMATCH'],
    ];
    for (const [name, jws, reason] of cases) {
      expect((await push([jws], name === 'another partner asked' ? gusu : wuzhong)).body.receipts, name).toEqual([{ id: idOf(jws), status: 'REJECTED', reason }]);
    }
    expect(await written()).toEqual(before);
    const reply = wuzhong.record({ type: 'INQUIRY_REPLY', ref, subject: subject(someone), body: BODIES.INQUIRY_REPLY });
    expect((await push([reply])).body.receipts[0]!.status).toBe('ACCEPTED');
    const late = wuzhong.record({ type: 'INQUIRY_REPLY', ref, subject: subject(someone), body: { result: 'DECLINED', answer: '改为拒绝' } });
    expect((await push([late])).body.receipts[0]).toMatchObject({ status: 'REJECTED', reason: 'INQUIRY_NOT_OPEN' });
    const i = await t.gql(`{ inquiry(id: "${asked.data!.sendInquiry.id}") { status result answer } }`, {}, official);
    expect(i.data!.inquiry).toEqual({ status: 'ANSWERED', result: 'VERIFIED', answer: BODIES.INQUIRY_REPLY.answer });
  });
});

describe('a failing applier', () => {
  it('fails the whole batch (500, nothing stored) so the partner retries, and succeeds once the registry is back', async () => {
    const batch = [wuzhong.record({ type: 'ARRIVAL', subject: subject(returned), body: BODIES.ARRIVAL }), wuzhong.record({ type: 'SERVICE_DELIVERED', subject: subject(returned), body: BODIES.SERVICE_DELIVERED })];
    const before = await written();
    await db().execute(sql`alter table services_delivered rename to services_delivered_away`);
    try {
      expect(await push(batch)).toEqual({ status: 500, body: { error: 'internal_error' } });
    } finally {
      await db().execute(sql`alter table services_delivered_away rename to services_delivered`);
    }
    expect(await written()).toEqual(before);
    expect((await push(batch)).body.receipts.map((r) => r.reason ?? r.status)).toEqual(['PERSON_NOT_AWAY', 'ACCEPTED']);
  });
});
