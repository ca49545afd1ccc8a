import { and, eq, isNull } from 'drizzle-orm';
import { agreementInStatus } from '../agreements/ending';
import type { LookupProvider } from '../exchange/lookup';
import { hasConsent } from '../people/consent';
import { people } from '../people/tables';
import { lastReportsOf } from '../reports/service';

/**
 * Answers a partner's lookup (POST /exchange/v1/lookup) with a STATUS_SUMMARY, only for our residents who
 * consented to sharing with that partner county and whose whereabouts we know: their status, place (county and
 * town; home county once returned), the active agreement's cadence and end date, the last report's period, and
 * nothing else. Anyone else (unknown, not shared, withdrawn, erased, or away somewhere unrecorded) answers null,
 * which the endpoint turns into the same 404 as an unknown number.
 */
export const lookupStatusSummary: LookupProvider = async ({ deps, partner, idNumberHmac }) => {
  const [person] = await deps.db
    .select()
    .from(people)
    .where(and(eq(people.idNumberHmac, idNumberHmac), isNull(people.erasedAt)));
  if (!person || person.status === 'WITHDRAWN') return null;
  if (!(await hasConsent(deps.db, person.id, 'PARTNER_SHARING', partner.countyCode))) return null;
  const place =
    person.status === 'RETURNED'
      ? { countyCode: deps.config.countyCode }
      : person.currentCountyCode
        ? { countyCode: person.currentCountyCode, ...(person.currentTown ? { town: person.currentTown } : {}) }
        : null;
  if (!place) return null;
  const agreement = await agreementInStatus(deps.db, person.id, 'ACTIVE');
  const [last] = await lastReportsOf(deps.db, [person.id]);
  return {
    name: person.name,
    summary: {
      status: person.status,
      place,
      // the protocol's agreement has an end date; an open-ended one is summarised as none
      agreement: agreement?.validTo ? { cadence: agreement.cadence, validTo: agreement.validTo } : null,
      lastReportPeriod: last?.period ?? null,
    },
  };
};
