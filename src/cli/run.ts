import { boot, type Booted } from '../bootstrap';
import { ConfigError, loadConfig } from '../config';
import { AppError } from '../errors';
import { createLogger, safeError } from '../logger';

/** Boots the registry without HTTP, runs one command against it, and closes it again. */
export async function withRegistry(task: (booted: Booted) => Promise<void>): Promise<void> {
  let booted: Booted | undefined;
  try {
    const config = loadConfig();
    booted = await boot(config, { logger: createLogger(process.env.LOG_LEVEL ?? 'warn') });
    await task(booted);
  } catch (e) {
    process.exitCode = 1;
    if (e instanceof ConfigError) process.stderr.write(`${e.message}\n`);
    else if (e instanceof AppError || !(e instanceof Error)) process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    // A failed statement's message can carry personal data: only its SQLSTATE and names are shown.
    else process.stderr.write(`error: ${JSON.stringify(safeError(e).type === 'DatabaseError' ? safeError(e) : e.message)}\n`);
  } finally {
    await booted?.database.close();
  }
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function print(value: unknown): void {
  process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
}
