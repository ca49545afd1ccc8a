import { and, asc, desc, eq, isNull, lt, ne, notInArray, or, sql } from 'drizzle-orm';
import { importJWK, type CryptoKey } from 'jose';
import { appendAudit } from '../audit/service';
import { anyOfIds, lookupMany, type Db } from '../db/client';
import type { Deps } from '../deps';
import { badInput, conflict, notFound } from '../errors';
import type { VerificationKey } from '../exchange/envelope';
import { EXCHANGED_TYPES, type ExchangedType } from '../exchange/record-types';
import { isIsoDate, protocolDate } from '../calendar';
import { actorColumns, systemCaller, type Caller } from '../policy/actor';
import { isCountyCode } from '../people/identity';
import { authorize } from '../policy/policy';
import { hostProblem } from '../http/addresses';
import { fetchJwks, parseJwks, type PartnerJwk } from './jwks';
import { nextPartnerStatus, type PartnerAction } from './lifecycle';
import { partnerHistory, partnerKeys, partners, type PartnerKeyAlg, type PartnerStatus } from './tables';

export type Partner = typeof partners.$inferSelect;
export type PartnerKey = typeof partnerKeys.$inferSelect;
export type PartnerHistoryEntry = typeof partnerHistory.$inferSelect;

export interface AgreementTerms {
  name?: string | null;
  baseUrl?: string | null;
  jwksUrl?: string | null;
  validFrom?: string | null;
  validTo?: string | null;
  inboundTypes?: readonly string[] | null;
  outboundTypes?: readonly string[] | null;
  lookupAllowed?: boolean | null;
}

export interface NewPartnerInput extends AgreementTerms {
  countyCode: string;
  name: string;
  baseUrl: string;
  validFrom: string;
  validTo: string;
  /** A pasted JWKS (air-gapped setups); without it the keys are fetched from `jwksUrl`. */
  jwks?: string | null;
  note?: string | null;
}

// ---- validation ----

function checkUrl(deps: Deps, field: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw badInput(field, 'not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && deps.config.exchange.allowHttp)) {
    throw badInput(field, deps.config.exchange.allowHttp ? 'must be http(s)' : 'must be https (set EXCHANGE_ALLOW_HTTP to allow http)');
  }
  if (url.username || url.password || url.hash || url.search) throw badInput(field, 'must not carry credentials, a query or a fragment');
  // Names are checked again on every request, against what they resolve to (src/http/addresses.ts).
  const problem = deps.config.exchange.allowPrivateAddresses ? null : hostProblem(url);
  if (problem) throw badInput(field, `${problem} (set EXCHANGE_ALLOW_PRIVATE_ADDRESSES to allow private addresses)`);
  return url.toString().replace(/\/+$/, '');
}

function checkTypes(field: string, types: readonly string[]): ExchangedType[] {
  const unknown = types.filter((t) => !(EXCHANGED_TYPES as readonly string[]).includes(t));
  if (unknown.length) throw badInput(field, `unknown record types: ${unknown.join(', ')}`);
  return EXCHANGED_TYPES.filter((t) => types.includes(t));
}

function checkDates(validFrom: string, validTo: string): void {
  if (!isIsoDate(validFrom)) throw badInput('validFrom', 'not a date');
  if (!isIsoDate(validTo)) throw badInput('validTo', 'not a date');
  if (validTo < validFrom) throw badInput('validTo', 'must not be before validFrom');
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > 100) throw badInput('name', 'must be 1-100 characters');
  return n;
}

/** The changes an edit makes, validated; only the fields given. */
function termsChanges(deps: Deps, current: Partial<Partner>, terms: AgreementTerms) {
  const set: Partial<Partner> = {};
  if (terms.name != null) set.name = checkName(terms.name);
  if (terms.baseUrl != null) set.baseUrl = checkUrl(deps, 'baseUrl', terms.baseUrl);
  if (terms.jwksUrl != null) set.jwksUrl = checkUrl(deps, 'jwksUrl', terms.jwksUrl);
  if (terms.validFrom != null) set.validFrom = terms.validFrom;
  if (terms.validTo != null) set.validTo = terms.validTo;
  if (terms.inboundTypes != null) set.inboundTypes = checkTypes('inboundTypes', terms.inboundTypes);
  if (terms.outboundTypes != null) set.outboundTypes = checkTypes('outboundTypes', terms.outboundTypes);
  if (terms.lookupAllowed != null) set.lookupAllowed = terms.lookupAllowed;
  if (set.validFrom !== undefined || set.validTo !== undefined) {
    checkDates(set.validFrom ?? current.validFrom ?? '', set.validTo ?? current.validTo ?? '');
  }
  return set;
}

