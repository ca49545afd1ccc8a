import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ping } from '../db/client';
import type { Deps } from '../deps';
import { requestContext } from './request';

export interface Routes {
  graphql: RequestHandler;
  /** Further routers mounted at the root (exchange endpoints, JWKS). */
  extra?: express.Router[];
}

/** The Express app: health probes, GraphQL, and whatever routers the modules add. */
export function createHttpApp(deps: Deps, routes: Routes): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Answers carry personal data and are never cached: no ETag (and no hashing of every response body).
  app.disable('etag');
  app.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store'); // a route with public content (the JWKS) says so itself
    next();
  });
  app.set('trust proxy', deps.config.trustProxy);
  app.use(requestContext(deps.logger));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await ping(deps.db);
      res.json({ status: 'ready' });
    } catch (err) {
      deps.logger.warn({ err }, 'readiness check failed');
      res.status(503).json({ status: 'unavailable' });
    }
  });

  app.use('/graphql', express.json({ limit: '1mb' }), routes.graphql);
  for (const router of routes.extra ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not_found' });
  });
  // Last resort: never leak internals, whatever threw.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (status >= 500) req.log.error({ err }, 'unhandled error');
    res.status(status).json({ error: status >= 500 ? 'internal_error' : 'bad_request' });
  });
  return app;
}
