import { pino, type DestinationStream, type Logger } from 'pino';
import { causeChain, codeOf, databaseError } from './db/errors';

export type { Logger };

/** postgres.js's own failures (CONNECTION_CLOSED, CONNECT_TIMEOUT, ...): names, never values. */
const DRIVER_CODE = /^[A-Z][A-Z_]{5,40}$/;

/**
 * What of an error may be logged. A failed query's error (drizzle wraps it as "Failed query: ... params: ...") and
 * the database's own message and detail can carry the values of the statement, names and phone numbers included:
 * for those only the SQLSTATE and the names of the constraint, table and column are kept.
 */
export function safeError(err: unknown): Record<string, unknown> {
  const chain = causeChain(err);
  const db = databaseError(err);
  if (db || chain.some((e) => e && typeof e === 'object' && 'params' in e)) {
    const driver = db ? undefined : chain.map(codeOf).find((c) => c !== undefined && DRIVER_CODE.test(c));
    return {
      type: 'DatabaseError',
      sqlState: db?.code ?? null,
      driverCode: driver ?? null,
      constraint: db?.constraint ?? null,
      table: db?.table ?? null,
      column: db?.column ?? null,
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
