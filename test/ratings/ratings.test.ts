import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { auditLog } from '../../src/audit/tables';
import { ratingSubmissions, serviceRatings, spentRatingTokens } from '../../src/db/schema';
import { eraseExpiredRecords } from '../../src/people/erasure';
import { systemCaller } from '../../src/policy/actor';
import { deliverPending } from '../../src/reminders/deliver';
import { LogNotifier } from '../../src/reminders/notifier';
import { notifications } from '../../src/reminders/tables';
import { ratingLinkFor } from '../../src/ratings/service';
import { periodContaining } from '../../src/reports/periods';
import { RATING_TOKEN_TYPE } from '../../src/ratings/tokens';
import { CapturingNotifier, INVITE, ratingToken } from '../helpers/ratings';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string };
let otherOfficial: { token: string };
let supervisor: { token: string };
const agreements: string[] = [];

const SUBMIT = `mutation($t: String!, $s: Int!, $c: String) { submitRating(token: $t, score: $s, comment: $c) }`;
const GROUPS = `query($p: String) { serviceRatings(period: $p) { village { code } period shown count average } }`;

beforeAll(async () => {
  t = await startTestServer({ RATING_LINK_BASE_URL: 'https://rate.example.cn/r', RETENTION_DAYS_AFTER_WITHDRAWAL: '0' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  otherOfficial = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  for (let i = 0; i < 9; i++) {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    agreements.push((await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' })).id);
  }
});
afterAll(() => t.close());

async function personOf(agreementId: string): Promise<string> {
  const r = await t.gql(`{ agreement(id: "${agreementId}") { person { id } } }`, {}, official.token);
  return r.data!.agreement.person.id;
}

/** The person is invited through the outbox; the token is what their SMS carries. */
const link = (agreementId: string, period = '2026-Q3', token = official.token) => ratingToken(t, token, { agreementId }, period);

/** A token signed with the server's real key but with claims or headers of our choosing. */
async function forge(claims: Record<string, unknown>, header: Record<string, unknown> = {}, exp = Math.floor(Date.now() / 1000) + 3600) {
  const key = await t.server.deps.keys.signingKey('SESSION');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: RATING_TOKEN_TYPE, ...header })
    .setIssuer('urn:hometown-link:320324')
    .setAudience('urn:hometown-link:320324:rating')
    .setIssuedAt(now - 7200)
    .setExpirationTime(exp)
    .setJti(crypto.randomUUID())
    .sign(key.key);
}

/** jose will not sign a header with unknown critical parameters, so this one is signed by hand (ES256, real key). */
async function signRaw(header: Record<string, unknown>, claims: Record<string, unknown>) {
  const key = await t.server.deps.keys.signingKey('SESSION');
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: key.alg, kid: key.kid, typ: RATING_TOKEN_TYPE, ...header })}.${enc({ iss: 'urn:hometown-link:320324', aud: 'urn:hometown-link:320324:rating', iat: now, exp: now + 3600, jti: crypto.randomUUID(), ...claims })}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.key, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

