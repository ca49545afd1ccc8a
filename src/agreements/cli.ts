import type { Command } from 'commander';
import { todayIn } from '../calendar';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { expireAgreements } from './service';

export function registerAgreementCommands(program: Command): void {
  program
    .command('expire-agreements')
    .description('end active agreements whose term is over (run daily)')
    .option('--as-of <date>', 'the day to judge by (default: today in TIME_ZONE)')
    .action(async (opts: { asOf?: string }) => {
      await withRegistry(async ({ deps }) => {
        const n = await expireAgreements(deps, systemCaller('expiry'), opts.asOf ?? todayIn(deps.config.timeZone));
        print(`${n} agreements expired`);
      });
    });
}
