// Shared by the benchmark scripts: where results go, a progress bar, result tables.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
/** bench/results, or BENCH_RESULTS_DIR (the benchmarks' own tests write elsewhere). */
export const resultsDir = process.env.BENCH_RESULTS_DIR ?? path.join(benchDir, 'results');
fs.mkdirSync(resultsDir, { recursive: true });

/** Keys for the benchmark database: generated once, kept out of git with the results. */
export const benchSecretsFile = path.join(resultsDir, 'secrets.json');

export function requireDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    process.stderr.write('Benchmarks run against PostgreSQL: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/hl_bench)\n');
    process.exit(2);
  }
  return url;
}

export function machine() {
  const cpus = os.cpus();
  return { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.type()} ${os.release()}` };
}

export class Progress {
  private started = Date.now();
  private last = 0;
  constructor(
    private readonly label: string,
    private readonly total: number,
    private done = 0,
  ) {}

  add(n: number, extra = ''): void {
    this.done += n;
    const now = Date.now();
    if (now - this.last < 250 && this.done < this.total) return;
    this.last = now;
    const frac = Math.min(1, this.done / this.total);
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '-');
    const rate = this.done / Math.max(0.001, (now - this.started) / 1000);
    process.stderr.write(`\r${this.label} [${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${this.done.toLocaleString()}/${this.total.toLocaleString()} ${fmtRate(rate)}/s ${extra}   `);
    if (this.done >= this.total) process.stderr.write('\n');
  }
}

export function fmtRate(perSecond: number): string {
  return perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : perSecond.toFixed(0);
}

export function printTable(rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i]!)).join('  ');
  console.log(line(cols));
  console.log(line(width.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(r[c]))));
}

export function writeResult(name: string, data: unknown): string {
  const file = path.join(resultsDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine: machine(), ...(data as object) }, null, 2));
  return file;
}

/**
 * postgres.js sends COPY data and CopyDone as separate small writes; with Nagle's algorithm on, each COPY then
 * waits for the server's delayed ACK (~40 ms). A socket with TCP_NODELAY avoids that.
 */
export function noDelaySocket(options: { host: string[]; port: number[] }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(options.port[0]!, options.host[0]!);
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const TICK = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** CPU seconds (user + system) a process (or, with `thread`, one of its threads) has used, from /proc; 0 once it is gone. */
function cpuSeconds(pid: number, thread?: number): number {
  try {
    const fields = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICK;
  } catch {
    return 0;
  }
}

/** The server's own PostgreSQL backends (the bench's connections name themselves otherwise). */
async function backends(admin: postgres.Sql, database: string): Promise<number[]> {
  const found = await admin<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database} and application_name = 'hometown-link'`;
  return found.map((r) => r.pid);
}

/** A process and its descendants (a server with SERVER_PROCESSES > 1 is a primary and its workers). */
export function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      for (const task of fs.readdirSync(`/proc/${out[i]}/task`)) {
        const children = fs.readFileSync(`/proc/${out[i]}/task/${task}/children`, 'utf8').trim();
        if (children) out.push(...children.split(' ').map(Number));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU seconds used by a server's processes (all their threads), from /proc. */
function serverCpuSeconds(pids: number[]): number {
  return pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
}

/**
 * CPU used by a server's processes (all their threads, and their main threads alone: the one a Node server is bound
 * by) and by its database backends between two samples (backends opened later start at 0). CPU time, unlike a
 * rate, means something on a machine other work is loading.
 */
export async function cpuMeter(admin: postgres.Sql, pid: number, database: string) {
  const start = new Map((await backends(admin, database)).map((p) => [p, cpuSeconds(p)]));
  const pids = processTree(pid);
  const mainThreads = () => pids.reduce((sum, p) => sum + cpuSeconds(p, p), 0);
  const [node0, main0] = [serverCpuSeconds(pids), mainThreads()];
  return async () => {
    let pg = 0;
    for (const p of await backends(admin, database)) pg += cpuSeconds(p) - (start.get(p) ?? 0);
    return { node: serverCpuSeconds(pids) - node0, nodeMain: mainThreads() - main0, pg };
  };
}
