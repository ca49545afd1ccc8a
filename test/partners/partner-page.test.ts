import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreement, FakePartner, REGISTER } from '../helpers/partner';
import type { TestServer } from '../helpers/server';
import { startRecordingServer } from '../helpers/statements';

let t: TestServer;
let statements: string[];
let admin: { token: string };
const fakes: FakePartner[] = [];
beforeAll(async () => {
  ({ t, statements } = await startRecordingServer());
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  for (const code of ['320506', '320508', '320411']) {
    const f = await FakePartner.start(code, t.config.countyCode);
    fakes.push(f);
    const r = await t.gql(REGISTER, { input: agreement(f) }, admin.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
  await t.gql(`mutation { suspendPartner(countyCode: "320508", note: "测试") { status } }`, {}, admin.token);
});
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.close()));
  await t.close();
});

describe('the partners page', () => {
  it('loads every partner’s keys and history in one batch statement each (= any of the county codes), each partner its own', async () => {
    statements.length = 0;
    const r = await t.gql(`{ partners { countyCode keys { kid } history { action } } }`, {}, admin.token);
    expect(r.errors).toBeUndefined();
    const page = r.data!.partners as { countyCode: string; keys: { kid: string }[]; history: { action: string }[] }[];
    expect(page.map((p) => p.countyCode)).toEqual(['320411', '320506', '320508']);
    for (const p of page) {
      const fake = fakes.find((f) => f.countyCode === p.countyCode)!;
      expect(p.keys.map((k) => k.kid).sort()).toEqual([fake.es.kid, fake.ed.kid].sort());
      // newest first
      expect(p.history.map((h) => h.action)).toEqual(p.countyCode === '320508' ? ['SUSPEND', 'REGISTER'] : ['REGISTER']);
    }
    const reading = (table: string) => statements.filter((q) => q.includes(`from "${table}"`));
    expect(reading('partner_keys')).toHaveLength(1);
    expect(reading('partner_keys')[0]).toMatch(/= any\(\$1::text\[\]\)/);
    expect(reading('partner_history')).toHaveLength(1);
    expect(reading('partner_history')[0]).toMatch(/= any\(\$1::text\[\]\)/);
  });
});
