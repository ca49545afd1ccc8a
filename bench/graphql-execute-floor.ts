// What graphql-js alone costs for the people page: the benchmark's selection executed over ready-made objects in
// memory (no database, HTTP, Apollo or guards) and serialised. A lower bound for the page's CPU per request.
//
//   npx tsx bench/graphql-execute-floor.ts [--pages 2000]
import { buildASTSchema, concatAST, execute, parse } from 'graphql';
import { DateScalar } from '../src/graphql/scalars';
import { loadTypeDefs } from '../src/graphql/sdl';

const pages = process.argv.includes('--pages') ? Number(process.argv[process.argv.indexOf('--pages') + 1]) : 2000;
const schema = buildASTSchema(concatAST(loadTypeDefs()));
Object.assign(schema.getType('Date')!, { serialize: DateScalar.serialize });
const document = parse(`query($v: String!) { people(filter: { villageCode: $v }, first: 50) { edges { node { id name idNumber phone status
  currentPlace { countyCode } activeAgreement { cadence nextDuePeriod nextDueOn } lastReport { period reportedOn workStatus } } } pageInfo { endCursor } } }`);

function page(related: (v: object) => unknown) {
  const edges = Array.from({ length: 50 }, (_, i) => ({
    cursor: 'c',
    node: {
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      name: `姓名${i}`,
      idNumber: '320324********0119',
      phone: '138****4195',
      status: 'AWAY',
      currentPlace: { countyCode: '320506' },
      activeAgreement: () => related({ cadence: 'QUARTERLY', nextDuePeriod: '2026-Q4', nextDueOn: '2027-01-15' }),
      lastReport: () => related({ period: '2026-Q3', reportedOn: '2026-09-12', workStatus: 'EMPLOYED' }),
    },
  }));
  return { people: { edges, pageInfo: { endCursor: 'c' } } };
}

async function measure(label: string, related: (v: object) => unknown) {
  const once = async () => {
    const r = await execute({ schema, document, rootValue: page(related), variableValues: { v: '320324103207' } });
    if (r.errors) throw r.errors[0];
    return JSON.stringify(r).length;
  };
  for (let i = 0; i < 300; i++) await once();
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (let i = 0; i < pages; i++) bytes = await once();
  const ms = Number(process.hrtime.bigint() - started) / 1e6 / pages;
  console.log(`${label}: ${ms.toFixed(3)} ms per page (${bytes} bytes)`);
}

await measure('related rows known (synchronous fields)', (v) => v);
await measure('related rows as promises (two per person)', (v) => Promise.resolve(v));
