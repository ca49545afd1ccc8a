import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { eraseExpiredExchangeData } from './retention';

export function registerSharingCommands(program: Command): void {
  program
    .command('erase-expired-exchange')
    .description('erase what the exchange holds about partners’ residents and unmatched records past the retention period (run daily)')
    .action(async () => {
      await withRegistry(async ({ deps }) => {
        const n = await eraseExpiredExchangeData(deps, systemCaller('erasure'));
        print(`${n.notices} incoming notices and ${n.unmatched} unmatched records erased`);
      });
    });
}
