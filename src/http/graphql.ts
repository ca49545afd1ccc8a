import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { unwrapResolverError } from '@apollo/server/errors';
import { expressMiddleware } from '@as-integrations/express5';
import type { GraphQLFormattedError } from 'graphql';
import { auditStandalone } from '../audit/service';
import { authenticate } from '../auth/service';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { createContext, type GraphQLContext } from '../graphql/context';
import { jitExecution } from '../graphql/jit';
import { sizeLimit } from '../graphql/size-limit';
import { textGuard } from '../graphql/text-guard';
import { resolvers } from '../graphql/resolvers';
import { loadTypeDefs } from '../graphql/sdl';
import { PolicyDenied } from '../policy/policy';

/** Apollo's own codes for mistakes in the request itself: safe to show as they are. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

/**
 * Refusals by the policy are worth an audit row (the refused change itself left none): one per request, however
 * many fields were refused, so a request full of refused aliases cannot flood the chain.
 */
function auditDenials(deps: Deps): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          const denied = errors.flatMap((e) => {
            const original = unwrapResolverError(e);
            return original instanceof PolicyDenied ? [{ action: original.action, path: e.path?.join('.') ?? null }] : [];
          });
          if (denied.length === 0 || !contextValue) return;
          await auditStandalone(deps.db, contextValue.caller, {
            action: denied[0]!.action,
            outcome: 'DENIED',
            details: { operation: operationName ?? null, path: denied[0]!.path, refusals: denied.length, actions: [...new Set(denied.map((d) => d.action))].slice(0, 20) },
          });
        },
      };
    },
  };
}

/** Apollo wraps errors (resolver errors, "Context creation failed"); find ours underneath. */
function appErrorIn(error: unknown): AppError | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof AppError) return e;
    e = (e as { originalError?: unknown }).originalError;
  }
  return undefined;
}

export function createApollo(deps: Deps, httpServer: http.Server): ApolloServer<GraphQLContext> {
  const { config, logger } = deps;
  return new ApolloServer<GraphQLContext>({
    typeDefs: loadTypeDefs(),
    resolvers,
    introspection: !config.isProduction,
    // Without introspection, "Did you mean ...?" suggestions would still let a stranger map the schema field by field.
    hideSchemaDetailsFromClientErrors: config.isProduction,
    // main.ts owns SIGTERM/SIGINT: it stops Apollo, then the workers and the database, then exits 0.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    validationRules: [sizeLimit(config.graphqlMaxDepth, config.graphqlMaxFields)],
    logger: {
      debug: (m) => logger.debug(m),
      info: (m) => logger.info(m),
      warn: (m) => logger.warn(m),
      error: (m) => logger.error(m),
    },
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // No HTTP caching of personal data, and without it Apollo stops wrapping every field resolver.
      ApolloServerPluginCacheControlDisabled(),
      ...(config.isProduction ? [ApolloServerPluginLandingPageDisabled()] : []),
      auditDenials(deps),
      textGuard<GraphQLContext>(),
      // Last: its responseForOperation runs after every plugin's didResolveOperation, and errors go back to Apollo.
      ...(config.graphqlJit ? [jitExecution<GraphQLContext>()] : []),
    ],
    formatError: (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
      const original = appErrorIn(error) ?? unwrapResolverError(error);
      if (original instanceof AppError) {
        const { http: _status, ...extensions } = original.extensions;
        return { message: original.message, locations: formatted.locations, path: formatted.path, extensions };
      }
      const code = formatted.extensions?.code;
      if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
        return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } };
      }
      // The message of an internal error can carry personal data (a failed statement's values): never sent.
      logger.error({ err: original }, 'internal error in GraphQL request');
      return {
        message: 'Internal server error',
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: 'INTERNAL_SERVER_ERROR' },
      };
    },
  });
}

/** Failing before any resolver runs: answer HTTP 401 rather than Apollo's default 500. */
function unauthenticatedRequest(message: string): AppError {
  return new AppError('UNAUTHENTICATED', message, { http: { status: 401 } });
}

export function graphqlMiddleware(deps: Deps, apollo: ApolloServer<GraphQLContext>) {
  return expressMiddleware(apollo, {
    context: async ({ req }) => {
      const header = req.get('authorization');
      const bearer = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (header && !bearer) throw unauthenticatedRequest('Authorization header must be "Bearer <token>"');
      const actor = await authenticate(deps, bearer).catch((e: unknown) => {
        throw e instanceof AppError ? unauthenticatedRequest(e.message) : e;
      });
      return createContext(deps, { actor, ip: req.ip, requestId: req.id });
    },
  });
}
