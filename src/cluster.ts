// One server process per core (SERVER_PROCESSES > 1, PostgreSQL only): a Node server runs its JavaScript on one
// thread, which bounds a GraphQL page long before the machine's cores do. node:cluster lets the processes share
// the port; each is an ordinary instance (docs/operations.md: several instances on one PostgreSQL are supported).
import cluster, { type Worker } from 'node:cluster';
import { boot } from './bootstrap';
import type { Config } from './config';
import type { Logger } from './logger';

const SLOT_ENV = 'REGISTRY_PROCESS_SLOT';
/** A process that dies this soon after it started, this many times in a row, is not worth starting again. */
const EARLY_EXIT_MS = 10_000;
const EARLY_EXITS_TO_GIVE_UP = 3;
const RESTART_DELAY_MS = 1_000;
const SHUTDOWN_WAIT_MS = 20_000;

export function isClusterPrimary(config: Config): boolean {
  return config.serverProcesses > 1 && cluster.isPrimary;
}

/**
 * A server process's own configuration: the background jobs (outbox delivery, reminders) run in the first process
 * only. They would be safe in every one (claims are exclusive), but would only poll the database more often.
 */
export function configForProcess(config: Config, env: Record<string, string | undefined> = process.env): Config {
  const slot = Number(env[SLOT_ENV] ?? 1);
  if (slot === 1) return config;
  return { ...config, exchange: { ...config.exchange, deliveryEnabled: false }, reminders: { ...config.reminders, enabled: false } };
}

/**
 * The primary: prepares the database once (migrations, the secrets file, signing keys and the division list, which
 * processes starting together would otherwise race to create), then keeps SERVER_PROCESSES server processes
 * running, and stops them all on SIGTERM/SIGINT. Resolves with the exit code.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<number> {
  const { database } = await boot(config, { logger });
  await database.close();

  const workers = new Map<number, Worker>();
  let stopping = false;
  let failed = false;
  let earlyExits = 0;
  let done: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (done = resolve));

  const stopAll = () => {
    stopping = true;
    if (workers.size === 0) done(failed ? 1 : 0);
    for (const w of workers.values()) w.process.kill('SIGTERM');
    setTimeout(() => {
      logger.error({ processes: workers.size }, 'server processes did not stop in time');
      for (const w of workers.values()) w.process.kill('SIGKILL');
      done(1);
    }, SHUTDOWN_WAIT_MS).unref();
  };

  const start = (slot: number) => {
    const startedAt = Date.now();
    const worker = cluster.fork({ [SLOT_ENV]: String(slot) });
    workers.set(slot, worker);
    worker.once('exit', (code, signal) => {
      workers.delete(slot);
      if (stopping) {
        // A process still starting has no handler yet: SIGTERM ends it at once, with nothing in flight.
        if (code !== 0 && signal !== 'SIGTERM') failed = true;
        if (workers.size === 0) done(failed ? 1 : 0);
        return;
      }
      earlyExits = Date.now() - startedAt < EARLY_EXIT_MS ? earlyExits + 1 : 0;
      logger.error({ slot, pid: worker.process.pid, code, signal }, 'server process exited');
      if (earlyExits >= EARLY_EXITS_TO_GIVE_UP) {
        logger.error({ earlyExits }, 'server processes keep failing at start; stopping');
        failed = true;
        stopAll();
        return;
      }
      setTimeout(() => stopping || start(slot), RESTART_DELAY_MS);
    });
  };

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'stopping server processes');
      stopAll();
    });
  }
  for (let slot = 1; slot <= config.serverProcesses; slot++) start(slot);
  logger.info({ processes: config.serverProcesses }, 'server processes started');
  return finished;
}
