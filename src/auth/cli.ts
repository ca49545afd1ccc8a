import crypto from 'node:crypto';
import { Option, type Command } from 'commander';
import { print, readStdin, withRegistry } from '../cli/run';
import { systemCaller } from '../policy/actor';
import { createUser, resetPassword } from './service';
import { ROLES, type Role } from './tables';

function newPassword(): string {
  return crypto.randomBytes(15).toString('base64url');
}

export function registerAuthCommands(program: Command): void {
  program
    .command('create-user')
    .description('create a user; the first county administrator of a fresh install is made this way')
    .addOption(new Option('--role <role>', 'role').choices(ROLES).makeOptionMandatory())
    .requiredOption('--username <name>', 'login name')
    .option('--display-name <name>', 'name shown in the registry')
    .option('--scope <code>', 'town code, village code or association id, as the role needs')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (opts: { role: Role; username: string; displayName?: string; scope?: string; passwordStdin?: boolean }) => {
      await withRegistry(async ({ deps }) => {
        const password = opts.passwordStdin ? await readStdin() : newPassword();
        const user = await createUser(deps, systemCaller('admin-cli'), {
          username: opts.username,
          displayName: opts.displayName ?? opts.username,
          password,
          role: opts.role,
          scope: opts.scope ?? null,
        });
        print({ id: user.id, username: user.username, role: user.role, scope: user.scope });
        if (!opts.passwordStdin) print(`password (shown once): ${password}`);
      });
    });

  program
    .command('reset-password')
    .description('set a new password for a user (and clear their login lock)')
    .requiredOption('--username <name>', 'login name')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (opts: { username: string; passwordStdin?: boolean }) => {
      await withRegistry(async ({ deps }) => {
        const password = opts.passwordStdin ? await readStdin() : newPassword();
        await resetPassword(deps, systemCaller('admin-cli'), opts.username, password);
        print(opts.passwordStdin ? 'password changed' : `new password (shown once): ${password}`);
      });
    });
}
