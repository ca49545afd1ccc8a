import { eq } from 'drizzle-orm';
import { onReturnedHome } from '../agreements/ending';
import { registerScopeCheck } from '../auth/service';
import { badInput } from '../errors';
import { onConsentWithdrawn } from '../people/consent';
import { onErasure } from '../people/erasure';
import { enrichReportTarget } from '../reports/service';
import { associationIdsOf, endMembershipOnWithdrawal, endMembershipsOnReturn, eraseMemberships } from './service';
import { associations } from './tables';

/** What the association module adds to earlier modules; called once from src/hooks.ts at boot. */
export function registerAssociationHooks(): void {
  // ASSOCIATION_STAFF users are scoped to an association that must exist.
  registerScopeCheck('ASSOCIATION_STAFF', async (db, _role, scope) => {
    const known = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(scope) && (await db.select({ id: associations.id }).from(associations).where(eq(associations.id, scope.toLowerCase()))).length > 0;
    if (!known) throw badInput('scope', `${scope} is not a known association id`);
  });
  // Staff may report on behalf of their members.
  enrichReportTarget(async (db, person) => ({ associationIds: await associationIdsOf(db, person.id) }));
  onConsentWithdrawn(async (tx, caller, personId, kind, scope) => {
    if (kind === 'ASSOCIATION_MEMBERSHIP') await endMembershipOnWithdrawal(tx, caller, personId, scope);
  });
  onReturnedHome(endMembershipsOnReturn);
  onErasure(eraseMemberships);
}
