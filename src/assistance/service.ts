import { asc, desc } from 'drizzle-orm';
import { appendAudit } from '../audit/service';
import { anyOf, anyOfIds, lookupMany, type Db } from '../db/client';
import { actorColumns, type Caller } from '../policy/actor';
import { authorize } from '../policy/policy';
import type { ServiceNeed } from '../people/tables';
import { servicesDelivered } from './tables';

export type ServiceDelivered = typeof servicesDelivered.$inferSelect;

export interface ServiceDeliveredInput {
  /** Our resident, with their home village... */
  person?: { id: string; homeVillageCode: string };
  /** ...or a partner's resident here. */
  noticeId?: string;
  service: ServiceNeed;
  deliveredOn: string;
  note?: string | null;
  /** The county that delivered it. */
  deliveredBy: string;
  /** The exchange record that carries it. */
  recordId: string;
}

/**
 * Records a service delivered, inside the caller's transaction (the exchange record that carries it, inbound or
 * outbound, belongs to the same change). Validated by the caller: the protocol's body schema or the GraphQL input.
 */
export async function recordServiceDelivered(tx: Db, caller: Caller, input: ServiceDeliveredInput): Promise<ServiceDelivered> {
  const villageCode = input.person?.homeVillageCode ?? null;
  authorize(caller.actor, 'assistance.record', { villageCode });
  const [row] = await tx
    .insert(servicesDelivered)
    .values({
      personId: input.person?.id ?? null,
      noticeId: input.noticeId ?? null,
      villageCode,
      service: input.service,
      deliveredOn: input.deliveredOn,
      note: input.note ?? null,
      deliveredBy: input.deliveredBy,
      recordId: input.recordId,
      ...actorColumns(caller.actor),
    })
    .returning();
  await appendAudit(tx, caller, {
    action: 'assistance.record',
    targetType: input.person ? 'Person' : 'IncomingNotice',
    targetId: input.person?.id ?? input.noticeId!,
    details: { service: input.service, deliveredBy: input.deliveredBy, recordId: input.recordId },
  });
  return row!;
}

/**
 * Batch, newest first: services delivered to these people (`personId`, Person.servicesDelivered) or to these
 * partners' residents here (`noticeId`, IncomingNotice.servicesDelivered).
 */
export function servicesDeliveredTo(db: Db, key: 'personId' | 'noticeId', ids: readonly string[]): Promise<ServiceDelivered[]> {
  const name = `services_by_${key}`;
  return lookupMany(db, name, ids, (d) =>
    d.select().from(servicesDelivered).where(anyOfIds(servicesDelivered[key])).orderBy(desc(servicesDelivered.deliveredOn), asc(servicesDelivered.id)).prepare(name),
  );
}

/** Erasure (an onErasure step): the service codes and dates stay for the figures; the free-text notes go. */
export async function eraseServiceNotes(tx: Db, personIds: string[]): Promise<void> {
  await tx.update(servicesDelivered).set({ note: null }).where(anyOf(servicesDelivered.personId, personIds));
}
