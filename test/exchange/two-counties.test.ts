import { and, count, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/service';
import { auditLog, inboundRecords, outboundRecords } from '../../src/db/schema';
import { DeliveryWorker, retryDelayMs } from '../../src/exchange/delivery';
import { queueRecord, type QueueRecordInput } from '../../src/exchange/outbox';
import { signTransportToken } from '../../src/exchange/transport';
import { systemCaller } from '../../src/policy/actor';
import { BODIES, SUBJECTS } from '../helpers/records';
import { startTestServer, type TestServer } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * Two real counties on 127.0.0.1, each with its own database, registered as partners of each other through their
 * public JWKS. Suining (home) runs its delivery worker in the background; Wuzhong (destination) is driven by hand.
 */
let suining: TestServer;
let wuzhong: TestServer;
let suiningAdmin: { token: string };
let wuzhongAdmin: { token: string };
const ALL = ['DEPARTURE', 'ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'RETURN_HOME', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];
const caller = systemCaller('test');

beforeAll(async () => {
  suining = await startTestServer({
    COUNTY_CODE: '320324',
    EXCHANGE_DELIVERY_ENABLED: 'true',
    EXCHANGE_DELIVERY_INTERVAL_MS: '100',
    EXCHANGE_DELIVERY_BATCH_SIZE: '3',
    EXCHANGE_RETRY_BASE_MS: '150',
    EXCHANGE_RETRY_MAX_MS: '600',
    EXCHANGE_PUSH_TIMEOUT_MS: '3000',
  });
  wuzhong = await startTestServer({ COUNTY_CODE: '320506' });
  suiningAdmin = await suining.user({ role: 'COUNTY_ADMIN' });
  wuzhongAdmin = await wuzhong.user({ role: 'COUNTY_ADMIN' });
  const register = async (at: TestServer, token: string, other: TestServer) => {
    const r = await at.gql(
      'mutation($i: RegisterPartnerInput!) { registerPartner(input: $i) { keys { kid } } }',
      { i: { countyCode: other.config.countyCode, name: `County ${other.config.countyCode}`, baseUrl: other.url, validFrom: '2020-01-01', validTo: '2099-12-31', inboundTypes: ALL, outboundTypes: ALL } },
      token,
    );
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  };
  await register(suining, suiningAdmin.token, wuzhong);
  await register(wuzhong, wuzhongAdmin.token, suining);
});
afterAll(async () => {
  await wuzhong?.close();
  await suining?.close();
});

/** How a registry service queues: in its transaction, the audit entry last. */
function queue(from: TestServer, input: Omit<QueueRecordInput, 'partnerCode'>) {
  const deps = from.server.deps;
  const to = from === suining ? wuzhong : suining;
  return deps.db.transaction(async (tx) => {
    const q = await queueRecord({ ...deps, db: tx }, { ...input, partnerCode: to.config.countyCode } as QueueRecordInput);
    await appendAudit(tx, caller, q.auditEvent);
    return q;
  });
}

const statuses = async (t: TestServer, ids: string[]) =>
  (await t.server.deps.db.select({ id: outboundRecords.id, status: outboundRecords.status }).from(outboundRecords).where(inArray(outboundRecords.id, ids))).map((r) => r.status);
const allDelivered = (t: TestServer, ids: string[]) => async () => (await statuses(t, ids)).every((s) => s === 'DELIVERED') && (await statuses(t, ids)).length === ids.length;
const inboxOf = async (t: TestServer, issuer: string) =>
  t.server.deps.db.select().from(inboundRecords).where(eq(inboundRecords.issuer, issuer));
const receipts = async (t: TestServer, ids: string[]) =>
  (await t.server.deps.db.select().from(auditLog).where(and(eq(auditLog.action, 'exchange.receive'), inArray(auditLog.targetId, ids)))).map(
    (r) => `${r.targetId}:${(r.details as { status?: string }).status ?? r.outcome}`,
  );

const DELIVERY = '{ partners { countyCode delivery { queued delivered failed oldestUndeliveredAgeSeconds lastError lastContactAt } } }';

describe('two counties exchanging records', () => {
  it('delivers queued records both ways and applies them on receipt (the registry story: registry-exchange.test.ts)', async () => {
    const subject = { ...SUBJECTS[2] };
    const departure = await queue(suining, { type: 'DEPARTURE', subject, body: BODIES.DEPARTURE });
    const inquiry = await queue(suining, { type: 'INQUIRY', subject, body: BODIES.INQUIRY });
    // Suining's background worker pushes them
    await waitFor('suining delivery', allDelivered(suining, [departure.id, inquiry.id]));
    const atWuzhong = await inboxOf(wuzhong, '320324');
    // the departure became an incoming notice, and the inquiry about the same person matched it
    expect(atWuzhong.map((r) => [r.id, r.type, r.state]).sort()).toEqual([[departure.id, 'DEPARTURE', 'APPLIED'], [inquiry.id, 'INQUIRY', 'APPLIED']].sort());

    // Wuzhong answers; its worker is driven by hand here
    const answers = [
      await queue(wuzhong, { type: 'ARRIVAL', subject, ref: departure.id, body: BODIES.ARRIVAL }),
      await queue(wuzhong, { type: 'STATUS_REPORT', subject, body: BODIES.STATUS_REPORT }),
      await queue(wuzhong, { type: 'CONTACT_UPDATE', subject, body: BODIES.CONTACT_UPDATE }),
      await queue(wuzhong, { type: 'SERVICE_DELIVERED', subject, body: BODIES.SERVICE_DELIVERED }),
    ];
    // One record about a person at a time, in queue order: four runs
    for (let i = 0; i < 4; i++) expect(await wuzhong.server.delivery.runOnce()).toEqual({ claimed: 1, delivered: 1, failed: 0, retried: 0 });
    const applied = (await inboxOf(suining, '320506')).sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());
    expect(applied.map((r) => r.id)).toEqual(answers.map((a) => a.id));
    const atSuining = await inboxOf(suining, '320506');
    expect(atSuining.map((r) => r.id).sort()).toEqual(answers.map((a) => a.id).sort());
    // Suining has no such person (these records were queued by hand): kept for a person to resolve
    expect(atSuining.every((r) => r.state === 'UNMATCHED')).toBe(true);
    expect(atSuining.find((r) => r.type === 'ARRIVAL')!.ref).toBe(departure.id);
    // each side shows it in GraphQL, signatures re-verified against the other's keys
    const inbox = await suining.gql('{ exchangeInbox(filter:{partnerCountyCode:"320506"}) { edges { node { type signatureVerified } } } }', {}, suiningAdmin.token);
    expect(inbox.data!.exchangeInbox.edges.map((e: any) => e.node.type).sort()).toEqual(['ARRIVAL', 'CONTACT_UPDATE', 'SERVICE_DELIVERED', 'STATUS_REPORT']);
    expect(inbox.data!.exchangeInbox.edges.every((e: any) => e.node.signatureVerified)).toBe(true);

    const stats = await wuzhong.gql(DELIVERY, {}, wuzhongAdmin.token);
    expect(stats.data!.partners[0]).toMatchObject({ countyCode: '320324', delivery: { queued: 0, delivered: 4, failed: 0, oldestUndeliveredAgeSeconds: null, lastError: null } });
    expect(stats.data!.partners[0].delivery.lastContactAt).toBeTruthy();
  });

  it('answers the same batch pushed again with all DUPLICATE, storing nothing twice', async () => {
    const batch = [
      await queue(suining, { type: 'SERVICE_DELIVERED', subject: { ...SUBJECTS[0] }, body: BODIES.SERVICE_DELIVERED }),
      await queue(suining, { type: 'STATUS_REPORT', subject: { ...SUBJECTS[0] }, body: BODIES.STATUS_REPORT }),
    ];
    const ids = batch.map((b) => b.id);
    await waitFor('first delivery', allDelivered(suining, ids));
    const before = (await inboxOf(wuzhong, '320324')).length;

    // the very same signed records, pushed again by hand with a fresh transport token
    const rows = await suining.server.deps.db.select().from(outboundRecords).where(inArray(outboundRecords.id, ids));
    const jws = ids.map((id) => suining.server.deps.secrets.decrypt(rows.find((r) => r.id === id)!.jwsEnc!));
    const res = await fetch(`${wuzhong.url}/exchange/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await signTransportToken(suining.server.deps, '320506')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ records: jws }),
    });
    expect(await res.json()).toEqual({ receipts: ids.map((id) => ({ id, status: 'DUPLICATE' })) });

    // and again through the worker, as after a lost answer: DUPLICATE counts as delivered
    await suining.server.deps.db.update(outboundRecords).set({ status: 'QUEUED', nextAttemptAt: new Date() }).where(inArray(outboundRecords.id, ids));
    await waitFor('redelivery', allDelivered(suining, ids));
    expect((await inboxOf(wuzhong, '320324')).length).toBe(before);
    expect((await receipts(wuzhong, ids)).sort()).toEqual(ids.flatMap((id) => [`${id}:ACCEPTED`, `${id}:DUPLICATE`, `${id}:DUPLICATE`]).sort());
  });

  it('keeps queueing while the receiver is down and delivers everything once after it restarts', async () => {
    await wuzhong.stop();
    const queued = [];
    for (let i = 0; i < 5; i++) queued.push(await queue(suining, { type: 'CONTACT_UPDATE', subject: { ...SUBJECTS[3] }, body: { phone: `1391234567${i}` } }));
    const ids = queued.map((q) => q.id);
    // the worker tries the oldest, fails, and backs off; the later ones about the same person wait behind it
    await waitFor('failed attempts', async () => {
      const rows = await suining.server.deps.db.select().from(outboundRecords).where(inArray(outboundRecords.id, ids));
      const [first, ...later] = ids.map((id) => rows.find((r) => r.id === id)!);
      return first!.attempts >= 2 && first!.status === 'QUEUED' && /unreachable/.test(first!.lastError ?? '') && later.every((r) => r.status === 'QUEUED' && r.attempts === 0);
    });
    const down = await suining.gql(DELIVERY, {}, suiningAdmin.token);
    expect(down.data!.partners[0].delivery).toMatchObject({ queued: 5, lastError: expect.stringMatching(/unreachable/) });
    expect(down.data!.partners[0].delivery.oldestUndeliveredAgeSeconds).toBeGreaterThanOrEqual(0);

    await wuzhong.restart();
    await waitFor('delivery after restart', allDelivered(suining, ids));
    const stored = (await inboxOf(wuzhong, '320324')).filter((r) => ids.includes(r.id));
    expect(stored.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect((await receipts(wuzhong, ids)).sort()).toEqual(ids.map((id) => `${id}:ACCEPTED`).sort());
    const up = await suining.gql(DELIVERY, {}, suiningAdmin.token);
    expect(up.data!.partners[0].delivery).toMatchObject({ queued: 0, lastError: null, oldestUndeliveredAgeSeconds: null });
  });

  it('marks a record the partner rejects as failed, with its reason, until an administrator queues it again', async () => {
    const narrow = await wuzhong.gql('mutation($t:[ExchangeRecordType!]) { updatePartner(countyCode:"320324", input:{inboundTypes:$t}) { inboundTypes } }', { t: ALL.filter((x) => x !== 'RETURN_HOME') }, wuzhongAdmin.token);
    expect(narrow.errors).toBeUndefined();
    const back = await queue(suining, { type: 'RETURN_HOME', subject: { ...SUBJECTS[1] }, body: BODIES.RETURN_HOME });
    await waitFor('rejection', async () => (await statuses(suining, [back.id]))[0] === 'FAILED');
    const stats = await suining.gql(DELIVERY, {}, suiningAdmin.token);
    expect(stats.data!.partners[0].delivery).toMatchObject({ failed: 1, lastError: 'TYPE_NOT_ALLOWED' });
    expect(await inboxOf(wuzhong, '320324')).not.toContainEqual(expect.objectContaining({ id: back.id }));

    await wuzhong.gql('mutation($t:[ExchangeRecordType!]) { updatePartner(countyCode:"320324", input:{inboundTypes:$t}) { inboundTypes } }', { t: ALL }, wuzhongAdmin.token);
    await suining.gql(`mutation { requeueOutboundRecord(id:"${back.id}") { status } }`, {}, suiningAdmin.token);
    await waitFor('delivery after requeue', allDelivered(suining, [back.id]));
  });

  it('never lets several worker instances push the same record', async () => {
    const extra = [new DeliveryWorker(suining.server.deps), new DeliveryWorker(suining.server.deps)];
    extra.forEach((w) => w.start());
    try {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push((await queue(suining, { type: 'SERVICE_DELIVERED', subject: { ...SUBJECTS[i % 4]! }, body: BODIES.SERVICE_DELIVERED })).id);
      await waitFor('delivery by three workers', allDelivered(suining, ids));
      // every push reaches Wuzhong's audit log; one ACCEPTED per record and no DUPLICATE means one push each
      expect((await receipts(wuzhong, ids)).sort()).toEqual(ids.map((id) => `${id}:ACCEPTED`).sort());
    } finally {
      await Promise.all(extra.map((w) => w.stop()));
    }
  });

  it('lets the partner pull instead, with its own transport token', async () => {
    const res = await fetch(`${suining.url}/exchange/v1/records?limit=500`, { headers: { authorization: `Bearer ${await signTransportToken(wuzhong.server.deps, '320324')}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { records: { jws: string }[] };
    const pulled = body.records.map((r) => JSON.parse(Buffer.from(r.jws.split('.')[1]!, 'base64url').toString()).id);
    const issued = (await suining.server.deps.db.select({ id: outboundRecords.id }).from(outboundRecords)).map((r) => r.id);
    expect(pulled.sort()).toEqual(issued.sort());
    expect((await suining.server.deps.db.select({ n: count() }).from(outboundRecords))[0]!.n).toBe(issued.length);
  });
});

describe('retry delays', () => {
  it('grow exponentially, capped, with jitter between half and all of the step', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 1000, 10_000, () => 1))).toEqual([1000, 2000, 4000, 8000, 10_000]);
    expect([1, 2, 3].map((n) => retryDelayMs(n, 1000, 10_000, () => 0))).toEqual([500, 1000, 2000]);
    for (let i = 0; i < 50; i++) {
      const d = retryDelayMs(3, 1000, 10_000);
      expect(d).toBeGreaterThanOrEqual(2000);
      expect(d).toBeLessThanOrEqual(4000);
    }
    expect(retryDelayMs(80, 1000, 60_000, () => 1)).toBe(60_000);
  });
});
