import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countyWithPartner, type FakePartner } from '../helpers/partner';
import { BODIES } from '../helpers/records';
import { nextIdNumber } from '../helpers/registry';
import type { TestServer } from '../helpers/server';

let t: TestServer;
let admin: string;
let wuzhong: FakePartner;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ t, admin, partner: wuzhong, close } = await countyWithPartner());
});
afterAll(() => close());

const PAGE = `query($after: String) { incomingNotices(first: 2, after: $after) { edges { node { id subjectName } } pageInfo { hasNextPage endCursor } } }`;

describe('incoming notices list', () => {
  it('pages newest first with a cursor, each notice once', async () => {
    for (const name of ['甲', '乙', '丙']) {
      const r = await wuzhong.pushTo(t.url, [wuzhong.record({ type: 'DEPARTURE', subject: { idNumber: nextIdNumber(), name }, body: BODIES.DEPARTURE })]);
      expect(r.body.receipts[0].status).toBe('ACCEPTED');
    }
    const first = (await t.gql(PAGE, {}, admin)).data!.incomingNotices;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await t.gql(PAGE, { after: first.pageInfo.endCursor }, admin)).data!.incomingNotices;
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect([...first.edges, ...second.edges].map((e: any) => e.node.subjectName)).toEqual(['丙', '乙', '甲']);
    expect((await t.gql(PAGE, { after: 'bm90IGEgY3Vyc29y' }, admin)).errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
  });
});