// ---- history and transitions ----

async function appendHistory(
  tx: Db,
  caller: Caller,
  entry: { countyCode: string; action: string; fromStatus: PartnerStatus | null; toStatus: PartnerStatus; note?: string | null; changes?: Record<string, unknown> | null },
): Promise<void> {
  const { actorType, actorId, actorRole } = actorColumns(caller.actor);
  await tx.insert(partnerHistory).values({ ...entry, note: entry.note ?? null, changes: entry.changes ?? null, actorType, actorId, actorRole });
}

async function lockPartner(tx: Db, countyCode: string): Promise<Partner> {
  const [row] = await tx.select().from(partners).where(eq(partners.countyCode, countyCode)).for('update');
  if (!row) throw notFound('Partner', countyCode);
  return row;
}

/**
 * Applies one lifecycle action: checks it is allowed in the current status, updates the agreement, and appends the
 * history row and the audit entry, all in one transaction.
 */
async function transition(
  deps: Deps,
  caller: Caller,
  countyCode: string,
  action: PartnerAction,
  opts: { note?: string | null; set?: (current: Partner) => Partial<Partner>; keys?: { list: PartnerJwk[]; source: 'FETCHED' | 'PASTED' } } = {},
): Promise<Partner> {
  authorize(caller.actor, 'partner.manage');
  return deps.db.transaction(async (tx) => {
    const current = await lockPartner(tx, countyCode);
    const toStatus = nextPartnerStatus(current.status, action);
    if (!toStatus) throw conflict(`cannot ${action} a partner that is ${current.status}`, { status: current.status });
    const set = opts.set?.(current) ?? {};
    const keyChanges = opts.keys ? await storeKeys(tx, countyCode, opts.keys.list, opts.keys.source) : undefined;
    const [row] = await tx
      .update(partners)
      .set({ ...set, status: toStatus, updatedAt: new Date() })
      .where(eq(partners.countyCode, countyCode))
      .returning();
    const changes = { ...set, ...(keyChanges ?? {}) };
    await appendHistory(tx, caller, { countyCode, action, fromStatus: current.status, toStatus, note: opts.note, changes });
    await appendAudit(tx, caller, { action: `partner.${action.toLowerCase()}`, targetType: 'Partner', targetId: countyCode, details: { from: current.status, to: toStatus, fields: Object.keys(changes) } });
    return row!;
  });
}

// ---- keys ----

/**
 * Records a partner's current key set: new keys are added, known ones marked published again, and keys missing
 * from the set marked no longer published (but kept forever, for re-verifying stored records).
 */
async function storeKeys(tx: Db, countyCode: string, keys: PartnerJwk[], source: 'FETCHED' | 'PASTED') {
  const now = new Date();
  const before = await tx.select({ kid: partnerKeys.kid, published: partnerKeys.published }).from(partnerKeys).where(eq(partnerKeys.countyCode, countyCode));
  await tx
    .insert(partnerKeys)
    .values(keys.map((k) => ({ countyCode, kid: k.kid, alg: k.alg, publicJwk: k.jwk, source, published: true, firstSeenAt: now, lastPublishedAt: now })))
    .onConflictDoUpdate({ target: [partnerKeys.countyCode, partnerKeys.kid], set: { published: true, lastPublishedAt: now } });
  const kids = keys.map((k) => k.kid);
  await tx
    .update(partnerKeys)
    .set({ published: false })
    .where(and(eq(partnerKeys.countyCode, countyCode), notInArray(partnerKeys.kid, kids)));
  await tx.update(partners).set({ keysLoadedAt: now }).where(eq(partners.countyCode, countyCode));
  const wasPublished = new Set(before.filter((k) => k.published).map((k) => k.kid));
  return {
    keysAdded: kids.filter((k) => !wasPublished.has(k)),
    keysWithdrawn: [...wasPublished].filter((k) => !kids.includes(k)),
  };
}

