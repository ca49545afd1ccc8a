// The operator's command line: `npm run admin -- <command> --help`.
import { Command } from 'commander';
import { registerAgreementCommands } from '../agreements/cli';
import { registerAuditCommands } from '../audit/cli';
import { registerAuthCommands } from '../auth/cli';
import { registerDemoCommands } from '../demo/cli';
import { registerJurisdictionCommands } from '../jurisdiction/cli';
import { registerKeyCommands } from '../keys/cli';
import { registerPeopleCommands } from '../people/cli';
import { registerPartnerCommands } from '../partners/cli';
import { registerReminderCommands } from '../reminders/cli';
import { registerSharingCommands } from '../sharing/cli';

const program = new Command('admin').description('hometown-link registry administration').showHelpAfterError();
registerAuthCommands(program);
registerJurisdictionCommands(program);
registerAuditCommands(program);
registerKeyCommands(program);
registerPeopleCommands(program);
registerAgreementCommands(program);
registerDemoCommands(program);
registerPartnerCommands(program);
registerReminderCommands(program);
registerSharingCommands(program);
await program.parseAsync(process.argv);
