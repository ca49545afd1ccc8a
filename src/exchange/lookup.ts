import { auditStandalone } from '../audit/service';
import type { Deps } from '../deps';
import type { Partner } from '../partners/service';
import type { Caller } from '../policy/actor';
import type { RecordBody } from './bodies';
import { newRecordId, parseRecordPayload, RECORD_VERSION, signRecord } from './envelope';
import { seam } from './seam';

/**
 * The seam for `POST /exchange/v1/lookup`: the registry core answers whether a person who consented to sharing
 * with this partner has this ID number, and with what summary (src/sharing/lookup.ts, registered at start-up).
 * Without a provider every lookup answers "not found" (404), exactly as an unknown or unshared person does.
 */
export interface LookupContext {
  /** Read-only use; no transaction is open. */
  deps: Deps;
  caller: Caller;
  partner: Partner;
  idNumber: string;
  /** deps.secrets.hmac(idNumber), for the registry's exact-match lookup. */
  idNumberHmac: string;
}

export interface LookupAnswer {
  /** The name as the registry has it. */
  name: string;
  summary: RecordBody<'STATUS_SUMMARY'>;
}

/** Returns null for "not found or not shared with this partner": both must look the same to the caller. */
export type LookupProvider = (ctx: LookupContext) => Promise<LookupAnswer | null>;

const provider = seam<LookupProvider>('a lookup provider');
export const registerLookupProvider = provider.register;

/** Looks a person up for a partner whose agreement allows LOOKUP; a found person comes back as a signed STATUS_SUMMARY. */
export async function lookupPerson(deps: Deps, caller: Caller, partner: Partner, idNumber: string): Promise<string | null> {
  const idNumberHmac = deps.secrets.hmac(idNumber);
  const lookup = provider.get();
  const answer = lookup ? await lookup({ deps, caller, partner, idNumber, idNumberHmac }) : null;
  let jws: string | null = null;
  let recordId: string | null = null;
  if (answer) {
    const parsed = parseRecordPayload({
      v: RECORD_VERSION,
      id: newRecordId(),
      iss: deps.config.countyCode,
      aud: partner.countyCode,
      type: 'STATUS_SUMMARY',
      iat: Math.floor(Date.now() / 1000),
      subject: { idNumber, name: answer.name },
      body: answer.summary,
    });
    if (!parsed.ok) throw new Error(`lookup provider gave an invalid summary: ${parsed.reason} ${parsed.detail}`);
    recordId = parsed.record.id;
    jws = await signRecord(await deps.keys.signingKey('EXCHANGE'), parsed.record);
  }
  // The subject is identified by its HMAC only: the audit log never holds ID numbers.
  await auditStandalone(deps.db, caller, {
    action: 'exchange.lookup',
    targetType: 'Person',
    targetId: idNumberHmac.slice(0, 32),
    details: { found: answer !== null, recordId },
  });
  return jws;
}
