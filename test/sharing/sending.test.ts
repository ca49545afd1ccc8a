import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundRecords, inquiries, outboundRecords, people, servicesDelivered } from '../../src/db/schema';
import { eraseExpiredRecords } from '../../src/people/erasure';
import { systemCaller } from '../../src/policy/actor';
import { countyWithPartner, type FakePartner } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, type TestServer } from '../helpers/server';

/**
 * What this county sends about its residents, and when it must not: consent to sharing with the county, its
 * withdrawal (queued records cancelled), and erasure (stored records stripped). The partner is a fake county
 * that signs its own records; our delivery worker is off, so queued records stay queued.
 */
let t: TestServer;
let admin: string;
let official: string;
let wuzhong: FakePartner;
const DAY = 86_400_000;

let close: () => Promise<void>;
/** The end of the residents' agreements: a year from the day the test runs (the departure record announces it). */
let validTo: string;
beforeAll(async () => {
  ({ t, admin, partner: wuzhong, close } = await countyWithPartner({ RETENTION_DAYS_AFTER_WITHDRAWAL: '30' }));
  validTo = t.day(365);
  official = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
});
afterAll(() => close());

const db = () => t.server.deps.db;
async function resident(terms: Record<string, unknown> = { sharingCounties: ['320506'], validTo }, name = '刘洋') {
  const idNumber = nextIdNumber();
  const p = await register(t, official, { name, idNumber, homeVillageCode: SEED.villageWangji, phone: '13812340000' });
  if (terms) await activeAgreement(t, official, p.id, terms);
  return { id: p.id, idNumber, name };
}
const outboxOf = (personId: string) => db().select().from(outboundRecords).where(eq(outboundRecords.personId, personId));
const DEPART = `mutation($p: ID!, $i: DepartureInput!) { recordDeparture(personId: $p, input: $i) { person { currentPlace { countyCode town } departureDate } record { id type } } }`;
const NOTIFY = `mutation($i: NotificationInput!) { sendNotification(input: $i) { id type partnerCountyCode } }`;
const INQUIRE = `mutation($i: SendInquiryInput!) { sendInquiry(input: $i) { id status } }`;
const departure = { partnerCountyCode: '320506', leftOn: '2026-11-01', town: '郭巷街道' };
const PLACE = `query($id: ID!) { person(id: $id) { currentPlace { countyCode } departureDate } }`;

