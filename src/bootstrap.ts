import path from 'node:path';
import { TokenService } from './auth/tokens';
import type { Config } from './config';
import { openDatabase, type Database } from './db/client';
import type { Deps } from './deps';
import { builtInSeedFile, divisionCount, loadDivisions, parseDivisionFile } from './jurisdiction/divisions';
import { KeyStore } from './keys/keystore';
import { registerModuleHooks } from './hooks';
import { createLogger, type Logger } from './logger';
import { systemCaller } from './policy/actor';
import { Secrets } from './secrets';

export interface BootOptions {
  logger?: Logger;
  /** An already-open database (tests); otherwise opened from the config. */
  database?: Database;
  secrets?: Secrets;
}

export interface Booted {
  deps: Deps;
  database: Database;
}

/**
 * Everything but HTTP: plug the registry into the exchange, open the database, migrate, load the data keys, make
 * sure this county has signing keys and a division list. The server and the admin command both start here.
 */
export async function boot(config: Config, opts: BootOptions = {}): Promise<Booted> {
  registerModuleHooks();
  const logger = opts.logger ?? createLogger(config.logLevel);
  const database =
    opts.database ??
    (await openDatabase({
      databaseUrl: config.databaseUrl,
      pgliteDataDir: path.join(config.dataDir, 'pglite'),
      poolMax: config.databasePoolMax,
    }));
  try {
    await database.migrate();
    const secrets = opts.secrets ?? Secrets.load(config);
    await secrets.bindTo(database.db);
    const keys = new KeyStore(database.db, secrets);
    await keys.ensure('SESSION');
    await keys.ensure('EXCHANGE');
    const tokens = new TokenService(keys, config.countyCode, config.accessTokenTtlSeconds);
    const deps: Deps = { config, db: database.db, secrets, keys, tokens, logger };
    if ((await divisionCount(database.db)) === 0) {
      const file = config.divisionsFile ?? builtInSeedFile(config.countyCode);
      const entries = file ? parseDivisionFile(file) : [];
      const n = await loadDivisions(database.db, systemCaller('bootstrap'), config.countyCode, entries);
      logger.info({ file: file ?? null, divisions: n }, 'division list loaded');
    }
    logger.info({ engine: database.engine, county: config.countyCode }, 'database ready');
    return { deps, database };
  } catch (err) {
    if (!opts.database) await database.close();
    throw err;
  }
}
