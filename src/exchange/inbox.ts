import { and, eq, inArray, isNull } from 'drizzle-orm';
import { collectAudit, writeAudit, type AuditEvent, type PendingAudit } from '../audit/service';
import { databaseError } from '../db/errors';
import type { Deps } from '../deps';
import { isUuid } from '../errors';
import { people } from '../people/tables';
import { partnerSigningKey, type Partner } from '../partners/service';
import type { Caller } from '../policy/actor';
import { allowsInbound } from './agreement';
import { applyInbound, RecordRejected } from './appliers';
import { contentHmac, parseRecordPayload, verifyRecordSignature, type KeyLookup, type RecordEnvelope } from './envelope';
import { clip, type Rejection } from './reasons';
import type { ExchangedType } from './record-types';
import { inboundRecords } from './tables';

export const MAX_RECORDS_PER_PUSH = 500;

export interface Receipt {
  id: string | null;
  status: 'ACCEPTED' | 'DUPLICATE' | 'REJECTED';
  reason?: string;
}

type Checked =
  | { ok: true; jws: string; kid: string; payload: unknown; record: RecordEnvelope<ExchangedType> }
  | ({ ok: false; id: string | null } & Rejection);

/**
 * SQLSTATE classes of a statement the database refused for its data: 22 (data exception: too long, out of range,
 * bad encoding) and 23 (integrity constraint). Such a record is refused on its own (STORAGE_REFUSED); anything else
 * (connection lost, deadlock, a missing table) is our fault and fails the batch, so the partner retries it.
 */
const REFUSED_DATA = /^2[23][0-9A-Z]{3}$/;

function refusedByDatabase(err: unknown): string | undefined {
  const db = databaseError(err);
  if (!db || !REFUSED_DATA.test(db.code)) return undefined;
  // Names only: the database's message may quote the values (personal data).
  return `SQLSTATE ${db.code} ${[db.table, db.column, db.constraint].filter(Boolean).join(' ')}`.trim();
}


/** The id a rejected record claims, if it can be read at all: receipts are matched by position, this helps people. */
function claimedId(jws: unknown): string | null {
  if (typeof jws !== 'string') return null;
  try {
    const id = (JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { id?: unknown }).id;
    return isUuid(id) ? id : null;
  } catch {
    return null;
  }
}

/** Everything about one record that needs no transaction: signature, envelope, issuer, audience, agreement. */
async function check(deps: Deps, partner: Partner, jws: unknown, lookup: KeyLookup): Promise<Checked> {
  const verified = await verifyRecordSignature(jws, lookup);
  if (!verified.ok) return { ...verified, id: claimedId(jws) };
  const parsed = parseRecordPayload(verified.payload);
  if (!parsed.ok) return { ...parsed, id: claimedId(jws) };
  const { record } = parsed;
  const reject = (r: Rejection): Checked => ({ ok: false, id: record.id, ...r });
  if (record.iss !== partner.countyCode) return reject({ reason: 'ISS_MISMATCH', detail: `record iss ${record.iss}` });
  if (record.aud !== deps.config.countyCode) return reject({ reason: 'AUD_MISMATCH', detail: `record aud ${record.aud}` });
  if (!allowsInbound(partner, record.type)) return reject({ reason: 'TYPE_NOT_ALLOWED', detail: `${record.type} not allowed inbound` });
  return { ok: true, jws: jws as string, kid: verified.kid, payload: verified.payload, record: record as RecordEnvelope<ExchangedType> };
}

/**
 * Takes a partner's batch: checks every record, then stores each accepted one verbatim (encrypted) and applies it
 * in one transaction, each record in its own savepoint so one bad record does not spoil the others. Returns the
 * receipts in input order; the caller sends them only after this has committed. Every record, refused or not,
 * leaves an audit entry in the same transaction.
 */
