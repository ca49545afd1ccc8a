import { ApolloServer } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { compileQuery } from 'graphql-jit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate } from '../../src/auth/service';
import { createContext, type GraphQLContext } from '../../src/graphql/context';
import { jitExecution, jitStats, type JitOptions, type JitStats } from '../../src/graphql/jit';
import { resolvers } from '../../src/graphql/resolvers';
import { loadTypeDefs } from '../../src/graphql/sdl';
import { startServer, type RunningServer } from '../../src/server';
import { activeAgreement, register, SUBMIT } from '../helpers/registry';
import { SEED, startTestServer, type TestServer } from '../helpers/server';

// One database, two servers on it: `t` executes hot queries with graphql-jit (the default), `off` has GRAPHQL_JIT=false.
let t: TestServer;
let off: RunningServer;
let official: { token: string };
let admin: { token: string };
let personId: string;
beforeAll(async () => {
  let q1 = '';
  t = await startTestServer();
  off = await startServer({ ...t.config, graphqlJit: false }, { database: t.database, secrets: t.server.deps.secrets, logger: t.server.deps.logger });
  official = await t.user({ role: 'VILLAGE_OFFICIAL', scope: SEED.villageWangji });
  admin = await t.user({ role: 'COUNTY_ADMIN' });
  for (let i = 0; i < 12; i++) {
    const p = await register(t, official.token, { name: `人${String(i).padStart(2, '0')}`, homeVillageCode: SEED.villageWangji });
    if (i % 4 === 3) continue; // some without an agreement
    await activeAgreement(t, official.token, p.id, { validFrom: '2026-01-01' });
    if (i % 2 === 0) q1 = (await t.gql(SUBMIT, { input: { personId: p.id, period: '2026-Q1', arrival: 'PHONE' } }, official.token)).data!.submitStatusReport.id;
    personId = p.id;
  }
  // The last one reports for Q2 and corrects Q1: history and superseded reports.
  for (const input of [{ period: '2026-Q2' }, { period: '2026-Q1', amends: q1 }]) {
    const r = await t.gql(SUBMIT, { input: { personId, arrival: 'LIAISON', ...input } }, official.token);
    expect(r.errors).toBeUndefined();
  }
}, 120_000);
afterAll(async () => {
  await off?.close();
  await t?.close();
});

/** The response body exactly as sent. */
async function raw(url: string, query: string, variables: Record<string, unknown>, token: string): Promise<string> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return `${res.status} ${await res.text()}`;
}

function delta(before: JitStats): JitStats {
  const now = jitStats();
  return {
    compiled: now.compiled - before.compiled,
    compileFailures: now.compileFailures - before.compileFailures,
    overBudget: now.overBudget - before.overBudget,
    answered: now.answered - before.answered,
    erroredToApollo: now.erroredToApollo - before.erroredToApollo,
  };
}

const QUERIES: Record<string, { query: string; variables: () => Record<string, unknown> }> = {
  'people page with agreement and last report': {
    query: `query($first: Int) { people(first: $first) { totalCount edges { cursor node { id name idNumber phone status departureDate updatedAt
      currentPlace { countyCode town area } homeVillage { code name }
      activeAgreement { id cadence status validFrom nextDuePeriod nextDueOn official { displayName } depositComplaints { id } }
      lastReport { period reportedOn arrival superseded workStatus needs createdAt } reportStatus { state } } } pageInfo { endCursor hasNextPage } } }`,
    variables: () => ({ first: 50 }),
  },
  'person with history': {
    query: `query($id: ID!) { person(id: $id) { id name dependants { relation } consents { kind method givenOn withdrawnAt }
      agreements { id version status allowedActions activatedAt history { action at actorType actorRole details } officialSignature { method } }
      statusReports(includeSuperseded: true) { edges { node { period arrival superseded supersedes { period arrival } createdAt } } } } }`,
    variables: () => ({ id: personId }),
  },
  overdueReports: {
    query: `{ overdueReports(first: 20) { asOf totalCount edges { node { period dueOn daysOverdue person { name lastReport { period } } agreement { cadence } } }
      byVillage { village { code name parent { name } } active overdue dueSoon } pageInfo { endCursor } } }`,
    variables: () => ({}),
  },
  'fragments, aliases, @include/@skip and variables': {
    query: `query Page($first: Int!, $withReport: Boolean!, $noPhone: Boolean = true) {
        first: people(first: $first) { edges { node { ...Who ...Related @include(if: $withReport) phone @skip(if: $noPhone) } } }
        again: people(first: 3, filter: { namePrefix: "人0" }) { edges { node { who: name ... on Person { ...Who } } } }
        me { username role } serverInfo { countyCode countyName }
      }
      fragment Who on Person { id name homeVillage { name } }
      fragment Related on Person { activeAgreement { cadence nextDueOn } lastReport { period } reportStatus { state } }`,
    variables: () => ({ first: 5, withReport: true }),
  },
  '__typename and a list of divisions': {
    query: `{ __typename divisions(parentCode: "${SEED.townWangji}") { __typename code name level } }`,
    variables: () => ({}),
  },
};

