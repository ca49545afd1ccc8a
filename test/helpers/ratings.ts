import { and, eq, like } from 'drizzle-orm';
import { agreements, associationMembers } from '../../src/db/schema';
import { notifications } from '../../src/reminders/tables';
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

/** The rating token in the invitation queued for a person and period (what their SMS carries). */
export async function queuedRatingToken(t: TestServer, personId: string, period: string): Promise<string> {
  const [row] = await t.server.deps.db
    .select({ body: notifications.body })
    .from(notifications)
    .where(and(eq(notifications.personId, personId), eq(notifications.period, period), like(notifications.dedupeKey, 'RATING_INVITATION:%')));
  const token = row && /token=([\w.-]+)/.exec(row.body)?.[1];
  if (!token) throw new Error(`no rating invitation queued for ${personId} ${period}`);
  return token;
}

/** Has `token` (an official or staff) invite the person to rate and returns the link's token from the outbox. */
export async function ratingToken(t: TestServer, token: string, ref: { agreementId?: string; memberId?: string }, period: string): Promise<string> {
  const r = await t.gql(INVITE, { a: ref.agreementId ?? null, m: ref.memberId ?? null, p: period }, token);
  if (r.errors) throw new Error(`sendRatingInvitation failed: ${JSON.stringify(r.errors)}`);
  const db = t.server.deps.db;
  const [owner] = ref.agreementId
    ? await db.select({ personId: agreements.personId }).from(agreements).where(eq(agreements.id, ref.agreementId))
    : await db.select({ personId: associationMembers.personId }).from(associationMembers).where(eq(associationMembers.id, ref.memberId!));
  return queuedRatingToken(t, owner!.personId, period);
}