export async function receiveRecords(deps: Deps, caller: Caller, partner: Partner, batch: unknown[]): Promise<Receipt[]> {
  // A batch is usually signed with one key: look each kid up once.
  const keys = new Map<string, ReturnType<KeyLookup>>();
  const lookup: KeyLookup = (kid) => {
    if (!keys.has(kid)) keys.set(kid, partnerSigningKey(deps, partner.countyCode, kid));
    return keys.get(kid)!;
  };
  // Signatures are checked all at once: WebCrypto verifies on the thread pool, so a batch uses every core.
  const checked = await Promise.all(batch.map((jws) => check(deps, partner, jws, lookup)));
  const subjects = checked.map((c) => (c.ok ? deps.secrets.hmac(c.record.subject.idNumber) : undefined));
  return deps.db.transaction(async (tx) => {
    // Lock order (see registryTransaction): a batch about several of our people locks them all first, in id order,
    // as every multi-person change does; record by record, in the partner's order, two batches naming the same
    // people in other orders deadlocked. Each record's applier then locks its person again (already held).
    const ours = [...new Set(subjects.filter((h) => h !== undefined))];
    if (ours.length > 1) {
      await tx.select({ id: people.id }).from(people).where(and(inArray(people.idNumberHmac, ours), isNull(people.erasedAt))).orderBy(people.id).for('update');
    }
    const receipts: Receipt[] = [];
    const audit: PendingAudit[] = [];
    const receipt = (event: AuditEvent) => audit.push({ caller, event });
    for (const [i, c] of checked.entries()) {
      if (!c.ok) {
        receipts.push({ id: c.id, status: 'REJECTED', reason: c.reason });
        receipt(receiveEvent(c.id, 'DENIED', { reason: c.reason, detail: clip(c.detail) }));
        continue;
      }
      const { record } = c;
      const hash = contentHmac((v) => deps.secrets.hmac(v), c.payload);
      const subjectIdHmac = subjects[i]!;
      try {
        // The record's services audit into `pending`, written with the batch's receipts at the end.
        const { result: status, pending } = await collectAudit(() => tx.transaction(async (sp) => {
          const [stored] = await sp
            .insert(inboundRecords)
            .values({
              issuer: partner.countyCode,
              id: record.id,
              type: record.type,
              ref: record.ref ?? null,
              issuedAt: new Date(record.iat * 1000),
              signedKid: c.kid,
              jwsEnc: deps.secrets.encrypt(c.jws),
              contentHmac: hash,
              subjectIdHmac,
              state: 'RECEIVED',
            })
            .onConflictDoNothing()
            .returning({ id: inboundRecords.id });
          if (!stored) {
            const [existing] = await sp
              .select({ contentHmac: inboundRecords.contentHmac })
              .from(inboundRecords)
              .where(and(eq(inboundRecords.issuer, partner.countyCode), eq(inboundRecords.id, record.id)));
            if (existing?.contentHmac !== hash) throw new RecordRejected('ID_REUSED', 'same id, other content');
            return 'DUPLICATE' as const;
          }
          const applied = await applyInbound({ deps: { ...deps, db: sp }, caller, partner, record, subjectIdHmac });
          if (applied.state !== 'RECEIVED') {
            await sp
              .update(inboundRecords)
              .set({ ...applied, appliedAt: applied.state === 'APPLIED' ? new Date() : null })
              .where(and(eq(inboundRecords.issuer, partner.countyCode), eq(inboundRecords.id, record.id)));
          }
          return 'ACCEPTED' as const;
        }));
        receipts.push({ id: record.id, status });
        audit.push(...pending);
        receipt(receiveEvent(record.id, 'SUCCESS', { type: record.type, status }));
      } catch (e) {
        const refused = e instanceof RecordRejected ? e : refusedByDatabase(e);
        if (refused === undefined) throw e;
        const { reason, detail } = typeof refused === 'string' ? { reason: 'STORAGE_REFUSED' as const, detail: refused } : refused;
        if (typeof refused === 'string') deps.logger.warn({ partner: partner.countyCode, record: record.id, detail }, 'exchange record refused by the database');
        receipts.push({ id: record.id, status: 'REJECTED', reason });
        receipt(receiveEvent(record.id, 'DENIED', { type: record.type, reason, detail: clip(detail) }));
      }
    }
    await writeAudit(tx, audit);
    return receipts;
  });
}

function receiveEvent(id: string | null, outcome: 'SUCCESS' | 'DENIED', details: Record<string, unknown>): AuditEvent {
  return { action: 'exchange.receive', targetType: 'InboundRecord', ...(id ? { targetId: id } : {}), outcome, details };
}
