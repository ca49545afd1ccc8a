import { startTestServer, type TestServer } from './server';

/** A test server that keeps every SQL statement it sends (`statements`, emptied by the test when it likes). */
export async function startRecordingServer(env: Record<string, string> = {}): Promise<{ t: TestServer; statements: string[] }> {
  const statements: string[] = [];
  const t = await startTestServer(env, { onQuery: (q) => statements.push(q) });
  return { t, statements };
}

/** The tables whose rows these statements locked (`for update`), in order. */
export const rowLocks = (statements: string[]): string[] => statements.filter((q) => /for update/i.test(q)).map((q) => /from "(\w+)"/.exec(q)![1]!);
