import type { Command } from 'commander';
import { print, withRegistry } from '../cli/run';
import { verifyAuditChain } from './service';

export function registerAuditCommands(program: Command): void {
  program
    .command('verify-audit')
    .description('recompute the audit hash chain; exits 2 if an entry was edited or removed')
    .action(async () => {
      await withRegistry(async ({ deps }) => {
        const report = await verifyAuditChain(deps.db);
        print(report);
        if (!report.ok) process.exitCode = 2;
      });
    });
}
