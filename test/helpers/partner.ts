import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { startTestServer } from './server';

/** A real key pair of a partner county, with full control over what gets signed (headers included). */
export interface PartnerKeyPair {
  alg: 'ES256' | 'EdDSA';
  kid: string;
  jwk: JWK;
  sign(input: Buffer): Buffer;
}

export async function partnerKey(alg: 'ES256' | 'EdDSA'): Promise<PartnerKeyPair> {
  const pair = alg === 'ES256' ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }) : crypto.generateKeyPairSync('ed25519');
  const pub = pair.publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  return {
    alg,
    kid,
    jwk: { ...pub, kid, alg, use: 'sig' },
    sign: (input) =>
      alg === 'ES256' ? crypto.sign('sha256', input, { key: pair.privateKey, dsaEncoding: 'ieee-p1363' }) : crypto.sign(null, input, pair.privateKey),
  };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** header.payload.signature, signed by `sign` over the first two parts (or not at all). */
export function compact(header: Record<string, unknown>, payload: unknown, sign?: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign ? sign(Buffer.from(input)).toString('base64url') : ''}`;
}

export interface TokenOptions {
  key?: PartnerKeyPair;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Header members or claims to leave out. */
  drop?: string[];
}

export interface RecordOptions {
  key?: PartnerKeyPair;
  header?: Record<string, unknown>;
  id?: string;
  type: string;
  body: unknown;
  subject?: { idNumber: string; name: string };
  ref?: string;
  /** Fields of the envelope to replace (iss, aud, v...). */
  envelope?: Record<string, unknown>;
}

/**
 * A partner county as seen from our server: its keys, a JWKS endpoint on 127.0.0.1 that counts its fetches, and
 * helpers to sign transport tokens and records exactly as (or deliberately unlike) the protocol says.
 */
/** How a fake partner answers a push to its /exchange/v1/records: a status and a raw body, when it likes. */
export type PushHandler = (records: string[]) => Promise<{ status: number; body: string }> | { status: number; body: string };

export class FakePartner {
  fetches = 0;
  /** Answers pushes to /exchange/v1/records (a stub of the partner's inbox); without it, every path serves the JWKS. */
  onPush: PushHandler | undefined;
  /** The records of every push received, in order. */
  pushes: string[][] = [];
  /** Pushes whose connection the sender closed before the answer. */
  abortedPushes = 0;
  /** What the JWKS endpoint serves; tests change it to rotate keys. */
  published: PartnerKeyPair[];
  /** Raw answer instead of the JWKS (to test limits), or 'hang' to never answer. */
  override: { status?: number; body?: string; headers?: Record<string, string>; hang?: boolean } | undefined;
  private server!: http.Server;
  jwksUrl = '';

  private constructor(
    readonly countyCode: string,
    readonly receiver: string,
    readonly es: PartnerKeyPair,
    readonly ed: PartnerKeyPair,
  ) {
    this.published = [es, ed];
  }

  static async start(countyCode: string, receiver: string): Promise<FakePartner> {
    const p = new FakePartner(countyCode, receiver, await partnerKey('ES256'), await partnerKey('EdDSA'));
    p.server = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/exchange/v1/records' && p.onPush) return void p.answerPush(req, res, p.onPush);
      p.fetches += 1;
      const o = p.override;
      if (o?.hang) return;
      res.writeHead(o?.status ?? 200, { 'content-type': 'application/json', ...(o?.headers ?? {}) });
      res.end(o?.body ?? JSON.stringify(p.jwks()));
    });
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', resolve));
    p.jwksUrl = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}/.well-known/jwks.json`;
    return p;
  }

  private async answerPush(req: http.IncomingMessage, res: http.ServerResponse, handler: PushHandler): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const records = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { records: string[] }).records;
    this.pushes.push(records);
    res.on('close', () => {
      if (!res.writableFinished) this.abortedPushes += 1;
    });
    const answer = await handler(records);
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body);
  }

  get baseUrl(): string {
    return this.jwksUrl.replace('/.well-known/jwks.json', '');
  }

  jwks(): { keys: JWK[] } {
    return { keys: this.published.map((k) => k.jwk) };
  }

  /** A transport token, by default signed with the first key the partner publishes. */
  token(opts: TokenOptions = {}): string {
    const key = opts.key ?? this.published[0] ?? this.es;
    const now = Math.floor(Date.now() / 1000);
    const header: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'hl-req+jwt', ...opts.header };
    const claims: Record<string, unknown> = { iss: this.countyCode, sub: this.countyCode, aud: this.receiver, iat: now, exp: now + 60, jti: crypto.randomUUID(), ...opts.claims };
    for (const d of opts.drop ?? []) {
      delete header[d];
      delete claims[d];
    }
    return compact(header, claims, key.sign);
  }

  record(opts: RecordOptions): string {
    const key = opts.key ?? this.es;
    const header = { alg: key.alg, kid: key.kid, typ: 'hl-record+jws', ...opts.header };
    const payload = {
      v: 1,
      id: opts.id ?? crypto.randomUUID(),
      iss: this.countyCode,
      aud: this.receiver,
      type: opts.type,
      iat: Math.floor(Date.now() / 1000),
      subject: opts.subject ?? { idNumber: '11010519491231002X', name: '张三' },
      ...(opts.ref ? { ref: opts.ref } : {}),
      body: opts.body,
      ...opts.envelope,
    };
    return compact(header, payload, key.sign);
  }

  /** POSTs a batch to a county's `/exchange/v1/records` with a fresh transport token (`body` as is when a string). */
  async pushTo(url: string, records: unknown[], body: unknown = { records }): Promise<{ status: number; body: any }> {
    const res = await fetch(`${url}/exchange/v1/records`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token()}`, 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export const REGISTER = `mutation($input: RegisterPartnerInput!) {
  registerPartner(input: $input) { countyCode name status inForce inboundTypes outboundTypes lookupAllowed allowedActions baseUrl jwksUrl
    keys { kid alg published source } history { action fromStatus toStatus actorType actorRole } } }`;

/** Agreement terms for a partner; every exchanged type both ways unless told otherwise. */
export function agreement(p: { countyCode: string; jwksUrl: string; baseUrl: string }, overrides: Record<string, unknown> = {}) {
  const all = ['DEPARTURE', 'ARRIVAL', 'STATUS_REPORT', 'CONTACT_UPDATE', 'RETURN_HOME', 'SERVICE_DELIVERED', 'INQUIRY', 'INQUIRY_REPLY'];
  return {
    countyCode: p.countyCode,
    name: `County ${p.countyCode}`,
    baseUrl: p.baseUrl,
    jwksUrl: p.jwksUrl,
    validFrom: '2020-01-01',
    validTo: '2099-12-31',
    inboundTypes: all,
    outboundTypes: all,
    ...overrides,
  };
}

/** A county under test with one active partner county (吴中区, 320506) registered by one of its administrators. */
export async function countyWithPartner(env: Record<string, string> = {}) {
  const t = await startTestServer(env);
  const admin = (await t.user({ role: 'COUNTY_ADMIN' })).token;
  const partner = await FakePartner.start('320506', t.config.countyCode);
  const r = await t.gql(REGISTER, { input: agreement(partner) }, admin);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return {
    t,
    admin,
    partner,
    close: async () => {
      await partner.close();
      await t.close();
    },
  };
}
