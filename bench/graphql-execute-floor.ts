// What GraphQL execution alone costs for the people page: the benchmark's selection executed over ready-made objects
// in memory (no database, HTTP or Apollo) and serialised, by graphql-js and by graphql-jit (as src/graphql/jit.ts runs
// hot queries), without and with the policy's field guards (src/graphql/guards.ts) on Person, Agreement and
// StatusReport. A lower bound for the page's CPU per request.
//
//   npx tsx bench/graphql-execute-floor.ts [--pages 2000]
import { buildASTSchema, concatAST, execute, parse, type GraphQLFieldResolver, type GraphQLObjectType } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { guardResolvers } from '../src/graphql/guards';
import { DateScalar } from '../src/graphql/scalars';
import { loadTypeDefs } from '../src/graphql/sdl';

const pages = process.argv.includes('--pages') ? Number(process.argv[process.argv.indexOf('--pages') + 1]) : 2000;
const VILLAGE = '320324103207';

type Resolver = GraphQLFieldResolver<any, { wrap: (v: object) => unknown }>;

// The related rows come from resolvers of their own (the server's read its loaders), as values already known or as
// promises; with `guarded`, the real guards wrap them and every other field of the three types.
function buildSchema(guarded: boolean) {
  const schema = buildASTSchema(concatAST(loadTypeDefs()));
  Object.assign(schema.getType('Date')!, { serialize: DateScalar.serialize });
  const own: Record<string, Record<string, Resolver>> = {
    Person: { activeAgreement: (p, _a, ctx) => ctx.wrap(p.agreement), lastReport: (p, _a, ctx) => ctx.wrap(p.report) },
  };
  const map = (guarded ? guardResolvers(own as never, loadTypeDefs()) : own) as Record<string, Record<string, Resolver>>;
  for (const type of ['Person', 'Agreement', 'StatusReport']) {
    const fields = (schema.getType(type) as GraphQLObjectType).getFields();
    for (const [name, resolve] of Object.entries(map[type] ?? {})) fields[name]!.resolve = resolve;
  }
  return schema;
}

const document = parse(`query($v: String!) { people(filter: { villageCode: $v }, first: 50) { edges { node { id name idNumber phone status
  currentPlace { countyCode } activeAgreement { cadence nextDuePeriod nextDueOn } lastReport { period reportedOn workStatus } } } pageInfo { endCursor } } }`);

function page() {
  const edges = Array.from({ length: 50 }, (_, i) => ({
    cursor: 'c',
    node: {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `姓名${i}`,
      homeVillageCode: VILLAGE,
      idNumber: '320324********0119',
      phone: '138****4195',
      status: 'AWAY',
      currentPlace: { countyCode: '320506' },
      agreement: { cadence: 'QUARTERLY', nextDuePeriod: '2026-Q4', nextDueOn: '2027-01-15', villageCode: VILLAGE },
      report: { period: '2026-Q3', reportedOn: '2026-09-12', workStatus: 'EMPLOYED', villageCode: VILLAGE },
    },
  }));
  return { people: { edges, pageInfo: { endCursor: 'c' } } };
}

const actor = { kind: 'user', userId: 'u', username: 'u', role: 'VILLAGE_OFFICIAL', scope: VILLAGE } as const;

async function measure(label: string, run: () => Promise<string>) {
  for (let i = 0; i < 300; i++) await run();
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < pages; i++) bytes = (await run()).length;
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / pages;
  console.log(`${label}: ${ms.toFixed(3)} ms per page (${bytes} bytes)`);
  return ms;
}

for (const guarded of [false, true]) {
  const schema = buildSchema(guarded);
  const compiled = compileQuery(schema, document);
  if (!isCompiledQuery(compiled)) throw new Error(JSON.stringify(compiled));
  for (const related of ['known', 'promises'] as const) {
    const variableValues = { v: VILLAGE };
    const wrap = related === 'known' ? (v: object) => v : (v: object) => Promise.resolve(v);
    const context = () => ({ caller: { actor }, guarded: new Map(), wrap });
    const viaJs = async () => {
      const r = await execute({ schema, document, rootValue: page(), contextValue: context(), variableValues });
      if (r.errors) throw r.errors[0];
      return JSON.stringify(r);
    };
    const viaJit = async () => {
      const r = await compiled.query(page(), context(), variableValues);
      if (r.errors) throw r.errors[0];
      return JSON.stringify(r);
    };
    if ((await viaJs()) !== (await viaJit())) throw new Error('graphql-js and graphql-jit answer differently');
    const what = `${guarded ? 'with field guards' : 'no guards'}, related rows ${related === 'known' ? 'known (synchronous)' : 'as promises (two per person)'}`;
    const js = await measure(`graphql-js  ${what}`, viaJs);
    const jit = await measure(`graphql-jit ${what}`, viaJit);
    console.log(`  -> jit ${(js / jit).toFixed(1)}x faster`);
  }
}
