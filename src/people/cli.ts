import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { eraseExpiredRecords } from './erasure';

export function registerPeopleCommands(program: Command): void {
  program
    .command('erase-expired')
    .description('anonymise people whose retention period after withdrawal or return has passed (run daily)')
    .action(async () => {
      await withRegistry(async ({ deps }) => {
        const n = await eraseExpiredRecords(deps, systemCaller('erasure'));
        print(`${n} records anonymised`);
      });
    });
}