const importedKeys = new Map<string, CryptoKey>();

async function toVerificationKey(row: { countyCode: string; kid: string; alg: PartnerKeyAlg; publicJwk: PartnerKey['publicJwk'] }): Promise<VerificationKey> {
  const cacheKey = `${row.countyCode}/${row.kid}`;
  let key = importedKeys.get(cacheKey);
  if (!key) {
    key = (await importJWK(row.publicJwk, row.alg)) as CryptoKey;
    importedKeys.set(cacheKey, key);
  }
  return { alg: row.alg, key };
}

async function publishedKey(db: Db, countyCode: string, kid: string) {
  const [row] = await db
    .select()
    .from(partnerKeys)
    .where(and(eq(partnerKeys.countyCode, countyCode), eq(partnerKeys.kid, kid), eq(partnerKeys.published, true)));
  return row ? toVerificationKey(row) : undefined;
}

/** What one instance knows about automatic refreshes of partners' keys. */
interface RefreshState {
  /** Per partner: no automatic refresh before this time (ms), as far as this instance knows (negative cache). */
  blockedUntil: Map<string, number>;
  /** Per partner: the refresh in flight, which concurrent misses wait for instead of starting their own. */
  inFlight: Map<string, Promise<void>>;
}

// Keyed by the server's key store: one state per running server (tests run several in one process).
const refreshStates = new WeakMap<object, RefreshState>();

function refreshState(deps: Deps): RefreshState {
  let state = refreshStates.get(deps.keys);
  if (!state) {
    state = { blockedUntil: new Map(), inFlight: new Map() };
    refreshStates.set(deps.keys, state);
  }
  return state;
}

/**
 * A key the partner publishes now, for authenticating a request or a new record. An unknown kid from a known
 * partner triggers one JWKS refresh, claimed in the database so that all instances together make at most one per
 * cooldown window. Within an instance, misses while a refresh is in flight wait for it (and find the new key if it
 * brought one), and misses inside the window are refused without touching the database: a flood of unknown kids
 * costs one lookup each, never a fetch. Keys only ever come from the partner's registered JWKS URL, never from the
 * token.
 */
export async function partnerSigningKey(deps: Deps, countyCode: string, kid: string) {
  const hit = await publishedKey(deps.db, countyCode, kid);
  if (hit) return hit;
  const state = refreshState(deps);
  let refresh = state.inFlight.get(countyCode);
  if (!refresh) {
    if ((state.blockedUntil.get(countyCode) ?? 0) > Date.now()) return undefined;
    refresh = refreshKeys(deps, state, countyCode, kid).finally(() => state.inFlight.delete(countyCode));
    state.inFlight.set(countyCode, refresh);
  }
  await refresh;
  return publishedKey(deps.db, countyCode, kid);
}

/** Claims the partner's refresh for this window (in the database, for all instances) and, if it got it, fetches. */
async function refreshKeys(deps: Deps, state: RefreshState, countyCode: string, kid: string): Promise<void> {
  const cooldown = deps.config.exchange.jwksRefreshCooldownSeconds;
  const [claimed] = await deps.db
    .update(partners)
    .set({ keysRefreshClaimedAt: sql`now()` })
    .where(
      and(
        eq(partners.countyCode, countyCode),
        ne(partners.status, 'ENDED'),
        or(isNull(partners.keysRefreshClaimedAt), lt(partners.keysRefreshClaimedAt, sql`now() - make_interval(secs => ${cooldown})`)),
      ),
    )
    .returning({ jwksUrl: partners.jwksUrl });
  if (!claimed) {
    // Another instance (or an earlier run of this one) refreshed within the window: wait for its end.
    const [row] = await deps.db.select({ at: partners.keysRefreshClaimedAt }).from(partners).where(eq(partners.countyCode, countyCode));
    state.blockedUntil.set(countyCode, (row?.at?.getTime() ?? Date.now()) + cooldown * 1000);
    return;
  }
  state.blockedUntil.set(countyCode, Date.now() + cooldown * 1000);
  try {
    const keys = await fetchJwks(claimed.jwksUrl, deps.config.exchange);
    await deps.db.transaction(async (tx) => {
      const current = await lockPartner(tx, countyCode);
      const changes = await storeKeys(tx, countyCode, keys, 'FETCHED');
      if (changes.keysAdded.length === 0 && changes.keysWithdrawn.length === 0) return;
      const caller = systemCaller('exchange-key-refresh');
      await appendHistory(tx, caller, { countyCode, action: 'LOAD_KEYS', fromStatus: current.status, toStatus: current.status, note: `unknown kid ${kid}`, changes });
      await appendAudit(tx, caller, { action: 'partner.load_keys', targetType: 'Partner', targetId: countyCode, details: changes });
    });
  } catch (err) {
    deps.logger.warn({ err, partner: countyCode }, 'automatic JWKS refresh failed');
  }
}

