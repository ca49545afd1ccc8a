import type { Deps } from '../deps';
import type { Caller } from '../policy/actor';
import { createLoaders, type Loaders } from './loaders';

/** What every resolver gets: the services' dependencies, who is calling, and per-request batch loaders. */
export interface GraphQLContext {
  deps: Deps;
  caller: Caller;
  loaders: Loaders;
  /** Per guarded type, the objects the field guards have let this caller read (see guards.ts). */
  guarded: Map<string, WeakSet<object>>;
}

export function createContext(deps: Deps, caller: Caller): GraphQLContext {
  return { deps, caller, loaders: createLoaders(deps), guarded: new Map() };
}
