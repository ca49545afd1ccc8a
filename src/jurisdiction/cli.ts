import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { loadDivisions, parseDivisionFile } from './divisions';

export function registerJurisdictionCommands(program: Command): void {
  program
    .command('load-divisions <file>')
    .description('load or update towns and villages from `code,name` CSV or JSON ([{code,name}])')
    .action(async (file: string) => {
      await withRegistry(async ({ deps }) => {
        const n = await loadDivisions(deps.db, systemCaller('admin-cli'), deps.config.countyCode, parseDivisionFile(file));
        print(`${n} divisions loaded`);
      });
    });
}
