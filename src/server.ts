import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { boot, type BootOptions } from './bootstrap';
import type { Config } from './config';
import type { Database } from './db/client';
import type { Deps } from './deps';
import { DeliveryWorker } from './exchange/delivery';
import { exchangeRouter } from './exchange/router';
import { createHttpApp } from './http/app';
import { createApollo, graphqlMiddleware } from './http/graphql';
import { InFlight } from './http/in-flight';
import { jwksRouter } from './keys/jwks';
import { createNotifier } from './reminders/notifier';
import { startReminderScheduler } from './reminders/scheduler';
import { exportsRouter } from './supervision/http';

/** How long shutdown waits for GraphQL executions still running (some for clients already gone). */
const GRAPHQL_SHUTDOWN_WAIT_MS = 10_000;

export interface RunningServer {
  url: string;
  port: number;
  deps: Deps;
  database: Database;
  /** Pushes the outbox to partners; started here unless EXCHANGE_DELIVERY_ENABLED=false (tests call runOnce). */
  delivery: DeliveryWorker;
  /**
   * Stops the workers and taking requests, lets work in flight finish (GraphQL executions too, whose client may
   * have gone: at most GRAPHQL_SHUTDOWN_WAIT_MS), then closes the database.
   */
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: BootOptions = {}): Promise<RunningServer> {
  const { deps, database } = await boot(config, opts);
  const httpServer = http.createServer();
  const apollo = createApollo(deps, httpServer);
  await apollo.start();
  const inFlight = new InFlight();
  const app = createHttpApp(deps, { graphql: inFlight.track(graphqlMiddleware(deps, apollo)), extra: [jwksRouter(deps), exchangeRouter(deps), exportsRouter(deps)] });
  httpServer.on('request', app);
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  deps.logger.info({ url, publicUrl: config.publicUrl }, 'hometown-link registry listening');
  const delivery = new DeliveryWorker(deps);
  if (config.exchange.deliveryEnabled) delivery.start();
  const scheduler = config.reminders.enabled ? startReminderScheduler(deps, createNotifier(config, deps.logger)) : undefined;
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    deps,
    database,
    delivery,
    close: () =>
      (closing ??= (async () => {
        // counted from now, so the whole shutdown stays within main.ts's 15 s
        const settled = inFlight.settled(GRAPHQL_SHUTDOWN_WAIT_MS);
        await delivery.stop();
        await scheduler?.stop();
        await apollo.stop(); // drains the HTTP server too
        const left = await settled;
        if (left > 0) deps.logger.warn({ requests: left }, 'GraphQL requests still running at shutdown; closing the database under them');
        if (!opts.database) await database.close();
      })()),
  };
}
