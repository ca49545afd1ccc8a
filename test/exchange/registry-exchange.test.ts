import { and, eq, inArray } from 'drizzle-orm';
import { compactVerify, createRemoteJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, protocolDate, todayIn } from '../../src/calendar';
import { auditLog, outboundRecords, personChanges } from '../../src/db/schema';
import { signTransportToken } from '../../src/exchange/transport';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * The registry story across two real counties on 127.0.0.1, each with its own database and delivery worker,
 * registered as partners of each other through their public JWKS: 睢宁 (Suining, home) and 吴中 (Wuzhong,
 * destination). Everything is done and checked through GraphQL, as the staff of each county would.
 */
let suining: TestServer;
let wuzhong: TestServer;
let sAdmin: string;
let sOfficial: string;
let wAdmin: string;
const ALL = ['DEPARTURE', 'ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'RETURN_HOME', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];
const WORKER = {
  EXCHANGE_DELIVERY_ENABLED: 'true',
  EXCHANGE_DELIVERY_INTERVAL_MS: '100',
  EXCHANGE_RETRY_BASE_MS: '150',
  EXCHANGE_RETRY_MAX_MS: '600',
  EXCHANGE_PUSH_TIMEOUT_MS: '3000',
};
const person = { id: '', idNumber: nextIdNumber(), name: '陈小梅' };
/** The end of her agreement: a year from the day the test runs. */
let validTo: string;

beforeAll(async () => {
  suining = await startTestServer({ COUNTY_CODE: '320324', ...WORKER });
  wuzhong = await startTestServer({ COUNTY_CODE: '320506', ...WORKER });
  validTo = suining.day(365);
  sAdmin = (await suining.user({ role: 'COUNTY_ADMIN' })).token;
  sOfficial = (await suining.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
  wAdmin = (await wuzhong.user({ role: 'COUNTY_ADMIN' })).token;
  const registerPartner = async (at: TestServer, token: string, other: TestServer, lookupAllowed: boolean) => {
    const r = await at.gql(
      'mutation($i: RegisterPartnerInput!) { registerPartner(input: $i) { countyCode } }',
      { i: { countyCode: other.config.countyCode, name: `County ${other.config.countyCode}`, baseUrl: other.url, validFrom: '2020-01-01', validTo: '2099-12-31', inboundTypes: ALL, outboundTypes: ALL, lookupAllowed } },
      token,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  };
  await registerPartner(suining, sAdmin, wuzhong, true); // Wuzhong may look Suining's people up
  await registerPartner(wuzhong, wAdmin, suining, false);
  const p = await register(suining, sOfficial, { name: person.name, idNumber: person.idNumber, homeVillageCode: SEED.villageWangji, phone: '13800138000' });
  person.id = p.id;
  // she agrees that her record may be shared with 吴中
  // from January, so 2026's reports fall inside the agreement whatever day the test runs
  await activeAgreement(suining, sOfficial, p.id, { sharingCounties: ['320506'], validFrom: '2026-01-01', validTo });
});
afterAll(async () => {
  await wuzhong?.close();
  await suining?.close();
});

async function ok<T = any>(t: TestServer, query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const r = await t.gql(query, variables, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data as T;
}

const PERSON = `query($id: ID!) { person(id: $id) { status phone employer currentPlace { countyCode town }
  statusReports { edges { node { period arrival workStatus needs place { countyCode town } } } }
  servicesDelivered { service deliveredOn deliveredBy note }
  inquiries { id direction status dueOn result answer partnerCountyCode } } }`;
const NOTICES = `{ incomingNotices { edges { node { id status partnerCountyCode subjectName subjectIdNumberMasked leftOn place { countyCode town } phone cadence agreementValidTo
  arrivedOn allowedActions history { action toStatus actorType actorId } servicesDelivered { service deliveredBy } inquiries { id direction status } } } } }`;
const notices = async () => (await ok(wuzhong, NOTICES, {}, wAdmin)).incomingNotices.edges.map((e: any) => e.node);
const personNow = async () => (await ok(suining, PERSON, { id: person.id }, sOfficial)).person;
let noticeId = '';

describe('two counties serving one person', () => {
  it('departure: Suining records it (the person moves in the same transaction), Wuzhong sees an incoming notice', async () => {
    const d = await ok(
      suining,
      `mutation($p: ID!, $i: DepartureInput!) { recordDeparture(personId: $p, input: $i) { person { currentPlace { countyCode town } } record { id type partnerCountyCode } } }`,
      { p: person.id, i: { partnerCountyCode: '320506', leftOn: '2026-11-01', town: '郭巷街道' } },
      sOfficial,
    );
    expect(d.recordDeparture).toMatchObject({ person: { currentPlace: { countyCode: '320506', town: '郭巷街道' } }, record: { type: 'DEPARTURE', partnerCountyCode: '320506' } });
    const [notice] = await waitFor('the notice at Wuzhong', async () => (await notices()).length === 1 && notices());
    noticeId = notice.id;
    expect(notice).toMatchObject({
      status: 'OPEN',
      partnerCountyCode: '320324',
      subjectName: person.name,
      subjectIdNumberMasked: `${person.idNumber.slice(0, 6)}********${person.idNumber.slice(14)}`,
      leftOn: '2026-11-01',
      place: { countyCode: '320506', town: '郭巷街道' },
      phone: '13800138000', // the administrators who receive the person may call them
      cadence: 'QUARTERLY',
      agreementValidTo: validTo,
      history: [{ action: 'RECEIVE', toStatus: 'OPEN', actorType: 'PARTNER', actorId: '320324' }],
    });
  });

  it('arrival: Wuzhong answers the notice; the person at Suining gets the new employer from the partner', async () => {
    const a = await ok(
      wuzhong,
      `mutation($n: ID!, $i: NoticeArrivalInput!) { recordNoticeArrival(noticeId: $n, input: $i) { status arrivedOn arrivalRecordId } }`,
      { n: noticeId, i: { arrivedOn: '2026-11-03', town: '郭巷街道', employer: '苏州某电子厂' } },
      wAdmin,
    );
    expect(a.recordNoticeArrival).toMatchObject({ status: 'ARRIVED', arrivedOn: '2026-11-03' });
    const p = await waitFor('the arrival at Suining', async () => ((await personNow()).employer === '苏州某电子厂' ? personNow() : undefined));
    expect(p.currentPlace).toEqual({ countyCode: '320506', town: '郭巷街道' });
    const inbox = await ok(suining, `{ exchangeInbox(filter: {type: ARRIVAL}) { edges { node { state personId ref } } } }`, {}, sAdmin);
    const departureId = (await suining.server.deps.db.select().from(outboundRecords).where(eq(outboundRecords.type, 'DEPARTURE')))[0]!.id;
    expect(inbox.exchangeInbox.edges[0].node).toEqual({ state: 'APPLIED', personId: person.id, ref: departureId });
    // the village's change feed shows the partner as the source
    const feed = await suining.server.deps.db.select().from(personChanges).where(eq(personChanges.personId, person.id));
    expect(feed).toContainEqual(expect.objectContaining({ source: 'PARTNER_COUNTY:ARRIVAL', fields: ['employer'], actorType: 'PARTNER', actorId: '320506' }));
  });

  it('status report, contact change and a service delivered, gathered by Wuzhong, appear under the person at Suining', async () => {
    const send = (input: Record<string, unknown>) =>
      ok(wuzhong, `mutation($i: NotificationInput!) { sendNotification(input: $i) { id type partnerCountyCode } }`, { i: { noticeId, ...input } }, wAdmin);
    expect((await send({ statusReport: { period: '2026-11', workStatus: 'EMPLOYED', needs: ['SCHOOL_PLACE'], note: '孩子明年上小学' } })).sendNotification).toMatchObject({
      type: 'STATUS_REPORT',
      partnerCountyCode: '320324',
    });
    await send({ contactUpdate: { phone: '139 0000 1111' } });
    await send({ serviceDelivered: { service: 'WAGE_ARREARS', deliveredOn: '2026-11-10', note: '协助追回工资' } });
    const p = await waitFor('the three records at Suining', async () => {
      const now = await personNow();
      return now.statusReports.edges.length === 1 && now.phone === '13900001111' && now.servicesDelivered.length === 1 && now;
    });
    expect(p.statusReports.edges[0].node).toEqual({ period: '2026-11', arrival: 'PARTNER_COUNTY', workStatus: 'EMPLOYED', needs: ['SCHOOL_PLACE'], place: { countyCode: '320506', town: '郭巷街道' } });
    expect(p.servicesDelivered).toEqual([{ service: 'WAGE_ARREARS', deliveredOn: '2026-11-10', deliveredBy: '320506', note: '协助追回工资' }]);
    // the report counts: nothing is due for the current quarter any more
    const status = await ok(suining, `query($id: ID!) { person(id: $id) { activeAgreement { lastReportPeriod } } }`, { id: person.id }, sOfficial);
    expect(status.person.activeAgreement.lastReportPeriod).toBe('2026-11');
    // and Wuzhong keeps its own trace of the service and of each action on the notice
    const [notice] = await notices();
    expect(notice.servicesDelivered).toEqual([{ service: 'WAGE_ARREARS', deliveredBy: '320506' }]);
    expect(notice.history.map((h: any) => h.action)).toEqual(['RECEIVE', 'RECORD_ARRIVAL', 'SEND_REPORT', 'UPDATE_CONTACT', 'RECORD_SERVICE']);
  });

  it('inquiry and reply: Wuzhong asks, the home village official verifies and answers; Wuzhong sees the answer', async () => {
    const sent = await ok(
      wuzhong,
      `mutation($i: SendInquiryInput!) { sendInquiry(input: $i) { id direction status dueOn issuedOn notice { id } } }`,
      { i: { noticeId, purpose: 'CONTACT_VERIFICATION', question: '请核实此人家中联系人电话', urgency: 'URGENT' } },
      wAdmin,
    );
    const today = protocolDate();
    expect(sent.sendInquiry).toMatchObject({ direction: 'OUTBOUND', status: 'SENT', issuedOn: today, dueOn: addDays(today, 15), notice: { id: noticeId } });
    // at Suining it is a task for the person's village official, due in 15 days
    const Q = `{ inquiries(filter: {direction: INBOUND}) { edges { node { id status dueOn purpose question person { id } village { code } allowedActions history { action toStatus actorType actorId actorRole } } } } }`;
    const task = await waitFor('the inquiry at Suining', async () => (await ok(suining, Q, {}, sOfficial)).inquiries.edges[0]?.node);
    expect(task).toMatchObject({ status: 'MATCHED', dueOn: addDays(today, 15), purpose: 'CONTACT_VERIFICATION', person: { id: person.id }, village: { code: SEED.villageWangji } });
    expect(task.allowedActions).toEqual(['VERIFY', 'ANSWER_DECLINED']);
    await ok(suining, `mutation($id: ID!) { verifyInquiry(id: $id) { status } }`, { id: task.id }, sOfficial);
    const answered = await ok(
      suining,
      `mutation($id: ID!) { answerInquiry(id: $id, result: VERIFIED, answer: "家中联系人电话有效") { status result replyRecordId history { action toStatus actorType actorRole } } }`,
      { id: task.id },
      sOfficial,
    );
    expect(answered.answerInquiry.history).toEqual([
      { action: 'RECEIVE', toStatus: 'RECEIVED', actorType: 'PARTNER', actorRole: 'PARTNER_COUNTY' },
      { action: 'MATCH', toStatus: 'MATCHED', actorType: 'PARTNER', actorRole: 'PARTNER_COUNTY' },
      { action: 'VERIFY', toStatus: 'VERIFIED', actorType: 'USER', actorRole: 'VILLAGE_OFFICIAL' },
      { action: 'ANSWER_VERIFIED', toStatus: 'ANSWERED', actorType: 'USER', actorRole: 'VILLAGE_OFFICIAL' },
    ]);
    const back = await waitFor('the answer at Wuzhong', async () => {
      const i = (await ok(wuzhong, `query($id: ID!) { inquiry(id: $id) { status result answer replyRecordId } }`, { id: sent.sendInquiry.id }, wAdmin)).inquiry;
      return i.status === 'ANSWERED' && i;
    });
    expect(back).toEqual({ status: 'ANSWERED', result: 'VERIFIED', answer: '家中联系人电话有效', replyRecordId: answered.answerInquiry.replyRecordId });
  });

  it('and the other way: Suining asks about its resident, Wuzhong answers from its notice', async () => {
    const dueOn = addDays(todayIn(suining.config.timeZone), 25);
    const sent = await ok(
      suining,
      `mutation($i: SendInquiryInput!) { sendInquiry(input: $i) { id status dueOn } }`,
      { i: { personId: person.id, partnerCountyCode: '320506', purpose: 'EMPLOYMENT_VERIFICATION', question: '请核实此人是否仍在该厂工作', urgency: 'NORMAL', dueOn } },
      sOfficial,
    );
    expect(sent.sendInquiry).toMatchObject({ status: 'SENT', dueOn });
    const [notice] = await waitFor('the inquiry at Wuzhong', async () => {
      const n = await notices();
      return n[0].inquiries.some((i: any) => i.direction === 'INBOUND') && n;
    });
    const inbound = notice.inquiries.find((i: any) => i.direction === 'INBOUND');
    expect(inbound.status).toBe('MATCHED');
    await ok(wuzhong, `mutation($id: ID!) { verifyInquiry(id: $id) { status } }`, { id: inbound.id }, wAdmin);
    await ok(wuzhong, `mutation($id: ID!) { answerInquiry(id: $id, result: VERIFIED, answer: "仍在该厂工作") { status } }`, { id: inbound.id }, wAdmin);
    const p = await waitFor('the answer at Suining', async () => {
      const now = await personNow();
      return now.inquiries.find((i: any) => i.id === sent.sendInquiry.id && i.status === 'ANSWERED') && now;
    });
    expect(p.inquiries.find((i: any) => i.id === sent.sendInquiry.id)).toMatchObject({ direction: 'OUTBOUND', result: 'VERIFIED', answer: '仍在该厂工作', partnerCountyCode: '320506' });
  });

  it('delivers everything once after the receiver comes back, and the same batch again is all DUPLICATE', async () => {
    await suining.stop();
    const send = (input: Record<string, unknown>) => ok(wuzhong, `mutation($i: NotificationInput!) { sendNotification(input: $i) { id } }`, { i: { noticeId, ...input } }, wAdmin);
    const ids = [
      (await send({ serviceDelivered: { service: 'LEGAL_AID', deliveredOn: '2026-11-15' } })).sendNotification.id,
      (await send({ serviceDelivered: { service: 'SCHOOL_PLACE', deliveredOn: '2026-11-16' } })).sendNotification.id,
      (await send({ contactUpdate: { employer: '苏州另一家电子厂' } })).sendNotification.id,
    ];
    const rows = () => wuzhong.server.deps.db.select().from(outboundRecords).where(inArray(outboundRecords.id, ids));
    // the oldest is tried and waits for its retry; the later ones about the same person wait behind it, untried
    await waitFor('failed attempts', async () => {
      const now = await rows();
      const [first, ...later] = ids.map((id) => now.find((r) => r.id === id)!);
      return first!.attempts >= 1 && first!.status === 'QUEUED' && first!.lastError && later.every((r) => r.status === 'QUEUED' && r.attempts === 0);
    });
    await suining.restart();
    await waitFor('delivery after restart', async () => (await rows()).every((r) => r.status === 'DELIVERED'));
    const p = await personNow();
    expect(p.servicesDelivered.map((s: any) => s.service)).toEqual(['SCHOOL_PLACE', 'LEGAL_AID', 'WAGE_ARREARS']);
    expect(p.employer).toBe('苏州另一家电子厂');
    const receipts = async () =>
      (await suining.server.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'exchange.receive'), inArray(auditLog.targetId, ids)))).map(
        (r) => (r.details as { status: string }).status,
      );
    expect((await receipts()).sort()).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);

    // the very same signed records, pushed again: all DUPLICATE, nothing applied twice
    const jws = (await rows()).sort((a, b) => ids.indexOf(a.id) - ids.indexOf(b.id)).map((r) => wuzhong.server.deps.secrets.decrypt(r.jwsEnc!));
    const res = await fetch(`${suining.server.url}/exchange/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signTransportToken(wuzhong.server.deps, '320324')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: jws }),
    });
    expect(await res.json()).toEqual({ receipts: ids.map((id) => ({ id, status: 'DUPLICATE' })) });
    expect((await personNow()).servicesDelivered).toHaveLength(3);
  });

  it('lets Wuzhong look the person up: a signed summary it verifies with Suining public keys; a non-consenting person answers like an unknown one', async () => {
    const lookup = async (idNumber: string) => {
      const res = await fetch(`${suining.server.url}/exchange/v1/lookup`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await signTransportToken(wuzhong.server.deps, '320324')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ idNumber }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const found = await lookup(person.idNumber);
    expect(found.status).toBe(200);
    const { payload } = await compactVerify(found.body.record, createRemoteJWKSet(new URL(`${suining.server.url}/.well-known/jwks.json`)));
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      iss: '320324',
      aud: '320506',
      type: 'STATUS_SUMMARY',
      subject: { idNumber: person.idNumber, name: person.name },
      body: { status: 'AWAY', place: { countyCode: '320506', town: '郭巷街道' }, agreement: { cadence: 'QUARTERLY', validTo }, lastReportPeriod: '2026-11' },
    });
    // someone who agreed to share only with 梁溪, and someone unknown
    const other = await register(suining, sOfficial, { homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
    await activeAgreement(suining, sOfficial, other.id, { sharingCounties: ['320213'], validTo });
    const otherId = (await suining.gql(`mutation { revealIdNumber(personId: "${other.id}", reason: "测试核对") }`, {}, sOfficial)).data!.revealIdNumber;
    const notShared = await lookup(otherId);
    expect(notShared).toEqual({ status: 404, body: { error: 'not_found' } });
    expect(await lookup(nextIdNumber())).toEqual(notShared);
  });

  it('return home: Suining marks the person returned and tells Wuzhong, whose notice closes', async () => {
    const r = await ok(
      suining,
      `mutation($i: NotificationInput!) { sendNotification(input: $i) { type } }`,
      { i: { personId: person.id, partnerCountyCode: '320506', returnHome: { returnedOn: '2026-11-20' } } },
      sOfficial,
    );
    expect(r.sendNotification.type).toBe('RETURN_HOME');
    expect((await personNow()).status).toBe('RETURNED');
    const [notice] = await waitFor('the notice closed', async () => (await notices())[0].status === 'CLOSED' && notices());
    expect(notice.history.at(-1)).toMatchObject({ action: 'RETURN_HOME', toStatus: 'CLOSED', actorType: 'PARTNER', actorId: '320324' });
  });
});