/**
 * Keys partners ever published, withdrawn ones included, by `<countyCode>/<kid>`: only for re-verifying records
 * stored earlier. One query for any number of keys.
 */
export async function partnerHistoricalKeys(db: Db, ids: readonly string[]): Promise<(VerificationKey | undefined)[]> {
  const pairs = ids.map((id) => id.split('/') as [string, string]);
  const found = pairs.length
    ? await db
        .select()
        .from(partnerKeys)
        .where(or(...pairs.map(([countyCode, kid]) => and(eq(partnerKeys.countyCode, countyCode), eq(partnerKeys.kid, kid)))))
    : [];
  const byId = new Map(found.map((row) => [`${row.countyCode}/${row.kid}`, row]));
  return Promise.all(ids.map((id) => byId.get(id)).map((row) => (row ? toVerificationKey(row) : undefined)));
}

// ---- the agreement's operations (county administrators) ----

export async function registerPartner(deps: Deps, caller: Caller, input: NewPartnerInput): Promise<Partner> {
  authorize(caller.actor, 'partner.manage');
  const countyCode = input.countyCode.trim();
  if (!isCountyCode(countyCode)) throw badInput('countyCode', 'must be a 6-digit county code (GB/T 2260)');
  if (countyCode === deps.config.countyCode) throw badInput('countyCode', 'is this county itself');
  const baseUrl = checkUrl(deps, 'baseUrl', input.baseUrl);
  const terms = termsChanges(deps, {}, { ...input, baseUrl, jwksUrl: input.jwksUrl ?? `${baseUrl}/.well-known/jwks.json` });
  const [existing] = await deps.db.select({ c: partners.countyCode }).from(partners).where(eq(partners.countyCode, countyCode));
  if (existing) throw conflict(`partner ${countyCode} is already registered (an ended agreement is renewed, not registered again)`, { field: 'countyCode' });
  const keys = input.jwks ? await parseJwks(input.jwks) : await fetchJwks(terms.jwksUrl!, deps.config.exchange);
  return deps.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(partners)
      .values({
        countyCode,
        name: terms.name!,
        baseUrl,
        jwksUrl: terms.jwksUrl!,
        status: 'ACTIVE',
        validFrom: input.validFrom,
        validTo: input.validTo,
        inboundTypes: terms.inboundTypes ?? [],
        outboundTypes: terms.outboundTypes ?? [],
        lookupAllowed: terms.lookupAllowed ?? false,
      })
      .onConflictDoNothing()
      .returning();
    if (!row) throw conflict(`partner ${countyCode} is already registered`, { field: 'countyCode' });
    const keyChanges = await storeKeys(tx, countyCode, keys, input.jwks ? 'PASTED' : 'FETCHED');
    await appendHistory(tx, caller, { countyCode, action: 'REGISTER', fromStatus: null, toStatus: 'ACTIVE', note: input.note, changes: { ...terms, ...keyChanges } });
    await appendAudit(tx, caller, { action: 'partner.register', targetType: 'Partner', targetId: countyCode, details: { keys: keyChanges.keysAdded } });
    return { ...row, keysLoadedAt: new Date() };
  });
}

export async function updatePartner(deps: Deps, caller: Caller, countyCode: string, terms: AgreementTerms, note?: string | null): Promise<Partner> {
  return transition(deps, caller, countyCode, 'EDIT', { note, set: (current) => termsChanges(deps, current, terms) });
}

export const suspendPartner = (deps: Deps, caller: Caller, countyCode: string, note?: string | null) =>
  transition(deps, caller, countyCode, 'SUSPEND', { note });

