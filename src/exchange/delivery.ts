import { and, asc, eq, gte, inArray, isNotNull, lte, sql } from 'drizzle-orm';
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
 * instances: rows are claimed with FOR UPDATE SKIP LOCKED and leased (their next attempt moved past the push
 * timeout) before the push, so no two instances push the same record at once; a crashed instance's lease simply
 * runs out. ACCEPTED and DUPLICATE mark a record delivered, REJECTED marks it failed with the reason, anything
 * else (unreachable, 5xx, 401...) retries with backoff.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly deps: Deps) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops scheduling and waits for a run in progress to finish (graceful shutdown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
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

  /** One round: claim what is due, push it per partner, record the outcomes. */
  async runOnce(): Promise<DeliveryRun> {
    const claimed = await this.claim();
    const byPartner = new Map<string, Claimed[]>();
    for (const row of claimed) byPartner.set(row.partnerCode, [...(byPartner.get(row.partnerCode) ?? []), row]);
    const outcomes: Outcome[] = [];
    for (const [partnerCode, batch] of byPartner) outcomes.push(...(await this.push(partnerCode, batch)));
    await this.record(outcomes);
    const count = (kind: Outcome['kind']) => outcomes.filter((o) => o.kind === kind).length;
    return { claimed: claimed.length, delivered: count('delivered'), failed: count('failed'), retried: count('retry') };
  }

  private async claim(): Promise<Claimed[]> {
    const { deliveryBatchSize, pushTimeoutMs } = this.deps.config.exchange;
    const leaseMs = pushTimeoutMs * 2 + 5_000;
    const today = protocolDate();
    return this.deps.db.transaction(async (tx) => {
      const due = await tx
        .select({ id: outboundRecords.id, partnerCode: outboundRecords.partnerCode, jwsEnc: outboundRecords.jwsEnc, attempts: outboundRecords.attempts })
        .from(outboundRecords)
        .innerJoin(partners, eq(partners.countyCode, outboundRecords.partnerCode))
        .where(
          and(
            eq(outboundRecords.status, 'QUEUED'),
            isNotNull(outboundRecords.jwsEnc),
            lte(outboundRecords.nextAttemptAt, sql`now()`),
            eq(partners.status, 'ACTIVE'),
            lte(partners.validFrom, today),
            gte(partners.validTo, today),
          ),
        )
        .orderBy(asc(outboundRecords.nextAttemptAt), asc(outboundRecords.id))
        .limit(deliveryBatchSize)
        .for('update', { of: outboundRecords, skipLocked: true });
      if (due.length === 0) return [];
      await tx
        .update(outboundRecords)
        .set({
          nextAttemptAt: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
          lastAttemptAt: sql`now()`,
          attempts: sql`${outboundRecords.attempts} + 1`,
        })
        .where(inArray(outboundRecords.id, due.map((r) => r.id)));
      return due.map((r) => ({ ...r, jwsEnc: r.jwsEnc!, attempts: r.attempts + 1 }));
    });
  }

  private async push(partnerCode: string, batch: Claimed[]): Promise<Outcome[]> {
    const { deps } = this;
    const [partner] = await deps.db.select({ baseUrl: partners.baseUrl }).from(partners).where(eq(partners.countyCode, partnerCode));
    const retryAll = (error: string): Outcome[] => batch.map((r) => ({ id: r.id, attempts: r.attempts, kind: 'retry', error }));
    if (!partner) return retryAll('partner not found');
    let receipts: unknown;
    try {
      const res = await fetchLimited(
        `${partner.baseUrl}/exchange/v1/records`,
        {
          method: 'POST',
          headers: { authorization: `Bearer ${await signTransportToken(deps, partnerCode)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ records: batch.map((r) => deps.secrets.decrypt(r.jwsEnc)) }),
        },
        { timeoutMs: deps.config.exchange.pushTimeoutMs, maxBytes: MAX_RECEIPTS_BYTES },
      );
      if (res.status !== 200) return retryAll(`HTTP ${res.status}`);
      receipts = (JSON.parse(res.text) as { receipts?: unknown }).receipts;
    } catch (e) {
      const error = e instanceof OutboundHttpError ? e.message : e instanceof SyntaxError ? 'answer is not JSON' : undefined;
      if (error === undefined) throw e;
      deps.logger.warn({ partner: partnerCode, error }, 'exchange push failed');
      return retryAll(error);
    }
    await notePartnerContact(deps.db, partnerCode, 'reached');
    if (!Array.isArray(receipts) || receipts.length !== batch.length) return retryAll('receipts do not match the batch');
    return batch.map((row, i): Outcome => {
      const r = receipts[i] as { id?: unknown; status?: unknown; reason?: unknown } | null;
      if (r?.id !== row.id) return { id: row.id, attempts: row.attempts, kind: 'retry', error: 'receipt for another record' };
      if (r.status === 'ACCEPTED' || r.status === 'DUPLICATE') return { id: row.id, attempts: row.attempts, kind: 'delivered' };
      if (r.status === 'REJECTED') return { id: row.id, attempts: row.attempts, kind: 'failed', reason: typeof r.reason === 'string' ? r.reason.slice(0, 100) : 'REJECTED' };
      return { id: row.id, attempts: row.attempts, kind: 'retry', error: 'unknown receipt status' };
    });
  }

  /**
   * Writes the outcomes in id order, the order every multi-row change of the outbox locks rows in. Only rows still
   * QUEUED change: a record cancelled while its push was in flight (consent withdrawn, erasure) stays CANCELLED.
   */
  private async record(outcomes: Outcome[]): Promise<void> {
    if (outcomes.length === 0) return;
    const { retryBaseMs, retryMaxMs } = this.deps.config.exchange;
    const sorted = [...outcomes].sort((a, b) => (a.id < b.id ? -1 : 1));
    const queued = eq(outboundRecords.status, 'QUEUED');
    await this.deps.db.transaction(async (tx) => {
      const delivered = sorted.filter((o) => o.kind === 'delivered').map((o) => o.id);
      if (delivered.length) {
        await tx
          .update(outboundRecords)
          .set({ status: 'DELIVERED', deliveredAt: sql`now()`, lastError: null })
          .where(and(inArray(outboundRecords.id, delivered), queued));
      }
      for (const o of sorted) {
        if (o.kind === 'failed') {
          await tx.update(outboundRecords).set({ status: 'FAILED', lastError: o.reason }).where(and(eq(outboundRecords.id, o.id), queued));
        } else if (o.kind === 'retry') {
          const delay = retryDelayMs(o.attempts, retryBaseMs, retryMaxMs);
          await tx
            .update(outboundRecords)
            .set({ nextAttemptAt: sql`now() + make_interval(secs => ${delay / 1000})`, lastError: o.error.slice(0, 200) })
            .where(and(eq(outboundRecords.id, o.id), queued));
        }
      }
    });
  }
}