describe('sending about our residents', () => {
  it('refuses a departure the person did not consent to share, to an unknown county, or without an agreement to announce, changing nothing', async () => {
    const notShared = await resident({ sharingCounties: ['320214'], validTo });
    const openEnded = await resident({ sharingCounties: ['320506'] });
    const noAgreement = await resident(null as never);
    const cases: [string, string, Record<string, unknown>, Record<string, unknown>][] = [
      ['no sharing consent', notShared.id, departure, { code: 'CONFLICT', field: 'partnerCountyCode', reason: 'NO_SHARING_CONSENT' }],
      ['not a partner', notShared.id, { ...departure, partnerCountyCode: '320214' }, { code: 'BAD_USER_INPUT', field: 'partnerCountyCode' }],
      ['agreement without an end date', openEnded.id, departure, { code: 'CONFLICT' }],
      ['no agreement', noAgreement.id, departure, { code: 'CONFLICT' }],
    ];
    for (const [name, personId, input, error] of cases) {
      const r = await t.gql(DEPART, { p: personId, i: input }, official);
      expect(r.errors?.[0]?.extensions, name).toMatchObject(error);
      expect(await outboxOf(personId), name).toEqual([]);
      expect((await t.gql(PLACE, { id: personId }, official)).data!.person, name).toEqual({ currentPlace: null, departureDate: null });
    }
    // the same for notifications and inquiries
    const notify = await t.gql(NOTIFY, { i: { personId: notShared.id, partnerCountyCode: '320506', serviceDelivered: { service: 'LEGAL_AID', deliveredOn: '2026-11-02' } } }, official);
    expect(notify.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'NO_SHARING_CONSENT' });
    const ask = await t.gql(INQUIRE, { i: { personId: notShared.id, partnerCountyCode: '320506', purpose: 'CONTACT_VERIFICATION', question: '?', urgency: 'NORMAL' } }, official);
    expect(ask.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'NO_SHARING_CONSENT' });
    expect(await db().select().from(servicesDelivered).where(eq(servicesDelivered.personId, notShared.id))).toEqual([]);
  });

  it('records a departure: the person moves and the DEPARTURE is queued for the partner in the same transaction, audited', async () => {
    const p = await resident();
    const r = await t.gql(DEPART, { p: p.id, i: departure }, official);
    expect(r.data!.recordDeparture.person).toEqual({ currentPlace: { countyCode: '320506', town: '郭巷街道' }, departureDate: '2026-11-01' });
    const [row] = await outboxOf(p.id);
    expect(row).toMatchObject({ id: r.data!.recordDeparture.record.id, type: 'DEPARTURE', partnerCode: '320506', status: 'QUEUED' });
    const payload = JSON.parse(Buffer.from(t.server.deps.secrets.decrypt(row!.jwsEnc!).split('.')[1]!, 'base64url').toString());
    expect(payload).toMatchObject({
      type: 'DEPARTURE',
      aud: '320506',
      subject: { idNumber: p.idNumber, name: p.name },
      body: { leftOn: '2026-11-01', destination: { countyCode: '320506', town: '郭巷街道' }, phone: '13812340000', agreement: { cadence: 'QUARTERLY', validTo } },
    });
    const audit = await t.gql(`{ auditLog(first: 3) { edges { node { action targetId } } } }`, {}, admin);
    expect(audit.data!.auditLog.edges.map((e: any) => e.node.action)).toEqual(['exchange.queue', 'exchange.departure', 'person.update']);
  });

  it('answers a notification naming no subject, two things at once, or a status report about our own resident with BAD_USER_INPUT', async () => {
    const p = await resident();
    const cases: [Record<string, unknown>, string][] = [
      [{ partnerCountyCode: '320506', returnHome: { returnedOn: '2026-11-02' } }, 'personId'],
      [{ personId: p.id, partnerCountyCode: '320506' }, 'input'],
      [{ personId: p.id, partnerCountyCode: '320506', returnHome: { returnedOn: '2026-11-02' }, contactUpdate: { phone: '13900000000' } }, 'input'],
      [{ personId: p.id, partnerCountyCode: '320506', statusReport: { period: '2026-11', workStatus: 'EMPLOYED' } }, 'statusReport'],
      [{ personId: p.id, partnerCountyCode: '320506', contactUpdate: {} }, 'contactUpdate'],
      [{ personId: p.id, partnerCountyCode: '320506', contactUpdate: { phone: '12345' } }, 'contactUpdate.phone'],
      [{ personId: p.id, partnerCountyCode: '320506', returnHome: { returnedOn: '2099-01-01' } }, 'returnHome.returnedOn'],
    ];
    for (const [input, field] of cases) {
      const r = await t.gql(NOTIFY, { i: input }, official);
      expect(r.errors?.[0]?.extensions, JSON.stringify(input)).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
    expect(await outboxOf(p.id)).toEqual([]);
  });
});

