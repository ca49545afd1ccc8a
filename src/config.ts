import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const divisionCode = /^\d{6}$/;

const boolish = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  PUBLIC_URL: z.url().optional(),
  DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(2).max(200).default(10),
  SERVER_PROCESSES: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(64)]).default(1),
  COUNTY_CODE: z.string().regex(divisionCode, 'must be a 6-digit GB/T 2260 county code').default('320324'),
  DIVISIONS_FILE: z.string().optional(),
  SECRETS_FILE: z.string().optional(),
  DATA_KEY: z.base64().optional(),
  HMAC_KEY: z.base64().optional(),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(900),
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  LOGIN_LOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: z
    .string()
    .refine(
      (v) => /^(false|\d{1,2})$/.test(v) || v.split(',').every((a) => /^[0-9a-fA-F:.]+(\/\d{1,3})?$/.test(a.trim())),
      'false, a number of proxy hops, or a comma-separated list of proxy addresses/CIDRs (true would trust any client-sent X-Forwarded-For)',
    )
    .default('false'),
  GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  GRAPHQL_MAX_FIELDS: z.coerce.number().int().min(10).max(100_000).default(500),
  GRAPHQL_JIT: boolish.default(true),
  TIME_ZONE: z
    .string()
    .refine((tz) => Intl.supportedValuesOf('timeZone').includes(tz) || tz === 'UTC', 'unknown IANA time zone')
    .default('Asia/Shanghai'),
  REPORT_GRACE_DAYS: z.coerce.number().int().min(0).max(90).default(15),
  FIGURES_STATEMENTS: z.coerce.number().int().min(1).max(16).default(2),
  DUE_SOON_DAYS: z.coerce.number().int().min(1).max(90).default(14),
  RETENTION_DAYS_AFTER_WITHDRAWAL: z.coerce.number().int().min(0).max(3650).default(30),
  RETENTION_DAYS_AFTER_RETURN: z.coerce.number().int().min(0).max(36500).default(1095),
  EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  EXCHANGE_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
  EXCHANGE_JWKS_MAX_BYTES: z.coerce.number().int().min(1_024).max(1_048_576).default(65_536),
  EXCHANGE_MAX_BODY_BYTES: z.coerce.number().int().min(65_536).max(67_108_864).default(8_388_608),
  EXCHANGE_ALLOW_HTTP: boolish.default(false),
  EXCHANGE_ALLOW_PRIVATE_ADDRESSES: boolish.default(false),
  EXCHANGE_DELIVERY_ENABLED: boolish.default(true),
  EXCHANGE_DELIVERY_INTERVAL_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
  EXCHANGE_DELIVERY_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(500),
  EXCHANGE_DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(2),
  EXCHANGE_PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(30_000),
  EXCHANGE_RETRY_BASE_MS: z.coerce.number().int().min(10).max(86_400_000).default(30_000),
  EXCHANGE_RETRY_MAX_MS: z.coerce.number().int().min(10).max(604_800_000).default(21_600_000),
  RATING_LINK_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(30),
  RATING_LINK_BASE_URL: z.url().optional(),
  RATING_MIN_GROUP_SIZE: z.coerce.number().int().min(1).max(100).default(5),
  WARNING_OVERDUE_RATE_PERCENT: z.coerce.number().min(0).max(100).default(20),
  WARNING_BROKEN_COMMITMENTS: z.coerce.number().int().min(1).max(1000).default(1),
  WARNING_UNANSWERED_INQUIRIES: z.coerce.number().int().min(1).max(1000).default(1),
  PDF_FONT_FILE: z.string().optional(),
  REMINDERS_ENABLED: boolish.optional(),
  REMINDER_DAILY_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 24-hour, county time')
    .default('08:30'),
  REMINDER_POLL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  REMINDER_DAYS_BEFORE_DUE: z.coerce.number().int().min(1).max(60).default(7),
  REMINDER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  REMINDER_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  REMINDER_LEASE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  NOTIFIER: z.enum(['log', 'sms']).default('log'),
  SMS_GATEWAY_URL: z.url().optional(),
  SMS_GATEWAY_TOKEN: z.string().min(1).optional(),
  SMS_GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(10_000),
});

export type Env = z.input<typeof EnvSchema>;

