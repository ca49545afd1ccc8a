import crypto from 'node:crypto';
import { and, asc, eq, gt, inArray, max, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/audit/service';
import { todayIn } from '../../src/calendar';
import { agreements, auditLog, inboundRecords, incomingNotices, people, personChanges, statusReports } from '../../src/db/schema';
import { nextPeriod, periodContaining } from '../../src/reports/periods';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { activeAgreement, nextIdNumber, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

/**
 * The inbox applies what it can of a batch set-based (src/sharing/batch.ts: a few statements per batch) and the
 * rest record by record through the appliers; if the database refuses one of the set-based statements, the whole
 * batch goes record by record. Both ways must come to the same registry. Two counties with the same people receive
 * the same records, signed once, from the same partner: one takes the batch set-based, the other record by record
 * (its batch carries one record its database refuses), and everything they stored is compared.
 */

interface County {
  t: TestServer;
  official: string;
  statements: string[];
  /** People by name. */
  ids: Map<string, string>;
}

type Who = { idNumber: string; name: string };
const quarter = periodContaining('QUARTERLY', todayIn('Asia/Shanghai'));
const nextQuarter = nextPeriod('QUARTERLY', quarter);
const REFUSED_REF = crypto.randomUUID();

let partner: FakePartner;
const counties: County[] = [];
let phones = 0;
/** Someone both counties register alike (same ID number, name and phone). */
const who = (name: string): Who & { phone: string } => ({ idNumber: nextIdNumber(), name, phone: `1360000${String(++phones).padStart(4, '0')}` });
const cast = {
  fresh: who('李明'),
  corrects: who('王芳'),
  officialReported: who('赵强'),
  returned: who('陈静'),
  cameHome: who('杨帆'),
  withdrawn: who('刘洋'),
  newPhone: who('孙丽'),
  twice: who('周杰'),
  samePhone: who('吴敏'),
  futurePeriod: who('郑涛'),
  longEmployer: who('冯超'),
  otherName: who('黄霞'),
};
/** Subjects nobody here has. */
const unknown = [who('无名'), who('无名甲'), who('无名乙'), who('无名丙')] as const;
const resident = who('钱文'); // the partner's resident living here (a notice)

async function county(): Promise<County> {
  const statements: string[] = [];
  const ids = new Map<string, string>();
  const t = await startTestServer({}, { onQuery: (q) => statements.push(q) });
  const admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
  const official = (await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji })).token;
  const r = await t.gql(REGISTER, { input: agreement(partner) }, admin);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  for (const w of Object.values(cast)) {
    const p = await register(t, official, { name: w.name, idNumber: w.idNumber, phone: w.phone, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
    await activeAgreement(t, official, p.id, { sharingCounties: ['320506'], validTo: t.day(365) });
    ids.set(w.name, p.id);
    if (w === cast.returned) await t.gql(`mutation { markReturned(personId: "${p.id}", returnedOn: "${todayIn('Asia/Shanghai')}") { status } }`, {}, official);
    if (w === cast.withdrawn) await t.gql(`mutation { withdrawConsent(personId: "${p.id}", kind: AGREEMENT) { id } }`, {}, official);
    if (w === cast.officialReported) {
      const s = await t.gql(SUBMIT, { input: { personId: p.id, period: quarter.label, arrival: 'PHONE' } }, official);
      if (s.errors) throw new Error(JSON.stringify(s.errors));
    }
  }
  return { t, official, statements, ids };
}

const subjectOf = (w: Who) => ({ idNumber: w.idNumber, name: w.name });
const report = (w: Who, body: Record<string, unknown> = {}, opts: { id?: string } = {}) =>
  partner.record({ type: 'STATUS_REPORT', subject: subjectOf(w), body: { ...BODIES.STATUS_REPORT, period: quarter.label, ...body }, ...opts });
const contact = (w: Who, body: Record<string, unknown>, opts: { ref?: string } = {}) => partner.record({ type: 'CONTACT_UPDATE', subject: subjectOf(w), body, ...opts });
const idByName = async (c: County, name: string) => (await c.t.server.deps.db.select({ id: people.id }).from(people).where(eq(people.name, name)))[0]!.id;
const inboundInserts = (c: County) => c.statements.filter((q) => q.startsWith('insert into "exchange_inbound_records"')).length;
const idOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).id as string;
const push = (c: County, records: string[]) => partner.pushTo(c.t.url, records) as Promise<{ status: number; body: { receipts: { id: string; status: string; reason?: string }[] } }>;

/** Records both counties received before the batch. */
const earlier = {
  firstReport: '',
  departure: '',
  sentAgain: '',
  idReused: '',
  beforeComingHome: '',
};
/** The batch, in order, with what each record should come to. */
let batch: { jws: string; expect: string }[] = [];

beforeAll(async () => {
  partner = await FakePartner.start('320506', SEED.county);
  counties.push(await county(), await county());
  earlier.firstReport = report(cast.corrects, { workStatus: 'SEEKING', needs: [] });
  earlier.departure = partner.record({ type: 'DEPARTURE', subject: subjectOf(resident), body: BODIES.DEPARTURE });
  earlier.sentAgain = report(unknown[0]);
  earlier.idReused = report(unknown[1]);
  earlier.beforeComingHome = report(cast.cameHome);
  for (const c of counties) {
    const r = await push(c, Object.values(earlier));
    expect(r.body.receipts.map((x) => x.reason ?? x.status)).toEqual(Object.values(earlier).map(() => 'ACCEPTED'));
    const home = await c.t.gql(`mutation { markReturned(personId: "${c.ids.get(cast.cameHome.name)}", returnedOn: "${todayIn('Asia/Shanghai')}") { status } }`, {}, c.official);
    expect(home.errors).toBeUndefined();
  }
  const repeated = contact(unknown[3], { phone: '13700000009' });
  batch = [
    { jws: report(cast.fresh, { phone: '13911112222', needs: ['OTHER'], note: '需要法律咨询' }), expect: 'ACCEPTED' },
    { jws: report(cast.corrects, { workStatus: 'EMPLOYED', needs: [] }), expect: 'ACCEPTED' },
    { jws: report(cast.officialReported), expect: 'PERIOD_ALREADY_REPORTED' },
    { jws: report(cast.returned), expect: 'PERSON_NOT_AWAY' },
    { jws: report(cast.withdrawn), expect: 'PERSON_WITHDRAWN' },
    { jws: report(unknown[2], { note: '另一份' }), expect: 'ACCEPTED' },
    { jws: contact({ ...cast.otherName, name: '黄小霞' }, { phone: '13700000001' }), expect: 'ACCEPTED' },
    { jws: earlier.sentAgain, expect: 'DUPLICATE' },
    { jws: report(unknown[1], { note: '同一编号，另一内容' }, { id: idOf(earlier.idReused) }), expect: 'ID_REUSED' },
    // refused now (the person came home), but the same record again: a duplicate first
    { jws: earlier.beforeComingHome, expect: 'DUPLICATE' },
    { jws: contact(cast.newPhone, { phone: '13733334444' }), expect: 'ACCEPTED' },
    { jws: report(cast.twice, { workStatus: 'NOT_WORKING', needs: [] }), expect: 'ACCEPTED' },
    { jws: contact(cast.twice, { phone: '13755556666' }), expect: 'ACCEPTED' },
    { jws: report(cast.futurePeriod, { period: nextQuarter.label }), expect: 'REGISTRY_REFUSED' },
    { jws: contact(resident, { phone: '13766667777' }), expect: 'ACCEPTED' },
    { jws: contact(cast.samePhone, { phone: cast.samePhone.phone }), expect: 'ACCEPTED' },
    { jws: contact(cast.longEmployer, { place: { countyCode: '320506', town: '木渎镇' }, employer: 'x'.repeat(150) }), expect: 'ACCEPTED' },
    { jws: repeated, expect: 'ACCEPTED' },
    { jws: repeated, expect: 'DUPLICATE' },
  ];
}, 180_000);

afterAll(async () => {
  await partner?.close();
  for (const c of counties) await c.t.close();
});

/** Everything a county stored that the batch could have touched, with its own ids replaced by names and periods. */
async function snapshot(c: County, after: { auditId: number }, leave: string[]) {
  const db = c.t.server.deps.db;
  const names = new Map<string, string | null>((await db.select({ id: people.id, name: people.name }).from(people)).map((p) => [p.id, p.name]));
  for (const n of await db.select({ id: incomingNotices.id, name: incomingNotices.subjectName }).from(incomingNotices)) names.set(n.id, `notice ${n.name}`);
  const reports = await db.select().from(statusReports).orderBy(asc(statusReports.personId), asc(statusReports.createdAt));
  const reportName = new Map(reports.map((r) => [r.id, `${names.get(r.personId)} ${r.period} ${r.arrival}`]));
  const named = (id: string | null | undefined) => (id ? (names.get(id) ?? reportName.get(id) ?? id) : id);
  const ids = batch.map((b) => idOf(b.jws));
  const audit = await db.select().from(auditLog).where(gt(auditLog.id, after.auditId)).orderBy(asc(auditLog.id));
  return {
    people: (await db.select().from(people).orderBy(people.name)).map((p) => [p.name, p.status, p.phone, p.currentCountyCode, p.currentTown, p.currentArea, p.employer]),
    reports: reports.map((r) => ({
      ...r,
      id: reportName.get(r.id),
      personId: named(r.personId),
      agreementId: r.agreementId !== null,
      supersedesId: named(r.supersedesId),
      supersededAt: r.supersededAt !== null,
      // an official's user id is the county's own
      recordedById: r.recordedByType === 'PARTNER' ? r.recordedById : 'official',
      createdAt: undefined,
      liaisonContactId: undefined,
    })).sort((x, y) => `${x.id} ${x.supersededAt}`.localeCompare(`${y.id} ${y.supersededAt}`)),
    // each person's changes in order (a batch writes those it takes set-based before those it takes one by one)
    changes: (await db.select().from(personChanges).orderBy(asc(personChanges.id)))
      .map((ch) => [named(ch.personId), ch.fields, ch.source, ch.actorType, ch.actorId, ch.actorRole])
      .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    due: (await db.select().from(agreements).orderBy(asc(agreements.createdAt))).map((a) => [named(a.personId), a.status, a.nextDuePeriod, a.nextDueStart, a.nextDueOn, a.lastReportPeriod, a.lastReportOn]),
    inbound: (await db.select().from(inboundRecords).where(and(eq(inboundRecords.issuer, '320506'), inArray(inboundRecords.id, ids))).orderBy(inboundRecords.id))
      .filter((r) => !leave.includes(r.id))
      .map((r) => [r.id, r.type, r.state, r.unmatchedReason, named(r.personId), r.appliedAt !== null, r.contentHmac.length]),
    notices: (await db.select().from(incomingNotices)).map((n) => [n.subjectName, n.status, n.phone]),
    audit: audit
      .filter((a) => !leave.includes(a.targetId ?? ''))
      .map((a) => [a.action, a.targetType, named(a.targetId), a.outcome, a.actorType, a.actorId, JSON.stringify(a.details, (k, v) => (k === 'personId' ? named(v) : v))]),
  };
}

describe('a batch applied set-based and record by record', () => {
  it('comes to the same registry either way, and a record the database refuses is refused alone', async () => {
    const [setBased, oneByOne] = counties as [County, County];
    // One more record for the second county, which its database refuses: the set-based insert of the batch's records
    // fails with it, so that county takes the whole batch record by record (and refuses this one alone).
    const refused = contact(who('无名丁'), { phone: '13700000002' }, { ref: REFUSED_REF });
    await oneByOne.t.server.deps.db.execute(sql.raw(`alter table exchange_inbound_records add constraint hl_test_refuse check (ref is distinct from '${REFUSED_REF}')`));
    const auditBefore = async (c: County) => ({ auditId: (await c.t.server.deps.db.select({ id: max(auditLog.id) }).from(auditLog))[0]!.id ?? 0 });
    const before = [await auditBefore(setBased), await auditBefore(oneByOne)];

    setBased.statements.length = 0;
    const a = await push(setBased, batch.map((b) => b.jws));
    const setBasedInserts = inboundInserts(setBased);
    oneByOne.statements.length = 0;
    const b = await push(oneByOne, [...batch.map((x) => x.jws), refused]);
    const oneByOneInserts = inboundInserts(oneByOne);

    expect(a.status).toBe(200);
    expect(a.body.receipts.map((r) => r.reason ?? r.status)).toEqual(batch.map((x) => x.expect));
    expect(a.body.receipts.map((r) => r.id)).toEqual(batch.map((x) => idOf(x.jws)));
    expect(b.status).toBe(200);
    expect(b.body.receipts).toEqual([...a.body.receipts, { id: idOf(refused), status: 'REJECTED', reason: 'STORAGE_REFUSED' }]);
    // Which way each county went: one insert of the records taken set-based plus one for each of the five left to
    // their applier (a person named twice, a notice, an id sent twice); or that insert, refused, then one per record.
    expect(setBasedInserts).toBe(1 + 5);
    expect(oneByOneInserts).toBe(1 + batch.length + 1);

    const [sa, sb] = [await snapshot(setBased, before[0]!, []), await snapshot(oneByOne, before[1]!, [idOf(refused)])];
    expect(sa).toEqual(sb);
    for (const c of counties) expect((await verifyAuditChain(c.t.server.deps.db)).ok).toBe(true);

    // and that registry is the one the rules make
    const person = (name: string) => sa.people.find((p) => p[0] === name)!;
    expect(person(cast.fresh.name)[2]).toBe('13911112222');
    expect(person(cast.newPhone.name)[2]).toBe('13733334444');
    expect(person(cast.twice.name)[2]).toBe('13755556666');
    expect(person(cast.samePhone.name)[2]).toBe(cast.samePhone.phone);
    expect(person(cast.longEmployer.name).slice(3)).toEqual(['320506', '木渎镇', null, 'x'.repeat(100)]);
    expect(person(cast.otherName.name)[2]).not.toBe('13700000001');
    const reportsOf = (name: string) => sa.reports.filter((r) => r.personId === name).map((r) => [r.period, r.arrival, r.supersededAt, r.recordedByType, r.workStatus, r.needsNote]);
    expect(reportsOf(cast.fresh.name)).toEqual([[quarter.label, 'PARTNER_COUNTY', false, 'PARTNER', 'EMPLOYED', '需要法律咨询']]);
    expect(reportsOf(cast.corrects.name)).toEqual([
      [quarter.label, 'PARTNER_COUNTY', false, 'PARTNER', 'EMPLOYED', null],
      [quarter.label, 'PARTNER_COUNTY', true, 'PARTNER', 'SEEKING', null],
    ]);
    expect(reportsOf(cast.officialReported.name)).toEqual([[quarter.label, 'PHONE', false, 'VILLAGE_OFFICIAL', null, null]]);
    for (const w of [cast.returned, cast.withdrawn, cast.futurePeriod]) expect(reportsOf(w.name)).toEqual([]);
    const dueOf = (name: string) => sa.due.find((d) => d[0] === name && d[1] === 'ACTIVE')!;
    expect(dueOf(cast.fresh.name).slice(2, 4)).toEqual([nextQuarter.label, nextQuarter.start]);
    expect(dueOf(cast.fresh.name)[5]).toBe(quarter.label);
    expect(dueOf(cast.newPhone.name)[5]).toBeNull();
    const changesOf = (name: string) => sa.changes.filter((ch) => ch[0] === name).map((ch) => [ch[1], ch[2], ch[3], ch[4]]);
    expect(changesOf(cast.fresh.name)).toContainEqual([['phone', 'currentTown', 'currentArea'], 'STATUS_REPORT:PARTNER_COUNTY', 'PARTNER', '320506']);
    expect(changesOf(cast.newPhone.name)).toEqual([[['phone'], 'PARTNER_COUNTY:CONTACT_UPDATE', 'PARTNER', '320506']]);
    expect(changesOf(cast.samePhone.name)).toEqual([]);
    const state = (jws: string) => sa.inbound.find((r) => r[0] === idOf(jws))!.slice(2, 5);
    expect(state(batch[0]!.jws)).toEqual(['APPLIED', null, cast.fresh.name]);
    expect(state(batch[5]!.jws)).toEqual(['UNMATCHED', 'UNKNOWN_SUBJECT', null]);
    expect(state(batch[6]!.jws)).toEqual(['UNMATCHED', 'NAME_DIFFERS', null]);
    expect(state(batch[14]!.jws)).toEqual(['APPLIED', null, null]);
    expect(sa.notices).toEqual([[resident.name, 'OPEN', '13766667777']]);
    expect(sa.audit.filter((x) => x[0] === 'exchange.receive')).toHaveLength(batch.length);
    expect(sa.audit.filter((x) => x[0] === 'report.amend').map((x) => JSON.parse(x[6] as string).personId)).toEqual([cast.corrects.name]);
    expect(sa.audit.filter((x) => x[0] === 'report.submit').map((x) => JSON.parse(x[6] as string).personId)).toEqual([cast.fresh.name, cast.twice.name]);
  });

  it('takes the same few statements for a batch of 8 records as for one of 24 (no statement per record)', async () => {
    const c = counties[0]!;
    const statementsFor = async (n: number) => {
      const records: string[] = [];
      for (let i = 0; i < n / 4; i++) {
        const [a, b] = [who('蒋文'), who('沈丽')];
        for (const w of [a, b]) {
          const p = await register(c.t, c.official, { name: w.name, idNumber: w.idNumber, phone: w.phone, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
          await activeAgreement(c.t, c.official, p.id, { sharingCounties: ['320506'], validTo: c.t.day(365) });
        }
        records.push(report(a), contact(b, { phone: `1390000${String(++phones).padStart(4, '0')}` }), report(who('无名')), contact(who('无名'), { phone: '13700000003' }));
      }
      c.statements.length = 0;
      const r = await push(c, records);
      expect(r.body.receipts.map((x) => x.status)).toEqual(records.map(() => 'ACCEPTED'));
      return c.statements.length;
    };
    const few = await statementsFor(8);
    expect(await statementsFor(24)).toBe(few);
    // the transport token and partner, then per batch: people and notices locked, agreements, current reports,
    // the records stored, reports, people (one per set of fields), change feed, next due (3), the audit chain (3)
    expect(few).toBeLessThanOrEqual(22);
  });

  it('takes the batch record by record when the database refuses one of its set-based writes, refusing that record alone', async () => {
    const c = counties[0]!;
    const db = c.t.server.deps.db;
    const [a, b, d] = [who('韩梅'), who('曹雪'), who('许诺')];
    for (const w of [a, b, d]) {
      const p = await register(c.t, c.official, { name: w.name, idNumber: w.idNumber, phone: w.phone, homeVillageCode: SEED.villageWangji, currentPlace: { countyCode: '320506' } });
      await activeAgreement(c.t, c.official, p.id, { sharingCounties: ['320506'], validTo: c.t.day(365) });
    }
    const records = [report(a), report(b, { note: 'REFUSED BY A CHECK' }), contact(d, { phone: '13744445555' })];
    await db.execute(sql.raw(`alter table status_reports add constraint hl_test_refuse_note check (note is distinct from 'REFUSED BY A CHECK')`));
    try {
      const r = await push(c, records);
      expect(r.body.receipts.map((x) => x.reason ?? x.status)).toEqual(['ACCEPTED', 'STORAGE_REFUSED', 'ACCEPTED']);
    } finally {
      await db.execute(sql`alter table status_reports drop constraint hl_test_refuse_note`);
    }
    const stored = await db.select({ id: inboundRecords.id }).from(inboundRecords).where(inArray(inboundRecords.id, records.map(idOf)));
    expect(stored.map((x) => x.id).sort()).toEqual([idOf(records[0]!), idOf(records[2]!)].sort());
    const reportsOf = async (w: Who) => (await db.select({ period: statusReports.period }).from(statusReports).where(eq(statusReports.personId, await idByName(c, w.name)))).map((x) => x.period);
    expect(await reportsOf(a)).toEqual([quarter.label]);
    expect(await reportsOf(b)).toEqual([]);
    const [phone] = await db.select({ phone: people.phone }).from(people).where(eq(people.name, d.name));
    expect(phone!.phone).toBe('13744445555');
  });
});