describe('service ratings', () => {
  it('sends the link to the person through the outbox, never to the official, once per person and period', async () => {
    const r = await t.gql(INVITE, { a: agreements[0], p: '2026-Q3' }, official.token);
    expect(r.data?.sendRatingInvitation).toEqual({ period: '2026-Q3', expiresAt: expect.any(String) });
    // The answer type has no token or link at all.
    expect((await t.gql(`mutation { sendRatingInvitation(agreementId: "${agreements[0]}", period: "2026-Q3") { token } }`, {}, official.token)).errors?.[0]?.extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const [queued] = await t.server.deps.db.select().from(notifications).where(eq(notifications.dedupeKey, `RATING_INVITATION:${(await personOf(agreements[0]!))}:2026-Q3`));
    expect(queued).toMatchObject({ kind: 'RATING_INVITATION', channel: 'LOG', status: 'PENDING', userId: null, agreementId: agreements[0] });
    // The outbox keeps the text with a slot for the link: the link is signed only when the message is sent.
    expect(queued!.body).toBe('【睢宁县乡情连心】请为村干部2026年第三季度的服务打分（匿名，仅限一次）：{link}');
    // A second invitation for the same person and period is refused (the reminder job shares the key).
    expect((await t.gql(INVITE, { a: agreements[0], p: '2026-Q3' }, official.token)).errors?.[0]?.extensions.code).toBe('CONFLICT');
    // Only periods that are over can be rated, not the quarter running today.
    expect((await t.gql(INVITE, { a: agreements[0], p: periodContaining('QUARTERLY', t.day(0)).label }, official.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'period' });
  });

  it('never shows administrators a usable link, in the outbox or the log, while the person receives a working one', async () => {
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    const outbox = async () =>
      (await t.gql(`{ notifications(kind: RATING_INVITATION) { edges { node { person { id } period status body } } } }`, {}, admin.token)).data!.notifications.edges.map((e: any) => e.node);
    expect((await t.gql(INVITE, { a: agreements[7], p: '2026-Q1' }, official.token)).errors).toBeUndefined();
    const person = await personOf(agreements[7]!);
    const pending = (await outbox()).find((n: any) => n.person.id === person && n.period === '2026-Q1');
    expect(pending).toMatchObject({ status: 'PENDING', body: expect.stringContaining('{link}') });
    expect(JSON.stringify(await outbox())).not.toMatch(/token=|eyJ/);
    // Sent through the default notifier: its log line has the link without its token.
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const n = await deliverPending(t.server.deps, new LogNotifier(logger));
    expect(n.sent).toBeGreaterThan(0);
    const logged = lines.map((l) => JSON.parse(l)).filter((l) => l.kind === 'RATING_INVITATION');
    expect(logged.length).toBe(n.sent);
    for (const l of logged) expect(l.text).toMatch(/https:\/\/rate\.example\.cn\/r\?token=\[redacted\]$/);
    // Sent, the row still holds no link.
    expect((await outbox()).find((x: any) => x.person.id === person && x.period === '2026-Q1')).toMatchObject({ status: 'SENT', body: pending.body });
    expect(JSON.stringify(await outbox())).not.toMatch(/token=|eyJ/);
    // What the notifier is given (an SMS gateway, here a capturing one) carries a working link: requeued as if the
    // first text never arrived, each sending signs a link of its own.
    const [row] = await t.server.deps.db.select().from(notifications).where(eq(notifications.dedupeKey, `RATING_INVITATION:${person}:2026-Q1`));
    await t.server.deps.db.update(notifications).set({ status: 'PENDING', nextAttemptAt: new Date() }).where(eq(notifications.id, row!.id));
    const capture = new CapturingNotifier();
    await deliverPending(t.server.deps, capture);
    expect(capture.sent.find((m) => m.id === row!.id)!.body).toMatch(/^【睢宁县乡情连心】请为村干部2026年第一季度的服务打分（匿名，仅限一次）：https:\/\/rate\.example\.cn\/r\?token=[\w.-]+$/);
    expect((await t.gql(SUBMIT, { t: capture.tokenSentIn(row!.id), s: 4 })).data?.submitRating).toBe(true);
  });

  it('accepts a link once, and one rating per person and period whatever the link', async () => {
    const token = await link(agreements[1]!);
    expect((await t.gql(SUBMIT, { t: token, s: 5, c: '村干部很负责' })).data?.submitRating).toBe(true);
    expect((await t.gql(SUBMIT, { t: token, s: 1 })).errors?.[0]?.extensions.code).toBe('CONFLICT');
    // Another validly signed link for the same person and period (as the reminder job would make) is refused too.
    const second = await ratingLinkFor(t.server.deps, agreements[1]!, '2026-Q3');
    expect((await t.gql(SUBMIT, { t: second.token, s: 1 })).errors?.[0]?.extensions.code).toBe('CONFLICT');
    // A link for a period that is not over is refused even when validly signed.
    const open = await ratingLinkFor(t.server.deps, agreements[1]!, periodContaining('QUARTERLY', t.day(0)).label);
    expect((await t.gql(SUBMIT, { t: open.token, s: 4 })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    // Nothing held or published points at the person, and the audit entry keeps no address.
    const [held] = await t.server.deps.db.select().from(ratingSubmissions);
    expect(Object.keys(held!).sort()).toEqual(['comment', 'id', 'officialUserId', 'period', 'score', 'townCode', 'villageCode']);
    const audits = await t.server.deps.db.select().from(auditLog).where(eq(auditLog.action, 'rating.submit'));
    expect(audits.length).toBeGreaterThan(0);
    expect(audits.every((a) => a.ip === null && a.requestId === null && a.actorType === 'PUBLIC')).toBe(true);
  });

  it('rejects expired, tampered, foreign-typed and self-keyed tokens, and bad scores', async () => {
    const valid = await link(agreements[2]!);
    const bad = async (token: string) => (await t.gql(SUBMIT, { t: token, s: 4 })).errors?.[0]?.extensions;
    expect(await bad(await forge({ sub: agreements[2], per: '2026-Q3' }, {}, Math.floor(Date.now() / 1000) - 120))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    const [h, p, s] = valid.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, per: '2026-Q2' })).toString('base64url')}.${s}`;
    expect(await bad(tampered)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    expect(await bad(await forge({ sub: agreements[2], per: '2026-Q3' }, { jku: 'https://evil.example/jwks' }))).toMatchObject({ field: 'token' });
    expect(await bad(await forge({ sub: agreements[2], per: '2026-Q3' }, { typ: 'hl-access+jwt' }))).toMatchObject({ field: 'token' });
    expect(await bad(await signRaw({ crit: ['hl'], hl: 1 }, { sub: agreements[2], per: '2026-Q3' }))).toMatchObject({ field: 'token' });
    // The same hand-signed token without `crit` is accepted: the refusal above was for the header.
    expect((await t.gql(SUBMIT, { t: await signRaw({}, { sub: agreements[8], per: '2026-Q2' }), s: 3 })).data?.submitRating).toBe(true);
    // A sign-in token is not a rating token.
    expect(await bad(official.token)).toMatchObject({ field: 'token' });
    expect((await t.gql(SUBMIT, { t: valid, s: 6 })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'score' });
    // None of these used the valid link up.
    expect((await t.gql(SUBMIT, { t: valid, s: 4 })).data?.submitRating).toBe(true);
  });

  it('holds ratings back and publishes a village’s period only in a shuffled batch of at least the minimum', async () => {
    // Held so far for 2026-Q3: 5 and 4 (agreements 1 and 2). Nothing is published or shown yet.
    expect(await t.server.deps.db.select().from(serviceRatings)).toEqual([]);
    expect((await t.gql(GROUPS, { p: '2026-Q3' }, official.token)).data!.serviceRatings).toEqual([]);
    for (const [i, score] of [3, 4].entries()) await t.gql(SUBMIT, { t: await link(agreements[3 + i]!), s: score });
    expect(await t.server.deps.db.select().from(serviceRatings)).toEqual([]);
    await t.gql(SUBMIT, { t: await link(agreements[5]!), s: 2, c: '希望多来电话' });
    // The fifth published all five together: 5, 4, 3, 4, 2, average 3.6; nothing of the period is held any more.
    const published = await t.server.deps.db.select().from(serviceRatings).where(eq(serviceRatings.period, '2026-Q3'));
    expect(published.map((r) => r.score).sort()).toEqual([2, 3, 4, 4, 5]);
    expect(new Set(published.map((r) => r.submittedOn)).size).toBe(1);
    expect(await t.server.deps.db.select().from(ratingSubmissions).where(eq(ratingSubmissions.period, '2026-Q3'))).toEqual([]);
    expect((await t.gql(GROUPS, { p: '2026-Q3' }, supervisor.token)).data!.serviceRatings).toEqual([{ village: { code: SEED.villageWangji }, period: '2026-Q3', shown: true, count: 5, average: 3.6 }]);
    // A sixth is held until enough others join it: the figures do not move, so they reveal nothing about it.
    await t.gql(SUBMIT, { t: await link(agreements[6]!), s: 1 });
    expect((await t.gql(GROUPS, { p: '2026-Q3' }, official.token)).data!.serviceRatings[0]).toMatchObject({ count: 5, average: 3.6 });
    expect((await t.gql(GROUPS, {}, otherOfficial.token)).data!.serviceRatings).toEqual([]);
  });

  it('applies the minimum in the service to published groups too, and shows comments only to supervisors', async () => {
    // Published when the minimum was lower: two ratings of 2026-Q1 are now below it and stay hidden.
    const row = { villageCode: SEED.villageWangji, townCode: SEED.townWangji, period: '2026-Q1', score: 1, comment: '太少不显示', submittedOn: '2026-04-02' };
    await t.server.deps.db.insert(serviceRatings).values([row, { ...row, score: 2 }]);
    expect((await t.gql(GROUPS, { p: '2026-Q1' }, supervisor.token)).data!.serviceRatings).toEqual([{ village: { code: SEED.villageWangji }, period: '2026-Q1', shown: false, count: null, average: null }]);
    const comments = await t.gql(`{ ratingComments { village { code } period comment } }`, {}, supervisor.token);
    expect(comments.data?.ratingComments).toEqual([
      { village: { code: SEED.villageWangji }, period: '2026-Q3', comment: '希望多来电话' },
      { village: { code: SEED.villageWangji }, period: '2026-Q3', comment: '村干部很负责' },
    ]);
    expect((await t.gql(`{ ratingComments { comment } }`, {}, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('lets only the person’s official (by agreement), or staff of the person’s association (by membership), send invitations', async () => {
    expect((await t.gql(INVITE, { a: agreements[7], p: '2026-Q3' }, otherOfficial.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(INVITE, { a: agreements[7], p: '2026-Q3' }, supervisor.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(INVITE, { p: '2026-Q3' }, official.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    const assoc = (await t.gql(`mutation { createAssociation(input: { name: "常州睢宁商会", hostCityCode: "320412" }) { id } }`, {}, admin.token)).data!.createAssociation.id;
    const staff = await t.user({ role: 'ASSOCIATION_STAFF', scope: assoc });
    expect((await t.gql(INVITE, { a: agreements[7], p: '2026-Q3' }, staff.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: '赵强', idNumber, homeVillageCode: SEED.villageWangji });
    const pa = await activeAgreement(t, official.token, p.id);
    const m = await t.gql(`mutation($a: ID!, $i: AddMemberInput!) { addAssociationMember(associationId: $a, input: $i) { id } }`, { a: assoc, i: { idNumber, name: '赵强', consentMethod: 'PHONE' } }, staff.token);
    const memberId = m.data!.addAssociationMember.id;
    // Each reference is for the roles that know it: staff never name the agreement, even their own member's (they
    // never see agreements), and the official names the agreement, not the membership.
    const staffByAgreement = (await t.gql(INVITE, { a: pa.id, p: '2026-Q3' }, staff.token)).errors?.[0];
    expect(staffByAgreement?.extensions.code).toBe('FORBIDDEN');
    expect(staffByAgreement?.message).toMatch(/association staff name the membership \(memberId\)/);
    const officialByMembership = (await t.gql(INVITE, { m: memberId, p: '2026-Q3' }, official.token)).errors?.[0];
    expect(officialByMembership?.extensions.code).toBe('FORBIDDEN');
    expect(officialByMembership?.message).toMatch(/village officials name the agreement \(agreementId\)/);
    // Administrators may use either.
    expect((await t.gql(INVITE, { m: memberId, p: '2026-Q1' }, admin.token)).errors).toBeUndefined();
    expect((await t.gql(INVITE, { a: pa.id, p: '2026-Q2' }, admin.token)).errors).toBeUndefined();
    const token = await ratingToken(t, staff.token, { memberId }, '2026-Q3');
    expect((await t.gql(SUBMIT, { t: token, s: 5 })).data?.submitRating).toBe(true);
    // Once the member has left, staff can no longer invite them.
    await t.gql(`mutation { leaveAssociation(memberId: "${memberId}") { status } }`, {}, staff.token);
    expect((await t.gql(INVITE, { m: memberId, p: '2026-Q2' }, staff.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('forgets who rated when the person is erased, and keeps the anonymous ratings', async () => {
    const personId = await personOf(agreements[1]!);
    expect(await t.server.deps.db.select().from(spentRatingTokens).where(eq(spentRatingTokens.personId, personId))).toHaveLength(1);
    const before = await t.server.deps.db.select().from(serviceRatings);
    await t.gql(`mutation { withdrawConsent(personId: "${personId}", kind: AGREEMENT) { kind } }`, {}, official.token);
    expect(await eraseExpiredRecords(t.server.deps, systemCaller('test'), new Date(Date.now() + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await t.server.deps.db.select().from(spentRatingTokens).where(eq(spentRatingTokens.personId, personId))).toEqual([]);
    expect(await t.server.deps.db.select().from(serviceRatings)).toHaveLength(before.length);
  });
});
