import fs from 'node:fs';
import { createLocalJWKSet, importJWK, jwtVerify, type CryptoKey, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { openRecord } from '../../src/exchange/envelope';
import { AUTH_FAILURES, REGISTRY_REJECTION_REASONS, REJECTION_REASONS } from '../../src/exchange/reasons';
import { parseJwks } from '../../src/partners/jwks';

/** The examples in the normative protocol page must be real: they are verified here with the server's own code. */
const doc = fs.readFileSync('docs/exchange-protocol.md', 'utf8');
function example(name: string): string {
  const m = new RegExp(`<!-- example:${name} -->\\n\`\`\`[a-z]*\\n([\\s\\S]*?)\\n\`\`\``).exec(doc);
  if (!m) throw new Error(`no example ${name} in the protocol page`);
  return m[1]!.trim();
}

describe('docs/exchange-protocol.md and operations.md', () => {
  it('document every receipt reason and every authentication failure the code can produce', () => {
    const table = doc.slice(doc.indexOf('| reason | the record...'));
    for (const code of REJECTION_REASONS) expect(table, code).toContain(`| \`${code}\` |`);
    const registryTable = doc.slice(doc.indexOf('| reason | this registry refused the record because...'));
    for (const code of REGISTRY_REJECTION_REASONS) expect(registryTable, code).toContain(`| \`${code}\` |`);
    const operations = fs.readFileSync('docs/operations.md', 'utf8');
    for (const code of AUTH_FAILURES) expect(operations, code).toContain(`\`${code}\``);
  });
});

describe('docs/exchange-protocol.md examples', () => {
  it('has a JWKS our partner registry accepts, a token that verified at its time, and a record that verifies', async () => {
    const jwks = JSON.parse(example('jwks')) as JSONWebKeySet;
    const [key] = await parseJwks(JSON.stringify(jwks));
    expect(key!.kid).toBe(jwks.keys[0]!.kid);

    const { payload, protectedHeader } = await jwtVerify(example('token'), createLocalJWKSet(jwks), {
      algorithms: ['ES256'],
      typ: 'hl-req+jwt',
      issuer: '320506',
      subject: '320506',
      audience: '320324',
      currentDate: new Date(1795399210 * 1000),
      requiredClaims: ['exp', 'iat', 'jti'],
    });
    expect(protectedHeader).toEqual({ alg: 'ES256', kid: key!.kid, typ: 'hl-req+jwt' });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(300);

    const opened = await openRecord(example('record'), async (kid) => (kid === key!.kid ? { alg: 'ES256', key: (await importJWK(key!.jwk, 'ES256')) as CryptoKey } : undefined));
    expect(opened.ok).toBe(true);
    if (opened.ok) expect(opened.record).toEqual(JSON.parse(example('payload')));
  });
});
