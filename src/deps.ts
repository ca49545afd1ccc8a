import type { Config } from './config';
import type { Db } from './db/client';
import type { Logger } from './logger';
import type { KeyStore } from './keys/keystore';
import type { Secrets } from './secrets';
import type { TokenService } from './auth/tokens';

/** The long-lived things every service may need; built once in server.ts. */
export interface Deps {
  config: Config;
  db: Db;
  secrets: Secrets;
  keys: KeyStore;
  tokens: TokenService;
  logger: Logger;
}
