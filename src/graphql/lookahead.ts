import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

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
