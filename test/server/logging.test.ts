import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ LOG_LEVEL: 'info' }, { logTo: sink });
});
afterAll(() => t.close());

const requestLines = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');

describe('logs', () => {
  it('are one JSON line per request with its id, kept from a sane X-Request-Id and answered back', async () => {
    const res = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'probe-12345678' } });
    expect(res.headers.get('x-request-id')).toBe('probe-12345678');
    const odd = await fetch(`${t.url}/healthz`, { headers: { 'x-request-id': 'no spaces or \u00e9 allowed' } });
    const generated = odd.headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 50)); // the line is written when the response has finished
    const logged = requestLines();
    expect(logged).toContainEqual(expect.objectContaining({ requestId: 'probe-12345678', method: 'GET', path: '/healthz', status: 200, level: 30 }));
    expect(logged).toContainEqual(expect.objectContaining({ requestId: generated }));
  });

  it('never carry the bearer token or the password of a login', async () => {
    const user = await t.user({ role: 'COUNTY_ADMIN' });
    await t.gql('{ me { id } }', {}, user.token);
    await t.gql(`mutation { login(username: "${user.username}", password: "${user.password}") { token } }`);
    const all = lines.join('\n');
    expect(all).not.toContain(user.token);
    expect(all).not.toContain(user.password);
  });
});
