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
import { jwksRouter } from './keys/jwks';
import { createNotifier } from './reminders/notifier';
import { startReminderScheduler } from './reminders/scheduler';
import { exportsRouter } from './supervision/http';

export interface RunningServer {
  url: string;
  port: number;
  deps: Deps;
  database: Database;
  /** Pushes the outbox to partners; started here unless EXCHANGE_DELIVERY_ENABLED=false (tests call runOnce). */
  delivery: DeliveryWorker;
  /** Stops the reminder scheduler and taking requests, lets work in flight finish, then closes the database. */
  close(): Promise<void>;
}

export async function startServer(config: Config, opts: BootOptions = {}): Promise<RunningServer> {
  const { deps, database } = await boot(config, opts);
  const httpServer = http.createServer();
  const apollo = createApollo(deps, httpServer);
  await apollo.start();
  const app = createHttpApp(deps, { graphql: graphqlMiddleware(deps, apollo), extra: [jwksRouter(deps), exchangeRouter(deps), exportsRouter(deps)] });
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
        await delivery.stop();
        await scheduler?.stop();
        await apollo.stop(); // drains the HTTP server too
        if (!opts.database) await database.close();
      })()),
  };
}
