import crypto from 'node:crypto';
import { count, eq } from 'drizzle-orm';
import { compactVerify, createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, outboundRecords } from '../../src/db/schema';
import { countUndeliveredSignedWith, publishOutbox, queueRecord, type QueueRecordInput } from '../../src/exchange/outbox';
import { appendAudit } from '../../src/audit/service';
import type { Db } from '../../src/db/client';
import { systemCaller } from '../../src/policy/actor';
import { engine } from '../helpers/db';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { BODIES, SUBJECTS } from '../helpers/records';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let wuzhong: FakePartner;
let gusu: FakePartner;
const caller = systemCaller('test');

beforeAll(async () => {
  t = await startTestServer();
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  await t.gql(REGISTER, { input: agreement(wuzhong, { outboundTypes: ['DEPARTURE', 'INQUIRY', 'INQUIRY_REPLY', 'RETURN_HOME'] }) }, admin.token);
  await t.gql(REGISTER, { input: agreement(gusu) }, admin.token);
});
afterAll(async () => {
  await wuzhong.close();
  await gusu.close();
  await t.close();
});

const db = () => t.server.deps.db;
const outboxCount = async () => (await db().select({ n: count() }).from(outboundRecords))[0]!.n;
/** How a service queues a record: inside its transaction, the audit entry last. */
const queueIn = async (tx: Db, input: Partial<QueueRecordInput> = {}) => {
  const queued = await queueRecord({ ...t.server.deps, db: tx }, { partnerCode: '320506', type: 'DEPARTURE', subject: SUBJECTS[2], body: BODIES.DEPARTURE, ...input } as QueueRecordInput);
  await appendAudit(tx, caller, queued.auditEvent);
  return queued;
};
const queue = (input: Partial<QueueRecordInput> = {}) => db().transaction((tx) => queueIn(tx, input));

async function pull(from: FakePartner, query = '') {
  const res = await fetch(`${t.url}/exchange/v1/records${query}`, { headers: { authorization: `Bearer ${from.token()}` } });
  return { status: res.status, body: (await res.json()) as any };
}
const idOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).id as string;

