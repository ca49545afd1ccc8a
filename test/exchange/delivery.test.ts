import { eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/audit/service';
import { outboundRecords } from '../../src/db/schema';
import { DeliveryWorker } from '../../src/exchange/delivery';
import { queueRecord } from '../../src/exchange/outbox';
import { systemCaller } from '../../src/policy/actor';
import { agreement, FakePartner, REGISTER, type PushHandler } from '../helpers/partner';
import { BODIES, idWithCheckDigit } from '../helpers/records';
import { startTestServer, type TestServer } from '../helpers/server';
import { waitFor } from '../helpers/wait';

/**
 * The delivery worker against stub partners (a real HTTP server each, answering pushes as the test says) and the
 * real database: several workers on one outbox, lost claims, malformed receipts, overload, slow partners, stop.
 */
let t: TestServer;
let wuzhong: FakePartner;
let gusu: FakePartner;
const caller = systemCaller('test');

beforeAll(async () => {
  // Batches of 8, up to 3 runs in flight when a worker runs in the background (start()); backoff long enough that
  // nothing becomes due again by itself during a test.
  t = await startTestServer({
    EXCHANGE_DELIVERY_BATCH_SIZE: '8',
    EXCHANGE_DELIVERY_CONCURRENCY: '3',
    EXCHANGE_DELIVERY_INTERVAL_MS: '50',
    EXCHANGE_PUSH_TIMEOUT_MS: '60000',
    EXCHANGE_RETRY_BASE_MS: '600000',
  });
  const admin = await t.user({ role: 'COUNTY_ADMIN' });
  wuzhong = await FakePartner.start('320506', t.config.countyCode);
  gusu = await FakePartner.start('320508', t.config.countyCode);
  for (const p of [wuzhong, gusu]) {
    const r = await t.gql(REGISTER, { input: agreement(p) }, admin.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
  }
});
afterAll(async () => {
  await wuzhong.close();
  await gusu.close();
  await t.close();
});
beforeEach(async () => {
  // Each test starts from an empty queue and fresh stubs.
  await db().update(outboundRecords).set({ status: 'CANCELLED' }).where(eq(outboundRecords.status, 'QUEUED'));
  for (const p of [wuzhong, gusu]) {
    p.pushes = [];
    p.abortedPushes = 0;
    p.onPush = undefined;
  }
});

const db = () => t.server.deps.db;
const payloadOf = (jws: string) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()) as { id: string; subject: { idNumber: string } };
const idOf = (jws: string) => payloadOf(jws).id;
const subjectOf = (jws: string) => payloadOf(jws).subject.idNumber;
const accept = (records: string[]) => ({ status: 200, body: JSON.stringify({ receipts: records.map((r) => ({ id: idOf(r), status: 'ACCEPTED' })) }) });

/** `n` distinct people. */
const people = (n: number) => Array.from({ length: n }, (_, i) => ({ idNumber: idWithCheckDigit(`32032419900101${100 + i}`), name: '测试' }));

/** Queues n records, one transaction each (so in a known queue order), about the given people in turn (by default each about another). */
async function queue(to: FakePartner, n: number, about: readonly { idNumber: string; name: string }[] = people(n)): Promise<string[]> {
  const deps = t.server.deps;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    ids.push(
      await deps.db.transaction(async (tx) => {
        const q = await queueRecord({ ...deps, db: tx }, { partnerCode: to.countyCode, type: 'SERVICE_DELIVERED', subject: { ...about[i % about.length]! }, body: BODIES.SERVICE_DELIVERED });
        await appendAudit(tx, caller, q.auditEvent);
        return q.id;
      }),
    );
  }
  return ids;
}

const rowsOf = (ids: string[]) => db().select().from(outboundRecords).where(inArray(outboundRecords.id, ids)).orderBy(outboundRecords.id);
const statuses = async (ids: string[]) => [...new Set((await rowsOf(ids)).map((r) => r.status))];
/** The backoff is over: the records are due again. */
const makeDue = (ids: string[]) => db().update(outboundRecords).set({ nextAttemptAt: sql`now() - interval '1 second'` }).where(inArray(outboundRecords.id, ids));

