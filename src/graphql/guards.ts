import { defaultFieldResolver, Kind, type DocumentNode, type GraphQLFieldResolver, type TypeNode } from 'graphql';
import type { Agreement } from '../agreements/service';
import type { Person } from '../people/service';
import { authorize, listScope, type Action, type Target } from '../policy/policy';
import type { StatusReport } from '../reports/service';
import type { GraphQLContext } from './context';
import type { Resolvers } from './generated/types';

interface TypeGuard {
  action: Action;
  target: (parent: never) => Target;
}

/**
 * Types that carry registry records. Every field of them asks the policy about the object it belongs to, whatever
 * path led there (a report's person, a person's agreements, a message's person, a mutation's answer): a service
 * authorizing the top of a query is not enough once objects nest. Association staff, for instance, hold none of these
 * actions, so no path gives them a person, agreement or report.
 */
export const TYPE_GUARDS: Record<string, TypeGuard> = {
  Person: { action: 'person.read', target: (p: Person) => ({ villageCode: p.homeVillageCode }) },
  Agreement: { action: 'agreement.read', target: (a: Agreement) => ({ villageCode: a.villageCode }) },
  StatusReport: { action: 'report.read', target: (r: StatusReport) => ({ villageCode: r.villageCode }) },
};

type Resolver = GraphQLFieldResolver<unknown, GraphQLContext>;

function namedType(t: TypeNode): string {
  return t.kind === Kind.NAMED_TYPE ? t.name.value : namedType(t.type);
}

/** Field names (and their return types) of each object type, over every `type` and `extend type` of the SDL. */
function fieldsOf(typeDefs: DocumentNode[]): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const doc of typeDefs) {
    for (const def of doc.definitions) {
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const fields = out.get(def.name.value) ?? new Map<string, string>();
      for (const f of def.fields ?? []) fields.set(f.name.value, namedType(f.type));
      out.set(def.name.value, fields);
    }
  }
  return out;
}

function resolverOf(map: Record<string, unknown>, field: string): Resolver {
  const r = map[field];
  if (r === undefined) return defaultFieldResolver as Resolver;
  if (typeof r === 'function') return r as Resolver;
  throw new Error(`guarded field ${field} has a resolver object; guards expect plain functions`);
}

/**
 * Wraps the resolvers: each field of a guarded type checks its type's action on the parent before resolving, and a
 * mutation answering with a guarded type is refused up front to a role that may never read that type (so, for
 * example, staff cannot store a report through `submitStatusReport` and then fail to read the answer).
 */
export function guardResolvers(resolvers: Resolvers, typeDefs: DocumentNode[]): Resolvers {
  const out = { ...resolvers } as Record<string, Record<string, unknown>>;
  const fields = fieldsOf(typeDefs);
  for (const [type, guard] of Object.entries(TYPE_GUARDS)) {
    const map = { ...(out[type] ?? {}) };
    for (const field of fields.get(type)?.keys() ?? []) {
      const inner = resolverOf(map, field);
      map[field] = ((parent, args, ctx, info) => {
        // The answer for one object is the same for each of its fields (one caller per request, rows read once), so
        // it is asked once per object and remembered for the request; a refusal is not remembered, every field throws.
        let allowed = ctx.guarded.get(type);
        if (!allowed?.has(parent as object)) {
          authorize(ctx.caller.actor, guard.action, guard.target(parent as never));
          if (!allowed) ctx.guarded.set(type, (allowed = new WeakSet()));
          allowed.add(parent as object);
        }
        return inner(parent, args, ctx, info);
      }) satisfies Resolver;
    }
    out[type] = map;
  }
  const mutation = { ...(out.Mutation ?? {}) };
  for (const [field, returns] of fields.get('Mutation') ?? []) {
    const guard = TYPE_GUARDS[returns];
    if (!guard) continue;
    const inner = resolverOf(mutation, field);
    mutation[field] = ((parent, args, ctx, info) => {
      listScope(ctx.caller.actor, guard.action);
      return inner(parent, args, ctx, info);
    }) satisfies Resolver;
  }
  out.Mutation = mutation;
  return out as Resolvers;
}
