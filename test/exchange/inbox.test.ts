import crypto from 'node:crypto';
import { and, count, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows } from '../../src/db/client';
import { auditLog, inboundRecords, outboundRecords } from '../../src/db/schema';
import { agreement, FakePartner, partnerKey, REGISTER } from '../helpers/partner';
import { BODIES, SUBJECTS } from '../helpers/records';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let admin: { token: string };
let wuzhong: FakePartner;
let gusu: FakePartner;
const INBOUND = ['ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];
/** The types that need no earlier record of ours (a reply needs our inquiry: test/exchange/appliers.test.ts). */
const UNPROMPTED = INBOUND.filter((t) => t !== 'INQUIRY_REPLY');

beforeAll(async () => {
  t = await startTestServer({ EXCHANGE_MAX_BODY_BYTES: '200000' });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  for (const p of [wuzhong, gusu]) {
    const r = await t.gql(REGISTER, { input: agreement(p, { inboundTypes: INBOUND }) }, admin.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
});
afterAll(async () => {
  await wuzhong.close();
  await gusu.close();
  await t.close();
});

const db = () => t.server.deps.db;
const written = async () => ({
  inbound: (await db().select({ n: count() }).from(inboundRecords))[0]!.n,
  outbound: (await db().select({ n: count() }).from(outboundRecords))[0]!.n,
});

const push = (records: unknown[], from: FakePartner = wuzhong, body: unknown = { records }) => from.pushTo(t.url, records, body);

const stored = (issuer: string, id: string) =>
  db().select().from(inboundRecords).where(and(eq(inboundRecords.issuer, issuer), eq(inboundRecords.id, id)));

describe('POST /exchange/v1/records', () => {
  it('accepts records of the allowed types, stores them verbatim and encrypted, and answers in input order', async () => {
    const jws = UNPROMPTED.map((type) => wuzhong.record({ type, body: BODIES[type as keyof typeof BODIES], subject: SUBJECTS[2] }));
    const ids = jws.map((j) => JSON.parse(Buffer.from(j.split('.')[1]!, 'base64url').toString()).id);
    const r = await push(jws);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ receipts: ids.map((id) => ({ id, status: 'ACCEPTED' })) });
    for (const [i, id] of ids.entries()) {
      const [row] = await stored('320506', id);
      // nobody here has this ID number: kept for a person to resolve
      expect(row).toMatchObject({ type: UNPROMPTED[i], state: 'UNMATCHED', unmatchedReason: 'UNKNOWN_SUBJECT', personId: null, signedKid: wuzhong.es.kid });
      // at rest: neither the record nor the ID number in clear; decrypting gives back exactly what was sent
      expect(row!.jwsEnc).not.toContain(jws[i]!.split('.')[1]!.slice(0, 40));
      expect(row!.jwsEnc).not.toContain(SUBJECTS[2].idNumber);
      expect(row!.subjectIdHmac).toBe(t.server.deps.secrets.hmac(SUBJECTS[2].idNumber));
      expect(t.server.deps.secrets.decrypt(row!.jwsEnc!)).toBe(jws[i]);
    }
    const audit = await t.gql('{ auditLog(filter:{action:"exchange.receive"}, first: 5) { edges { node { actorType actorId targetId outcome details } } } }', {}, admin.token);
    expect(audit.data!.auditLog.edges.map((e: any) => e.node.targetId).sort()).toEqual([...ids].sort());
    expect(audit.data!.auditLog.edges[0].node).toMatchObject({ actorType: 'PARTNER', actorId: '320506', outcome: 'SUCCESS', details: { status: 'ACCEPTED' } });
  });

  it('answers DUPLICATE for the same record again, even re-signed, and ID_REUSED for the same id with other content', async () => {
    const id = crypto.randomUUID();
    const original = wuzhong.record({ id, type: 'ARRIVAL', body: BODIES.ARRIVAL });
    expect((await push([original])).body.receipts).toEqual([{ id, status: 'ACCEPTED' }]);
    const [before] = await stored('320506', id);
    const counts = await written();

    const again = await push([original, original]);
    expect(again.body.receipts).toEqual([{ id, status: 'DUPLICATE' }, { id, status: 'DUPLICATE' }]);
    // the same content re-signed with the partner's other key (different signature, different header)
    const payload = JSON.parse(Buffer.from(original.split('.')[1]!, 'base64url').toString());
    const resigned = wuzhong.record({ key: wuzhong.ed, id, type: 'ARRIVAL', body: BODIES.ARRIVAL, envelope: { iat: payload.iat } });
    expect((await push([resigned])).body.receipts).toEqual([{ id, status: 'DUPLICATE' }]);

    const changed = wuzhong.record({ id, type: 'ARRIVAL', body: { ...BODIES.ARRIVAL, employer: '另一家厂' } });
    expect((await push([changed])).body.receipts).toEqual([{ id, status: 'REJECTED', reason: 'ID_REUSED' }]);
    expect(await written()).toEqual(counts);
    expect(await stored('320506', id)).toEqual([before]);

    // two deliveries of one new record at the same moment: stored once
    const racing = wuzhong.record({ type: 'ARRIVAL', body: BODIES.ARRIVAL });
    const raced = await Promise.all([push([racing]), push([racing]), push([racing])]);
    expect(raced.map((r) => r.body.receipts[0].status).sort()).toEqual(['ACCEPTED', 'DUPLICATE', 'DUPLICATE']);

    // the same id from another partner is that partner's own record
    const theirs = gusu.record({ id, type: 'ARRIVAL', body: BODIES.ARRIVAL });
    expect((await push([theirs], gusu)).body.receipts).toEqual([{ id, status: 'ACCEPTED' }]);
  });

  it('rejects each bad record with its reason, stores none of them, and still accepts the good ones beside them', async () => {
    const good = () => ({ type: 'ARRIVAL', body: BODIES.ARRIVAL });
    const foreign = await partnerKey('ES256');
    const valid = wuzhong.record(good());
    const [vh, vp, vs] = valid.split('.') as [string, string, string];
    const cases: [string, unknown, string][] = [
      ['type not allowed inbound', wuzhong.record({ type: 'DEPARTURE', body: BODIES.DEPARTURE }), 'TYPE_NOT_ALLOWED'],
      ['lookup answers are not pushed', wuzhong.record({ type: 'STATUS_SUMMARY', body: { status: 'AWAY', place: { countyCode: '320506' }, agreement: null, lastReportPeriod: null } }), 'TYPE_NOT_ALLOWED'],
      ['envelope iss is another county', wuzhong.record({ ...good(), envelope: { iss: '320508' } }), 'ISS_MISMATCH'],
      ['envelope aud is another county', wuzhong.record({ ...good(), envelope: { aud: '370406' } }), 'AUD_MISMATCH'],
      ['unknown type', wuzhong.record({ type: 'GOSSIP', body: {} }), 'UNKNOWN_TYPE'],
      ['malformed body', wuzhong.record({ type: 'ARRIVAL', body: { arrivedOn: '2026-02-30', place: { countyCode: '320506' } } }), 'MALFORMED_BODY'],
      ['unknown body field', wuzhong.record({ type: 'ARRIVAL', body: { ...BODIES.ARRIVAL, religion: 'x' } }), 'MALFORMED_BODY'],
      ['invalid ID number', wuzhong.record({ ...good(), subject: { idNumber: '320324199001010010', name: '王' } }), 'INVALID_SUBJECT'],
      ['reply without ref', wuzhong.record({ type: 'INQUIRY_REPLY', body: BODIES.INQUIRY_REPLY }), 'MISSING_REF'],
      ['version 2', wuzhong.record({ ...good(), envelope: { v: 2 } }), 'UNSUPPORTED_VERSION'],
      ['id not a uuid', wuzhong.record({ ...good(), id: 'record-1' }), 'MALFORMED_ENVELOPE'],
      ['not a string', { jws: valid }, 'MALFORMED_JWS'],
      ['garbage', 'garbage', 'MALFORMED_JWS'],
      ['bad header encoding', `!!.${vp}.${vs}`, 'MALFORMED_JWS'],
      ['transport typ', wuzhong.record({ ...good(), header: { typ: 'hl-req+jwt' } }), 'UNSUPPORTED_HEADER'],
      ['jku in header', wuzhong.record({ ...good(), header: { jku: 'https://evil.example/jwks' } }), 'UNSUPPORTED_HEADER'],
      ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', kid: wuzhong.es.kid, typ: 'hl-record+jws' })).toString('base64url')}.${vp}.`, 'UNSUPPORTED_HEADER'],
      ['unknown key', wuzhong.record({ ...good(), key: foreign }), 'UNKNOWN_KEY'],
      ['alg other than the key', wuzhong.record({ ...good(), key: wuzhong.ed, header: { kid: wuzhong.es.kid } }), 'ALG_MISMATCH'],
      ['empty signature', `${vh}.${vp}.`, 'BAD_SIGNATURE'],
      ['bit-flipped signature', `${vh}.${vp}.${vs.slice(0, 9)}${vs[9] === 'A' ? 'B' : 'A'}${vs.slice(10)}`, 'BAD_SIGNATURE'],
      ['payload swapped under a valid signature', `${vh}.${wuzhong.record(good()).split('.')[1]}.${vs}`, 'BAD_SIGNATURE'],
      ['too large', wuzhong.record({ type: 'ARRIVAL', body: { ...BODIES.ARRIVAL, employer: 'x'.repeat(40_000) } }), 'RECORD_TOO_LARGE'],
    ];
    const before = await written();
    for (const [name, jws, reason] of cases) {
      const r = await push([jws]);
      expect(r.status, name).toBe(200);
      expect(r.body.receipts, name).toEqual([expect.objectContaining({ status: 'REJECTED', reason })]);
    }
    expect(await written()).toEqual(before);

    const mixed = await push([cases[0]![1], valid, cases[4]![1]]);
    expect(mixed.body.receipts.map((r: any) => r.status)).toEqual(['REJECTED', 'ACCEPTED', 'REJECTED']);
    expect((await written()).inbound).toBe(before.inbound + 1);
  });

  it('refuses text with control characters per record, naming the field in the audit entry', async () => {
    const cases: [string, string, Record<string, unknown>, string][] = [
      ['NUL in the subject name', 'ARRIVAL', { subject: { idNumber: SUBJECTS[0].idNumber, name: '张\u0000三' }, body: BODIES.ARRIVAL }, 'MALFORMED_ENVELOPE'],
      ['escape sequence in the employer', 'ARRIVAL', { body: { ...BODIES.ARRIVAL, employer: 'ok\u001b[2Jfactory' } }, 'MALFORMED_BODY'],
      ['line break in a town', 'STATUS_REPORT', { body: { ...BODIES.STATUS_REPORT, place: { countyCode: '320506', town: '郭巷\n街道' } } }, 'MALFORMED_BODY'],
      ['C1 control in a note', 'SERVICE_DELIVERED', { body: { ...BODIES.SERVICE_DELIVERED, note: 'a\u0085b' } }, 'MALFORMED_BODY'],
      ['bell in a question', 'INQUIRY', { body: { ...BODIES.INQUIRY, question: 'ring\u0007' } }, 'MALFORMED_BODY'],
    ];
    const before = await written();
    const jws = cases.map(([, type, opts]) => wuzhong.record({ type, ...opts } as any));
    const r = await push(jws);
    expect(r.body.receipts.map((x: any) => x.reason)).toEqual(cases.map(([, , , reason]) => reason));
    expect(await written()).toEqual(before);
    const [audit] = await db().select({ details: auditLog.details }).from(auditLog).where(eq(auditLog.targetId, r.body.receipts[1].id));
    expect(audit!.details).toMatchObject({ reason: 'MALFORMED_BODY', detail: expect.stringMatching(/^employer: .*control characters/) });
    // Free text may break lines.
    const multiline = wuzhong.record({ type: 'SERVICE_DELIVERED', body: { ...BODIES.SERVICE_DELIVERED, note: '第一行\r\n第二行\t完' } });
    expect((await push([multiline])).body.receipts[0]).toMatchObject({ status: 'ACCEPTED' });
  });

  it('turns a record the database refuses into a per-record STORAGE_REFUSED, keeping the rest of the batch', async () => {
    const refusedRef = crypto.randomUUID();
    await db().execute(sql.raw(`alter table exchange_inbound_records add constraint hl_test_refuse check (ref is distinct from '${refusedRef}')`));
    try {
      const before = await written();
      const batch = [
        wuzhong.record({ type: 'CONTACT_UPDATE', body: BODIES.CONTACT_UPDATE }),
        wuzhong.record({ type: 'CONTACT_UPDATE', body: BODIES.CONTACT_UPDATE, ref: refusedRef }),
        wuzhong.record({ type: 'SERVICE_DELIVERED', body: BODIES.SERVICE_DELIVERED }),
      ];
      const r = await push(batch);
      expect(r.status).toBe(200);
      expect(r.body.receipts.map((x: any) => x.reason ?? x.status)).toEqual(['ACCEPTED', 'STORAGE_REFUSED', 'ACCEPTED']);
      expect((await written()).inbound).toBe(before.inbound + 2);
      const [audit] = await db().select({ details: auditLog.details }).from(auditLog).where(eq(auditLog.targetId, r.body.receipts[1].id));
      expect(audit!.details).toMatchObject({ reason: 'STORAGE_REFUSED', detail: expect.stringMatching(/^SQLSTATE 23514/) });
    } finally {
      await db().execute(sql`alter table exchange_inbound_records drop constraint hl_test_refuse`);
    }
  });

  it('keeps audit details bounded and storable, whatever a record quotes', async () => {
    const huge = 'k'.repeat(20_000);
    const r = await push([wuzhong.record({ type: 'ARRIVAL', body: { ...BODIES.ARRIVAL, [huge]: 1 } }), wuzhong.record({ type: 'ARRIVAL', body: { ...BODIES.ARRIVAL, 'a\u0000b': 1 } })]);
    expect(r.status).toBe(200);
    expect(r.body.receipts).toEqual([expect.objectContaining({ status: 'REJECTED', reason: 'MALFORMED_BODY' }), expect.objectContaining({ status: 'REJECTED', reason: 'MALFORMED_BODY' })]);
    const [long] = await db().select({ details: auditLog.details }).from(auditLog).where(eq(auditLog.targetId, r.body.receipts[0].id));
    expect(JSON.stringify(long!.details).length).toBeLessThan(500);
    // A NUL cannot go into a jsonb audit row: it is written out instead of failing the batch.
    const [nul] = await db().select({ details: auditLog.details }).from(auditLog).where(eq(auditLog.targetId, r.body.receipts[1].id));
    expect(nul!.details).toMatchObject({ detail: expect.stringContaining('a\\u0000b') });
  });

  it('refuses a malformed request, more than 500 records or an oversized body as a whole, writing nothing', async () => {
    const before = await written();
    const record = wuzhong.record({ type: 'ARRIVAL', body: BODIES.ARRIVAL });
    expect(await push([], wuzhong, { records: Array(501).fill('x') })).toEqual({ status: 400, body: { error: 'bad_request', reason: 'TOO_MANY_RECORDS' } });
    expect((await push([], wuzhong, { records: [record, 'x'.repeat(200_001)] })).status).toBe(413); // > EXCHANGE_MAX_BODY_BYTES
    for (const body of ['{"records": [', '[]', '{"records": "x"}', '{"records": [], "more": 1}', '{}', 'null']) {
      expect(await push([], wuzhong, body), body).toEqual({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_REQUEST' } });
    }
    expect(await written()).toEqual(before);
    expect((await push([], wuzhong, { records: [] })).body).toEqual({ receipts: [] });
  });
});

describe('reading records back', () => {
  it('serves one record issued by the caller, and nothing of anyone else', async () => {
    const jws = wuzhong.record({ type: 'ARRIVAL', body: BODIES.ARRIVAL });
    const id = (await push([jws])).body.receipts[0].id;
    const get = async (from: FakePartner, path: string) => {
      const res = await fetch(`${t.url}/exchange/v1/records/${path}`, { headers: { authorization: `Bearer ${from.token()}` } });
      return { status: res.status, body: await res.json() };
    };
    expect(await get(wuzhong, id)).toEqual({ status: 200, body: { record: jws } });
    expect(await get(gusu, id)).toEqual({ status: 404, body: { error: 'not_found' } });
    expect(await get(wuzhong, crypto.randomUUID())).toEqual({ status: 404, body: { error: 'not_found' } });
    expect(await get(wuzhong, 'not-an-id')).toEqual({ status: 400, body: { error: 'bad_request', reason: 'MALFORMED_ID' } });
    const audit = await t.gql(`{ auditLog(filter:{action:"exchange.read", targetId:"${id}"}) { edges { node { actorId outcome } } } }`, {}, admin.token);
    expect(audit.data!.auditLog.edges.map((e: any) => e.node)).toEqual([{ actorId: '320508', outcome: 'FAILURE' }, { actorId: '320506', outcome: 'SUCCESS' }]);
  });

  it('lists the inbox for administrators, masked, and re-verifies stored records after the partner withdrew the key', async () => {
    const jws = wuzhong.record({ type: 'SERVICE_DELIVERED', body: BODIES.SERVICE_DELIVERED, subject: SUBJECTS[3] });
    const id = (await push([jws])).body.receipts[0].id;
    // the partner withdraws the key that signed it
    wuzhong.published = [wuzhong.ed];
    const refreshed = await t.gql('mutation { refreshPartnerKeys(countyCode:"320506") { keys { kid published } } }', {}, admin.token);
    expect(refreshed.data!.refreshPartnerKeys.keys).toContainEqual({ kid: wuzhong.es.kid, published: false });
    expect((await push([wuzhong.record({ type: 'ARRIVAL', body: BODIES.ARRIVAL })])).body.receipts[0].reason).toBe('UNKNOWN_KEY');

    const Q = `query($f: InboundRecordFilter, $after: String) { exchangeInbox(filter: $f, first: 2, after: $after) {
      edges { node { id issuerCountyCode type state subjectIdNumberMasked signatureVerified signedKid } } pageInfo { hasNextPage endCursor } } }`;
    const r = await t.gql(Q, { f: { type: 'SERVICE_DELIVERED', partnerCountyCode: '320506' } }, admin.token);
    expect(r.data!.exchangeInbox.edges[0].node).toEqual({
      id,
      issuerCountyCode: '320506',
      type: 'SERVICE_DELIVERED',
      state: 'UNMATCHED',
      subjectIdNumberMasked: `${SUBJECTS[3].idNumber.slice(0, 6)}********${SUBJECTS[3].idNumber.slice(14)}`,
      signatureVerified: true,
      signedKid: wuzhong.es.kid,
    });
    // pages walk the whole inbox without repeats
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: any = await t.gql(Q, { f: { partnerCountyCode: '320506' }, after }, admin.token);
      seen.push(...page.data.exchangeInbox.edges.map((e: any) => e.node.id));
      after = page.data.exchangeInbox.pageInfo.hasNextPage ? page.data.exchangeInbox.pageInfo.endCursor : null;
    } while (after);
    const total = (await db().select({ n: count() }).from(inboundRecords).where(eq(inboundRecords.issuer, '320506')))[0]!.n;
    expect(new Set(seen).size).toBe(total);
    expect(seen).toHaveLength(total);
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: '320324101201' });
    expect((await t.gql(Q, {}, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('lists the inbox by state, newest first, whichever index serves the state (APPLIED rows have no state entry)', async () => {
    // one more record about no one of ours (UNMATCHED), besides what the tests above stored
    await push([wuzhong.record({ type: 'SERVICE_DELIVERED', body: BODIES.SERVICE_DELIVERED, subject: SUBJECTS[2] })]);
    const Q = `query($f: InboundRecordFilter, $after: String) { exchangeInbox(filter: $f, first: 3, after: $after) {
      edges { node { id state } } pageInfo { hasNextPage endCursor } } }`;
    for (const state of ['RECEIVED', 'APPLIED', 'UNMATCHED'] as const) {
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page: any = await t.gql(Q, { f: { state }, after }, admin.token);
        expect(page.errors).toBeUndefined();
        for (const e of page.data.exchangeInbox.edges) {
          expect(e.node.state).toBe(state);
          seen.push(e.node.id);
        }
        after = page.data.exchangeInbox.pageInfo.hasNextPage ? page.data.exchangeInbox.pageInfo.endCursor : null;
      } while (after);
      const stored = await db()
        .select({ id: inboundRecords.id })
        .from(inboundRecords)
        .where(eq(inboundRecords.state, state))
        .orderBy(sql`${inboundRecords.receivedAt} desc, ${inboundRecords.issuer} desc, ${inboundRecords.id} desc`);
      expect(seen).toEqual(stored.map((r) => r.id));
      if (state === 'UNMATCHED') expect(seen.length).toBeGreaterThan(0);
    }
  });

  it('stores the ingest tables as docs/performance.md says (indexes written per record; room for HOT updates of people)', async () => {
    const one = async (index: string) => (await rows<{ indexdef: string }>(db(), sql`select indexdef from pg_indexes where schemaname = current_schema() and indexname = ${index}`))[0]?.indexdef;
    expect(await one('exchange_inbound_state_idx')).toMatch(/\(state, received_at\) WHERE \(state <> 'APPLIED'::text\)$/);
    expect(await one('audit_log_at_idx')).toMatch(/USING brin \(at\)$/);
    expect(await one('status_reports_agreement_idx')).toBeUndefined();
    const [people] = await rows<{ reloptions: string[] | string | null }>(db(), sql`select reloptions from pg_class where relnamespace = current_schema()::regnamespace and relname = 'people'`);
    expect(String(people?.reloptions)).toContain('fillfactor=90');
  });
});
