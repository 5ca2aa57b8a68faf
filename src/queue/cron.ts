// Cron patterns as BullMQ reads them (cron-parser, 5 or 6 fields, seconds
// first when 6), checked before a scheduler is stored, so a bad pattern is
// refused saying why instead of a scheduler that never fires.
import { CronExpressionParser } from 'cron-parser';
import { Invalid } from '../model/errors.js';

/** Fires looked at to find the shortest interval of a pattern (covers seconds lists like 0,1 within a minute). */
const FIRES_CHECKED = 64;

/**
 * The next fire time of `pattern` in `timezone`; Invalid naming the problem,
 * also when two fires come closer than `minIntervalSeconds`.
 */
export function checkCron(pattern: string, timezone?: string, minIntervalSeconds = 0): Date {
  if (timezone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      throw new Invalid('invalid_timezone', `timezone '${timezone}' is not an IANA time zone (e.g. UTC, Europe/Paris)`);
    }
  }
  const fields = pattern.trim().split(/\s+/).length;
  if (fields < 5 || fields > 6) {
    throw new Invalid('invalid_cron', `cron '${pattern}' is invalid: it has ${fields} field(s); write 5 (minute hour day month weekday) or 6 (seconds first)`);
  }
  let fires: Date[];
  try {
    const expression = CronExpressionParser.parse(pattern, { ...(timezone ? { tz: timezone } : {}), currentDate: new Date() });
    fires = expression.take(minIntervalSeconds > 0 ? FIRES_CHECKED : 1).map((d) => d.toDate());
  } catch (err) {
    throw new Invalid('invalid_cron', `cron '${pattern}' is invalid: ${(err as Error).message}`);
  }
  let shortestMs = Infinity;
  for (let i = 1; i < fires.length; i++) shortestMs = Math.min(shortestMs, fires[i]!.getTime() - fires[i - 1]!.getTime());
  if (shortestMs < minIntervalSeconds * 1000) {
    throw new Invalid(
      'cron_too_frequent',
      `cron '${pattern}' fires every ${shortestMs / 1000} s; schedules may fire at most once every ${minIntervalSeconds} s (load.minScheduleIntervalSeconds)`,
      { shortestIntervalSeconds: shortestMs / 1000, minScheduleIntervalSeconds: minIntervalSeconds },
    );
  }
  return fires[0]!;
}
