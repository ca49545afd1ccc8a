import { execFileSync } from 'node:child_process';

/** Runs `npm run admin -- <args>` from source; returns what it printed (stdout and stderr) and its exit code. */
export function admin(env: NodeJS.ProcessEnv, ...args: string[]): { out: string; code: number } {
  try {
    return { out: execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/admin.ts', ...args], { env, encoding: 'utf8', stdio: 'pipe' }), code: 0 };
  } catch (e) {
    const err = e as { stdout: string; stderr: string; status: number };
    return { out: err.stdout + err.stderr, code: err.status };
  }
}
