import { describe, expect, it } from 'vitest';
import type { GraphQLResolveInfo } from 'graphql';
import { TYPE_GUARDS } from '../../src/graphql/guards';
import { resolvers } from '../../src/graphql/resolvers';
import { loadTypeDefs } from '../../src/graphql/sdl';
import type { Actor } from '../../src/policy/actor';
import { PolicyDenied } from '../../src/policy/policy';

const village = '320324101201';
const staff: Actor = { kind: 'user', userId: 's', username: 's', role: 'ASSOCIATION_STAFF', scope: 'assoc-a' };
const official: Actor = { kind: 'user', userId: 'o', username: 'o', role: 'VILLAGE_OFFICIAL', scope: village };
const neighbour: Actor = { kind: 'user', userId: 'n', username: 'n', role: 'VILLAGE_OFFICIAL', scope: '320324101202' };

/** Parents carrying just what the guards look at, plus a name for the default resolver to read. */
const parents: Record<string, Record<string, unknown>> = {
  Person: { id: 'p', homeVillageCode: village, name: '陈静' },
  Agreement: { id: 'a', villageCode: village, personId: 'p' },
  StatusReport: { id: 'r', villageCode: village, personId: 'p' },
};

function fieldsOf(type: string): string[] {
  return loadTypeDefs().flatMap((d) => d.definitions.flatMap((def) => ('name' in def && def.name?.value === type && 'fields' in def ? (def.fields ?? []).map((f) => f.name.value) : [])));
}

function call(type: string, field: string, actor: Actor, parent: unknown = parents[type], guarded = new Map<string, WeakSet<object>>()) {
  const fn = (resolvers as Record<string, Record<string, (...a: unknown[]) => unknown>>)[type]![field]!;
  // No deps or loaders: a guard that lets the call through fails on those instead of with PolicyDenied.
  return fn(parent, {}, { caller: { actor }, guarded }, { fieldName: field } as GraphQLResolveInfo);
}

describe('field guards on the types that carry registry records', () => {
  it('refuse every field of a person, agreement or report to association staff, however the object was reached', () => {
    for (const type of Object.keys(TYPE_GUARDS)) {
      const fields = fieldsOf(type);
      expect(fields.length).toBeGreaterThan(5);
      for (const field of fields) expect(() => call(type, field, staff), `${type}.${field}`).toThrow(PolicyDenied);
    }
  });

  it('refuse records outside the reader’s own scope and let their own through', () => {
    expect(() => call('Person', 'name', neighbour)).toThrow(PolicyDenied);
    expect(call('Person', 'name', official)).toBe('陈静');
    expect(() => call('StatusReport', 'id', neighbour)).toThrow(PolicyDenied);
    expect(call('StatusReport', 'id', official)).toBe('r');
  });

  it('ask once per object in a request, and never let another object through on that answer', () => {
    const request = new Map<string, WeakSet<object>>();
    const mine = { id: 'p1', homeVillageCode: village, name: '陈静' };
    const other = { id: 'p2', homeVillageCode: '320324101202', name: '王芳' };
    expect(call('Person', 'name', official, mine, request)).toBe('陈静');
    expect(request.get('Person')?.has(mine)).toBe(true);
    expect(call('Person', 'id', official, mine, request)).toBe('p1');
    // another person, or the same fields asked again: each refused on its own
    expect(() => call('Person', 'name', official, other, request)).toThrow(PolicyDenied);
    expect(() => call('Person', 'id', official, other, request)).toThrow(PolicyDenied);
    expect(request.get('Person')?.has(other)).toBe(false);
    // an object let through as one type is still asked about as another (agreements have their own action)
    expect(() => call('Agreement', 'id', staff, mine, new Map([['Person', new WeakSet([mine])]]))).toThrow(PolicyDenied);
  });

  it('refuse up front a mutation whose answer the caller could never read', async () => {
    expect(() => call('Mutation', 'submitStatusReport', staff, {})).toThrow(PolicyDenied);
    expect(() => call('Mutation', 'registerPerson', staff, {})).toThrow(PolicyDenied);
    // The association's own mutations answer with restricted types and are left to their services.
    await expect((async () => call('Mutation', 'submitMemberReport', staff, {}))()).rejects.toThrow(TypeError);
  });
});
