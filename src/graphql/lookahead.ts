import {
  Kind,
  type FieldNode,
  type GraphQLField,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLResolveInfo,
  type GraphQLUnionType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

/** The fields named `name` in these selection sets, looking through inline fragments and fragment spreads. */
function fieldsNamed(sets: readonly SelectionSetNode[], name: string, info: GraphQLResolveInfo, out: FieldNode[] = [], seen = new Set<string>()): FieldNode[] {
  for (const set of sets) {
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value === name) out.push(s);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        fieldsNamed([s.selectionSet], name, info, out, seen);
      } else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        const fragment = info.fragments[s.name.value];
        if (fragment) fieldsNamed([fragment.selectionSet], name, info, out, seen);
      }
    }
  }
  return out;
}

/**
 * Whether the operation asks, below the field being resolved, for the field at `path` (field names, whatever their
 * aliases). Lets a list resolver fetch related rows in its own statement when, and only when, they will be read.
 * It errs on the side of yes (a field under `@skip` or a fragment on another type counts): fetching a row that is
 * not read costs a little, and what is read comes from the same rows either way.
 */
export function asksFor(info: GraphQLResolveInfo, path: readonly string[]): boolean {
  let sets = info.fieldNodes.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  for (const name of path) {
    const found = fieldsNamed(sets, name, info);
    if (found.length === 0) return false;
    sets = found.flatMap((f) => (f.selectionSet ? [f.selectionSet] : []));
  }
  return true;
}

const askedByOperation = new WeakMap<OperationDefinitionNode, ReadonlyMap<string, ReadonlySet<string>>>();

/**
 * Every field the operation asks of each object type, anywhere in it (any depth, through fragments; an interface's
 * or union's fields count for each of its types). During the request, an object of a type is asked no field outside
 * its set: a list may then read only the columns those fields need (see people/page.ts). Computed once per
 * operation (the parsed document is cached by Apollo and reused from request to request).
 */
export function fieldsAskedByType(info: GraphQLResolveInfo): ReadonlyMap<string, ReadonlySet<string>> {
  let asked = askedByOperation.get(info.operation);
  if (!asked) {
    const out = new Map<string, Set<string>>();
    const root = info.schema.getRootType(info.operation.operation);
    if (root) walkSelections(info, root, info.operation.selectionSet, out, new Set());
    askedByOperation.set(info.operation, (asked = out));
  }
  return asked;
}

// The types are told apart by their members, not graphql's predicates (isObjectType, ...): those test `instanceof`,
// which fails where two copies of graphql are loaded (ESM and CommonJS, as under the tests).
function possibleTypes(info: GraphQLResolveInfo, type: GraphQLNamedType): readonly GraphQLNamedType[] {
  if ('getTypes' in type) return (type as GraphQLUnionType).getTypes();
  if ('resolveType' in type) return info.schema.getImplementations(type as GraphQLInterfaceType).objects;
  return [type];
}

function fieldOf(type: GraphQLNamedType, name: string): GraphQLField<unknown, unknown> | undefined {
  return 'getFields' in type && !('getTypes' in type) ? (type as GraphQLObjectType).getFields()[name] : undefined;
}

function namedType(type: GraphQLOutputType): GraphQLNamedType {
  let t = type;
  while ('ofType' in t) t = t.ofType;
  return t;
}

function walkSelections(info: GraphQLResolveInfo, type: GraphQLNamedType, set: SelectionSetNode, out: Map<string, Set<string>>, fragmentsSeen: Set<string>): void {
  const concrete = possibleTypes(info, type);
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      const name = s.name.value;
      if (name.startsWith('__')) continue; // (__typename: every object answers it)
      for (const t of concrete) {
        let fields = out.get(t.name);
        if (!fields) out.set(t.name, (fields = new Set()));
        fields.add(name);
      }
      const def = fieldOf(type, name);
      if (def && s.selectionSet) walkSelections(info, namedType(def.type), s.selectionSet, out, fragmentsSeen);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      const on = s.typeCondition ? info.schema.getType(s.typeCondition.name.value) : type;
      if (on) walkSelections(info, on, s.selectionSet, out, fragmentsSeen);
    } else if (!fragmentsSeen.has(s.name.value)) {
      // (what a fragment asks depends only on the fragment, so once is enough wherever it is spread)
      fragmentsSeen.add(s.name.value);
      const fragment = info.fragments[s.name.value];
      const on = fragment && info.schema.getType(fragment.typeCondition.name.value);
      if (fragment && on) walkSelections(info, on, fragment.selectionSet, out, fragmentsSeen);
    }
  }
}