export interface Config {
  env: 'development' | 'production' | 'test';
  isProduction: boolean;
  host: string;
  port: number;
  publicUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  /** Server processes sharing the port (node:cluster; src/cluster.ts); more than one only on PostgreSQL. */
  serverProcesses: number;
  countyCode: string;
  divisionsFile: string | undefined;
  secretsFile: string;
  dataKey: string | undefined;
  hmacKey: string | undefined;
  accessTokenTtlSeconds: number;
  loginMaxFailures: number;
  loginLockSeconds: number;
  logLevel: string;
  /** Express 'trust proxy': false, a hop count, or the proxies' addresses (never a blanket true). */
  trustProxy: false | number | string[];
  graphqlMaxDepth: number;
  /** Most fields one operation may ask for, fragments expanded and aliases counted apart. */
  graphqlMaxFields: number;
  /** Execute hot query operations with graphql-jit (src/graphql/jit.ts). */
  graphqlJit: boolean;
  timeZone: string;
  /** Days after a period's end before its report counts as overdue. */
  reportGraceDays: number;
  /** Statements a dashboard's village figures are split into, run at once on PostgreSQL (villageChunks). */
  figuresStatements: number;
  dueSoonDays: number;
  retentionDaysAfterWithdrawal: number;
  retentionDaysAfterReturn: number;
  /** How long a rating link stays valid. */
  ratingLinkTtlDays: number;
  /** Where a rating link points (the page that calls submitRating); the token is appended as `?token=`. */
  ratingLinkBaseUrl: string;
  /** Averages and counts of ratings are shown only for groups at least this large. */
  ratingMinGroupSize: number;
  /** A village is listed in the quarterly warning when any of these is reached. */
  warningThresholds: { overdueRatePercent: number; brokenCommitments: number; unansweredInquiries: number };
  /** A TTF/OTF/WOFF font with Chinese glyphs for PDF exports; the bundled UnifontEX when unset. */
  pdfFontFile: string | undefined;
  reminders: {
    /** The in-server scheduler; off in tests unless a test turns it on. */
    enabled: boolean;
    dailyAt: string;
    pollSeconds: number;
    daysBeforeDue: number;
    maxAttempts: number;
    retryBaseSeconds: number;
    /** A claimed message not finished within this time is taken to have been lost with its sender and is retried. */
    leaseSeconds: number;
  };
  notifier: 'log' | 'sms';
  smsGatewayUrl: string | undefined;
  smsGatewayToken: string | undefined;
  smsGatewayTimeoutMs: number;
  exchange: ExchangeConfig;
}

