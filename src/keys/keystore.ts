import { and, asc, desc, eq, isNull, lte } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { appendAudit } from '../audit/service';
import type { Db } from '../db/client';
import { conflict, notFound } from '../errors';
import { systemCaller, type Caller } from '../policy/actor';
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
 * instance of a scaled-out server signs and verifies with the same set. Creating, rotating and retiring a key
 * are audited.
 */
export class KeyStore {
  private cache = new Map<KeyPurpose, { at: number; signing: SigningKey; verify: Map<string, CryptoKey> }>();
  /** Public keys never change, so a key once imported (retired or not) stays cached. */
  private everUsed = new Map<string, { purpose: KeyPurpose; alg: SigningAlg; key: CryptoKey }>();

  constructor(
    private readonly db: Db,
    private readonly secrets: Secrets,
  ) {}

  /** Creates the first key for a purpose if there is none (first start). */
  async ensure(purpose: KeyPurpose, alg: SigningAlg = 'ES256', caller: Caller = systemCaller('bootstrap')): Promise<void> {
    const [existing] = await this.db
      .select({ kid: signingKeys.kid })
      .from(signingKeys)
      .where(and(eq(signingKeys.purpose, purpose), isNull(signingKeys.retiredAt)))
      .limit(1);
    if (!existing) await this.add(caller, 'key.create', purpose, alg, new Date());
  }

  /**
   * Publishes a new key now; it starts signing after `graceSeconds`, so partners that cache our JWKS see it
   * before anything signed with it reaches them. Older keys stay published until retired.
   */
  async rotate(caller: Caller, purpose: KeyPurpose, graceSeconds: number, alg: SigningAlg = 'ES256'): Promise<PublishedKey> {
    const key = await this.add(caller, 'key.rotate', purpose, alg, new Date(Date.now() + graceSeconds * 1000));
    this.cache.delete(purpose);
    return key;
  }

  /**
   * Stops publishing a key. The key that currently signs cannot be retired. The row stays, so what the key signed
   * can still be re-verified with `historicalKey`.
   */
  async retire(caller: Caller, kid: string): Promise<void> {
    const [row] = await this.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
    if (!row) throw notFound('Signing key', kid);
    if (row.retiredAt) throw conflict(`key ${kid} is already retired`);
    const current = await this.currentRow(row.purpose, this.db);
    if (current?.kid === kid) throw conflict('this key is the one signing now; rotate first and wait for the grace period');
    await this.db.transaction(async (tx) => {
      await tx.update(signingKeys).set({ retiredAt: new Date() }).where(eq(signingKeys.kid, kid));
      await appendAudit(tx, caller, { action: 'key.retire', targetType: 'SigningKey', targetId: kid, details: { purpose: row.purpose } });
    });
    this.cache.delete(row.purpose);
  }

  /**
   * The key that signs now. Inside a transaction pass it as `db` (the outer handle deadlocks on PGlite when the
   * cache has to be refilled).
   */
  async signingKey(purpose: KeyPurpose, db: Db = this.db): Promise<SigningKey> {
    return (await this.load(purpose, db)).signing;
  }

  /** A published (not retired) key of ours, for verifying what we signed; reloads once on an unknown kid. */
  async verificationKey(purpose: KeyPurpose, kid: string): Promise<CryptoKey | undefined> {
    const hit = (await this.load(purpose, this.db)).verify.get(kid);
    if (hit) return hit;
    this.cache.delete(purpose);
    return (await this.load(purpose, this.db)).verify.get(kid);
  }

  /**
   * Any key this county ever had for a purpose, retired ones included: for re-verifying records we signed years
   * ago. Never use it to accept something new.
   */
  async historicalKey(purpose: KeyPurpose, kid: string): Promise<{ alg: SigningAlg; key: CryptoKey } | undefined> {
    let hit = this.everUsed.get(kid);
    if (!hit) {
      const [row] = await this.db.select().from(signingKeys).where(eq(signingKeys.kid, kid));
      if (!row) return undefined;
      hit = { purpose: row.purpose, alg: row.alg, key: (await importJWK(row.publicJwk, row.alg)) as CryptoKey };
      this.everUsed.set(kid, hit);
    }
    return hit.purpose === purpose ? { alg: hit.alg, key: hit.key } : undefined;
  }

  async published(purpose: KeyPurpose, db: Db = this.db): Promise<PublishedKey[]> {
    const rows = await db
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

  private async add(caller: Caller, action: string, purpose: KeyPurpose, alg: SigningAlg, signsFrom: Date): Promise<PublishedKey> {
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
    const jwk: JWK = { ...publicJwk, kid, alg, use: 'sig' };
    const sealed = this.secrets.encrypt(JSON.stringify(await exportJWK(privateKey)));
    return this.db.transaction(async (tx) => {
      const [row] = await tx.insert(signingKeys).values({ kid, purpose, alg, publicJwk: jwk, privateJwkEnc: sealed, signsFrom }).returning();
      await appendAudit(tx, caller, { action, targetType: 'SigningKey', targetId: kid, details: { purpose, alg, signsFrom: signsFrom.toISOString() } });
      return toPublished(row!);
    });
  }

  private async currentRow(purpose: KeyPurpose, db: Db) {
    const [row] = await db
      .select()
      .from(signingKeys)
      .where(and(eq(signingKeys.purpose, purpose), isNull(signingKeys.retiredAt), lte(signingKeys.signsFrom, new Date())))
      .orderBy(desc(signingKeys.signsFrom))
      .limit(1);
    return row;
  }

  private async load(purpose: KeyPurpose, db: Db) {
    const cached = this.cache.get(purpose);
    if (cached && Date.now() - cached.at < CACHE_MS) return cached;
    const current = await this.currentRow(purpose, db);
    if (!current) throw new Error(`no ${purpose} signing key; run the server once to create it`);
    const privateJwk = JSON.parse(this.secrets.decrypt(current.privateJwkEnc)) as JWK;
    const signing: SigningKey = {
      kid: current.kid,
      alg: current.alg,
      key: (await importJWK(privateJwk, current.alg)) as CryptoKey,
    };
    const verify = new Map<string, CryptoKey>();
    for (const k of await this.published(purpose, db)) verify.set(k.kid, (await importJWK(k.jwk, k.alg)) as CryptoKey);
    const entry = { at: Date.now(), signing, verify };
    this.cache.set(purpose, entry);
    return entry;
  }
}

function toPublished(row: typeof signingKeys.$inferSelect): PublishedKey {
  return { kid: row.kid, alg: row.alg, jwk: row.publicJwk, signsFrom: row.signsFrom, retiredAt: row.retiredAt };
}