describe('graphql-jit execution of hot queries', () => {
  for (const [name, { query, variables }] of Object.entries(QUERIES)) {
    it(`answers ${name} byte for byte as graphql-js does, from the second time on by the jit`, async () => {
      const asOff = await raw(off.url, query, variables(), official.token);
      expect(asOff).toMatch(/^200 \{"data":/);
      expect(asOff).not.toContain('"errors"');
      const before = jitStats();
      const first = await raw(t.url, query, variables(), official.token);
      expect(delta(before)).toMatchObject({ compiled: 0, answered: 0 });
      const second = await raw(t.url, query, variables(), official.token);
      const third = await raw(t.url, query, variables(), official.token);
      expect(delta(before)).toEqual({ compiled: 1, compileFailures: 0, overBudget: 0, answered: 2, erroredToApollo: 0 });
      expect(first).toBe(asOff);
      expect(second).toBe(asOff);
      expect(third).toBe(asOff);
    });
  }

  it('leaves every operation to graphql-js when GRAPHQL_JIT=false', async () => {
    const { query, variables } = QUERIES['people page with agreement and last report']!;
    const before = jitStats();
    for (let i = 0; i < 3; i++) await raw(off.url, query, variables(), official.token);
    expect(delta(before)).toEqual({ compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 0 });
  });

  it('gives a refused field the same formatted error and exactly one DENIED audit row a request, as without jit', async () => {
    const query = `query Refused { people(first: 2) { edges { node { name } } } auditLog(first: 1) { edges { cursor } } }`;
    const denied = async () => {
      const r = await t.gql(`{ auditLog(filter: { outcome: DENIED, action: "audit.read" }, first: 200) { edges { node { details } } } }`, {}, admin.token);
      return r.data!.auditLog.edges.filter((e: any) => e.node.details.operation === 'Refused').length;
    };
    const asOff = await raw(off.url, query, {}, official.token);
    expect(asOff).toMatch(/^200 \{"errors":\[\{"message":"[^"]+","locations":\[.*"path":\["auditLog"\],"extensions":\{"code":"FORBIDDEN"/);
    expect(asOff).toMatch(/"data":null\}\s*$/); // (auditLog is non-null)
    expect(await denied()).toBe(1);
    const seen: JitStats[] = [];
    for (let i = 1; i <= 3; i++) {
      const before = jitStats();
      expect(await raw(t.url, query, {}, official.token)).toBe(asOff);
      seen.push(delta(before));
      expect(await denied()).toBe(1 + i);
    }
    // Compiled on its second sighting; then twice the jit's answer had the error and Apollo answered instead.
    expect(seen).toEqual([
      { compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 0 },
      { compiled: 1, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 1 },
      { compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 1 },
    ]);
  });

  it('leaves bad variables of a hot query to Apollo, which answers as without jit', async () => {
    const query = `query($id: ID!) { person(id: $id) { name } }`;
    const asOff = await raw(off.url, query, { id: ['not', 'an', 'id'] }, official.token);
    expect(asOff).toMatch(/^400 \{"errors":\[\{"message":"Variable \\"\$id\\" got invalid value/);
    await raw(t.url, query, { id: personId }, official.token);
    const before = jitStats();
    for (let i = 0; i < 2; i++) expect(await raw(t.url, query, { id: ['not', 'an', 'id'] }, official.token)).toBe(asOff);
    expect(delta(before)).toMatchObject({ compiled: 1, answered: 0, erroredToApollo: 2 });
  });

  it('never executes a mutation', async () => {
    const mutation = `mutation($id: ID!, $input: UpdatePersonInput!) { updatePerson(id: $id, input: $input) { id employer } }`;
    const before = jitStats();
    for (let i = 0; i < 3; i++) {
      const r = await t.gql(mutation, { id: personId, input: { employer: `厂${i}` } }, official.token);
      expect(r.errors).toBeUndefined();
      expect(r.data?.updatePerson.employer).toBe(`厂${i}`);
    }
    expect(delta(before)).toEqual({ compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 0 });
  });

  it('leaves a query with an unknown operation name to Apollo, which reports it', async () => {
    const query = `query A { __typename } query B { __typename }`;
    const before = jitStats();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${t.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${official.token}` },
        body: JSON.stringify({ query, operationName: 'C' }),
      });
      answers.push(await res.json());
    }
    expect(answers[2]).toEqual(answers[0]);
    expect((answers[0] as any).errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(delta(before)).toEqual({ compiled: 0, compileFailures: 0, overBudget: 0, answered: 0, erroredToApollo: 0 });
  });
});

describe('compiling', () => {
  // Apollo with the server's schema and resolvers (Apollo's default formatting) and the plugin with options of the
  // test's: a compiler that fails as graphql-jit does for what it does not support (an error result) or by throwing,
  // a small cache, a small compile budget.
  async function apolloWith(options: JitOptions) {
    const apollo = new ApolloServer<GraphQLContext>({ typeDefs: loadTypeDefs(), resolvers, plugins: [jitExecution<GraphQLContext>(options)] });
    await apollo.start();
    return apollo;
  }
  async function runner(apollo: ApolloServer<GraphQLContext>) {
    const actor = await authenticate(t.server.deps, official.token);
    return async (query: string) => {
      const contextValue = createContext(t.server.deps, { actor, ip: '127.0.0.1', requestId: 'jit-test' });
      const r = await apollo.executeOperation({ query, variables: { id: personId } }, { contextValue });
      return JSON.stringify(r.body);
    };
  }

  for (const [how, compile] of [
    ['returns errors', () => ({ errors: [new GraphQLError('unsupported by the jit')] })],
    [
      'throws',
      () => {
        throw new Error('compiler bug');
      },
    ],
  ] as const) {
    it(`leaves a document to Apollo, every time, when the compiler ${how}`, async () => {
      let compiles = 0;
      const apollo = await apolloWith({
        compile: (() => {
          compiles++;
          return compile();
        }) as never,
      });
      try {
        const execute = await runner(apollo);
        const run = () => execute(`query($id: ID!) { person(id: $id) { name activeAgreement { cadence } } }`);
        const before = jitStats();
        const answers = [await run(), await run(), await run(), await run()];
        expect(answers[0]).toMatch(/"data":\{"person":\{"name":"人\d\d","activeAgreement":\{"cadence":"QUARTERLY"\}\}\}/);
        expect(new Set(answers).size).toBe(1);
        // Tried once, on the second sighting, and never again.
        expect(compiles).toBe(1);
        expect(delta(before)).toEqual({ compiled: 0, compileFailures: 1, overBudget: 0, answered: 0, erroredToApollo: 0 });
      } finally {
        await apollo.stop();
      }
    });
  }

  it('keeps at most maxCompiled compiled operations, dropping the least recently used', async () => {
    const apollo = await apolloWith({ maxCompiled: 1 });
    try {
      const execute = await runner(apollo);
      const a = `query($id: ID!) { person(id: $id) { id } }`;
      const b = `query($id: ID!) { person(id: $id) { id name } }`;
      const before = jitStats();
      for (const q of [a, a, a]) await execute(q);
      expect(delta(before)).toMatchObject({ compiled: 1, answered: 2 });
      for (const q of [b, b]) await execute(q); // b compiled, a dropped
      expect(delta(before)).toMatchObject({ compiled: 2, answered: 3 });
      await execute(a); // seen anew: Apollo
      expect(delta(before)).toMatchObject({ compiled: 2, answered: 3 });
      await execute(a); // hot again: compiled again, b dropped
      await execute(b);
      expect(delta(before)).toMatchObject({ compiled: 3, answered: 4 });
    } finally {
      await apollo.stop();
    }
  });

  it('waits for the next window once the compile budget is spent, answered by Apollo meanwhile', async () => {
    // A compiler that takes 5 ms, and a budget of 1 ms a minute: the first compile goes through and spends it.
    const slowCompile: NonNullable<JitOptions['compile']> = (schema, document, name) => {
      const until = performance.now() + 5;
      while (performance.now() < until);
      return compileQuery(schema, document, name);
    };
    const apollo = await apolloWith({ compile: slowCompile, compileBudgetMs: 1, compileWindowMs: 60_000 });
    try {
      const execute = await runner(apollo);
      const a = `query($id: ID!) { person(id: $id) { name } }`;
      const b = `query($id: ID!) { person(id: $id) { name status } }`;
      const before = jitStats();
      const answersA = [await execute(a), await execute(a), await execute(a)];
      expect(delta(before)).toMatchObject({ compiled: 1, overBudget: 0, answered: 2 });
      const answersB = [await execute(b), await execute(b), await execute(b)];
      expect(delta(before)).toMatchObject({ compiled: 1, overBudget: 2, answered: 2 });
      expect(new Set(answersA).size).toBe(1);
      expect(new Set(answersB).size).toBe(1);
      expect(answersB[0]).toMatch(/"person":\{"name":"[^"]+","status":"AWAY"\}/);
    } finally {
      await apollo.stop();
    }
  });
});
