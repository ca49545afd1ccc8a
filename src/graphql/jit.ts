import { HeaderMap, type ApolloServerPlugin, type GraphQLRequestListener, type GraphQLResponse } from '@apollo/server';
import type { DocumentNode, ExecutionResult, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * Hot query operations executed by graphql-jit (a query compiled to a JavaScript function) instead of graphql-js, from
 * Apollo's `responseForOperation` hook. Apollo has by then parsed the document, validated it (with sizeLimit) and
 * run every plugin's `didResolveOperation` (textGuard): the jit only replaces execution itself. It answers alone only
 * when its result has no error at all; any error, and the hook answers null so Apollo executes the operation again
 * with graphql-js. Apollo's path thus stays the one place errors are formatted (formatError) and seen by
 * `didEncounterErrors` (auditDenials' DENIED row), so an error answer is byte for byte what it would be without jit.
 *
 * Running an operation twice is harmless because no Query field changes anything a second run would change again
 * (checked 2026-12-06 over every Query and type resolver's call graph). The only writes reachable from queries are
 * idempotent caches: `quarterlyWarning` stores an ended quarter's figures once (insert ... on conflict do nothing,
 * then read back), and a partner key lookup claims one JWKS refresh per cooldown window. A query field that writes
 * (an audit row for a read, say) must be a mutation, or the operations asking it must be kept from the jit here.
 *
 * Compile cost is not the client's to spend at will: a document is compiled only once it has been seen twice (Apollo
 * keeps one parsed document per query text, so the second sighting is the same object), after validation has bounded
 * its size (a 500-field document compiles in 30-40 ms, the people page in 2-5 ms), at most one compile per request,
 * and within a budget of compile time per window (100 ms a 10 s, ~1% of a core): a client sending new documents in
 * pairs finds it spent and gets graphql-js. At most `maxCompiled` compiled operations are kept (least recently used
 * dropped; a dropped one must be seen twice again). A document the jit cannot compile is left to Apollo for good.
 *
 * graphql-jit reads a field that has no resolver as a plain property (getters work), where graphql-js would also
 * call a function found there: no model object the resolvers return has a function under a schema field's name
 * (`count`/`villages` on connections have resolvers of their own); a lazily computed field needs a resolver.
 */

export interface JitOptions {
  /** Compiled operations kept at most. */
  maxCompiled?: number;
  /** Sightings of an operation before it is compiled. */
  hotAfter?: number;
  /** Milliseconds of compiling allowed per `compileWindowMs`; past it, operations wait for the next window. */
  compileBudgetMs?: number;
  compileWindowMs?: number;
  /** The compiler (graphql-jit's compileQuery): the tests give one that fails. */
  compile?: (schema: GraphQLSchema, document: DocumentNode, operationName?: string) => CompiledQuery | ExecutionResult;
}

export interface JitStats {
  /** Operations compiled, and compiles that failed (those operations stay with Apollo). */
  compiled: number;
  compileFailures: number;
  /** Compiles put off because the window's compile budget was spent. */
  overBudget: number;
  /** Requests the jit answered alone. */
  answered: number;
  /** Requests the jit ran whose result had errors, answered again by Apollo. */
  erroredToApollo: number;
}

const stats: JitStats = { compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 0 };

/** Counters since the process started, over every server in it (for tests and diagnostics). */
export function jitStats(): Readonly<JitStats> {
  return { ...stats };
}

interface Entry {
  seen: number;
  compiled?: CompiledQuery;
  /** The jit could not compile it: Apollo executes it, always. */
  never?: true;
}

export function jitExecution<T extends object>(options: JitOptions = {}): ApolloServerPlugin<T> {
  const maxCompiled = options.maxCompiled ?? 100;
  const hotAfter = options.hotAfter ?? 2;
  const compile = options.compile ?? ((schema, document, operationName) => compileQuery(schema, document, operationName));
  const budgetMs = options.compileBudgetMs ?? 100;
  const windowMs = options.compileWindowMs ?? 10_000;
  let windowStart = 0;
  let spentMs = 0;
  // Keyed by the operation's node, which lives in Apollo's cached document: an entry goes when the document does.
  const entries = new WeakMap<OperationDefinitionNode, Entry>();
  // Compiled entries, least recently used first.
  const lru = new Map<Entry, true>();

  const compiledFor = (schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): CompiledQuery | undefined => {
    let entry = entries.get(operation);
    if (!entry) entries.set(operation, (entry = { seen: 0 }));
    if (entry.never) return undefined;
    if (entry.compiled) {
      lru.delete(entry);
      lru.set(entry, true);
      return entry.compiled;
    }
    if (++entry.seen < hotAfter) return undefined;
    const started = performance.now();
    if (started - windowStart >= windowMs) {
      windowStart = started;
      spentMs = 0;
    }
    if (spentMs >= budgetMs) {
      stats.overBudget++;
      return undefined;
    }
    let compiled: CompiledQuery | ExecutionResult;
    try {
      compiled = compile(schema, document, operation.name?.value);
    } catch (e) {
      compiled = { errors: [e as never] };
    }
    spentMs += performance.now() - started;
    if (!isCompiledQuery(compiled)) {
      stats.compileFailures++;
      entry.never = true;
      return undefined;
    }
    stats.compiled++;
    entry.compiled = compiled;
    lru.set(entry, true);
    if (lru.size > maxCompiled) {
      const oldest = lru.keys().next().value!;
      lru.delete(oldest);
      oldest.compiled = undefined;
      oldest.seen = 0;
    }
    return compiled;
  };

  // One listener for every request (it keeps nothing of a request's own).
  const listener: GraphQLRequestListener<T> = {
    async responseForOperation({ schema, document, operation, contextValue, request }): Promise<GraphQLResponse | null> {
      // (Apollo calls this hook even when no operation matched the request's operationName.)
      if (operation?.operation !== 'query') return null;
      const compiled = compiledFor(schema, document, operation);
      if (!compiled) return null;
      let result: ExecutionResult;
      try {
        // As Apollo would call execute: no root value, the request's context and variables.
        result = await compiled.query(undefined, contextValue, request.variables ?? {});
      } catch {
        stats.erroredToApollo++;
        return null;
      }
      if (result.errors?.length) {
        stats.erroredToApollo++;
        return null;
      }
      stats.answered++;
      return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data } } };
    },
  };
  return {
    async requestDidStart() {
      return listener;
    },
  };
}
