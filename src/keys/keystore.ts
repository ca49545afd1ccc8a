import { and, asc, desc, eq, isNull, lte } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Db } from '../db/client';
import type { Secrets } from '../secrets';
import { signingKeys, type KeyPurpose } from './tables';

export type SigningAlg = 'ES256' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  key: CryptoKey;
}

export interface PublishedKey {
  kid: string;
  alg: SigningAlg;
  jwk: JWK;
  signsFrom: Date;
  retiredAt: Date | null;
}

const CACHE_MS = 30_000;

/**
 * This county's own signing keys, kept in the database (private halves sealed with the data key) so every
 * instance of a scaled-out server signs and verifies with the same set.
 */
export class KeyStore {
  private cache = new Map<KeyPurpose, { at: number; signing: SigningKey; verify: Map<string, CryptoKey> }>();

  constructor(
    private readonly db: Db,
    private readonly secrets: Secrets,
  ) {}

  /** Creates the first key for a purpose if there is none (first start). */
  async ensure(purpose: KeyPurpose, alg: SigningAlg = 'ES256'): Promise<void> {
    const [existing] = await this.db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(and(eq(signingKeys.purpose, purpose), isNull(signingKeys.retiredAt)))
      .limit(1);
    if (!existing) await this.add(purpose, alg, new Date());
  }

  /**
   * Publishes a new key now; it starts signing after `graceSeconds`, so partners that cache our JWKS see it
   * before anything signed with it reaches them. Older keys stay published until retired.
   */
  async rotate(purpose: KeyPurpose, graceSeconds: number, alg: SigningAlg = 'ES256'): Promise<PublishedKey> {
    const key = await this.add(purpose, alg, new Date(Date.now() + graceSeconds * 1000));
    this.cache.delete(purpose);
    return key;
  }

  /** Stops publishing a key. The key that currently signs cannot be retired. */
  async retire(kid: string): Promise<void> {
    const [row] = await this.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
    if (!row) throw new Error(`no key ${kid}`);
    const current = await this.currentRow(row.purpose);
    if (current?.kid === kid) throw new Error('this key is the one signing now; rotate first and wait for the grace period');
    await this.db.update(signingKeys).set({ retiredAt: new Date() }).where(eq(signingKeys.kid, kid));
    this.cache.delete(row.purpose);
  }

  async signingKey(purpose: KeyPurpose): Promise<SigningKey> {
    return (await this.load(purpose)).signing;
  }

  /** A published (not retired) key of ours, for verifying what we signed; reloads once on an unknown kid. */
  async verificationKey(purpose: KeyPurpose, kid: string): Promise<CryptoKey | undefined> {
    const hit = (await this.load(purpose)).verify.get(kid);
    if (hit) return hit;
    this.cache.delete(purpose);
    return (await this.load(purpose)).verify.get(kid);
  }

  async published(purpose: KeyPurpose): Promise<PublishedKey[]> {
    const rows = await this.db
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.purpose, purpose), isNull(signingKeys.retiredAt)))
      .orderBy(asc(signingKeys.signsFrom));
    return rows.map(toPublished);
  }

  async all(purpose: KeyPurpose): Promise<PublishedKey[]> {
    const rows = await this.db.select().from(signingKeys).where(eq(signingKeys.purpose, purpose)).orderBy(asc(signingKeys.createdAt));
    return rows.map(toPublished);
  }

  private async add(purpose: KeyPurpose, alg: SigningAlg, signsFrom: Date): Promise<PublishedKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const jwk: JWK = { ...publicJwk, kid, alg, use: 'sig' };
    const sealed = this.secrets.encrypt(JSON.stringify(await exportJWK(privateKey)));
    const [row] = await this.db
      .insert(signingKeys)
      .values({ kid, purpose, alg, publicJwk: jwk, privateJwkEnc: sealed, signsFrom })
      .returning();
    return toPublished(row!);
  }

  private async currentRow(purpose: KeyPurpose) {
    const [row] = await this.db
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.purpose, purpose), isNull(signingKeys.retiredAt), lte(signingKeys.signsFrom, new Date())))
      .orderBy(desc(signingKeys.signsFrom))
      .limit(1);
    return row;
  }

  private async load(purpose: KeyPurpose) {
    const cached = this.cache.get(purpose);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached;
    const current = await this.currentRow(purpose);
    if (!current) throw new Error(`no ${purpose} signing key; run the server once to create it`);
    const privateJwk = JSON.parse(this.secrets.decrypt(current.privateJwkEnc)) as JWK;
    const signing: SigningKey = {
      kid: current.kid,
      alg: current.alg,
      key: (await importJWK(privateJwk, current.alg)) as CryptoKey,
    };
    const verify = new Map<string, CryptoKey>();
    for (const k of await this.published(purpose)) verify.set(k.kid, (await importJWK(k.jwk, k.alg)) as CryptoKey);
    const entry = { at: Date.now(), signing, verify };
    this.cache.set(purpose, entry);
    return entry;
  }
}

function toPublished(row: typeof signingKeys.$inferSelect): PublishedKey {
  return { kid: row.kid, alg: row.alg, jwk: row.publicJwk, signsFrom: row.signsFrom, retiredAt: row.retiredAt };
}
