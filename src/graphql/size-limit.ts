import { GraphQLError, Kind, type ASTVisitor, type FragmentDefinitionNode, type SelectionSetNode, type ValidationContext } from 'graphql';

interface Size {
  depth: number;
  /** Fields the operation resolves once fragments are expanded (aliases count apart). */
  fields: number;
}

/**
 * Refuses operations nested deeper than `maxDepth` or resolving more than `maxFields` fields, so one request cannot
 * fan out without bound (hundreds of aliased pages, fragments that spread each other twice). Each fragment is sized
 * once, so the check itself stays linear in the document whatever the expansion would be.
 */
export function sizeLimit(maxDepth: number, maxFields: number) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const sized = new Map<string, Size>();
    const inProgress = new Set<string>(); // a cycle is another rule's error; here it just counts as empty
    const sizeOf = (set: SelectionSetNode | undefined): Size => {
      const total: Size = { depth: 0, fields: 0 };
      for (const s of set?.selections ?? []) {
        let part: Size;
        if (s.kind === Kind.FIELD) {
          const inner = sizeOf(s.selectionSet);
          part = { depth: 1 + inner.depth, fields: 1 + inner.fields };
        } else if (s.kind === Kind.INLINE_FRAGMENT) part = sizeOf(s.selectionSet);
        else part = fragmentSize(s.name.value);
        total.depth = Math.max(total.depth, part.depth);
        total.fields = Math.min(Number.MAX_SAFE_INTEGER, total.fields + part.fields);
      }
      return total;
    };
    const fragmentSize = (name: string): Size => {
      const known = sized.get(name);
      if (known) return known;
      if (inProgress.has(name)) return { depth: 0, fields: 0 };
      inProgress.add(name);
      const size = sizeOf(fragments.get(name)?.selectionSet);
      inProgress.delete(name);
      sized.set(name, size);
      return size;
    };
    return {
      OperationDefinition(op) {
        const { depth, fields } = sizeOf(op.selectionSet);
        const refuse = (message: string) => context.reportError(new GraphQLError(message, { nodes: [op], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
        if (depth > maxDepth) refuse(`Query is nested ${depth} levels deep; the limit is ${maxDepth}`);
        if (fields > maxFields) refuse(`Query asks for ${fields} fields; the limit is ${maxFields}`);
      },
    };
  };
}
