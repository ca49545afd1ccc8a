// The operator's command line: `npm run admin -- <command> --help`.
import { Command } from 'commander';
import { registerAuditCommands } from '../audit/cli';
import { registerAuthCommands } from '../auth/cli';
import { registerJurisdictionCommands } from '../jurisdiction/cli';
import { registerKeyCommands } from '../keys/cli';
import { registerPartnerCommands } from '../partners/cli';

const program = new Command('admin').description('hometown-link registry administration').showHelpAfterError();
registerAuthCommands(program);
registerJurisdictionCommands(program);
registerAuditCommands(program);
registerKeyCommands(program);
registerPartnerCommands(program);
await program.parseAsync(process.argv);
