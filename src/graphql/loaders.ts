import DataLoader from 'dataloader';
import type { Deps } from '../deps';
import { getDivisions, type Division } from '../jurisdiction/divisions';

/** Per-request batching: a page of N records resolves its related records in one query per kind. */
export function createLoaders(deps: Deps) {
  return {
    division: new DataLoader<string, Division | undefined>(async (codes) => {
      const rows = await getDivisions(deps.db, codes);
      const byCode = new Map(rows.map((r) => [r.code, r]));
      return codes.map((c) => byCode.get(c));
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
