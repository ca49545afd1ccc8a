import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SmsRequest {
  id: string;
  to: string;
  text: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
}

export type Behaviour = 'ok' | 'unavailable' | 'refuse' | 'hang';

/**
 * A local SMS gateway for tests: records every request, answers as `behaviour` says (200, 503, 400, or not at all
 * until released), and like a real gateway counts a message once per idempotency key.
 */
export async function startSmsStub() {
  const requests: SmsRequest[] = [];
  const hung: http.ServerResponse[] = [];
  let behaviour: (r: SmsRequest, n: number) => Behaviour = () => 'ok';
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; to: string; text: string };
      const r: SmsRequest = { ...body, authorization: req.headers.authorization, idempotencyKey: req.headers['idempotency-key'] as string | undefined };
      requests.push(r);
      const b = behaviour(r, requests.length);
      if (b === 'hang') return void hung.push(res);
      res.writeHead(b === 'ok' ? 200 : b === 'refuse' ? 400 : 503, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/sms`,
    requests,
    /** Messages the gateway would have delivered: one per idempotency key. */
    delivered: () => [...new Set(requests.map((r) => r.idempotencyKey))],
    answer(fn: (r: SmsRequest, n: number) => Behaviour) {
      behaviour = fn;
    },
    /** Answers the requests left hanging (with 500), as a gateway that finally replies. */
    release() {
      for (const res of hung.splice(0)) res.writeHead(500).end();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung.splice(0)) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
