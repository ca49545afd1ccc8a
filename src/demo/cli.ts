import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { seedDemo } from './seed';

export function registerDemoCommands(program: Command): void {
  program
    .command('seed-demo')
    .description('fill an empty registry with a realistic sample (~200 people) and demo staff accounts')
    .option('--people <n>', 'how many people', '200')
    .action(async (opts: { people: string }) => {
      await withRegistry(async ({ deps }) => {
        const started = Date.now();
        const r = await seedDemo(deps, { people: Number(opts.people) });
        print(`${r.people} people and ${r.reports} status reports in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        print('demo logins (passwords shown once):');
        for (const l of r.logins) print(`  ${l.username.padEnd(18)} ${l.password}  ${l.role} ${l.scope ?? ''}`);
      });
    });
}
