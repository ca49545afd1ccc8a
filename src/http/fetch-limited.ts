/** A server-side request to a partner that went wrong: unreachable, too slow, redirected, too large or not 2xx. */
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

/**
 * fetch() for URLs partners gave us: a hard timeout over the whole exchange, no redirects (a partner URL must not
 * bounce us elsewhere), and at most `maxBytes` of body read. Non-2xx answers still return their (bounded) body.
 */
export async function fetchLimited(
  url: string,
  init: RequestInit,
  opts: { timeoutMs: number; maxBytes: number; /** Aborts the request early (e.g. on shutdown). */ signal?: AbortSignal },
): Promise<LimitedResponse> {
  const signal = opts.signal ? AbortSignal.any([AbortSignal.timeout(opts.timeoutMs), opts.signal]) : AbortSignal.timeout(opts.timeoutMs);
  const stopped = () => (opts.signal?.aborted ? 'aborted' : `timed out after ${opts.timeoutMs} ms`);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal, redirect: 'manual' });
  } catch (e) {
    throw new OutboundHttpError(signal.aborted ? stopped() : `unreachable: ${causeOf(e)}`);
  }
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new OutboundHttpError(`redirect (${res.status}) refused`, res.status);
  }
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > opts.maxBytes) {
    await res.body?.cancel();
    throw new OutboundHttpError(`response larger than ${opts.maxBytes} bytes`, res.status);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = res.body?.getReader();
    for (;;) {
      const next = await reader?.read();
      if (!next || next.done) break;
      size += next.value.byteLength;
      if (size > opts.maxBytes) {
        await reader!.cancel();
        throw new OutboundHttpError(`response larger than ${opts.maxBytes} bytes`, res.status);
      }
      chunks.push(next.value);
    }
  } catch (e) {
    if (e instanceof OutboundHttpError) throw e;
    throw new OutboundHttpError(signal.aborted ? stopped() : `read failed: ${causeOf(e)}`, res.status);
  }
  return { status: res.status, contentType: res.headers.get('content-type'), text: Buffer.concat(chunks).toString('utf8') };
}

function causeOf(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
}
