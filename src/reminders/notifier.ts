import type { Config } from '../config';
import type { Logger } from '../logger';

export interface OutgoingMessage {
  /** The outbox row id: also the idempotency key a gateway can use to drop a resent duplicate. */
  id: string;
  kind: string;
  /** Mobile number, for channels that need one. */
  to: string | null;
  body: string;
}

/** Thrown by a notifier; `permanent` failures are not retried (a bad number, a refused request). */
export class NotifierError extends Error {
  constructor(
    message: string,
    public readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'NotifierError';
  }
}

/** How reminders reach people away from home. */
export interface Notifier {
  readonly channel: 'LOG' | 'SMS';
  send(message: OutgoingMessage): Promise<void>;
}

/** A text with the tokens of its links cut out: for logs, which more people read than the person a link is for. */
export function withoutLinkTokens(text: string): string {
  return text.replace(/([?&]token=)[\w.-]+/g, '$1[redacted]');
}

/**
 * The default: the outbox row is the message (visible to administrators), and a log line records the send. The log
 * line carries no usable link (a rating link in it would let whoever reads the logs rate in the person's name).
 */
export class LogNotifier implements Notifier {
  readonly channel = 'LOG' as const;
  constructor(private readonly logger: Logger) {}

  async send(message: OutgoingMessage): Promise<void> {
    this.logger.info({ notificationId: message.id, kind: message.kind, text: withoutLinkTokens(message.body) }, 'reminder');
  }
}

/**
 * An HTTP SMS gateway: `POST <url>` with `Authorization: Bearer <token>`, `Idempotency-Key: <id>` and a JSON body
 * `{ id, to, text }`. 2xx is sent; 4xx other than 408 and 429 is permanent; anything else is retried.
 */
export class SmsGatewayNotifier implements Notifier {
  readonly channel = 'SMS' as const;
  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly timeoutMs: number,
  ) {}

  async send(message: OutgoingMessage): Promise<void> {
    if (!message.to) throw new NotifierError('the person has no mobile number', true);
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}`, 'idempotency-key': message.id },
        body: JSON.stringify({ id: message.id, to: message.to, text: message.body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new NotifierError(`gateway unreachable: ${e instanceof Error ? e.message : String(e)}`, false);
    }
    await res.body?.cancel();
    if (res.ok) return;
    throw new NotifierError(`gateway answered ${res.status}`, res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429);
  }
}

/** The channel the configured notifier sends on (what messages for people are queued for). */
export const notifierChannel = (config: Config): Notifier['channel'] => (config.notifier === 'sms' ? 'SMS' : 'LOG');

export function createNotifier(config: Config, logger: Logger): Notifier {
  if (config.notifier === 'sms') return new SmsGatewayNotifier(config.smsGatewayUrl!, config.smsGatewayToken!, config.smsGatewayTimeoutMs);
  return new LogNotifier(logger);
}
