import type { Command } from 'commander';
import { isIsoDate } from '../calendar';
import { print, withRegistry } from '../cli/run';
import { createNotifier } from './notifier';
import { REMINDER_CALLER } from './plan';
import { runReminders } from './service';

export function registerReminderCommands(program: Command): void {
  program
    .command('send-reminders')
    .description('plan today’s reminders and send what is due (for cron, when the in-server scheduler is off)')
    .option('--date <YYYY-MM-DD>', 'plan for this day instead of today (county time)')
    .action(async (opts: { date?: string }) => {
      await withRegistry(async ({ deps }) => {
        if (opts.date && !isIsoDate(opts.date)) throw new Error('--date must be YYYY-MM-DD');
        print(await runReminders(deps, REMINDER_CALLER, createNotifier(deps.config, deps.logger), { date: opts.date }));
      });
    });
}
