import crypto from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceRatings } from '../../src/db/schema';
import { RATING_TOKEN_TYPE } from '../../src/ratings/tokens';
import { activeAgreement, nextIdNumber, register } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
let official: { token: string };
let otherOfficial: { token: string };
let supervisor: { token: string };
const agreements: string[] = [];

const ISSUE = `mutation($a: ID!, $p: String!) { issueRatingLink(agreementId: $a, period: $p) { token link expiresAt } }`;
const SUBMIT = `mutation($t: String!, $s: Int!, $c: String) { submitRating(token: $t, score: $s, comment: $c) }`;
const GROUPS = `query($p: String) { serviceRatings(period: $p) { village { code } period shown count average } }`;

beforeAll(async () => {
  t = await startTestServer({ RATING_LINK_BASE_URL: 'https://rate.example.cn/r' });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  otherOfficial = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageLiyushan });
  supervisor = await t.user({ role: 'TOWN_SUPERVISOR', scope: SEED.townWangji });
  for (let i = 0; i < 6; i++) {
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji });
    agreements.push((await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' })).id);
  }
});
afterAll(() => t.close());

async function link(agreementId: string, period = '2026-Q3', token = official.token) {
  const r = await t.gql(ISSUE, { a: agreementId, p: period }, token);
  if (!r.data?.issueRatingLink) throw new Error(JSON.stringify(r.errors));
  return r.data.issueRatingLink as { token: string; link: string };
}

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
  it('accepts a link once, and only one rating per agreement and period', async () => {
    const l = await link(agreements[0]!);
    expect(l.link).toBe(`https://rate.example.cn/r?token=${l.token}`);
    expect((await t.gql(SUBMIT, { t: l.token, s: 5, c: '村干部很负责' })).data?.submitRating).toBe(true);
    expect((await t.gql(SUBMIT, { t: l.token, s: 1 })).errors?.[0]?.extensions.code).toBe('CONFLICT');
    const second = await link(agreements[0]!);
    expect((await t.gql(SUBMIT, { t: second.token, s: 1 })).errors?.[0]?.extensions.code).toBe('CONFLICT');
    const [row] = await t.server.deps.db.select().from(serviceRatings);
    // Nothing in the stored rating points at the person.
    expect(Object.keys(row!).sort()).toEqual(['comment', 'id', 'officialUserId', 'period', 'score', 'submittedOn', 'townCode', 'villageCode']);
  });

  it('rejects expired, tampered, foreign-typed and self-keyed tokens, and bad scores', async () => {
    const valid = await link(agreements[1]!);
    const bad = async (token: string) => (await t.gql(SUBMIT, { t: token, s: 4 })).errors?.[0]?.extensions;
    expect(await bad(await forge({ sub: agreements[1], per: '2026-Q3' }, {}, Math.floor(Date.now() / 1000) - 120))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    const [h, p, s] = valid.token.split('.');
    const payload = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, per: '2026-Q2' })).toString('base64url')}.${s}`;
    expect(await bad(tampered)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'token' });
    expect(await bad(await forge({ sub: agreements[1], per: '2026-Q3' }, { jku: 'https://evil.example/jwks' }))).toMatchObject({ field: 'token' });
    expect(await bad(await forge({ sub: agreements[1], per: '2026-Q3' }, { typ: 'hl-access+jwt' }))).toMatchObject({ field: 'token' });
    expect(await bad(await signRaw({ crit: ['hl'], hl: 1 }, { sub: agreements[1], per: '2026-Q3' }))).toMatchObject({ field: 'token' });
    // The same hand-signed token without `crit` is accepted: the refusal above was for the header.
    expect((await t.gql(SUBMIT, { t: await signRaw({}, { sub: agreements[5], per: '2026-Q2' }), s: 3 })).data?.submitRating).toBe(true);
    // A sign-in token is not a rating token.
    expect(await bad(official.token)).toMatchObject({ field: 'token' });
    expect((await t.gql(SUBMIT, { t: valid.token, s: 6 })).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'score' });
    // None of these used the valid link up.
    expect((await t.gql(SUBMIT, { t: valid.token, s: 4 })).data?.submitRating).toBe(true);
  });

  it('hides counts and averages below the minimum group size, and shows comments only to supervisors', async () => {
    const before = (await t.gql(GROUPS, { p: '2026-Q3' }, official.token)).data!.serviceRatings;
    expect(before).toEqual([{ village: { code: SEED.villageWangji }, period: '2026-Q3', shown: false, count: null, average: null }]);
    for (const [i, score] of [3, 4].entries()) await t.gql(SUBMIT, { t: (await link(agreements[2 + i]!)).token, s: score });
    expect((await t.gql(GROUPS, { p: '2026-Q3' }, official.token)).data!.serviceRatings[0].shown).toBe(false);
    await t.gql(SUBMIT, { t: (await link(agreements[4]!)).token, s: 2, c: '希望多来电话' });
    // 5, 4, 3, 4, 2: five ratings, average 3.6.
    expect((await t.gql(GROUPS, { p: '2026-Q3' }, supervisor.token)).data!.serviceRatings).toEqual([{ village: { code: SEED.villageWangji }, period: '2026-Q3', shown: true, count: 5, average: 3.6 }]);
    expect((await t.gql(GROUPS, {}, otherOfficial.token)).data!.serviceRatings).toEqual([]);
    const comments = await t.gql(`{ ratingComments(period: "2026-Q3") { village { code } period comment } }`, {}, supervisor.token);
    expect(comments.data?.ratingComments.map((c: any) => c.comment).sort()).toEqual(['希望多来电话', '村干部很负责'].sort());
    expect((await t.gql(`{ ratingComments { comment } }`, {}, official.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('lets only the person’s official, or staff of the person’s association, issue links', async () => {
    expect((await t.gql(ISSUE, { a: agreements[5], p: '2026-Q3' }, otherOfficial.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(ISSUE, { a: agreements[5], p: '2026-Q3' }, supervisor.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    expect((await t.gql(ISSUE, { a: agreements[5], p: '2099-Q1' }, official.token)).errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'period' });
    const admin = await t.user({ role: 'COUNTY_ADMIN' });
    const assoc = (await t.gql(`mutation { createAssociation(input: { name: "常州睢宁商会", hostCityCode: "320412" }) { id } }`, {}, admin.token)).data!.createAssociation.id;
    const staff = await t.user({ role: 'ASSOCIATION_STAFF', scope: assoc });
    expect((await t.gql(ISSUE, { a: agreements[5], p: '2026-Q3' }, staff.token)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const idNumber = nextIdNumber();
    const p = await register(t, official.token, { name: '赵强', idNumber, homeVillageCode: SEED.villageWangji });
    const a = await activeAgreement(t, official.token, p.id);
    await t.gql(`mutation($a: ID!, $i: AddMemberInput!) { addAssociationMember(associationId: $a, input: $i) { id } }`, { a: assoc, i: { idNumber, name: '赵强', consentMethod: 'PHONE' } }, staff.token);
    expect((await t.gql(ISSUE, { a: a.id, p: '2026-Q3' }, staff.token)).data?.issueRatingLink.token).toBeTruthy();
  });
});
