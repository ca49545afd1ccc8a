import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isIsoDate } from '../calendar';
import { badInput } from '../errors';

function literal(ast: ValueNode): unknown {
  return ast.kind === Kind.STRING ? ast.value : undefined;
}

function parseDate(v: unknown): string {
  if (typeof v !== 'string' || !isIsoDate(v)) throw badInput('date', `not a date (YYYY-MM-DD): ${String(v)}`);
  return v;
}

function parseDateTime(v: unknown): Date {
  const d = typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? new Date(v) : undefined;
  // Years before 1900 or after 2999 are typing mistakes here (and year 0 is outside what PostgreSQL stores).
  if (!d || Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1900 || d.getUTCFullYear() > 2999) throw badInput('dateTime', `not an ISO 8601 date-time: ${String(v)}`);
  return d;
}

export const DateScalar = new GraphQLScalarType<string, string>({
  name: 'Date',
  serialize: (v) => (v instanceof Date ? v.toISOString().slice(0, 10) : String(v)),
  parseValue: parseDate,
  parseLiteral: (ast) => parseDate(literal(ast)),
});

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  serialize: (v) => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(literal(ast)),
});

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (v) => v,
  parseValue: (v) => v,
  parseLiteral: () => {
    throw badInput('json', 'JSON input is not accepted');
  },
});