/** Inter-county exchange (docs/exchange-protocol.md); every value has an EXCHANGE_* variable. */
export interface ExchangeConfig {
  /** At most one automatic JWKS refresh per partner in this window (an unknown kid triggers one). */
  jwksRefreshCooldownSeconds: number;
  /** Timeout of a JWKS fetch. */
  fetchTimeoutMs: number;
  jwksMaxBytes: number;
  /** Largest request body /exchange/v1 accepts. */
  maxBodyBytes: number;
  /** Partner URLs may be plain http:// (tests, benchmarks, a closed network); otherwise https only. */
  allowHttp: boolean;
  /**
   * Partner URLs may name or resolve to loopback, private or link-local addresses (tests, benchmarks, partners on
   * a private network); otherwise only public addresses are reached.
   */
  allowPrivateAddresses: boolean;
  deliveryEnabled: boolean;
  deliveryIntervalMs: number;
  deliveryBatchSize: number;
  /** Delivery runs one worker keeps in flight at once (the next batch is claimed and sent while one is answered). */
  deliveryConcurrency: number;
  pushTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export class ConfigError extends Error {
  constructor(public readonly issues: string[]) {
    super(`Invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "unset", so `FOO= npm start` falls back to the default.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  const e = parsed.data;
  if ((e.DATA_KEY === undefined) !== (e.HMAC_KEY === undefined)) {
    throw new ConfigError(['DATA_KEY and HMAC_KEY must be given together (or neither, to use SECRETS_FILE)']);
  }
  for (const [name, value] of [['DATA_KEY', e.DATA_KEY], ['HMAC_KEY', e.HMAC_KEY]] as const) {
    if (value !== undefined && Buffer.from(value, 'base64').length !== 32) {
      throw new ConfigError([`${name}: must be 32 bytes, base64-encoded`]);
    }
  }
  if (e.NOTIFIER === 'sms' && (!e.SMS_GATEWAY_URL || !e.SMS_GATEWAY_TOKEN)) {
    throw new ConfigError(['NOTIFIER=sms needs SMS_GATEWAY_URL and SMS_GATEWAY_TOKEN']);
  }
  // A sender renews its lease just before each message: if the gateway may take longer than the lease, another
  // sender takes the row over while the first is still waiting, and the message goes out twice.
  if (e.NOTIFIER === 'sms' && e.REMINDER_LEASE_SECONDS * 1000 < 2 * e.SMS_GATEWAY_TIMEOUT_MS) {
    throw new ConfigError([
      `REMINDER_LEASE_SECONDS (${e.REMINDER_LEASE_SECONDS}) must be at least twice SMS_GATEWAY_TIMEOUT_MS (${e.SMS_GATEWAY_TIMEOUT_MS} ms), or a slow gateway call outlives its claim and the message is sent twice`,
    ]);
  }
  const serverProcesses = e.SERVER_PROCESSES === 'auto' ? (e.DATABASE_URL ? os.availableParallelism() : 1) : e.SERVER_PROCESSES;
  // PGlite is an in-process database: one process opens its folder.
  if (serverProcesses > 1 && !e.DATABASE_URL) {
    throw new ConfigError(['SERVER_PROCESSES: more than one server process needs DATABASE_URL (the embedded PGlite database is single-process)']);
  }
  const dataDir = path.resolve(e.DATA_DIR);
  return {
    env: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    dataDir,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    serverProcesses,
    countyCode: e.COUNTY_CODE,
    divisionsFile: e.DIVISIONS_FILE,
    secretsFile: e.SECRETS_FILE ?? path.join(dataDir, 'secrets.json'),
    dataKey: e.DATA_KEY,
    hmacKey: e.HMAC_KEY,
    accessTokenTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
    loginMaxFailures: e.LOGIN_MAX_FAILURES,
    loginLockSeconds: e.LOGIN_LOCK_SECONDS,
    logLevel: e.LOG_LEVEL,
    trustProxy: e.TRUST_PROXY === 'false' ? false : /^\d+$/.test(e.TRUST_PROXY) ? Number(e.TRUST_PROXY) : e.TRUST_PROXY.split(',').map((a) => a.trim()),
    graphqlMaxDepth: e.GRAPHQL_MAX_DEPTH,
    graphqlMaxFields: e.GRAPHQL_MAX_FIELDS,
    graphqlJit: e.GRAPHQL_JIT,
    timeZone: e.TIME_ZONE,
    reportGraceDays: e.REPORT_GRACE_DAYS,
    figuresStatements: e.FIGURES_STATEMENTS,
    dueSoonDays: e.DUE_SOON_DAYS,
    retentionDaysAfterWithdrawal: e.RETENTION_DAYS_AFTER_WITHDRAWAL,
    retentionDaysAfterReturn: e.RETENTION_DAYS_AFTER_RETURN,
    exchange: {
      jwksRefreshCooldownSeconds: e.EXCHANGE_JWKS_REFRESH_COOLDOWN_SECONDS,
      fetchTimeoutMs: e.EXCHANGE_FETCH_TIMEOUT_MS,
      jwksMaxBytes: e.EXCHANGE_JWKS_MAX_BYTES,
      maxBodyBytes: e.EXCHANGE_MAX_BODY_BYTES,
      allowHttp: e.EXCHANGE_ALLOW_HTTP,
      allowPrivateAddresses: e.EXCHANGE_ALLOW_PRIVATE_ADDRESSES,
      deliveryEnabled: e.EXCHANGE_DELIVERY_ENABLED,
      deliveryIntervalMs: e.EXCHANGE_DELIVERY_INTERVAL_MS,
      deliveryBatchSize: e.EXCHANGE_DELIVERY_BATCH_SIZE,
      deliveryConcurrency: e.EXCHANGE_DELIVERY_CONCURRENCY,
      pushTimeoutMs: e.EXCHANGE_PUSH_TIMEOUT_MS,
      retryBaseMs: e.EXCHANGE_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.EXCHANGE_RETRY_MAX_MS, e.EXCHANGE_RETRY_BASE_MS),
    },
    ratingLinkTtlDays: e.RATING_LINK_TTL_DAYS,
    ratingLinkBaseUrl: e.RATING_LINK_BASE_URL ?? `${(e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '')}/rate`,
    ratingMinGroupSize: e.RATING_MIN_GROUP_SIZE,
    warningThresholds: {
      overdueRatePercent: e.WARNING_OVERDUE_RATE_PERCENT,
      brokenCommitments: e.WARNING_BROKEN_COMMITMENTS,
      unansweredInquiries: e.WARNING_UNANSWERED_INQUIRIES,
    },
    pdfFontFile: e.PDF_FONT_FILE,
    reminders: {
      enabled: e.REMINDERS_ENABLED ?? e.NODE_ENV !== 'test',
      dailyAt: e.REMINDER_DAILY_AT,
      pollSeconds: e.REMINDER_POLL_SECONDS,
      daysBeforeDue: e.REMINDER_DAYS_BEFORE_DUE,
      maxAttempts: e.REMINDER_MAX_ATTEMPTS,
      retryBaseSeconds: e.REMINDER_RETRY_BASE_SECONDS,
      leaseSeconds: e.REMINDER_LEASE_SECONDS,
    },
    notifier: e.NOTIFIER,
    smsGatewayUrl: e.SMS_GATEWAY_URL,
    smsGatewayToken: e.SMS_GATEWAY_TOKEN,
    smsGatewayTimeoutMs: e.SMS_GATEWAY_TIMEOUT_MS,
  };
}
