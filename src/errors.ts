import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'TOO_MANY_REQUESTS'
  | 'INTERNAL_SERVER_ERROR';

/**
 * A failure the caller can act on. Services throw these; the GraphQL layer turns them into errors with
 * `extensions.code`, the exchange layer into HTTP statuses. Anything else is an internal error and is masked.
 */
export class AppError extends GraphQLError {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    extra: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { code, ...extra } });
    this.name = 'AppError';
  }
}

export const badInput = (field: string, message: string) => new AppError('BAD_USER_INPUT', message, { field });
export const notFound = (what: string, id?: string) =>
  new AppError('NOT_FOUND', `${what} not found`, id === undefined ? {} : { id });
export const conflict = (message: string, extra: Record<string, unknown> = {}) =>
  new AppError('CONFLICT', message, extra);
export const unauthenticated = (message = 'Authentication required') => new AppError('UNAUTHENTICATED', message);
export const tooManyRequests = (message: string, retryAfterSeconds: number) =>
  new AppError('TOO_MANY_REQUESTS', message, { retryAfterSeconds });


export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID.test(v);

/** Ids are UUIDs; a malformed one is the caller's mistake (BAD_USER_INPUT), never a database error. */
export function requireUuid(field: string, value: string): string {
  if (!isUuid(value)) throw badInput(field, 'not a valid id');
  return value.toLowerCase();
}
