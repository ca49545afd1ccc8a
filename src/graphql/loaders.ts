import DataLoader from 'dataloader';
import type { Deps } from '../deps';
import { deliveryStats, type DeliveryStats } from '../exchange/monitor';
import { getDivisions, type Division } from '../jurisdiction/divisions';
import type { VerificationKey } from '../exchange/envelope';
import { historyOfPartners, keysOfPartners, partnerHistoricalKeys, type PartnerHistoryEntry, type PartnerKey } from '../partners/service';

/** Groups rows by a key, in the order of `keys` (empty lists for keys without rows). */
function groupBy<K, R>(keys: readonly K[], rows: R[], keyOf: (r: R) => K): R[][] {
  const byKey = new Map<K, R[]>();
  for (const r of rows) {
    const list = byKey.get(keyOf(r));
    if (list) list.push(r);
    else byKey.set(keyOf(r), [r]);
  }
  return keys.map((k) => byKey.get(k) ?? []);
}

/** Per-request batching: a page of N records resolves its related records in one query per kind. */
export function createLoaders(deps: Deps) {
  return {
    division: new DataLoader<string, Division | undefined>(async (codes) => {
      const rows = await getDivisions(deps.db, codes);
      const byCode = new Map(rows.map((r) => [r.code, r]));
      return codes.map((c) => byCode.get(c));
    }),
    partnerKeys: new DataLoader<string, PartnerKey[]>(async (codes) => groupBy(codes, await keysOfPartners(deps.db, codes), (k) => k.countyCode)),
    /** By `<countyCode>/<kid>`. */
    partnerHistoricalKey: new DataLoader<string, VerificationKey | undefined>((ids) => partnerHistoricalKeys(deps.db, ids)),
    deliveryStats: new DataLoader<string, DeliveryStats>((codes) => deliveryStats(deps.db, codes)),
    partnerHistory: new DataLoader<string, PartnerHistoryEntry[]>(async (codes) =>
      groupBy(codes, await historyOfPartners(deps.db, codes), (h) => h.countyCode),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