/** A promise the test resolves when it wants the stub to answer. */
function gate<T>() {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe('delivery worker', () => {
  it('never lets two workers on one outbox push the same record', async () => {
    const ids = await queue(wuzhong, 40);
    wuzhong.onPush = async (records) => {
      await new Promise((r) => setTimeout(r, 20));
      return accept(records);
    };
    const workers = [new DeliveryWorker(t.server.deps), new DeliveryWorker(t.server.deps)];
    for (let round = 0; round < 10 && (await statuses(ids)).join() !== 'DELIVERED'; round++) await Promise.all(workers.map((w) => w.runOnce()));
    expect(await statuses(ids)).toEqual(['DELIVERED']);
    const pushed = wuzhong.pushes.flat().map(idOf);
    expect(pushed.sort()).toEqual([...ids].sort());
    expect((await rowsOf(ids)).every((r) => r.claimToken === null)).toBe(true);
  });

  it('records each receipt of a push: accepted delivered, each rejection failed with its own reason', async () => {
    const ids = await queue(wuzhong, 4);
    const reasons = [undefined, 'TYPE_NOT_ALLOWED', 'TYPE_NOT_ALLOWED', 'MALFORMED_BODY'];
    wuzhong.onPush = (records) => {
      const byId = new Map(ids.map((id, i) => [id, reasons[i]]));
      const receipts = records.map((r) => {
        const reason = byId.get(idOf(r));
        return reason ? { id: idOf(r), status: 'REJECTED', reason } : { id: idOf(r), status: 'ACCEPTED' };
      });
      return { status: 200, body: JSON.stringify({ receipts }) };
    };
    await new DeliveryWorker(t.server.deps).runOnce();
    const byId = new Map((await rowsOf(ids)).map((r) => [r.id, r]));
    expect(ids.map((id) => [byId.get(id)!.status, byId.get(id)!.lastError])).toEqual([
      ['DELIVERED', null],
      ['FAILED', 'TYPE_NOT_ALLOWED'],
      ['FAILED', 'TYPE_NOT_ALLOWED'],
      ['FAILED', 'MALFORMED_BODY'],
    ]);
    expect((await rowsOf(ids)).every((r) => r.claimToken === null)).toBe(true);
  });

  it('looks past a page of records waiting behind their person\'s oldest, and sends the next once the oldest failed', async () => {
    const [busy, ...others] = people(4);
    // More records about one person than a batch (8) holds, queued first, then one about each of three others.
    const held = await queue(wuzhong, 12, [busy!]);
    const rest = await queue(wuzhong, 3, others);
    wuzhong.onPush = (records) => ({
      status: 200,
      body: JSON.stringify({ receipts: records.map((r) => (idOf(r) === held[0] ? { id: idOf(r), status: 'REJECTED', reason: 'TYPE_NOT_ALLOWED' } : { id: idOf(r), status: 'ACCEPTED' })) }),
    });
    const worker = new DeliveryWorker(t.server.deps);
    // The first 8 due rows are all about one person: only its oldest goes, and the claim reads on to the others.
    expect(await worker.runOnce()).toMatchObject({ claimed: 4, delivered: 3, failed: 1 });
    expect(wuzhong.pushes.flat().map(idOf).sort()).toEqual([held[0]!, ...rest].sort());
    // Its oldest failed (REJECTED): the next one is the person's oldest queued record now, and goes alone.
    expect(await worker.runOnce()).toMatchObject({ claimed: 1, delivered: 1 });
    expect(wuzhong.pushes[1]!.map(idOf)).toEqual([held[1]]);
    expect((await rowsOf(held.slice(2))).every((r) => r.status === 'QUEUED' && r.attempts === 0)).toBe(true);
  });

  it('records nothing for a worker whose claim ran out and passed to another: only the holder marks the rows', async () => {
    const ids = await queue(wuzhong, 3);
    const first = gate<'ACCEPTED'>();
    const second = gate<'REJECTED'>();
    let n = 0;
    wuzhong.onPush = async (records) => {
      const status = await (n++ === 0 ? first.promise : second.promise);
      return { status: 200, body: JSON.stringify({ receipts: records.map((r) => ({ id: idOf(r), status, ...(status === 'REJECTED' ? { reason: 'TYPE_NOT_ALLOWED' } : {}) })) }) };
    };
    const slow = new DeliveryWorker(t.server.deps);
    const late = slow.runOnce();
    await waitFor('the first push', async () => wuzhong.pushes.length === 1);
    await makeDue(ids); // the first worker's lease runs out while its push hangs
    const other = new DeliveryWorker(t.server.deps);
    const current = other.runOnce();
    await waitFor('the second push', async () => wuzhong.pushes.length === 2);
    const holder = (await rowsOf(ids))[0]!.claimToken;

    first.open('ACCEPTED');
    await late;
    expect(await statuses(ids)).toEqual(['QUEUED']);
    expect((await rowsOf(ids)).map((r) => r.claimToken)).toEqual([holder, holder, holder]);

    second.open('REJECTED');
    expect(await current).toMatchObject({ failed: 3 });
    expect((await rowsOf(ids)).map((r) => [r.status, r.lastError, r.claimToken])).toEqual(ids.map(() => ['FAILED', 'TYPE_NOT_ALLOWED', null]));
  });

  it('checks its claim before each push: rows another worker took over meanwhile are not pushed again', async () => {
    const ids = await queue(wuzhong, 4);
    const worker = new DeliveryWorker(t.server.deps);
    wuzhong.onPush = () => ({ status: 413, body: '{"error":"payload_too_large"}' });
    await worker.runOnce(); // 4 refused: this worker now sends this partner 2 at a time
    const first = gate<void>();
    wuzhong.onPush = async (records) => {
      if (wuzhong.pushes.length === 2) await first.promise;
      return accept(records);
    };
    await makeDue(ids);
    const slow = worker.runOnce();
    await waitFor('the first batch of 2', async () => wuzhong.pushes.length === 2);
    await makeDue(ids); // its lease runs out while the first batch hangs; another worker takes all 4
    expect(await new DeliveryWorker(t.server.deps).runOnce()).toMatchObject({ claimed: 4, delivered: 4 });
    first.open();
    expect(await slow).toMatchObject({ claimed: 4, delivered: 2 }); // answered, but no longer its rows to mark
    expect(wuzhong.pushes.map((p) => p.length)).toEqual([4, 2, 4]); // the second batch of 2 was never sent
    expect(await statuses(ids)).toEqual(['DELIVERED']);
  });

  it('marks nothing delivered on a malformed receipt list, and retries it later', async () => {
    const ids = await queue(wuzhong, 2);
    const receipt = (id: string, extra: Record<string, unknown> = {}) => ({ id, status: 'ACCEPTED', ...extra });
    // Each answer is built from the records as pushed, so the first receipt is always a valid one for its record.
    const answers: ((first: string, second: string) => unknown)[] = [
      (a) => ({ receipts: [receipt(a), null] }),
      (a, b) => ({ receipts: [receipt(a), receipt(b, { reason: { html: '<b>' } })] }),
      (a, b) => ({ receipts: [receipt(a), receipt(b, { status: 'accepted' })] }),
      (a, b) => ({ receipts: [receipt(a), receipt(b, { id: 42 })] }),
      (a, b) => ({ receipts: [receipt(a), receipt(b, { delivered: true })] }),
      (a) => ({ receipts: [receipt(a)] }),
      () => ({ receipts: 'all fine' }),
      (a, b) => `${JSON.stringify({ receipts: [receipt(a), receipt(b)] })} trailing`,
    ];
    const worker = new DeliveryWorker(t.server.deps);
    for (const answer of answers) {
      wuzhong.onPush = (records) => {
        const body = answer(idOf(records[0]!), idOf(records[1]!));
        return { status: 200, body: typeof body === 'string' ? body : JSON.stringify(body) };
      };
      await makeDue(ids);
      expect(await worker.runOnce(), answer.toString()).toMatchObject({ claimed: 2, delivered: 0, retried: 2 });
      const rows = await rowsOf(ids);
      expect(rows.map((r) => r.status), answer.toString()).toEqual(['QUEUED', 'QUEUED']);
      expect(rows.every((r) => r.nextAttemptAt.getTime() > Date.now() && r.lastError !== null)).toBe(true);
    }
  });

  it('halves the batch on 413 and 5xx, backs off, and delivers in batches the partner takes', async () => {
    const ids = await queue(wuzhong, 8);
    let refusals = 0;
    wuzhong.onPush = (records) => (records.length > 2 ? { status: refusals++ % 2 ? 503 : 413, body: '{"error":"payload_too_large"}' } : accept(records));
    const worker = new DeliveryWorker(t.server.deps);
    expect(await worker.runOnce()).toMatchObject({ claimed: 8, retried: 8 });
    expect((await rowsOf(ids)).every((r) => r.status === 'QUEUED' && r.nextAttemptAt.getTime() > Date.now() && r.lastError === 'HTTP 413')).toBe(true);
    expect(await worker.runOnce()).toMatchObject({ claimed: 0 }); // backing off
    await makeDue(ids);
    expect(await worker.runOnce()).toMatchObject({ claimed: 8, retried: 8 });
    await makeDue(ids);
    expect(await worker.runOnce()).toMatchObject({ claimed: 8, delivered: 8 });
    expect(wuzhong.pushes.map((p) => p.length)).toEqual([8, 4, 2, 2, 2, 2]);
  });

  it('pushes to partners concurrently: a slow one holds up no one else', async () => {
    const slowIds = await queue(gusu, 2);
    const fastIds = await queue(wuzhong, 2);
    const release = gate<void>();
    gusu.onPush = async (records) => {
      await release.promise;
      return accept(records);
    };
    wuzhong.onPush = accept;
    const run = new DeliveryWorker(t.server.deps).runOnce();
    await waitFor('the fast partner delivered while the slow one hangs', async () => (await statuses(fastIds)).join() === 'DELIVERED');
    expect(gusu.pushes).toHaveLength(1);
    expect(await statuses(slowIds)).toEqual(['QUEUED']);
    release.open();
    expect(await run).toMatchObject({ delivered: 4 });
  });

  it('aborts pushes in flight on stop(); their records wait for a retry', async () => {
    const ids = await queue(gusu, 2);
    gusu.onPush = () => new Promise(() => {}); // never answers; the push timeout is a minute
    const worker = new DeliveryWorker(t.server.deps);
    worker.start();
    await waitFor('the push', async () => gusu.pushes.length === 1);
    await worker.stop();
    await waitFor('the partner to see the connection close', async () => gusu.abortedPushes === 1);
    expect((await rowsOf(ids)).map((r) => [r.status, r.lastError, r.claimToken])).toEqual(ids.map(() => ['QUEUED', 'aborted', null]));
  });
});

/**
 * Watches the pushes a stub partner has in flight: the most at once, and any person with two records in flight
 * at the same time, in one request or two (which the ordering promise forbids).
 */
function inFlightWatch() {
  const open = new Set<string[]>();
  const watch = { most: 0, overlaps: [] as string[] };
  const around = (answer: PushHandler): PushHandler => async (records) => {
    const busy = [...open].flatMap((p) => p.map(subjectOf));
    for (const s of records.map(subjectOf)) {
      if (busy.includes(s)) watch.overlaps.push(s);
      busy.push(s);
    }
    open.add(records);
    watch.most = Math.max(watch.most, open.size);
    try {
      return await answer(records);
    } finally {
      open.delete(records);
    }
  };
  return { watch, around };
}

/** The records accepted per person, in the order the partner accepted them. */
function acceptedByPerson(accepted: string[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  for (const jws of accepted) by.set(subjectOf(jws), [...(by.get(subjectOf(jws)) ?? []), idOf(jws)]);
  return by;
}

/** What `queue` queued, per person, in queue order. */
function queuedByPerson(ids: string[], about: { idNumber: string }[]): Map<string, string[]> {
  const by = new Map<string, string[]>();
  ids.forEach((id, i) => by.set(about[i % about.length]!.idNumber, [...(by.get(about[i % about.length]!.idNumber) ?? []), id]));
  return by;
}

describe('delivery worker with several runs in flight', () => {
  it('overlaps runs to a partner, never two at once about one person, and delivers each record once in queue order per person', async () => {
    const who = people(10);
    const ids = await queue(wuzhong, 30, who);
    const accepted: string[] = [];
    const { watch, around } = inFlightWatch();
    wuzhong.onPush = around(async (records) => {
      // The first push waits (a while at most) for a second one: the worker sends the next batch meanwhile.
      if (wuzhong.pushes.length === 1) await waitFor('a second push in flight', async () => wuzhong.pushes.length > 1, 5_000).catch(() => undefined);
      accepted.push(...records);
      return accept(records);
    });
    const worker = new DeliveryWorker(t.server.deps);
    worker.start();
    try {
      await waitFor('every record delivered', async () => (await statuses(ids)).join() === 'DELIVERED');
    } finally {
      await worker.stop();
    }
    expect(watch.most).toBeGreaterThanOrEqual(2);
    expect(watch.overlaps).toEqual([]);
    expect(accepted.map(idOf).sort()).toEqual([...ids].sort());
    expect(acceptedByPerson(accepted)).toEqual(queuedByPerson(ids, who));
  });

  it('loses and repeats nothing when one batch in flight fails, and holds a person\'s later records until the failed one is retried', async () => {
    const who = people(16);
    const ids = await queue(wuzhong, 32, who); // each person's first record, then each person's second
    const [firsts, seconds] = [ids.slice(0, 16), ids.slice(16)];
    const accepted: string[] = [];
    const { watch, around } = inFlightWatch();
    wuzhong.onPush = around(async (records) => {
      if (wuzhong.pushes.length > 1) {
        accepted.push(...records);
        return accept(records);
      }
      // The first batch is refused, once the second is in flight beside it.
      await waitFor('a second push in flight', async () => wuzhong.pushes.length > 1, 5_000).catch(() => undefined);
      return { status: 503, body: '{"error":"internal_error"}' };
    });
    const worker = new DeliveryWorker(t.server.deps);
    worker.start();
    try {
      await waitFor('the second batch delivered', async () => (await rowsOf(ids)).filter((r) => r.status === 'DELIVERED').length >= 8);
      const refused = wuzhong.pushes[0]!.map(idOf);
      expect(refused.sort()).toEqual(firsts.slice(0, 8).sort());
      // The second records of the people in the other batch follow; those of the refused batch's people wait.
      const waiting = seconds.slice(0, 8);
      await waitFor('the other people\'s second records', async () => (await statuses(seconds.slice(8))).join() === 'DELIVERED');
      await new Promise((r) => setTimeout(r, 300)); // a few more rounds of the worker
      expect((await rowsOf(waiting)).map((r) => [r.status, r.attempts])).toEqual(waiting.map(() => ['QUEUED', 0]));
      expect((await rowsOf(refused)).every((r) => r.status === 'QUEUED' && r.lastError === 'HTTP 503' && r.claimToken === null)).toBe(true);

      await makeDue(refused); // their retry is due: they go, then the records held behind them
      await waitFor('every record delivered', async () => (await statuses(ids)).join() === 'DELIVERED');
    } finally {
      await worker.stop();
    }
    expect(watch.most).toBeGreaterThanOrEqual(2);
    expect(watch.overlaps).toEqual([]);
    expect(accepted.map(idOf).sort()).toEqual([...ids].sort()); // each accepted once
    expect(acceptedByPerson(accepted)).toEqual(queuedByPerson(ids, who));
  });

  it('aborts every push in flight on stop(); their records wait for a retry', async () => {
    const ids = await queue(gusu, 16, people(16));
    gusu.onPush = () => new Promise(() => {}); // never answers; the push timeout is a minute
    const worker = new DeliveryWorker(t.server.deps);
    worker.start();
    await waitFor('two batches in flight', async () => gusu.pushes.length === 2);
    await worker.stop();
    await waitFor('the partner to see both connections close', async () => gusu.abortedPushes === 2);
    expect(gusu.pushes.flat().map(idOf).sort()).toEqual([...ids].sort());
    expect((await rowsOf(ids)).map((r) => [r.status, r.lastError, r.claimToken])).toEqual(ids.map(() => ['QUEUED', 'aborted', null]));
  });
});
