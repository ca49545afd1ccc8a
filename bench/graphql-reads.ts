// GraphQL read throughput and latency at county scale, each figure next to the floor of a trivial `{ __typename }`
// query on the same server in the same run. Run bench/generate.ts first.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/hl_bench npx tsx bench/graphql-reads.ts [--seconds 10] [--connections 50]
import autocannon from 'autocannon';
import postgres from 'postgres';
import { BENCH_PASSWORD, townCode, villageCode } from './county';
import { benchSecretsFile, cpuMeter, fmtRate, printTable, requireDatabaseUrl, writeResult } from './lib';
import { startBenchServer } from './server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

interface Scenario {
  name: string;
  token?: string;
  query: string;
  variables?: Record<string, unknown>;
  /** Latency goal for p99, in ms, where the issue sets one. */
  p99Goal?: number;
  ratioGoal?: number;
  /** Overrides the run's concurrency (the dashboard's goal is a single request's latency). */
  connections?: number;
}

const PEOPLE_PAGE = `query($v: String!) { people(filter: { villageCode: $v }, first: 50) { edges { node { id name idNumber phone status
  currentPlace { countyCode } activeAgreement { cadence nextDuePeriod nextDueOn } lastReport { period reportedOn workStatus } } } pageInfo { endCursor } } }`;
const OVERDUE = `query($v: String) { overdueReports(villageCode: $v, first: 50) { edges { node { person { id name phone } period dueOn daysOverdue } } pageInfo { endCursor } } }`;
const DASHBOARD = `query($t: String!) { supervisionDashboard(townCode: $t, period: "2026-Q3") { asOf complete
  villages { village { code name } activeAgreements reportsDue reportsOnTime reportsOverdue overdueRate checksDone brokenCommitments openDepositComplaints }
  totals { activeAgreements reportsOverdue overdueRate } } }`;
const PERSON = `query($id: ID!) { person(id: $id) { id name idNumber phone status currentPlace { countyCode town } employer homeVillage { name }
  dependants { relation ageBand } consents { kind scope } agreements { version status cadence validFrom history { action at actorRole } }
  statusReports(first: 50) { edges { node { period arrival reportedOn workStatus needs } } } reportStatus { state dueOn } } }`;

/**
 * CPU per request of the server (all its processes and threads) and of its PostgreSQL backends, from /proc: far
 * less noisy on a shared machine than throughput.
 */
async function run(url: string, meter: () => ReturnType<typeof cpuMeter>, s: Scenario, seconds: number, connections: number) {
  const measured = await meter();
  const result = await autocannon({
    url: `${url}/graphql`,
    method: 'POST',
    connections,
    duration: seconds,
    // a slow scenario (the dashboard at 50 clients) should show its latency, not autocannon's 10 s timeouts
    timeout: 60,
    headers: { 'content-type': 'application/json', ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) },
    body: JSON.stringify({ query: s.query, variables: s.variables ?? {} }),
  });
  const used = await measured();
  const perRequest = (cpuSeconds: number) => (cpuSeconds * 1000) / result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMsPerRequest: perRequest(used.node),
    pgCpuMsPerRequest: perRequest(used.pg),
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

async function main() {
  const url = requireDatabaseUrl();
  const seconds = arg('seconds', 10);
  const connections = arg('connections', 50);
  // One server process per core unless SERVER_PROCESSES says otherwise: a deployment on PostgreSQL would use them.
  const server = await startBenchServer({
    DATABASE_URL: url,
    SECRETS_FILE: benchSecretsFile,
    DATABASE_POOL_MAX: '20',
    ACCESS_TOKEN_TTL_SECONDS: '3600',
    SERVER_PROCESSES: process.env.SERVER_PROCESSES ?? 'auto',
  });
  process.stderr.write(`server processes: ${server.processes}\n`);
  const pgAdmin = postgres(url, { max: 1, onnotice: () => {} });
  const database = new URL(url).pathname.slice(1);
  try {
    const village = villageCode(3, 7);
    const official = await server.login(`off-${village}`, BENCH_PASSWORD);
    const supervisor = await server.login(`sup-${townCode(3)}`, BENCH_PASSWORD);
    const admin = await server.login('bench-admin', BENCH_PASSWORD);
    const first = await server.gql(`query($v: String!) { people(filter: { villageCode: $v }, first: 1) { edges { node { id } } } }`, { v: village }, official);
    const personId = first.data.people.edges[0].node.id;
    const scenarios: Scenario[] = [
      { name: 'floor: { __typename }', query: '{ __typename }' },
      { name: "village official's people page (50)", token: official, query: PEOPLE_PAGE, variables: { v: village }, p99Goal: 50, ratioGoal: 0.3 },
      { name: 'overdueReports first page, county', token: admin, query: OVERDUE, variables: {}, p99Goal: 50 },
      { name: 'overdueReports first page, village', token: official, query: OVERDUE, variables: { v: village }, p99Goal: 50 },
      { name: 'one person with full history', token: official, query: PERSON, variables: { id: personId } },
      { name: 'supervision dashboard, town (1 client)', token: supervisor, query: DASHBOARD, variables: { t: townCode(3) }, p99Goal: 300, connections: 1 },
      // Last: when its time is up, dashboards still queued on the server run on for seconds and would slow whatever came next.
      { name: 'supervision dashboard, town', token: supervisor, query: DASHBOARD, variables: { t: townCode(3) } },
    ];
    const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1]! : '';
    const rows = [];
    let floor = 0;
    for (const s of scenarios.filter((x, i) => i === 0 || x.name.includes(only))) {
      const check = await server.gql(s.query, s.variables, s.token);
      if (check.errors) throw new Error(`${s.name}: ${JSON.stringify(check.errors)}`);
      process.stderr.write(`${s.name}: ${seconds}s at ${connections} connections...\n`);
      const r = await run(server.url, () => cpuMeter(pgAdmin, server.process.pid!, database), s, seconds, s.connections ?? connections);
      if (!floor) floor = r.rps;
      rows.push({ scenario: s.name, ...r, ratio: r.rps / floor, p99Goal: s.p99Goal ?? null, ratioGoal: s.ratioGoal ?? null });
    }
    printTable(
      rows.map((r) => ({
        scenario: r.scenario,
        'req/s': fmtRate(r.rps),
        'x floor': r.ratio.toFixed(2),
        'p50 ms': r.p50,
        'p99 ms': r.p99,
        'server CPU ms/req': r.cpuMsPerRequest.toFixed(2),
        'PostgreSQL CPU ms/req': r.pgCpuMsPerRequest.toFixed(2),
        goal: [r.ratioGoal ? `>= ${r.ratioGoal} x floor` : '', r.p99Goal ? `p99 <= ${r.p99Goal} ms` : ''].filter(Boolean).join(', ') || '-',
        errors: r.non2xx + r.errors,
      })),
    );
    console.log(`results: ${writeResult('graphql-reads', { seconds, connections, serverProcesses: server.processes, scenarios: rows })}`);
  } finally {
    await server.stop();
    await pgAdmin.end();
  }
}

await main();
