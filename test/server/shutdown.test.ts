import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { InFlight } from '../../src/http/in-flight';
import { people } from '../../src/people/tables';
import { register } from '../helpers/registry';
import { SEED, startTestServer } from '../helpers/server';
import { waitFor } from '../helpers/wait';

describe('shutdown', () => {
  it('waits for a GraphQL execution whose client went away before the database goes, and logs no error', async () => {
    const lines: string[] = [];
    const logTo = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    });
    let statements = 0;
    const t = await startTestServer({ LOG_LEVEL: 'info' }, { logTo, onQuery: () => (statements += 1) });
    const official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
    const p = await register(t, official.token, { homeVillageCode: SEED.villageWangji, employer: '旧厂' });
    const db = t.server.deps.db;

    // Hold the person's row, so the request's change waits for it: a slow request. (PGlite runs one transaction
    // at a time, so there the request waits at its first statement; PostgreSQL at the person's lock.)
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let isLocked!: () => void;
    const locked = new Promise<void>((r) => (isLocked = r));
    const holder = db.transaction(async (tx) => {
      await tx.select({ id: people.id }).from(people).where(eq(people.id, p.id)).for('update');
      isLocked();
      await released;
    });
    await locked;

    const client = new AbortController();
    const before = statements;
    const request = fetch(`${t.url}/graphql`, {
      method: 'POST',
      signal: client.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${official.token}` },
      body: JSON.stringify({ query: `mutation { updatePerson(id: "${p.id}", input: { employer: "新厂" }) { employer } }` }),
    }).catch((e: unknown) => e);
    await waitFor('the request to reach the database', async () => statements > before);
    client.abort(); // the client goes away; its execution goes on
    expect(await request).toMatchObject({ name: 'AbortError' });

    let stopped = false;
    const stopping = t.stop().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(stopped).toBe(false); // still waiting for the execution
    release();
    await holder;
    await stopping;
    // the execution finished (its change is in) before the server was done stopping
    const [after] = await db.select({ employer: people.employer }).from(people).where(eq(people.id, p.id));
    expect(after!.employer).toBe('新厂');
    await t.close();
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
  });

  it('waits for work in flight at most the time given', async () => {
    const inFlight = new InFlight();
    let finish!: () => void;
    const slow = inFlight.track(() => new Promise<void>((r) => (finish = r)));
    const quick = inFlight.track(async () => {});
    void slow({} as never, {} as never, () => {});
    void quick({} as never, {} as never, () => {});
    expect(await inFlight.settled(50)).toBe(1);
    finish();
    expect(await inFlight.settled(50)).toBe(0);
  });
});
