import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, visit, type DocumentNode } from 'graphql';
import { badInput } from '../errors';

// C0 controls other than tab, line feed and carriage return, and DEL: nothing a person types, and NUL is refused by
// PostgreSQL text columns (it would surface as an internal error, with the statement in the driver's message).
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;

function findControl(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return CONTROL.test(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) {
      const hit = findControl(v, `${path}.${i}`);
      if (hit) return hit;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const hit = findControl(v, path ? `${path}.${k}` : k);
      if (hit) return hit;
    }
  }
  return undefined;
}

/** Apollo reuses the parsed document of a query it has seen, so its literals are checked once, not per request. */
const literalsChecked = new WeakMap<DocumentNode, boolean>();

function literalWithControl(document: DocumentNode): boolean {
  const known = literalsChecked.get(document);
  if (known !== undefined) return known;
  let found = false;
  visit(document, {
    [Kind.STRING]: (node) => {
      if (CONTROL.test(node.value)) found = true;
    },
  });
  literalsChecked.set(document, found);
  return found;
}

/** Refuses control characters anywhere in a request's text, as BAD_USER_INPUT naming the variable. */
export function textGuard<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const inVariables = findControl(request.variables ?? {}, '');
          if (inVariables) throw badInput(inVariables, 'contains control characters');
          if (literalWithControl(document)) throw badInput('query', 'contains control characters');
        },
      };
    },
  };
}
