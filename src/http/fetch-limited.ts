import http from 'node:http';
import https from 'node:https';
import { literalAddressProblem, NON_PUBLIC_ADDRESS, publicOnlyLookup } from './addresses';

/** A server-side request to a partner that went wrong: refused URL, unreachable, too slow, redirected, too large. */
export class OutboundHttpError extends Error {
  constructor(
    message: string,
    public readonly status?: number,
  ) {
    super(message);
    this.name = 'OutboundHttpError';
  }
}

export interface LimitedResponse {
  status: number;
  contentType: string | null;
  text: string;
}

export interface FetchLimits {
  timeoutMs: number;
  maxBytes: number;
  /** Plain http:// allowed (EXCHANGE_ALLOW_HTTP); otherwise only https://. */
  allowHttp: boolean;
  /** Loopback, private and link-local addresses allowed (EXCHANGE_ALLOW_PRIVATE_ADDRESSES). */
  allowPrivateAddresses: boolean;
  /** Aborts the request early (e.g. on shutdown). */
  signal?: AbortSignal;
}

/**
 * A request to a URL partners gave us (node:http, so the address check sees what the socket connects to): https
 * only and public addresses only unless the configuration allows otherwise, a hard timeout over the whole exchange,
 * no redirects (a partner URL must not bounce us elsewhere), and at most `maxBytes` of body read. Non-2xx answers
 * still return their (bounded) body.
 */
export async function fetchLimited(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string },
  limits: FetchLimits,
): Promise<LimitedResponse> {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new OutboundHttpError('not a URL');
  }
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && limits.allowHttp)) {
    throw new OutboundHttpError(`refused: ${target.protocol} URL (only https${limits.allowHttp ? ' and http' : ''})`);
  }
  const problem = limits.allowPrivateAddresses ? null : literalAddressProblem(target);
  if (problem) throw new OutboundHttpError(`refused: ${problem}`);

  const timeout = AbortSignal.timeout(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([timeout, limits.signal]) : timeout;
  const failure = (e: unknown, status?: number): OutboundHttpError => {
    if (e instanceof OutboundHttpError) return e;
    if (signal.aborted) return new OutboundHttpError(limits.signal?.aborted ? 'aborted' : `timed out after ${limits.timeoutMs} ms`, status);
    const err = e as NodeJS.ErrnoException;
    if (err.code === NON_PUBLIC_ADDRESS) return new OutboundHttpError(`refused: ${err.message}`, status);
    return new OutboundHttpError(`${status === undefined ? 'unreachable' : 'read failed'}: ${err.code ?? err.message}`, status);
  };

  return new Promise<LimitedResponse>((resolve, reject) => {
    const body = init.body === undefined ? undefined : Buffer.from(init.body, 'utf8');
    const req = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: init.method ?? 'GET',
        headers: { ...init.headers, ...(body ? { 'content-length': String(body.length) } : {}) },
        signal,
        ...(limits.allowPrivateAddresses ? {} : { lookup: publicOnlyLookup }),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const fail = (e: unknown) => {
          res.destroy();
          reject(failure(e, status));
        };
        if (status >= 300 && status < 400) return fail(new OutboundHttpError(`redirect (${status}) refused`, status));
        if (Number(res.headers['content-length'] ?? NaN) > limits.maxBytes) return fail(new OutboundHttpError(`response larger than ${limits.maxBytes} bytes`, status));
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limits.maxBytes) return fail(new OutboundHttpError(`response larger than ${limits.maxBytes} bytes`, status));
          chunks.push(chunk);
        });
        res.on('error', (e) => reject(failure(e, status)));
        res.on('end', () => {
          if (size <= limits.maxBytes) resolve({ status, contentType: res.headers['content-type'] ?? null, text: Buffer.concat(chunks).toString('utf8') });
        });
        // Closed before the end (aborted, connection lost): settles the promise if nothing else did.
        res.on('close', () => {
          if (!res.complete) reject(failure(new Error('connection closed before the end of the answer'), status));
        });
      },
    );
    req.on('error', (e) => reject(failure(e)));
    req.end(body);
  });
}
