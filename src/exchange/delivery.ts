import crypto from 'node:crypto';
import { and, eq, gte, inArray, lte, sql } from 'drizzle-orm';
import { z } from 'zod';
import { rows, type Db } from '../db/client';
import { ADVISORY_LOCK } from '../db/locks';
import type { Deps } from '../deps';
import { fetchLimited, OutboundHttpError } from '../http/fetch-limited';
import { partners } from '../partners/tables';
import { notePartnerContact } from '../partners/service';
import { protocolDate } from '../calendar';
import { outboundRecords } from './tables';
import { signTransportToken } from './transport';

/** Receipts for 500 records fit easily; a larger answer is not an honest one. */
const MAX_RECEIPTS_BYTES = 1_048_576;

/**
 * Exponential backoff with jitter: the n-th failed attempt waits between half and all of base * 2^(n-1), capped at
 * max. The jitter keeps many records (and instances) from retrying in lockstep after an outage.
 */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempts, 1) - 1, 40));
  return Math.round(full / 2 + (random() * full) / 2);
}

/**
 * A partner's answer to a push (docs/exchange-protocol.md, section 5.1), read defensively: anything else is no
 * answer at all, and marks nothing delivered.
 */
const PushAnswer = z.object({
  receipts: z.array(
    z.strictObject({
      id: z.uuid().nullable(),
      status: z.enum(['ACCEPTED', 'DUPLICATE', 'REJECTED']),
      reason: z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/).optional(),
    }),
  ),
});

interface Claimed {
  id: string;
  partnerCode: string;
  jwsEnc: string;
  attempts: number;
}

/** What one run claimed: its claim token, the rows (at most one per person and partner), and where each partner in force is reached. */
interface Claim {
  token: string;
  claimed: Claimed[];
  baseUrls: Map<string, string>;
}

/** Where a page of due rows ended: the next page starts after it, in due order. */
interface PageEnd {
  at: string;
  id: string;
}

type Outcome = { id: string; attempts: number } & ({ kind: 'delivered' } | { kind: 'failed'; reason: string } | { kind: 'retry'; error: string });

export interface DeliveryRun {
  claimed: number;
  delivered: number;
  failed: number;
  retried: number;
}


