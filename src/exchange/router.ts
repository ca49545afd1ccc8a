import express, { type NextFunction, type Request, type Response } from 'express';
import { and, eq, isNotNull } from 'drizzle-orm';
import { auditStandalone } from '../audit/service';
import type { Deps } from '../deps';
import { isUuid } from '../errors';
import { authorizePartner, PolicyDenied } from '../policy/policy';
import { receiveRecords, MAX_RECORDS_PER_PUSH } from './inbox';
import { lookupPerson } from './lookup';
import { decodePullCursor, encodePullCursor, issuedTo, publishOutbox, readableByPartner } from './outbox';
import { residentIdProblem } from './resident-id';
import { inboundRecords, outboundRecords } from './tables';
import { requirePartner, type ExchangeLocals } from './transport';

const DEFAULT_PULL_LIMIT = 100;
const MAX_PULL_LIMIT = 500;

/** A request the protocol does not allow: 400 with a stable reason code (docs/exchange-protocol.md). */
function badRequest(res: Response, reason: string): void {
  res.status(400).json({ error: 'bad_request', reason });
}

function locals(res: Response): ExchangeLocals {
  return res.locals.exchange as ExchangeLocals;
}

/**
 * The router every `/exchange/v1/*` endpoint is defined on. Transport authentication is its first middleware, so
 * whatever route is added to it, in whatever order, only runs for an authenticated partner; and it ends with a 404
 * for every other path, so no router mounted after it can serve a path under the prefix either.
 */
function authenticatedRouter(deps: Deps): express.Router {
  const v1 = express.Router();
  v1.use(requirePartner(deps));
  return v1;
}

/** The partner-facing endpoints, `/exchange/v1/*`; every request is authenticated by `requirePartner` first. */
export function exchangeRouter(deps: Deps): express.Router {
  const router = express.Router();
  const v1 = authenticatedRouter(deps);
  router.use('/exchange/v1', v1);

  v1.post('/records', express.json({ limit: deps.config.exchange.maxBodyBytes }), async (req, res) => {
    const { partner, caller } = locals(res);
    authorizePartner(caller.actor, 'exchange.push');
    const body = req.body as unknown;
    const records = (body as { records?: unknown } | undefined)?.records;
    if (typeof body !== 'object' || body === null || Object.keys(body).some((k) => k !== 'records') || !Array.isArray(records)) {
      return badRequest(res, 'MALFORMED_REQUEST');
    }
    if (records.length > MAX_RECORDS_PER_PUSH) return badRequest(res, 'TOO_MANY_RECORDS');
    const receipts = await receiveRecords(deps, caller, partner, records);
    res.json({ receipts });
  });

  v1.get('/records', async (req, res) => {
    const { partner, caller } = locals(res);
    authorizePartner(caller.actor, 'exchange.pull');
    const { after, limit: rawLimit } = req.query;
    let afterSeq = 0;
    if (after !== undefined) {
      const decoded = typeof after === 'string' ? decodePullCursor((v) => deps.secrets.hmac(v), partner.countyCode, after) : null;
      if (decoded === null) return badRequest(res, 'MALFORMED_CURSOR');
      afterSeq = decoded;
    }
    const limit = rawLimit === undefined ? DEFAULT_PULL_LIMIT : typeof rawLimit === 'string' && /^\d{1,3}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_PULL_LIMIT)) return badRequest(res, 'MALFORMED_LIMIT');
    await publishOutbox(deps.db);
    const found = await issuedTo(deps.db, partner.countyCode, afterSeq, limit);
    const page = found.slice(0, limit);
    const records = page.map((r) => ({ cursor: encodePullCursor((v) => deps.secrets.hmac(v), partner.countyCode, r.seq!), jws: deps.secrets.decrypt(r.jwsEnc) }));
    await auditStandalone(deps.db, caller, {
      action: 'exchange.pull',
      targetType: 'OutboundRecord',
      details: { after: afterSeq, count: page.length, ids: page.map((r) => r.id) },
    });
    res.json({ records, next: records.length ? records[records.length - 1]!.cursor : (after ?? null), hasMore: found.length > limit });
  });

  v1.get('/records/:id', async (req, res) => {
    const { partner, caller } = locals(res);
    authorizePartner(caller.actor, 'exchange.pull');
    const id = req.params.id;
    if (!isUuid(id)) return badRequest(res, 'MALFORMED_ID');
    const [issued] = await deps.db
      .select({ jwsEnc: outboundRecords.jwsEnc })
      .from(outboundRecords)
      .where(and(eq(outboundRecords.id, id), readableByPartner(partner.countyCode)));
    const [received] = issued
      ? []
      : await deps.db
          .select({ jwsEnc: inboundRecords.jwsEnc })
          .from(inboundRecords)
          .where(and(eq(inboundRecords.id, id), eq(inboundRecords.issuer, partner.countyCode), isNotNull(inboundRecords.jwsEnc)));
    const found = issued ?? received;
    await auditStandalone(deps.db, caller, {
      action: 'exchange.read',
      targetType: issued ? 'OutboundRecord' : 'InboundRecord',
      targetId: id,
      outcome: found ? 'SUCCESS' : 'FAILURE',
    });
    if (!found) return void res.status(404).json({ error: 'not_found' });
    res.json({ record: deps.secrets.decrypt(found.jwsEnc!) });
  });

  v1.post('/lookup', express.json({ limit: '4kb' }), async (req, res) => {
    const { partner, caller } = locals(res);
    authorizePartner(caller.actor, 'exchange.lookup');
    if (!partner.lookupAllowed) throw new PolicyDenied('exchange.lookup', 'the agreement does not allow LOOKUP');
    const body = req.body as { idNumber?: unknown } | undefined;
    const idNumber = body?.idNumber;
    if (typeof idNumber !== 'string' || Object.keys(body ?? {}).length !== 1 || residentIdProblem(idNumber)) return badRequest(res, 'MALFORMED_REQUEST');
    const jws = await lookupPerson(deps, caller, partner, idNumber);
    if (!jws) return void res.status(404).json({ error: 'not_found' });
    res.json({ record: jws });
  });

  v1.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });

  v1.use(async (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (err instanceof PolicyDenied) {
      await auditStandalone(deps.db, locals(res).caller, { action: err.action, outcome: 'DENIED', details: { reason: 'NOT_ALLOWED', detail: err.message } });
      req.log.warn({ action: err.action, detail: err.message }, 'exchange request refused');
      return void res.status(403).json({ error: 'forbidden' });
    }
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') return void res.status(413).json({ error: 'payload_too_large' });
    if (type === 'entity.parse.failed' || type === 'encoding.unsupported' || type === 'charset.unsupported') return badRequest(res, 'MALFORMED_REQUEST');
    next(err);
  });
  return router;
}