export const reactivatePartner = (deps: Deps, caller: Caller, countyCode: string, note?: string | null) =>
  transition(deps, caller, countyCode, 'REACTIVATE', { note });

export const endPartner = (deps: Deps, caller: Caller, countyCode: string, note?: string | null) =>
  transition(deps, caller, countyCode, 'END', { note });

/** A new term for an ended agreement. */
export async function renewPartner(deps: Deps, caller: Caller, countyCode: string, validFrom: string, validTo: string, note?: string | null): Promise<Partner> {
  checkDates(validFrom, validTo);
  return transition(deps, caller, countyCode, 'RENEW', { note, set: () => ({ validFrom, validTo }) });
}

/** Fetches the partner's JWKS now (no cooldown: an administrator asked). */
export async function refreshPartnerKeys(deps: Deps, caller: Caller, countyCode: string): Promise<Partner> {
  authorize(caller.actor, 'partner.manage');
  const partner = await getPartner(deps, caller, countyCode);
  const list = await fetchJwks(partner.jwksUrl, deps.config.exchange);
  return transition(deps, caller, countyCode, 'LOAD_KEYS', { keys: { list, source: 'FETCHED' } });
}

/** Air-gapped partners: the JWKS as they handed it over, replacing the published set like a fetch would. */
export async function pastePartnerKeys(deps: Deps, caller: Caller, countyCode: string, jwks: string, note?: string | null): Promise<Partner> {
  authorize(caller.actor, 'partner.manage');
  const list = await parseJwks(jwks);
  return transition(deps, caller, countyCode, 'LOAD_KEYS', { note, keys: { list, source: 'PASTED' } });
}

// ---- reads ----

export async function listPartners(deps: Deps, caller: Caller, filter: { status?: PartnerStatus | null } = {}): Promise<Partner[]> {
  authorize(caller.actor, 'partner.read');
  return deps.db
    .select()
    .from(partners)
    .where(filter.status ? eq(partners.status, filter.status) : undefined)
    .orderBy(asc(partners.countyCode));
}

export async function getPartner(deps: Deps, caller: Caller, countyCode: string): Promise<Partner> {
  authorize(caller.actor, 'partner.read');
  const row = await findPartner(deps.db, countyCode);
  if (!row) throw notFound('Partner', countyCode);
  return row;
}

/** Without a policy check: for the exchange layer, which has already authenticated the partner. */
export async function findPartner(db: Db, countyCode: string): Promise<Partner | undefined> {
  const [row] = await db.select().from(partners).where(eq(partners.countyCode, countyCode));
  return row;
}

/** Batch: the keys of these partners, oldest first. */
export function keysOfPartners(db: Db, countyCodes: readonly string[]): Promise<PartnerKey[]> {
  return lookupMany(db, 'partner_keys_of', countyCodes, (d) =>
    d.select().from(partnerKeys).where(anyOfIds(partnerKeys.countyCode, 'text')).orderBy(asc(partnerKeys.firstSeenAt)).prepare('partner_keys_of'),
  );
}

/** Batch: the history of these partners, newest first. */
export function historyOfPartners(db: Db, countyCodes: readonly string[]): Promise<PartnerHistoryEntry[]> {
  return lookupMany(db, 'partner_history_of', countyCodes, (d) =>
    d.select().from(partnerHistory).where(anyOfIds(partnerHistory.countyCode, 'text')).orderBy(desc(partnerHistory.id)).prepare('partner_history_of'),
  );
}

/** Remembers the last time the partner called us ('seen') or accepted a push of ours ('reached'). */
export async function notePartnerContact(db: Db, countyCode: string, kind: 'seen' | 'reached'): Promise<void> {
  const now = new Date();
  await db
    .update(partners)
    .set(kind === 'seen' ? { lastSeenAt: now } : { lastReachedAt: now })
    .where(eq(partners.countyCode, countyCode));
}

/** Whether the agreement is in force today: ACTIVE and within its dates (county calendar). */
export function agreementInForce(partner: Pick<Partner, 'status' | 'validFrom' | 'validTo'>, at: Date = new Date()): boolean {
  const today = protocolDate(at);
  return partner.status === 'ACTIVE' && partner.validFrom <= today && today <= partner.validTo;
}
