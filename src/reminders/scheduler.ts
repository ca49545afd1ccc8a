import { eq } from 'drizzle-orm';
import { todayIn } from '../calendar';
import type { Deps } from '../deps';
import { deliverPending } from './deliver';
import type { Notifier } from './notifier';
import { planReminders } from './plan';
import { reminderRuns } from './tables';

export interface ReminderScheduler {
  /** Stops the timer and waits for a tick in progress to finish its current message. */
  stop(): Promise<void>;
}

/** The county's wall-clock time as `HH:MM`. */
function clockIn(timeZone: string, now: Date): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
}

/**
 * Runs inside the server: every REMINDER_POLL_SECONDS it sends what is due in the outbox (retries included), and once
 * REMINDER_DAILY_AT has passed it plans the day (once per day across all instances: see planReminders).
 */
export function startReminderScheduler(deps: Deps, notifier: Notifier): ReminderScheduler {
  const { pollSeconds, dailyAt } = deps.config.reminders;
  const abort = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    const now = new Date();
    const today = todayIn(deps.config.timeZone, now);
    if (clockIn(deps.config.timeZone, now) >= dailyAt) {
      const [run] = await deps.db.select({ finishedAt: reminderRuns.finishedAt }).from(reminderRuns).where(eq(reminderRuns.runDate, today));
      if (!run?.finishedAt && !abort.signal.aborted) await planReminders(deps, today, notifier.channel);
    }
    if (!abort.signal.aborted) await deliverPending(deps, notifier, { signal: abort.signal });
  };

  const schedule = () => {
    if (abort.signal.aborted) return;
    timer = setTimeout(() => {
      running = tick()
        .catch((err: unknown) => deps.logger.error({ err }, 'reminder tick failed'))
        .finally(schedule);
    }, pollSeconds * 1000);
    timer.unref();
  };
  schedule();
  deps.logger.info({ dailyAt, pollSeconds, channel: notifier.channel }, 'reminder scheduler started');

  return {
    async stop() {
      abort.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
