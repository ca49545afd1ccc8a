import crypto from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { rows } from '../db/client';
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
 * - before each push it renews the lease of the rows it is about to send, only those still carrying its token: a
 *   row whose lease ran out and was claimed by another worker is left to that worker;
 * - only the claim holder records an outcome, so a late answer to a push whose claim was lost changes nothing.
 * Partners are pushed concurrently (a slow one does not hold up the others). ACCEPTED and DUPLICATE mark a record
 * delivered, REJECTED failed with the reason; anything else (unreachable, a malformed answer, 401...) retries with
 * backoff. 413 and 5xx also halve the batch for that partner (growing back after answers that worked) and leave the
 * rest of the run's records for it to the backoff. stop() aborts pushes in flight.
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

  /** Stops scheduling, aborts pushes in flight (their records are retried later) and waits for the run to end. */
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

  private async tick(): Promise<void> {
    let more = false;
    try {
      const run = await this.runOnce();
      more = run.claimed >= this.deps.config.exchange.deliveryBatchSize;
    } catch (err) {
      this.deps.logger.error({ err }, 'exchange delivery run failed');
    }
    this.schedule(more ? 0 : this.deps.config.exchange.deliveryIntervalMs);
  }

  /** One round: claim what is due, push it to every partner at once, record the outcomes per partner. */
  async runOnce(): Promise<DeliveryRun> {
    const token = crypto.randomUUID();
    const claimed = await this.claim(token);
    const byPartner = new Map<string, Claimed[]>();
    for (const row of claimed) byPartner.set(row.partnerCode, [...(byPartner.get(row.partnerCode) ?? []), row]);
    const settled = await Promise.allSettled([...byPartner].map(([partnerCode, batch]) => this.deliverTo(token, partnerCode, batch)));
    const failure = settled.find((r) => r.status === 'rejected');
    if (failure) throw failure.reason;
    const outcomes = settled.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
    const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    return { claimed: claimed.length, delivered: count('delivered'), failed: count('failed'), retried: count('retry') };
  }

  private leaseSeconds(): number {
    return (this.deps.config.exchange.pushTimeoutMs * 2 + 5_000) / 1000;
  }

  private async claim(token: string): Promise<Claimed[]> {
    const { deliveryBatchSize } = this.deps.config.exchange;
    const today = protocolDate();
    // The due rows are picked oldest first, then locked in id order; the lock re-checks they are still due.
    const claimed = await rows<{ id: string; partner_code: string; jws_enc: string; attempts: number; created_at: string | Date }>(
      this.deps.db,
      sql`with due as (
            select o.id from exchange_outbound_records o join partners p on p.county_code = o.partner_code
            where o.status = 'QUEUED' and o.jws_enc is not null and o.next_attempt_at <= now()
              and p.status = 'ACTIVE' and p.valid_from <= ${today} and p.valid_to >= ${today}
            order by o.next_attempt_at, o.id
            limit ${deliveryBatchSize}
          ),
          locked as (
            select id from exchange_outbound_records
            where id in (select id from due) and status = 'QUEUED' and jws_enc is not null and next_attempt_at <= now()
            order by id
            for update skip locked
          )
          update exchange_outbound_records o
          set claim_token = ${token}, next_attempt_at = now() + make_interval(secs => ${this.leaseSeconds()}),
              last_attempt_at = now(), attempts = o.attempts + 1
          from locked where o.id = locked.id
          returning o.id, o.partner_code, o.jws_enc, o.attempts, o.created_at`,
    );
    // Pushed in the order they were queued: a partner applies a departure before the inquiry about the same person.
    return claimed
      .map((r) => ({ ...r, at: new Date(r.created_at).getTime() }))
      .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1))
      .map((r) => ({ id: r.id, partnerCode: r.partner_code, jwsEnc: r.jws_enc, attempts: Number(r.attempts) }));
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
  private async deliverTo(token: string, partnerCode: string, claimed: Claimed[]): Promise<Outcome[]> {
    const { deps } = this;
    const outcomes: Outcome[] = [];
    const retry = (batch: Claimed[], error: string) => batch.map((r): Outcome => ({ id: r.id, attempts: r.attempts, kind: 'retry', error }));
    const [partner] = await deps.db.select({ baseUrl: partners.baseUrl }).from(partners).where(eq(partners.countyCode, partnerCode));
    // Smaller after 413/5xx; grows back one doubling per run that went through.
    const limit = this.batchLimit.get(partnerCode) ?? deps.config.exchange.deliveryBatchSize;
    let rest = claimed;
    let wentThrough = true;
    // Each batch's outcomes are written as soon as it is answered, while its lease is fresh.
    const settle = async (list: Outcome[]) => {
      await this.record(token, list);
      outcomes.push(...list);
    };
    while (rest.length > 0) {
      if (!partner || this.abort.signal.aborted) {
        wentThrough = false;
        await settle(retry(rest, partner ? 'delivery stopped' : 'partner not found'));
        break;
      }
      const held = await this.renew(token, rest.slice(0, limit).map((r) => r.id));
      const batch = rest.slice(0, limit).filter((r) => held.has(r.id));
      rest = rest.slice(limit);
      if (batch.length === 0) continue;
      const pushed = await this.push(partner.baseUrl, partnerCode, batch);
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
   * Writes the outcomes in id order, the order every multi-row change of the outbox locks rows in, and releases the
   * claim. Only rows this run still holds change: one whose claim passed to another worker is that worker's, and a
   * record cancelled while its push was in flight (consent withdrawn, erasure) stays CANCELLED.
   */
  private async record(token: string, outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const { retryBaseMs, retryMaxMs } = this.deps.config.exchange;
    const sorted = [...outcomes].sort((a, b) => (a.id < b.id ? -1 : 1));
    const held = and(eq(outboundRecords.status, 'QUEUED'), eq(outboundRecords.claimToken, token));
    await this.deps.db.transaction(async (tx) => {
      await tx.execute(sql`select id from exchange_outbound_records where id in ${sorted.map((o) => o.id)} order by id for update`);
      const delivered = sorted.filter((o) => o.kind === 'delivered').map((o) => o.id);
      if (delivered.length) {
        await tx
          .update(outboundRecords)
          .set({ status: 'DELIVERED', deliveredAt: sql`now()`, lastError: null, claimToken: null })
          .where(and(inArray(outboundRecords.id, delivered), held));
      }
      // Failures and retries of one push mostly share their reason and attempt count: one statement per group.
      const groups = new Map<string, { set: PgUpdateSetSource<typeof outboundRecords>; ids: string[] }>();
      for (const o of sorted) {
        if (o.kind === 'delivered') continue;
        const delay = o.kind === 'retry' ? retryDelayMs(o.attempts, retryBaseMs, retryMaxMs) : 0;
        const key = o.kind === 'failed' ? `failed|${o.reason}` : `retry|${delay}|${o.error.slice(0, 200)}`;
        const group =
          groups.get(key) ??
          groups
            .set(key, {
              set:
                o.kind === 'failed'
                  ? { status: 'FAILED', lastError: o.reason, claimToken: null }
                  : { nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`, lastError: o.error.slice(0, 200), claimToken: null },
              ids: [],
            })
            .get(key)!;
        group.ids.push(o.id);
      }
      for (const { set, ids } of groups.values()) {
        await tx.update(outboundRecords).set(set).where(and(inArray(outboundRecords.id, ids), held));
      }
    });
  }
}
