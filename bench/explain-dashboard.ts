// EXPLAIN ANALYZE of the town dashboard's statement on the benchmark county (bench/generate.ts first), and the
// wall time of the whole figures computation (statement + inquiries), cold and warm, in one statement and split by
// runs of villages (FIGURES_STATEMENTS).
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/hl_bench npx tsx bench/explain-dashboard.ts [--period 2026-Q3] [--town 320324104]
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/client';
import type { Deps } from '../src/deps';
import { figuresQuery, villageFigures } from '../src/supervision/dashboard';
import { parsePeriod } from '../src/reports/periods';
import { townCode } from './county';
import { requireDatabaseUrl } from './lib';

const arg = (name: string, fallback: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1]! : fallback);

async function main() {
  const url = requireDatabaseUrl();
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' });
  const database = await openDatabase({ databaseUrl: url, poolMax: Math.max(2, config.figuresStatements) });
  try {
    const p = parsePeriod(arg('period', '2026-Q3'))!;
    const w = { label: p.label, start: p.start, end: p.end, asOf: p.end, complete: true };
    const town = arg('town', townCode(3));
    const plan = (await database.db.execute(sql`explain (analyze, buffers) ${figuresQuery(config, town, w)}`)) as unknown as { rows?: Record<string, string>[] } | Record<string, string>[];
    const lines = (Array.isArray(plan) ? plan : plan.rows!).map((r) => Object.values(r)[0]);
    console.log(lines.join('\n'));
    const deps = { config, db: database.db } as Deps;
    // one statement and the split (FIGURES_STATEMENTS) alternated
    for (let i = 0; i < 5; i++) {
      for (const statements of [1, config.figuresStatements]) {
        const t0 = performance.now();
        await villageFigures(deps, town, w, statements);
        console.log(`villageFigures ${town} ${w.label} in ${statements} statement(s): ${(performance.now() - t0).toFixed(0)} ms`);
      }
    }
  } finally {
    await database.close();
  }
}

await main();
