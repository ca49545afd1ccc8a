import { and, eq, like } from 'drizzle-orm';
import { agreements, associationMembers } from '../../src/db/schema';
import { notifications } from '../../src/reminders/tables';
import { deliverPending } from '../../src/reminders/deliver';
import type { Notifier, OutgoingMessage } from '../../src/reminders/notifier';
import type { TestServer } from './server';

/** A notifier that keeps what it is given to send (the messages as people receive them). */
export class CapturingNotifier implements Notifier {
  readonly channel = 'LOG' as const;
  readonly sent: OutgoingMessage[] = [];

  async send(message: OutgoingMessage): Promise<void> {
    this.sent.push(message);
  }

  /** The rating token in the last message sent for an outbox row. */
  tokenSentIn(notificationId: string): string {
    const m = this.sent.filter((x) => x.id === notificationId).at(-1);
    const token = m && /token=([\w.-]+)/.exec(m.body)?.[1];
    if (!token) throw new Error(`no rating link was sent for ${notificationId}`);
    return token;
  }
}

export const INVITE = `mutation($a: ID, $m: ID, $p: String!) { sendRatingInvitation(agreementId: $a, memberId: $m, period: $p) { period expiresAt } }`;

/**
 * The rating token the person receives for a period: the outbox is delivered through a capturing notifier and the
 * token is read from the text it was given to send (the stored invitation holds no link).
 */
export async function sentRatingToken(t: TestServer, personId: string, period: string): Promise<string> {
  const [row] = await t.server.deps.db
    .select({ id: notifications.id })
    .from(notifications)
    .where(and(eq(notifications.personId, personId), eq(notifications.period, period), like(notifications.dedupeKey, 'RATING_INVITATION:%')));
  if (!row) throw new Error(`no rating invitation queued for ${personId} ${period}`);
  const notifier = new CapturingNotifier();
  await deliverPending(t.server.deps, notifier);
  return notifier.tokenSentIn(row.id);
}

/** Has `token` (an official or staff) invite the person to rate and returns the token of the link the person is sent. */
export async function ratingToken(t: TestServer, token: string, ref: { agreementId?: string; memberId?: string }, period: string): Promise<string> {
  const r = await t.gql(INVITE, { a: ref.agreementId ?? null, m: ref.memberId ?? null, p: period }, token);
  if (r.errors) throw new Error(`sendRatingInvitation failed: ${JSON.stringify(r.errors)}`);
  const db = t.server.deps.db;
  const [owner] = ref.agreementId
    ? await db.select({ personId: agreements.personId }).from(agreements).where(eq(agreements.id, ref.agreementId))
    : await db.select({ personId: associationMembers.personId }).from(associationMembers).where(eq(associationMembers.id, ref.memberId!));
  return sentRatingToken(t, owner!.personId, period);
}
