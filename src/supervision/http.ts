import express, { type Request, type Response } from 'express';
import { appendAudit, auditStandalone } from '../audit/service';
import { authenticate } from '../auth/service';
import type { Deps } from '../deps';
import { AppError, isAppError } from '../errors';
import { getDivisions } from '../jurisdiction/divisions';
import type { Caller } from '../policy/actor';
import { PolicyDenied } from '../policy/policy';
import { warningCsv, warningPdf } from './export';
import { quarterlyWarning } from './warning';

const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, UNAUTHENTICATED: 401, FORBIDDEN: 403, NOT_FOUND: 404 };

/**
 * Downloads of the quarterly warning: `GET /exports/quarterly-warning.csv|pdf?quarter=2026-Q3[&townCode=...]`
 * with the same bearer token as GraphQL. Each export is audited.
 */
export function exportsRouter(deps: Deps): express.Router {
  const router = express.Router();
  router.get('/exports/quarterly-warning.:format', async (req: Request, res: Response) => {
    const format = req.params.format;
    let caller: Caller | undefined;
    try {
      if (format !== 'csv' && format !== 'pdf') throw new AppError('NOT_FOUND', 'csv or pdf');
      const bearer = req.get('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1];
      caller = { actor: await authenticate(deps, bearer), ip: req.ip, requestId: req.id };
      const quarter = typeof req.query.quarter === 'string' ? req.query.quarter : '';
      const townCode = typeof req.query.townCode === 'string' && req.query.townCode ? req.query.townCode : null;
      const w = await quarterlyWarning(deps, caller, quarter, townCode);
      const divisions = await getDivisions(deps.db, [deps.config.countyCode, ...(w.townCode ? [w.townCode] : []), ...w.villages.map((v) => v.figures.villageCode)]);
      const names = new Map(divisions.map((d) => [d.code, d.name]));
      const title = [names.get(deps.config.countyCode), w.townCode ? names.get(w.townCode) : undefined].filter(Boolean).join('');
      const body = format === 'csv' ? Buffer.from(warningCsv(w, names), 'utf8') : await warningPdf(w, names, title, deps.config.pdfFontFile);
      await deps.db.transaction((tx) => appendAudit(tx, caller!, { action: 'warning.export', details: { quarter: w.window.label, townCode: w.townCode, format } }));
      const filename = `warning-${w.window.label}${w.townCode ? `-${w.townCode}` : ''}.${format}`;
      res.set('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/pdf');
      res.set('content-disposition', `attachment; filename="${filename}"`);
      res.send(body);
    } catch (e) {
      if (!isAppError(e)) throw e;
      if (e instanceof PolicyDenied && caller) await auditStandalone(deps.db, caller, { action: e.action, outcome: 'DENIED', details: { export: 'quarterly-warning' } });
      res.status(STATUS[e.code] ?? 400).json({ error: e.code, message: e.message, ...(typeof e.extensions.field === 'string' ? { field: e.extensions.field } : {}) });
    }
  });
  return router;
}
