import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const SQLSTATE = /^[0-9A-Z]{5}$/;
/** postgres.js's own failures (CONNECTION_CLOSED, CONNECT_TIMEOUT, ...): names, never values. */
const DRIVER_CODE = /^[A-Z][A-Z_]{5,40}$/;

/**
 * What of an error may be logged. A failed query's error (drizzle wraps it as "Failed query: ... params: ...") and
 * the database's own message and detail can carry the values of the statement, names and phone numbers included:
 * for those only the SQLSTATE and the names of the constraint, table and column are kept.
 */
export function safeError(err: unknown): Record<string, unknown> {
  const chain: unknown[] = [];
  for (let e: unknown = err; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  const db = chain.find((e) => typeof (e as { code?: unknown }).code === 'string' && SQLSTATE.test((e as { code: string }).code)) as
    | { code: string; constraint_name?: string; constraint?: string; table_name?: string; table?: string; column_name?: string; column?: string; routine?: string }
    | undefined;
  if (db || chain.some((e) => e && typeof e === 'object' && 'params' in e)) {
    const driver = chain.find((e) => typeof (e as { code?: unknown }).code === 'string' && DRIVER_CODE.test((e as { code: string }).code)) as
      | { code: string }
      | undefined;
    return {
      type: 'DatabaseError',
      sqlState: db?.code ?? null,
      driverCode: db ? null : (driver?.code ?? null),
      constraint: db?.constraint_name ?? db?.constraint ?? null,
      table: db?.table_name ?? db?.table ?? null,
      column: db?.column_name ?? db?.column ?? null,
      routine: db?.routine ?? null,
    };
  }
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  return { type: typeof err };
}

/** Structured JSON logs. Personal identifiers and credentials are redacted wherever they appear. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'hometown-link' },
    serializers: { err: safeError },
    redact: {
      paths: [
        'req.headers.authorization',
        '*.password',
        '*.idNumber',
        '*.phone',
        '*.token',
        '*.text',
        'password',
        'idNumber',
        'phone',
        'token',
      ],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
