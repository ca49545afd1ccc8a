import { configForProcess, isClusterPrimary, runPrimary } from './cluster';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startServer } from './server';

let config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.message}\n`);
    process.exit(78); // EX_CONFIG
  }
  throw e;
}

if (isClusterPrimary(config)) {
  process.exit(await runPrimary(config, createLogger(config.logLevel)));
}

const server = await startServer(configForProcess(config));
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.deps.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        server.deps.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
