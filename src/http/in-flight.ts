import type { RequestHandler } from 'express';

/**
 * Request handlers still running, so shutdown can wait for them before closing the database. Draining the HTTP
 * server is not enough: a client that went away has closed its connection, but the GraphQL execution it started
 * goes on and would fail on a closed pool (CONNECTION_ENDED, logged as an internal error).
 */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  /** The handler, with its work counted as in flight until it has finished (answered or failed). */
  track(handler: RequestHandler): RequestHandler {
    return (req, res, next) => {
      const work = Promise.resolve(handler(req, res, next));
      this.running.add(work);
      const done = () => this.running.delete(work);
      work.then(done, done);
      return work;
    };
  }

  /** Resolves once nothing is in flight, or after `timeoutMs`; returns how many handlers were still running. */
  async settled(timeoutMs: number): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const drained = (async () => {
      // work may start while earlier work finishes (until the HTTP server has stopped accepting)
      while (this.running.size > 0) await Promise.allSettled([...this.running]);
    })();
    await Promise.race([drained, timeout]);
    clearTimeout(timer);
    return this.running.size;
  }
}
