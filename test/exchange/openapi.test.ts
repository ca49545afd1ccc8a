import fs from 'node:fs';
import path from 'node:path';
import type express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exchangeRouter } from '../../src/exchange/router';
import { jwksRouter } from '../../src/keys/jwks';
import { projectRoot } from '../../src/paths';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: express.Router & { stack?: RouteLayer[] };
  matchers?: unknown[];
}

/** `METHOD /path` of every route a router serves, nested routers included, in OpenAPI's `{param}` spelling. */
function served(router: express.Router, prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of (router as unknown as { stack: RouteLayer[] }).stack) {
    if (layer.route) {
      for (const method of Object.keys(layer.route.methods)) out.push(`${method.toUpperCase()} ${prefix}${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
    } else if (layer.handle?.stack) {
      // express 5 keeps no mount path on a layer; the one nested router here is the one mounted at /exchange/v1
      out.push(...served(layer.handle, prefix || '/exchange/v1'));
    }
  }
  return out;
}

describe('docs/exchange-openapi.yaml', () => {
  const doc = parse(fs.readFileSync(path.join(projectRoot, 'docs/exchange-openapi.yaml'), 'utf8')) as {
    openapi: string;
    paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  };

  it('is OpenAPI 3.1 and describes exactly the endpoints the server serves to partners', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    const deps = t.server.deps;
    const actual = [...served(jwksRouter(deps)), ...served(exchangeRouter(deps))];
    expect(actual.length).toBeGreaterThan(3);
    expect(documented.sort()).toEqual(actual.sort());
  });

  it('documents the 401 answer of every authenticated endpoint', () => {
    for (const [p, ops] of Object.entries(doc.paths).filter(([p]) => p.startsWith('/exchange/v1/'))) {
      for (const [method, op] of Object.entries(ops)) {
        if (!op.responses) continue;
        expect(Object.keys(op.responses), `${method} ${p}`).toContain('401');
      }
    }
  });
});