describe('withdrawing consent to sharing', () => {
  it('cancels what is still queued or failed for that county, sends nothing new, and leaves what was delivered', async () => {
    const p = await resident();
    const other = await resident();
    await t.gql(DEPART, { p: p.id, i: departure }, official);
    await t.gql(NOTIFY, { i: { personId: p.id, partnerCountyCode: '320506', contactUpdate: { phone: '13911110000' } } }, official);
    await t.gql(NOTIFY, { i: { personId: p.id, partnerCountyCode: '320506', serviceDelivered: { service: 'ELDER_CARE', deliveredOn: '2026-11-05' } } }, official);
    await t.gql(DEPART, { p: other.id, i: departure }, official);
    const [delivered, failed, queued] = (await outboxOf(p.id)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
    await db().update(outboundRecords).set({ status: 'DELIVERED' }).where(eq(outboundRecords.id, delivered!.id));
    await db().update(outboundRecords).set({ status: 'FAILED', lastError: 'TYPE_NOT_ALLOWED' }).where(eq(outboundRecords.id, failed!.id));

    const w = await t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: PARTNER_SHARING, scope: "320506") { kind } }`, {}, official);
    expect(w.errors).toBeUndefined();
    const after = new Map((await outboxOf(p.id)).map((r) => [r.id, r]));
    expect(after.get(delivered!.id)).toMatchObject({ status: 'DELIVERED' });
    expect(after.get(failed!.id)).toMatchObject({ status: 'CANCELLED', lastError: 'CONSENT_WITHDRAWN' });
    expect(after.get(queued!.id)).toMatchObject({ status: 'CANCELLED', lastError: 'CONSENT_WITHDRAWN' });
    expect((await outboxOf(other.id)).map((r) => r.status)).toEqual(['QUEUED']);

    // never pushed, pulled, read or queued again
    await t.server.delivery.runOnce();
    expect((await db().select().from(outboundRecords).where(inArray(outboundRecords.id, [failed!.id, queued!.id]))).map((r) => r.status)).toEqual(['CANCELLED', 'CANCELLED']);
    const pull = await fetch(`${t.url}/exchange/v1/records?limit=500`, { headers: { authorization: `Bearer ${wuzhong.token()}` } });
    const pulled = ((await pull.json()) as { records: { jws: string }[] }).records.map((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()).id);
    expect(pulled).toContain(delivered!.id);
    expect(pulled).not.toContain(queued!.id);
    expect(pulled).not.toContain(failed!.id);
    const read = await fetch(`${t.url}/exchange/v1/records/${queued!.id}`, { headers: { authorization: `Bearer ${wuzhong.token()}` } });
    expect(read.status).toBe(404);
    const requeue = await t.gql(`mutation { requeueOutboundRecord(id: "${failed!.id}") { status } }`, {}, admin);
    expect(requeue.errors?.[0]?.extensions.code).toBe('CONFLICT');
    const again = await t.gql(NOTIFY, { i: { personId: p.id, partnerCountyCode: '320506', contactUpdate: { phone: '13922220000' } } }, official);
    expect(again.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'NO_SHARING_CONSENT' });
    const audit = await t.gql(`{ auditLog(filter: {action: "exchange.cancel", targetId: "${p.id}"}) { edges { node { details } } } }`, {}, admin);
    expect(audit.data!.auditLog.edges[0].node.details).toMatchObject({ partner: '320506', reason: 'CONSENT_WITHDRAWN' });
  });

  it('lets the official decline a partner’s inquiry about someone who does not share with it, but not verify it', async () => {
    const p = await resident({ sharingCounties: ['320214'], validTo }, '吴敏');
    const jws = wuzhong.record({ type: 'INQUIRY', subject: { idNumber: p.idNumber, name: p.name }, body: BODIES.INQUIRY });
    await wuzhong.pushTo(t.url, [jws]);
    const [inquiry] = await db().select().from(inquiries).where(eq(inquiries.personId, p.id));
    expect(inquiry).toMatchObject({ status: 'MATCHED', villageCode: SEED.villageWangji });
    await t.gql(`mutation { verifyInquiry(id: "${inquiry!.id}") { status } }`, {}, official);
    const verified = await t.gql(`mutation { answerInquiry(id: "${inquiry!.id}", result: VERIFIED, answer: "是") { status } }`, {}, official);
    expect(verified.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', reason: 'NO_SHARING_CONSENT' });
    const declined = await t.gql(`mutation { answerInquiry(id: "${inquiry!.id}", result: DECLINED, answer: "本人未同意向贵方提供信息") { status result } }`, {}, official);
    expect(declined.data!.answerInquiry).toEqual({ status: 'ANSWERED', result: 'DECLINED' });
    const closed = await t.gql(`mutation { closeInquiry(id: "${inquiry!.id}") { status allowedActions } }`, {}, official);
    expect(closed.data!.closeInquiry).toEqual({ status: 'CLOSED', allowedActions: [] });
  });
});

describe('erasure', () => {
  it('strips every stored record about an erased person, both ways and unmatched ones too, and their inquiries and notes', async () => {
    const p = await resident(undefined, '郑华');
    await t.gql(DEPART, { p: p.id, i: departure }, official);
    const push = async (records: string[]) => (await wuzhong.pushTo(t.url, records)).body as { receipts: { status: string }[] };
    const applied = wuzhong.record({ type: 'SERVICE_DELIVERED', subject: { idNumber: p.idNumber, name: p.name }, body: BODIES.SERVICE_DELIVERED });
    const unmatched = wuzhong.record({ type: 'CONTACT_UPDATE', subject: { idNumber: p.idNumber, name: '郑小华' }, body: BODIES.CONTACT_UPDATE });
    const asked = wuzhong.record({ type: 'INQUIRY', subject: { idNumber: p.idNumber, name: p.name }, body: BODIES.INQUIRY });
    expect((await push([applied, unmatched, asked])).receipts.map((r) => r.status)).toEqual(['ACCEPTED', 'ACCEPTED', 'ACCEPTED']);
    const ids = [applied, unmatched, asked].map((j) => JSON.parse(Buffer.from(j.split('.')[1]!, 'base64url').toString()).id as string);
    const hmac = t.server.deps.secrets.hmac(p.idNumber);

    // back home (the partner is told), and erased once the retention after return has passed
    const home = await t.gql(NOTIFY, { i: { personId: p.id, partnerCountyCode: '320506', returnHome: { returnedOn: '2026-11-20' } } }, official);
    expect(home.errors).toBeUndefined();
    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'), new Date(Date.now() + 1100 * DAY))).toBeGreaterThanOrEqual(1);
    expect((await db().select().from(people).where(eq(people.id, p.id)))[0]!.erasedAt).not.toBeNull();

    const inbound = await db().select().from(inboundRecords).where(inArray(inboundRecords.id, ids));
    expect(inbound).toHaveLength(3);
    for (const r of inbound) expect(r, r.type).toMatchObject({ jwsEnc: null, subjectIdHmac: null, erasedAt: expect.any(Date) });
    const out = await outboxOf(p.id);
    expect(out.map((r) => r.type).sort()).toEqual(['DEPARTURE', 'RETURN_HOME']);
    for (const r of out) expect(r, r.type).toMatchObject({ jwsEnc: null, subjectIdHmac: null, status: 'CANCELLED', lastError: 'ERASED' });
    expect(await db().select().from(inboundRecords).where(eq(inboundRecords.subjectIdHmac, hmac))).toEqual([]);
    expect(await db().select().from(outboundRecords).where(eq(outboundRecords.subjectIdHmac, hmac))).toEqual([]);
    const [inquiry] = await db().select().from(inquiries).where(eq(inquiries.recordId, ids[2]!));
    expect(inquiry).toMatchObject({ question: null, answer: null, subjectName: null, subjectIdMasked: null, purpose: 'CONTACT_VERIFICATION', erasedAt: expect.any(Date) });
    expect((await db().select().from(servicesDelivered).where(eq(servicesDelivered.personId, p.id)))[0]).toMatchObject({ service: 'WAGE_ARREARS', note: null });

    // shown as erased; not readable by the partner; the same record sent again is a DUPLICATE, not stored anew
    const Q = `{ exchangeInbox(filter: {partnerCountyCode: "320506"}, first: 200) { edges { node { id subjectIdNumberMasked subjectName signatureVerified erasedAt } } } }`;
    const shown = (await t.gql(Q, {}, admin)).data!.exchangeInbox.edges.map((e: any) => e.node).filter((n: any) => ids.includes(n.id));
    expect(shown.every((n: any) => n.subjectIdNumberMasked === null && n.subjectName === null && n.signatureVerified === null && n.erasedAt)).toBe(true);
    const read = await fetch(`${t.url}/exchange/v1/records/${ids[0]}`, { headers: { authorization: `Bearer ${wuzhong.token()}` } });
    expect(read.status).toBe(404);
    expect((await push([applied])).receipts.map((r) => r.status)).toEqual(['DUPLICATE']);
    expect(await db().select().from(inboundRecords).where(and(eq(inboundRecords.id, ids[0]!), eq(inboundRecords.issuer, '320506')))).toHaveLength(1);
  });
});
