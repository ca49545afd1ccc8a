// The operator's command line: `npm run admin -- <command> --help`.
import { Command } from 'commander';
import { registerAuditCommands } from '../audit/cli';
import { registerAuthCommands } from '../auth/cli';
import { registerJurisdictionCommands } from '../jurisdiction/cli';
import { registerKeyCommands } from '../keys/cli';
import { registerPeopleCommands } from '../people/cli';
import { registerReminderCommands } from '../reminders/cli';

const program = new Command('admin').description('hometown-link registry administration').showHelpAfterError();
registerAuthCommands(program);
registerJurisdictionCommands(program);
registerAuditCommands(program);
registerKeyCommands(program);
registerPeopleCommands(program);
registerReminderCommands(program);
await program.parseAsync(process.argv);