describe('queueRecord', () => {
  it('signs the record with our published key and keeps it encrypted in the outbox', async () => {
    const q = await queue({ type: 'INQUIRY', body: { ...BODIES.INQUIRY, urgency: 'URGENT' } });
    const [row] = await db().select().from(outboundRecords).where(eq(outboundRecords.id, q.id));
    expect(row).toMatchObject({ partnerCode: '320506', type: 'INQUIRY', status: 'QUEUED', attempts: 0, seq: null });
    const jws = t.server.deps.secrets.decrypt(row!.jwsEnc!);
    expect(row!.jwsEnc).not.toContain(jws.split('.')[1]!.slice(0, 40));
    expect(decodeProtectedHeader(jws)).toEqual({ alg: 'ES256', kid: row!.signedKid, typ: 'hl-record+jws' });
    // a partner verifies it with nothing but our public JWKS
    const jwks = createLocalJWKSet((await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet);
    const { payload } = await compactVerify(jws, jwks);
    const record = JSON.parse(new TextDecoder().decode(payload));
    const issuedOn = new Date(record.iat * 1000 + 8 * 3600_000).toISOString().slice(0, 10);
    const due = new Date(`${issuedOn}T00:00:00Z`);
    due.setUTCDate(due.getUTCDate() + 15);
    expect(record).toEqual({
      v: 1,
      id: q.id,
      iss: t.config.countyCode,
      aud: '320506',
      type: 'INQUIRY',
      iat: expect.any(Number),
      subject: SUBJECTS[2],
      body: { ...BODIES.INQUIRY, urgency: 'URGENT', dueOn: due.toISOString().slice(0, 10) },
    });
    const audit = await t.gql(`{ auditLog(filter:{action:"exchange.queue", targetId:"${q.id}"}) { edges { node { actorId details } } } }`, {}, admin.token);
    expect(audit.data!.auditLog.edges[0].node).toEqual({ actorId: 'test', details: { partner: '320506', type: 'INQUIRY' } });
  });

  it('refuses what the agreement or the schema does not allow, writing nothing', async () => {
    await t.gql('mutation { suspendPartner(countyCode:"320508") { status } }', {}, admin.token);
    const cases: [Partial<QueueRecordInput>, string, string][] = [
      [{ partnerCode: '999999' }, 'BAD_USER_INPUT', 'partnerCode'],
      [{ partnerCode: '320508' }, 'CONFLICT', 'partnerCode'],
      [{ type: 'ARRIVAL', body: BODIES.ARRIVAL }, 'BAD_USER_INPUT', 'type'],
      [{ type: 'STATUS_SUMMARY' as never }, 'BAD_USER_INPUT', 'type'],
      [{ body: { ...BODIES.DEPARTURE, leftOn: 'soon' } }, 'BAD_USER_INPUT', 'body'],
      [{ subject: { idNumber: '320324199001010010', name: '王' } }, 'BAD_USER_INPUT', 'subject.idNumber'],
      [{ type: 'INQUIRY_REPLY', body: BODIES.INQUIRY_REPLY }, 'BAD_USER_INPUT', 'ref'],
    ];
    const before = await outboxCount();
    for (const [input, code, field] of cases) {
      await expect(queue(input), JSON.stringify(input)).rejects.toMatchObject({ extensions: { code, field } });
    }
    expect(await outboxCount()).toBe(before);
    await t.gql('mutation { reactivatePartner(countyCode:"320508") { status } }', {}, admin.token);
  });

  it('commits or rolls back with the transaction of the change that caused it', async () => {
    const before = await outboxCount();
    const audits = (await db().select({ n: count() }).from(auditLog))[0]!.n;
    await queue();
    await expect(
      db().transaction(async (tx) => {
        await queueIn(tx, { type: 'RETURN_HOME', body: BODIES.RETURN_HOME });
        throw new Error('the change itself fails');
      }),
    ).rejects.toThrow('the change itself fails');
    // only the record queued outside the failed transaction remains
    expect(await outboxCount()).toBe(before + 1);
    expect((await db().select({ n: count() }).from(auditLog))[0]!.n).toBe(audits + 1);
  });
});

describe('GET /exchange/v1/records (pull)', () => {
  it('returns the records issued to the caller in a stable order, resumable from any cursor', async () => {
    const mine = [await queue(), await queue({ type: 'RETURN_HOME', body: BODIES.RETURN_HOME }), await queue()];
    await queue({ partnerCode: '320508', type: 'ARRIVAL', subject: SUBJECTS[0], body: BODIES.ARRIVAL });
    const all = await pull(wuzhong, '?limit=500');
    expect(all.status).toBe(200);
    const ids = all.body.records.map((r: any) => idOf(r.jws));
    expect(ids.slice(-3)).toEqual(mine.map((m) => m.id));
    expect(all.body.hasMore).toBe(false);
    expect(all.body.next).toBe(all.body.records.at(-1).cursor);
    const theirs = await pull(gusu);
    expect(theirs.body.records.map((r: any) => JSON.parse(Buffer.from(r.jws.split('.')[1], 'base64url').toString()).aud)).toEqual(['320508']);

    // page by page, from any cursor, the same sequence
    const paged: string[] = [];
    let cursor = '';
    for (;;) {
      const page = await pull(wuzhong, `?limit=2${cursor ? `&after=${cursor}` : ''}`);
      paged.push(...page.body.records.map((r: any) => idOf(r.jws)));
      if (!page.body.hasMore) break;
      cursor = page.body.next;
    }
    expect(paged).toEqual(ids);
    const fromSecond = await pull(wuzhong, `?after=${all.body.records[1].cursor}&limit=500`);
    expect(fromSecond.body.records.map((r: any) => idOf(r.jws))).toEqual(ids.slice(2));
    // at the end: nothing more, and `next` stays where it was
    const end = await pull(wuzhong, `?after=${all.body.next}`);
    expect(end.body).toEqual({ records: [], next: all.body.next, hasMore: false });

    const audit = await t.gql('{ auditLog(filter:{action:"exchange.pull", actorId:"320506"}, first: 1) { edges { node { details } } } }', {}, admin.token);
    expect(audit.data!.auditLog.edges[0].node.details).toMatchObject({ count: 0 });
  });

  it('answers 400 to a malformed, tampered or foreign cursor and a bad limit', async () => {
    await queue();
    const { body } = await pull(wuzhong);
    const cursor: string = body.records[0].cursor;
    const [seq, mac] = cursor.split('.') as [string, string];
    const theirs = (await pull(gusu)).body.records[0].cursor as string;
    const bad = [
      `?after=${Number(seq) + 1}.${mac}`,
      `?after=${seq}.${mac.slice(0, -1)}${mac.endsWith('a') ? 'b' : 'a'}`,
      `?after=${seq}`,
      `?after=0${seq}.${mac}`,
      `?after=${theirs}`,
      '?after=',
      '?after=eyJzZXEiOjF9',
      `?after=${cursor}&after=${cursor}`,
    ];
    for (const q of bad) expect(await pull(wuzhong, q), q).toEqual({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_CURSOR' } });
    for (const q of ['?limit=0', '?limit=501', '?limit=ten', '?limit=-1']) {
      expect(await pull(wuzhong, q), q).toEqual({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_LIMIT' } });
    }
  });

  it('never skips a record whose transaction commits after later ones were pulled', async () => {
    const { body: start } = await pull(wuzhong, '?limit=500');
    // A record created earlier than everything pulled so far, but committed (published) only now.
    const late = await queue();
    await db().update(outboundRecords).set({ createdAt: new Date('2020-01-01T00:00:00Z') }).where(eq(outboundRecords.id, late.id));
    const after = await pull(wuzhong, `?after=${start.next}`);
    expect(after.body.records.map((r: any) => idOf(r.jws))).toEqual([late.id]);
  });

  // PGlite runs one transaction at a time, so a transaction held open would block the pull itself: only
  // PostgreSQL can show two writers interleaving.
  it.runIf(engine === 'postgres')('PostgreSQL: a record committed late by a concurrent transaction comes after, not before, the cursor', async () => {
    const { body: start } = await pull(wuzhong, '?limit=500');
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let lateId = '';
    const slow = db().transaction(async (tx) => {
      const queued = await queueRecord({ ...t.server.deps, db: tx }, { partnerCode: '320506', type: 'DEPARTURE', subject: SUBJECTS[1], body: BODIES.DEPARTURE });
      lateId = queued.id;
      await held;
      await appendAudit(tx, caller, queued.auditEvent);
    });
    await new Promise((r) => setTimeout(r, 100));
    const quick = await queue();
    const first = await pull(wuzhong, `?after=${start.next}`);
    expect(first.body.records.map((r: any) => idOf(r.jws))).toEqual([quick.id]);
    release();
    await slow;
    const second = await pull(wuzhong, `?after=${first.body.next}`);
    expect(second.body.records.map((r: any) => idOf(r.jws))).toEqual([lateId]);
  });

  it('serves one record issued to the caller by id, and not to anyone else', async () => {
    const q = await queue();
    const get = async (from: FakePartner, id: string) => (await fetch(`${t.url}/exchange/v1/records/${id}`, { headers: { authorization: `Bearer ${from.token()}` } })).status;
    expect(await get(wuzhong, q.id)).toBe(200);
    expect(await get(gusu, q.id)).toBe(404);
  });

  it('numbers rows in one publish step across partners without gaps or repeats', async () => {
    await queue();
    await queue({ partnerCode: '320508', type: 'ARRIVAL', subject: SUBJECTS[0], body: BODIES.ARRIVAL });
    await publishOutbox(db());
    expect(await publishOutbox(db())).toBe(0);
    const seqs = (await db().select({ seq: outboundRecords.seq }).from(outboundRecords).orderBy(outboundRecords.seq)).map((r) => r.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });
});

describe('key retirement guard', () => {
  it('counts queued records signed with a key, so the CLI can refuse to retire it', async () => {
    const q = await queue();
    const [row] = await db().select().from(outboundRecords).where(eq(outboundRecords.id, q.id));
    const queued = await countUndeliveredSignedWith(db(), row!.signedKid);
    expect(queued).toBeGreaterThanOrEqual(1);
    await db().update(outboundRecords).set({ status: 'DELIVERED' }).where(eq(outboundRecords.signedKid, row!.signedKid));
    expect(await countUndeliveredSignedWith(db(), row!.signedKid)).toBe(0);
  });
});

describe('outbox administration', () => {
  it('lists the outbox with filters and puts a failed record back in the queue', async () => {
    const q = await queue();
    await db().update(outboundRecords).set({ status: 'FAILED', lastError: 'TYPE_NOT_ALLOWED', attempts: 3 }).where(eq(outboundRecords.id, q.id));
    const list = await t.gql('{ exchangeOutbox(filter:{status: FAILED}) { edges { node { id partnerCountyCode status lastError attempts subjectIdNumberMasked signatureVerified } } } }', {}, admin.token);
    expect(list.data!.exchangeOutbox.edges.map((e: any) => e.node)).toEqual([
      { id: q.id, partnerCountyCode: '320506', status: 'FAILED', lastError: 'TYPE_NOT_ALLOWED', attempts: 3, subjectIdNumberMasked: `${SUBJECTS[2].idNumber.slice(0, 6)}********${SUBJECTS[2].idNumber.slice(14)}`, signatureVerified: true },
    ]);
    const requeued = await t.gql(`mutation { requeueOutboundRecord(id:"${q.id}") { status attempts lastError } }`, {}, admin.token);
    expect(requeued.data!.requeueOutboundRecord).toEqual({ status: 'QUEUED', attempts: 0, lastError: null });
    const again = await t.gql(`mutation { requeueOutboundRecord(id:"${q.id}") { status } }`, {}, admin.token);
    expect(again.errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect((await t.gql(`mutation { requeueOutboundRecord(id:"${crypto.randomUUID()}") { status } }`, {}, admin.token)).errors?.[0]?.extensions.code).toBe('NOT_FOUND');
  });
});
