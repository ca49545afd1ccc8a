import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { personTextWithControlCharacters } from './control-characters';
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
  program
    .command('clean-person-text')
    .description('list people whose text fields hold control characters (stored before the GraphQL text guard); --fix cleans them (audited)')
    .option('--fix', 'clean them: line breaks and tabs become a space, other control characters go')
    .action(async (opts: { fix?: boolean }) => {
      await withRegistry(async ({ deps }) => {
        const found = await personTextWithControlCharacters(deps, systemCaller('clean-person-text'), { fix: opts.fix === true });
        // ids, villages and field names only: the values are personal data
        for (const f of found) print([f.personId, f.villageCode, f.fields.join(','), ...(f.outcome ? [f.outcome] : [])].join('\t'));
        const left = found.filter((f) => f.outcome === 'LEFT').length;
        if (!opts.fix) print(`${found.length} people with control characters${found.length ? '; run with --fix to clean them' : ''}`);
        else print(`${found.length - left} people cleaned${left ? `, ${left} left (the name would be empty: correct it by hand)` : ''}`);
      });
    });
}
