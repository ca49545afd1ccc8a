// Cold start of the embedded default: time from process start to a 200 on /readyz, on PGlite with the demo seed,
// and the server's peak resident memory after serving a few pages.
//
//   npx tsx bench/cold-start.ts [--runs 5]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchDir, printTable, writeResult } from './lib';
import { freePort, startBenchServer } from './server';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function peakRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const runs = arg('runs', 5);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hl-cold-'));
  const env = { DATA_DIR: dataDir, DATABASE_URL: '' };
  process.stderr.write('seeding the demo data (not timed)...\n');
  const seedOut = execFileSync(process.execPath, ['--import', 'tsx', path.join(benchDir, '../src/cli/admin.ts'), 'seed-demo'], { env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8' });
  const login = /^\s+(cun-\S+)\s+(\S+)/m.exec(seedOut)!;
  const results = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const server = await startBenchServer({ ...env, PORT: String(await freePort()) });
    const readyMs = performance.now() - t0;
    const token = await server.login(login[1]!, login[2]!);
    for (let j = 0; j < 20; j++) {
      await server.gql('{ people(first: 50) { edges { node { name activeAgreement { nextDueOn } lastReport { period } } } } }', {}, token);
    }
    const rss = peakRssMiB(server.process.pid!);
    await server.stop();
    results.push({ run: i + 1, readyMs: Math.round(readyMs), peakRssMiB: rss });
  }
  printTable(results);
  const summary = { medianReadyMs: median(results.map((r) => r.readyMs)), medianPeakRssMiB: median(results.map((r) => r.peakRssMiB)), goalReadyMs: 3000 };
  console.log(summary);
  console.log(`results: ${writeResult('cold-start', { runs: results, ...summary })}`);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

await main();
