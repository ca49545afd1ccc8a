// Shared by the benchmark scripts: where results go, a progress bar, result tables.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const benchDir = path.dirname(fileURLToPath(import.meta.url));
export const resultsDir = path.join(benchDir, 'results');
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
