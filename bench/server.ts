// Starts a registry server as a child process for the benchmarks (so the load client does not share its thread).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { benchDir, processTree } from './lib';

export interface BenchServer {
  url: string;
  process: ChildProcess;
  /** Processes serving requests, counted from the server's process tree (SERVER_PROCESSES' workers, or the one). */
  processes: number;
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string): Promise<{ data?: T; errors?: unknown[] }>;
  login(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

let bundle: string | undefined;

/**
 * The bundle `npm start` runs (its build script), built once per benchmark run into a folder of the run's own under
 * dist/ (the tests build dist/ itself at the same time); removed when the run ends.
 */
function buildBundle(): string {
  const root = path.join(benchDir, '..');
  const outdir = path.join('dist', `bench-${process.pid}`);
  execFileSync('npm', ['run', '-s', 'build', '--', `--outdir=${outdir}`], { cwd: root, stdio: 'inherit' });
  process.once('exit', () => fs.rmSync(path.join(root, outdir), { recursive: true, force: true }));
  return path.join(root, outdir, 'main.js');
}

/** The Node flags `npm start` gives the server (package.json's start script), so a benchmark runs what ships. */
function startFlags(): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(benchDir, '../package.json'), 'utf8')).scripts.start;
  const [node, ...rest] = start.trim().split(/\s+/);
  if (node !== 'node' || rest.at(-1) !== 'dist/main.js') throw new Error(`unexpected start script: ${start}`);
  return rest.slice(0, -1);
}

/** Runs the server as `npm start` does: from the bundle (buildBundle), with its Node flags. */
export async function startBenchServer(env: Record<string, string>): Promise<BenchServer> {
  bundle ??= buildBundle();
  const port = env.PORT ? Number(env.PORT) : await freePort();
  const url = `http://127.0.0.1:${port}`;
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...startFlags(), ...nodeArgs, bundle], {
    env: { ...process.env, NODE_ENV: 'production', LOG_LEVEL: 'warn', PORT: String(port), HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - started > 60_000) throw new Error('server did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const gql: BenchServer['gql'] = async (query, variables, token) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return res.json() as Promise<{ data?: any; errors?: unknown[] }>;
  };
  return {
    url,
    process: child,
    processes: Math.max(1, processTree(child.pid!).length - 1),
    gql,
    async login(username, password) {
      const r = await gql('mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }', { u: username, p: password });
      if (!r.data?.login) throw new Error(`login ${username}: ${JSON.stringify(r.errors)}`);
      return r.data.login.token;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
