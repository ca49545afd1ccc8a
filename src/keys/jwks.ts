import express from 'express';
import type { JWK } from 'jose';
import type { Deps } from '../deps';
import type { KeyStore } from './keystore';

/** Partners cache our JWKS this long; a rotation's grace period (48 h by default) is far longer. */
export const JWKS_MAX_AGE_SECONDS = 300;

/** The public halves of our EXCHANGE keys that are not retired, including ones published ahead of signing. */
export async function jwksDocument(keys: KeyStore): Promise<{ keys: JWK[] }> {
  const published = await keys.published('EXCHANGE');
  return { keys: published.map((k) => ({ ...k.jwk, kid: k.kid, alg: k.alg, use: 'sig' })) };
}

/** `GET /.well-known/jwks.json`: public, no authentication. */
export function jwksRouter(deps: Deps): express.Router {
  const router = express.Router();
  router.get('/.well-known/jwks.json', async (_req, res) => {
    res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`);
    res.type('application/jwk-set+json').json(await jwksDocument(deps.keys));
  });
  return router;
}
