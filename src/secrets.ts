import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { Config } from './config';
import type { Db } from './db/client';
import { settings } from './db/tables';

/**
 * The two install-wide secrets: a data key (AES-256-GCM for ID numbers, stored records and private keys) and an
 * HMAC key (exact lookup of ID numbers without storing them in clear). They come from DATA_KEY/HMAC_KEY or from
 * SECRETS_FILE, which is created (mode 0600) on first start. They never live in the repo or the database.
 */
export class Secrets {
  private constructor(
    private readonly dataKey: Buffer,
    private readonly hmacKey: Buffer,
  ) {}

  static fromKeys(dataKey: Buffer, hmacKey: Buffer): Secrets {
    if (dataKey.length !== 32 || hmacKey.length !== 32) throw new Error('secrets must be 32 bytes each');
    return new Secrets(dataKey, hmacKey);
  }

  static generate(): Secrets {
    return new Secrets(crypto.randomBytes(32), crypto.randomBytes(32));
  }

  static load(config: Pick<Config, 'dataKey' | 'hmacKey' | 'secretsFile'>): Secrets {
    if (config.dataKey && config.hmacKey) {
      return Secrets.fromKeys(Buffer.from(config.dataKey, 'base64'), Buffer.from(config.hmacKey, 'base64'));
    }
    if (fs.existsSync(config.secretsFile)) {
      const stored = JSON.parse(fs.readFileSync(config.secretsFile, 'utf8')) as { dataKey: string; hmacKey: string };
      return Secrets.fromKeys(Buffer.from(stored.dataKey, 'base64'), Buffer.from(stored.hmacKey, 'base64'));
    }
    const fresh = Secrets.generate();
    fs.mkdirSync(path.dirname(config.secretsFile), { recursive: true });
    fs.writeFileSync(
      config.secretsFile,
      JSON.stringify({ dataKey: fresh.dataKey.toString('base64'), hmacKey: fresh.hmacKey.toString('base64') }),
      { mode: 0o600, flag: 'wx' },
    );
    return fresh;
  }

  /** Random bytes the IVs are cut from: one call into the CSPRNG per 256 encryptions, not one each (a batch stores hundreds). */
  private ivPool = Buffer.alloc(0);
  private ivNext = 0;

  /** AES-256-GCM with a fresh random 96-bit IV (each pool byte is used once); output is `v1.<iv>.<tag>.<ciphertext>` in base64url. */
  encrypt(plain: string | Uint8Array): string {
    if (this.ivNext + 12 > this.ivPool.length) {
      this.ivPool = crypto.randomBytes(12 * 256);
      this.ivNext = 0;
    }
    const iv = this.ivPool.subarray(this.ivNext, (this.ivNext += 12));
    const cipher = crypto.createCipheriv('aes-256-gcm', this.dataKey, iv);
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return ['v1', iv, cipher.getAuthTag(), body].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
  }

  decryptBytes(sealed: string): Buffer {
    const [v, iv, tag, body] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognised ciphertext');
    const decipher = crypto.createDecipheriv('aes-256-gcm', this.dataKey, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]);
  }

  decrypt(sealed: string): string {
    return this.decryptBytes(sealed).toString('utf8');
  }

  /** Keyed hash for exact matching; hex. */
  hmac(value: string): string {
    return crypto.createHmac('sha256', this.hmacKey).update(value).digest('hex');
  }

  private fingerprint(): string {
    return crypto.createHash('sha256').update(this.hmac('hometown-link key check')).update(this.encryptCheck()).digest('hex');
  }

  private encryptCheck(): Buffer {
    return crypto.createHmac('sha256', this.dataKey).update('hometown-link key check').digest();
  }

  /**
   * Refuses to run with keys other than the ones this database was written with: a second instance started
   * with fresh keys would otherwise write records nobody can read back.
   */
  async bindTo(db: Db): Promise<void> {
    const fp = this.fingerprint();
    await db.insert(settings).values({ key: 'secrets_fingerprint', value: fp }).onConflictDoNothing();
    const [row] = await db.select().from(settings).where(eq(settings.key, 'secrets_fingerprint'));
    if (row?.value !== fp) {
      throw new Error(
        'The data keys do not match the ones this database was written with. Point DATA_KEY/HMAC_KEY or SECRETS_FILE at the original keys.',
      );
    }
  }
}