/**
 * Pushes queued outbox records to partners (docs/exchange-protocol.md, "Delivery"). Safe with any number of
 * workers and instances on one database:
 * - a run claims due rows with FOR UPDATE SKIP LOCKED (locks taken in id order, like every multi-row change of the
 *   outbox) and stamps them with its own claim token and a lease (their next attempt moved past the push timeout);
 * - a person's records to a partner go one at a time, in queue order: a run claims only the oldest queued one
 *   about its person, and only while none about the person is in flight or waiting for its retry; claims take
 *   turns (an advisory lock), so two claims cannot each take one;
 * - before each push after a run's first it renews the lease of the rows it is about to send, only those still
 *   carrying its token: a row whose lease ran out and was claimed by another worker is left to that worker;
 * - only the claim holder records an outcome, so a late answer to a push whose claim was lost changes nothing.
 * Partners are pushed concurrently (a slow one does not hold up the others), and the background loop keeps up to
 * EXCHANGE_DELIVERY_CONCURRENCY runs in flight: the next batch is claimed and sent while the partner works on the
 * last one. ACCEPTED and DUPLICATE mark a record delivered, REJECTED failed with the reason; anything else
 * (unreachable, a malformed answer, 401...) retries with backoff. 413 and 5xx also halve the batch for that partner
 * (growing back after answers that worked) and leave the rest of the run's records for it to the backoff. stop()
 * aborts pushes in flight.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private abort = new AbortController();
  /** How many records go to a partner in one request now: the configured batch size, halved on 413 and 5xx. */
  private readonly batchLimit = new Map<string, number>();

  constructor(private readonly deps: Deps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (this.abort.signal.aborted) this.abort = new AbortController();
    this.schedule(0);
  }

  /** Stops scheduling, aborts pushes in flight (their records are retried later) and waits for the runs to end. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort.abort();
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
      });
    }, ms);
  }

  /**
   * Claims run after run while they come back full, keeping up to EXCHANGE_DELIVERY_CONCURRENCY of them in flight
   * (one claim at a time), then waits for them all; the next round follows at once if the queue was not drained.
   */
  private async tick(): Promise<void> {
    const { deliveryBatchSize, deliveryConcurrency, deliveryIntervalMs } = this.deps.config.exchange;
    const inFlight = new Set<Promise<void>>();
    let more = false;
    let failed = false;
    const fail = (err: unknown) => {
      failed = true;
      this.deps.logger.error({ err }, 'exchange delivery run failed');
    };
    try {
      do {
        while (inFlight.size >= deliveryConcurrency) await Promise.race(inFlight);
        if (this.stopped || failed) break;
        const claim = await this.claim();
        more = claim.claimed.length >= deliveryBatchSize;
        if (claim.claimed.length === 0) break;
        const run: Promise<void> = this.deliver(claim)
          .then(() => undefined, fail)
          .finally(() => inFlight.delete(run));
        inFlight.add(run);
      } while (more);
    } catch (err) {
      fail(err);
    }
    await Promise.all(inFlight);
    this.schedule(more && !failed ? 0 : deliveryIntervalMs);
  }

  /** One round: claim what is due, push it to every partner at once, record the outcomes per partner. */
  async runOnce(): Promise<DeliveryRun> {
    return this.deliver(await this.claim());
  }

  private async deliver({ token, claimed, baseUrls }: Claim): Promise<DeliveryRun> {
    const byPartner = new Map<string, Claimed[]>();
    for (const row of claimed) byPartner.set(row.partnerCode, [...(byPartner.get(row.partnerCode) ?? []), row]);
    const settled = await Promise.allSettled([...byPartner].map(([partnerCode, batch]) => this.deliverTo(token, partnerCode, baseUrls.get(partnerCode)!, batch)));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const outcomes = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    return { claimed: claimed.length, delivered: count('delivered'), failed: count('failed'), retried: count('retry') };
  }

  private leaseSeconds(): number {
    return (this.deps.config.exchange.pushTimeoutMs * 2 + 5_000) / 1000;
  }

  private async claim(): Promise<Claim> {
    const { db, config } = this.deps;
    const token = crypto.randomUUID();
    const today = protocolDate();
    const inForce = await db
      .select({ countyCode: partners.countyCode, baseUrl: partners.baseUrl })
      .from(partners)
      .where(and(eq(partners.status, 'ACTIVE'), lte(partners.validFrom, today), gte(partners.validTo, today)));
    const baseUrls = new Map(inForce.map((p) => [p.countyCode, p.baseUrl]));
    if (baseUrls.size === 0) return { token, claimed: [], baseUrls };
    const batchSize = config.exchange.deliveryBatchSize;
    const claimed = await db.transaction(async (tx) => {
      // Claims take turns: otherwise two claims at once could each take a record about the same person, neither
      // seeing the other's (uncommitted) claim.
      await tx.execute(sql`select pg_advisory_xact_lock(${ADVISORY_LOCK.claimDeliveries})`);
      const taken: Claimed[] = [];
      // Due rows are examined a page at a time, oldest first, until the batch is full or none is left: the
      // per-person check runs on a page only, never on the whole queue (it cost the queue's length per claim).
      let after: PageEnd | undefined;
      for (;;) {
        const found = await this.claimPage(tx, token, [...baseUrls.keys()], batchSize, batchSize - taken.length, after);
        taken.push(...found.claimed);
        if (taken.length >= batchSize || !found.end) break;
        after = found.end;
      }
      return taken;
    });
    return { token, claimed, baseUrls };
  }

  /**
   * Claims up to `want` records among one page (`size` rows) of due rows of the given partners, in due order after
   * `after`. Each partner's page comes from the due index in its order (rows of partners not in force are never
   * read); the pages are merged and cut to `size`, so the merged page is exactly the next `size` due rows and its
   * last row is where the next page starts. Per person and partner, only the oldest queued record goes, and only
   * while none about the person is in flight (leased) or waiting for its retry: one lateral lookup per row of the
   * page on the partial index of queued rows. The rows picked are then locked in id order; the lock re-checks
   * they are still due. `end`: where the page ended, when it was full (more due rows may follow).
   */
  private async claimPage(tx: Db, token: string, partnerCodes: string[], size: number, want: number, after: PageEnd | undefined): Promise<{ claimed: Claimed[]; end?: PageEnd }> {
    const from = after ? sql`and (r.next_attempt_at, r.id) > (${after.at}::timestamptz, ${after.id}::uuid)` : sql``;
    const found = await rows<{ id: string | null; partner_code: string; jws_enc: string; attempts: number; end_at: string | null; end_id: string | null; page_rows: number }>(
      tx,
      sql`with page as materialized (
            select c.id, c.partner_code, c.subject_id_hmac, c.next_attempt_at
            from (values ${sql.join(partnerCodes.map((code) => sql`(${code})`), sql`, `)}) as p(code)
            cross join lateral (
              select r.id, r.partner_code, r.subject_id_hmac, r.next_attempt_at from exchange_outbound_records r
              where r.partner_code = p.code and r.status = 'QUEUED' and r.next_attempt_at <= now() ${from}
              order by r.next_attempt_at, r.id
              limit ${size}
            ) c
            order by c.next_attempt_at, c.id
            limit ${size}
          ),
          due as (
            select o.id from page o
            cross join lateral (
              select (array_agg(w.id order by w.created_at, w.id))[1] as first_id, max(w.next_attempt_at) as latest
              from exchange_outbound_records w
              where w.partner_code = o.partner_code and w.subject_id_hmac = o.subject_id_hmac and w.status = 'QUEUED'
            ) person
            where o.subject_id_hmac is null or (person.first_id = o.id and person.latest <= now())
            order by o.next_attempt_at, o.id
            limit ${want}
          ),
          locked as (
            select id from exchange_outbound_records
            where id in (select id from due) and status = 'QUEUED' and jws_enc is not null and next_attempt_at <= now()
            order by id
            for update skip locked
          ),
          claimed as (
            update exchange_outbound_records o
            set claim_token = ${token}, next_attempt_at = now() + make_interval(secs => ${this.leaseSeconds()}),
                last_attempt_at = now(), attempts = o.attempts + 1
            from locked where o.id = locked.id
            returning o.id, o.partner_code, o.jws_enc, o.attempts
          ),
          page_end as (select next_attempt_at::text as end_at, id as end_id from page order by next_attempt_at desc, id desc limit 1)
          select c.id, c.partner_code, c.jws_enc, c.attempts, null as end_at, null::uuid as end_id, null::int as page_rows from claimed c
          union all
          select null, null, null, null, e.end_at, e.end_id, (select count(*)::int from page) from (select 1) one left join page_end e on true`,
    );
    const summary = found.find((r) => r.id === null)!;
    const claimed = found.filter((r) => r.id !== null).map((r) => ({ id: r.id!, partnerCode: r.partner_code, jwsEnc: r.jws_enc, attempts: Number(r.attempts) }));
    const full = Number(summary.page_rows) >= size;
    return { claimed, end: full && summary.end_at && summary.end_id ? { at: summary.end_at, id: summary.end_id } : undefined };
  }

  /** Renews the lease of the rows still claimed by `token` (and still queued); returns their ids. */
  private async renew(token: string, ids: string[]): Promise<Set<string>> {
    const held = await this.deps.db
      .update(outboundRecords)
      .set({ nextAttemptAt: sql`now() + make_interval(secs => ${this.leaseSeconds()})` })
      .where(and(inArray(outboundRecords.id, ids), eq(outboundRecords.claimToken, token), eq(outboundRecords.status, 'QUEUED')))
      .returning({ id: outboundRecords.id });
    return new Set(held.map((r) => r.id));
  }

  /** Pushes one partner's share of the run in batches it can take, recording each batch's outcomes as it is answered. */
  private async deliverTo(token: string, partnerCode: string, baseUrl: string, claimed: Claimed[]): Promise<Outcome[]> {
    const { deps } = this;
    const outcomes: Outcome[] = [];
    const retry = (batch: Claimed[], error: string) => batch.map((r): Outcome => ({ id: r.id, attempts: r.attempts, kind: 'retry', error }));
    // Smaller after 413/5xx; grows back one doubling per run that went through.
    const limit = this.batchLimit.get(partnerCode) ?? deps.config.exchange.deliveryBatchSize;
    let rest = claimed;
    let first = true;
    let wentThrough = true;
    // Each batch's outcomes are written as soon as it is answered, while its lease is fresh.
    const settle = async (list: Outcome[]) => {
      await this.record(token, list);
      outcomes.push(...list);
    };
    while (rest.length > 0) {
      if (this.abort.signal.aborted) {
        wentThrough = false;
        await settle(retry(rest, 'delivery stopped'));
        break;
      }
      // The first batch goes right after the claim, whose lease is fresh; later ones may follow a long push.
      const next = rest.slice(0, limit);
      const held = first ? undefined : await this.renew(token, next.map((r) => r.id));
      const batch = held ? next.filter((r) => held.has(r.id)) : next;
      rest = rest.slice(limit);
      first = false;
      if (batch.length === 0) continue;
      const pushed = await this.push(baseUrl, partnerCode, batch);
      await settle(pushed.outcomes);
      if (pushed.overloaded) this.batchLimit.set(partnerCode, Math.max(1, Math.floor(batch.length / 2)));
      if (!pushed.answered) {
        // The partner is down, overloaded or refusing us: the rest waits for the backoff too.
        wentThrough = false;
        await settle(retry(rest, `not sent: ${pushed.outcomes[0]?.kind === 'retry' ? pushed.outcomes[0].error : 'push failed'}`));
        break;
      }
    }
    if (wentThrough && limit < deps.config.exchange.deliveryBatchSize) this.batchLimit.set(partnerCode, Math.min(deps.config.exchange.deliveryBatchSize, limit * 2));
    return outcomes;
  }

  /**
   * One request to a partner. `answered`: it took the batch and answered a receipt list of it; `overloaded` (413,
   * 5xx): smaller batches, after a pause.
   */
  private async push(baseUrl: string, partnerCode: string, batch: Claimed[]): Promise<{ outcomes: Outcome[]; answered: boolean; overloaded?: string }> {
    const { deps } = this;
    const retryAll = (error: string) => batch.map((r): Outcome => ({ id: r.id, attempts: r.attempts, kind: 'retry', error }));
    let text: string;
    try {
      const res = await fetchLimited(
        `${baseUrl}/exchange/v1/records`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${await signTransportToken(deps, partnerCode)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ records: batch.map((r) => deps.secrets.decrypt(r.jwsEnc)) }),
        },
        {
          timeoutMs: deps.config.exchange.pushTimeoutMs,
          maxBytes: MAX_RECEIPTS_BYTES,
          allowHttp: deps.config.exchange.allowHttp,
          allowPrivateAddresses: deps.config.exchange.allowPrivateAddresses,
          signal: this.abort.signal,
        },
      );
      if (res.status === 413 || res.status >= 500) {
        deps.logger.warn({ partner: partnerCode, status: res.status, records: batch.length }, 'exchange push refused; halving the batch');
        return { outcomes: retryAll(`HTTP ${res.status}`), answered: false, overloaded: `HTTP ${res.status}` };
      }
      if (res.status !== 200) return { outcomes: retryAll(`HTTP ${res.status}`), answered: false };
      text = res.text;
    } catch (e) {
      if (!(e instanceof OutboundHttpError)) throw e;
      deps.logger.warn({ partner: partnerCode, error: e.message }, 'exchange push failed');
      return { outcomes: retryAll(e.message), answered: false };
    }
    await notePartnerContact(deps.db, partnerCode, 'reached');
    let answer: z.infer<typeof PushAnswer>;
    try {
      answer = PushAnswer.parse(JSON.parse(text));
    } catch {
      deps.logger.warn({ partner: partnerCode }, 'exchange push answered with malformed receipts');
      return { outcomes: retryAll('malformed receipts'), answered: false };
    }
    const { receipts } = answer;
    if (receipts.length !== batch.length) return { outcomes: retryAll('receipts do not match the batch'), answered: false };
    const outcomes = batch.map((row, i): Outcome => {
      const r = receipts[i]!;
      if (r.id !== row.id) return { id: row.id, attempts: row.attempts, kind: 'retry', error: 'receipt for another record' };
      if (r.status === 'REJECTED') return { id: row.id, attempts: row.attempts, kind: 'failed', reason: r.reason ?? 'REJECTED' };
      return { id: row.id, attempts: row.attempts, kind: 'delivered' };
    });
    return { outcomes, answered: true };
  }

  /**
   * Writes the outcomes in one statement, locking the rows in id order (the order every multi-row change of the
   * outbox locks rows in), and releases the claim. Only rows this run still holds change: one whose claim passed to
   * another worker is that worker's, and a record cancelled while its push was in flight (consent withdrawn,
   * erasure) stays CANCELLED.
   */
  private async record(token: string, outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const { retryBaseMs, retryMaxMs } = this.deps.config.exchange;
    const rows = outcomes.map((o) =>
      o.kind === 'delivered'
        ? { id: o.id, status: 'DELIVERED', error: null, delay_ms: null }
        : o.kind === 'failed'
          ? { id: o.id, status: 'FAILED', error: o.reason, delay_ms: null }
          : { id: o.id, status: 'QUEUED', error: o.error.slice(0, 200), delay_ms: retryDelayMs(o.attempts, retryBaseMs, retryMaxMs) },
    );
    // One parameter (text, cast in SQL) whatever the batch size; jsonb_to_recordset turns it into rows.
    await this.deps.db.execute(sql`
      with outcome as (
        select * from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as x(id uuid, status text, error text, delay_ms double precision)
      ),
      held as (
        select o.id from exchange_outbound_records o join outcome x on x.id = o.id
        where o.status = 'QUEUED' and o.claim_token = ${token}
        order by o.id
        for update of o
      )
      update exchange_outbound_records o
      set status = x.status,
          delivered_at = case when x.status = 'DELIVERED' then now() else o.delivered_at end,
          next_attempt_at = case when x.delay_ms is null then o.next_attempt_at else now() + make_interval(secs => x.delay_ms / 1000) end,
          last_error = x.error,
          claim_token = null
      from outcome x, held h
      where o.id = x.id and o.id = h.id`);
  }
}
